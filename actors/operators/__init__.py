"""Task operators: how one attempt of each task kind runs (shell, python, external, noop, sleep).

`operator_for(kind).execute(ctx)` runs an attempt and returns its `AttemptOutcome`; external
jobs are then followed with `poll_external`. Gates have no operator: they are human approvals.
"""

from actors.operators.base import (
    AttemptContext,
    AttemptOutcome,
    NoOperatorError,
    Operator,
    OutputCollector,
    OutputSink,
    operator_for,
    parse_usage_line,
)
from actors.operators.external import ExternalOperator, PollState, poll_external
from actors.operators.python_call import PythonOperator
from actors.operators.shell import ShellOperator
from actors.operators.simple import NoopOperator, SleepOperator

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
