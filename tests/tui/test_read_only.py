"""`runtui --read-only` runs no runtime: it never resumes (so never executes) a live run, never
writes to the database, and sits beside the process that owns it, showing its runs live."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from runtui.actors.read_only import ReadOnlyError, ReadOnlyRuntime
from runtui.actors.runtime import Runtime
from runtui.embedded import EmbeddedRuntime
from runtui.store.files import lock_path_for
from runtui.tui.app import RuntuiApp
from runtui.tui.screens.runs import RunsScreen
from tests.actors.conftest import settings_for, wf
from tests.tui.conftest import until

pytestmark = pytest.mark.anyio

SLEEPER = 'name = "sleeper"\n[[tasks]]\nid = "s"\nkind = "shell"\ncmd = "sleep 30"'


def fingerprint(db: Path) -> dict[str, str | None]:
    """The bytes of the database, its write-ahead log and its owner lock (None: no such file;
    an empty log counts as none: SQLite's readers create one to share the WAL index)."""
    files = [db, db.with_name(db.name + "-wal"), lock_path_for(db)]
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest()
        if f.exists() and f.stat().st_size
        else None
        for f in files
    }


async def test_a_live_run_is_shown_not_resumed_and_nothing_is_written(db_path: Path) -> None:
    async with Runtime.open(settings_for(db_path)) as rt:  # a run left live, mid-attempt
        run_id = await rt.submit(wf(SLEEPER))
        sub = rt.subscribe(run_id=run_id)
        with anyio.fail_after(20):
            while not await rt.reader.attempts_of(run_id):
                await sub.receive()
        sub.close()
    before = fingerprint(db_path)
    async with ReadOnlyRuntime.open(db_path) as view:
        app = RuntuiApp(EmbeddedRuntime(view), read_only=True, demo_path=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, RunsScreen))
            screen = app.screen
            assert isinstance(screen, RunsScreen)
            await until(pilot, lambda: run_id in screen.rows)
            assert screen.rows[run_id].status.value == "running"
        with pytest.raises(ReadOnlyError):
            await view.resume(run_id)
        assert len(await view.reader.attempts_of(run_id)) == 1  # nothing re-ran it
    assert fingerprint(db_path) == before


async def test_beside_the_owner_it_shows_new_runs_live(db_path: Path) -> None:
    async with Runtime.open(settings_for(db_path)) as owner, ReadOnlyRuntime.open(db_path) as view:
        app = RuntuiApp(EmbeddedRuntime(view), read_only=True, demo_path=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, RunsScreen))
            screen = app.screen
            assert isinstance(screen, RunsScreen)
            run_id = await owner.submit(wf('name = "n"\n[[tasks]]\nid = "a"\nkind = "noop"'))
            await until(
                pilot,
                lambda: run_id in screen.rows and screen.rows[run_id].status.is_terminal,
            )
            assert screen.rows[run_id].status.value == "succeeded"


def test_read_only_on_a_missing_database_says_so_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    done = subprocess.run(
        [sys.executable, "-m", "runtui", "--db", str(missing), "tui", "--read-only"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"no runtui database at {missing}" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "xdg") == []


async def test_the_status_bar_says_there_is_no_runtime_here(db_path: Path) -> None:
    async with Runtime.open(settings_for(db_path)):
        pass  # an empty database
    async with ReadOnlyRuntime.open(db_path) as view:
        client = EmbeddedRuntime(view)
        assert client.description == "local: runs.db (no runtime here: it follows the database)"
