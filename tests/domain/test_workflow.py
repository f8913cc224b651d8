"""The workflow format: models, graph helpers, and errors that point at FILE:LINE: FIELD."""

from __future__ import annotations

import re
from pathlib import Path
from textwrap import dedent

import pytest
from pydantic import ValidationError

from runtui.domain.approvals import ApprovalDecision, HitlMode
from runtui.domain.errors import NotFoundError, WorkflowError
from runtui.domain.policy_regex import PII_PATTERNS, compile_linear
from runtui.domain.tasks import TaskKind
from runtui.domain.violations import PolicyViolationType, ViolationAction, ViolationSeverity
from runtui.domain.workflow import (
    ExternalTask,
    GateTask,
    PolicySpec,
    ShellTask,
    SpecError,
    Workflow,
)
from runtui.workflows import load_workflow, parse_workflow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _toml(text: str) -> str:
    """Dedented TOML whose first line is line 1 (the opening newline is dropped)."""
    return dedent(text).lstrip("\n")


def _error(text: str) -> WorkflowError:
    with pytest.raises(WorkflowError) as info:
        parse_workflow(_toml(text), source="wf.toml")
    return info.value


# --- the examples ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["demo", "failing", "budget", "external"])
def test_examples_load(name: str) -> None:
    wf = load_workflow(EXAMPLES / f"{name}.toml")
    assert wf.name == name
    assert wf.description


def test_demo_teaches_waves_a_gate_and_policies() -> None:
    wf = load_workflow(EXAMPLES / "demo.toml")
    assert wf.wave_count >= 3
    assert any(len(wave) > 1 for wave in wf.by_wave()), "some tasks run in parallel"
    gates = [t for t in wf.tasks if isinstance(t, GateTask)]
    assert len(gates) == 1
    assert gates[0].prompt == "Publish the report?"
    assert wf.downstream(gates[0].id), "tasks run after the gate"
    assert all(t.kind in (TaskKind.SHELL, TaskKind.GATE) for t in wf.tasks)
    by_type = {p.type: p for p in wf.policies}
    pii = by_type[PolicyViolationType.PII_DETECTED]
    assert pii.action is ViolationAction.WARN
    budget = by_type[PolicyViolationType.TOKEN_LIMIT]
    shell = [t for t in wf.tasks if isinstance(t, ShellTask)]
    tokens = sum(int(n) for t in shell for n in re.findall(r"::usage tokens=(\d+)", t.cmd))
    assert budget.threshold is not None
    assert 0 < tokens < budget.threshold
    emails = compile_linear(PII_PATTERNS["email"])
    assert [t.id for t in shell if emails.search(t.cmd)] == ["contributors"]


def test_failing_example_has_a_hard_failure_with_downstream_and_an_allowed_one() -> None:
    wf = load_workflow(EXAMPLES / "failing.toml")
    assert wf.downstream("compile") == {"test", "package"}
    assert not wf.task("compile").allow_failure
    assert wf.task("docs").allow_failure
    assert "exit 3" in wf.task("compile").model_dump()["cmd"]


def test_budget_example_exceeds_its_critical_token_limit_at_step_3() -> None:
    wf = load_workflow(EXAMPLES / "budget.toml")
    (policy,) = wf.policies
    assert policy.severity is ViolationSeverity.CRITICAL
    assert policy.action is ViolationAction.STOP
    assert policy.threshold is not None
    totals: list[tuple[str, int]] = []
    for task in wf.tasks:
        assert isinstance(task, ShellTask)
        used = sum(int(n) for n in re.findall(r"::usage tokens=(\d+)", task.cmd))
        totals.append((task.id, used + (totals[-1][1] if totals else 0)))
    over = [i for i, (_, total) in enumerate(totals) if total > policy.threshold]
    assert (over[0], totals[over[0]][0]) == (2, "step-3")


def test_external_example_submits_and_polls_a_job() -> None:
    wf = load_workflow(EXAMPLES / "external.toml")
    (job,) = [t for t in wf.tasks if isinstance(t, ExternalTask)]
    assert "{job_id}" in job.poll
    assert job.poll_command("/tmp/it's here").count("'/tmp/it'\"'\"'s here'") == 2


@pytest.mark.parametrize("name", ["demo", "failing", "budget", "external"])
def test_examples_round_trip_through_dumps(name: str) -> None:
    """The runtime stores `model_dump(mode="json")` and validates it again on resume."""
    wf = load_workflow(EXAMPLES / f"{name}.toml")
    assert Workflow.model_validate(wf.model_dump()) == wf
    again = Workflow.model_validate(wf.model_dump(mode="json"))
    assert again == wf
    assert again.waves() == wf.waves()
    assert Workflow.model_validate_json(wf.model_dump_json()) == wf


# --- graph helpers -----------------------------------------------------------------------------

DIAMOND = """
name = "diamond"

[[tasks]]
id = "a"
kind = "noop"

[[tasks]]
id = "b"
kind = "sleep"
seconds = 0.1
needs = ["a"]

[[tasks]]
id = "c"
kind = "noop"
needs = ["a"]

[[tasks]]
id = "d"
kind = "noop"
needs = ["c", "b"]

[[tasks]]
id = "e"
kind = "noop"
needs = ["d"]

[[tasks]]
id = "lonely"
kind = "noop"
"""


def test_diamond_waves_groups_and_downstream() -> None:
    wf = parse_workflow(DIAMOND)
    assert wf.waves() == {"a": 0, "b": 1, "c": 1, "d": 2, "e": 3, "lonely": 0}
    assert wf.wave_count == 4
    assert [[t.id for t in wave] for wave in wf.by_wave()] == [
        ["a", "lonely"],
        ["b", "c"],
        ["d"],
        ["e"],
    ]
    assert wf.downstream("a") == {"b", "c", "d", "e"}
    assert wf.downstream("b") == {"d", "e"}
    assert wf.downstream("e") == set()
    assert wf.task("b").kind is TaskKind.SLEEP
    with pytest.raises(NotFoundError, match="no task 'zz'"):
        wf.task("zz")


def test_a_10000_task_chain_validates_without_recursion_trouble() -> None:
    tasks = [{"id": "t0", "kind": "noop"}] + [
        {"id": f"t{i}", "kind": "noop", "needs": [f"t{i - 1}"]} for i in range(1, 10_000)
    ]
    wf = Workflow.model_validate({"name": "long", "tasks": tasks})
    assert wf.wave_count == 10_000
    assert len(wf.downstream("t0")) == 9_999


def test_defaults_and_types() -> None:
    wf = parse_workflow(
        _toml(
            """
            name = "d"
            timeout_s = 5
            hitl = "approve_tools"
            [caps]
            shell = 2
            [[tasks]]
            id = "g"
            kind = "gate"
            [[policies]]
            id = "p"
            type = "pii_detected"
            severity = "high"
            """
        )
    )
    assert wf.timeout_s == 5.0
    assert wf.hitl is HitlMode.APPROVE_TOOLS
    assert wf.caps == {TaskKind.SHELL: 2}
    assert wf.governance.strict is False
    gate = wf.task("g")
    assert isinstance(gate, GateTask)
    assert (gate.default, gate.retries, gate.allow_failure) == (ApprovalDecision.REJECT, 0, False)
    (policy,) = wf.policies
    assert policy.pii == ["email", "phone", "ssn", "credit_card"]
    assert policy.action is ViolationAction.APPROVE
    assert [name for name, _ in policy.compiled()] == list(PII_PATTERNS)


def test_on_violation_overrides_the_severity_default() -> None:
    policy = PolicySpec.model_validate(
        {"id": "c", "type": "cost_limit", "severity": "critical", "threshold": 1.5}
    )
    assert policy.action is ViolationAction.STOP
    warn = policy.model_copy(update={"on_violation": ViolationAction.WARN})
    assert warn.action is ViolationAction.WARN


@pytest.mark.parametrize(
    ("detector", "hits", "misses"),
    [
        ("email", ["ada@example.com", "a.b+c@mail.co.uk"], ["user@localhost", "a @ b"]),
        ("phone", ["555-123-4567", "(555) 123-4567", "+1 555 123 4567"], ["1714567890"]),
        ("ssn", ["123-45-6789"], ["000-12-3456", "2024-05-01"]),
        ("credit_card", ["4111 1111 1111 1111", "4111111111111111"], ["4111 1111-1111 1111"]),
    ],
)
def test_pii_patterns(detector: str, hits: list[str], misses: list[str]) -> None:
    regex = compile_linear(PII_PATTERNS[detector])
    assert all(regex.search(f"x {h} y") for h in hits)
    assert not any(regex.search(m) for m in misses)
    assert not regex.search("12:00:00 tokens=3000 cost=0.0045 report-20261121.txt")


def test_python_construction_raises_validation_error_with_located_issues() -> None:
    with pytest.raises(ValidationError) as info:
        Workflow.model_validate(
            {
                "name": "x",
                "tasks": [
                    {"id": "a", "kind": "noop", "needs": ["b"]},
                    {"id": "b", "kind": "noop", "needs": ["a"]},
                ],
            }
        )
    error = info.value.errors()[0]["ctx"]["error"]
    assert isinstance(error, SpecError)
    assert error.issues[0].loc == ("tasks", 0, "needs")
    assert "cycle: a -> b -> a" in str(error)


# --- errors: FILE:LINE: FIELD_PATH: message ----------------------------------------------------

HEAD = 'name = "t"\n'  # line 1 of every case below

CASES: dict[str, tuple[str, str]] = {
    "duplicate id": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "noop"\n[[tasks]]\nkind = "noop"\nid = "a"\n',
        "wf.toml:7: tasks[1] (id=a).id: duplicate task id 'a' (first used by tasks[0])",
    ),
    "unknown need": (
        HEAD + '[[tasks]]\nid = "build"\nkind = "noop"\n'
        '[[tasks]]\nid = "test"\nkind = "noop"\nneeds = ["biuld"]\n',
        "wf.toml:8: tasks[1] (id=test).needs: task 'test' needs 'biuld', which is not a task "
        "in this workflow (did you mean 'build'?)",
    ),
    "self dependency": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "noop"\nneeds = ["a"]\n',
        "wf.toml:5: tasks[0] (id=a).needs: task 'a' needs itself",
    ),
    "cycle": (
        HEAD + '[[tasks]]\nid = "root"\nkind = "noop"\n'
        '[[tasks]]\nid = "c"\nkind = "noop"\nneeds = ["root", "b"]\n'
        '[[tasks]]\nid = "a"\nkind = "noop"\nneeds = ["c"]\n'
        '[[tasks]]\nid = "b"\nkind = "noop"\nneeds = ["a"]\n',
        "wf.toml:8: tasks[1] (id=c).needs: cycle: c -> b -> a -> c (each task needs the next)",
    ),
    "duplicate policy": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "noop"\n'
        '[[policies]]\nid = "p"\ntype = "pii_detected"\nseverity = "low"\n'
        '[[policies]]\nid = "p"\ntype = "pii_detected"\nseverity = "low"\n',
        "wf.toml:10: policies[1] (id=p).id: duplicate policy id 'p' (first used by policies[0])",
    ),
    "bad id": (
        HEAD + '[[tasks]]\nkind = "noop"\nid = "-bad id"\n',
        "wf.toml:4: tasks[0].id: invalid id '-bad id'",
    ),
    "id with a trailing newline": (
        HEAD + '[[tasks]]\nkind = "noop"\nid = "a\\n"\n',
        "wf.toml:4: tasks[0].id: invalid id 'a\\n'",
    ),
    "blank cmd": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "shell"\ncmd = " \\n "\n',
        "wf.toml:5: tasks[0] (id=a).cmd: must not be empty",
    ),
    "missing threshold": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "noop"\n'
        '[[policies]]\nid = "budget"\ntype = "token_limit"\nseverity = "critical"\n',
        "wf.toml:5: policies[0] (id=budget).threshold: a token_limit policy needs a threshold",
    ),
    "bad regex": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "noop"\n'
        '[[policies]]\nid = "words"\ntype = "content_policy"\nseverity = "low"\n'
        'pattern = "secret[0-9"\n',
        "wf.toml:9: policies[0] (id=words).pattern: invalid regex 'secret[0-9': missing ]: [0-9",
    ),
    "bad command regex": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "noop"\n'
        '[[policies]]\nid = "safe"\ntype = "safety_violation"\nseverity = "high"\n'
        "commands = ['rm -rf', '(']\n",
        "wf.toml:9: policies[0] (id=safe).commands[1]: invalid regex '('",
    ),
    "bad function format": (
        HEAD + '[[tasks]]\nid = "py"\nkind = "python"\nfunction = "pkg.mod.func"\n',
        "wf.toml:5: tasks[0] (id=py).function: invalid function 'pkg.mod.func': "
        "expected 'package.module:function'",
    ),
    "custom rule needs a function": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "noop"\n'
        '[[policies]]\nid = "mine"\ntype = "custom_rule"\nseverity = "low"\n',
        "wf.toml:5: policies[0] (id=mine).function: a custom_rule policy needs a function",
    ),
    "bad kind": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "bash"\ncmd = "true"\n',
        "wf.toml:4: tasks[0] (id=a).kind: unknown task kind 'bash'; expected one of: external, "
        "gate, noop, python, shell, sleep",
    ),
    "missing kind": (
        HEAD + '\n[[tasks]]\nid = "a"\n',
        "wf.toml:3: tasks[0] (id=a).kind: missing required field",
    ),
    "unknown field": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "shell"\ncmd = "true"\ntimeout = 3\n',
        "wf.toml:6: tasks[0] (id=a).timeout: unknown field; did you mean 'timeout_s'? allowed: ",
    ),
    "unknown top-level field": (
        HEAD + 'max_concurency = 3\n[[tasks]]\nid = "a"\nkind = "noop"\n',
        "wf.toml:2: max_concurency: unknown field; did you mean 'max_concurrency'?",
    ),
    "wrong type": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "shell"\ncmd = "true"\nneeds = "b"\n',
        "wf.toml:6: tasks[0] (id=a).needs: Input should be a valid list (got 'b')",
    ),
    "string for a number": (
        HEAD + 'timeout_s = "30"\n[[tasks]]\nid = "a"\nkind = "noop"\n',
        "wf.toml:2: timeout_s: Input should be a valid number (got '30')",
    ),
    "retries out of range": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "noop"\nretries = 11\n',
        "wf.toml:5: tasks[0] (id=a).retries: Input should be less than or equal to 10 (got 11)",
    ),
    "gate default approve_with_edits": (
        HEAD + '[[tasks]]\nid = "ok"\nkind = "gate"\ndefault = "approve_with_edits"\n',
        "wf.toml:5: tasks[0] (id=ok).default: must be 'approve' or 'reject'",
    ),
    "missing cmd points at the task header": (
        HEAD + '\n\n[[tasks]]\nid = "a"\nkind = "shell"\n',
        "wf.toml:4: tasks[0] (id=a).cmd: missing required field",
    ),
    "field another policy type uses": (
        HEAD + '[[tasks]]\nid = "a"\nkind = "noop"\n'
        '[[policies]]\nid = "p"\ntype = "pii_detected"\nseverity = "low"\nthreshold = 3\n',
        "wf.toml:9: policies[0] (id=p).threshold: not used by a pii_detected policy (it uses: pii)",
    ),
    "bad cap kind": (
        HEAD + '[caps]\nshel = 2\n[[tasks]]\nid = "a"\nkind = "noop"\n',
        "wf.toml:3: caps.shel: Input should be 'shell'",
    ),
    "no tasks": (HEAD + "tasks = []\n", "wf.toml:2: tasks: List should have at least 1 item"),
    "missing name": ('[[tasks]]\nid = "a"\nkind = "noop"\n', "wf.toml: name: missing required"),
    "task is not a table": (HEAD + "tasks = [1]\n", "wf.toml:2: tasks[0]: must be a table"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_validation_errors_name_file_line_and_field(case: str) -> None:
    text, expected = CASES[case]
    with pytest.raises(WorkflowError) as info:
        parse_workflow(text, source="wf.toml")
    assert expected in str(info.value)


def test_error_attributes_and_every_problem_in_line_order() -> None:
    error = _error(
        """
        name = "t"
        [[tasks]]
        id = "a"
        kind = "noop"
        retries = -1
        [[tasks]]
        id = "b"
        kind = "sleep"
        bogus = true
        """
    )
    assert str(error).splitlines() == [
        "wf.toml:5: tasks[0] (id=a).retries: Input should be greater than or equal to 0 (got -1)",
        "wf.toml:6: tasks[1] (id=b).seconds: missing required field",
        "wf.toml:9: tasks[1] (id=b).bogus: unknown field; allowed: allow_failure, id, kind, "
        "name, needs, retries, seconds, timeout_s",
    ]
    assert (error.source, error.line, error.field) == ("wf.toml", 5, "tasks[0] (id=a).retries")


def test_line_scanner_ignores_look_alikes_inside_strings_and_arrays() -> None:
    error = _error(
        """
        name = "t"
        [[tasks]]
        id = "a"
        kind = "shell"
        cmd = '''
        [[tasks]]
        needs = ["x"]
        '''
        name = "[[tasks]]"
        [tasks.env]
        B = "1"
        [[tasks]]
        id = "b"
        kind = "noop"
        needs = [
          "a",  # [[tasks]]
          "ghost",
        ]
        """
    )
    assert "wf.toml:15: tasks[1] (id=b).needs: task 'b' needs 'ghost'" in str(error)


def test_env_subtable_key_line_and_crlf() -> None:
    text = 'name = "t"\r\n[[tasks]]\r\nid = "a"\r\nkind = "shell"\r\ncmd = "x"\r\n'
    text += '[tasks.env]\r\nOK = "1"\r\n"BAD NAME" = "2"\r\n'
    with pytest.raises(WorkflowError) as info:
        parse_workflow(text, source="wf.toml")
    assert "wf.toml:8: tasks[0] (id=a).env['BAD NAME']: invalid variable name" in str(info.value)


def test_inline_task_array_falls_back_to_the_tasks_line() -> None:
    error = _error(
        """
        name = "t"
        tasks = [
          { id = "a", kind = "noop", retries = 99 },
        ]
        """
    )
    assert "wf.toml:2: tasks[0] (id=a).retries:" in str(error)


def test_invalid_toml_reports_the_line() -> None:
    error = _error(
        """
        name = "t"

        [[tasks]]
        id = "a"
        kind "noop"
        """
    )
    assert str(error).startswith("wf.toml:5: invalid TOML: Expected '=' after a key")
    assert error.line == 5


# --- files -------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(WorkflowError, match=r"nope\.toml: workflow file not found"):
        load_workflow(path)


def test_directory_is_not_a_workflow(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="is a directory"):
        load_workflow(tmp_path)


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'name = "t"\n# caf\xe9\n')
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    assert str(info.value) == (
        f"{path}:2: not valid UTF-8 (byte 0xe9); workflow files must be UTF-8 text"
    )


def test_file_errors_use_the_path_and_a_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "wf.toml"
    path.write_bytes(b'\xef\xbb\xbfname = "t"\n[[tasks]]\nid = "a"\nkind = "noop"\nretries = 20\n')
    with pytest.raises(WorkflowError, match=rf"^{re.escape(str(path))}:5: tasks\[0\] \(id=a\)"):
        load_workflow(path)
    path.write_text('name = "t"\n[[tasks]]\nid = "a"\nkind = "noop"\n', encoding="utf-8-sig")
    assert load_workflow(path).task("a").kind is TaskKind.NOOP
