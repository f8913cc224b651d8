"""Approval commands: approvals (the inbox), approve, reject.

Each decides through the embedded runtime (see `driving`), or through the server's API when a
server owns the database (`remote`), and then drives the run on until it finishes or waits.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

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
    from store.rows import ApprovalRow

from runtui.cli.driving import (
    current_user,
    drive_run,
    finish,
    follow_options,
    open_runtime,
    say,
)

# --- approvals ----------------------------------------------------------------------------------


@main.command("approvals")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def approvals_cmd(c: Context, as_json: bool) -> None:
    """Pending approvals of live runs, oldest first."""
    from runtui.cli.remote import reads

    async def go() -> None:
        async with reads(c) as reader:
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


async def _decidable(c: Context, approval_id: str) -> ApprovalRow:
    """The approval, checked from the store before anything is owned: unknown (exit 3),
    already decided (exit 2, naming the first decision, as the runtime would), or pending for
    a run that has ended (exit 2)."""
    from actors.gates import ApprovalAlreadyDecided
    from store import open_reader

    async with open_reader(c.db) as reader:
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
    return ap


async def _check_edits(c: Context, ap: ApprovalRow, edits: dict[str, Any]) -> None:
    """Plan edits name tasks of the run's workflow: checked here, before the runtime sees
    them, so a typo is refused without deciding anything."""
    from actors.resume import load_workflow_of
    from store import open_reader

    if ap.kind.value != "plan":
        raise UsageProblem(f"--edits applies to plan approvals; {ap.approval_id} is a {_what(ap)}")
    unknown_keys = sorted(set(edits) - {"skip"})
    skip = edits.get("skip", [])
    if unknown_keys or not isinstance(skip, list) or not all(isinstance(t, str) for t in skip):
        raise UsageProblem(
            '--edits: the only edit is {"skip": ["task", ...]}'
            + (f"; unknown: {', '.join(unknown_keys)}" if unknown_keys else "")
        )
    async with open_reader(c.db) as reader:
        workflow, _ = await load_workflow_of(reader, ap.run_id)
    known = {t.id for t in workflow.tasks}
    missing = [t for t in skip if t not in known]
    if missing:
        raise UsageProblem(
            f"--edits: workflow {workflow.name} has no task {', '.join(map(repr, missing))};"
            f" its tasks: {', '.join(sorted(known))}"
        )


def _what(ap: ApprovalRow) -> str:
    return f"{ap.kind.value} approval" + (f" for {ap.task_id}" if ap.task_id else "")


@main.command("approve")
@click.argument("approval_id")
@click.option("--by", default=current_user, show_default="your login name", help="Who decides.")
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
        if (url := c.remote_url()) is not None:
            from runtui.cli.remote import decide_remote

            return await decide_remote(
                c,
                url,
                approval_id,
                approve=True,
                by=by,
                reason=reason,
                edits=parsed,
                follow=follow,
                as_json=as_json,
            )
        ap = await _decidable(c, approval_id)
        if parsed is not None:
            await _check_edits(c, ap, parsed)
        async with open_runtime(c, about=ap.run_id) as rt:
            seen = (await rt.reader.get_run(ap.run_id)).last_seq
            await rt.approve(approval_id, by=by, reason=reason, edits=parsed)
            note = f"approved {approval_id} ({_what(ap)} of run {ap.run_id}) by {by}"
            if parsed:
                note += f" with edits {json.dumps(parsed)}"
            say(note, as_json)
            return await drive_run(c, rt, ap.run_id, follow=follow, as_json=as_json, after_seq=seen)

    finish(_run(go))


@main.command("reject")
@click.argument("approval_id")
@click.option("--reason", required=True, help="Why (required; recorded with the decision).")
@click.option("--by", default=current_user, show_default="your login name", help="Who decides.")
@follow_options
@pass_ctx
def reject_cmd(
    c: Context, approval_id: str, reason: str, by: str, follow: bool, as_json: bool
) -> None:
    """Reject a pending approval; its run fails with approval_rejected (exit 5)."""
    if not reason.strip():
        raise click.BadParameter("must say why", param_hint="--reason")

    async def go() -> int:
        if (url := c.remote_url()) is not None:
            from runtui.cli.remote import decide_remote

            return await decide_remote(
                c,
                url,
                approval_id,
                approve=False,
                by=by,
                reason=reason,
                edits=None,
                follow=follow,
                as_json=as_json,
            )
        ap = await _decidable(c, approval_id)
        async with open_runtime(c, about=ap.run_id) as rt:
            seen = (await rt.reader.get_run(ap.run_id)).last_seq
            await rt.reject(approval_id, reason=reason, by=by)
            note = f"rejected {approval_id} ({_what(ap)} of run {ap.run_id}) by {by}: {reason}"
            say(note, as_json)
            return await drive_run(c, rt, ap.run_id, follow=follow, as_json=as_json, after_seq=seen)

    finish(_run(go))
