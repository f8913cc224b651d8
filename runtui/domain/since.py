"""What a user may write for "since when": UNIX seconds, a duration before now, or an ISO time.

`runs ls --since` takes all three, so nobody has to work out UNIX seconds by hand:

- `1790000000` (or `1790000000.5`): UNIX seconds, as before. A bare number is always read so,
  even `20261206`: ISO dates are written with their dashes.
- `90s`, `15m`, `1h`, `2d`, `1w`, or a sum such as `1h30m`: that long before `now`.
- `2026-12-06`, `2026-12-06T08:00`, `2026-12-06 08:00:30`, `2026-12-06T08:00+02:00`,
  `2026-12-06T08:00Z`: ISO 8601; a time without an offset is local time, a date alone its
  local midnight.
"""

from __future__ import annotations

import re
from datetime import datetime

FORMS = (
    "UNIX seconds (1790000000), a duration before now (90s, 15m, 1h, 2d, 1w, 1h30m)"
    " or an ISO 8601 date or time (2026-12-06, 2026-12-06T08:00, 2026-12-06T08:00+02:00;"
    " local time without an offset)"
)

_UNIX = re.compile(r"\d+(\.\d+)?")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, *, now: float) -> float:
    """The UNIX time `text` names (see the module's docstring); ValueError naming the forms
    it accepts otherwise."""
    spec = text.strip().lower()
    if _UNIX.fullmatch(spec):
        return float(spec)
    if _DURATION.fullmatch(spec):
        return now - sum(float(n) * _UNIT_S[unit] for n, unit in _PART.findall(spec))
    try:
        moment = datetime.fromisoformat(text.strip())
        return moment.timestamp()  # naive: local time
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"{text!r} is not a time; give {FORMS}") from None
