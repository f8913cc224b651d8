"""Replay rebuilds exactly the stored projections; JSONL history round-trips."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from runtui.domain.summary import RunSummary
from runtui.store import open_store
from runtui.store.history import HistoryFormatError, export_jsonl_file, read_jsonl
from tests.factories import full_run

pytestmark = pytest.mark.anyio


async def test_replay_equals_projections_across_many_interleaved_runs(database: Path | str) -> None:
    runs = [f"r{i}" for i in range(12)]
    async with open_store(database) as store:
        scripts = {r: full_run(r, t0=1000.0 + i, fail=i % 3 == 0) for i, r in enumerate(runs)}

        async def play(run: str) -> None:
            # one event per append, so runs interleave within group commits
            for ev in scripts[run]:
                await store.writer.append_many([ev])

        async with anyio.create_task_group() as tg:
            for r in runs:
                tg.start_soon(play, r)
        for r in runs:
            report = await store.replay(r)
            assert report.matches, report.differences
            assert report.events == len(scripts[r])


async def test_replay_detects_a_tampered_projection(db_path: Path) -> None:
    async with open_store(db_path) as store:
        await store.writer.append_many(full_run("r1"))
        conn = sqlite3.connect(db_path)
        conn.execute("UPDATE tasks SET status='failed' WHERE run_id='r1' AND task_id='fetch'")
        conn.commit()
        conn.close()
        report = await store.replay("r1")
    assert not report.matches
    assert report.differences[0].startswith("tasks:")


async def test_jsonl_export_round_trips(database: Path | str, tmp_path: Path) -> None:
    async with open_store(database) as store:
        for i in range(6):
            await store.writer.append_many(full_run(f"r{i}", t0=1000.0 + i * 50, fail=i % 2 == 1))
        summaries = await store.reader.run_summaries(limit=None)
    dest = tmp_path / "out" / "history.jsonl"
    assert export_jsonl_file(summaries, dest) == 6
    lines = dest.read_text().splitlines()
    assert len(lines) == 6
    assert all(line.startswith('{"run_id":') for line in lines)
    assert read_jsonl(dest) == summaries
    assert not [p for p in dest.parent.iterdir() if p.name.endswith(".tmp")]


def test_jsonl_bad_line_names_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "h.jsonl"
    good = (
        '{"run_id":"a","started_at":"2026-01-01T00:00:00Z","ended_at":"2026-01-01T00:01:00Z",'
        '"result":"success"}'
    )
    f.write_text(good + "\n" + good.replace('"success"', '"great"') + "\n")
    with pytest.raises(HistoryFormatError, match=r"h\.jsonl:2: result: Input should be"):
        read_jsonl(f)
    f.write_text(good + "\n{not json\n")
    with pytest.raises(HistoryFormatError, match=r"h\.jsonl:2: not JSON"):
        read_jsonl(f)


def test_failed_export_leaves_previous_file_untouched(tmp_path: Path) -> None:
    dest = tmp_path / "history.jsonl"
    dest.write_text("previous\n")
    one = full_run("r")[-1].body.to_summary("r")  # type: ignore[union-attr]

    def summaries_then_failure() -> Iterator[RunSummary]:
        yield one
        raise RuntimeError("store went away mid-export")

    with pytest.raises(RuntimeError, match="mid-export"):
        export_jsonl_file(summaries_then_failure(), dest)
    assert dest.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["history.jsonl"]
