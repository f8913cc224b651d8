"""The actions on a run from its screen: approve (with a comment), reject, rewind, cancel,
retry, resume, and which of them apply to the run on screen now.

The footer offers only what applies (`check_action`); a key that does not apply says why
instead of doing nothing (`on_key`), and read-only mode refuses every one of them. A cancel asks
first, saying what it does. The screen (`RunScreen`) owns the reads: these actions ask it to
re-read what they change.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import Input

from runtui.domain.views import ApprovalRow, TaskRow
from runtui.domain.why import ENDED_BADLY
from runtui.tui.messages import OpenRun
from runtui.tui.safe_text import safe_fields
from runtui.tui.screens.log_search import SearchableLogScreen

MUTATING_ACTIONS = frozenset(
    {"approve", "approve_with_comment", "reject", "rewind", "cancel", "resume", "retry"}
)
MUTATING_KEYS = {
    "a": "approve",
    "A": "approve_with_comment",
    "x": "reject",
    "w": "rewind",
    "c": "cancel",
    "R": "resume",
    "r": "retry",
}


#: The run screen lists these in its own bindings, in this order.
RUN_ACTION_BINDINGS: list[BindingType] = [
    Binding("a", "approve", "Approve", id="run.approve", tooltip="approve the oldest pending"),
    Binding(
        "A",
        "approve_with_comment",
        "Approve+comment",
        id="run.approve_comment",
        show=False,
        tooltip="approve the oldest pending with a comment (recorded with the decision)",
    ),
    Binding("x", "reject", "Reject", id="run.reject", tooltip="reject (asks for a reason)"),
    Binding("w", "rewind", "Rewind", id="run.rewind", tooltip="fork the run from a wave"),
    Binding("c", "cancel", "Cancel", id="run.cancel", tooltip="stop the run"),
    Binding("R", "resume", "Resume", id="run.resume", tooltip="resume an interrupted run"),
    Binding(
        "r",
        "retry",
        "Retry",
        id="run.retry",
        tooltip="a failed run again, as a fork from just before its first failed wave",
    ),
]


class RunActionsScreen(SearchableLogScreen):
    """A run's screen with the actions on the run; the subclass reads and shows the run."""

    tasks: list[TaskRow]
    approvals: list[ApprovalRow]  # pending, oldest first
    driven: dict[str, int]  # the runs this process drives

    async def _reload(self, *, run: bool = True, approvals: bool = False) -> None:
        """Re-read the run (and its pending approvals) and show them: the screen's own reads."""
        raise NotImplementedError

    # --- what applies ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers only what applies to the run on screen: no mutating action in
        read-only mode, approve/reject only with an approval pending, cancel only while the
        run lives, resume only for a live run nobody here drives."""
        if action in MUTATING_ACTIONS and self.rt_app.read_only:
            return False
        return self._why_not(action) is None

    def _why_not(self, action: str) -> str | None:
        """Why `action` does not apply to the run now (None: it does)."""
        run = self.run
        if run is None:
            return None if action not in MUTATING_ACTIONS else "the run is not loaded"
        if action in ("approve", "approve_with_comment", "reject") and not self.approvals:
            verb = "reject" if action == "reject" else "approve"
            return f"nothing to {verb}: this run has no pending approval"
        if action in ("cancel", "resume") and run.status.is_terminal:
            return f"the run already ended ({run.status.value})"
        if action == "retry" and run.status not in ENDED_BADLY:
            return f"retry is for a run that failed or was stopped ({run.status.value})"
        if action == "resume" and self.run_id in self.driven:
            return "this runtui drives the run already: nothing to resume"
        return None

    def _explain_if_not_applicable(self, action: str) -> bool:
        why = self._why_not(action)
        if why is not None:
            self.notify(why, severity="warning", markup=False)
        return why is not None

    def on_key(self, event: events.Key) -> None:
        # Hidden bindings do not fire; say why instead of ignoring the key silently.
        if isinstance(self.focused, Input) or event.key not in MUTATING_KEYS:
            return
        if self.rt_app.read_only:
            event.stop()
            self.rt_app.refuse_read_only()
        elif self._explain_if_not_applicable(MUTATING_KEYS[event.key]):
            event.stop()

    # --- actions on the run ------------------------------------------------------------------

    async def _pending(self, verb: str) -> ApprovalRow | None:
        await self._reload(run=False, approvals=True)
        if not self.approvals:
            self.notify(f"nothing to {verb}: this run has no pending approval", severity="warning")
            return None
        return self.approvals[0]

    async def action_approve(self) -> None:
        if self.rt_app.refuse_read_only() or (a := await self._pending("approve")) is None:
            return
        label = a.task_id or a.kind.value
        await self.rt_app.attempt(self.client.approve(a.approval_id), success=f"approved: {label}")
        await self._reload(approvals=True)

    async def action_approve_with_comment(self) -> None:
        if self.rt_app.refuse_read_only() or (a := await self._pending("approve")) is None:
            return
        self._decide_in_words(a, approve=True)

    async def action_reject(self) -> None:
        if self.rt_app.refuse_read_only() or (a := await self._pending("reject")) is None:
            return
        self._decide_in_words(a, approve=False)

    def _decide_in_words(self, a: ApprovalRow, *, approve: bool) -> None:
        from runtui.tui.dialogs.reject import decide_in_words

        shown = safe_fields(a)
        what = f"{shown.kind.value} gate" + (f" {shown.task_id}" if shown.task_id else "")
        decide_in_words(
            self,
            a,
            approve=approve,
            prompt=f"{what}: {shown.prompt or '—'}",
            label=a.task_id or a.kind.value,
            then=lambda: self._reload(approvals=True),
        )

    def action_rewind(self) -> None:
        from runtui.tui.dialogs.rewind import rewind_and_open

        rewind_and_open(self.rt_app, self.run_id, len({t.wave for t in self.tasks}))

    def action_cancel(self) -> None:
        if self.rt_app.refuse_read_only() or self._explain_if_not_applicable("cancel"):
            return
        from runtui.tui.dialogs.confirm import ConfirmDialog

        run = safe_fields(self.run)
        assert run is not None
        question = (
            f"Cancel run {run.run_id} ({run.workflow}, {run.status.value})? Its running tasks"
            " are stopped and it ends cancelled; a rewind can fork it again from a wave."
        )

        async def answered(yes: bool | None) -> None:
            if yes:
                await self.rt_app.attempt(
                    self.client.cancel(self.run_id), success="cancel requested"
                )

        self.app.push_screen(ConfirmDialog("Cancel the run?", question, yes="Cancel run"), answered)

    async def action_retry(self) -> None:
        if self.rt_app.refuse_read_only() or self._explain_if_not_applicable("retry"):
            return
        new_run = await self.rt_app.attempt(self.client.retry(self.run_id))
        if new_run is not None:
            self.notify(f"retrying as run {new_run}", timeout=4, markup=False)
            self.post_message(OpenRun(new_run))

    async def action_resume(self) -> None:
        if self.rt_app.refuse_read_only():
            return
        await self.rt_app.attempt(self.client.resume(self.run_id), success="resumed")
