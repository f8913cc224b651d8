"""Small closed sets shared by layers, and parsing strings into enums with a named field."""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TypeVar

from runtui.domain.errors import UnknownValueError

E = TypeVar("E", bound=Enum)


class Durability(StrEnum):
    """How hard a commit is: `full` fsyncs the WAL on every commit; `fast` (synchronous=NORMAL)
    may lose the last commits on power loss, never on a process crash."""

    FULL = "full"
    FAST = "fast"


def parse_enum(enum_type: type[E], value: object, field: str | None = None) -> E:
    """Return the member of `enum_type` whose value is `value`.

    Raises `UnknownValueError` naming `field` (or the enum) and the allowed values, so bad input
    from a CLI flag, a TOML file or an HTTP query reads the same everywhere.
    """
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        allowed = [str(m.value) for m in enum_type]
        raise UnknownValueError(field or enum_type.__name__, value, allowed) from None
