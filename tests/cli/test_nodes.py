"""Several `runtui serve` nodes on one database (processes standing in for machines: each has a
node name of its own, so a dead one is only noticed by its lease expiring): they share the runs,
any node shows and acts on every run, and when one is killed the others take its runs over."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtui.domain.events import RunClaimed, decode_event
from runtui.identity import who_decides
from tests.cli.serving import Serve, runtui
from tests.cli.test_cli_server import wait_for
from tests.databases import sql

#: The name a test server's own token records decisions under (who runs it).
OWNER = who_decides()


GATED = """
name = "gated"
[[tasks]]
id = "ask"
kind = "gate"
prompt = "go?"
[[tasks]]
id = "after"
kind = "noop"
needs = ["ask"]
"""
NAPPING = 'name = "napping"\n[[tasks]]\nid = "nap"\nkind = "sleep"\nseconds = {s}\n'
TTL_S = 2.0  # tests/conftest.py sets RUNTUI_LEASE_TTL_S for every process


def query(
    db: Path | str, statement: str, params: tuple[object, ...] = ()
) -> list[tuple[object, ...]]:
    return sql(db, statement, *params)


@pytest.fixture
def nodes(database: Path | str, tmp_path: Path) -> Iterator[tuple[Serve, Serve]]:
    """Two nodes on each store in turn."""
    a = Serve(database, tmp_path / "a.log", node="node-a")  # type: ignore[arg-type]
    b = Serve(database, tmp_path / "b.log", node="node-b")  # type: ignore[arg-type]
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop_quietly()
        b.stop_quietly()


def driver(db: Path, run_id: str) -> str:
    ((label,),) = query(
        db,
        "SELECT o.label FROM run_leases l JOIN owners o ON o.owner_id = l.owner WHERE l.run_id = ?",
        (run_id,),
    )
    return str(label)


def claims(db: Path, run_id: str) -> list[tuple[str, str]]:
    out = []
    for (payload,) in query(
        db, "SELECT payload FROM events WHERE run_id = ? ORDER BY seq", (run_id,)
    ):
        body = decode_event(payload)  # type: ignore[arg-type]
        if isinstance(body, RunClaimed):
            out.append((body.how, body.owner_label))
    return out


def test_any_node_shows_and_decides_the_runs_another_drives(
    nodes: tuple[Serve, Serve], database: Path | str
) -> None:
    a, b = nodes
    run_id = a.submit(GATED)
    assert "node-a" in driver(database, run_id)
    listed = b.api("GET", "/api/runs").json()
    assert run_id in {r["run_id"] for r in listed["runs"]}
    wait_for(lambda: bool(b.api("GET", "/api/approvals").json()), "the gate to open")
    (approval,) = b.api("GET", "/api/approvals").json()
    decided = b.api("POST", f"/api/runs/{run_id}/approve", {"by": "ann"})
    assert decided.status_code == 200, decided.text
    wait_for(
        lambda: (
            query(database, "SELECT status FROM runs WHERE run_id = ?", (run_id,))
            == [("succeeded",)]
        ),
        "the run to finish",
    )
    assert claims(database, run_id) == []  # node a drove it throughout: b sent it the decision
    assert query(database, "SELECT kind, state FROM commands") == [("approve", "done")]
    again = b.api(
        "POST",
        f"/api/runs/{run_id}/reject",
        {"approval_id": approval["approval_id"], "reason": "no"},
    )
    assert again.status_code == 409
    assert f"already decided: approve by {OWNER} (as ann)" in again.text


def test_a_killed_node_s_runs_are_taken_over_within_the_lease_and_finish_clean(
    nodes: tuple[Serve, Serve], database: Path | str
) -> None:
    a, b = nodes
    runs = [a.submit(NAPPING.format(s=1.5)) for _ in range(4)] + [a.submit(GATED)]
    wait_for(
        lambda: query(database, "SELECT COUNT(*) FROM attempts WHERE status = 'running'") == [(4,)],
        "node a to start the naps",
    )
    a.stop(signal.SIGKILL)
    killed_at = time.monotonic()
    wait_for(lambda: all("node-b" in driver(database, r) for r in runs), "node b to take the runs")
    took = time.monotonic() - killed_at
    assert took < TTL_S + 1.5, took  # the lease's TTL, then at most a third of it to notice
    for run_id in runs:
        assert [how for how, _ in claims(database, run_id)] == ["expired"]
    assert b.api("POST", f"/api/runs/{runs[-1]}/approve", {}).status_code == 200
    wait_for(
        lambda: query(database, "SELECT COUNT(*) FROM runs WHERE status = 'succeeded'") == [(5,)],
        "every run to finish",
        timeout=30,
    )
    # the naps that were running re-ran as new attempts (at least once), nothing was lost
    retried = query(database, "SELECT COUNT(*) FROM attempts WHERE task_id = 'nap' AND attempt = 1")
    assert retried == [(4,)]
    for run_id in runs:  # replayed through the phase machine, projections rebuilt: clean
        verified = runtui(database, "verify", run_id)
        assert verified.returncode == 0, verified.stdout + verified.stderr
