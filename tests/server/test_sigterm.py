"""`runtui serve` as a real process: SIGTERM stops accepting, tells stream clients `shutdown`,
drains for the grace period and exits 0; a run cut off mid-attempt stays live and completes
after the next start."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

TOKEN = "sigterm-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def slow_workflow(marker: Path) -> str:
    """`slow` sleeps for a minute the first time, and ends at once when run again."""
    return f"""
name = "drain"
[[tasks]]
id = "slow"
kind = "shell"
cmd = "if [ -e '{marker}' ]; then echo again; else touch '{marker}'; echo first; sleep 60; fi"
[[tasks]]
id = "after"
kind = "noop"
needs = ["slow"]
"""


class Server:
    """`python -m runtui --db DB serve --port 0`, its stderr read line by line on a thread."""

    def __init__(self, db: Path, env: dict[str, str], *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "runtui", "--db", str(db), "serve", "--port", "0", *extra],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        match = self.wait_line(r"API on (http://\S+)")
        self.url = match.group(1)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.lines.put(line)

    def close(self) -> None:
        """Kill the process if it still runs; release its pipe."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._reader.join(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def wait_line(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no stderr line matching {pattern!r}; got {''.join(self.stderr)}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if match := re.search(pattern, line):
                return match


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        s.close()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
    return value


def test_sigterm_drains_tells_streams_and_the_cut_off_run_completes_after_a_restart(
    db_path: Path, tmp_path: Path, servers: list[Server]
) -> None:
    env = {**os.environ, "RUNTUI_TOKEN": TOKEN, "ROK_GRACE_PERIOD_MS": "300"}
    first = Server(db_path, env)
    servers.append(first)
    client = httpx.Client(base_url=first.url, headers=AUTH, timeout=10)
    r = client.post("/api/runs", json={"toml": slow_workflow(tmp_path / "marker")})
    assert r.status_code == 201, r.text
    run_id = r.json()["run_id"]

    # an event-stream client, on a thread: it records every frame until the stream ends
    frames: list[str] = []
    attempt_running = threading.Event()
    stream_ended = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(base_url=first.url, headers=AUTH, timeout=30) as sse,
            sse.stream("GET", f"/api/runs/{run_id}/events/stream") as response,
        ):
            buffer = ""
            for text in response.iter_text():
                buffer += text
                while "\n\n" in buffer:
                    frame, buffer = buffer.split("\n\n", 1)
                    frames.append(frame)
                    if "event: attempt.started" in frame and '"task_id":"slow"' in frame:
                        attempt_running.set()
        stream_ended.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert attempt_running.wait(20), frames
    wait_for(
        lambda: any("first" in str(f) for f in frames if "attempt.output" in f),
        "the slow task to print (it is mid-attempt)",
    )

    started = time.monotonic()
    first.proc.send_signal(signal.SIGTERM)
    assert stream_ended.wait(10), "the stream did not end"
    assert frames[-1] == "event: shutdown\ndata: {}"
    assert first.proc.wait(timeout=10) == 0, "".join(first.stderr)
    assert time.monotonic() - started < 10
    err = "".join(first.stderr)
    assert "SIGTERM: draining" in err
    assert "1 live run(s) resume at the next start" in err
    assert TOKEN not in err
    with pytest.raises(httpx.ConnectError):  # it no longer accepts anything
        client.get("/healthz")
    client.close()

    second = Server(db_path, env)
    servers.append(second)
    with httpx.Client(base_url=second.url, headers=AUTH, timeout=10) as client:
        run = wait_for(
            lambda: (r := client.get(f"/api/runs/{run_id}").json())["status"] == "succeeded" and r,
            "the run to complete under the restarted server",
        )
        assert run["result"] == "success"
        attempts = client.get(f"/api/runs/{run_id}/detail").json()["attempts"]
        slow = [(a["attempt"], a["status"]) for a in attempts if a["task_id"] == "slow"]
        assert slow[0][1] != "completed"
        assert slow[-1] == (len(slow) - 1, "completed")
        statuses = [
            e["body"]["status"]
            for e in client.get(f"/api/runs/{run_id}/events", params={"limit": 5000}).json()
            if e["body"]["kind"] == "run.status"
        ]
        assert "interrupted" in statuses
        assert statuses[-1] == "succeeded"
        # the first server left the run live: nothing terminal before the restart's resume
        assert statuses.index("interrupted") < statuses.index("succeeded")
        assert all(s not in ("succeeded", "failed", "cancelled") for s in statuses[:-1])
    second.proc.send_signal(signal.SIGTERM)
    assert second.proc.wait(timeout=10) == 0
    assert TOKEN not in "".join(second.stderr)
