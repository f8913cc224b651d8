"""`exposed_token_warning`: a token file other users may read or change is named, with its
mode and the fix; a private or missing one says nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtui.client.token import exposed_token_warning, read_token, token_file


@pytest.mark.parametrize(
    ("mode", "what"),
    [
        (0o640, "read"),
        (0o604, "read"),
        (0o620, "changed"),
        (0o666, "read and changed"),
    ],
)
def test_a_shared_token_file_is_named_with_its_mode_and_the_fix(
    tmp_path: Path, mode: int, what: str
) -> None:
    path = tmp_path / "token"
    path.write_text("t\n")
    path.chmod(mode)
    warning = exposed_token_warning(path)
    assert warning is not None
    assert f"the token file {path} can be {what} by other users (mode {mode:04o})" in warning
    assert f"chmod 600 {path}" in warning


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_a_private_or_missing_token_file_says_nothing(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "token"
    assert exposed_token_warning(path) is None
    path.write_text("t\n")
    path.chmod(mode)
    assert exposed_token_warning(path) is None


def test_read_token_warns_only_about_the_file_it_used(monkeypatch: pytest.MonkeyPatch) -> None:
    path = token_file()
    path.parent.mkdir(parents=True)
    path.write_text("from-the-file\n")
    path.chmod(0o644)
    told: list[str] = []
    monkeypatch.delenv("RUNTUI_TOKEN", raising=False)
    assert read_token(warn=told.append) == "from-the-file"
    assert len(told) == 1
    assert str(path) in told[0]
    monkeypatch.setenv("RUNTUI_TOKEN", "from-the-environment")
    assert read_token(warn=told.append) == "from-the-environment"
    assert len(told) == 1  # the file was not read: nothing to say about it
