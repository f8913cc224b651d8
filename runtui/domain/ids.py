"""Identifiers that sort by creation time, so "newest first" is also "largest id first"."""

from __future__ import annotations

import secrets


def new_id(now: float) -> str:
    """12 hex digits of milliseconds since the epoch, then 8 random hex digits."""
    return f"{int(now * 1000):012x}{secrets.token_hex(4)}"
