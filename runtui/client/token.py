"""Where a client finds the server's bearer token: `RUNTUI_TOKEN`, else the file `runtui serve`
wrote for this user.

Whoever can read that file can use the server as its user, so a token file other users may
read (or change) is reported each time it is used, with the fix. It is still used: refusing
would not take back what others may already have read, only lock its owner out (and stop a
`runtui serve` at its next start over a mode nobody noticed changing).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import platformdirs

#: Group and other read or write bits: what makes a token file less than private.
_SHARED = stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH


def token_file() -> Path:
    """Where `runtui serve` keeps its token (the same path as `runtui.server.security`)."""
    return Path(platformdirs.user_config_dir("runtui")) / "token"


def exposed_token_warning(path: Path) -> str | None:
    """What to tell the user when users other than the owner may read or change the token
    file at `path` (the file, its mode and the fix); None when it is private or absent."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & _SHARED:
        return None
    readable = mode & (stat.S_IRGRP | stat.S_IROTH)
    writable = mode & (stat.S_IWGRP | stat.S_IWOTH)
    what = " and ".join(w for w, on in (("read", readable), ("changed", writable)) if on)
    return (
        f"warning: the token file {path} can be {what} by other users (mode {mode:04o});"
        f" fix it with: chmod 600 {path}"
        + (
            " (and delete it if someone may have read it: serve makes a new one)"
            if readable
            else ""
        )
    )


def read_token(warn: Callable[[str], None] | None = None) -> str | None:
    """`RUNTUI_TOKEN`, else the token file of this user (as the server on this machine wrote
    it), else None. Never creates a token: that is the server's job. `warn` is told when the
    file it read is not private."""
    env = os.environ.get("RUNTUI_TOKEN", "").strip()
    if env:
        return env
    path = token_file()
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if text and warn is not None and (warning := exposed_token_warning(path)):
        warn(warning)
    return text or None
