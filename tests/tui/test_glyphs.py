"""How times read in lists: today's as a clock, another day's with its date."""

from __future__ import annotations

import time

from runtui.tui.glyphs import started_time


def test_started_shows_the_date_when_not_today() -> None:
    now = time.mktime((2026, 12, 6, 15, 0, 0, 0, 0, -1))
    assert started_time(now - 3600, now) == "14:00:00"
    assert started_time(now - 86400, now) == "12-05 15:00"
    assert started_time(time.mktime((2025, 12, 31, 23, 0, 0, 0, 0, -1)), now) == "2025-12-31"
