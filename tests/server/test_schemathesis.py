"""schemathesis against the live server's own /openapi.json (a real uvicorn, a real database).

Every built-in check is on (`checks.enabled`: not_a_server_error, status code, content type,
response schema and header conformance, positive/negative data, ignored auth, unsupported
methods, Allow headers, use after free, resource availability, missing required headers), for
every operation, in the examples, coverage and fuzzing phases, then statefully along the links
the document declares (a submitted run's id feeds the run operations). The example count is
bounded so this stays well under a minute on two cores.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.errors import FlakyStrategyDefinition

from tests.server.conftest import AUTH, TOKEN, LiveServer

MAX_EXAMPLES = 25
STATEFUL_SCENARIOS = 40
#: Acceptable answers to schema-valid data that a schema cannot fully describe.
ACCEPTED = ["2xx", "401", "403", "404", "409", "422"]

#: schemathesis's own list of answers that reject invalid data.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]

statuses: Counter[tuple[str, int]] = Counter()


def config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"bearer": {"bearer": TOKEN}}},
            # A ceiling for a hung request, not a speed check: on a loaded 2-core CI machine a
            # forced rewind (cancel, kill the task's processes, wait for the end) can pass 5 s.
            "request-timeout": 30,
            "max-stream-events": 3,
            "generation": {"max-examples": MAX_EXAMPLES},
            "checks": {
                "enabled": True,
                # A body over the server's limit is refused before it is read: 413 (the
                # generator's longest strings, JSON-escaped, pass it).
                "negative_data_rejection": {"expected-statuses": [*REJECTED, "413"]},
            },
            "operations": [
                # Event streams never end: read 3 events, or stop after 0.3 s of silence.
                {
                    "include-path-regex": "/stream$",
                    "request-timeout": 0.3,
                    "generation": {"max-examples": 5},
                },
                # What a schema cannot say: a cursor is opaque (one this server never issued
                # is refused), a workflow's TOML must be valid, a rewind's wave must exist,
                # an Idempotency-Key the generator reuses with another body is refused, and a
                # search takes `after_seq` or `before_seq`, not both, and kinds that exist.
                *(
                    {
                        "include-operation-id": op,
                        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
                    }
                    for op in (
                        "listRuns",
                        "submitRun",
                        "rewindRun",
                        "approveRun",
                        "rejectRun",
                        "resumeRun",
                        "cancelRun",
                        "searchRunEvents",
                    )
                ),
            ],
        }
    )


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """Framing headers are the HTTP client's to set: a generated `Transfer-Encoding: S*?I`
    makes the HTTP parser refuse the request (400) before any route sees it."""
    for name in list(case.headers or {}):
        if name.lower() in ("transfer-encoding", "content-length"):
            del case.headers[name]


@pytest.fixture(scope="module")
def api_schema(live_server: LiveServer) -> Any:
    return schemathesis.openapi.from_url(
        f"{live_server.url}/openapi.json", headers=AUTH, config=config()
    )


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(case: schemathesis.Case[Any]) -> None:
    response = case.call_and_validate()
    statuses[(case.operation.label, response.status_code)] += 1


def test_stateful_sequences_along_the_links(api_schema: Any, live_server: LiveServer) -> None:
    base = api_schema.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            """Every scenario starts with the example workflow's health cleared. Rejected
            example runs would otherwise block it (3 failures in a row) for every later
            scenario, so the same steps would get other answers (a 409, no run to link to),
            which Hypothesis rightly calls inconsistent data generation."""
            super().setup()
            live_server.portal.call(live_server.runtime.clear_health, "api-example")

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            statuses[(case.operation.label, response.status_code)] += 1

    before = sum(statuses.values())
    # The server is live and its state moves on between scenarios (runs accumulate, finish at
    # their own pace), so Hypothesis replaying a prefix of steps can get other answers and
    # stop with FlakyStrategyDefinition: its own bookkeeping, not a finding about the server.
    # That alone earns a fresh exploration (at most 3); any failed check still fails at once.
    for attempt in range(3):
        try:
            Machine.run(
                settings=settings(
                    max_examples=STATEFUL_SCENARIOS,
                    stateful_step_count=8,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                )
            )
            break
        except FlakyStrategyDefinition:
            if attempt == 2:
                raise
    assert sum(statuses.values()) > before


def test_the_runs_got_real_answers_not_only_refusals(live_server: LiveServer) -> None:
    """Guard against a run that 'passes' because every request was refused (e.g. no auth),
    or because a failure happened where no status code shows it (inside a stream)."""
    assert not [k for k in statuses if k[1] >= 500], statuses
    assert live_server.errors == []
    ok = {label for (label, status) in statuses if 200 <= status < 300}
    assert "POST /api/runs" in ok, sorted(statuses.items())
    assert "GET /api/runs" in ok, sorted(statuses.items())
    assert any("{run_id}" in label for label in ok), sorted(statuses.items())
    assert len(ok) >= 10, sorted(statuses.items())
