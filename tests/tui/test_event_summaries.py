"""Every event kind says something in the event log, on the command line and in the UI: a new
kind without a summary would show as a bare name."""

from __future__ import annotations

import pytest

from runtui.cli.render import summarize
from runtui.domain.events import EVENT_TYPES, AttemptOutput, EventEnvelope
from runtui.tui.widgets.event_lines import summary
from tests.domain.test_events import SAMPLES


@pytest.mark.parametrize(
    "kind", [t for t in EVENT_TYPES if t is not AttemptOutput], ids=lambda t: t.__name__
)
def test_every_kind_has_a_summary(kind: type) -> None:
    env = EventEnvelope(run_id="r1", seq=2, ts=0.0, body=SAMPLES[kind])  # type: ignore[arg-type]
    assert summarize(env).strip()
    assert summary(env).strip()


def test_a_claim_names_its_processes_terminal_safe() -> None:
    """Who drove a run comes from another process's command line and host name: shown, it
    cannot drive the terminal (escapes, controls, bidi overrides) nor break the line."""
    from runtui.domain.events import RunClaimed

    hostile = "pid 7 on \x1b]0;owned\x07box\u202e (runtui\nserve)"
    body = RunClaimed(owner="x", owner_label=hostile, epoch=2, how="expired", previous=hostile)
    env = EventEnvelope(run_id="r1", seq=9, ts=0.0, body=body)
    for text in (summarize(env), summary(env)):
        assert "taken over" in text
        assert not any(c in text for c in ("\x1b", "\x07", "\u202e", "\n"))
