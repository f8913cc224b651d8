"""Who is acting: the name recorded with a decision made in this process."""

from __future__ import annotations

import getpass
import socket


def who_decides() -> str:
    """user@host: the login name (or `user` where there is none, as in some containers) and
    this machine's name."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name: still say who, generically
        user = "user"
    return f"{user}@{socket.gethostname()}"
