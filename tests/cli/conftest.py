"""Fixtures of the command-line tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.serving import Serve


@pytest.fixture
def serve(tmp_path: Path, db_path: Path) -> Iterator[Serve]:
    s = Serve(db_path, tmp_path / "serve.log")
    yield s
    s.stop_quietly()
