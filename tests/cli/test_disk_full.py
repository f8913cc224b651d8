"""`runtui serve` on a disk that fills up: the request the full disk refuses gets 503 (nothing
half-written), readiness says the database does not take writes, the server stays up, and once
space is back it carries on by itself: the same request succeeds and the run finishes.

The database lives on a small tmpfs mounted for the test (root only; skipped elsewhere)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.serving import Serve
from tests.cli.test_cli_server import wait_for

GATED = (
    'name = "full"\n[[tasks]]\nid = "g"\nkind = "gate"\n'
    '[[tasks]]\nid = "after"\nkind = "shell"\ncmd = "echo done"\nneeds = ["g"]'
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_pauses_serve_until_space_is_back(small_disk: Path, tmp_path: Path) -> None:
    serve = Serve(small_disk / "runs.db", tmp_path / "serve.log")
    serve.start()
    try:
        run_id = serve.submit(GATED)
        wait_for(
            lambda: serve.api("GET", f"/api/runs/{run_id}").json()["status"] == "awaiting_approval",
            "the gate",
        )
        filler = fill(small_disk)

        refused = serve.api("POST", f"/api/runs/{run_id}/approve", {"by": "ann"})
        assert refused.status_code == 503, refused.text
        assert "refuses writes" in refused.json()["detail"]
        ready = serve.api("GET", "/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["writable"] is False
        assert serve.api("GET", f"/api/runs/{run_id}").json()["status"] == "awaiting_approval"

        filler.unlink()  # space is back: nobody restarts anything
        wait_for(lambda: serve.api("GET", "/readyz").status_code == 200, "readiness again")
        approved = serve.api("POST", f"/api/runs/{run_id}/approve", {"by": "ann"})
        assert approved.status_code == 200, approved.text
        wait_for(
            lambda: serve.api("GET", f"/api/runs/{run_id}").json()["status"] == "succeeded",
            "the run to finish",
        )
        assert serve.process is not None
        assert serve.process.poll() is None  # it never went down
    finally:
        serve.stop_quietly()
