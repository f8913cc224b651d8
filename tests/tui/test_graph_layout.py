"""The graph screen's layouts, without Textual: a run's tasks as lanes (read back into the very
`needs` they were drawn from, for any graph), as a tree where lanes do not fit, its lineage as
a tree, and its source as numbered safe lines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.views import RunRow, TaskRow
from runtui.domain.workflow_source import MAX_SOURCE_BYTES, SourceFormat, WorkflowSource, kept
from runtui.tui.widgets.graph_layout import (
    GraphMode,
    GraphRow,
    by_wave,
    draw_row,
    lanes,
    layout,
    plain,
    tree,
)
from runtui.tui.widgets.lineage_layout import THIS_RUN, draw_lineage_row, lineage_rows
from runtui.tui.widgets.source_layout import describe, draw_source_line, source_lines
from runtui.workflows import parse_workflow
from tests.hostile import PAYLOADS, SHORT, assert_terminal_safe
from tests.tui.snapshot_db import DEMO


def task(task_id: str, wave: int, needs: list[str], status: str = "done") -> TaskRow:
    return TaskRow("r", task_id, "shell", wave, needs, False, 0, {}, status, 1, 0.0)


def demo_tasks() -> list[TaskRow]:
    workflow = parse_workflow(DEMO)
    waves = workflow.waves()
    rows = [task(t.id, waves[t.id], list(t.needs)) for t in workflow.tasks]
    return sorted(rows, key=lambda t: (t.wave, t.task_id))  # as the store gives them


def drawn(tasks: list[TaskRow], width: int) -> list[str]:
    graph = layout(tasks, width)
    return [plain(draw_row(r, tasks[r.task], graph.wave_width, selected=False)) for r in graph.rows]


def test_the_demo_workflow_as_lanes() -> None:
    assert drawn(demo_tasks(), 80) == [
        "0 ╭─────────✓ checkout",
        "  │ ╭───────✓ inventory",
        "1 ├─│─┬─────✓ contributors",
        "  ├─│─│─┬───✓ lint",
        "  ╰─│─│─│─┬─✓ unit-tests",
        "2 ╭─┴─┴─┴─┴─✓ report",
        "3 ╰─┬───────✓ publish-gate",
        "4 ╭─┴───────✓ publish",
        "5 ╰─────────✓ announce",
    ]


def test_too_many_lanes_for_the_width_make_a_tree_that_names_the_other_needs() -> None:
    tasks = demo_tasks()
    assert layout(tasks, 80).mode is GraphMode.LANES
    assert layout(tasks, 30).mode is GraphMode.TREE  # room for 4 lanes, 5 wanted
    assert drawn(tasks, 30) == [
        "0 ✓ checkout",
        "1 ├─ ✓ contributors",
        "1 ├─ ✓ lint",
        "2 │  ╰─ ✓ report  (also needs: unit-tests, contributors, inventory)",
        "3 │     ╰─ ✓ publish-gate",
        "4 │        ╰─ ✓ publish",
        "5 │           ╰─ ✓ announce",
        "1 ╰─ ✓ unit-tests",
        "0 ✓ inventory",
    ]


def test_tasks_without_needs_have_no_lanes() -> None:
    tasks = [task("a", 0, []), task("b", 0, [], "failed")]
    assert drawn(tasks, 80) == ["0 ✓ a", "  ✗ b"]


def test_a_deep_chain_is_one_lane_and_a_tree_keeps_its_guides_to_a_depth() -> None:
    chain = [task(f"t{i}", i, [f"t{i - 1}"] if i else []) for i in range(2000)]
    rows = lanes(chain, by_wave(chain), max_lanes=2)
    assert rows is not None  # a chain needs two lanes, alternating
    deep = tree(chain, by_wave(chain), max_depth=4)
    assert [r.prefix for r in deep[:3]] == ["", "╰─ ", "   ╰─ "]
    assert deep[-1].prefix == "…        ╰─ "  # `…` for the levels above, then the last 3
    assert len(deep) == 2000


def test_siblings_are_drawn_under_the_task_they_need() -> None:
    tasks = [
        task("a", 0, []),
        task("b", 0, []),
        task("x-of-b", 1, ["b"]),
        task("y-of-a", 1, ["a"]),
    ]
    assert [tasks[i].task_id for i in by_wave(tasks)] == ["a", "b", "y-of-a", "x-of-b"]


def read_back(rows: list[GraphRow], tasks: list[TaskRow]) -> dict[str, set[str]]:
    """The needs a reader sees in a lanes drawing: follow each lane from where it opens (on
    its task's line) to every line it turns into."""
    owner: dict[int, str] = {}
    seen: dict[str, set[str]] = {}
    for row in rows:
        me = tasks[row.task].task_id
        seen[me] = set()
        for col in range(0, len(row.prefix), 2):
            mark, slot = row.prefix[col], col // 2
            if mark in "├┼╰┴":
                seen[me].add(owner[slot])
            if mark in "╰┴":
                del owner[slot]
            if mark in "╭┬":
                owner[slot] = me
            if mark == "│":
                assert slot in owner  # a lane passes only where one runs
    assert not owner  # every lane ended at its last task
    return seen


@st.composite
def dags(draw: st.DrawFn) -> list[TaskRow]:
    n = draw(st.integers(1, 40))
    needs = [
        sorted(set(draw(st.lists(st.integers(0, i - 1), max_size=4)))) if i else []
        for i in range(n)
    ]
    waves: list[int] = []
    for ds in needs:
        waves.append(1 + max((waves[d] for d in ds), default=-1))
    shuffled = draw(st.permutations(range(n)))
    return [task(f"t{i}", waves[i], [f"t{d}" for d in needs[i]]) for i in shuffled]


@settings(max_examples=150, deadline=None)
@given(dags())
def test_any_graph_drawn_as_lanes_reads_back_as_its_needs(tasks: list[TaskRow]) -> None:
    rows = lanes(tasks, by_wave(tasks), max_lanes=1000)
    assert rows is not None
    assert len({len(r.prefix) for r in rows}) == 1  # every glyph in one column
    waves = [tasks[r.task].wave for r in rows]
    assert waves == sorted(waves)
    assert read_back(rows, tasks) == {t.task_id: set(t.needs) for t in tasks}


@settings(max_examples=100, deadline=None)
@given(dags())
def test_any_graph_as_a_tree_shows_each_task_once_with_every_need(tasks: list[TaskRow]) -> None:
    rows = tree(tasks, by_wave(tasks), max_depth=1000)
    assert sorted(r.task for r in rows) == list(range(len(tasks)))
    parents: list[str] = []  # the task at each depth, down to the current line
    for row in rows:
        depth = len(row.prefix) // 3
        me = tasks[row.task]
        del parents[depth:]
        parent = {parents[-1]} if parents else set()
        assert parent | set(row.also) == set(me.needs)
        parents.append(me.task_id)


def test_hostile_task_ids_are_drawn_safe() -> None:
    tasks = [task("a" + SHORT, 0, []), *(task(p, 1, ["a" + SHORT]) for p in PAYLOADS.values())]
    for width in (200, 10):  # lanes, then a tree naming the other needs
        for line in drawn([*tasks, task("z\n[b]", 2, [tasks[1].task_id, "a" + SHORT])], width):
            assert_terminal_safe(line, "a graph line")
            assert "\n" not in line


def run(run_id: str, created: float, parent: str | None = None, wave: int | None = None) -> RunRow:
    return RunRow(
        run_id, "demo", created, created, RunPhase.COMPLETED, RunStatus.SUCCEEDED, None,
        "none", None, parent, wave, 0, None, None, None, None, None, None, None, None, 0, {},
    )  # fmt: skip


def test_the_lineage_is_a_tree_of_forks_oldest_first() -> None:
    runs = {
        "root": run("root", 1),
        "late": run("late", 9, "root", 2),
        "early": run("early", 5, "root", 1),
        "grandchild": run("grandchild", 6, "early", 0),
    }
    forks = {"root": ["late", "early"], "early": ["grandchild", "root"]}  # a loop: drawn once
    rows = lineage_rows("root", runs, forks)
    assert [(r.prefix, r.run_id) for r in rows] == [
        ("", "root"),
        ("├─ ", "early"),
        ("│  ╰─ ", "grandchild"),
        ("╰─ ", "late"),
    ]
    line = plain(draw_lineage_row(rows[1], runs["early"], 6, current=True, selected=False))
    assert line == f"├─ ✓ early  demo  succeeded  rewind@1  {THIS_RUN}"


def test_source_lines_are_numbered_and_safe() -> None:
    text = "name = 'x'\r\n" + "".join(f"# {p}\n" for p in PAYLOADS.values())
    lines = source_lines(text)
    assert lines[0] == "name = 'x'"
    assert len(lines) == 1 + len(PAYLOADS)
    for line in lines:
        assert_terminal_safe(line, "a source line")
    assert plain(draw_source_line(7, "x", 3)) == "  7 │ x"
    assert source_lines("") == []


def test_what_a_source_is_reads_in_a_line() -> None:
    assert (
        describe(kept(SourceFormat.TOML, "x" * 2048, "wf.toml")) == "TOML file · wf.toml · 2.0 KiB"
    )
    cut = kept(SourceFormat.PYTHON, "y" * (MAX_SOURCE_BYTES + 10), "mod\x1b[2J")
    assert describe(cut) == "Python module · mod · 256.0 KiB · cut: the first 256.0 KiB shown"
    rendered = WorkflowSource(SourceFormat.RENDERED, "name = 'x'\n", "", 11)
    assert describe(rendered).startswith("rendered from the stored workflow, not the original")
