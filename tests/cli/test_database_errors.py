"""A database the user cannot use is one clear line naming the file and the cause, with exit 1
(2 for a file that is no database at all, 3 for one that does not exist), never "internal
error" or a traceback: for read commands (`runs ls`, `db info`) and for runtime commands
(`run`), which must also write.

Tests run as root, whom permission bits do not stop: the permission cases run runtui without
the capabilities that let root ignore them (`setpriv`), so the bits apply to it as to anyone.
The read-only file system is a small tmpfs remounted read-only (root only).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from runtui.store import open_store
from tests.factories import full_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RUN = ("run", str(EXAMPLES / "failing.toml"))
READS = (("runs", "ls"), ("db", "info"))


def plain_user() -> list[str]:
    """What to put before a command so that file permissions apply to it, even as root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root without setpriv: permission bits would not apply")
    drop = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}"]


def runtui(db: Path, *args: str, plain: bool = False) -> tuple[int, str]:
    """`runtui ARGS` on `db` (given as RUNTUI_DB: `--db` has click look at the file first);
    `plain`: without root's power to ignore permissions."""
    done = subprocess.run(
        [*(plain_user() if plain else []), sys.executable, "-m", "runtui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RUNTUI_DB": str(db)},
    )
    return done.returncode, done.stderr


def refused(db: Path, args: tuple[str, ...], code: int, *parts: str, plain: bool = False) -> None:
    """`runtui ARGS` exits `code` with one error line holding every part: no internal error,
    no traceback."""
    got, stderr = runtui(db, *args, plain=plain)
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("runtui: error: "), stderr
    for part in parts:
        assert part in lines[0]
    assert "internal error" not in stderr
    assert got == code


def seed(db: Path) -> Path:
    async def write() -> None:
        async with open_store(db) as store:
            await store.writer.append_many(full_run("run0"))

    anyio.run(write)
    return db


@pytest.fixture
def restore_modes() -> Iterator[list[Path]]:
    """Paths a test takes permissions from: given back (0700) so the temp dir can be removed."""
    changed: list[Path] = []
    yield changed
    for path in changed:
        path.chmod(0o700)


def test_a_file_that_is_no_database_is_exit_2_for_reads_and_runs(tmp_path: Path) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("shopping list\n" * 100)
    for args in (*READS, RUN):
        refused(db, args, 2, str(db), "not a runtui database: file is not a database")


def test_a_damaged_database_is_named_so(tmp_path: Path) -> None:
    whole = seed(tmp_path / "whole.db")
    db = tmp_path / "cut.db"
    db.write_bytes(whole.read_bytes()[:12000])  # its header, then nothing: pages missing
    for args in (*READS, RUN):
        refused(db, args, 1, f"the database {db} is damaged: database disk image is malformed")


def test_a_path_through_a_file_is_named_for_runtime_commands(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    db = tmp_path / "afile" / "runs.db"
    refused(db, RUN, 1, f"cannot open the database {db} for writing", "not a directory")
    refused(db, ("runs", "ls"), 3, f"no runtui database at {db}")


def test_an_unreadable_database(tmp_path: Path, restore_modes: list[Path]) -> None:
    db = seed(tmp_path / "runs.db")
    db.chmod(0o000)
    restore_modes.append(db)
    for args in READS:
        refused(db, args, 1, f"cannot read the database {db}: permission denied", plain=True)
    writing = f"cannot open the database {db} for writing: permission denied"
    refused(db, RUN, 1, writing, plain=True)


def test_a_read_only_database_file_is_read_but_not_run(
    tmp_path: Path, restore_modes: list[Path]
) -> None:
    db = seed(tmp_path / "runs.db")
    db.chmod(0o400)
    restore_modes.append(db)
    code, err = runtui(db, "runs", "ls", plain=True)
    assert code == 0, err
    writing = f"cannot open the database {db} for writing: permission denied"
    refused(db, RUN, 1, writing, plain=True)


@pytest.mark.parametrize(
    ("mode", "reading"),
    [
        (0o600, "permission denied on its directory {folder} (it cannot be searched)"),
        (0o500, "cannot create runs.db-shm in {folder}: permission denied"),
    ],
    ids=["no search (x)", "no write (w)"],
)
def test_a_directory_that_cannot_be_searched_or_written(
    tmp_path: Path, restore_modes: list[Path], mode: int, reading: str
) -> None:
    folder = tmp_path / "closed"
    folder.mkdir()
    db = seed(folder / "runs.db")
    (folder / "runs.db.lock").unlink()
    folder.chmod(mode)
    restore_modes.append(folder)
    cause = reading.format(folder=folder)
    refused(db, ("runs", "ls"), 1, f"cannot read the database {db}: {cause}", plain=True)
    writing = f"cannot open the database {db} for writing: {db}.lock: permission denied"
    refused(db, RUN, 1, writing, plain=True)


@pytest.fixture
def read_only_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs holding a database, remounted read-only (root only; skipped elsewhere)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        seed(mount / "runs.db")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_database_on_a_read_only_file_system(read_only_disk: Path) -> None:
    db = read_only_disk / "runs.db"
    reading = f"cannot read the database {db}: read-only file system"
    refused(db, ("runs", "ls"), 1, reading, "runs.db-shm")
    writing = f"cannot open the database {db} for writing: {db}.lock: read-only file system"
    refused(db, RUN, 1, writing)
