"""`runtui runs source | output | search` from a shell, on both stores: the same answers read
from the database beside a running server and through the server's API, nothing printed that
drives a terminal, the exact text under --json, and clear refusals (exit 3) for what is not
there."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.serving import Serve, runtui
from tests.cli.test_cli_server import query
from tests.hostile import HOSTILE, checked, hostile_workflow


@pytest.fixture
def server(database: Path | str, tmp_path: Path) -> Iterator[Serve]:
    """`runtui serve` on each store in turn."""
    s = Serve(database, tmp_path / "serve.log")
    s.start()
    yield s
    s.stop_quietly()


def direct(server: Serve, *args: str) -> subprocess.CompletedProcess[str]:
    """The command reading the database itself (beside the server)."""
    return runtui(server.db, *args)


def remote(server: Serve, *args: str) -> subprocess.CompletedProcess[str]:
    """The command going through the server's API."""
    return runtui(server.db, "--server", server.url, *args)


def both(server: Serve, *args: str) -> str:
    """The command's stdout read from the database and through the server: the same."""
    here = checked(direct(server, *args))
    assert checked(remote(server, *args)) == here
    return here


def test_source_output_and_search_of_a_hostile_run(server: Serve, tmp_path: Path) -> None:
    workflow = tmp_path / "hostile.toml"
    workflow.write_text(hostile_workflow())
    checked(direct(server, "run", str(workflow), "--follow"), 7)  # at its gate
    (run_id,) = (str(r[0]) for r in query(server.db, "SELECT run_id FROM runs"))

    source = both(server, "runs", "source", run_id)
    assert source.rstrip("\n") in hostile_workflow()  # the text, kept whole
    exact = json.loads(checked(direct(server, "runs", "source", run_id, "--json")))
    assert exact["text"] == hostile_workflow()
    assert exact["format"] == "toml"
    assert f"toml from {workflow}" in direct(server, "runs", "source", run_id).stderr

    out = both(server, "runs", "output", run_id, "loud").splitlines()
    assert any("pwned" in line for line in out)
    assert any(line.startswith("! ") for line in out)  # stderr, marked
    assert not all(line.startswith("! ") for line in out)  # and stdout
    only_err = both(server, "runs", "output", run_id, "loud", "--stream", "stderr", "--lines", "2")
    assert len(only_err.splitlines()) == 2
    assert not any(line.startswith("! ") for line in only_err.splitlines())
    lines = checked(remote(server, "runs", "output", run_id, "loud", "--json"))
    texts = [json.loads(line)["text"] for line in lines.splitlines()]
    assert HOSTILE in texts  # the exact line, escapes and all, JSON-escaped

    found = both(server, "runs", "search", run_id, "PWNED", "--limit", "2")
    assert "pwned" in found.lower()
    events = checked(remote(server, "runs", "search", run_id, "pwned", "--json"))
    kinds = {json.loads(line)["body"]["kind"] for line in events.splitlines()}
    assert {"attempt.output", "approval.requested"} <= kinds
    said = direct(server, "runs", "search", run_id, "pwned", "--limit", "2")
    assert "matching events, the newest 2 shown" in said.stderr

    refused = direct(server, "runs", "output", run_id, "nope")
    assert refused.returncode == 3
    assert "task nope of run" in refused.stderr
    assert "is not a task of the run" in refused.stderr
    waiting = remote(server, "runs", "output", run_id, "gate")
    assert waiting.returncode == 3
    assert "has not run yet" in waiting.stderr
    missing = remote(server, "runs", "source", "no-such-run")
    assert missing.returncode == 3
    assert "no-such-run" in missing.stderr
