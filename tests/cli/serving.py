"""Driving runtui from a shell, for tests: the command line as a subprocess and `runtui serve`
started, killed and started again on one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.cli.test_cli_server import free_port, query, wait_for

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "resume-paths-token"


def runtui(db: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtui", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,  # the workflow's custom rule lives in tests/
        env={**os.environ, "RUNTUI_TOKEN": TOKEN},
    )


class Serve:
    """`runtui serve` on `db`, startable again on the same database after a kill."""

    def __init__(self, db: Path | str, log: Path, *, node: str | None = None) -> None:
        self.db, self.log = db, log
        self.node = node  # RUNTUI_NODE_NAME: a process standing in for another machine
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, *, ready: bool = True) -> None:
        """Start `serve`; with `ready`, wait until it answers (without: a process expected to
        die early, e.g. killed by the run it takes over)."""
        port = free_port()
        with self.log.open("a") as err:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "runtui",
                    "--db",
                    str(self.db),
                    "serve",
                    "--port",
                    str(port),
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                text=True,
                cwd=ROOT,
                env={
                    **os.environ,
                    "RUNTUI_TOKEN": TOKEN,
                    **({"RUNTUI_NODE_NAME": self.node} if self.node else {}),
                },
            )
        url = self.url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, self.log.read_text()
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        if ready:
            wait_for(answers, "runtui serve to be ready")

    def api(self, method: str, path: str, body: object = None) -> httpx.Response:
        """A request to the server's API with its token."""
        return httpx.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )

    def submit(self, toml: str) -> str:
        answer = httpx.post(
            f"{self.url}/api/runs",
            json={"toml": toml},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["run_id"])

    def stop_quietly(self) -> None:
        """SIGTERM if still running (test clean-up)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def stop(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        assert code == (0 if sig is signal.SIGTERM else -signal.SIGKILL), self.log.read_text()


def ended(db: Path | str, run_id: str) -> tuple[object, ...]:
    def terminal() -> bool:
        rows = query(db, "SELECT status FROM runs WHERE run_id = ?", (run_id,))
        return rows[0][0] in ("succeeded", "failed", "failed_policy", "cancelled")

    wait_for(terminal, f"run {run_id} to end", timeout=30)
    ((status, reason, result),) = query(
        db,
        "SELECT r.status, r.termination_reason, s.result FROM runs r"
        " JOIN run_summaries s USING (run_id) WHERE run_id = ?",
        (run_id,),
    )
    return status, reason, result
