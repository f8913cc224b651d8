"""What a server accepts over its API: every refusal names the task or policy and the field."""

from __future__ import annotations

import pytest

from runtui.domain.errors import WorkflowError
from runtui.domain.submission_rules import SubmissionRules, check_submission, refusals
from runtui.workflows import parse_workflow

MIXED = """
name = "mixed"
[[tasks]]
id = "sh"
kind = "shell"
cmd = "echo hi"
[[tasks]]
id = "py"
kind = "python"
function = "os:system"
[[tasks]]
id = "ok"
kind = "python"
function = "mypkg.tasks.train:run"
[[policies]]
id = "rule"
type = "custom_rule"
severity = "low"
function = "evil.rules:check"
"""


def test_nothing_is_refused_without_rules() -> None:
    assert refusals(parse_workflow(MIXED, source="wf.toml"), SubmissionRules()) == []


def test_kinds_and_modules_outside_the_lists_are_named() -> None:
    rules = SubmissionRules(task_kinds=("python", "noop"), python_modules=("mypkg",))
    assert refusals(parse_workflow(MIXED, source="wf.toml"), rules) == [
        (
            "tasks[0] (id=sh).kind",
            "shell tasks are not allowed on this server (allowed: python, noop)",
        ),
        ("tasks[1] (id=py).function", "module os is not allowed on this server (allowed: mypkg)"),
        (
            "policies[0] (id=rule).function",
            "module evil.rules is not allowed on this server (allowed: mypkg)",
        ),
    ]


@pytest.mark.parametrize(
    ("module", "allowed"),
    [("mypkg", True), ("mypkg.tasks.train", True), ("mypkgx", False), ("my", False)],
)
def test_a_package_covers_what_is_below_it(module: str, allowed: bool) -> None:
    text = f'name = "p"\n[[tasks]]\nid = "t"\nkind = "python"\nfunction = "{module}:f"'
    rules = SubmissionRules(python_modules=("mypkg",))
    assert (refusals(parse_workflow(text, source="wf.toml"), rules) == []) is allowed


def test_check_raises_one_line_per_refusal() -> None:
    rules = SubmissionRules(task_kinds=())
    with pytest.raises(WorkflowError) as info:
        check_submission(parse_workflow(MIXED, source="body"), rules, source="body")
    assert str(info.value).splitlines()[0] == (
        "body: tasks[0] (id=sh).kind: shell tasks are not allowed on this server (allowed: none)"
    )
    assert info.value.field == "tasks[0] (id=sh).kind"
    assert len(str(info.value).splitlines()) == 3
