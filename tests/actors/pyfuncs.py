"""Tiny functions the python operator tests call by reference ("tests.actors.pyfuncs:...")."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import anyio.lowlevel

RELEASE = threading.Event()
NOT_A_FUNCTION = 42


def sync_report(n: int, label: str = "item") -> dict[str, Any]:
    return {
        "output": [f"{label} {i}" for i in range(n)],
        "usage": {"tokens": 10 * n, "cost": 0.5, "ignored": "text"},
    }


async def async_text(name: str) -> str:
    await anyio.lowlevel.checkpoint()
    return f"hello {name}\nsecond line\n::usage tokens=7"


def raises(message: str) -> None:
    raise ValueError(message)


async def async_raises() -> None:
    await anyio.lowlevel.checkpoint()
    raise RuntimeError("async boom")


async def async_forever() -> None:
    await anyio.sleep_forever()


def block_until_released() -> str:
    """Blocks its worker thread until the test sets RELEASE (bounded, so nothing leaks)."""
    RELEASE.wait(30)
    return "released"


def returns_nothing() -> None:
    return None
