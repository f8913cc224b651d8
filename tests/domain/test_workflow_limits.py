"""What a workflow may hold: no NUL bytes for processes, bounded strings, numbers and nesting,
regexes RE2 can run. Each refusal names the file, the line and the field, like any other."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from runtui.domain.errors import WorkflowError
from runtui.domain.workflow import Workflow
from runtui.domain.workflow_fields import (
    MAX_COMMAND,
    MAX_NAME,
    MAX_NESTING,
    MAX_SECONDS,
    MAX_TEXT,
)
from runtui.workflows import parse_workflow

HEAD = 'name = "t"\n'
NOOP = '[[tasks]]\nid = "a"\nkind = "noop"\n'


def problem(text: str) -> str:
    with pytest.raises(WorkflowError) as info:
        parse_workflow(text, source="wf.toml")
    return str(info.value)


def shell(fields: str) -> str:
    return HEAD + f'[[tasks]]\nid = "a"\nkind = "shell"\n{fields}\n'


# --- NUL bytes ---------------------------------------------------------------------------------

NUL = "contains a NUL byte (\\x00), which cannot be passed to a process"
EXTERNAL = HEAD + '[[tasks]]\nid = "a"\nkind = "external"\n'


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (shell('cmd = "echo \\u0000 hi"'), "wf.toml:5: tasks[0] (id=a).cmd: " + NUL),
        (
            shell('cmd = "env"\nenv = { A = "x\\u0000" }'),
            "wf.toml:6: tasks[0] (id=a).env.A: " + NUL,
        ),
        (shell('cmd = "pwd"\ncwd = "/tmp\\u0000/x"'), "wf.toml:6: tasks[0] (id=a).cwd: " + NUL),
        (
            EXTERNAL + 'submit = "s\\u0000"\npoll = "p"\n',
            "wf.toml:5: tasks[0] (id=a).submit: " + NUL,
        ),
        (EXTERNAL + 'submit = "s"\npoll = "p\\u0000"\n', "wf.toml:6: tasks[0] (id=a).poll: " + NUL),
        (
            shell('cmd = "env"\nenv = { "A\\u0000B" = "x" }'),
            "wf.toml:6: tasks[0] (id=a).env['A\\x00B']: invalid variable name 'A\\x00B'",
        ),
        (
            HEAD + '[[tasks]]\nid = "a"\nkind = "python"\nfunction = "m:f\\u0000"\n',
            "wf.toml:5: tasks[0] (id=a).function: invalid function 'm:f\\x00'",
        ),
    ],
)
def test_nul_bytes_never_reach_a_process(text: str, where: str) -> None:
    assert where in problem(text)


def test_nul_bytes_are_refused_by_the_model_too() -> None:
    task = {"id": "a", "kind": "shell", "cmd": "true", "env": {"A": "\x00"}}
    with pytest.raises(ValidationError, match="NUL byte"):
        Workflow.model_validate({"name": "t", "tasks": [task]})


# --- lengths -----------------------------------------------------------------------------------


def _long(n: int) -> str:
    return "x" * n


@pytest.mark.parametrize(
    ("make", "limit", "field"),
    [
        (lambda v: f'name = "{v}"\n' + NOOP, MAX_NAME, "wf.toml:1: name:"),
        (lambda v: HEAD + f'description = "{v}"\n' + NOOP, MAX_TEXT, "wf.toml:2: description:"),
        (lambda v: HEAD + NOOP + f'name = "{v}"\n', MAX_NAME, "wf.toml:5: tasks[0] (id=a).name:"),
        (
            lambda v: HEAD + f'[[tasks]]\nid = "g"\nkind = "gate"\nprompt = "{v}"\n',
            MAX_TEXT,
            "wf.toml:5: tasks[0] (id=g).prompt:",
        ),
        (lambda v: shell(f'cmd = "{v}"'), MAX_COMMAND, "wf.toml:5: tasks[0] (id=a).cmd:"),
        (
            lambda v: (
                HEAD + NOOP + f'[[policies]]\nid = "p"\nname = "{v}"\n'
                'type = "content_policy"\nseverity = "low"\npattern = "x"\n'
            ),
            MAX_NAME,
            "wf.toml:7: policies[0] (id=p).name:",
        ),
        (
            lambda v: (
                HEAD + NOOP + '[[policies]]\nid = "p"\ntype = "content_policy"\n'
                f'severity = "low"\npattern = "{v}"\n'
            ),
            MAX_TEXT,
            "wf.toml:9: policies[0] (id=p).pattern:",
        ),
    ],
)
def test_strings_are_bounded_and_a_long_value_is_not_echoed(
    make: Any, limit: int, field: str
) -> None:
    parse_workflow(make(_long(limit)))  # exactly at the limit is fine
    message = problem(make(_long(100 * limit)))
    assert f"{field} String should have at most {limit} characters" in message
    assert len(message) < 300, "the offending value is cut short in the message"


def test_an_overlong_id_or_need_is_refused_before_it_is_searched_for() -> None:
    assert "tasks[0].id: String should have at most 64 characters" in problem(
        HEAD + f'[[tasks]]\nid = "{_long(10_000)}"\nkind = "noop"\n'
    )
    assert "tasks[0] (id=a).needs[0]: String should have at most 64 characters" in problem(
        HEAD + f'[[tasks]]\nid = "a"\nkind = "noop"\nneeds = ["{_long(10_000)}"]\n'
    )


# --- numbers -----------------------------------------------------------------------------------

SLEEP = HEAD + '[[tasks]]\nid = "a"\nkind = "sleep"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SLEEP + "seconds = 1e300\n", "wf.toml:5: tasks[0] (id=a).seconds: Input should be less"),
        (SLEEP + "seconds = inf\n", "wf.toml:5: tasks[0] (id=a).seconds: Input should be a finite"),
        (SLEEP + "seconds = nan\n", "wf.toml:5: tasks[0] (id=a).seconds: Input should be a finite"),
        (
            SLEEP + "seconds = 1\ntimeout_s = 1e300\n",
            "wf.toml:6: tasks[0] (id=a).timeout_s: Input should be less",
        ),
        ("timeout_s = 1e300\n" + HEAD + NOOP, "wf.toml:1: timeout_s: Input should be less"),
        (
            HEAD + '[[tasks]]\nid = "g"\nkind = "gate"\napproval_timeout_s = 1e300\n',
            "wf.toml:5: tasks[0] (id=g).approval_timeout_s: Input should be less",
        ),
        (
            HEAD + '[[tasks]]\nid = "a"\nkind = "external"\nsubmit = "s"\npoll = "p"\n'
            "poll_interval_s = 1e300\n",
            "wf.toml:7: tasks[0] (id=a).poll_interval_s: Input should be less",
        ),
        (
            HEAD + NOOP + '[[policies]]\nid = "p"\ntype = "token_limit"\nseverity = "low"\n'
            "threshold = 1e300\n",
            "wf.toml:9: policies[0] (id=p).threshold: Input should be less",
        ),
        (
            HEAD + NOOP + '[[policies]]\nid = "p"\ntype = "rate_limit"\nseverity = "low"\n'
            "threshold = 5\nwindow_s = 1e300\n",
            "wf.toml:10: policies[0] (id=p).window_s: Input should be less",
        ),
    ],
)
def test_durations_and_thresholds_are_finite_and_bounded(text: str, expected: str) -> None:
    assert expected in problem(text)


def test_the_longest_duration_is_accepted() -> None:
    wf = parse_workflow(SLEEP + f"seconds = {MAX_SECONDS:.0f}\ntimeout_s = {MAX_SECONDS:.0f}\n")
    assert wf.task("a").timeout_s == MAX_SECONDS


# --- nesting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "[" * 500 + "]" * 500,  # deeper than tomllib itself can go
        "{ a = " * 500 + "1" + " }" * 500,
        "[" * (MAX_NESTING + 5) + "]" * (MAX_NESTING + 5),  # tomllib reads it; we refuse it
    ],
    ids=["arrays", "inline-tables", "just-too-deep"],
)
def test_deep_nesting_is_a_workflow_error_not_a_crash(value: str) -> None:
    message = problem(HEAD + NOOP + f"deep = {value}\n")
    assert message.startswith("wf.toml")
    assert f"nested more than {MAX_NESTING} levels deep" in message


def test_deep_nesting_names_the_line_and_field_when_it_can() -> None:
    args = "{ a = " * MAX_NESTING + "1" + " }" * MAX_NESTING
    text = HEAD + '[[tasks]]\nid = "py"\nkind = "python"\nfunction = "m:f"\n' + f"args = {args}\n"
    assert problem(text).startswith(
        f"wf.toml:6: tasks[0] (id=py).args.a…: nested more than {MAX_NESTING} levels deep"
    )
    dotted = ".".join(["k"] * 500)
    assert problem(HEAD + f"{dotted} = 1\n" + NOOP).startswith("wf.toml:2: k.k.k.k…: nested")


def test_nesting_within_the_limit_is_fine() -> None:
    depth = MAX_NESTING - 4  # the document, tasks, the task and args are four levels
    args = "{ a = " * depth + "1" + " }" * depth
    text = HEAD + '[[tasks]]\nid = "py"\nkind = "python"\nfunction = "m:f"\n' + f"args = {args}\n"
    assert parse_workflow(text).task("py").kind == "python"


# --- regexes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        (
            'type = "content_policy"\npattern = "(?<!x)secret"',
            "wf.toml:9: policies[0] (id=p).pattern: invalid regex '(?<!x)secret': "
            "invalid perl operator: (?<! (policy regexes are RE2",
        ),
        (
            "type = \"safety_violation\"\ncommands = ['rm', '(rm) \\1']",
            "wf.toml:9: policies[0] (id=p).commands[1]: invalid regex '(rm) \\\\1': "
            "invalid escape sequence: \\1 (policy regexes are RE2",
        ),
    ],
)
def test_a_regex_re2_cannot_run_is_refused_naming_the_policy(fields: str, where: str) -> None:
    text = HEAD + NOOP + f'[[policies]]\nid = "p"\nseverity = "low"\n{fields}\n'
    assert where in problem(text)


def test_a_catastrophic_regex_is_accepted_because_re2_runs_it_in_linear_time() -> None:
    text = HEAD + NOOP + '[[policies]]\nid = "p"\nseverity = "low"\n'
    wf = parse_workflow(text + 'type = "content_policy"\npattern = "(a+)+$"\n')
    assert [label for label, _ in wf.policies[0].compiled()] == ["(a+)+$"]
