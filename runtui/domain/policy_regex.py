"""Policy regexes on RE2: a search takes time linear in the text, whatever the pattern.

Why not Python's `re`: content and PII policies are evaluated on the runtime's event loop, over
output nobody controls. A backtracking engine needs exponential time for `(a+)+$` over
"aaaa…b", and while it runs every run and every request waits. RE2 never backtracks; in
exchange it refuses what needs backtracking (lookaround, backreferences, possessive and atomic
groups), so a pattern is compiled when its workflow is validated and refused there.

What a pattern author meets, besides those: `\\d`, `\\w`, `\\s` and `\\b` are ASCII-only; `\\Z`
is spelled `\\z`; `{,n}` is literal text (write `{0,n}`); no `(?x)` verbose mode; a repeat
count is at most 1000.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, TypeAlias

import re2

# RE2 prints every refused pattern to stderr; the validation error says it instead.
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False

LinearRegex: TypeAlias = "re2._Regexp[str]"

PiiDetector = Literal["email", "phone", "ssn", "credit_card"]
PII_DETECTORS: tuple[PiiDetector, ...] = ("email", "phone", "ssn", "credit_card")

# Deliberately conservative: a false positive in every run trains people to ignore warnings.
# Phones need separators (a bare 10-digit number is more often a timestamp); card numbers are
# 4-digit groups with one consistent separator (a runtime may add a Luhn check on top).
# Without lookaround, "not preceded by a digit" is `(?:^|\D)` and "not followed by one" is
# `(?:\D|$)`: for "is there a match" the two forms agree. The SSN's excluded numbers (area
# 000, 666, 9xx; group 00; serial 0000) are spelled out as the ranges that remain.
PII_PATTERNS: Mapping[str, str] = MappingProxyType(
    {
        "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
        "phone": r"(?:^|[^\w+])"
        r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]\d{3}[ .-]\d{4}"
        r"(?:\D|$)",
        "ssn": r"(?:^|\D)"
        r"(?:00[1-9]|0[1-9]\d|[1-5]\d\d|6[0-5]\d|66[0-57-9]|6[7-9]\d|[78]\d\d)"
        r"-(?:0[1-9]|[1-9]\d)"
        r"-(?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})"
        r"(?:\D|$)",
        "credit_card": r"(?:^|\D)"
        r"(?:\d{4}(?: \d{4}){2} \d{1,4}|\d{4}(?:-\d{4}){2}-\d{1,4}|\d{13,16})"
        r"(?:\D|$)",
    }
)


class RegexRefused(ValueError):
    """A pattern RE2 cannot compile; the message says why, in RE2's words."""


@functools.lru_cache(maxsize=1024)
def compile_linear(pattern: str) -> LinearRegex:
    """`pattern` compiled by RE2 (cached: every attempt's scan asks again)."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else "cannot compile"
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise RegexRefused(f"{detail}{_why_not_python(pattern)}") from None


def _why_not_python(pattern: str) -> str:
    """When Python's `re` would take the pattern, say why this one does not."""
    try:
        with warnings.catch_warnings():  # e.g. FutureWarning: "possible nested set"
            warnings.simplefilter("ignore")
            re.compile(pattern)
    except Exception:  # only a hint: whatever Python makes of it, the pattern is refused
        return ""
    return (
        " (policy regexes are RE2, matched in linear time: no lookaround, backreferences,"
        " possessive or atomic groups, repeat counts over 1000; see README 'Policy regexes')"
    )
