"""Tiny functions the python operator tests call by reference ("tests.actors.pyfuncs:...")."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import anyio
import anyio.lowlevel

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


def sleep_recording_pid(path: str) -> str:
    """Writes its process id to `path`, then sleeps far longer than any test waits."""
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(300)
    return "woke up"


def prints_and_returns() -> str:
    print("printed to stdout")
    print("printed to stderr", file=sys.stderr)
    return "returned"


def aborts() -> None:
    os.abort()


def returns_nothing() -> None:
    return None
