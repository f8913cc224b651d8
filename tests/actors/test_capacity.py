"""A process takes over at most `max_live_runs` runs of others: the rest stay for other
processes (nodes share the orphans of a stopped one instead of one taking them all)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtui.actors.runtime import Runtime
from tests.actors.conftest import next_approval, settings_for, wf

pytestmark = pytest.mark.anyio

GATED = 'name = "gated"\n[[tasks]]\nid = "ask"\nkind = "gate"\nprompt = "go?"\n'


async def test_takes_over_no_more_than_its_capacity_and_leaves_the_rest(
    database: Path | str,
) -> None:
    async with Runtime.open(settings_for(database)) as first:
        runs = [await first.submit(wf(GATED)) for _ in range(3)]
        for run_id in runs:
            await next_approval(first, run_id)
    # `first` released all three at its exit: they are orphans now.
    async with Runtime.open(settings_for(database, max_live_runs=2)) as small:
        assert len(small.active_runs) == 2  # it took two and left one
        async with Runtime.open(settings_for(database)) as other:
            assert set(other.active_runs) == set(runs) - set(small.active_runs)
