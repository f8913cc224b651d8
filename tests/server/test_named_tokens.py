"""Who decided, through a server: the name of the token that authenticated the request, and
what the client says beside it; named tokens from `RUNTUI_API_TOKENS_FILE`, in both server
shapes (the API in the runtime's process, and in a process of its own)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from runtui.identity import who_decides
from runtui.server.security import Tokens, TokensFileError, read_tokens_file
from tests.server.conftest import AUTH, GATE, SHAPES, Api, serving, serving_apart

pytestmark = pytest.mark.anyio

CI_TOKEN = "ci-bot-token-0123456789"


@pytest.fixture(params=SHAPES)
async def named(db_path: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Api:  # type: ignore[misc]
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# who may decide\nci-bot {CI_TOKEN}\n\n")
    shape = serving if request.param == "in-process" else serving_apart
    async with (
        shape(db_path, api_tokens_file=tokens) as (rt, server),
        httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=20) as client,
    ):
        yield Api(rt, server, client)


async def test_a_decision_is_recorded_under_its_token_s_name(named: Api) -> None:
    first = await named.submit(GATE)
    await named.pending(first)
    bot = {"Authorization": f"Bearer {CI_TOKEN}"}
    r = await named.client.post(f"/api/runs/{first}/approve", json={}, headers=bot)
    assert r.status_code == 200, r.text
    second = await named.submit(GATE)
    await named.pending(second)
    r = await named.client.post(
        f"/api/runs/{second}/reject", json={"reason": "no", "by": "bob@laptop"}
    )
    assert r.status_code == 200, r.text
    decided = {
        run: (await named.runtime.reader.approvals_of(run))[0].decided_by for run in (first, second)
    }
    assert decided == {first: "ci-bot", second: f"{who_decides()} (as bob@laptop)"}
    wrong = {"Authorization": "Bearer not-a-token-at-all-0000"}
    r = await named.client.get("/api/runs", headers=wrong)
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("ci-bot\n", "tokens:1: expected `name token`, got 1 field(s)"),
        ("ok aaaaaaaaaaaaaaaaaaaa\nbad/name aaaaaaaaaaaaaaaaaaab\n", "tokens:2: the name"),
        ("ci short\n", "tokens:1: the token of ci is too short"),
        ("a aaaaaaaaaaaaaaaaaaaa\na bbbbbbbbbbbbbbbbbbbb\n", "tokens:2: a is named twice"),
        ("a aaaaaaaaaaaaaaaaaaaa\nb aaaaaaaaaaaaaaaaaaaa\n", "tokens:2: the token of b is"),
    ],
)
def test_a_bad_tokens_file_is_refused_naming_file_and_line(
    tmp_path: Path, text: str, wrong: str
) -> None:
    path = tmp_path / "tokens"
    path.write_text(text)
    with pytest.raises(TokensFileError, match=re.escape(wrong)):
        read_tokens_file(path)


def test_the_server_s_own_token_cannot_be_named_twice(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("ci aaaaaaaaaaaaaaaaaaaa\n")
    with pytest.raises(TokensFileError, match="server's own token"):
        Tokens.of("aaaaaaaaaaaaaaaaaaaa", path)
    tokens = Tokens.of("own-token-0000000000", path, name="ann@server")
    assert (tokens.caller("own-token-0000000000"), tokens.caller("aaaaaaaaaaaaaaaaaaaa")) == (
        "ann@server",
        "ci",
    )
    assert tokens.caller("aaaaaaaaaaaaaaaaaaa") is None
