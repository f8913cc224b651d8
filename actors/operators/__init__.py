"""Task operators: how one attempt of each task kind runs (shell, python, external, noop, sleep).

`operator_for(kind).execute(ctx)` runs an attempt and returns its `AttemptOutcome`; external
jobs are then followed with `poll_external`. Gates have no operator: they are human approvals.
"""

from runtui.actors.operators.base import (
    AttemptContext,
    AttemptOutcome,
    NoOperatorError,
    Operator,
    OutputCollector,
    OutputSink,
    operator_for,
    parse_usage_line,
)
from runtui.actors.operators.external import ExternalOperator, PollState, poll_external
from runtui.actors.operators.python_call import PythonOperator
from runtui.actors.operators.shell import ShellOperator
from runtui.actors.operators.simple import NoopOperator, SleepOperator

__all__ = [
    "AttemptContext",
    "AttemptOutcome",
    "ExternalOperator",
    "NoOperatorError",
    "NoopOperator",
    "Operator",
    "OutputCollector",
    "OutputSink",
    "PollState",
    "PythonOperator",
    "ShellOperator",
    "SleepOperator",
    "operator_for",
    "parse_usage_line",
    "poll_external",
]
