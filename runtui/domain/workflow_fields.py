"""The field types a workflow is made of, each with its bound: ids, names, commands, durations.

Why bounds everywhere: a workflow comes from a file or an HTTP request body, and every string
in it may be held in memory, stored, printed or handed to a process; every duration may be
waited on. So each has a limit (README "Limits"), checked before anything runs, and a string
that reaches a process (command, environment, working directory) may not hold a NUL byte,
which `exec` cannot pass on.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
MAX_ID = 64
MAX_NAME = 256  # a workflow's, task's or policy's name; a function reference; a variable name
MAX_TEXT = 4096  # a description, a gate's prompt, a working directory, one policy regex
MAX_COMMAND = 64 * 1024  # a shell command, an external task's submit or poll, one env value
MAX_ENV = 1000  # variables per task
MAX_REGEXES = 100  # command regexes per safety policy
MAX_SECONDS = 1e7  # any duration (about 116 days)
MAX_THRESHOLD = 1e15  # a budget (tokens, USD) or a rate limit
MAX_NESTING = 32  # tables and arrays within each other; checked by the loader, before pydantic
FUNCTION_PATTERN = r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$"


def _matching(regex: str, problem: str) -> AfterValidator:
    """A validator that rejects strings `regex` does not match, with `problem` as the reason."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(problem.format(value=value))
        return value

    return AfterValidator(check)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL byte (\\x00), which cannot be passed to a process")
    return value


_ID_PROBLEM = "invalid id {value!r}: use 1-64 letters, digits, '_', '.', '-' (first: letter/digit)"
_NOT_BLANK = _matching(r"(?s).*\S.*", "must not be empty")
_NO_NUL = AfterValidator(_no_nul)
Id = Annotated[str, Field(max_length=MAX_ID), _matching(ID_PATTERN, _ID_PROBLEM)]
FunctionRef = Annotated[
    str,
    Field(max_length=MAX_NAME),
    _matching(FUNCTION_PATTERN, "invalid function {value!r}: expected 'package.module:function'"),
]
Name = Annotated[str, Field(max_length=MAX_NAME)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
NonBlankName = Annotated[str, Field(max_length=MAX_NAME), _NOT_BLANK]
Command = Annotated[str, Field(max_length=MAX_COMMAND), _NO_NUL, _NOT_BLANK]
EnvName = Annotated[
    str,
    Field(max_length=MAX_NAME),
    _matching(r"^[A-Za-z_][A-Za-z0-9_]*$", "invalid variable name {value!r}"),
]
EnvValue = Annotated[str, Field(max_length=MAX_COMMAND), _NO_NUL]
WorkDir = Annotated[str, Field(max_length=MAX_TEXT), _NO_NUL]
Regex = Annotated[str, Field(max_length=MAX_TEXT)]
Seconds = Annotated[float, Field(gt=0, le=MAX_SECONDS)]
