"""Who is acting: the name recorded with a decision made in this process."""

from __future__ import annotations

import getpass
import socket


def login_name() -> str:
    """The login name, or `user` where there is none (as in some containers)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name: still say who, generically
        return "user"


def who_decides() -> str:
    """user@host: the login name and this machine's name."""
    return f"{login_name()}@{socket.gethostname()}"
