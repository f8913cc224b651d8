"""Policy regexes on RE2: what it refuses (and says why), and PII detectors without lookaround."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from runtui.domain.policy_regex import PII_PATTERNS, RegexRefused, compile_linear

# The detectors as they were written for Python's `re`, with lookaround and a backreference.
# The RE2 forms must find a match exactly where these do (on ASCII text: RE2's \d is ASCII).
LOOKAROUND_FORMS = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "phone": r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]\d{3}[ .-]\d{4}(?!\d)",
    "ssn": r"(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)",
    "credit_card": r"(?<!\d)\d{4}([ -]?)\d{4}\1\d{4}\1\d{1,4}(?!\d)",
}

# Digits dominate, so the samples are mostly near-misses of phone, SSN and card numbers.
pii_like = st.text(alphabet=st.sampled_from("0123456789" * 4 + " -.()+@a_x\n"), max_size=30)


@pytest.mark.parametrize("detector", sorted(PII_PATTERNS))
@given(text=pii_like)
@example(text="x 555-123-4567 y")
@example(text="666-12-3456 000-12-3456 123-00-4567 123-45-0000 901-23-4567")
@example(text="4111 1111-1111 1111 4111-1111-1111-1111 4111111111111111")
def test_pii_detectors_match_where_their_lookaround_forms_do(detector: str, text: str) -> None:
    reference = re.compile(LOOKAROUND_FORMS[detector], re.ASCII)
    assert bool(compile_linear(PII_PATTERNS[detector]).search(text)) == bool(reference.search(text))


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(?<!x)secret", "invalid perl operator: (?<!"),
        (r"secret(?=s)", "invalid perl operator: (?="),
        (r"(a)\1", r"invalid escape sequence: \1"),
        (r"(?P<w>a)(?P=w)", "invalid perl operator: (?P"),
        (r"a++", "bad repetition operator: ++"),
        (r"(?>a)", "invalid perl operator: (?>"),
        (r"end\Z", r"invalid escape sequence: \Z"),
        (r"a{1001}", "invalid repetition size: {1001}"),
    ],
)
def test_what_python_takes_but_re2_refuses_says_why(pattern: str, reason: str) -> None:
    re.compile(pattern)  # Python's re takes every one of these
    with pytest.raises(RegexRefused) as info:
        compile_linear(pattern)
    assert str(info.value).startswith(reason)
    assert "policy regexes are RE2, matched in linear time" in str(info.value)


def test_a_pattern_nobody_takes_gets_re2s_reason_alone() -> None:
    with pytest.raises(RegexRefused) as info:
        compile_linear("secret[0-9")
    assert str(info.value) == "missing ]: [0-9"


def test_refusals_are_not_printed(capfd: pytest.CaptureFixture[str]) -> None:
    """RE2 logs a refused pattern to stderr unless told not to; the CLI's stderr is for errors."""
    with pytest.raises(RegexRefused):
        compile_linear("(?<=quiet)please")
    assert capfd.readouterr().err == ""
