"""Workflows defined in Python (`runtui.Flow`): the same `Workflow` a TOML file gives, and the
same errors, naming the field."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import runtui
from runtui.flow import function_ref
from runtui.workflows import parse_workflow

ROOT = Path(__file__).resolve().parents[2]


def shout(text: str = "hi") -> str:
    return text.upper()


def test_a_flow_builds_the_workflow_its_toml_twin_gives() -> None:
    flow = runtui.Flow("twin", timeout_s=120, hitl="approve_plan", max_concurrency=2)
    fetch = flow.shell("fetch", "echo fetched", env={"MODE": "fast"}, retries=2)
    flow.python("shout", shout, args={"text": "hey"}, needs=[fetch])
    gate = flow.gate("gate", prompt="Go?", approval_timeout_s=30, default="approve", needs=[shout])
    flow.external("train", submit="echo job-1", poll="echo succeeded", needs=[gate])
    flow.sleep("rest", 0.1, needs=["train"], allow_failure=True)
    flow.policy("secrets", type="content_policy", severity="high", pattern="SECRET")
    toml = textwrap.dedent(
        """
        name = "twin"
        timeout_s = 120
        hitl = "approve_plan"
        max_concurrency = 2

        [[tasks]]
        id = "fetch"
        kind = "shell"
        cmd = "echo fetched"
        env = { MODE = "fast" }
        retries = 2

        [[tasks]]
        id = "shout"
        kind = "python"
        function = "tests.port.test_flow:shout"
        args = { text = "hey" }
        needs = ["fetch"]

        [[tasks]]
        id = "gate"
        kind = "gate"
        prompt = "Go?"
        approval_timeout_s = 30
        default = "approve"
        needs = ["shout"]

        [[tasks]]
        id = "train"
        kind = "external"
        submit = "echo job-1"
        poll = "echo succeeded"
        needs = ["gate"]

        [[tasks]]
        id = "rest"
        kind = "sleep"
        seconds = 0.1
        needs = ["train"]
        allow_failure = true

        [[policies]]
        id = "secrets"
        type = "content_policy"
        severity = "high"
        pattern = "SECRET"
        """
    )
    assert flow.build() == parse_workflow(toml)
    assert flow.build().wave_count == 5


DECORATED = runtui.Flow("decorated")


@DECORATED.python(args={"n": 2})
def repeat(n: int = 1) -> str:
    return "again " * n


@DECORATED.python("last-step", needs=[repeat])
def finish() -> str:
    return "done"


def test_the_decorator_adds_the_function_and_returns_it_unchanged() -> None:
    assert repeat(1) == "again "
    built = {t.id: t for t in DECORATED.build().tasks}
    assert built["repeat"].function == "tests.port.test_flow:repeat"  # type: ignore[union-attr]
    assert built["repeat"].args == {"n": 2}  # type: ignore[union-attr]
    assert built["last-step"].needs == ["repeat"]


def test_a_nested_function_is_refused_when_it_is_added() -> None:
    flow = runtui.Flow("nested")
    with pytest.raises(runtui.InvalidInputError, match="not defined at a module's top level"):

        @flow.python
        def inner() -> None:  # a task's process could not import it
            return None


def test_needs_name_functions_that_were_added() -> None:
    flow = runtui.Flow("needs")
    flow.python(shout)
    flow.noop("after", needs=[shout])
    assert flow.build().waves() == {"shout": 0, "after": 1}
    with pytest.raises(runtui.InvalidInputError, match="is not a task of this flow"):
        flow.noop("later", needs=[function_ref])


def test_problems_name_the_flow_the_task_and_the_field_all_at_once() -> None:
    flow = runtui.Flow("broken")
    flow.shell("a", "")
    flow.sleep("b", -1)
    with pytest.raises(runtui.InvalidInputError) as caught:
        flow.build()
    text = str(caught.value)
    assert text.startswith("flow 'broken': ")
    assert "tasks[0] (id=a).cmd: must not be empty" in text
    assert "tasks[1] (id=b).seconds" in text
    unknown = runtui.Flow("unknown")
    unknown.noop("b", needs=["nowhere"])
    with pytest.raises(runtui.InvalidInputError, match="nowhere"):
        unknown.build()


def test_lambdas_are_refused_with_the_reason() -> None:
    with pytest.raises(runtui.InvalidInputError, match="top level"):
        function_ref(lambda: None)


def test_a_function_of_the_running_script_is_imported_by_the_scripts_name(
    tmp_path: Path,
) -> None:
    """`python job.py` defines a task function in the script itself: it runs in the task's
    process (imported as `job`), the script's guarded top level does not run again there, and
    an unguarded one that would open a runtime fails that task saying why."""
    script = tmp_path / "job.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import anyio
            import runtui

            flow = runtui.Flow("script")

            @flow.python
            def work(n: int = 2) -> str:
                return "worked " * n

            async def main() -> None:
                async with runtui.open({str(tmp_path / "runs.db")!r}, durability="fast") as rt:
                    run = await rt.wait(await rt.submit(flow.build()))
                    (attempt,) = await rt.attempts_of(run.run_id)
                    print(run.status.value, attempt.output_tail.strip())

            if __name__ == "__main__":
                anyio.run(main)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "succeeded worked worked"
    assert function_ref(shout) == "tests.port.test_flow:shout"


def test_a_script_that_opens_a_runtime_at_its_top_level_fails_its_task_saying_why(
    tmp_path: Path,
) -> None:
    script = tmp_path / "careless.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import anyio
            import runtui

            flow = runtui.Flow("careless")

            @flow.python
            def work() -> str:
                return "never"

            async def main() -> None:
                async with runtui.open({str(tmp_path / "runs.db")!r}, durability="fast") as rt:
                    run = await rt.wait(await rt.submit(flow.build()))
                    (attempt,) = await rt.attempts_of(run.run_id)
                    print(run.status.value)
                    print(attempt.error)

            anyio.run(main)  # no __main__ guard: the task's process would run this again
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    status, error = done.stdout.strip().splitlines()
    assert status == "failed"
    assert "runtui.open() was called in a python task's process" in error
