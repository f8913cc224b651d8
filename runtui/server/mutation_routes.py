"""The API's mutating routes: submit a workflow, approve, reject, rewind (or its dry run),
resume, cancel. Each honours an `Idempotency-Key` (a retried request gets the first answer)
and answers with a small JSON body; the `Location` of a new run goes in a header."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import anyio
import msgspec
from fastapi import Body, FastAPI, Request
from fastapi.responses import Response

from runtui.domain.approvals import ApprovalDecision
from runtui.domain.errors import ApprovalAlreadyDecided, ConflictError, NotFoundError, WorkflowError
from runtui.domain.idempotency import SUBMITTED_WITH, KeyRecord
from runtui.domain.rewind import RewindPlan
from runtui.domain.submission_rules import check_submission
from runtui.domain.termination import RunTerminationReason
from runtui.domain.workflow_source import SourceFormat, WorkflowSource, kept
from runtui.server.bodies import (
    Cancelled,
    ClearBody,
    Cleared,
    DecideBody,
    Decided,
    Empty,
    ForceBody,
    RejectBody,
    Resumed,
    Retried,
    RewindBody,
    SubmitBody,
    Submitted,
)
from runtui.server.host import ServerHost
from runtui.server.idempotency import Claim, Idempotency, IdempotencyKey, Recover
from runtui.server.respond import js
from runtui.server.schemas import openapi_responses
from runtui.workflows import parse_workflow, workflow_from_data

#: What a client that names nobody is recorded as saying (the bodies' default `by`).
UNNAMED = "api"


def decider(request: Request, claimed: str | None) -> str:
    """Who decided, as recorded: the name of the token that authenticated the request (the
    server's own token is named after who runs it), and, when the client says someone else
    decided (the person at an attached UI: `bob@laptop`), that too, as what it is, a claim:
    `ann@server (as bob@laptop)`."""
    caller = getattr(request.state, "caller", None)
    if caller is None:  # no guard in front (a test's bare app): only the claim is known
        return claimed or UNNAMED
    if not claimed or claimed in (UNNAMED, caller):
        return str(caller)
    return f"{caller} (as {claimed})"


def add_mutation_routes(
    app: FastAPI, host: ServerHost, idem: Idempotency, *, links: dict[str, Any]
) -> None:
    """Register the mutations on `app` (after the reads, so the document keeps its order).
    Each acts through the port, as every front end does."""
    reader = host
    rules = host.settings.submission_rules()

    @app.post(
        "/api/runs",
        tags=["runs"],
        operation_id="submitRun",
        summary="Submit a workflow (its TOML text, or as data); the run starts at once",
        status_code=201,
        responses=openapi_responses(
            "The new run (its URL in Location)",
            Submitted,
            status=201,
            errors=(401, 403, 409, 413, 415, 422),
            links=links,
        ),
    )
    async def submit(body: SubmitBody, idempotency_key: IdempotencyKey = None) -> Response:
        def submitted(run_id: str) -> Response:
            return js(Submitted(run_id), 201, {"Location": f"/api/runs/{run_id}"})

        async def act(claim: Claim) -> Response:
            source: WorkflowSource | None
            if body.toml is not None:
                workflow = parse_workflow(body.toml, source="request body")
                source = kept(SourceFormat.TOML, body.toml, body.origin or "request body")
            else:
                assert body.workflow is not None  # the body's validator: exactly one
                workflow = workflow_from_data(body.workflow, source="request body: workflow")
                source = _source(body)
            workflow = workflow.with_source(source)
            check_submission(workflow, rules, source="request body")
            base_dir = await _base_dir(body.base_dir)
            metadata: dict[str, Any] = {"via": "api"}
            if idempotency_key is not None:  # committed with the run: a retry finds it
                metadata[SUBMITTED_WITH] = idempotency_key
            await claim()
            run_id = await host.submit(
                workflow,
                force=body.force,
                metadata=metadata,
                base_dir=None if base_dir is None else Path(base_dir),
            )
            return submitted(run_id)

        async def recover(taken: KeyRecord) -> Response | None:
            assert idempotency_key is not None
            run_id = await idem.keys.run_submitted_with(idempotency_key, taken.taken_at)
            return None if run_id is None else submitted(run_id)

        return await idem.once(idempotency_key, "POST /api/runs", body, act, recover)

    async def _approval_of(run_id: str, approval_id: str | None) -> str:
        await reader.get_run(run_id)
        if approval_id is not None:
            row = await reader.get_approval(approval_id)
            if row.run_id != run_id:
                raise NotFoundError(f"approval {approval_id} does not belong to run {run_id}")
            return approval_id
        approvals = await reader.approvals_of(run_id)
        pending = [a for a in approvals if a.pending]
        if not pending:
            decided = [a for a in approvals if a.decision is not None]
            if decided:  # a second decision: name the first, as when the id is given
                last = max(decided, key=lambda a: a.decided_at or 0.0)
                assert last.decision is not None
                how = f"{last.decision.value} by {last.decided_by or 'unknown'}"
                raise ApprovalAlreadyDecided(last.approval_id, how)
            raise ConflictError(f"run {run_id} has no pending approval")
        return pending[0].approval_id

    def _decided_as(
        decision: ApprovalDecision, by: str, reason: str, edits: dict[str, Any] | None
    ) -> Recover:
        """A decision's recovery: the approval it claimed, if decided exactly as it asked."""

        async def recover(taken: KeyRecord) -> Response | None:
            if taken.subject is None:
                return None
            row = await reader.get_approval(taken.subject)
            if (row.decision, row.decided_by, row.reason, row.edits) != (
                decision,
                by,
                reason,
                edits,
            ):
                return None
            return js(Decided(taken.subject, decision))

        return recover

    @app.post(
        "/api/runs/{run_id}/approve",
        tags=["approvals"],
        operation_id="approveRun",
        summary="Approve the run's pending approval (or the one named)",
        responses=openapi_responses("Decided", Decided, errors=(401, 403, 404, 409, 413, 415, 422)),
    )
    async def approve(
        run_id: str, body: DecideBody, request: Request, idempotency_key: IdempotencyKey = None
    ) -> Response:
        edits = body.edits.model_dump() if body.edits and body.edits.skip else None
        decision = ApprovalDecision.APPROVE_WITH_EDITS if edits else ApprovalDecision.APPROVE
        by = decider(request, body.by)

        async def act(claim: Claim) -> Response:
            approval_id = await _approval_of(run_id, body.approval_id)
            await claim(approval_id)
            await host.approve(approval_id, by=by, reason=body.reason, edits=edits)
            return js(Decided(approval_id, decision))

        recover = _decided_as(decision, by, body.reason, edits)
        return await idem.once(idempotency_key, f"approve {run_id}", body, act, recover)

    @app.post(
        "/api/runs/{run_id}/reject",
        tags=["approvals"],
        operation_id="rejectRun",
        summary="Reject the run's pending approval (or the one named); a reason is required",
        responses=openapi_responses("Decided", Decided, errors=(401, 403, 404, 409, 413, 415, 422)),
    )
    async def reject(
        run_id: str, body: RejectBody, request: Request, idempotency_key: IdempotencyKey = None
    ) -> Response:
        by = decider(request, body.by)

        async def act(claim: Claim) -> Response:
            approval_id = await _approval_of(run_id, body.approval_id)
            await claim(approval_id)
            await host.reject(approval_id, reason=body.reason, by=by)
            return js(Decided(approval_id, ApprovalDecision.REJECT))

        recover = _decided_as(ApprovalDecision.REJECT, by, body.reason, None)
        return await idem.once(idempotency_key, f"reject {run_id}", body, act, recover)

    @app.post(
        "/api/runs/{run_id}/rewind",
        tags=["runs"],
        operation_id="rewindRun",
        summary="Fork the run: waves <= `wave` keep their results, later ones re-execute",
        description="With `dry_run` (200) only the plan; otherwise the fork (201, its URL in"
        " Location). The original run is never changed.",
        responses={
            **openapi_responses("The plan (dry run)", RewindPlan),
            **openapi_responses(
                "The fork's plan and new_run_id",
                RewindPlan,
                status=201,
                errors=(401, 403, 404, 409, 413, 415, 422),
            ),
        },
    )
    async def rewind(
        run_id: str, body: RewindBody, idempotency_key: IdempotencyKey = None
    ) -> Response:
        def forked(plan: RewindPlan) -> Response:
            return js(plan, 201, {"Location": f"/api/runs/{plan.new_run_id}"})

        async def act(claim: Claim) -> Response:
            if body.dry_run:
                return js(await host.rewind_plan(run_id, body.wave))
            await claim()
            return forked(await host.rewind(run_id, body.wave, force=body.force))

        async def recover(taken: KeyRecord) -> Response | None:
            """A fork of this wave made since the key was taken (forks are made only by
            rewinds, and this one asked for exactly that)."""
            forks = [
                f
                for f in await reader.forks_of(run_id)
                if f.rewound_from_wave == body.wave and f.created_at >= taken.taken_at
            ]
            if not forks:
                return None
            plan = await host.rewind_plan(run_id, body.wave)
            return forked(msgspec.structs.replace(plan, new_run_id=forks[0].run_id))

        return await idem.once(idempotency_key, f"rewind {run_id}", body, act, recover)

    @app.post(
        "/api/runs/{run_id}/retry",
        tags=["runs"],
        operation_id="retryRun",
        summary="Fork an ended run from just before its first failed wave (retry_count + 1)",
        status_code=201,
        responses=openapi_responses(
            "The new run (its URL in Location)",
            Retried,
            status=201,
            errors=(401, 403, 404, 409, 413, 415, 422),
        ),
    )
    async def retry(
        run_id: str,
        body: Annotated[ForceBody | None, Body()] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        force = body.force if body is not None else False

        def retried(new_run_id: str) -> Response:
            return js(Retried(run_id, new_run_id), 201, {"Location": f"/api/runs/{new_run_id}"})

        async def act(claim: Claim) -> Response:
            await reader.get_run(run_id)
            await claim()
            return retried(await host.retry(run_id, force=force))

        async def recover(taken: KeyRecord) -> Response | None:
            """A retry of this run made since the key was taken."""
            parent = await reader.get_run(run_id)
            forks = [
                f
                for f in await reader.forks_of(run_id)
                if f.retry_count == parent.retry_count + 1 and f.created_at >= taken.taken_at
            ]
            return retried(forks[0].run_id) if forks else None

        return await idem.once(idempotency_key, f"retry {run_id}", body, act, recover)

    @app.post(
        "/api/health/{workflow}/clear",
        tags=["health"],
        operation_id="clearHealth",
        summary="Clear a workflow's health: a blocked workflow takes new runs again",
        responses=openapi_responses("Cleared", Cleared, errors=(401, 403, 404, 413, 415, 422)),
    )
    async def clear_health(
        workflow: str,
        request: Request,
        body: Annotated[ClearBody | None, Body()] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        by = decider(request, body.by if body is not None else None)

        async def act(claim: Claim) -> Response:
            if workflow not in {h.workflow for h in await host.health()}:
                raise NotFoundError(f"workflow {workflow!r} has no runs here")
            await claim()
            await host.clear_health(workflow, by=by)
            return js(Cleared(workflow))

        return await idem.once(idempotency_key, f"clear health {workflow}", body, act)

    @app.post(
        "/api/runs/{run_id}/resume",
        tags=["runs"],
        operation_id="resumeRun",
        summary="Resume a live run that this server is not driving",
        responses=openapi_responses("Resumed", Resumed, errors=(401, 403, 404, 409, 413, 415, 422)),
    )
    async def resume(
        run_id: str,
        body: Annotated[Empty | None, Body()] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        async def act(claim: Claim) -> Response:
            await claim()
            await host.resume(run_id)
            return js(Resumed(run_id, True))

        return await idem.once(idempotency_key, f"resume {run_id}", None, act)

    @app.post(
        "/api/runs/{run_id}/cancel",
        tags=["runs"],
        operation_id="cancelRun",
        summary="Cancel a live run (it ends as cancelled)",
        responses=openapi_responses(
            "Cancelling", Cancelled, errors=(401, 403, 404, 409, 413, 415, 422)
        ),
    )
    async def cancel(
        run_id: str,
        body: Annotated[Empty | None, Body()] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        async def act(claim: Claim) -> Response:
            run = await reader.get_run(run_id)
            if run.status.is_terminal:
                raise ConflictError(f"run {run_id} is {run.status.value}; nothing to cancel")
            await claim()
            try:
                await host.cancel(run_id)
            except NotFoundError:  # live in the database, but nobody drives it
                raise ConflictError(f"run {run_id} is not active in this server") from None
            return js(Cancelled(run_id, True))

        async def recover(taken: KeyRecord) -> Response | None:
            run = await reader.get_run(run_id)
            if run.termination_reason is RunTerminationReason.USER_ABORT:
                return js(Cancelled(run_id, True))
            return None

        return await idem.once(idempotency_key, f"cancel {run_id}", None, act, recover)


async def _base_dir(given: str | None) -> str | None:
    """A submitted workflow's base directory: absolute, and a directory on this machine."""
    if given is None:
        return None
    if "\0" in given or not os.path.isabs(given):
        raise WorkflowError(
            f"base_dir: {given[:80]!r} is not an absolute path",
            source="request body",
            field="base_dir",
        )
    if not await anyio.Path(given).is_dir():
        raise WorkflowError(
            f"base_dir: {given[:80]!r} is not a directory where the server runs",
            source="request body",
            field="base_dir",
        )
    return given


def _source(body: SubmitBody) -> WorkflowSource | None:
    """What a submission of a workflow as data says it was defined in, as the run keeps it."""
    given = body.source
    if given is None:
        return None
    source = kept(SourceFormat(given.format), given.text, body.origin or "")
    if given.size is not None and given.size > source.size:  # cut by the client already
        return msgspec.structs.replace(source, size=given.size, truncated=True)
    return source
