"""Configuration: defaults, exact env names, precedence and actionable errors.

Every test runs with a scrubbed environment and private XDG dirs, and `RUNTUI_CONFIG` unset or
pointing at a temporary file, so the real user's config file can never be read.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest
from pydantic import ValidationError

import runtui.config as config_mod
from runtui.config import LogLevel, Settings, load_settings
from runtui.domain.enums import Durability
from runtui.domain.errors import ConfigError, RuntuiError

_REAL_DEFAULT_CONFIG_FILE = config_mod.default_config_file  # before any test patches it

SOURCE_ENV = [
    "ROK_ENABLED",
    "RAC_ENABLED",
    "ROK_GOVERNANCE_TIMEOUT_MS",
    "ROK_DEFAULT_RUN_TIMEOUT_MS",
    "ROK_GRACE_PERIOD_MS",
    "PHASE_STATUS_INVARIANT_ENFORCE",
]


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Remove every variable that could feed the settings and redirect the user dirs."""
    for key in list(os.environ):
        upper = key.upper()
        if (
            upper.startswith(("RUNTUI_", "ROK_", "RAC_"))
            or upper == "PHASE_STATUS_INVARIANT_ENFORCE"
            or upper.startswith("XDG_")
        ):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    # Belt and braces: even if platformdirs ignored XDG, the default file is a private path.
    default_file = tmp_path / "default-config" / "config.toml"
    monkeypatch.setattr(config_mod, "default_config_file", lambda: default_file)
    return default_file


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TOML file that `RUNTUI_CONFIG` points at."""
    path = tmp_path / "runtui.toml"
    path.write_text("", encoding="utf-8")
    monkeypatch.setenv("RUNTUI_CONFIG", str(path))
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- defaults ---------------------------------------------------------------------------------


def test_defaults(config_file: Path) -> None:
    s = load_settings()
    assert s.rok_enabled is True
    assert s.rac_enabled is True
    assert s.rok_governance_timeout_ms == 5000
    assert s.rok_default_run_timeout_ms == 30000
    assert s.rok_grace_period_ms == 5000
    assert s.phase_status_invariant_enforce is True
    assert s.durability is Durability.FULL
    assert s.max_concurrency == 50
    assert s.log_level is LogLevel.INFO


def test_default_paths_come_from_platformdirs(config_file: Path, tmp_path: Path) -> None:
    s = load_settings()
    assert s.db == Path(platformdirs.user_data_dir("runtui")) / "runs.db"
    assert s.db.is_relative_to(tmp_path / "home" / "data")
    assert s.log_file == Path(platformdirs.user_log_dir("runtui")) / "runtui.log"
    assert s.log_file.is_relative_to(tmp_path / "home")


def test_real_default_config_file_uses_user_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    expected = Path(platformdirs.user_config_dir("runtui")) / "config.toml"
    assert _REAL_DEFAULT_CONFIG_FILE() == expected
    assert expected.is_relative_to(tmp_path / "cfg")


def test_missing_default_config_file_is_fine(isolated_env: Path) -> None:
    assert not isolated_env.exists()
    s = load_settings()
    assert s.rok_governance_timeout_ms == 5000


def test_default_config_file_is_read_when_present(isolated_env: Path) -> None:
    isolated_env.parent.mkdir(parents=True)
    _write(isolated_env, "max_concurrency = 7\n")
    assert load_settings().max_concurrency == 7


def test_settings_are_frozen(config_file: Path) -> None:
    s = load_settings()
    with pytest.raises(ValidationError):
        s.max_concurrency = 3  # type: ignore[misc]


# --- env names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "value", "field", "expected"),
    [
        ("ROK_ENABLED", "false", "rok_enabled", False),
        ("RAC_ENABLED", "0", "rac_enabled", False),
        ("ROK_GOVERNANCE_TIMEOUT_MS", "750", "rok_governance_timeout_ms", 750),
        ("ROK_DEFAULT_RUN_TIMEOUT_MS", "120000", "rok_default_run_timeout_ms", 120000),
        ("ROK_GRACE_PERIOD_MS", "0", "rok_grace_period_ms", 0),
        ("PHASE_STATUS_INVARIANT_ENFORCE", "false", "phase_status_invariant_enforce", False),
        ("RUNTUI_DURABILITY", "fast", "durability", Durability.FAST),
        ("RUNTUI_MAX_CONCURRENCY", "8", "max_concurrency", 8),
        ("RUNTUI_LOG_LEVEL", "DEBUG", "log_level", LogLevel.DEBUG),
    ],
)
def test_env_names(
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: str,
    value: str,
    field: str,
    expected: object,
) -> None:
    monkeypatch.setenv(env, value)
    assert getattr(load_settings(), field) == expected


def test_runtui_db_env(config_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RUNTUI_DB", str(tmp_path / "x.db"))
    assert load_settings().db == tmp_path / "x.db"


@pytest.mark.parametrize("name", SOURCE_ENV)
def test_source_switches_ignore_runtui_prefix(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # The source's variables keep their exact names; RUNTUI_ROK_ENABLED etc. mean nothing.
    field = name.lower()
    default = Settings.model_fields[field].default
    monkeypatch.setenv(f"RUNTUI_{name}", "false" if isinstance(default, bool) else "1")
    assert getattr(load_settings(), field) == default
    monkeypatch.setenv(name, "false" if isinstance(default, bool) else "1")
    assert getattr(load_settings(), field) != default  # while the exact name does work


def test_unprefixed_runtui_fields_are_not_read(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_CONCURRENCY", "3")
    monkeypatch.setenv("DURABILITY", "fast")
    s = load_settings()
    assert s.max_concurrency == 50
    assert s.durability is Durability.FULL


def test_unrelated_runtui_env_vars_are_ignored(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTUI_SOMETHING_ELSE", "1")
    assert load_settings().max_concurrency == 50


# --- precedence -------------------------------------------------------------------------------


def test_toml_over_defaults(config_file: Path) -> None:
    _write(
        config_file,
        'rok_governance_timeout_ms = 1234\nROK_ENABLED = false\ndurability = "fast"\n',
    )
    s = load_settings()
    assert s.rok_governance_timeout_ms == 1234
    assert s.rok_enabled is False
    assert s.durability is Durability.FAST
    assert s.max_concurrency == 50


def test_env_over_toml(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(config_file, 'rok_governance_timeout_ms = 1234\ndurability = "fast"\n')
    monkeypatch.setenv("ROK_GOVERNANCE_TIMEOUT_MS", "2222")
    monkeypatch.setenv("RUNTUI_DURABILITY", "full")
    s = load_settings()
    assert s.rok_governance_timeout_ms == 2222
    assert s.durability is Durability.FULL


def test_cli_over_env_over_toml(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _write(config_file, f'rok_grace_period_ms = 1\ndb = "{tmp_path / "toml.db"}"\n')
    monkeypatch.setenv("ROK_GRACE_PERIOD_MS", "2")
    monkeypatch.setenv("RUNTUI_DB", str(tmp_path / "env.db"))
    s = load_settings({"rok_grace_period_ms": 3, "db": tmp_path / "cli.db"})
    assert s.rok_grace_period_ms == 3
    assert s.db == tmp_path / "cli.db"


def test_each_layer_fills_what_the_higher_ones_leave(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(config_file, "rok_grace_period_ms = 11\nrok_governance_timeout_ms = 12\n")
    monkeypatch.setenv("ROK_GOVERNANCE_TIMEOUT_MS", "22")
    monkeypatch.setenv("RUNTUI_MAX_CONCURRENCY", "23")
    s = load_settings({"max_concurrency": 33})
    assert s.rok_grace_period_ms == 11  # file
    assert s.rok_governance_timeout_ms == 22  # env
    assert s.max_concurrency == 33  # CLI
    assert s.rok_default_run_timeout_ms == 30000  # default


def test_cli_overrides_source_switches_by_field_name(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROK_ENABLED", "true")
    monkeypatch.setenv("PHASE_STATUS_INVARIANT_ENFORCE", "true")
    s = load_settings({"rok_enabled": False, "phase_status_invariant_enforce": False})
    assert s.rok_enabled is False
    assert s.phase_status_invariant_enforce is False


def test_unknown_cli_override_is_refused(config_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"command line: bogus: Extra inputs"):
        load_settings({"bogus": 1})


def test_cli_none_values_fall_through(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTUI_MAX_CONCURRENCY", "9")
    s = load_settings({"max_concurrency": None, "durability": None})
    assert s.max_concurrency == 9
    assert s.durability is Durability.FULL


def test_explicit_config_file_argument_wins_over_runtui_config(
    config_file: Path, tmp_path: Path
) -> None:
    _write(config_file, "max_concurrency = 1\n")
    other = _write(tmp_path / "other.toml", "max_concurrency = 2\n")
    assert load_settings().max_concurrency == 1
    assert load_settings(config_file=other).max_concurrency == 2


def test_runtui_config_wins_over_default_file(
    isolated_env: Path, config_file: Path, tmp_path: Path
) -> None:
    isolated_env.parent.mkdir(parents=True)
    _write(isolated_env, "max_concurrency = 5\n")
    _write(config_file, "max_concurrency = 6\n")
    assert load_settings().max_concurrency == 6


def test_config_file_does_not_leak_into_plain_settings(config_file: Path) -> None:
    _write(config_file, "max_concurrency = 4\n")
    assert load_settings().max_concurrency == 4
    # The file is only consulted inside load_settings.
    assert Settings().max_concurrency == 50


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "value", "field"),
    [
        ("ROK_GOVERNANCE_TIMEOUT_MS", "soon", "rok_governance_timeout_ms"),
        ("ROK_GOVERNANCE_TIMEOUT_MS", "0", "rok_governance_timeout_ms"),
        ("ROK_DEFAULT_RUN_TIMEOUT_MS", "-5", "rok_default_run_timeout_ms"),
        ("ROK_GRACE_PERIOD_MS", "-1", "rok_grace_period_ms"),
        ("ROK_ENABLED", "maybe", "rok_enabled"),
        ("RAC_ENABLED", "2", "rac_enabled"),
        ("PHASE_STATUS_INVARIANT_ENFORCE", "sometimes", "phase_status_invariant_enforce"),
        ("RUNTUI_DURABILITY", "bogus", "durability"),
        ("RUNTUI_MAX_CONCURRENCY", "0", "max_concurrency"),
        ("RUNTUI_MAX_CONCURRENCY", "10001", "max_concurrency"),
        ("RUNTUI_LOG_LEVEL", "LOUD", "log_level"),
    ],
)
def test_invalid_env_value_names_variable_and_field(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, env: str, value: str, field: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert f"environment variable {env}" in message
    assert f"{field}:" in message
    assert repr(value) in message
    assert isinstance(info.value, RuntuiError)


def test_invalid_env_value_is_ignored_when_cli_overrides_it(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTUI_DURABILITY", "bogus")
    assert load_settings({"durability": "fast"}).durability is Durability.FAST


def test_invalid_cli_value_names_command_line(config_file: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"max_concurrency": "lots"})
    message = str(info.value)
    assert "command line" in message
    assert "max_concurrency" in message


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (
            '# my config\ndurability = "fast"\n\nrok_governance_timeout_ms = "abc"\n',
            4,
            "rok_governance_timeout_ms",
        ),
        ('ROK_ENABLED = "maybe"\n', 1, "rok_enabled"),
        ('max_concurrency = 4\ndurability = "turbo"\n', 2, "durability"),
        ("max_concurrency = 1\n  rok_grace_period_ms = -3\n", 2, "rok_grace_period_ms"),
    ],
)
def test_invalid_toml_value_names_file_line_and_field(
    config_file: Path, text: str, line: int, field: str
) -> None:
    _write(config_file, text)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert f"{config_file}:{line}: {field}:" in str(info.value)


def test_several_toml_errors_are_all_reported(config_file: Path) -> None:
    _write(config_file, "max_concurrency = 0\nrok_grace_period_ms = -1\n")
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert f"{config_file}:1: max_concurrency:" in message
    assert f"{config_file}:2: rok_grace_period_ms:" in message


def test_invalid_toml_value_is_ignored_when_env_overrides_it(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(config_file, 'rok_governance_timeout_ms = "abc"\n')
    monkeypatch.setenv("ROK_GOVERNANCE_TIMEOUT_MS", "100")
    assert load_settings().rok_governance_timeout_ms == 100


@pytest.mark.parametrize(
    "text",
    [
        "x = = 1\n",
        "max_concurrency = \n",
        "[unclosed\n",
        'durability = "fast\n',
        "max_concurrency = 1\nmax_concurrency = 2\n",  # duplicate key
    ],
)
def test_malformed_toml_names_the_file(config_file: Path, text: str) -> None:
    _write(config_file, text)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"{config_file}: invalid TOML")


def test_non_utf8_config_file_names_the_file(config_file: Path) -> None:
    config_file.write_bytes(b'durability = "\xff\xfe"\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(config_file) in str(info.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("bogus_key = 1\n", "bogus_key"),
        ("[server]\nport = 8080\n", "server"),
        ("RUNTUI_CONFIG_X = 1\n", "RUNTUI_CONFIG_X"),
    ],
)
def test_unknown_toml_key_is_refused(config_file: Path, text: str, key: str) -> None:
    _write(config_file, text)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert str(config_file) in message
    assert f"{key}:" in message
    assert "Extra inputs are not permitted" in message


def test_unknown_toml_key_reports_its_line(config_file: Path) -> None:
    _write(config_file, "max_concurrency = 2\ncolour = true\n")
    with pytest.raises(ConfigError, match=rf"{config_file}:2: colour:"):
        load_settings()


def test_missing_explicit_config_file_argument(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=missing)
    assert str(missing) in str(info.value)
    assert "not found" in str(info.value)


def test_missing_runtui_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "gone.toml"
    monkeypatch.setenv("RUNTUI_CONFIG", str(missing))
    with pytest.raises(ConfigError, match="not found") as info:
        load_settings()
    assert str(missing) in str(info.value)


def test_config_path_that_is_a_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTUI_CONFIG", str(tmp_path))
    with pytest.raises(ConfigError, match="not found"):
        load_settings()


# --- allowed hosts ------------------------------------------------------------------------------


def test_allowed_hosts_from_the_environment_are_comma_separated(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().allowed_hosts == ()
    monkeypatch.setenv("RUNTUI_ALLOWED_HOSTS", " Ops.Example, runtui.internal ,,")
    assert load_settings().allowed_hosts == ("ops.example", "runtui.internal")


def test_allowed_hosts_from_the_file_are_a_list(config_file: Path) -> None:
    _write(config_file, 'allowed_hosts = ["ops.example"]\n')
    assert load_settings().allowed_hosts == ("ops.example",)


def test_an_allowed_host_that_is_a_url_is_refused_naming_the_variable(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTUI_ALLOWED_HOSTS", "https://ops.example/")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "RUNTUI_ALLOWED_HOSTS" in str(info.value)
    assert "'https://ops.example/' is not a host name" in str(info.value)
