"""The CLI as a user runs it: a real subprocess, a real database file, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from runtui.store import open_store
from runtui.store.history import read_jsonl
from tests.factories import full_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def runtui(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def seeded_db(db_path: Path) -> Path:
    async def seed() -> None:
        async with open_store(db_path) as store:
            for i in range(5):
                await store.writer.append_many(
                    full_run(f"run{i}", t0=1_790_000_000.0 + i, fail=i == 3)
                )

    anyio.run(seed)
    return db_path


def test_runs_ls_and_show(seeded_db: Path) -> None:
    out = runtui("--db", str(seeded_db), "runs", "ls")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["run4", "run3", "run2", "run1", "run0"]
    page = runtui("--db", str(seeded_db), "runs", "ls", "--limit", "2", "--json")
    assert [json.loads(x)["run_id"] for x in page.stdout.splitlines()] == ["run4", "run3"]
    failed = runtui("--db", str(seeded_db), "runs", "ls", "--result", "failed", "--json")
    assert [json.loads(x)["status"] for x in failed.stdout.splitlines()] == ["failed"]
    show = runtui("--db", str(seeded_db), "runs", "show", "run3", "--events")
    assert show.returncode == 0
    assert "termination_reason  approval_rejected" in show.stdout
    assert "#1     " in show.stdout
    assert "run.created" in show.stdout


def test_bad_input_gives_clear_errors_and_exit_codes(seeded_db: Path) -> None:
    bad_status = runtui("--db", str(seeded_db), "runs", "ls", "--status", "bogus")
    assert bad_status.returncode == 2
    assert "status: unknown value 'bogus'" in bad_status.stderr
    missing = runtui("--db", str(seeded_db), "runs", "show", "nope")
    assert missing.returncode == 3
    assert "run nope not found" in missing.stderr
    bad_env = runtui(
        "--db", str(seeded_db), "db", "info", env={"ROK_GOVERNANCE_TIMEOUT_MS": "soon"}
    )
    assert bad_env.returncode == 2
    assert "environment variable ROK_GOVERNANCE_TIMEOUT_MS" in bad_env.stderr
    assert "Traceback" not in bad_env.stderr


def test_bad_config_file_names_file_and_line(seeded_db: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('# runtui\nmax_concurrency = 50\ndurability = "sometimes"\n')
    out = runtui("--db", str(seeded_db), "--config", str(cfg), "db", "info")
    assert out.returncode == 2
    assert f"{cfg}:3: durability: Input should be 'full' or 'fast'" in out.stderr


def test_history_export_and_replay(seeded_db: Path, tmp_path: Path) -> None:
    dest = tmp_path / "history.jsonl"
    out = runtui("--db", str(seeded_db), "history", "export", "--jsonl", "-o", str(dest))
    assert out.returncode == 0, out.stderr
    summaries = read_jsonl(dest)
    assert [s.run_id for s in summaries] == ["run4", "run3", "run2", "run1", "run0"]
    assert summaries[1].result.value == "failed"
    stdout = runtui("--db", str(seeded_db), "history", "export", "--result", "failed")
    assert [json.loads(x)["run_id"] for x in stdout.stdout.splitlines()] == ["run3"]
    replay = runtui("--db", str(seeded_db), "replay", "run2")
    assert replay.returncode == 0
    assert "projections match" in replay.stdout


def test_reading_while_another_process_owns_the_db(seeded_db: Path) -> None:
    async def while_owned() -> subprocess.CompletedProcess[str]:
        async with open_store(seeded_db):
            return await anyio.to_thread.run_sync(
                lambda: runtui("--db", str(seeded_db), "runs", "ls")
            )

    out = anyio.run(while_owned)
    assert out.returncode == 0, out.stderr
    assert "run4" in out.stdout


def test_fresh_machine_db_info(tmp_path: Path) -> None:
    db = tmp_path / "new" / "runs.db"
    out = runtui("--db", str(db), "db", "info")
    assert out.returncode == 3, out.stderr
    assert f"no runtui database at {db}" in out.stderr
    assert not db.parent.exists()  # a read never creates the database (nor its directory)
    assert runtui("--db", str(db), "runs", "ls").returncode == 3  # a typo in --db: said so

    created = runtui("--db", str(db), "run", str(EXAMPLES / "failing.toml"))
    assert created.returncode == 5, created.stderr  # the first runtime command creates it
    assert db.stat().st_mode & 0o777 == 0o600
    assert "1 in all" in runtui("--db", str(db), "db", "info").stdout


@pytest.fixture
def recent_db(db_path: Path) -> tuple[Path, float]:
    """Three runs created 3 days, 3 hours and 10 minutes before now."""
    now = time.time()

    async def seed() -> None:
        async with open_store(db_path) as store:
            for run_id, ago in (("days", 3 * 86400), ("hours", 3 * 3600), ("minutes", 600)):
                await store.writer.append_many(full_run(run_id, t0=now - ago))

    anyio.run(seed)
    return db_path, now


def test_since_takes_durations_iso_times_and_unix_seconds(recent_db: tuple[Path, float]) -> None:
    db, now = recent_db

    def since(value: str) -> list[str]:
        out = runtui("--db", str(db), "runs", "ls", "--since", value, "--json")
        assert out.returncode == 0, out.stderr
        return [json.loads(line)["run_id"] for line in out.stdout.splitlines()]

    assert since("1h") == ["minutes"]
    assert since("4h") == ["minutes", "hours"]
    assert since("1w") == ["minutes", "hours", "days"]
    assert since("90s") == []
    assert since(str(int(now - 4 * 3600))) == ["minutes", "hours"]  # UNIX seconds, as before
    two_days_ago = datetime.fromtimestamp(now - 2 * 86400, tz=UTC)
    assert since(two_days_ago.isoformat(timespec="minutes")) == ["minutes", "hours"]
    local = datetime.fromtimestamp(now - 2 * 86400).strftime("%Y-%m-%dT%H:%M")  # naive: local
    assert since(local) == ["minutes", "hours"]

    bad = runtui("--db", str(db), "runs", "ls", "--since", "yesterday")
    assert bad.returncode == 2
    assert "Invalid value for '--since': 'yesterday' is not a time" in bad.stderr
    assert "UNIX seconds" in bad.stderr
    assert "1h" in bad.stderr
    assert "2026-12-06T08:00" in bad.stderr
    assert "Traceback" not in bad.stderr
