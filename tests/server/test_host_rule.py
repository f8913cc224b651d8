"""Which Host headers a server answers (DNS rebinding: a browser sends the attacker's name).

The rule itself, and a real `runtui serve` listening on every address: it answers to this
machine's addresses and names and to `--allow-host` names, and refuses any other name."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from runtui.server.security import HostRule
from runtui.server.serve import host_rule
from tests.server.test_sigterm import Server

TOKEN = "host-rule-token"


def test_names_are_answered_with_or_without_the_port() -> None:
    rule = host_rule("127.0.0.1", 8765, ["Ops.Example"])
    for host in ("127.0.0.1", "127.0.0.1:8765", "localhost:8765", "[::1]:8765", "OPS.example"):
        assert rule.allows(host), host
    for host in ("evil.example", "127.0.0.1.evil.example", "", "10.0.0.7", "[fe80::1]:8765"):
        assert not rule.allows(host), host
    assert not rule.any_ip


def test_listening_on_every_address_answers_any_ip_and_this_machines_names() -> None:
    rule = host_rule("0.0.0.0", 8765)
    assert rule.any_ip
    for host in ("10.0.0.7:8765", "192.0.2.2", "[2001:db8::1]:8765", socket.gethostname()):
        assert rule.allows(host), host
    for host in ("evil.example:8765", "10.0.0.7.evil.example", "[not-an-ip]:8765"):
        assert not rule.allows(host), host


def test_a_specific_address_answers_only_itself() -> None:
    rule = host_rule("192.0.2.2", 9000)
    assert rule.allows("192.0.2.2:9000")
    assert not rule.allows("192.0.2.3:9000")
    assert not rule.allows("localhost:9000")
    v6 = host_rule("2001:db8::5", 9000)
    assert v6.allows("[2001:db8::5]:9000")
    assert v6.allows("[2001:DB8::5]")
    assert not v6.allows("[2001:db8::6]:9000")


def test_the_rule_travels_to_the_api_process_unchanged() -> None:
    import msgspec

    rule = host_rule("0.0.0.0", 1, ["a.example"])
    assert msgspec.convert(msgspec.to_builtins(rule), HostRule) == rule


def test_serve_on_every_address_answers_its_addresses_and_allowed_names(db_path: Path) -> None:
    env = {**os.environ, "RUNTUI_TOKEN": TOKEN, "RUNTUI_ALLOWED_HOSTS": "ops.example"}
    server = Server(
        db_path, env, "--host", "0.0.0.0", "--allow-remote", "--allow-host", "Runtui.Internal"
    )
    try:
        port = int(server.url.rsplit(":", 1)[1])
        hint = f"reachable from other machines (e.g. runtui attach http://{socket.gethostname()}:"
        assert f"{hint}{port})" in "".join(server.stderr)  # printed before the URL line
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def status(host: str) -> int:
            r = httpx.get(f"http://127.0.0.1:{port}/api/runs", headers={**auth, "Host": host})
            return r.status_code

        for host in (f"127.0.0.1:{port}", f"10.1.2.3:{port}", "runtui.internal", "ops.example"):
            assert status(host) == 200, host
        assert status(f"{socket.gethostname()}:{port}") == 200
        refused = httpx.get(
            f"http://127.0.0.1:{port}/healthz", headers={**auth, "Host": "evil.example"}
        )
        assert refused.status_code == 403
        assert "--allow-host" in refused.json()["detail"]
    finally:
        server.proc.terminate()
        assert server.proc.wait(timeout=30) == 0
        server.close()


def test_an_allowed_host_that_is_a_url_is_a_usage_error(db_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtui",
            "--db",
            str(db_path),
            "serve",
            "--allow-host",
            "http://x/",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--allow-host" in done.stderr
    assert "'http://x/' is not a host name" in done.stderr
    assert not db_path.exists()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_serve_on_ipv6_loopback_prints_a_usable_url(db_path: Path) -> None:
    env = {**os.environ, "RUNTUI_TOKEN": TOKEN}
    server = Server(db_path, env, "--host", "::1")
    try:
        assert server.url.startswith("http://[::1]:")
        r = httpx.get(f"{server.url}/api/runs", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200, r.text
    finally:
        server.proc.terminate()
        assert server.proc.wait(timeout=30) == 0
        server.close()
