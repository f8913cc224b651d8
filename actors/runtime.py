"""The runtime handle: the one object the CLI, the TUI and the server talk to.

`Runtime.open(settings)` opens the database beside any other process on it, starts the actors
under a supervisor (facades first, kernel last, so nothing is asked before it can answer), takes
over the live runs nobody drives (`store.leases`), and on exit stops them in reverse order and
lets its runs go. Its methods are the public verbs: submit, approve, reject,
cancel, rewind, retry, resume, health, wait, subscribe; reads go through `reader`.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import msgspec

from runtui.actors import messages as m
from runtui.actors.actor import Reply
from runtui.actors.analyzer import Analyzer, ReplanHook
from runtui.actors.bus import EventBus, Subscription
from runtui.actors.command_intake import CommandIntake
from runtui.actors.delegate import Delegate
from runtui.actors.dispatcher import Dispatcher
from runtui.actors.facades.governance import GovernanceFacade
from runtui.actors.facades.incident import IncidentFacade
from runtui.actors.facades.trace import TraceFacade
from runtui.actors.kernel import Kernel
from runtui.actors.poller import Poller
from runtui.actors.resume import load_run_created, rewind_plan_of
from runtui.actors.run_control import Peers
from runtui.actors.step import Clock
from runtui.actors.supervisor import ChildSpec, Restart, Strategy, Supervisor
from runtui.actors.tail import OtherWriters
from runtui.config import Settings
from runtui.domain.approvals import ApprovalDecision
from runtui.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RunActiveError,
    RunOwnedError,
    StoreError,
    StoreUnavailableError,
    WorkflowBlockedError,
)
from runtui.domain.events import RunStatusChanged
from runtui.domain.feed import Lagged
from runtui.domain.health import Health, WorkflowHealth, assess
from runtui.domain.rewind import RewindPlan, plan_retry
from runtui.domain.status import RunStatus
from runtui.domain.task_env import RunEnvironment, capture
from runtui.domain.tasks import TaskStatus
from runtui.domain.termination import RunTerminationReason
from runtui.domain.views import RunRow
from runtui.domain.workflow import Workflow
from runtui.store import Store, open_store
from runtui.store.watch import CommitWatch
from runtui.workflows import load_workflow

log = logging.getLogger(__name__)

OUTAGE_PROBE_MAX_S = 2.0  # while the database refuses writes: the longest wait between tries


#: A run id a caller may choose.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Runtime:
    def __init__(self, store: Store, bus: EventBus, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.reader = store.reader
        self.bus = bus
        bus.last_position = max(bus.last_position, store.writer.position)  # "now", for streams
        self.settings = settings
        self.clock = clock
        w = store.writer
        self.kernel = Kernel(w, store.reader, settings, clock=clock)
        self.analyzer = Analyzer(w, clock=clock)
        self.dispatcher = Dispatcher(w, clock=clock, max_concurrency=settings.max_concurrency)
        self.poller = Poller(w, clock=clock)
        self.governance = GovernanceFacade(w, settings, clock=clock)
        self.incident = IncidentFacade(w, clock=clock)
        self.trace = TraceFacade(w, clock=clock)
        self.kernel.peers = Peers(self.analyzer, self.governance, self.incident, self.trace)
        self.analyzer.kernel = self.kernel
        self.analyzer.dispatcher = self.dispatcher
        self.analyzer.poller = self.poller
        self.dispatcher.governance = self.governance
        self.dispatcher.poller = self.poller
        self.poller.governance = self.governance
        self.governance.kernel = self.kernel
        self.governance.analyzer = self.analyzer
        self.governance.incident = self.incident
        self.incident.kernel = self.kernel
        self.trace.kernel = self.kernel
        self._resumed = False  # the owner resumed what was live at its start (see _keep_leases)
        assert store.writer.owner is not None
        self.delegate = Delegate(store.path, store.writer.owner.owner_id)
        self.supervisor = Supervisor(
            [
                ChildSpec(self.trace),
                ChildSpec(self.incident),
                ChildSpec(self.governance),
                ChildSpec(self.poller),
                ChildSpec(self.dispatcher),
                ChildSpec(self.analyzer),
                ChildSpec(self.kernel, restart=Restart.PERMANENT),
            ],
            # Actors keep per-run state in memory; after a crash it may say what the store
            # never saw. Every actor restarts empty and every live run is reloaded from the store.
            strategy=Strategy.ONE_FOR_ALL,
            after_restart=self.resume_interrupted,
            outage=StoreUnavailableError,
            until_ready=self._until_writable,
        )

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings,
        *,
        clock: Clock = time.time,
        replan: ReplanHook | None = None,
        resume: bool = True,
        adopt: bool | None = None,
    ) -> AsyncIterator[Runtime]:
        """Start the runtime on `settings.db`. `resume`: take over every live run nobody
        drives now; `adopt` (default: as `resume`): keep doing so while open, so the runs of a
        process that stops are taken over within a lease's time to live."""
        bus = EventBus()
        async with open_store(
            settings.db,
            durability=settings.durability,
            on_commit=bus.publish,
            lease_ttl=settings.lease_ttl_s,
        ) as store:
            runtime = cls(store, bus, settings, clock)
            runtime.analyzer.replan = replan
            store.writer.on_lost(runtime._lost)
            services = anyio.CancelScope()  # commands, leases, other processes' commits

            async def serve_others() -> None:
                with services:
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(CommandIntake(runtime, store.path).run)
                        tg.start_soon(runtime._keep_leases, resume if adopt is None else adopt)
                        tg.start_soon(OtherWriters(bus, store.reader, CommitWatch(store.path)).run)

            try:
                async with anyio.create_task_group() as tg:
                    await tg.start(runtime.supervisor.run)
                    tg.start_soon(serve_others)
                    try:
                        if resume:
                            await runtime.resume_interrupted()
                        yield runtime
                    finally:
                        services.cancel()
                        runtime.supervisor.stop()
                        bus.close()
                        runtime.delegate.close()
            except BaseExceptionGroup as group:
                if len(group.exceptions) == 1:
                    raise group.exceptions[0] from None
                raise

    # --- runs --------------------------------------------------------------------------------

    async def submit(
        self,
        workflow: Workflow,
        *,
        force: bool = False,
        metadata: dict[str, Any] | None = None,
        parent_run_id: str | None = None,
        rewound_from_wave: int | None = None,
        retry_count: int = 0,
        carried: dict[str, TaskStatus] | None = None,
        base_dir: Path | str | None = None,
        run_env: RunEnvironment | None = None,
        run_id: str | None = None,
    ) -> str:
        """Start a run of `workflow`; returns its id once its creation has committed.

        `run_id` is the caller's own id for it (a program that drives its run, `runtui.rok`):
        letters, digits, `.`, `_`, `-`, up to 64, not used yet; by default a new one.

        Where its tasks run and what they inherit is fixed here (`runtui.domain.task_env`):
        `run_env` as given (a fork keeps its parent's), else taken from this process with
        `base_dir` (the workflow file's directory; this process's working directory if None).
        """
        if run_env is None:
            run_env = capture(os.environ, str(base_dir or os.getcwd()))
        if not force:
            health = await self.health_of(workflow.name)
            if health.health is Health.BLOCKED:
                raise WorkflowBlockedError(
                    f"workflow {workflow.name} is blocked ({'; '.join(health.reasons)}); "
                    "clear it with `runtui health --clear` or submit with --force"
                )
        if run_id is not None:
            await self._check_new_run_id(run_id)
        reply: Reply[str] = Reply()
        new_run_id: str = await self.kernel.ask(
            m.SubmitRun(
                workflow=workflow,
                reply=reply,
                run_id=run_id,
                parent_run_id=parent_run_id,
                rewound_from_wave=rewound_from_wave,
                retry_count=retry_count,
                carried=carried or {},
                metadata=metadata or {},
                run_env=run_env,
            )
        )
        return new_run_id

    async def _check_new_run_id(self, run_id: str) -> None:
        if not _RUN_ID.fullmatch(run_id):
            raise InvalidInputError(
                f"run_id: {run_id[:80]!r} is not an id (letters, digits, '.', '_', '-'; up to 64)"
            )
        try:
            await self.reader.get_run(run_id)
        except NotFoundError:
            return
        raise ConflictError(f"run_id: a run {run_id} exists already")

    async def submit_file(self, path: Path, *, force: bool = False) -> str:
        workflow = await anyio.to_thread.run_sync(load_workflow, path)
        return await self.submit(
            workflow, force=force, metadata={"file": str(path)}, base_dir=path.parent
        )

    async def stop(
        self, run_id: str, *, reason: RunTerminationReason, error: str | None = None
    ) -> None:
        """End a run this process drives, as `reason` says (its running tasks are stopped)."""
        if run_id not in self.kernel.runs:
            raise ConflictError(f"run {run_id} is not active in this process")
        await self.kernel.ask(m.StopRun(run_id=run_id, reason=reason, error=error, reply=Reply()))

    async def cancel(self, run_id: str) -> None:
        """Stop a live run; one this process does not drive yet is taken over only to be
        stopped (none of its tasks starts again first)."""
        stop = m.StopRun(
            run_id=run_id,
            reason=RunTerminationReason.USER_ABORT,
            error="cancelled by the user",
            reply=Reply(),
        )
        if run_id in self.kernel.runs:
            await self.kernel.ask(stop)
            return
        run = await self.reader.get_run(run_id)
        if run.status.is_terminal:
            raise ConflictError(f"run {run_id} has already ended ({run.status.value})")

        async def here() -> None:
            if run_id in self.kernel.runs:
                await self.kernel.ask(stop)
            else:
                await self.take(run_id, stop=stop)

        await self.delegate.here_or_owner("cancel", {"run_id": run_id}, run_id, here)

    async def _decide(self, decide: m.Decide, payload: dict[str, Any]) -> None:
        """Apply a decision: here when this process drives the approval's run; by taking the
        run over when nobody does (a hand-over: the process that asked exited, leaving the run
        waiting); else as a command to the process that drives it."""
        approval_id = decide.approval_id
        if approval_id not in self.kernel.approval_owner:  # not pending in a run driven here
            row = await self.reader.get_approval(approval_id)
            if row.decision is None and row.run_id not in self.kernel.runs:

                async def here() -> None:
                    if row.run_id not in self.kernel.runs:
                        try:
                            await self.take(row.run_id)
                        except RunOwnedError:
                            raise  # another process drives it: the command goes there
                        except ConflictError:
                            pass  # it ended meanwhile: the kernel says how the approval went
                    await self.kernel.ask(msgspec.structs.replace(decide, reply=Reply()))

                kind = "reject" if decide.decision is ApprovalDecision.REJECT else "approve"
                await self.delegate.here_or_owner(kind, payload, row.run_id, here)
                return
        await self.kernel.ask(decide)

    async def approve(
        self,
        approval_id: str,
        *,
        by: str = "user",
        reason: str = "",
        edits: dict[str, Any] | None = None,
    ) -> None:
        decision = ApprovalDecision.APPROVE_WITH_EDITS if edits else ApprovalDecision.APPROVE
        await self._decide(
            m.Decide(
                approval_id=approval_id,
                decision=decision,
                reason=reason,
                decided_by=by,
                edits=edits,
                reply=Reply(),
            ),
            {"approval_id": approval_id, "reason": reason, "edits": edits, "by": by},
        )

    async def reject(self, approval_id: str, *, reason: str, by: str = "user") -> None:
        await self._decide(
            m.Decide(
                approval_id=approval_id,
                decision=ApprovalDecision.REJECT,
                reason=reason,
                decided_by=by,
                edits=None,
                reply=Reply(),
            ),
            {"approval_id": approval_id, "reason": reason, "by": by},
        )

    async def resume(self, run_id: str) -> None:
        """Resume one non-terminal run that is not active in this process."""
        run = await self.reader.get_run(run_id)
        if run.status.is_terminal:
            raise ConflictError(
                f"run {run_id} is {run.status.value}; terminal runs are never resumed"
            )
        if run_id in self.kernel.runs:
            raise RunActiveError(f"run {run_id} is already active")
        await self.take(run_id)

    async def resume_interrupted(self, *, hold: str | None = None) -> list[str]:
        """Take over every live run nobody drives (no lease, or one that expired or was
        released), but `hold`, which the caller takes over itself (e.g. to cancel it); the ids
        taken. Runs another process holds are left to it."""
        resumed: list[str] = []
        for run in await self.reader.live_runs():
            if run.run_id in self.kernel.runs or run.run_id == hold:
                continue
            if self._at_capacity():
                break
            try:
                await self.take(run.run_id)
                resumed.append(run.run_id)
            except RunOwnedError:
                continue  # driven by another process
            except Exception as exc:
                log.error("could not resume run %s: %s", run.run_id, exc)
        self._resumed = True  # from now on, `adopt` takes over runs of processes that stop
        return resumed

    async def take(self, run_id: str, *, stop: m.StopRun | None = None) -> None:
        """Claim `run_id`'s lease (`RunOwnedError` if a live process holds it) and drive it
        from its stored state on; with `stop`, only to stop it."""
        await self.store.writer.claim(run_id)
        try:
            await self.kernel.ask(m.ResumeRun(run_id=run_id, reply=Reply(), stop=stop))
        except BaseException:
            with anyio.CancelScope(shield=True):
                try:
                    await self.store.writer.release({run_id})
                except StoreError as exc:  # it expires instead
                    log.warning("run %s: lease not released: %s", run_id, exc)
            raise

    def _lost(self, run_ids: frozenset[str]) -> None:
        """The writer found these runs claimed by another process: drop them here."""
        for run_id in run_ids:
            try:
                self.kernel.tell_nowait(m.LoseRun(run_id=run_id))
            except Exception as exc:  # stopping: nothing to drop
                log.info("run %s lost while the kernel is gone: %s", run_id, exc)

    async def _keep_leases(self, adopt: bool) -> None:
        """Renew this process's leases every third of their time to live; with `adopt`, also
        take over the live runs nobody drives (their owner stopped: its lease expired), so a
        run outlives the process that drove it by at most a TTL and a third."""
        writer = self.store.writer
        while True:
            await anyio.sleep(writer.lease_ttl / 3)
            try:
                await writer.renew()
            except StoreError as exc:  # an outage: the leases may expire; fencing keeps it safe
                log.warning("leases not renewed: %s", exc)
                continue
            if adopt and self._resumed and self.supervisor.running:
                await self.adopt_orphans()

    def _at_capacity(self) -> bool:
        """This process drives as many live runs as it may take over (`max_live_runs`): the
        rest are left to other processes."""
        return len(self.kernel.runs) >= self.settings.max_live_runs

    async def adopt_orphans(self) -> list[str]:
        """Take over every live run whose lease is missing, released or expired; the ids."""
        taken: list[str] = []
        for run_id in await self.reader.unowned_live_runs(time.time()):
            if run_id in self.kernel.runs:
                continue
            if self._at_capacity():
                break
            try:
                await self.take(run_id)
            except (RunOwnedError, ConflictError, NotFoundError):
                continue  # another process was quicker, or it ended meanwhile
            except Exception as exc:
                log.error("could not take over run %s: %s", run_id, exc)
                continue
            log.warning("took over run %s (its previous owner stopped)", run_id)
            taken.append(run_id)
        return taken

    # --- rewind and retry --------------------------------------------------------------------

    async def rewind_plan(self, run_id: str, wave: int) -> RewindPlan:
        return await rewind_plan_of(self.reader, run_id, wave)

    async def rewind(self, run_id: str, wave: int, *, force: bool = False) -> RewindPlan:
        """Fork `run_id`: waves <= `wave` keep the parent's results, later ones re-execute.

        The parent is never changed. An active parent must be stopped first (`force` cancels
        it and waits for it to end).
        """
        plan = await self.rewind_plan(run_id, wave)
        await self._ensure_stopped(run_id, force)
        workflow, run, created = await load_run_created(self.reader, run_id)
        carried = dict.fromkeys(plan.carried, TaskStatus.DONE)
        new_id = await self.submit(
            workflow,
            force=True,
            parent_run_id=run_id,
            rewound_from_wave=wave,
            retry_count=run.retry_count,
            carried=carried,
            run_env=created.run_env,
        )
        return msgspec.structs.replace(plan, new_run_id=new_id)

    async def retry(self, run_id: str, *, force: bool = False) -> str:
        """Fork a finished run from just before its first failed wave, retry_count + 1."""
        workflow, run, created = await load_run_created(self.reader, run_id)
        await self._ensure_stopped(run_id, force)
        statuses = {t.task_id: t.status for t in await self.reader.tasks_of(run_id)}
        plan = plan_retry(workflow, statuses)
        return await self.submit(
            workflow,
            force=True,
            parent_run_id=run_id,
            rewound_from_wave=plan.kept_through,
            retry_count=run.retry_count + 1,
            carried=dict.fromkeys(plan.carried, TaskStatus.DONE),
            run_env=created.run_env,
        )

    async def _ensure_stopped(self, run_id: str, force: bool) -> None:
        run = await self.reader.get_run(run_id)
        if run.status.is_terminal:
            return
        if not force:
            raise RunActiveError(
                f"run {run_id} is still {run.status.value}; stop it first or use --force"
            )
        try:
            await self.cancel(run_id)  # here, or by the process that drives it
        except RunOwnedError:
            raise
        except ConflictError:
            pass  # it ended meanwhile
        await self.wait(run_id)

    # --- health ------------------------------------------------------------------------------

    async def health_of(self, workflow: str) -> WorkflowHealth:
        return assess(workflow, await self.reader.health_results(workflow))

    async def health(self) -> list[WorkflowHealth]:
        return [await self.health_of(w) for w in await self.reader.workflows()]

    async def clear_health(self, workflow: str, *, by: str = "user") -> None:
        await self.store.writer.clear_health(workflow, by, self.clock())

    async def _until_writable(self) -> None:
        """Wait until the database takes writes again (asked at growing intervals, up to
        `OUTAGE_PROBE_MAX_S`: each ask is a real test write once a commit has failed)."""
        delay = 0.05
        while True:
            try:
                await self.store.writer.check_writable()
                return
            except StoreError:
                await anyio.sleep(delay)
                delay = min(delay * 2, OUTAGE_PROBE_MAX_S)

    # --- watching ----------------------------------------------------------------------------

    @property
    def db_path(self) -> Path | str:
        """The database: a SQLite file, or a PostgreSQL URL."""
        return self.store.path

    @property
    def last_position(self) -> int:
        """The position of the last event committed (and published): "now", for a stream."""
        return self.bus.last_position

    def subscribe(self, *, run_id: str | None = None, max_batches: int = 1024) -> Subscription:
        predicate = None if run_id is None else (lambda e: e.run_id == run_id)
        return self.bus.subscribe(max_batches=max_batches, predicate=predicate)

    async def wait(self, run_id: str) -> RunRow:
        """Return the run once it has reached a terminal status."""
        sub = self.subscribe(run_id=run_id)
        try:
            while True:
                run = await self.reader.get_run(run_id)
                if run.status.is_terminal:
                    return run
                delivery = await sub.receive()
                if isinstance(delivery, Lagged):
                    continue
                if not any(
                    isinstance(e.body, RunStatusChanged) and e.body.status.is_terminal
                    for e in delivery
                ):
                    continue
        finally:
            sub.close()

    def is_idle(self) -> bool:
        """Nothing can move without a human: every active run waits for an approval (or
        there is none) and no attempt is queued, running or being polled."""
        waiting = all(
            ctl.status is RunStatus.AWAITING_APPROVAL for ctl in self.kernel.runs.values()
        )
        d = self.dispatcher
        actors = (
            self.kernel,
            self.analyzer,
            d,
            self.poller,
            self.governance,
            self.incident,
            self.trace,
        )
        return (
            waiting
            and all(a.quiet for a in actors)
            and not any(g.inflight for g in self.analyzer.graphs.values())
            and not d.queue
            and d.active == 0
            and not self.poller.watches
        )

    async def wait_idle(self) -> None:
        """Return once the runtime is idle (see `is_idle`): the point where a one-shot CLI
        command can exit, leaving waiting runs persisted for a later `approve`."""
        sub = self.bus.subscribe()
        try:
            while not self.is_idle():
                with anyio.move_on_after(0.5):  # re-check also when no event arrives
                    await sub.receive()
        finally:
            sub.close()

    @property
    def active_runs(self) -> list[str]:
        return list(self.kernel.runs)

    def status_of(self, run_id: str) -> RunStatus | None:
        ctl = self.kernel.runs.get(run_id)
        return ctl.status if ctl else None
