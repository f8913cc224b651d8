"""An attempt's process group outlives the process that started it only until someone kills it.

A shell attempt runs in its own process group. If the runtime that started it dies (kill -9,
a crash, the machine's OOM killer), two things keep the group from living on beside the attempt
that replaces it:

- the group's leader gets SIGKILL from the kernel when its parent dies (Linux parent-death
  signal, set by `setpriv --pdeathsig` in front of the shell, where `setpriv` exists);
- the group is recorded once it exists (`ProcessGroupRef`: pgid, the leader's start time, the
  boot id), and whoever resumes the run kills what is left of it before the attempt runs again
  (`kill_group`). Grandchildren that the dead leader left behind are found by their group id.

The record is made just after the group starts; if the runtime dies in between, the group is
found by the variable every process of an attempt inherits, `RUNTUI_IDEMPOTENCY_KEY` (unique per
attempt), among this user's processes (`kill_marked`).

A pid can be reused once its process is gone. The group is only touched when its leader is the
same process (same start time, same boot) or is gone while members of its group remain: Linux
does not hand out a pid that is still the id of a live process group, so those members are
ours.
"""

from __future__ import annotations

import os
import shutil
import signal
from contextlib import suppress
from pathlib import Path

import anyio

from runtui.domain.events import ProcessGroupRef

PROC = Path("/proc")
KILL_WAIT_S = 5.0  # how long `kill_group` waits for the group's members to be gone
POLL_S = 0.01

#: `setpriv --pdeathsig KILL` before the shell, where util-linux provides it (Linux only).
SETPRIV = shutil.which("setpriv")
PDEATHSIG_PREFIX: tuple[str, ...] = (SETPRIV, "--pdeathsig", "KILL") if SETPRIV else ()


def _boot_id() -> str:
    try:
        return (PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


BOOT_ID = _boot_id()


def _stat(pid: int) -> tuple[int, int] | None:
    """(process group id, start time in clock ticks) of `pid`, or None if it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ..." - comm may hold spaces and parentheses
    fields = raw[raw.rfind(b")") + 2 :].split()
    return int(fields[2]), int(fields[19])


def describe(pid: int) -> ProcessGroupRef | None:
    """The group led by `pid` (a process started with a new session), if /proc can tell."""
    stat = _stat(pid)
    if stat is None or not BOOT_ID:
        return None
    return ProcessGroupRef(pgid=pid, start_ticks=stat[1], boot_id=BOOT_ID)


def members(group: ProcessGroupRef) -> list[int] | None:
    """The live processes of `group`; None when the group is not ours to touch (another boot
    or machine, or its pid now belongs to an unrelated process)."""
    if group.boot_id != BOOT_ID or not BOOT_ID:
        return None
    leader = _stat(group.pgid)
    if leader is not None and leader[1] != group.start_ticks:
        return None  # the pid was reused: not our process
    found: list[int] = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] == group.pgid:
                found.append(int(entry.name))
    return found


async def kill_group(group: ProcessGroupRef) -> int:
    """SIGKILL what is left of `group` and wait (bounded) until it is gone; the number of
    processes that were killed."""
    alive = members(group)
    if not alive:
        return 0
    try:
        os.killpg(group.pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return 0
    await _gone(alive)
    return len(alive)


def _running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting to be reaped by its parent."""
    try:
        state = (PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return False
    return state[state.rfind(b")") + 2 : state.rfind(b")") + 3] != b"Z"


MARKER = "RUNTUI_IDEMPOTENCY_KEY"


def marked(*keys: str) -> list[int]:
    """This user's live processes whose environment says they belong to one of the attempts
    `keys` (one look at every process, however many keys)."""
    needles = [f"{MARKER}={key}".encode() + b"\0" for key in keys]
    found: list[int] = []
    me = os.getpid()
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = b"\0" + (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if any(b"\0" + n in environ for n in needles) and _running(int(entry.name)):
            found.append(int(entry.name))
    return found


async def kill_marked(*keys: str) -> int:
    """SIGKILL every process of the attempts `keys` (found by their environment) and wait,
    bounded, until they are gone; the number killed."""
    if not keys:
        return 0
    pids = marked(*keys)
    for pid in pids:
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    await _gone(pids)
    return len(pids)


async def _gone(pids: list[int]) -> None:
    # No notice reaches a process that is not the parent when another one dies: look again.
    for _ in range(int(KILL_WAIT_S / POLL_S)):
        if not any(_running(pid) for pid in pids):
            return
        await anyio.sleep(POLL_S)
