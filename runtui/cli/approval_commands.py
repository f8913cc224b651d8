"""Approval commands: approvals (the inbox), approve, reject.

Each decides through the port (`driving.open_port`: the runtime embedded here, or a server's
API), once, and then lets the run settle: it finishes or waits again.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from runtui.cli import (
    Context,
    UsageProblem,
    _run,
    main,
    pass_ctx,
)
from runtui.cli.render import (
    DASH,
    echo,
    fmt_age,
    fmt_secs,
    shorten,
    table,
    to_json,
)

if TYPE_CHECKING:
    from runtui.domain.views import ApprovalRow

from runtui.cli.driving import (
    current_user,
    drive_run,
    finish,
    follow_options,
    open_port,
    reading,
    say,
)

# --- approvals ----------------------------------------------------------------------------------


@main.command("approvals")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def approvals_cmd(c: Context, as_json: bool) -> None:
    """Pending approvals of live runs, oldest first."""

    async def go() -> None:
        async with reading(c) as reader:
            pending = []
            for ap in await reader.pending_approvals():
                run = await reader.get_run(ap.run_id)
                if not run.status.is_terminal:  # an ended run's request can no longer matter
                    pending.append(ap)
        if as_json:
            for ap in pending:
                click.echo(to_json(ap))
            return
        if not pending:
            echo("no pending approvals")
            return
        now = time.time()
        rows = [
            [
                ap.approval_id,
                ap.run_id,
                ap.kind.value,
                ap.task_id or DASH,
                fmt_age(ap.requested_at, now),
                _then(ap, now),
                shorten(ap.prompt, 60) or DASH,
            ]
            for ap in pending
        ]
        header = ["approval", "run", "kind", "task", "age", "undecided", "prompt"]
        for line in table(header, rows, right="age"):
            echo(line)
        approve, reject = c.command("approve", "ID"), c.command("reject", "ID", "--reason", "TEXT")
        echo(f"decide: {approve}  or  {reject}")

    _run(go)


def _then(ap: ApprovalRow, now: float) -> str:
    """What an undecided approval turns into, and when ("reject in 4.0m"; "waits")."""
    if ap.timeout_s is None:
        return "waits"
    left = max(0.0, ap.requested_at + ap.timeout_s - now)
    return f"{ap.default_action.value} in {fmt_secs(left)}"


class Decidable(NamedTuple):
    """A pending approval, with its run's workflow and task ids (what plan edits may name)."""

    ap: ApprovalRow
    workflow: str
    tasks: set[str]


async def _decidable(c: Context, approval_id: str) -> Decidable:
    """The approval, checked before anything is owned: unknown (exit 3), already decided
    (exit 2, naming the first decision, as the runtime would), or pending for a run that has
    ended (exit 2)."""
    from runtui.domain.errors import ApprovalAlreadyDecided

    async with reading(c) as reader:
        ap = await reader.get_approval(approval_id)
        if ap.decision is not None:
            first = f"{ap.decision.value} by {ap.decided_by or 'unknown'}"
            raise ApprovalAlreadyDecided(approval_id, first)
        run = await reader.get_run(ap.run_id)
        if run.status.is_terminal:
            raise UsageProblem(
                f"approval {approval_id} can no longer be decided: its run {ap.run_id} ended"
                f" ({run.status.value}) before anyone decided it"
            )
        tasks = {t.task_id for t in await reader.tasks_of(ap.run_id)}
    return Decidable(ap, run.workflow, tasks)


def _check_edits(pending: Decidable, edits: dict[str, Any]) -> None:
    """Plan edits name tasks of the run's workflow: checked here, before the runtime sees
    them, so a typo is refused without deciding anything."""
    ap = pending.ap
    if ap.kind.value != "plan":
        raise UsageProblem(f"--edits applies to plan approvals; {ap.approval_id} is a {_what(ap)}")
    unknown_keys = sorted(set(edits) - {"skip"})
    skip = edits.get("skip", [])
    if unknown_keys or not isinstance(skip, list) or not all(isinstance(t, str) for t in skip):
        raise UsageProblem(
            '--edits: the only edit is {"skip": ["task", ...]}'
            + (f"; unknown: {', '.join(unknown_keys)}" if unknown_keys else "")
        )
    workflow, known = pending.workflow, pending.tasks
    missing = [t for t in skip if t not in known]
    if missing:
        raise UsageProblem(
            f"--edits: workflow {workflow} has no task {', '.join(map(repr, missing))};"
            f" its tasks: {', '.join(sorted(known))}"
        )


def _what(ap: ApprovalRow) -> str:
    return f"{ap.kind.value} approval" + (f" for {ap.task_id}" if ap.task_id else "")


@main.command("approve")
@click.argument("approval_id")
@click.option("--by", default=current_user, show_default="you: user@host", help="Who decides.")
@click.option("--reason", default="", help="Why (recorded with the decision).")
@click.option("--edits", help='Plan approvals only: JSON edits, e.g. \'{"skip": ["task"]}\'.')
@follow_options
@pass_ctx
def approve_cmd(
    c: Context,
    approval_id: str,
    by: str,
    reason: str,
    edits: str | None,
    follow: bool,
    as_json: bool,
) -> None:
    """Approve a pending approval and drive its run on (to its end, or the next approval).

    Exit code as for `run`; 2 if the approval was already decided (the message says how and
    by whom).
    """
    parsed: dict[str, Any] | None = None
    if edits is not None:
        try:
            value = json.loads(edits)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--edits") from None
        if not isinstance(value, dict) or not value:
            raise click.BadParameter(
                'must be a non-empty JSON object, e.g. \'{"skip": ["task"]}\'',
                param_hint="--edits",
            )
        parsed = value

    async def go() -> int:
        pending = await _decidable(c, approval_id)
        if parsed is not None:
            _check_edits(pending, parsed)
        ap = pending.ap
        async with open_port(c, about=ap.run_id) as port:
            seen = (await port.get_run(ap.run_id)).last_seq
            await port.approve(approval_id, by=by, reason=reason, edits=parsed)
            recorded = (await port.get_approval(approval_id)).decided_by or by
            note = f"approved {approval_id} ({_what(ap)} of run {ap.run_id}) by {recorded}"
            if parsed:
                note += f" with edits {json.dumps(parsed)}"
            say(note, as_json)
            return await drive_run(
                c, port, ap.run_id, follow=follow, as_json=as_json, after_seq=seen
            )

    finish(_run(go))


@main.command("reject")
@click.argument("approval_id")
@click.option("--reason", required=True, help="Why (required; recorded with the decision).")
@click.option("--by", default=current_user, show_default="you: user@host", help="Who decides.")
@follow_options
@pass_ctx
def reject_cmd(
    c: Context, approval_id: str, reason: str, by: str, follow: bool, as_json: bool
) -> None:
    """Reject a pending approval; its run fails with approval_rejected (exit 5)."""
    if not reason.strip():
        raise click.BadParameter("must say why", param_hint="--reason")

    async def go() -> int:
        ap = (await _decidable(c, approval_id)).ap
        async with open_port(c, about=ap.run_id) as port:
            seen = (await port.get_run(ap.run_id)).last_seq
            await port.reject(approval_id, reason=reason, by=by)
            recorded = (await port.get_approval(approval_id)).decided_by or by
            note = f"rejected {approval_id} ({_what(ap)} of run {ap.run_id}) by {recorded}"
            note += f": {reason}"
            say(note, as_json)
            return await drive_run(
                c, port, ap.run_id, follow=follow, as_json=as_json, after_seq=seen
            )

    finish(_run(go))
