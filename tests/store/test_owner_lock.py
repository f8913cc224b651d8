"""One owner per database: a second one, in this process or another, is refused by name."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from runtui.domain.errors import DatabaseLockedError
from runtui.store import open_store

pytestmark = pytest.mark.anyio

_SECOND_OWNER = textwrap.dedent(
    """
    import sys, anyio
    from runtui.domain.errors import DatabaseLockedError
    from runtui.store import open_store

    async def main():
        try:
            async with open_store(sys.argv[1]):
                print("OPENED")
        except DatabaseLockedError as exc:
            print("LOCKED", exc)
            sys.exit(3)

    anyio.run(main)
    """
)


async def test_second_owner_in_same_process_is_refused(db_path: Path) -> None:
    async with open_store(db_path):
        with pytest.raises(DatabaseLockedError, match="owned by pid"):
            async with open_store(db_path):
                pass
    async with open_store(db_path):  # released on exit
        pass


async def test_second_owner_process_is_refused_and_told_who_holds_it(db_path: Path) -> None:
    second = [sys.executable, "-c", _SECOND_OWNER, str(db_path)]
    async with open_store(db_path):
        proc = await anyio.run_process(second, check=False)
    assert proc.returncode == 3, proc.stderr
    assert f"owned by pid {os.getpid()}" in proc.stdout.decode()
    again = await anyio.run_process(second, check=False)
    assert again.returncode == 0, again.stderr
    assert "OPENED" in again.stdout.decode()
