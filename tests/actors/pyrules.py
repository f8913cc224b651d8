"""Python callables used by workflows in the runtime tests (custom rules, python tasks)."""

from __future__ import annotations

from typing import Any


def no_secrets(context: dict[str, Any]) -> str | None:
    for line in context["output"]:
        if "SECRET" in line:
            return f"task {context['task_id']} printed a secret marker"
    return None


def spend(tokens: int) -> dict[str, Any]:
    return {
        "output": [f"spent {tokens}"],
        "usage": {"tokens": float(tokens), "cost": tokens / 1000},
    }


def over_ten_thousand(context: dict[str, Any]) -> str | None:
    """A custom rule on the run's accumulated usage (so it needs what earlier steps spent)."""
    if context["tokens"] > 10_000:
        return f"{context['tokens']:g} tokens so far"
    return None
