"""A refusal has the same exit code (and, through a server, the HTTP status of its kind)
whether the command runs the runtime itself or goes through `runtui serve`."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtui.domain.errors import KINDS
from tests.cli.serving import Serve, runtui
from tests.cli.test_cli_server import query

GATED = 'name = "g"\n[[tasks]]\nid = "g"\nkind = "gate"'


@pytest.mark.parametrize("path", ["embedded", "serve"])
def test_the_same_refusals_give_the_same_exit_codes(
    path: str, db_path: Path, tmp_path: Path, serve: Serve
) -> None:
    workflow = tmp_path / "g.toml"
    workflow.write_text(GATED)
    if path == "serve":
        serve.start()
    assert runtui(db_path, "run", str(workflow)).returncode == 7
    ((run_id, approval_id),) = query(db_path, "SELECT run_id, approval_id FROM approvals")
    assert runtui(db_path, "approve", str(approval_id)).returncode == 0
    wave = runtui(db_path, "rewind", str(run_id), "--wave", "9", "--dry-run")
    assert wave.returncode == 2, wave.stderr  # invalid input
    assert "not 9" in wave.stderr
    again = runtui(db_path, "approve", str(approval_id))
    assert again.returncode == 2, again.stderr  # conflict: names the first decision
    assert "already decided: approve by" in again.stderr
    assert runtui(db_path, "runs", "show", "nope").returncode == 3  # not found
    resumed = runtui(db_path, "resume", str(run_id))
    assert resumed.returncode == 2, resumed.stderr  # conflict: a finished run
    assert "terminal runs are never resumed" in resumed.stderr


def test_every_kind_has_one_status_and_one_exit_code() -> None:
    from runtui.actors.actor import ActorStopped
    from runtui.client import errors as remote
    from runtui.domain import errors as e
    from runtui.domain.errors import (
        ApprovalAlreadyDecided,
        RunActiveError,
        WorkflowBlockedError,
    )

    assert [(k.__name__, status, code) for k, status, code in KINDS] == [
        ("NotFoundError", 404, 3),
        ("InvalidInputError", 422, 2),
        ("ConflictError", 409, 2),
        ("UnauthorizedError", 401, 2),
        ("UnavailableError", 503, 1),
    ]
    expected = {
        ApprovalAlreadyDecided("a", "approve by ann"): e.ConflictError,
        RunActiveError("x"): e.ConflictError,
        WorkflowBlockedError("x"): e.ConflictError,
        e.WorkflowError("x"): e.InvalidInputError,
        e.UnknownValueError("f", "v", []): e.InvalidInputError,
        ActorStopped("x"): e.UnavailableError,
        e.StoreUnavailableError("x"): e.UnavailableError,
        remote.RemoteNotFoundError("x", status=404): e.NotFoundError,
        remote.ConflictError("x", status=409): e.ConflictError,
        remote.InvalidRequestError("x", status=422): e.InvalidInputError,
        remote.UnauthorizedError("x", status=401): e.UnauthorizedError,
        remote.ServiceUnavailableError("x", status=503): e.UnavailableError,
        remote.ServerUnreachableError("x"): e.UnavailableError,
    }
    for error, kind in expected.items():
        found = e.kind_of(error)
        assert found is not None, error
        assert found[0] is kind, (type(error).__name__, found[0].__name__)
