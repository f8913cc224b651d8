"""`runtui runs source | output | search` from a shell: the same answers read from the database
beside a running server and through the server's API, nothing printed that drives a terminal,
the exact text under --json, and clear refusals (exit 3) for what is not there."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import test_cli_server
from tests.cli.test_cli_server import Server, query, runtui
from tests.hostile import HOSTILE, checked, hostile_workflow

server = test_cli_server.server  # `runtui serve` on the test's database (a fixture)


def both(server: Server, *args: str, code: int = 0) -> str:
    """The command's stdout read from the database and through the server: the same."""
    direct = checked(runtui("--db", str(server.db), *args), code)
    remote = checked(runtui("--server", server.url, *args), code)
    assert direct == remote
    return direct


def test_source_output_and_search_of_a_hostile_run(server: Server, tmp_path: Path) -> None:
    workflow = tmp_path / "hostile.toml"
    workflow.write_text(hostile_workflow())
    checked(runtui("--db", str(server.db), "run", str(workflow), "--follow"), 7)  # at its gate
    (run_id,) = (str(r[0]) for r in query(server.db, "SELECT run_id FROM runs"))

    source = both(server, "runs", "source", run_id)
    assert source.rstrip("\n") in hostile_workflow()  # the text, kept whole
    exact = json.loads(checked(runtui("--db", str(server.db), "runs", "source", run_id, "--json")))
    assert exact["text"] == hostile_workflow()
    assert exact["format"] == "toml"
    stderr = runtui("--db", str(server.db), "runs", "source", run_id).stderr
    assert f"toml from {workflow}" in stderr

    out = both(server, "runs", "output", run_id, "loud").splitlines()
    assert any("pwned" in line for line in out)
    assert any(line.startswith("! ") for line in out)  # stderr, marked
    assert not all(line.startswith("! ") for line in out)  # and stdout
    only_err = both(server, "runs", "output", run_id, "loud", "--stream", "stderr", "--lines", "2")
    assert len(only_err.splitlines()) == 2
    assert not any(line.startswith("! ") for line in only_err.splitlines())
    lines = checked(runtui("--db", str(server.db), "runs", "output", run_id, "loud", "--json"))
    texts = [json.loads(line)["text"] for line in lines.splitlines()]
    assert HOSTILE in texts  # the exact line, escapes and all, JSON-escaped

    found = both(server, "runs", "search", run_id, "PWNED", "--limit", "2")
    assert "pwned" in found.lower()
    events = checked(runtui("--server", server.url, "runs", "search", run_id, "pwned", "--json"))
    kinds = {json.loads(line)["body"]["kind"] for line in events.splitlines()}
    assert {"attempt.output", "approval.requested"} <= kinds
    said = runtui("--db", str(server.db), "runs", "search", run_id, "pwned", "--limit", "2")
    assert "matching events, the newest 2 shown" in said.stderr

    refused = runtui("--db", str(server.db), "runs", "output", run_id, "nope")
    assert refused.returncode == 3
    assert "task nope of run" in refused.stderr
    assert "is not a task of the run" in refused.stderr
    waiting = runtui("--server", server.url, "runs", "output", run_id, "gate")
    assert waiting.returncode == 3
    assert "has not run yet" in waiting.stderr
    missing = runtui("--server", server.url, "runs", "source", "no-such-run")
    assert missing.returncode == 3
    assert "no-such-run" in missing.stderr
