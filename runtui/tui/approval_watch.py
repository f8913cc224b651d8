"""What waits for a human, across every run: how many approvals, how old the oldest is, and
which ones arrived since the last look (those are announced: a toast, the bell, and, where the
user turned it on, a desktop notification through the terminal).

The app re-reads the pending approvals when an approval event commits (or the feed lagged) and
hands the result here; this module decides what is new and how it reads, so the rules are
tested without a terminal. The first look announces nothing: what was waiting before the UI
opened is shown in the count, not rung.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from runtui.domain.terminal_text import terminal_safe
from runtui.domain.views import ApprovalRow
from runtui.tui.glyphs import duration, short_id

#: The ways a new approval can be announced (`RUNTUI_APPROVAL_ALERT`, comma-separated).
ALERTS = ("toast", "bell", "osc9", "osc777")
DEFAULT_ALERTS = ("toast", "bell")
#: A desktop notification's text is cut to this many characters (terminals cap it anyway).
MAX_NOTIFICATION = 200


@dataclass
class ApprovalWatch:
    pending: list[ApprovalRow] = field(default_factory=list)
    _known: set[str] | None = None  # None: nothing seen yet (the first look rings nothing)

    def update(self, pending: Iterable[ApprovalRow]) -> list[ApprovalRow]:
        """Take the pending approvals now (oldest first); those that are new since the last
        look, oldest first."""
        self.pending = sorted(pending, key=lambda a: (a.requested_at, a.approval_id))
        ids = {a.approval_id for a in self.pending}
        new = (
            []
            if self._known is None
            else [a for a in self.pending if a.approval_id not in self._known]
        )
        self._known = ids
        return new

    def summary(self, now: float, *, narrow: bool = False) -> str:
        """`⏸ 2 approvals waiting · oldest 4m12s`, or `narrow`, `⏸ 2 waiting · oldest 4m12s`
        (empty when nothing waits)."""
        if not self.pending:
            return ""
        oldest = duration(max(0.0, now - self.pending[0].requested_at))
        n = len(self.pending)
        if narrow:
            return f"⏸ {n} waiting · oldest {oldest}"
        return f"⏸ {n} approval{'s' if n != 1 else ''} waiting · oldest {oldest}"


def announcement(a: ApprovalRow) -> str:
    """One line saying what asks: `⏸ task gate publish-gate of run …ed0006: Publish?`."""
    what = f"{a.kind.value} gate" + (f" {a.task_id}" if a.task_id else "")
    text = f"⏸ {what} of run {short_id(a.run_id)}" + (f": {a.prompt}" if a.prompt else "")
    return terminal_safe(text, one_line=True)


def desktop_notification(kind: str, a: ApprovalRow, *, tmux: bool = False) -> str:
    """The escape sequence asking the terminal for a desktop notification (`osc9`: iTerm2,
    WezTerm, kitty, Windows Terminal...; `osc777`: VTE terminals, foot, Ghostty...). What it
    carries is made safe first, and stripped of what would end or split the sequence (`;`
    separates OSC 777's fields).

    Inside tmux (`tmux`) the sequence goes in tmux's passthrough wrapper (a DCS whose ESCs are
    doubled), which tmux 3.3+ hands to the terminal outside when `allow-passthrough` is on and
    drops otherwise: tmux itself never shows OSC 9 or 777."""
    body = announcement(a)[:MAX_NOTIFICATION]
    if kind == "osc9":
        sequence = f"\x1b]9;{body}\x07"
    elif kind == "osc777":
        sequence = f"\x1b]777;notify;runtui: approval waiting;{body.replace(';', ',')}\x07"
    else:
        raise ValueError(f"not a desktop notification: {kind}")
    if tmux:
        return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence
