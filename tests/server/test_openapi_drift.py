"""The committed OpenAPI document is the one the server serves, and it is a valid document."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
from schemathesis.core.result import Ok

from runtui.server import export_openapi
from tests.server.conftest import Api

COMMITTED = Path(export_openapi.__file__).with_name("openapi.json")
FIX = "regenerate it: python -m runtui.server.export_openapi"


def test_the_committed_copy_matches_the_code() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == export_openapi.render(), FIX


@pytest.mark.anyio
async def test_the_live_server_serves_the_committed_document(api: Api) -> None:
    r = await api.client.get("/openapi.json")
    assert r.status_code == 200
    assert r.json() == json.loads(COMMITTED.read_text(encoding="utf-8")), FIX


def test_the_check_command_fails_on_drift(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text('{"openapi": "3.1.0"}\n', encoding="utf-8")
    command = [sys.executable, "-m", "runtui.server.export_openapi", "--check", "--out"]
    run = subprocess.run([*command, str(stale)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "out of date" in run.stderr
    run = subprocess.run([*command, str(COMMITTED)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


def test_the_document_is_valid() -> None:
    doc = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert doc["openapi"].startswith("3.1")
    schema = schemathesis.openapi.from_dict(doc)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) == sum(len(methods) for methods in doc["paths"].values())
    # every $ref resolves
    refs = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    names = set(doc["components"]["schemas"])
    assert {ref.removeprefix("#/components/schemas/") for ref in refs} <= names
    # every operation but /healthz requires the bearer token; every error is problem+json
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            assert op.get("security", doc["security"]) == (
                [] if path == "/healthz" else [{"bearer": []}]
            )
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")) and status != "503":
                    assert list(response["content"]) == ["application/problem+json"], (
                        method,
                        path,
                        status,
                    )
            if path != "/healthz":
                assert {"401", "403"} <= set(op["responses"]), (method, path)
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(doc)
