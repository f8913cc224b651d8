"""Hypothesis drives the phase machine and the store together against a pure model.

The model's idea of the phase table is written out here independently of the domain module, so
a wrong edge in `PHASE_TRANSITIONS` or a projection that drifts from its events both show up.
"""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from runtui.domain.enums import Durability
from runtui.domain.errors import PhaseTransitionError
from runtui.domain.events import PhaseChanged, RunCreated
from runtui.domain.phases import PhaseMachine, RunPhase
from runtui.store import Store, open_store

HAPPY = ["CREATED", "AUTHORIZED", "EXECUTING", "GOVERNANCE_CHECK", "FINALIZING", "COMPLETED"]


def model_allows(src: str, dst: str) -> bool:
    if src in ("COMPLETED", "FAILED"):
        return False
    if dst == "FAILED":
        return True
    return dst in HAPPY and HAPPY.index(dst) == HAPPY.index(src) + 1


class PhaseStoreMachine(RuleBasedStateMachine):
    runs = Bundle("runs")

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="runtui-hyp-"))
        self.portal_cm: AbstractContextManager[Any] = anyio.from_thread.start_blocking_portal(
            "asyncio"
        )
        self.portal = self.portal_cm.__enter__()
        self.store_cm = self.portal.wrap_async_context_manager(
            open_store(self.tmp / "runs.db", durability=Durability.FAST)
        )
        self.store: Store = self.store_cm.__enter__()
        self.machines: dict[str, PhaseMachine] = {}
        self.model: dict[str, list[str]] = {}  # run -> phases visited, in order
        self.counter = 0

    def teardown(self) -> None:
        try:
            for run_id in self.model:
                report = self.portal.call(self.store.replay, run_id)
                assert report.matches, report.differences
        finally:
            self.store_cm.__exit__(None, None, None)
            self.portal_cm.__exit__(None, None, None)
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.tmp / 'runs.db'}?mode=ro", uri=True)

    @rule(target=runs)
    def create_run(self) -> str:
        self.counter += 1
        run_id = f"run{self.counter}"
        self.portal.call(self.store.writer.append, run_id, RunCreated(workflow="hyp"))
        self.machines[run_id] = PhaseMachine(run_id)
        self.model[run_id] = ["CREATED"]
        return run_id

    @rule(run_id=runs, target_phase=st.sampled_from(list(RunPhase)), reason=st.text(max_size=8))
    def transition(self, run_id: str, target_phase: RunPhase, reason: str) -> None:
        machine = self.machines[run_id]
        current = self.model[run_id][-1]
        before = len(machine.history)
        if model_allows(current, target_phase.value):
            step = machine.transition(
                target_phase, at=float(len(self.model[run_id])), reason=reason
            )
            env = self.portal.call(self.store.writer.append, run_id, PhaseChanged.of(step))
            assert env.seq == len(self.model[run_id]) + 1
            self.model[run_id].append(target_phase.value)
        else:
            with pytest.raises(PhaseTransitionError) as refused:
                machine.transition(target_phase, at=0.0)
            assert (refused.value.from_phase, refused.value.to_phase) == (
                current,
                target_phase.value,
            )
            assert machine.phase.value == current
            assert len(machine.history) == before

    @invariant()
    def store_matches_model(self) -> None:
        conn = self._db()
        try:
            for run_id, visited in self.model.items():
                (phase,) = conn.execute(
                    "SELECT phase FROM runs WHERE run_id=?", (run_id,)
                ).fetchone()
                assert phase == visited[-1] == self.machines[run_id].phase.value
                rows = conn.execute(
                    "SELECT from_phase, to_phase FROM phase_transitions"
                    " WHERE run_id=? ORDER BY seq",
                    (run_id,),
                ).fetchall()
                assert rows == list(itertools.pairwise(visited))
                seqs = [
                    r[0]
                    for r in conn.execute(
                        "SELECT seq FROM events WHERE run_id=? ORDER BY seq", (run_id,)
                    )
                ]
                assert seqs == list(range(1, len(visited) + 1))
        finally:
            conn.close()


PhaseStoreMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPhaseStore = PhaseStoreMachine.TestCase
