"""Where a client finds the server's bearer token: `RUNTUI_TOKEN`, else the file `runtui serve`
wrote for this user."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def token_file() -> Path:
    """Where `runtui serve` keeps its token (the same path as `runtui.server.security`)."""
    return Path(platformdirs.user_config_dir("runtui")) / "token"


def read_token() -> str | None:
    """`RUNTUI_TOKEN`, else the token file of this user (as the server on this machine wrote
    it), else None. Never creates a token: that is the server's job."""
    env = os.environ.get("RUNTUI_TOKEN", "").strip()
    if env:
        return env
    try:
        text = token_file().read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None
