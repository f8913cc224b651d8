"""A fork shows the violations of the results it carried over from its parent (recorded in
the run that made them), apart from its own: a rewind does not launder a warning away.
Embedded and attached to a real server."""

from __future__ import annotations

import pytest

from runtui.actors.runtime import Runtime
from runtui.embedded import EmbeddedRuntime
from tests.actors.conftest import finish, wf
from tests.tui.conftest import until
from tests.tui.test_run_screen import open_run, violations_text
from tests.tui.test_why_it_ended import ui

pytestmark = pytest.mark.anyio

PII = """
name = "pii"
[[tasks]]
id = "export"
kind = "shell"
cmd = "echo contact: ann@example.com"
[[tasks]]
id = "report"
kind = "shell"
cmd = "echo report done"
needs = ["export"]
[[policies]]
id = "no-pii"
name = "No personal data"
type = "pii_detected"
severity = "medium"
"""


@pytest.mark.parametrize("attached", [False, True], ids=["embedded", "attached"])
async def test_a_fork_shows_the_violations_of_what_it_carried(
    runtime: Runtime, client: EmbeddedRuntime, attached: bool
) -> None:
    parent = await runtime.submit(wf(PII))
    await finish(runtime, parent)
    assert [v.task_id for v in await runtime.reader.violations_of(parent)] == ["export"]
    fork = (await runtime.rewind(parent, 0)).new_run_id
    assert fork is not None
    await finish(runtime, fork)
    assert await runtime.reader.violations_of(fork) == []  # its own: none
    twice = (await runtime.rewind(fork, 0)).new_run_id  # a fork of the fork carries it too
    assert twice is not None
    await finish(runtime, twice)
    async with ui(client, attached) as app, app.run_test(size=(120, 40)) as pilot:
        for run_id in (fork, twice):
            screen = await open_run(app, pilot, run_id)
            await until(pilot, lambda: "Carried over" in violations_text(app))
            text = violations_text(app)
            assert "Carried over with the parent's results (1)" in text
            assert "↳ ▲ medium  pii_detected" in text
            assert f"(in run …{parent[-6:]})" in text
            assert "✓ no violations" not in text
            panel = screen.query_one("#violations")
            assert panel.border_title == "Violations (0 + 1 carried)"
            await pilot.press("escape")
        screen = await open_run(app, pilot, parent)
        await pilot.pause()
        assert "Carried over" not in violations_text(app)
