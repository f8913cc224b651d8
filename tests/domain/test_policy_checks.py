"""Scanning output and commands with policy regexes: linear time, `re.search` semantics."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from runtui.domain.policy_checks import SCAN_PIECE, forbidden_command, scan_output
from runtui.domain.workflow import PolicySpec


def content(pattern: str) -> PolicySpec:
    return policy(type="content_policy", pattern=pattern)


def policy(**fields: Any) -> PolicySpec:
    return PolicySpec.model_validate({"id": "p", "severity": "low", **fields})


def test_a_catastrophic_pattern_is_scanned_in_linear_time() -> None:
    """`(a+)+$` over "a"*n + "b" takes a backtracking engine 2**n steps: n = 100 would not end
    in years, let alone within the per-test timeout. RE2 answers at once, and correctly."""
    evil = content("(a+)+$")
    assert scan_output(evil, ["a" * 50_000 + "b"]) is None
    assert scan_output(evil, ["a" * 50_000 + "b", "aaaa"]) == "output line 2 matches '(a+)+$'"
    nested = content("(x+x+)+y")
    assert scan_output(nested, ["x" * 50_000]) is None


def test_a_long_line_is_scanned_piece_by_piece() -> None:
    line = "." * (3 * SCAN_PIECE + 10) + "SECRET"
    assert scan_output(content("SECRET"), [line]) == "output line 1 matches 'SECRET'"
    assert scan_output(content("^SECRET"), ["x" + line]) is None
    straddling = "." * (SCAN_PIECE - 3) + "SECRET"
    assert scan_output(content("SECRET"), [straddling]) is None  # a match must fit in a piece


def test_pii_names_the_detector_and_never_the_secret() -> None:
    reason = scan_output(policy(type="pii_detected"), ["ok", "mail ann@example.com now"])
    assert reason == "email found in output line 2"


def test_forbidden_commands_use_the_same_engine() -> None:
    rule = policy(type="safety_violation", commands=[r"rm\s+-rf\s+/", "(a+)+$"])
    assert forbidden_command(rule, "echo " + "a" * 50_000 + "b") is None
    assert forbidden_command(rule, "rm  -rf /tmp/x") == (
        "command matches forbidden pattern 'rm\\\\s+-rf\\\\s+/': rm  -rf /tmp/x"
    )


literal = st.text(alphabet=st.sampled_from("ab.*+?()[]{}|^$\\- #&~"), min_size=1, max_size=4)
output = st.lists(st.text(alphabet=st.sampled_from("ab.*+?()[]{}|^$\\- #&~\t"), max_size=12))


@given(needle=literal, lines=output)
def test_literal_patterns_find_the_same_line_as_pythons_re(needle: str, lines: list[str]) -> None:
    pattern = re.escape(needle)
    first = next((n for n, line in enumerate(lines, 1) if re.search(pattern, line)), None)
    expected = None if first is None else f"output line {first} matches {pattern!r}"
    assert scan_output(content(pattern), lines) == expected


def test_an_output_scan_keeps_the_first_match_of_each_policy_only() -> None:
    from runtui.domain.policy_checks import OutputScan
    from runtui.domain.workflow import PolicySpec

    words = PolicySpec(id="w", type="content_policy", severity="low", pattern="secret")
    mail = PolicySpec(id="m", type="pii_detected", severity="low", pii=["email"])
    budget = PolicySpec(id="b", type="token_limit", severity="low", threshold=1)
    scan = OutputScan([words, mail, budget])  # a budget does not scan output
    for line in ["plain", "a secret", "another secret"]:
        scan.feed(line)
    scan.feed("ann@example.com", "stderr")
    assert scan.lines == {"stdout": 3, "stderr": 1}
    assert scan.found == {
        "w": "output line 2 matches 'secret'",
        "m": "email found in stderr line 1",
    }
