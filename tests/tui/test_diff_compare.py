"""The diff's pure parts, without Textual: tasks paired by id, what differs, which tasks a fork
carried over, where two outputs first part (page by page), the default other run, and the
words of a row, at 80 and 120 columns, whatever the ids and the output hold."""

from __future__ import annotations

from typing import Any

import pytest
from rich.cells import cell_len

from runtui.domain.approvals import ApprovalDecision, ApprovalKind
from runtui.domain.run_diff import (
    Difference,
    DiffRow,
    OutputComparer,
    OutputDiff,
    OutputVerdict,
    TaskSide,
    default_other,
    pair_tasks,
    task_sides,
)
from runtui.domain.status import RunStatus
from runtui.domain.views import ApprovalRow, AttemptRow, OutputLine, RunRow, TaskRow, ViolationRow
from runtui.domain.violations import PolicyViolationType, ViolationSeverity
from runtui.tui.widgets.diff_rows import (
    OutputFailed,
    approval_line,
    columns,
    detail_lines,
    header_text,
    output_text,
    relation,
    row_text,
    run_heading,
    side_text,
    violation_line,
    workflows,
)
from tests.hostile import HOSTILE, SHORT, assert_terminal_safe
from tests.tui.test_timeline_layout import T0, run_row

PARENT = run_row(run_id="0190000000005eed0001", status=RunStatus.SUCCEEDED, workflow="demo")
FORK = run_row(
    run_id="0190000000005eed0002",
    status=RunStatus.SUCCEEDED,
    workflow="demo",
    created_at=T0 + 100,
    parent_run_id=PARENT.run_id,
    rewound_from_wave=1,
)


def task(
    run: RunRow, task_id: str, wave: int, status: str = "done", kind: str = "shell"
) -> TaskRow:
    return TaskRow(run.run_id, task_id, kind, wave, [], False, 0, {}, status, 1, T0)


def attempt(
    run: RunRow,
    task_id: str,
    n: int = 0,
    *,
    status: str = "completed",
    exit_code: int | None = 0,
    took: float | None = 1.0,
) -> AttemptRow:
    start = T0 + 10 * n
    end = None if took is None else start + took
    return AttemptRow(
        run.run_id, task_id, n, status, "k", None, exit_code, None, None, {}, start, end
    )


def approval(run: RunRow, task_id: str, decision: ApprovalDecision | None) -> ApprovalRow:
    return ApprovalRow(
        f"ap-{task_id}",
        run.run_id,
        ApprovalKind.TASK,
        task_id,
        "go?",
        T0,
        None,
        ApprovalDecision.REJECT,
        [],
        decision,
        "looks fine" if decision else None,
        "ann" if decision else None,
        T0 + 5 if decision else None,
        None,
    )


def line(text: str, seq: int = 1, index: int = 0, stream: str = "stdout") -> OutputLine:
    return OutputLine(seq, index, stream, text)


# --- which tasks a fork carried over ------------------------------------------------------------


def test_a_fork_carries_the_done_tasks_it_did_not_run_in_the_waves_it_kept() -> None:
    tasks = [
        task(FORK, "fetch", 0),  # kept: done, no attempt here
        task(FORK, "gate", 1, kind="gate"),  # done here by its own approval: not carried
        task(FORK, "lint", 1),  # kept
        task(FORK, "build", 1),  # failed in the parent, so run again here
        task(FORK, "deploy", 2, kind="gate"),  # done without an attempt, but past the kept wave
        task(FORK, "test", 2, status="pending"),
    ]
    attempts = [attempt(FORK, "build")]
    approvals = [approval(FORK, "gate", ApprovalDecision.APPROVE)]
    sides = task_sides(FORK, tasks, attempts, approvals)
    assert {t for t, s in sides.items() if s.carried} == {"fetch", "lint"}
    assert sides["build"].attempts == 1
    assert sides["build"].last == attempts[0]
    assert sides["fetch"].outcome == "done"

    # the same rows in a run that is no fork, or a retry that kept nothing: nothing carried
    for run in (PARENT, run_row(parent_run_id=PARENT.run_id, rewound_from_wave=None)):
        assert not any(s.carried for s in task_sides(run, tasks, attempts, approvals).values())


def test_the_last_attempt_is_the_highest_numbered_whatever_order_they_come_in() -> None:
    attempts = [attempt(PARENT, "t", 1, exit_code=0), attempt(PARENT, "t", 0, exit_code=2)]
    side = task_sides(PARENT, [task(PARENT, "t", 0)], attempts, [])["t"]
    assert (side.attempts, side.exit_code) == (2, 0)
    assert side.took(T0 + 1000) == 1.0


# --- pairing and what differs -------------------------------------------------------------------


def pair(
    left: list[TaskRow],
    left_attempts: list[AttemptRow],
    right: list[TaskRow],
    right_attempts: list[AttemptRow],
    *,
    left_run: RunRow = PARENT,
    right_run: RunRow = FORK,
) -> dict[str, DiffRow]:
    rows = pair_tasks(
        left_run,
        task_sides(left_run, left, left_attempts, []),
        right_run,
        task_sides(right_run, right, right_attempts, []),
    )
    return {r.task_id: r for r in rows}


def test_tasks_pair_by_id_in_wave_order_and_say_what_differs() -> None:
    left = [
        task(PARENT, "fetch", 0),
        task(PARENT, "build", 1),
        task(PARENT, "test", 2, status="failed"),
        task(PARENT, "flaky", 2),
        task(PARENT, "old", 2),
    ]
    left_attempts = [
        attempt(PARENT, "fetch", took=1.2),
        attempt(PARENT, "build", took=8.0),
        attempt(PARENT, "test", status="failed", exit_code=1),
        attempt(PARENT, "flaky"),
    ]
    right = [
        task(FORK, "fetch", 0),  # carried
        task(FORK, "build", 1),
        task(FORK, "test", 2),
        task(FORK, "flaky", 2),
        task(FORK, "new", 0),
    ]
    right_attempts = [
        attempt(FORK, "build", took=7.4),  # quicker: durations are no difference
        attempt(FORK, "test"),
        attempt(FORK, "flaky", 0, status="failed", exit_code=1),
        attempt(FORK, "flaky", 1),
    ]
    rows = pair(left, left_attempts, right, right_attempts)
    assert list(rows) == ["fetch", "new", "build", "flaky", "old", "test"]
    assert rows["fetch"].differences == ()
    assert rows["fetch"].same_by_carry  # the fork's result is the parent's, as is
    assert rows["fetch"].output_key is None  # nothing to compare
    assert rows["build"].differences == ()
    assert rows["build"].output_key == (
        (PARENT.run_id, "build", 0, "completed"),
        (FORK.run_id, "build", 0, "completed"),
    )
    assert rows["test"].differences == (Difference.STATUS, Difference.EXIT)
    assert rows["flaky"].differences == (Difference.ATTEMPTS,)
    assert rows["old"].differences == (Difference.ONLY_LEFT,)
    assert rows["new"].differences == (Difference.ONLY_RIGHT,)

    swapped = rows["old"].swapped()
    assert swapped.differences == (Difference.ONLY_RIGHT,)
    assert (swapped.left, swapped.right) == (None, rows["old"].left)


def test_a_carried_task_differs_only_by_its_outcome() -> None:
    left = [task(PARENT, "fetch", 0, status="failed")]
    rows = pair(left, [attempt(PARENT, "fetch", exit_code=3)], [task(FORK, "fetch", 0)], [])
    assert rows["fetch"].differences == (Difference.STATUS,)  # done (carried) vs failed

    other = run_row(run_id="unrelated", workflow="demo", status=RunStatus.SUCCEEDED)
    left = [task(other, "fetch", 0)]
    rows = pair(left, [attempt(other, "fetch")], [task(FORK, "fetch", 0)], [], left_run=other)
    assert rows["fetch"].differences == ()
    assert not rows["fetch"].same_by_carry  # carried from elsewhere: the same only by status


def test_a_running_attempt_is_compared_once_it_has_ended() -> None:
    rows = pair(
        [task(PARENT, "t", 0)],
        [attempt(PARENT, "t")],
        [task(FORK, "t", 0, status="running")],
        [attempt(FORK, "t", status="running", exit_code=None, took=None)],
        right_run=run_row(run_id="live", workflow="demo"),
    )
    row = rows["t"]
    assert row.running
    assert row.output_key is None
    assert Difference.EXIT not in row.differences  # an exit code still to come differs from none
    assert row.differences == (Difference.STATUS,)


# --- where two outputs part ---------------------------------------------------------------------


def feed_all(
    left: list[str], right: list[str], *, page: int, limit: int = 10_000
) -> tuple[OutputDiff, int]:
    """Run a comparer as the screen does, over two outputs paged `page` lines at a time; the
    result and how many pages it read."""
    comparer = OutputComparer(limit=limit)
    outputs = (
        [line(t, seq=1 + i, stream="stderr" if i % 3 else "stdout") for i, t in enumerate(left)],
        [line(t, seq=1 + i) for i, t in enumerate(right)],
    )
    reads = 0
    while comparer.result is None:
        wanted = comparer.wanted()
        assert wanted
        for side in wanted:
            done = [x for x in outputs[side] if x.at > comparer.after[side]]
            comparer.feed(side, done[:page], len(done) > page)
            reads += 1
    return comparer.result, reads


@pytest.mark.parametrize("page", [1, 2, 3, 500])
def test_outputs_part_at_their_first_different_line_however_they_are_paged(page: int) -> None:
    left = ["a", "b", "built 41 files", "d", "e"]
    right = ["a", "b", "built 42 files", "d"]
    result, _ = feed_all(left, right, page=page)
    assert result.verdict is OutputVerdict.DIFFERS
    assert result.index == 2
    assert result.left is not None
    assert result.left.text == "built 41 files"
    assert result.right is not None
    assert result.right.text == "built 42 files"


@pytest.mark.parametrize("page", [1, 2, 500])
def test_outputs_the_same_or_one_longer(page: int) -> None:
    same, _ = feed_all(["x", "y", "z"], ["x", "y", "z"], page=page)
    assert (same.verdict, same.index) == (OutputVerdict.SAME, 3)  # streams aside: text alone

    longer, _ = feed_all(["x", "y"], ["x", "y", "extra"], page=page)
    assert (longer.verdict, longer.index) == (OutputVerdict.DIFFERS, 2)
    assert longer.left is None
    assert longer.right is not None
    assert longer.right.text == "extra"
    assert feed_all(["x", "y", "more"], ["x", "y"], page=page)[0].right is None

    nothing, _ = feed_all([], [], page=page)
    assert (nothing.verdict, nothing.index) == (OutputVerdict.SAME, 0)


def test_a_comparison_stops_at_its_bound_and_at_the_first_difference() -> None:
    lines = [f"line {i}" for i in range(1000)]
    result, reads = feed_all(lines, lines, page=10, limit=55)
    assert (result.verdict, result.index) == (OutputVerdict.SAME_SO_FAR, 55)
    assert reads == 12  # six pages of each side: never the whole output

    early, reads = feed_all(["a", *lines], ["b", *lines], page=10)
    assert early.index == 0
    assert reads == 2  # one page of each

    comparer = OutputComparer()
    comparer.feed(0, [line("a")], more=True)
    comparer.feed(1, [line("b")], more=True)
    assert comparer.result is not None
    assert comparer.wanted() == []
    comparer.feed(0, [line("c")], more=False)  # a page already under way when it decided
    assert comparer.result.index == 0
    assert comparer.result.swapped().left == line("b")


# --- the default other run ----------------------------------------------------------------------


def test_the_default_other_run_is_the_newest_of_its_workflow_before_it() -> None:
    def run(n: int, workflow: str = "demo") -> RunRow:
        return run_row(run_id=f"run-{n}", workflow=workflow, created_at=T0 + n)

    newest_first = [run(9), run(7), run(5), run(3, "other"), run(3), run(1)]
    assert default_other(run(5), newest_first) == run(3)
    assert default_other(run(1), newest_first) is None
    assert default_other(run(8), newest_first) == run(7)
    # two runs created in the same millisecond: ordered by id, as the runs list orders them
    twin = run_row(run_id="run-0", workflow="demo", created_at=T0 + 5)
    assert default_other(run(5), [run(5), twin]) == twin


# --- the words of a row -------------------------------------------------------------------------


def rows_for_words() -> dict[str, DiffRow]:
    left = [
        task(PARENT, "fetch", 0),
        task(PARENT, "build", 1),
        task(PARENT, "test", 2, status="failed"),
        task(PARENT, "skipped", 2, status="skipped"),
    ]
    left_attempts = [
        attempt(PARENT, "fetch", took=1.2),
        attempt(PARENT, "build", took=8.0),
        attempt(PARENT, "test", status="failed", exit_code=1, took=3.1),
    ]
    right = [task(FORK, "fetch", 0), task(FORK, "build", 1), task(FORK, "test", 2)]
    right_attempts = [
        attempt(FORK, "build", took=7.4),
        attempt(FORK, "test", 0, status="failed", exit_code=1),
        attempt(FORK, "test", 1, took=9.9),
    ]
    return pair(left, left_attempts, right, right_attempts)


def test_each_side_reads_without_colour() -> None:
    rows = rows_for_words()
    now = T0 + 1000
    assert side_text(rows["fetch"].left, rows["fetch"], now).plain == "✓ 1.2s  exit 0"
    assert side_text(rows["fetch"].right, rows["fetch"], now).plain == "↳ carried"
    assert side_text(rows["test"].left, rows["test"], now).plain == "✗ 3.1s  exit 1 ×1"
    assert side_text(rows["test"].right, rows["test"], now).plain == "✓ 9.9s  exit 0 ×2"
    assert side_text(rows["skipped"].left, rows["skipped"], now).plain == "↷ skipped"
    assert side_text(None, rows["skipped"], now).plain == "— not in this run"
    running = TaskSide(
        "r",
        "t",
        0,
        "shell",
        "running",
        False,
        False,
        1,
        attempt(FORK, "t", took=None, status="running", exit_code=None),
    )
    assert side_text(running, rows["fetch"], T0 + 4).plain == "● 4.0s…"


def test_the_output_column_says_where_the_outputs_part() -> None:
    row = rows_for_words()["build"]
    parted = OutputDiff(
        OutputVerdict.DIFFERS, 2, line("built 41 files"), line("built 42 files", stream="stderr")
    )
    assert output_text(row, parted, 60).plain.rstrip() == (
        'L3: "built 41 files" ⇄ !"built 42 files"'
    )
    cut = output_text(row, parted, 30).plain
    assert cell_len(cut) == 30
    assert cut == 'L3: "built 41…" ⇄ !"built 42…"'
    lopsided = OutputDiff(OutputVerdict.DIFFERS, 0, line("x" * 100), line("ok"))
    assert (
        output_text(row, lopsided, 30).plain == 'L1: "' + "x" * 16 + '…" ⇄ "ok"'
    )  # the short one whole
    ended = OutputDiff(OutputVerdict.DIFFERS, 0, None, line("only here"))
    assert output_text(row, ended, 40).plain.rstrip() == 'L1: (ended) ⇄ "only here"'
    assert output_text(row, None, 20).plain.rstrip() == "…"
    assert output_text(row, OutputDiff(OutputVerdict.SAME, 12), 40).plain.rstrip() == (
        "same output (12 lines)"
    )
    assert output_text(row, OutputDiff(OutputVerdict.SAME, 0), 40).plain.rstrip() == (
        "same output (none)"
    )
    so_far = OutputDiff(OutputVerdict.SAME_SO_FAR, 10_000)
    assert output_text(row, so_far, 40).plain.rstrip() == "same in the first 10,000 lines"
    failed = output_text(row, OutputFailed("server away"), 40).plain.rstrip()
    assert failed == "? not read: server away"
    fetch = rows_for_words()["fetch"]
    assert output_text(fetch, None, 20).plain.rstrip() == "—"


@pytest.mark.parametrize("width", [80, 120])
def test_every_line_keeps_its_width_whatever_the_ids_and_output(width: int) -> None:
    ids = ["fetch", "a-task-id-far-too-long-for-any-column", SHORT, "wide-ｗｉｄｅ-ｗｉｄｅ"]
    left = [task(PARENT, t, 0) for t in ids]
    right = [task(FORK, t, 2) for t in ids]
    rows = pair(left, [attempt(PARENT, t) for t in ids], right, [attempt(FORK, t) for t in ids])
    cols = columns(width - 2, max(len(t) for t in ids))
    states: list[Any] = [
        None,
        OutputDiff(OutputVerdict.DIFFERS, 41, line(HOSTILE), line("[bold]x[/bold]\x1b[2J")),
        OutputDiff(OutputVerdict.SAME, 3),
        OutputFailed(SHORT),
    ]
    header = header_text(cols, "…ed0001", "…ed0002")
    assert cell_len(header.plain) == width - 2
    for task_id, state in zip(ids, states, strict=True):
        row = rows[task_id]
        text = row_text(row, state, cols, T0 + 1000)
        assert cell_len(text.plain) == width - 2, text.plain
        assert "\n" not in text.plain
        assert_terminal_safe(text.plain, "a diff row")
        for detail in detail_lines(row, state, T0 + 1000):
            assert_terminal_safe(detail.plain, "the diff's detail")
    parted = row_text(rows[ids[1]], states[1], cols, T0 + 1000).plain
    assert parted.startswith("≠ a-task-id")
    assert "L42:" in parted
    wide = output_text(rows[ids[1]], states[1], 80).plain
    assert '⇄ "[bold]x[/bold]"' in wide  # brackets are text, the sequence is gone


def test_the_cursor_row_in_full() -> None:
    rows = rows_for_words()
    parted = OutputDiff(OutputVerdict.DIFFERS, 16, line("FAILED test_io"), line("17 passed"))
    first, left, right = (t.plain for t in detail_lines(rows["test"], parted, T0))
    assert first == ("test  wave 2  ≠ differs: status, exit code, attempts, output from line 17")
    assert left == "◀ L17  FAILED test_io"
    assert right == "▶ L17  17 passed"
    first, left, right = (t.plain for t in detail_lines(rows["fetch"], None, T0))
    assert first == "fetch  wave 0  = the same result: carried over from the other run"
    assert left == "◀ ✓ 1.2s  exit 0  · attempt 0 completed"
    assert right == "▶ ↳ carried over from its parent run: not run again"


def test_runs_violations_and_approvals_are_named_safely() -> None:
    assert run_heading(PARENT, 6).plain == "✓ …ed0001"
    assert run_heading(FORK, 8).plain == "✓ …5eed0002"
    assert (workflows(PARENT, FORK), relation(PARENT, FORK)) == (
        "demo",
        "▶ forked from ◀ (rewind@1)",
    )
    assert relation(FORK, PARENT) == "◀ forked from ▶ (rewind@1)"
    retry = run_row(run_id="x" * 20, parent_run_id=PARENT.run_id, workflow=SHORT)
    assert relation(PARENT, retry) == "▶ forked from ◀ (retry)"
    assert relation(retry, FORK) == ""  # neither is the other's fork
    said = workflows(retry, PARENT)
    assert said.endswith(" ⇄ demo")
    assert_terminal_safe(said, "the workflows diffed")

    v = ViolationRow(
        PARENT.run_id,
        7,
        "pii",
        "No [b]personal[/b] data" + SHORT,
        PolicyViolationType.PII_DETECTED,
        ViolationSeverity.MEDIUM,
        1,
        T0,
        None,
        None,
        "found",
        "warn",
        task_id="contributors\x1b[2J",
        attempt=0,
    )
    text = violation_line(v).plain
    assert text.startswith("▲ medium pii_detected contributors#0")
    assert "[b]personal[/b]" in text
    assert_terminal_safe(text, "a violation line")

    decided = approval(PARENT, "publish-gate", ApprovalDecision.APPROVE)
    assert approval_line(decided).plain == '✓ approve publish-gate by ann: "looks fine"'
    assert approval_line(approval(FORK, "gate", None)).plain == "⏸ pending gate"
    hostile = ApprovalRow(
        "a",
        "r",
        ApprovalKind.VIOLATION,
        None,
        "?",
        T0,
        None,
        ApprovalDecision.REJECT,
        [],
        ApprovalDecision.REJECT,
        HOSTILE,
        "eve\x07\u202e",
        T0,
        None,
    )
    text = approval_line(hostile).plain
    assert text.startswith("✗ reject violation gate by eve␇")
    assert_terminal_safe(text, "an approval line")
