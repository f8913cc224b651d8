"""Configuration: the source's ROK_* switches plus runtui's own RUNTUI_* settings.

Precedence is CLI > environment > TOML file > defaults. A bad value is reported with where it
came from (the environment variable, or the file and line) and which field it is, so a user can
fix it without reading a traceback. It lives beside the domain, not in it, because it reads
files and the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import platformdirs
from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from runtui.domain.enums import Durability
from runtui.domain.errors import ConfigError
from runtui.domain.submission_rules import SubmissionRules
from runtui.domain.tasks import TaskKind

APP_NAME = "runtui"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "runs.db"


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_log_file() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME)) / "runtui.log"


def _source_name(name: str) -> AliasChoices:
    """A field read from the source's exact env name, and from its lower-case form in TOML."""
    return AliasChoices(name.lower(), name)


_config_file: ContextVar[Path | None] = ContextVar("runtui_config_file", default=None)


def host_names(names: Iterable[object]) -> tuple[str, ...]:
    """Host names as the server compares them (trimmed, lower case); ValueError for anything
    that is not one (a URL, a path, a name with spaces)."""
    cleaned = tuple(str(n).strip().lower() for n in names if str(n).strip())
    for name in cleaned:
        if any(c.isspace() or c in "/@?#" for c in name):
            raise ValueError(f"{name!r} is not a host name (give names, not URLs)")
    return cleaned


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RUNTUI_",
        extra="forbid",
        frozen=True,
        # No populate_by_name: every alias list already holds the field name (lower case), and
        # with it pydantic-settings would also read RUNTUI_ROK_ENABLED & co., an undocumented
        # second name whose bad values could not be attributed to a variable.
        validate_default=True,
    )

    # --- the source's switches, by their exact names -----------------------------------------
    rok_enabled: bool = Field(
        True, validation_alias=_source_name("ROK_ENABLED"), description="Kernel governance on."
    )
    rac_enabled: bool = Field(
        True, validation_alias=_source_name("RAC_ENABLED"), description="Audit expectations on."
    )
    rok_governance_timeout_ms: int = Field(
        5000,
        ge=1,
        validation_alias=_source_name("ROK_GOVERNANCE_TIMEOUT_MS"),
        description="How long the governance check waits for facade acks.",
    )
    rok_default_run_timeout_ms: int = Field(
        30000,
        ge=1,
        validation_alias=_source_name("ROK_DEFAULT_RUN_TIMEOUT_MS"),
        description="Run timeout unless the workflow sets its own.",
    )
    rok_grace_period_ms: int = Field(
        5000,
        ge=0,
        validation_alias=_source_name("ROK_GRACE_PERIOD_MS"),
        description="Added to the run timeout for the finalize liveness deadline.",
    )
    phase_status_invariant_enforce: bool = Field(
        True,
        validation_alias=_source_name("PHASE_STATUS_INVARIANT_ENFORCE"),
        description="Raise on a status its phase does not admit (else log it).",
    )

    # --- runtui's own (RUNTUI_*) --------------------------------------------------------------
    db: Path | str = Field(
        default_factory=default_db_path,
        description="SQLite database file, or a PostgreSQL URL (postgresql://user@host/db).",
    )
    durability: Durability = Field(Durability.FULL, description="full (default) or fast.")
    max_concurrency: int = Field(50, ge=1, le=10_000, description="Global cap on attempts.")
    max_live_runs: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        description="The most live runs a process takes over from others (on start and while"
        " it runs); runs it creates itself are not counted against it.",
    )
    lease_ttl_s: float = Field(
        5.0,
        ge=0.2,
        le=600,
        description="How long a run's lease lasts without renewal: a process that stops (kill"
        " -9, its machine gone) has its runs taken over by another this long after.",
    )
    log_file: Path = Field(default_factory=default_log_file, description="Where logs go.")
    log_level: LogLevel = Field(LogLevel.INFO, description="Log level for the log file.")
    api_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="Niceness of `runtui serve`'s API process: short of CPU, runs come first.",
    )

    api_max_headers: int = Field(
        100, ge=1, le=10_000, description="Header lines a request to the API may have (else 431)."
    )
    api_max_header_bytes: int = Field(
        64 * 1024,
        ge=1024,
        le=16 * 2**20,
        description="Bytes of request line and headers a request may have (else 431).",
    )
    api_max_body_bytes: int = Field(
        16 * 2**20,  # the largest valid body (a workflow of 1,000,000 escaped astral chars) fits
        ge=1024,
        le=2**30,
        description="Bytes a request body may have (else 413, before the rest is read).",
    )
    api_stream_buffer_bytes: int = Field(
        8 * 2**20,
        ge=64 * 1024,
        le=2**30,
        description="Bytes of events an event stream holds for a client that is not reading;"
        " past that it forgets them and re-reads the store when the client reads again.",
    )

    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="More names `runtui serve` answers to in the Host header (comma-separated"
        " in RUNTUI_ALLOWED_HOSTS), e.g. the DNS name operators reach the server by.",
    )

    api_task_kinds: Annotated[tuple[TaskKind, ...] | None, NoDecode] = Field(
        None,
        description="The task kinds a workflow submitted over the API may use (comma-separated"
        " in RUNTUI_API_TASK_KINDS, e.g. `noop,gate,shell`); unset: all. Others are refused"
        " with 422 naming the task.",
    )
    api_python_modules: Annotated[tuple[str, ...] | None, NoDecode] = Field(
        None,
        description="The modules (a package covers what is below it) whose functions python"
        " tasks and custom rules submitted over the API may call (comma-separated in"
        " RUNTUI_API_PYTHON_MODULES); unset: any.",
    )

    api_tokens_file: Path | None = Field(
        None,
        description="More bearer tokens `runtui serve` takes, one `name token` per line; a"
        " decision made with one is recorded under its name (the server's own token is named"
        " after who runs the server).",
    )
    approval_alert: Annotated[tuple[str, ...], NoDecode] = Field(
        ("toast", "bell"),
        description="How the terminal UI announces a new approval (comma-separated in"
        " RUNTUI_APPROVAL_ALERT): toast, bell, osc9 (a desktop notification in iTerm2, WezTerm,"
        " kitty, Windows Terminal), osc777 (VTE terminals, foot, Ghostty); `none` for none.",
    )

    @field_validator("approval_alert", mode="before")
    @classmethod
    def _alerts(cls, value: Any) -> Any:
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list | tuple):
            return names
        chosen = tuple(n.strip().lower() for n in names if n.strip())
        if chosen == ("none",):
            return ()
        wrong = [n for n in chosen if n not in ("toast", "bell", "osc9", "osc777")]
        if wrong:
            raise ValueError(
                f"unknown alert {wrong[0]!r}: choose from toast, bell, osc9, osc777, or none"
            )
        return chosen

    @field_validator("db", mode="before")
    @classmethod
    def _database(cls, value: object) -> object:
        """A PostgreSQL URL stays a string; anything else is a file's path."""
        if isinstance(value, str) and value.startswith(("postgresql://", "postgres://")):
            return value
        return Path(str(value)) if isinstance(value, str) else value

    @field_validator("api_task_kinds", "api_python_modules", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        """`a, b` from the environment; a list from the TOML file."""
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    def submission_rules(self) -> SubmissionRules:
        """What this server accepts in workflows submitted over its API."""
        kinds = None if self.api_task_kinds is None else tuple(k.value for k in self.api_task_kinds)
        return SubmissionRules(task_kinds=kinds, python_modules=self.api_python_modules)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        """`a.example, b.example` from the environment; a list from the TOML file."""
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list | tuple):
            return names  # pydantic names the wrong type
        return host_names(names)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file.get()
        if path is not None and path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def _field_env_names(name: str) -> list[str]:
    info = Settings.model_fields[name]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(c) for c in alias.choices if isinstance(c, str) and c.isupper()]
    return [f"RUNTUI_{name.upper()}"]


def _field_for(key: str) -> str | None:
    """Map a key as a user wrote it (field name or alias) to the field name."""
    low = key.lower()
    for name in Settings.model_fields:
        if low == name or low in [n.lower() for n in _field_env_names(name)]:
            return name
    return None


def _toml_line(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=", re.IGNORECASE)
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _read_toml(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config file is not valid UTF-8: {exc.reason}") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _describe(
    exc: ValidationError,
    *,
    overrides: Mapping[str, Any],
    environ: Mapping[str, str],
    toml_path: Path | None,
    toml_data: Mapping[str, Any],
    toml_text: str,
) -> str:
    lines: list[str] = []
    env_upper = {k.upper(): k for k in environ}
    for err in exc.errors():
        key = str(err["loc"][0]) if err["loc"] else "?"
        field = _field_for(key) or key
        value = err.get("input")
        env_names = _field_env_names(field) if field in Settings.model_fields else []
        env_hit = next((env_upper[n] for n in env_names if n in env_upper), None)
        toml_key = next((k for k in toml_data if _field_for(k) == field or k == key), None)
        if field in overrides or key in overrides:
            where = "command line"
        elif env_hit is not None:
            where = f"environment variable {env_hit}"
        elif toml_path is not None and toml_key is not None:
            line = _toml_line(toml_text, toml_key)
            where = f"{toml_path}:{line}" if line else str(toml_path)
        else:
            where = "settings"
        lines.append(f"{where}: {field}: {err['msg']} (got {value!r})")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
) -> Settings:
    """Build the settings from CLI overrides, the environment and the TOML file.

    Reads `os.environ` (as pydantic-settings does). `config_file` defaults to `RUNTUI_CONFIG`
    or the user config dir; a missing default file is fine, a missing file that was asked for
    by name is an error.
    """
    env = os.environ
    explicit = config_file or (Path(env["RUNTUI_CONFIG"]) if env.get("RUNTUI_CONFIG") else None)
    path = explicit or default_config_file()
    if explicit is not None and not explicit.is_file():
        raise ConfigError(f"{explicit}: config file not found")
    data: dict[str, Any] = {}
    text = ""
    if path.is_file():
        data, text = _read_toml(path)
    clean = {k: v for k, v in (overrides or {}).items() if v is not None}
    token = _config_file.set(path if path.is_file() else None)
    try:
        return Settings(**clean)
    except ValidationError as exc:
        raise ConfigError(
            _describe(
                exc,
                overrides=clean,
                environ=env,
                toml_path=path if data else None,
                toml_data=data,
                toml_text=text,
            )
        ) from None
    finally:
        _config_file.reset(token)
