"""Workflows and helpers shared by the tests that drive one run in several ways (one process,
a hand-over, kill -9 or SIGTERM and a restart) and compare what it means in the end."""

from __future__ import annotations

from typing import Any

import anyio

from runtui.actors import messages as m
from runtui.actors.actor import Actor
from runtui.actors.runtime import Runtime
from runtui.domain.phases import RunPhase

#: 3,000 tokens before a gate, 9,000 after it, and one policy of every type evaluated during
#: a run; every one of them can only fire on the task after the gate, and only if what was
#: counted before the gate is still known there.
AFTER_GATE = """
name = "after-gate"
[[tasks]]
id = "before"
kind = "shell"
cmd = "echo ::usage tokens=3000"
[[tasks]]
id = "gate"
kind = "gate"
needs = ["before"]
[[tasks]]
id = "after"
kind = "shell"
needs = ["gate"]
cmd = "echo ::usage tokens=9000; echo reach me at ann@example.com; echo FORBIDDEN"
[[policies]]
id = "budget"
type = "token_limit"
severity = "critical"
threshold = 10000
[[policies]]
id = "email"
type = "pii_detected"
severity = "medium"
pii = ["email"]
[[policies]]
id = "words"
type = "content_policy"
severity = "medium"
pattern = "FORBIDDEN"
[[policies]]
id = "rule"
type = "custom_rule"
severity = "medium"
function = "tests.actors.pyrules:over_ten_thousand"
[[policies]]
id = "rate"
type = "rate_limit"
severity = "medium"
threshold = 1
window_s = 3600
"""

#: What AFTER_GATE must record, however it is driven: (policy, step) of every violation.
AFTER_GATE_VIOLATIONS = {("budget", 1), ("email", 1), ("words", 1), ("rule", 1), ("rate", 1)}

#: Runs that fail, each in its own way: (workflow, final status, termination reason).
FAILING: dict[str, tuple[str, str, str]] = {
    "exit-3": (
        'name = "exit3"\n[[tasks]]\nid = "t"\nkind = "shell"\ncmd = "exit 3"',
        "failed",
        "task_failed",
    ),
    "critical-content": (
        'name = "content"\n[[tasks]]\nid = "t"\nkind = "shell"\ncmd = "echo TOPSECRET"\n'
        '[[policies]]\nid = "c"\ntype = "content_policy"\nseverity = "critical"\n'
        'pattern = "TOPSECRET"',
        "failed_policy",
        "policy_block",
    ),
    "task-timeout": (
        'name = "slow"\n[[tasks]]\nid = "t"\nkind = "shell"\ncmd = "sleep 30"\ntimeout_s = 0.3',
        "failed",
        "task_failed",
    ),
    "rejected": (
        'name = "rejected"\n[[tasks]]\nid = "g"\nkind = "gate"\n'
        '[[tasks]]\nid = "t"\nkind = "noop"\nneeds = ["g"]',
        "failed",
        "approval_rejected",
    ),
}

#: Which facade to hold back so that the kernel waits in a phase: without the incident
#: facade's ack the governance check waits (up to its timeout); without the trace facade's
#: confirmation, finalizing does.
HOLD: dict[RunPhase, tuple[str, type]] = {
    RunPhase.GOVERNANCE_CHECK: ("incident", m.RunOutcome),
    RunPhase.FINALIZING: ("trace", m.CloseTrace),
}


def hold_back(rt: Runtime, phase: RunPhase) -> None:
    """Make `rt`'s facade drop the message that would let a run leave `phase`."""
    name, dropped = HOLD[phase]
    actor: Actor[Any] = getattr(rt, name)
    handle = actor.on_message  # type: ignore[attr-defined]

    async def on_message(message: Any, out: Any) -> None:
        if not isinstance(message, dropped):
            await handle(message, out)

    actor.on_message = on_message  # type: ignore[attr-defined]


async def reach_phase(rt: Runtime, run_id: str, phase: RunPhase, limit_s: float = 30) -> None:
    """Wait on committed events until `run_id` is in `phase`, rejecting its gates on the way."""
    sub = rt.subscribe(run_id=run_id)
    try:
        with anyio.fail_after(limit_s):
            while (await rt.reader.get_run(run_id)).phase is not phase:
                for a in await rt.reader.pending_approvals():
                    if a.run_id == run_id:
                        await rt.reject(a.approval_id, reason="not today", by="tester")
                await sub.receive()
    finally:
        sub.close()
