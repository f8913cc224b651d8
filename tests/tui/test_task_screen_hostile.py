"""Terminal safety of the task screen: a forged run with a hostile string in every field the
screen shows (task id and name, command, working directory, variable names, output on both
streams, the error, usage keys, the violation it caused), and the hostile workflow of
`tests.hostile` run for real. The screen as Textual draws it holds no byte that drives a
terminal, brackets read as written, and no variable's value is ever shown."""

from __future__ import annotations

import pytest

from runtui.actors.runtime import Runtime
from runtui.domain.events import (
    AttemptOutput,
    AttemptStarted,
    AttemptStatusChanged,
    PendingEvent,
    RunCreated,
    TaskDeclared,
    TaskStatusChanged,
    ViolationData,
    ViolationRecorded,
)
from runtui.domain.task_env import RunEnvironment
from runtui.domain.tasks import AttemptStatus, TaskKind, TaskStatus
from runtui.domain.violations import PolicyViolationType, ViolationAction, ViolationSeverity
from runtui.embedded import EmbeddedRuntime
from runtui.tui.app import RuntuiApp
from runtui.tui.messages import OpenTask
from runtui.tui.screens.task import TaskScreen
from runtui.tui.widgets.task_output_view import TaskOutputView
from runtui.tui.widgets.waves_view import WavesView
from tests.actors.conftest import next_approval, wf
from tests.hostile import HOSTILE, PAYLOADS, SHORT, assert_terminal_safe, hostile_workflow
from tests.tui.conftest import until
from tests.tui.test_run_screen import open_run
from tests.tui.test_terminal_safety import SHORT_SHOWN, drawn

pytestmark = pytest.mark.anyio

SECRET = "s3cret-value"
TASK = "t" + SHORT


def forged(run_id: str) -> list[PendingEvent]:
    def ev(body: object) -> PendingEvent:
        return PendingEvent(run_id, body, 1_700_000_000.0, 0)  # type: ignore[arg-type]

    spec = {
        "id": TASK,
        "name": "n" + SHORT,
        "kind": "shell",
        "cmd": HOSTILE,
        "cwd": "dir" + SHORT,
        "env": {"E" + SHORT: SECRET, "PLAIN": SECRET},
        "timeout_s": 5.0,
    }
    violation = ViolationData(
        policy_id="p",
        policy_name="policy" + SHORT,
        violation_type=PolicyViolationType.CONTENT_POLICY,
        severity=ViolationSeverity.MEDIUM,
        step_index=0,
        at=1_700_000_001.0,
        reason="reason " + HOSTILE,
        task_id=TASK,
        attempt=0,
    )
    return [
        ev(
            RunCreated(
                workflow="wf" + SHORT,
                run_env=RunEnvironment(base_dir="/base" + SHORT, env={"V" + SHORT: SECRET}),
            )
        ),
        ev(TaskDeclared(task_id=TASK, task_kind=TaskKind.SHELL, wave=0, spec=spec)),
        ev(TaskStatusChanged(task_id=TASK, status=TaskStatus.RUNNING)),
        ev(AttemptStarted(task_id=TASK, attempt=0, idempotency_key="k")),
        ev(AttemptOutput(task_id=TASK, attempt=0, lines=[HOSTILE, *PAYLOADS.values()])),
        ev(AttemptOutput(task_id=TASK, attempt=0, stream="stderr", lines=["err " + HOSTILE])),
        ev(AttemptOutput(task_id=TASK, attempt=0, stream="poll", lines=["poll " + SHORT])),
        ev(
            AttemptStatusChanged(
                task_id=TASK,
                attempt=0,
                status=AttemptStatus.FAILED,
                exit_code=3,
                error="error " + HOSTILE,
                usage={"u" + SHORT: 1.0},
            )
        ),
        ev(ViolationRecorded(violation=violation, action=ViolationAction.WARN)),
        ev(TaskStatusChanged(task_id=TASK, status=TaskStatus.FAILED, reason=SHORT)),
    ]


async def test_the_task_screen_shows_hostile_strings_without_escapes(
    runtime: Runtime, client: EmbeddedRuntime
) -> None:
    await runtime.store.writer.append_many(forged("forged"))
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        run = await open_run(app, pilot, "forged")
        await pilot.press("enter")  # the waves cursor, on a hostile task id
        waves = run.query_one("#waves", WavesView)
        assert waves.selected == TASK
        assert f"t{SHORT_SHOWN}" in drawn(app)
        await pilot.press("enter")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, TaskScreen)
                and app.screen.query_one("#output", TaskOutputView).attempt == 0
            ),
        )
        view = app.screen.query_one("#output", TaskOutputView)
        for line in view.plain_lines():  # every line of the output, on screen or not
            assert_terminal_safe(line, "the task's output")
        screen = drawn(app)
        for shown in (
            f"t{SHORT_SHOWN}",  # the title
            f"(n{SHORT_SHOWN})",  # the task's name
            f"dir{SHORT_SHOWN}",  # its working directory
            f"E{SHORT_SHOWN}, PLAIN",  # variable names
            f"V{SHORT_SHOWN}",  # inherited ones
            f"policy{SHORT_SHOWN}",  # the violation it caused
            f"u{SHORT_SHOWN}",  # a usage key
            f"poll {SHORT_SHOWN}",  # an external job's poll output
            "100% pwned",  # a `\r` rewrote the line as a terminal would
        ):
            assert shown in screen, shown
        assert SECRET not in screen
        stderr = [line for line in view.plain_lines() if line.startswith("! ")]
        assert stderr == [view.plain_lines()[-2]]  # marked (its `\r` rewrote its start)
        assert view.plain_lines()[-1] == f"~ poll {SHORT_SHOWN}"  # marked too
        await pilot.press("e")
        await until(pilot, lambda: view.highlight is not None)
        assert view.lines[view.index_of(view.highlight) or 0].stream == "stderr"  # type: ignore[arg-type]
        drawn(app)


async def test_the_hostile_workflow_run_for_real(runtime: Runtime, client: EmbeddedRuntime) -> None:
    run_id = await runtime.submit(wf(hostile_workflow()))
    await next_approval(runtime, run_id)
    app = RuntuiApp(client, demo_path=None)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_run(app, pilot, run_id)
        for task, shown in (("loud", "100% pwned"), ("breaks", SHORT_SHOWN)):
            app.post_message(OpenTask(run_id, task))
            await until(
                pilot,
                lambda: (
                    isinstance(app.screen, TaskScreen)
                    and app.screen.task_id == task  # noqa: B023
                    and app.screen.query_one("#output", TaskOutputView).attempt == 0
                ),
            )
            view = app.screen.query_one("#output", TaskOutputView)
            for line in view.plain_lines():
                assert_terminal_safe(line, f"the output of {task}")
            assert f"  {shown}" in view.plain_lines()
            if task == "loud":
                await pilot.press("e")  # it printed every payload on stderr too
                await until(pilot, lambda: view.highlight is not None)  # noqa: B023
                assert view.lines[view.index_of(view.highlight) or 0].stream == "stderr"  # type: ignore[arg-type]
            else:
                assert "exit code 3" in drawn(app)
            assert shown in drawn(app)
            await pilot.press("escape")
