"""Snapshots (pytest-textual-snapshot) of the main screens over a fixed database.

Deterministic by construction: the database is written from fixed event scripts
(`snapshot_db.py`: fixed ids, fixed timestamps), the runtime and the app share a fixed clock
(`snapshot_app.py`), the runtime never resumes or touches a run, and local time is UTC.
Baselines live in `__snapshots__/test_snapshots/`; after a deliberate change to the UI, look at
the report the failing run writes, then accept with `pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tui.snapshot_app import (
    SnapshotApp,
    show_approvals,
    show_diff,
    show_graph,
    show_health,
    show_rewind,
    show_run,
    show_runs,
    show_task,
    show_timeline,
)
from tests.tui.snapshot_db import BUDGET, DEMO_WAITING, FAILING, FORK, build_snapshot_db_sync

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clock times on screen are local time: make local time UTC, and colour the same."""
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("NO_COLOR", raising=False)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def snapshot_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snapshots") / "runs.db"
    build_snapshot_db_sync(path)
    return path


def check(snap_compare: SnapCompare, db: Path, show: Any, size: tuple[int, int]) -> None:
    assert snap_compare(SnapshotApp(db), terminal_size=size, run_before=show)


def test_runs_screen(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """Seven runs, newest first: two waiting, a fork, failed_policy, failed, succeeded."""
    check(snap_compare, snapshot_db, show_runs, (120, 40))


def test_runs_screen_80x24(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    check(snap_compare, snapshot_db, show_runs, (80, 24))


def test_run_waiting_at_its_gate(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """Mid-run: EXECUTING, wave 3 of 5, the approval line with its keys, a PII warning."""
    check(snap_compare, snapshot_db, show_run(DEMO_WAITING), (120, 40))


def test_run_stopped_by_its_budget(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """The critical token_limit violation, threshold vs actual, and how it ended the run."""
    check(snap_compare, snapshot_db, show_run(BUDGET), (120, 40))


def test_approvals_inbox(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """Two pending approvals, oldest first: a task gate and a violation gate."""
    check(snap_compare, snapshot_db, show_approvals, (120, 40))


def test_rewind_dialog(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """`w` on the failed run: the default wave and the dry-run (kept / re-executed)."""
    check(snap_compare, snapshot_db, show_rewind(FAILING), (120, 40))


def test_timeline_of_a_run_at_its_gate(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """`t`: the phases, six quick tasks, the gate waiting for two minutes, two not started."""
    check(snap_compare, snapshot_db, show_timeline(DEMO_WAITING), (120, 40))


def test_timeline_of_a_failed_run_80x24(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """At 80x24: failed attempts end in ✗, the phase the run failed from too, skipped tasks."""
    check(snap_compare, snapshot_db, show_timeline(FAILING), (80, 24))


def test_task_with_its_first_error(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """`enter` on compile in the failed run, then `e`: its stderr line, marked and picked out."""
    check(snap_compare, snapshot_db, show_task(FAILING, "compile", "e"), (120, 40))


def test_task_that_caused_a_violation_80x24(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """step-3 of the budget run: the critical token_limit violation it caused, at 80x24."""
    check(snap_compare, snapshot_db, show_task(BUDGET, "step-3"), (80, 24))


def test_diff_of_a_fork_and_its_parent(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """`d` on the fork: seven tasks carried over, two run again with the same output, the
    parent's PII warning and ann's approval against none."""
    check(snap_compare, snapshot_db, show_diff(FORK), (120, 40))


def test_diff_of_a_fork_and_its_parent_80x24(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    check(snap_compare, snapshot_db, show_diff(FORK), (80, 24))


def test_graph_of_a_run_at_its_gate(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """`v`: the demo's tasks by wave, their needs as lanes, the gate waiting."""
    check(snap_compare, snapshot_db, show_graph(DEMO_WAITING), (120, 40))


def test_lineage_of_a_fork_80x24(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """`v 2` on the fork: the first demo run, and this fork of it (rewound from wave 3)."""
    check(snap_compare, snapshot_db, show_graph(FORK, "2"), (80, 24))


def test_workflow_health(snap_compare: SnapCompare, snapshot_db: Path) -> None:
    """`h` on the runs: the degraded workflows first, with why."""
    check(snap_compare, snapshot_db, show_health, (120, 40))
