"""Ownership per run: several writers on one database, each driving the runs it holds a lease
on; a claim takes a run only from nobody (or from an owner whose lease expired); fencing keeps a
writer that lost a run from ever writing to it again."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from runtui.domain.errors import ConflictError, NotFoundError, RunFencedError, RunOwnedError
from runtui.domain.events import (
    AttemptOutput,
    PendingEvent,
    RunClaimed,
    RunCreated,
    RunStatusChanged,
)
from runtui.domain.status import RunStatus
from runtui.store import open_store
from runtui.store.leases import Owner
from tests.databases import sql

pytestmark = pytest.mark.anyio


def out(line: str) -> AttemptOutput:
    return AttemptOutput(task_id="t", attempt=0, lines=[line])


def owner(name: str) -> Owner:
    return Owner(owner_id=name, label=f"{name} (test)", pid=0, host="here")


async def test_two_writers_drive_their_own_runs_on_one_file_in_commit_order(
    database: Path | str,
) -> None:
    async with (
        open_store(database, owner=owner("ann")) as a,
        open_store(database, owner=owner("bob")) as b,
    ):

        async def drive(store, run_id: str) -> None:  # type: ignore[no-untyped-def]
            await store.writer.append(run_id, RunCreated(workflow="w"))
            for i in range(50):
                await store.writer.append(run_id, out(str(i)))

        async with anyio.create_task_group() as tg:
            tg.start_soon(drive, a, "ra")
            tg.start_soon(drive, b, "rb")
    rows = sql(database, "SELECT position, run_id, seq FROM events ORDER BY position")
    assert [r[0] for r in rows] == list(range(1, 103))  # dense: one order for both writers
    for run_id in ("ra", "rb"):
        assert [r[2] for r in rows if r[1] == run_id] == list(range(1, 52))


async def test_a_live_lease_is_not_taken_and_the_refusal_names_its_holder(
    database: Path | str,
) -> None:
    async with open_store(database, owner=owner("ann")) as a:
        await a.writer.append("r1", RunCreated(workflow="w"))
        async with open_store(database, owner=owner("bob")) as b:
            with pytest.raises(RunOwnedError, match=r"driven by ann \(test\)"):
                await b.writer.claim("r1")
            with pytest.raises(RunFencedError):  # and it may not write the run either
                await b.writer.append("r1", out("not mine"))
            with pytest.raises(NotFoundError):
                await b.writer.claim("nope")
        assert (await a.reader.get_run("r1")).last_seq == 1


async def test_an_expired_lease_is_taken_over_and_the_old_owner_is_fenced(
    database: Path | str,
) -> None:
    lost: list[frozenset[str]] = []
    async with open_store(database, owner=owner("ann"), lease_ttl=0.2) as a:
        a.writer.on_lost(lost.append)
        await a.writer.append("r1", RunCreated(workflow="w"))
        await a.writer.append("r2", RunCreated(workflow="w"))
        async with open_store(database, owner=owner("bob")) as b:
            deadline = time.monotonic() + 5  # ann stopped renewing: 0.2 s and it is fair game
            while True:
                try:
                    claimed = await b.writer.claim("r1")
                    break
                except RunOwnedError:
                    assert time.monotonic() < deadline
                    await anyio.sleep(0.02)
            assert (claimed.epoch, claimed.how, claimed.previous) == (2, "expired", "ann (test)")
            # ann's next request mixes a run it lost with one it still holds: the lost run's
            # events are dropped (and ann hears of it), the other's commit.
            queued = await a.writer.enqueue(
                [
                    PendingEvent("r1", out("stale"), 1.0, None),
                    PendingEvent("r2", out("ok"), 1.0, None),
                ]  # type: ignore[arg-type]
            )
            (env,) = await queued.wait()
            assert env.run_id == "r2"
            assert queued.fenced == {"r1"}
            with pytest.raises(RunFencedError, match="r1"):
                await a.writer.append("r1", out("stale again"))
            assert lost == [frozenset({"r1"})]
            await b.writer.append("r1", out("bob drives it"))
            events = await b.reader.events_after("r1", 0)
    assert [type(e.body).__name__ for e in events] == ["RunCreated", "RunClaimed", "AttemptOutput"]
    body = events[1].body
    assert isinstance(body, RunClaimed)
    assert (body.owner, body.epoch) == ("bob", 2)
    assert events[2].body == out("bob drives it")  # nothing of ann's after the take-over


async def test_renewal_reports_a_run_that_was_taken(database: Path | str) -> None:
    async with open_store(database, owner=owner("ann"), lease_ttl=0.2) as a:
        await a.writer.append("r1", RunCreated(workflow="w"))
        async with open_store(database, owner=owner("bob")) as b:
            with anyio.fail_after(5):
                while True:
                    try:
                        await b.writer.claim("r1")
                        break
                    except RunOwnedError:
                        await anyio.sleep(0.02)
            assert await a.writer.renew() == frozenset({"r1"})
            assert not a.writer.holds("r1")


async def test_a_clean_exit_hands_runs_over_at_once_and_an_ended_run_is_never_claimed(
    database: Path | str,
) -> None:
    async with open_store(database, owner=owner("ann")) as a:
        await a.writer.append("live", RunCreated(workflow="w"))
        await a.writer.append("done", RunCreated(workflow="w"))
        await a.writer.append("done", RunStatusChanged(status=RunStatus.SUCCEEDED))
    async with open_store(database, owner=owner("bob")) as b:
        claimed = await b.writer.claim("live")  # no waiting: ann released it
        assert (claimed.how, claimed.previous, claimed.epoch) == ("released", None, 2)
        with pytest.raises(ConflictError, match="already ended"):
            await b.writer.claim("done")


async def test_a_run_from_before_leases_is_claimed_as_unowned(database: Path | str) -> None:
    async with open_store(database, owner=owner("ann")) as a:
        await a.writer.append("old", RunCreated(workflow="w"))
    sql(database, "DELETE FROM run_leases")  # as a database migrated from schema 5 has it
    async with open_store(database, owner=owner("bob")) as b:
        claimed = await b.writer.claim("old")
        assert (claimed.how, claimed.epoch) == ("unowned", 1)
        assert (await b.writer.append("old", out("on"))).seq == 3


async def test_owners_are_registered_while_open_and_gone_after(database: Path | str) -> None:
    async with open_store(database, owner=owner("ann")) as a:
        await a.writer.announce("http://127.0.0.1:9")
        assert sql(database, "SELECT owner_id, label, url FROM owners") == [
            ("ann", "ann (test)", "http://127.0.0.1:9")
        ]
    assert sql(database, "SELECT COUNT(*) FROM owners") == [(0,)]


def test_verify_finds_a_gap_and_a_write_by_a_fenced_owner() -> None:
    from runtui.store.replay import sequence_faults

    assert sequence_faults([(1, 1), (2, 1), (3, 2), (4, 2)]) == []
    assert sequence_faults([(1, None), (2, None), (3, 1)]) == []  # from before leases
    assert sequence_faults([(1, 1), (3, 1)]) == ["seq: #3 where #2 was due (a gap)"]
    (fault,) = sequence_faults([(1, 1), (2, 2), (3, 1)])
    assert fault.startswith("epoch: #3 was written under lease epoch 1 after epoch 2")


async def test_events_carry_the_epoch_they_were_written_under(database: Path | str) -> None:
    async with open_store(database, owner=owner("ann")) as a:
        await a.writer.append("r1", RunCreated(workflow="w"))
        await a.writer.append("r1", out("one"))
    async with open_store(database, owner=owner("bob")) as b:
        await b.writer.claim("r1")
        await b.writer.append("r1", out("two"))
        report = await b.replay("r1")
    epochs = sql(database, "SELECT seq, epoch FROM events ORDER BY seq")
    assert epochs == [(1, 1), (2, 1), (3, 2), (4, 2)]
    assert report.matches, report.differences


async def test_writers_opening_a_new_database_at_once_all_start(database: Path | str) -> None:
    """Nodes started together on an empty database: one migrates, the others wait for it."""
    opened: list[str] = []
    release = anyio.Event()

    async def node(name: str) -> None:
        async with open_store(database, owner=owner(name)) as store:
            await store.writer.append(f"run-{name}", RunCreated(workflow="w"))
            opened.append(name)
            if len(opened) == 3:  # all three are open at once: let them go
                release.set()
            await release.wait()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for name in ("ann", "bob", "cy"):
                tg.start_soon(node, name)
    assert sorted(opened) == ["ann", "bob", "cy"]
    assert sql(database, "SELECT COUNT(*) FROM runs") == [(3,)]


async def test_a_reader_tailing_concurrent_writers_misses_nothing(database: Path | str) -> None:
    """Three writers (as three processes would) append at once while a reader follows "after
    my last position": it sees every event exactly once, positions 1..N with no gap, because
    positions are taken inside the write lock and so follow commit order."""
    import random

    from runtui.store import open_reader

    seen: list[int] = []
    done = anyio.Event()

    async def write(name: str) -> None:
        rng = random.Random(name)
        async with open_store(database, owner=owner(name)) as store:
            await store.writer.append(f"run-{name}", RunCreated(workflow="w"))
            for batch in range(25):
                items = [
                    PendingEvent(f"run-{name}", out(f"{batch}.{i}"), 1.0, None)  # type: ignore[arg-type]
                    for i in range(rng.randint(1, 8))
                ]
                await store.writer.append_many(items)

    async def follow() -> None:
        last = 0
        async with open_reader(database) as reader:
            while True:
                finished = done.is_set()  # read before the page: one last page after the end
                page = await reader.events_since(last, limit=500)
                for event in page:
                    assert event.position == last + 1, f"skipped {last + 1}"
                    last = event.position
                    seen.append(last)
                if finished and not page:
                    return
                if not page:
                    await anyio.sleep(0.005)  # tailing other connections' commits

    async with open_store(database, owner=owner("setup")):
        pass  # the schema exists before the reader opens it
    async with anyio.create_task_group() as tg:
        tg.start_soon(follow)
        async with anyio.create_task_group() as writing:
            for name in ("ann", "bob", "cy"):
                writing.start_soon(write, name)
        done.set()
    assert seen == list(range(1, len(seen) + 1))
    assert sql(database, "SELECT COUNT(*) FROM events") == [(len(seen),)]
