"""The kernel document's API: bring your own runner, and runtui's kernel governs it.

    from runtui.rok import create_rok

    rok = create_rok(run_id)
    rok.declare_expectations()
    if rok.authorize():
        rok.begin_execution()
        ok, error = True, None
        try:
            do_the_work(rok)                # your code; rok.log(...), rok.report_usage(...)
        except Exception as exc:
            ok, error = False, str(exc)
        finally:
            rok.finalize(success=ok, error=error)

Your worker does the work; the run is a real runtui run: `create_rok` submits a workflow of one
`driven` task (`actors.operators.driven`), the kernel moves its phases, declares and reconciles
its audit expectations, evaluates its policies (on what you `log` and `report_usage`: a token
budget stops your run as it stops any other), opens an incident when it fails and records
everything as events. So the run appears in the terminal UI, `runtui runs ls`, history, `verify`
and the HTTP API like any other.

Each method waits until the kernel has reached the phase it names and says how that went:
`authorize()` is False when a policy refused the run; `begin_execution()` returns once the work
may start (after any approval the run's HITL mode asks for); `execution_complete(success=)`
ends the work; `governance_check()` is True when the run passed its governance check;
`finalize()` returns how the run ended (`RunTerminationInfo`) and may be called at any point (in
a `finally`): it completes the work first if that was not said yet. `fail(error)` stops the run.

The runtime runs in this process, on an event loop in a thread of its own, one per database for
all the program's runs (so a worker pool's threads each drive their own run). A run whose
program exits before finalizing stays live; the next runtime that opens the database fails it
(no program is left to do its work). Names from the kernel document are here too: `RunPhase`,
`VALID_TRANSITIONS`, `PhaseTransition`, `PhaseContext`, `PhaseStateMachine`.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from runtui.actors.operators.driven import DRIVERS, Driver
from runtui.domain.errors import ConflictError
from runtui.domain.events import PhaseChanged, RunTerminated
from runtui.domain.ids import new_id
from runtui.domain.phases import (
    PHASE_ORDER,
    PHASE_TRANSITIONS,
    PhaseMachine,
    PhaseTransition,
    RunPhase,
)
from runtui.domain.termination import RunTerminationInfo, RunTerminationReason
from runtui.domain.views import RunRow
from runtui.domain.workflow import Workflow
from runtui.embedded import EmbeddedRuntime

T = TypeVar("T")

#: The kernel document's name for the table of legal phase edges.
VALID_TRANSITIONS = PHASE_TRANSITIONS

#: The one task of a driven run.
WORK = "work"

#: The phases a run can be in once it has left each phase of the happy path.
_AFTER: Mapping[RunPhase, frozenset[RunPhase]] = {
    phase: frozenset(PHASE_ORDER[n + 1 :]) | {RunPhase.FAILED}
    for n, phase in enumerate(PHASE_ORDER)
}


@dataclass(frozen=True)
class PhaseContext:
    """Where a run stands in its lifecycle: its phase and every transition that led there."""

    run_id: str
    phase: RunPhase
    transitions: tuple[PhaseTransition, ...]

    @property
    def is_terminal(self) -> bool:
        return not VALID_TRANSITIONS[self.phase]


class PhaseStateMachine(PhaseMachine):
    """The kernel's phase machine (only legal edges move it), with its `PhaseContext`."""

    @property
    def context(self) -> PhaseContext:
        return PhaseContext(self.run_id or "", self.phase, self.history)


class RunLifecycleError(ConflictError):
    """The run is not where the call needs it (it ended before its work could start, say)."""


class DrivenRun:
    """One run whose work this program does, on an async port: the async twin of
    `RunOrchestrationKernel` (every method waits on the run's committed events)."""

    def __init__(self, runtime: EmbeddedRuntime, run_id: str, workflow: Workflow) -> None:
        self.runtime = runtime
        self.run_id = run_id
        self.workflow = workflow
        self.driver = Driver(run_id)
        self.submitted = False

    async def declare_expectations(self) -> list[tuple[str, str]]:
        """Submit the run: the kernel records it (CREATED) and declares its audit
        expectations; they are returned as (domain, action) pairs."""
        if not self.submitted:
            DRIVERS[self.run_id] = self.driver
            try:
                await self.runtime.submit(
                    self.workflow, run_id=self.run_id, metadata={"driven_by": "runtui.rok"}
                )
            except BaseException:
                DRIVERS.pop(self.run_id, None)
                self.driver.close()
                raise
            self.submitted = True
        audit = await self.runtime.audit_of(self.run_id)
        return [(domain, action) for domain, action, _deadline, _live in audit.expectations]

    async def authorize(self) -> bool:
        """True once the kernel authorized the run; False when its policies refused it."""
        await self.declare_expectations()
        run = await self._until(lambda r: r.phase is not RunPhase.CREATED)
        return run.phase is not RunPhase.FAILED

    async def begin_execution(self) -> None:
        """Return once the work may start (the run is EXECUTING and any approval its HITL mode
        asks for was given); `RunLifecycleError` if the run ended instead."""
        if not await self.authorize():
            raise RunLifecycleError(f"run {self.run_id} was not authorized")
        async with anyio.create_task_group() as tg:

            async def ended() -> None:
                await self._until(lambda r: r.status.is_terminal)
                tg.cancel_scope.cancel()

            tg.start_soon(ended)
            await self.driver.started.wait()
            tg.cancel_scope.cancel()
        if not self.driver.started.is_set():
            run = await self.runtime.get_run(self.run_id)
            why = run.termination_reason.value if run.termination_reason else run.status.value
            raise RunLifecycleError(
                f"run {self.run_id} ended ({why}) before its work could start"
                + (f": {run.error_message}" if run.error_message else "")
            )

    async def log(self, *lines: str, stream: str = "stdout") -> None:
        """Lines of the work's output: recorded as the run's output, scanned by its content and
        PII policies; a `::usage tokens=N cost=X` line counts towards its budgets."""
        await self.driver.log(stream, [str(line) for line in lines])

    async def report_usage(self, *, tokens: float | None = None, cost: float | None = None) -> None:
        """What the work consumed so far (adds to the run's totals, checked by its budgets)."""
        pairs = [f"{k}={v}" for k, v in (("tokens", tokens), ("cost", cost)) if v is not None]
        if pairs:
            await self.log("::usage " + " ".join(pairs))

    async def execution_complete(self, success: bool, error: str | None = None) -> None:
        """The work is done; returns once the kernel has moved on to the governance check (or
        ended the run)."""
        self.driver.complete(success, error)
        if self.driver.started.is_set():
            await self.driver.ended.wait()
        await self._until(lambda r: r.phase in _AFTER[RunPhase.EXECUTING])

    async def governance_check(self) -> bool:
        """True when the run passed its governance check (audit reconciled, or not strict)."""
        run = await self._until(lambda r: r.phase in _AFTER[RunPhase.GOVERNANCE_CHECK])
        if run.phase is not RunPhase.FAILED:
            return True
        context = await self.context()
        return any(
            step.from_phase is RunPhase.GOVERNANCE_CHECK and step.to_phase is RunPhase.FINALIZING
            for step in context.transitions
        )

    async def begin_finalization(self) -> None:
        """Return once the kernel is finalizing the run (or has ended it)."""
        await self._until(
            lambda r: r.phase in (RunPhase.FINALIZING, RunPhase.COMPLETED, RunPhase.FAILED)
        )

    async def finalize(
        self, success: bool | None = None, error: str | None = None
    ) -> RunTerminationInfo:
        """End the run (completing the work first, as `success`/`error` say, if that was not
        said yet) and return how it ended."""
        try:
            if self.submitted and self.driver.success is None:
                self.driver.complete(error is None if success is None else success, error)
            if self.submitted:
                await self._until(lambda r: r.status.is_terminal)
                return await self._termination()
            raise RunLifecycleError(f"run {self.run_id} was never submitted")
        finally:
            DRIVERS.pop(self.run_id, None)
            self.driver.close()

    async def fail(
        self, error: str, reason: RunTerminationReason = RunTerminationReason.SYSTEM_FAILURE
    ) -> RunTerminationInfo:
        """Stop the run now: it fails with `reason` (its work, if running, is stopped)."""
        await self.declare_expectations()
        await self.runtime.stop(self.run_id, reason=reason, error=error)
        return await self.finalize(False, error)

    async def _termination(self) -> RunTerminationInfo:
        """How the ended run ended, as its `run.terminated` event says (violation included)."""
        ended = [
            e
            async for e in self.runtime.iter_events(self.run_id)
            if isinstance(e.body, RunTerminated)
        ]
        assert ended, "an ended run has its run.terminated event"
        last = ended[-1]
        assert isinstance(last.body, RunTerminated)
        return last.body.to_info(last.ts)

    async def context(self) -> PhaseContext:
        """The run's phase and transitions, as its events record them."""
        steps = [
            PhaseTransition(e.body.from_phase, e.body.to_phase, e.ts, e.body.reason)
            async for e in self.runtime.iter_events(self.run_id)
            if isinstance(e.body, PhaseChanged)
        ]
        phase = steps[-1].to_phase if steps else RunPhase.CREATED
        return PhaseContext(self.run_id, phase, tuple(steps))

    async def _until(self, done: Callable[[RunRow], bool]) -> RunRow:
        run = await self.runtime.get_run(self.run_id)
        if done(run):
            return run
        async for _env in self.runtime.events(self.run_id, after=run.last_seq):
            run = await self.runtime.get_run(self.run_id)
            if done(run):
                return run
        raise AssertionError("a run's event feed does not end")  # pragma: no cover


def driven_workflow(
    name: str,
    *,
    policies: Iterable[Mapping[str, Any]] = (),
    timeout_s: float | None = None,
    hitl: str = "none",
    strict: bool = False,
) -> Workflow:
    """The workflow of a driven run: its one `work` task, and the policies that govern it."""
    data: dict[str, Any] = {
        "name": name,
        "hitl": hitl,
        "tasks": [{"id": WORK, "kind": "driven"}],
        "policies": [dict(p) for p in policies],
        "governance": {"strict": strict},
    }
    if timeout_s is not None:
        data["timeout_s"] = timeout_s
    return Workflow.model_validate(data)


# --- the blocking API of the kernel document --------------------------------------------------


class _Host:
    """An embedded runtime on an event loop in a thread of its own, for one database."""

    def __init__(self, db: str | Path | None, options: dict[str, Any]) -> None:
        from runtui.opening import open as open_runtime

        self._stack = ExitStack()
        self.portal: BlockingPortal = self._stack.enter_context(start_blocking_portal())
        self.runtime: EmbeddedRuntime = self._stack.enter_context(
            self.portal.wrap_async_context_manager(open_runtime(db, **options))
        )

    def call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        async def call() -> T:
            return await fn(*args, **kwargs)

        return self.portal.call(call)

    def close(self) -> None:
        self._stack.close()


_HOSTS: dict[str, _Host] = {}
_HOSTS_LOCK = threading.Lock()


def _host(db: str | Path | None, options: dict[str, Any]) -> _Host:
    if db is None:
        key = ""
    elif isinstance(db, str) and db.startswith(("postgresql://", "postgres://")):
        key = db
    else:
        key = str(Path(db).resolve())
    with _HOSTS_LOCK:
        host = _HOSTS.get(key)
        if host is None:
            host = _HOSTS[key] = _Host(db, options)
        return host


@atexit.register
def close_all() -> None:
    """Stop every runtime `create_rok` started (at exit; a live run stays live)."""
    with _HOSTS_LOCK:
        hosts = list(_HOSTS.values())
        _HOSTS.clear()
    for host in hosts:
        host.close()


class RunOrchestrationKernel:
    """The kernel document's kernel for one run, blocking: see the module docstring."""

    def __init__(self, host: _Host, run: DrivenRun) -> None:
        self._host = host
        self._run = run
        self.run_id = run.run_id

    @property
    def phase(self) -> RunPhase:
        return self._host.call(self._run.runtime.get_run, self.run_id).phase

    @property
    def context(self) -> PhaseContext:
        return self._host.call(self._run.context)

    def declare_expectations(self) -> list[tuple[str, str]]:
        return self._host.call(self._run.declare_expectations)

    def authorize(self) -> bool:
        return self._host.call(self._run.authorize)

    def begin_execution(self) -> None:
        self._host.call(self._run.begin_execution)

    def log(self, *lines: str, stream: str = "stdout") -> None:
        self._host.call(self._run.log, *lines, stream=stream)

    def report_usage(self, *, tokens: float | None = None, cost: float | None = None) -> None:
        self._host.call(self._run.report_usage, tokens=tokens, cost=cost)

    def execution_complete(self, success: bool, error: str | None = None) -> None:
        self._host.call(self._run.execution_complete, success, error)

    def governance_check(self) -> bool:
        return self._host.call(self._run.governance_check)

    def begin_finalization(self) -> None:
        self._host.call(self._run.begin_finalization)

    def finalize(self, success: bool | None = None, error: str | None = None) -> RunTerminationInfo:
        return self._host.call(self._run.finalize, success, error)

    def fail(
        self, error: str, reason: RunTerminationReason = RunTerminationReason.SYSTEM_FAILURE
    ) -> RunTerminationInfo:
        return self._host.call(self._run.fail, error, reason)


def create_rok(
    run_id: str | None = None,
    *,
    db: str | Path | None = None,
    name: str | None = None,
    policies: Iterable[Mapping[str, Any]] = (),
    timeout_s: float | None = None,
    hitl: str = "none",
    strict: bool = False,
    **options: Any,
) -> RunOrchestrationKernel:
    """A kernel for the run `run_id` (default: a new id) whose work this program does, on the
    database `db` (default: the command line's). `name` is the workflow name it is listed
    under (default: "driven"); `policies` are policy tables as a workflow file has them;
    `timeout_s` bounds the run, the work included (default: the configured run timeout);
    `options` go to `runtui.open` the first time this database is used here."""
    workflow = driven_workflow(
        name or "driven", policies=policies, timeout_s=timeout_s, hitl=hitl, strict=strict
    )
    host = _host(db, options)
    run = DrivenRun(host.runtime, run_id or new_id(time.time()), workflow)
    return RunOrchestrationKernel(host, run)


__all__ = [
    "VALID_TRANSITIONS",
    "DrivenRun",
    "PhaseContext",
    "PhaseStateMachine",
    "PhaseTransition",
    "RunLifecycleError",
    "RunOrchestrationKernel",
    "RunPhase",
    "create_rok",
    "driven_workflow",
]
