"""Answers forwarded by the API process carry each header once (the runtime's own `date` and
`server` are not passed on beside the API process's)."""

from __future__ import annotations

import pytest

from tests.server.conftest import Api

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("path", ["/api/runs", "/api/approvals", "/healthz", "/nope"])
async def test_every_header_once(api: Api, path: str) -> None:
    r = await api.client.get(path)
    names = [k.lower() for k, _ in r.headers.raw]
    assert names.count(b"date") == 1
    assert names.count(b"server") == 1
    assert names.count(b"content-length") == 1
