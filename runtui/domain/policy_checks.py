"""Pure policy evaluation: given a policy and what happened, is it violated, and why.

The governance facade keeps the per-run counters (usage, dispatch times, step index) and calls
these; keeping the rules pure makes each of the seven violation types testable on its own.
A reason never repeats the matched secret: for PII it names the detector, not the address.

Regexes run on RE2 (`policy_regex`), so a scan takes time linear in the output whatever the
pattern. A line is scanned in pieces of `SCAN_PIECE` characters, the size the shell operator
already cuts its lines to, so output from a Python task is scanned the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from typing import Any

from runtui.domain.violations import PolicyViolationType
from runtui.domain.workflow import PolicySpec

T = PolicyViolationType

SCAN_PIECE = 64 * 1024  # characters of a line one search sees; a match must fit in a piece


def budget_excess(policy: PolicySpec, tokens: float, cost: float) -> tuple[float, str] | None:
    """(actual, reason) when a token or cost budget is exceeded."""
    assert policy.threshold is not None
    if policy.type is T.TOKEN_LIMIT and tokens > policy.threshold:
        return tokens, f"{tokens:g} tokens used, budget {policy.threshold:g}"
    if policy.type is T.COST_LIMIT and cost > policy.threshold:
        return cost, f"cost {cost:.4g} USD, budget {policy.threshold:g} USD"
    return None


def rate_excess(
    policy: PolicySpec, dispatch_times: Sequence[float], now: float
) -> tuple[float, str] | None:
    """(actual, reason) when more than `threshold` dispatches fall within `window_s`."""
    assert policy.threshold is not None
    recent = sum(1 for t in dispatch_times if now - t <= policy.window_s)
    if recent > policy.threshold:
        return float(
            recent
        ), f"{recent} dispatches within {policy.window_s:g}s, limit {policy.threshold:g}"
    return None


SCANNED = frozenset({T.CONTENT_POLICY, T.PII_DETECTED})


class OutputScan:
    """The content and PII policies of a run, applied to one attempt's output line by line as
    it is produced: every line is scanned (not only those the attempt's capped output keeps),
    memory stays bounded (the first match of each policy), and a line's number is its place in
    its stream ("output line 7" on stdout, "stderr line 2"): the two streams are read side by
    side, so their lines have no order between them."""

    def __init__(self, policies: Iterable[PolicySpec]) -> None:
        self._pending = [(p, p.compiled()) for p in policies if p.type in SCANNED]
        self.lines: dict[str, int] = {}  # stream → lines seen
        self.found: dict[str, str] = {}  # policy id → reason, for each policy that matched

    def feed(self, line: str, stream: str = "stdout") -> None:
        number = self.lines[stream] = self.lines.get(stream, 0) + 1
        if not self._pending:
            return
        where = "output" if stream == "stdout" else stream
        still: list[tuple[PolicySpec, list[tuple[str, Any]]]] = []
        for policy, patterns in self._pending:
            reason = _match(policy, patterns, line, f"{where} line {number}")
            if reason is None:
                still.append((policy, patterns))
            else:
                self.found[policy.id] = reason
        self._pending = still


def _match(
    policy: PolicySpec, patterns: Sequence[tuple[str, Any]], line: str, where: str
) -> str | None:
    for label, regex in patterns:
        if any(regex.search(piece) for piece in _pieces(line)):
            if policy.type is T.PII_DETECTED:
                return f"{label} found in {where}"
            return f"{where} matches {label!r}"
    return None


def scan_output(policy: PolicySpec, lines: Iterable[str]) -> str | None:
    """A reason when a content or PII policy matches any output line."""
    scan = OutputScan([policy])
    for line in lines:
        scan.feed(line)
        if scan.found:
            break
    return scan.found.get(policy.id)


def _pieces(line: str) -> Iterable[str]:
    if len(line) <= SCAN_PIECE:
        return (line,)
    return (line[i : i + SCAN_PIECE] for i in range(0, len(line), SCAN_PIECE))


def forbidden_command(policy: PolicySpec, command: str) -> str | None:
    if policy.type is not T.SAFETY_VIOLATION:
        return None
    for label, regex in policy.compiled():
        if regex.search(command):
            return f"command matches forbidden pattern {label!r}: {command[:80]}"
    return None


def custom_rule(policy: PolicySpec, context: dict[str, Any]) -> str | None:
    """Call the policy's `module:function` with the context; a non-empty str is a violation.

    A rule that cannot be imported or raises is itself reported as a violation: a broken guard
    must not silently pass.
    """
    if policy.type is not T.CUSTOM_RULE or policy.function is None:
        return None
    module_name, _, attr = policy.function.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
        result = fn(context)
    except Exception as exc:
        return f"custom rule {policy.function} failed: {type(exc).__name__}: {exc}"
    return str(result) if result else None
