"""`parse_since`: UNIX seconds, durations before now, ISO 8601 dates and times (local when
naive), and a refusal that names every accepted form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from runtui.domain.since import FORMS, parse_since

NOW = 1_796_000_000.0


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time one hour east of UTC in winter, so local and UTC readings differ."""
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1790000000", 1_790_000_000.0),
        ("1790000000.25", 1_790_000_000.25),
        (" 0 ", 0.0),
        ("20261206", 20_261_206.0),  # a bare number is UNIX seconds, never a date
    ],
)
def test_unix_seconds_as_before(text: str, expected: float) -> None:
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("90s", 90),
        ("15m", 15 * 60),
        ("1h", 3600),
        ("2d", 2 * 86400),
        ("1w", 7 * 86400),
        ("1.5h", 5400),
        ("1h30m", 5400),
        ("2D", 2 * 86400),
        ("0s", 0),
    ],
)
def test_durations_count_back_from_now(text: str, ago: float) -> None:
    assert parse_since(text, now=NOW) == NOW - ago


def test_iso_dates_and_times_naive_ones_in_local_time(berlin: None) -> None:
    local = timezone(timedelta(hours=1))  # Berlin in December
    assert parse_since("2026-12-06", now=NOW) == datetime(2026, 12, 6, tzinfo=local).timestamp()
    assert (
        parse_since("2026-12-06T08:00", now=NOW)
        == datetime(2026, 12, 6, 8, 0, tzinfo=local).timestamp()
    )
    assert (
        parse_since("2026-12-06 08:00:30", now=NOW)
        == datetime(2026, 12, 6, 8, 0, 30, tzinfo=local).timestamp()
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-06T08:00+02:00", datetime(2026, 12, 6, 6, 0, tzinfo=UTC)),
        ("2026-12-06T08:00:00-05:00", datetime(2026, 12, 6, 13, 0, tzinfo=UTC)),
        ("2026-12-06T08:00Z", datetime(2026, 12, 6, 8, 0, tzinfo=UTC)),
    ],
)
def test_iso_times_with_an_offset_mean_that_offset(
    berlin: None, text: str, expected: datetime
) -> None:
    assert parse_since(text, now=NOW) == expected.timestamp()


@pytest.mark.parametrize(
    "text", ["", "yesterday", "1x", "h", "-1h", "1h 30m", "nan", "inf", "2026-13-01", "12:00"]
)
def test_anything_else_is_refused_naming_the_forms(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time") as caught:
        parse_since(text, now=NOW)
    assert FORMS in str(caught.value)
    for form in ("UNIX seconds", "1h", "2d", "2026-12-06T08:00"):
        assert form in FORMS
