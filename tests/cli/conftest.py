"""Fixtures of the command-line tests."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.serving import Serve


@pytest.fixture
def serve(tmp_path: Path, db_path: Path) -> Iterator[Serve]:
    s = Serve(db_path, tmp_path / "serve.log")
    yield s
    if s.process is not None and s.process.poll() is None:
        s.process.send_signal(signal.SIGTERM)
        s.process.wait(timeout=30)
