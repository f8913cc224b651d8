"""Names of trace spans that are derived from other events rather than recorded on their own.

An attempt's span is exactly its lifetime: it opens with `attempt.started` and closes with the
attempt's final `attempt.status`. Recording it again as span events would double the events
of every task (the hottest path of the runtime) for no new fact, so the store projects the
span from the attempt events instead, and everything that names it uses these helpers.
"""

from __future__ import annotations

#: The span of the EXECUTING phase, which the trace facade opens; attempts hang below it.
EXECUTING_SPAN = "phase:EXECUTING"


def attempt_span_id(task_id: str, attempt: int) -> str:
    return f"attempt:{task_id}:{attempt}"


def attempt_span_name(task_id: str, attempt: int) -> str:
    return f"attempt {task_id}#{attempt}"
