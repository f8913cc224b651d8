"""Kill -9 soak: several `runtui serve` nodes on one database, runs with gates submitted to any
live node, a node killed with SIGKILL again and again (and started again), then every run
checked (run by hand; also the issue's acceptance check).

    .venv/bin/python bench/soak.py [--nodes 2] [--runs 200] [--kills 20] [--ttl 2]
                                   [--postgres postgresql://postgres@127.0.0.1:5432/test]

On SQLite the nodes share a file in a temporary directory; with `--postgres URL` they share
a fresh schema of that database (dropped at the end unless `--keep`).

Each node has a node name of its own (`RUNTUI_NODE_NAME`), so the others learn that it died
only from its lease expiring, as they would if it were another machine. Runs are `gate ->
nap (sleep 0.3 s) -> noop`; an approver approves every waiting gate through a random live
node. A submission counts as acknowledged once a node answered 201.

Reported: runs/s over the whole soak, and the take-over time after each kill (from the kill
until every live run the dead node drove was claimed by another node: its lease's TTL plus
up to a third of it before a node looks). Checked at the end: every acknowledged run is in the
database and finished, and `verify` passes for each (seq gap-free, no event written under an
older lease epoch after a newer one, i.e. nothing written by a fenced owner, projections equal
a replay). Exit 1 if any check fails.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TOKEN = "soak-token"
WORKFLOW = """
name = "soak"
[[tasks]]
id = "gate"
kind = "gate"
prompt = "go?"
[[tasks]]
id = "nap"
kind = "sleep"
seconds = 0.3
needs = ["gate"]
[[tasks]]
id = "done"
kind = "noop"
needs = ["nap"]
"""
WAIT_AT_GATE_S = 1.0
TERMINAL = ("succeeded", "failed", "failed_policy", "cancelled")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    name: str
    db: Path | str
    ttl: float
    log: Path
    process: subprocess.Popen[bytes] | None = None
    url: str = ""

    def start(self) -> None:
        port = free_port()
        env = {
            **os.environ,
            "RUNTUI_TOKEN": TOKEN,
            "RUNTUI_NODE_NAME": self.name,
            "RUNTUI_LEASE_TTL_S": str(self.ttl),
            "RUNTUI_DURABILITY": "fast",
        }
        with self.log.open("ab") as log:
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
                stderr=log,
                env=env,
            )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start; see {self.log}")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@dataclass
class Soak:
    nodes: list[Node]
    runs: int
    pace_s: float
    acked: list[str] = field(default_factory=list)
    refused: int = 0
    takeovers: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def live(self) -> list[Node]:
        with self.lock:
            return [n for n in self.nodes if n.alive]

    def call(self, method: str, path: str, body: object = None) -> httpx.Response | None:
        live = self.live()
        if not live:
            return None
        node = random.choice(live)
        try:
            return httpx.request(
                method,
                f"{node.url}{path}",
                json=body,
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=10,
            )
        except httpx.HTTPError:
            return None  # it died under us: not acknowledged

    def submitter(self) -> None:
        while len(self.acked) < self.runs and not self.stop.is_set():
            answer = self.call("POST", "/api/runs", {"toml": WORKFLOW})
            if answer is not None and answer.status_code == 201:
                self.acked.append(answer.json()["run_id"])
            else:
                self.refused += 1
                time.sleep(0.05)
            time.sleep(self.pace_s)  # spread the runs over the kills: each kill meets live runs

    def approver(self) -> None:
        while not self.stop.is_set():
            answer = self.call("GET", "/api/approvals")
            if answer is not None and answer.status_code == 200:
                now = time.time()
                # a person takes a moment: gates wait ~1 s, so every node holds live runs
                ready = [a for a in answer.json() if now - a["requested_at"] > WAIT_AT_GATE_S]
                for approval in ready[:20]:
                    self.call(
                        "POST",
                        f"/api/runs/{approval['run_id']}/approve",
                        {"approval_id": approval["approval_id"], "by": "soak"},
                    )
            time.sleep(0.1)


def query(db: Path | str, sql: str, *args: object) -> list[tuple[object, ...]]:
    if isinstance(db, str):
        import psycopg

        from runtui.store.pg import to_pg

        with psycopg.connect(db, autocommit=True) as pg:
            return [tuple(r) for r in pg.execute(to_pg(sql), args or None).fetchall()]
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def driven_by(db: Path | str, node: str) -> set[str]:
    rows = query(
        db,
        "SELECT l.run_id FROM run_leases l JOIN owners o ON o.owner_id = l.owner"
        " JOIN runs r ON r.run_id = l.run_id WHERE o.host = ? AND r.status NOT IN"
        " ('succeeded', 'failed', 'failed_policy', 'cancelled')",
        node,
    )
    return {str(r[0]) for r in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--ttl", type=float, default=2.0)
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    parser.add_argument("--postgres", metavar="URL", help="share this PostgreSQL database")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="runtui-soak-"))
    db: Path | str = tmp / "soak.db"
    schema = ""
    if args.postgres:
        import psycopg

        schema = f"soak_{os.getpid()}"
        with psycopg.connect(args.postgres, autocommit=True) as pg:
            pg.execute(f"CREATE SCHEMA {schema}")
        joiner = "&" if "?" in args.postgres else "?"
        db = f"{args.postgres}{joiner}options=-csearch_path%3D{schema}"
    nodes = [Node(f"node-{i}", db, args.ttl, tmp / f"node-{i}.log") for i in range(args.nodes)]
    for node in nodes:
        node.start()
    soak = Soak(nodes, args.runs, pace_s=args.kills * 4.5 / args.runs)
    workers = [threading.Thread(target=soak.submitter), threading.Thread(target=soak.approver)]
    started = time.monotonic()
    for w in workers:
        w.start()
    try:
        for _ in range(args.kills):
            time.sleep(random.uniform(0.5, 1.5))  # let work pile up on every node
            # the busiest node (the one driving the most live runs): each kill has work to hand
            victim = max(soak.live(), key=lambda n: (len(driven_by(db, n.name)), random.random()))
            held = driven_by(db, victim.name)
            had_runs = bool(held)
            print(f"kill {victim.name}: {len(held)} live run(s)", file=sys.stderr)
            with soak.lock:
                victim.kill()
            killed_at = time.monotonic()
            while held and time.monotonic() - killed_at < 30:  # until others took them all
                taken = query(
                    db,
                    "SELECT l.run_id FROM run_leases l JOIN owners o ON o.owner_id = l.owner"
                    " WHERE o.host != ?",
                    victim.name,
                )
                ended = query(db, "SELECT run_id FROM runs WHERE status IN (?,?,?,?)", *TERMINAL)
                held -= {str(r[0]) for r in taken} | {str(r[0]) for r in ended}
                time.sleep(0.02)
            if not held:
                if had_runs:  # a kill of a node that drove nothing measures nothing
                    soak.takeovers.append(time.monotonic() - killed_at)
            else:
                print(f"{victim.name}: {len(held)} run(s) not taken over in 30 s", file=sys.stderr)
            victim.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(soak.acked) >= args.runs:
                done = query(db, "SELECT COUNT(*) FROM runs WHERE status IN (?,?,?,?)", *TERMINAL)
                if done[0][0] >= len(soak.acked):
                    break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        soak.stop.set()
        for w in workers:
            w.join()
        for node in nodes:
            node.stop()
    failures = check(db, soak)
    shown = f"PostgreSQL schema {schema}" if schema else str(db)
    print(f"nodes {args.nodes}, lease TTL {args.ttl:g} s, database {shown}")
    print(
        f"runs acknowledged {len(soak.acked)} (refused or unanswered {soak.refused}),"
        f" {len(soak.acked) / elapsed:.1f} runs/s over {elapsed:.1f} s with {args.kills} kills"
    )
    if soak.takeovers:
        xs = sorted(soak.takeovers)
        p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
        print(
            f"take-over after kill -9: p50 {statistics.median(xs):.2f} s, p95 {p95:.2f} s,"
            f" max {xs[-1]:.2f} s (TTL {args.ttl:g} s; n={len(xs)})"
        )
    for failure in failures[:20]:
        print("FAIL", failure)
    print("OK" if not failures else f"{len(failures)} problem(s)")
    if not args.keep and not failures:
        import shutil

        shutil.rmtree(tmp)
        if schema:
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as pg:
                pg.execute(f"DROP SCHEMA {schema} CASCADE")
    return 1 if failures else 0


def check(db: Path | str, soak: Soak) -> list[str]:
    failures: list[str] = []
    stored = {str(r[0]): str(r[1]) for r in query(db, "SELECT run_id, status FROM runs")}
    for run_id in soak.acked:
        if run_id not in stored:
            failures.append(f"acknowledged run {run_id} is missing")
        elif stored[run_id] != "succeeded":
            failures.append(f"run {run_id} is {stored[run_id]}")
    import anyio

    from runtui.storage import verify_run

    async def verify_all() -> None:
        for run_id in stored:
            phases, replay = await verify_run(db, run_id)
            if phases.problem is not None:
                failures.append(f"verify {run_id}: {phases.problem}")
            failures.extend(f"verify {run_id}: {d}" for d in replay.differences)

    anyio.run(verify_all)
    return failures


if __name__ == "__main__":
    sys.exit(main())
