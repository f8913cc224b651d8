"""Drive one failing run until the kernel holds it in a phase, then wait to be killed.

Run as a subprocess by `test_resume_meaning.py`:

    python tests/actors/held_runtime.py DB KIND PHASE

KIND names a workflow of `resume_scenarios.FAILING`, PHASE is GOVERNANCE_CHECK or FINALIZING.
Prints `held RUN_ID` once the run's phase has committed, then waits: SIGKILL ends it on the
spot; SIGTERM closes the runtime as `runtui serve` does on SIGTERM (actors stopped, store
closed), leaving the run where it is.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runtui.actors.runtime import Runtime
from runtui.domain.phases import RunPhase
from tests.actors.conftest import settings_for, wf
from tests.actors.resume_scenarios import FAILING, hold_back, reach_phase


async def main(db: Path, kind: str, phase: RunPhase) -> None:
    settings = settings_for(db, rok_governance_timeout_ms=120_000)
    with anyio.open_signal_receiver(signal.SIGTERM) as signals:
        async with Runtime.open(settings) as rt:
            hold_back(rt, phase)
            run_id = await rt.submit(wf(FAILING[kind][0]))
            await reach_phase(rt, run_id, phase)
            print("held", run_id, flush=True)
            async for _ in signals:
                break


if __name__ == "__main__":
    anyio.run(main, Path(sys.argv[1]), sys.argv[2], RunPhase(sys.argv[3]))
