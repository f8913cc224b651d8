"""Terminal safety of the command line: a workflow whose names, prompt and policy are hostile
and whose tasks print every payload of `tests.hostile` to stdout and stderr, run and inspected
with real subprocesses (`run --follow`, `runs ls`, `runs show --events`, `approvals`, `reject`,
`history export`, the JSON forms), and a forged event script with a hostile string in every
field. No output may hold a byte that drives a terminal, what is meant to be read still reads,
and the store (so `--json`) keeps every string exactly as it came."""

from __future__ import annotations

import json
import re
from pathlib import Path

import anyio

from runtui.domain.events import PendingEvent
from runtui.domain.status import RunStatus
from runtui.store import open_store
from tests.cli.test_cli_runtime import runtui
from tests.cli.test_cli_server import query
from tests.factories import full_run
from tests.hostile import HOSTILE, SHORT, checked, hostile_workflow, poisoned


def test_a_hostile_run_prints_nothing_that_drives_the_terminal(
    database: Path | str, tmp_path: Path
) -> None:
    """On both stores (PostgreSQL cannot hold the NUL a task prints: it stores `␀`, shown the
    same; the events themselves keep it, so `--json` does too)."""
    db_path = database
    workflow = tmp_path / "hostile.toml"
    workflow.write_text(hostile_workflow())

    out = checked(runtui(db_path, "run", str(workflow), "--follow"), 7)  # waits at its gate
    ((run_id,),) = query(db_path, "SELECT run_id FROM runs")
    run_id = str(run_id)
    assert "loud| pwned" in out
    assert "loud! pwned" in out
    assert "loud| beforeafter" in out  # a sequence removed, the text around it kept
    assert "loud| before␇after" in out
    assert "loud| before␀after" in out
    assert "loud| 100% pwned" in out  # `\r` rewrites the line, as a terminal would
    assert "loud| col     pwned" in out  # tabs expanded
    assert "loud| [bold red]pwned[/]" in out  # brackets are text
    assert "breaks| pwned␇[b]md[/b]" in out
    assert f"run {run_id} (wf-pwned␇[b]md[/b]): awaiting_approval" in out
    assert "last output: pwned␇[b]md[/b]" in out
    assert "policy-pwned␇[b]md[/b]" in out

    listed = checked(runtui(db_path, "runs", "ls"))
    assert "wf-pwned␇[b]md[/b]" in listed
    pending = checked(runtui(db_path, "approvals"))
    assert "100% pwned" in pending
    (approval_id,) = re.findall(r"approve (\w+)", out)
    shown = checked(runtui(db_path, "runs", "show", run_id, "--events"))
    assert "approval.requested" in shown
    assert "loud! pwned" in shown

    reject = runtui(db_path, "reject", approval_id, "--reason", "no: " + SHORT, "--follow")
    assert "approval_rejected" in checked(reject, 5)
    after = checked(runtui(db_path, "runs", "show", run_id))
    assert "reject by" in after
    assert "no: pwned␇[b]md[/b]" in after
    checked(runtui(db_path, "history", "export"))

    # the bytes as they came: JSON keeps every string, escaped (so still safe to print)
    data = json.loads(checked(runtui(db_path, "runs", "show", run_id, "--events", "--json")))
    assert data["run"]["workflow"] == "wf-" + SHORT
    outputs = [e["body"] for e in data["events"] if e["body"]["kind"] == "attempt.output"]
    assert any(HOSTILE in body["lines"] for body in outputs if body.get("stream") == "stderr")
    assert {a["reason"] for a in data["approvals"]} == {"no: " + SHORT}
    (row,) = map(json.loads, checked(runtui(db_path, "runs", "ls", "--json")).splitlines())
    assert row["workflow"] == "wf-" + SHORT


def test_a_forged_event_script_with_a_hostile_string_in_every_field(
    database: Path | str,
) -> None:
    """Names the workflow format does not allow (task and approval ids, incident titles, who
    decided) can still reach a database, or come from a server: they are shown safely too, from
    either store."""
    db_path = database
    ended = poisoned(full_run("ended", fail=True))
    script = poisoned(full_run("gated"))
    waiting = next(
        i
        for i, e in enumerate(script)
        if getattr(e.body, "status", None) is RunStatus.AWAITING_APPROVAL
    )

    async def seed(events: list[PendingEvent]) -> None:
        async with open_store(db_path) as store:
            await store.writer.append_many(events)

    anyio.run(seed, ended + script[: waiting + 1])

    listed = checked(runtui(db_path, "runs", "ls"))
    assert "demopwned␇[b]md[/b]" in listed
    shown = checked(runtui(db_path, "runs", "show", "ended", "--events"))
    assert "rejectedpwned␇[b]md[/b]" in shown  # the incident's title
    assert "fetchpwned␇[b]md[/b]| hipwned␇[b]md[/b]" in shown  # a task's id and its output
    pending = checked(runtui(db_path, "approvals"))
    assert "ship it?pwned␇[b]md[/b]" in pending
    checked(runtui(db_path, "runs", "show", "gated", "--events"))
    checked(runtui(db_path, "history", "export"))
