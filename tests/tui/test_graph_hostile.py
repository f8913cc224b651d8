"""Terminal safety of the graph screen: a forged run whose task ids, needs, workflow name, source
text and origin, and whose fork's id, carry every hostile payload. Each view as Textual draws
it holds no byte that drives a terminal, and brackets read as written, never as markup."""

from __future__ import annotations

import pytest

from runtui.actors.runtime import Runtime
from runtui.domain.events import PendingEvent, RunCreated, TaskDeclared
from runtui.domain.tasks import TaskKind
from runtui.domain.workflow_source import SourceFormat, WorkflowSource
from runtui.embedded import EmbeddedRuntime
from runtui.tui.app import RuntuiApp
from tests.hostile import HOSTILE, PAYLOADS, SHORT, assert_terminal_safe
from tests.tui.conftest import until
from tests.tui.test_graph_screen import open_graph, show
from tests.tui.test_terminal_safety import SHORT_SHOWN, drawn

pytestmark = pytest.mark.anyio

ROOT = "a" + SHORT
LAST = "z\nlast [bold]"
SOURCE = f"# {HOSTILE}\nname = 'wf'\n[bold]not markup[/bold]\n\x1b[2Jcleared?\n\u202eevil\n"


def forged() -> list[PendingEvent]:
    created = RunCreated(
        workflow="wf" + SHORT,
        source=WorkflowSource(SourceFormat.TOML, SOURCE, "dir" + SHORT, len(SOURCE)),
    )
    events = [PendingEvent("forged", created, 1.0)]
    ids = list(PAYLOADS.values())
    declared = [
        TaskDeclared(task_id=ROOT, task_kind=TaskKind.SHELL, wave=0),
        *(TaskDeclared(task_id=i, task_kind=TaskKind.SHELL, wave=1, needs=[ROOT]) for i in ids),
        TaskDeclared(task_id=LAST, task_kind=TaskKind.SHELL, wave=2, needs=ids[:3]),
    ]
    events += [PendingEvent("forged", d, 1.0, d.wave) for d in declared]
    fork = RunCreated(workflow="wf" + SHORT, parent_run_id="forged", rewound_from_wave=1)
    events.append(PendingEvent("fork" + SHORT, fork, 2.0))
    return events


async def test_every_view_draws_hostile_strings_as_text(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    await runtime.store.writer.append_many(forged())
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_graph(app, pilot, "forged")
        for line in screen.view().plain_lines():  # every line, on screen or not
            assert_terminal_safe(line, "the graph")
        graph = drawn(app)
        assert f"a{SHORT_SHOWN}" in graph
        assert "z↵last [bold]" in graph  # the newline shown, the brackets as written
        assert f"wf{SHORT_SHOWN}" in graph  # the title

        lineage = await show(pilot, screen, "2", lambda: len(screen.lineage) == 2)
        for line in lineage:
            assert_terminal_safe(line, "the lineage")
        assert "rewind@1" in drawn(app)

        source = await show(pilot, screen, "3", lambda: screen.source is not None)
        for line in source:
            assert_terminal_safe(line, "the source")
        shown = drawn(app)
        assert "[bold]not markup[/bold]" in shown
        assert "cleared?" in shown
        assert f"dir{SHORT_SHOWN}" in shown  # where it came from, in the tabs line
        await pilot.press("end", "right", "right")  # scrolled, still safe
        await until(pilot, lambda: screen.view().scroll_offset.x > 0)
        drawn(app)
