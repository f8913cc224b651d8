"""The timeline's pure parts, without Textual: lanes built from the read models, time mapped
to columns, the cells of each kind of bar, retries that overlap, tick labels, and lines that
keep their width at 80 and 120 columns whatever the labels."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from rich.cells import cell_len

from runtui.domain.approvals import ApprovalDecision, ApprovalKind, HitlMode
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.views import ApprovalRow, AttemptRow, PhaseRow, RunRow, TaskRow
from runtui.tui.widgets.timeline_lanes import (
    Bar,
    BarKind,
    Lane,
    LaneKind,
    Timeline,
    build_timeline,
    slowest_first,
)
from runtui.tui.widgets.timeline_layout import (
    Axis,
    Geometry,
    Line,
    axis_cells,
    bar_cells,
    draw_axis,
    draw_line,
    fit,
    note_of,
    place,
    plain,
    tick_label,
    ticks,
)
from tests.hostile import SHORT, assert_terminal_safe

T0 = 1_700_000_000.0


def run_row(**changes: Any) -> RunRow:
    base: dict[str, Any] = {
        "run_id": "0190000000005eed0001",
        "workflow": "release",
        "created_at": T0,
        "updated_at": T0,
        "phase": RunPhase.EXECUTING,
        "status": RunStatus.RUNNING,
        "wave_index": 0,
        "hitl_mode": HitlMode.NONE,
        "timeout_s": None,
        "parent_run_id": None,
        "rewound_from_wave": None,
        "retry_count": 0,
        "termination_reason": None,
        "terminated_at": None,
        "stopped_at_step": None,
        "error_message": None,
        "worst_severity": None,
        "worst_violation": None,
        "result": None,
        "ended_at": None,
        "last_seq": 1,
        "metadata": {},
    }
    return RunRow(**(base | changes))


def task(task_id: str, wave: int, status: str, attempts: int = 1) -> TaskRow:
    return TaskRow("r", task_id, "shell", wave, [], False, 0, {}, status, attempts, T0)


def attempt(
    task_id: str, n: int, status: str, start: float, end: float | None, exit_code: int | None = None
) -> AttemptRow:
    return AttemptRow(
        "r", task_id, n, status, "k", None, exit_code, None, None, {}, T0 + start, end and T0 + end
    )


def approval(
    task_id: str | None,
    start: float,
    end: float | None = None,
    decision: ApprovalDecision | None = None,
) -> ApprovalRow:
    kind = ApprovalKind.TASK if task_id else ApprovalKind.VIOLATION
    return ApprovalRow(
        f"ap-{task_id}-{start}",
        "r",
        kind,
        task_id,
        "ok?",
        T0 + start,
        None,
        ApprovalDecision.REJECT,
        [],
        decision,
        None,
        None,
        None if end is None else T0 + end,
        None,
    )


def phase(seq: int, at: float, src: RunPhase, dst: RunPhase) -> PhaseRow:
    return PhaseRow("r", seq, src, dst, T0 + at, "")


STARTED = [
    phase(10, 0.5, RunPhase.CREATED, RunPhase.AUTHORIZED),
    phase(12, 1.0, RunPhase.AUTHORIZED, RunPhase.EXECUTING),
]


def task_lane(*bars: Bar, status: str = "done", attempts: int = 1, key: str = "t") -> Lane:
    return Lane(LaneKind.TASK, key, key, bars, wave=0, status=status, attempts=attempts)


def line_of(lane: Lane, axis: Axis, now: float = T0 + 100) -> list[str]:
    return [plain(bar_cells(line, axis)) for line in place(lane, axis, now)]


# --- time to columns -----------------------------------------------------------------------------


def test_time_maps_onto_columns_from_the_start_to_the_end() -> None:
    axis = Axis(T0, T0 + 72, 72)  # a second a column
    assert [axis.col(T0 + s) for s in (0, 0.99, 1, 3.8, 71.5, 72, 500)] == [0, 0, 1, 3, 71, 71, 71]
    assert axis.last_col(T0, T0 + 3.8) == 3  # 0..3.8 s covers 4 columns
    assert axis.last_col(T0 + 10, T0 + 10.01) == 10  # however short, a bar has a column
    assert axis.last_col(T0 + 60, T0 + 72) == 71
    assert Axis(T0, T0, 40).col(T0) == 0  # a run that has not lasted a moment yet


def test_each_kind_of_bar_reads_without_colour() -> None:
    axis = Axis(T0, T0 + 20, 20)

    def cells(kind: BarKind, end: float | None, *, wait: bool = False) -> str:
        lane = task_lane(Bar(T0 + 2, None if end is None else T0 + end, kind, 0, wait=wait))
        return line_of(lane, axis, now=T0 + 20)[0].rstrip()

    assert cells(BarKind.DONE, 6) == "  ████▏"
    assert cells(BarKind.FAILED, 6) == "  ████✗"
    assert cells(BarKind.CANCELLED, 6) == "  ████⊘"
    assert cells(BarKind.RUNNING, None) == "  " + "█" * 17 + "▌…"  # open edge at "now"
    assert cells(BarKind.WAITING, None, wait=True) == "  ⏸" + "╌" * 17 + "…"
    assert cells(BarKind.WAITED, 6, wait=True) == "  ⏸╌╌╌▏"


def test_a_retry_right_after_a_failure_goes_on_a_line_of_its_own() -> None:
    axis = Axis(T0, T0 + 20, 20)
    quick = task_lane(
        Bar(T0 + 2, T0 + 4, BarKind.FAILED, 0),
        Bar(T0 + 4.2, T0 + 6, BarKind.FAILED, 1),  # would start on the ✗: below it
        Bar(T0 + 10, T0 + 12, BarKind.DONE, 2),  # clear of the ✗: on the same line
        status="done",
        attempts=3,
    )
    lines = place(quick, axis, T0 + 20)
    assert [plain(bar_cells(line, axis)).rstrip() for line in lines] == [
        "  ██✗",
        "    ██✗   ██▏",
    ]
    assert [line.first for line in lines] == [True, False]
    geometry = Geometry(60, 12, 10)
    second = plain(draw_line(lines[1], geometry, geometry.axis(T0, T0 + 20), T0 + 20, 1))
    assert second.startswith("   ↳ #1 ")  # which attempt the line starts with
    assert second.rstrip().endswith("▏")  # no note under the lane's own


def test_work_after_an_approval_shares_its_line() -> None:
    axis = Axis(T0, T0 + 20, 20)
    lane = task_lane(
        Bar(T0 + 2, T0 + 5, BarKind.WAITED, wait=True), Bar(T0 + 5, T0 + 9, BarKind.DONE, 0)
    )
    assert line_of(lane, axis) == ["  ⏸╌╌████▏" + " " * 11]


# --- ticks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "cols", "labels"),
    [
        (72, 60, ["0s", "15s", "30s", "45s", "1m"]),
        (72, 100, ["0s", "10s", "20s", "30s", "40s", "50s", "1m"]),  # 1m10s: past the edge
        (0.9, 50, ["0s", "0.5s"]),
        (7200, 100, ["0s", "15m", "30m", "45m", "1h", "1h15m", "1h30m", "1h45m", "2h"]),
        (3 * 86400, 60, ["0s", "1d", "2d", "3d"]),
    ],
)
def test_ticks_fall_on_round_times_a_label_apart(span: float, cols: int, labels: list[str]) -> None:
    axis = Axis(T0, T0 + span, cols)
    got = ticks(axis)
    assert [label for _, label in got] == labels
    cols_at = [col for col, _ in got]
    assert cols_at[0] == 0
    assert cols_at == sorted(cols_at)
    for (col, label), (nxt, _) in itertools.pairwise(got):
        assert nxt >= col + len(label) + 2  # a space either side of every label
    drawn = axis_cells(axis)
    assert len(drawn) == cols + 1
    for col, label in got:
        assert drawn[col : col + len(label)] == label


def test_tick_labels() -> None:
    assert [tick_label(s, 1) for s in (0, 45, 60, 90, 3600, 5400, 86400, 90000)] == [
        "0s",
        "45s",
        "1m",
        "1m30s",
        "1h",
        "1h30m",
        "1d",
        "1d1h",
    ]
    assert tick_label(0.5, 0.5) == "0.5s"


# --- lanes from the read models ------------------------------------------------------------------


def test_a_live_run_has_its_phases_gates_tasks_and_retries_as_bars() -> None:
    run = run_row(status=RunStatus.AWAITING_APPROVAL)
    tasks = [
        task("fetch", 0, "done"),
        task("flaky", 1, "running", attempts=2),
        task("publish-gate", 2, "awaiting_approval", attempts=0),
        task("ship", 3, "pending", attempts=0),
    ]
    attempts = [
        attempt("fetch", 0, "completed", 1.0, 4.8, 0),
        attempt("flaky", 0, "failed", 5.0, 8.0, 1),
        attempt("flaky", 1, "running", 9.0, None),
    ]
    approvals = [approval("publish-gate", 10.0), approval(None, 2.0, 3.0, ApprovalDecision.APPROVE)]
    t = build_timeline(run, STARTED, tasks, attempts, approvals)
    assert t.live
    assert [lane.label for lane in t.fixed] == [
        "CREATED..AUTHORIZED",
        "EXECUTING",
        "violation gate",
    ]
    assert [lane.bars[0].kind for lane in t.fixed] == [
        BarKind.DONE,
        BarKind.RUNNING,
        BarKind.WAITED,
    ]
    by_id = {lane.key: lane for lane in t.tasks}
    assert [lane.key for lane in t.tasks] == ["fetch", "flaky", "publish-gate", "ship"]
    assert [(b.kind, b.attempt) for b in by_id["flaky"].bars] == [
        (BarKind.FAILED, 0),
        (BarKind.RUNNING, 1),
    ]
    assert by_id["publish-gate"].bars == (Bar(T0 + 10, None, BarKind.WAITING, wait=True),)
    assert by_id["ship"].bars == ()

    now = T0 + 20
    assert note_of(by_id["fetch"], now)[0] == "3.8s"
    assert note_of(by_id["flaky"], now)[0] == "running 15s ×2"  # from its first start
    assert note_of(by_id["publish-gate"], now)[0] == "waiting 10s"
    assert note_of(by_id["ship"], now)[0] == "pending"
    assert t.end(now) == now
    assert [lane.key for lane in slowest_first(t.tasks, now)] == [
        "flaky",
        "publish-gate",
        "fetch",
        "ship",  # never started: last
    ]


def test_a_finished_run_ends_where_it_ended_and_marks_the_phase_it_failed_in() -> None:
    run = run_row(
        phase=RunPhase.FAILED, status=RunStatus.FAILED, ended_at=T0 + 30, terminated_at=T0 + 29
    )
    phases = [
        *STARTED,
        phase(40, 28.0, RunPhase.EXECUTING, RunPhase.FAILED),
    ]
    tasks = [task("build", 0, "failed"), task("left", 0, "running"), task("docs", 1, "skipped", 0)]
    attempts = [
        attempt("build", 0, "failed", 2.0, 27.0, 2),
        attempt("left", 0, "running", 3.0, None),  # never closed: cut short at the run's end
    ]
    t = build_timeline(run, phases, tasks, attempts, [])
    assert not t.live
    assert t.end(T0 + 500) == T0 + 30
    assert [(lane.label, lane.bars[0].kind) for lane in t.fixed] == [
        ("CREATED..AUTHORIZED", BarKind.DONE),
        ("EXECUTING", BarKind.FAILED),
    ]
    assert t.fixed[1].bars[0].end == T0 + 28
    by_id = {lane.key: lane for lane in t.tasks}
    assert by_id["left"].bars == (Bar(T0 + 3, T0 + 30, BarKind.CANCELLED, 0),)
    assert note_of(by_id["build"], T0 + 500)[0] == "failed 25s"
    assert note_of(by_id["left"], T0 + 500)[0] == "cut short 27s"
    assert note_of(by_id["docs"], T0 + 500)[0] == "skipped"


def test_a_forks_carried_tasks_say_so() -> None:
    run = run_row(parent_run_id="0190000000005eed0000", rewound_from_wave=1)
    t = build_timeline(run, STARTED, [task("fetch", 0, "done", 0)], [], [])
    assert note_of(t.tasks[0], T0 + 5) == ("carried", "green")


# --- whole lines ---------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [78, 118])  # 80 and 120 columns, less the padding
def test_every_line_has_the_width_and_long_ids_are_cut(width: int) -> None:
    long_id = "deploy-to-the-production-cluster-in-europe-west-" + "x" * 40
    run = run_row()
    tasks = [
        task(long_id, 0, "done"),
        task("漢字のタスク" * 5, 12, "running"),
        task(SHORT, 3, "done"),
    ]
    attempts = [
        attempt(long_id, 0, "completed", 1.0, 30.0, 0),
        attempt("漢字のタスク" * 5, 0, "running", 31.0, None),
        attempt(SHORT, 0, "completed", 2.0, 3.0, 0),
    ]
    t = build_timeline(run, STARTED, tasks, attempts, [])
    now = T0 + 75
    lanes = [*t.fixed, *t.tasks]
    geometry = fit(width, lanes, now, 2)
    assert geometry.label <= 32
    assert geometry.bars >= 40
    axis = geometry.axis(t.created_at, t.end(now))
    drawn = [plain(draw_axis(geometry, axis, "wave task"))]
    for lane in lanes:
        drawn += [plain(draw_line(line, geometry, axis, now, 2)) for line in place(lane, axis, now)]
    for line in drawn:
        assert cell_len(line) == width, line
        assert_terminal_safe(line)
    assert drawn[0].rstrip().endswith("1m15s")  # the total, under the notes
    assert any(line.startswith("w0  deploy-to-the-") and "… █" in line for line in drawn)
    assert any("running 44s" in line for line in drawn)
    assert any("w3  pwned␇[b]md[/b]" in line for line in drawn)


def test_an_empty_timeline_still_draws() -> None:
    t = Timeline(T0, None, (), ())
    geometry = fit(78, [], T0, 1)
    axis = geometry.axis(t.created_at, t.end(T0))
    assert cell_len(plain(draw_axis(geometry, axis, "wave task"))) == 78
    assert place(task_lane(status="pending"), axis, T0) == [
        Line(task_lane(status="pending"), (), first=True)
    ]
