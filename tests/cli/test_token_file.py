"""A token file other users can read: `runtui serve` and the commands that read it say so on
stderr, naming the file and the fix (`chmod 600 FILE`), and keep working; a private one (as
`serve` creates it) draws no warning."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from runtui.client.token import token_file
from tests.cli.test_cli_server import free_port, wait_for


@contextmanager
def serving(db: Path, log: Path) -> Iterator[str]:
    """`runtui serve` on `db` with no RUNTUI_TOKEN (so it uses the token file); its URL."""
    port = free_port()
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "runtui", "--db", str(db), "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert process.poll() is None, log.read_text()
        return "runtui serve: pid" in log.read_text()  # said after the API and the warning

    try:
        wait_for(ready, "runtui serve to be ready")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()


def runtui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtui", *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture(autouse=True)
def _no_token_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNTUI_TOKEN", raising=False)
    monkeypatch.delenv("RUNTUI_SERVER", raising=False)


def test_a_token_file_others_can_read_is_warned_about_and_still_used(
    db_path: Path, tmp_path: Path
) -> None:
    path = token_file()
    path.parent.mkdir(parents=True)
    path.write_text("shared-token\n")
    path.chmod(0o644)
    warning = f"the token file {path} can be read by other users (mode 0644)"
    fix = f"chmod 600 {path}"

    log = tmp_path / "serve.log"
    with serving(db_path, log) as url:
        said = log.read_text()
        assert warning in said
        assert fix in said
        answer = httpx.get(
            f"{url}/api/runs", headers={"Authorization": "Bearer shared-token"}, timeout=10
        )
        assert answer.status_code == 200  # the server kept working, on that token

        client = runtui("--server", url, "runs", "ls")
        assert client.returncode == 0, client.stderr
        assert "no runs" in client.stdout
        assert warning in client.stderr
        assert fix in client.stderr

        path.chmod(0o600)  # fixed as the warning says: the next command is quiet
        quiet = runtui("--server", url, "runs", "ls")
        assert quiet.returncode == 0, quiet.stderr
        assert quiet.stderr == ""


def test_the_token_file_serve_creates_is_private_and_draws_no_warning(
    db_path: Path, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    with serving(db_path, log) as url:
        path = token_file()
        assert path.stat().st_mode & 0o777 == 0o600
        assert "warning" not in log.read_text()
        client = runtui("--server", url, "runs", "ls")
        assert client.returncode == 0, client.stderr
        assert client.stderr == ""
