"""Reading workflow files: TOML in, a validated `Workflow` out, or errors a person can act on.

Every problem becomes one line `FILE:LINE: FIELD_PATH: what is wrong`, the form editors and
terminals turn into a jump-to-location. tomllib does not report positions for values, so the
line is found by a small scanner over the text that records where each table header and key
is, keyed by the same path pydantic reports an error at (`tasks`, 2, `needs`). When the exact
key is absent (a missing field) the nearest enclosing block is used; with no block, no line.

Nesting is bounded before pydantic sees the data (`MAX_NESTING` levels of tables and arrays),
and text nested too deeply for tomllib itself (it recurses, a few hundred levels) is refused
the same way, so no input reaches the user as a traceback or the API as a 500.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from runtui.domain.errors import WorkflowError
from runtui.domain.tasks import TaskKind
from runtui.domain.workflow import (
    TASK_MODELS,
    GovernanceSpec,
    Loc,
    PolicySpec,
    SpecError,
    Workflow,
)
from runtui.domain.workflow_fields import ID_PATTERN, MAX_NESTING
from runtui.domain.workflow_source import SourceFormat, kept

#: The kinds a workflow file or submission may use (a driven task belongs to its program).
_KINDS = {k.value for k in TaskKind if k is not TaskKind.DRIVEN}
_ID_RE = re.compile(ID_PATTERN)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$|\s*\(at end of document\)$")
_TOO_DEEP = f"nested more than {MAX_NESTING} levels deep (tables and arrays within each other)"
_SHOWN = 80  # characters of an offending value quoted in a message


def load_workflow(path: Path) -> Workflow:
    """Read and validate a workflow file; every failure is a `WorkflowError` naming the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WorkflowError(f"{path}: workflow file not found", source=str(path)) from None
    except IsADirectoryError:
        raise WorkflowError(
            f"{path}: is a directory, not a workflow file", source=str(path)
        ) from None
    except OSError as exc:
        message = f"{path}: cannot read workflow file: {exc.strerror}"
        raise WorkflowError(message, source=str(path)) from None
    body = data.removeprefix(b"\xef\xbb\xbf")  # a BOM is harmless; tomllib would reject it
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        message = (
            f"{path}:{line}: not valid UTF-8 (byte 0x{body[exc.start]:02x}); "
            "workflow files must be UTF-8 text"
        )
        raise WorkflowError(message, source=str(path), line=line) from None
    return parse_workflow(text, source=str(path))


def parse_workflow(text: str, source: str = "<string>") -> Workflow:
    """Validate workflow TOML text; `source` names it in error messages, and as where the
    text came from in the source a run of it keeps (`Workflow.source`)."""
    workflow = workflow_from_data(_parse_toml(text, source), source, text=text)
    return workflow.with_source(kept(SourceFormat.TOML, text, source))


_DRIVEN = (
    "driven tasks are made by the program that drives them (runtui.rok.create_rok);"
    " nobody would do this one's work"
)


def workflow_from_data(
    raw: Mapping[str, Any], source: str = "<data>", *, text: str | None = None
) -> Workflow:
    """Validate a workflow given as data (a TOML file's tables, or the JSON a Python program
    sends a server); errors name `source` and each field (and its line when `text` is the
    TOML it came from), all problems at once."""

    def lines() -> Mapping[Loc, int]:  # only on an error: indexing the text costs
        return _positions(text) if text is not None else {}

    deep = _too_deep(raw)
    if deep is not None:
        field = _field_path(deep[:4], raw) + ("…" if len(deep) > 4 else "")
        raise _workflow_error(source, [(_line_for(deep, lines()), field, _TOO_DEEP)])
    try:
        workflow = Workflow.model_validate(raw)
    except ValidationError as exc:
        problems = _problems(exc, raw, lines())
        problems.sort(key=lambda p: p[0] if p[0] is not None else 1 << 30)
        raise _workflow_error(source, problems) from None
    driven = [
        (_line_for(("tasks", n, "kind"), lines()), _field_path(("tasks", n, "kind"), raw), _DRIVEN)
        for n, task in enumerate(workflow.tasks)
        if task.kind is TaskKind.DRIVEN
    ]
    if driven:
        raise _workflow_error(source, driven)
    return workflow


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise WorkflowError(f"{source}: invalid TOML: {_TOO_DEEP}", source=source) from None
    except tomllib.TOMLDecodeError as exc:
        detail = str(exc)
        match = _TOML_POSITION.search(detail)
        line: int | None = None
        if match and match.group(1):
            line = int(match.group(1))
            detail = f"{detail[: match.start()]} (column {match.group(2)})"
        elif match:
            line = len(text.splitlines()) or 1
            detail = f"{detail[: match.start()]} (at end of file)"
        where = f"{source}:{line}" if line else source
        raise WorkflowError(f"{where}: invalid TOML: {detail}", source=source, line=line) from None


def _too_deep(raw: Mapping[str, Any]) -> Loc | None:
    """The path of the first table or array nested more than `MAX_NESTING` levels deep."""
    stack: list[tuple[Loc, Any]] = [((), raw)]
    while stack:
        loc, value = stack.pop()
        if len(loc) >= MAX_NESTING:
            return loc
        items = value.items() if isinstance(value, dict) else enumerate(value)
        children = [((*loc, k), v) for k, v in items if isinstance(v, dict | list)]
        stack.extend(reversed(children))  # popped in file order
    return None


def _positions(text: str) -> dict[Loc, int]:
    try:
        return _index_lines(text)
    except (ValueError, IndexError):  # best effort: a scanner slip must not hide the error
        return {}


def _workflow_error(source: str, problems: list[tuple[int | None, str, str]]) -> WorkflowError:
    rendered = [
        f"{source}:{at}: {field}: {message}" if at else f"{source}: {field}: {message}"
        for at, field, message in problems
    ]
    first_line, first_field, _ = problems[0]
    return WorkflowError("\n".join(rendered), source=source, line=first_line, field=first_field)


# --- pydantic errors -> (line, field path, message) --------------------------------------------


def _problems(
    exc: ValidationError, raw: Mapping[str, Any], lines: Mapping[Loc, int]
) -> list[tuple[int | None, str, str]]:
    out: list[tuple[int | None, str, str]] = []
    for err in exc.errors():
        for loc, message in _explain(err, raw):
            out.append((_line_for(loc, lines), _field_path(loc, raw), message))
    return out


def _explain(err: ErrorDetails, raw: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    loc = _clean_loc(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "value_error":
        error = ctx.get("error")
        if isinstance(error, SpecError):
            return [((*loc, *issue.loc), issue.message) for issue in error.issues]
        return [(loc, str(error) if error is not None else err["msg"])]
    if kind == "union_tag_invalid":
        kinds = ", ".join(sorted(_KINDS))
        return [((*loc, "kind"), f"unknown task kind {ctx.get('tag')!r}; expected one of: {kinds}")]
    if kind == "union_tag_not_found":
        return [((*loc, "kind"), f"missing required field (one of: {', '.join(sorted(_KINDS))})")]
    if kind == "missing":
        return [(loc, "missing required field")]
    if kind == "model_attributes_type":
        return [(loc, f"must be a table (got {value!r})")]
    if kind == "extra_forbidden":
        return [(loc, _unknown_field(loc, raw))]
    shown = repr(value)
    if len(shown) > _SHOWN:
        shown = shown[: _SHOWN - 1] + "…"
    got = "" if isinstance(value, dict | list) else f" (got {shown})"
    return [(loc, err["msg"] + got)]


def _clean_loc(loc: tuple[int | str, ...]) -> Loc:
    """Drop pydantic's bookkeeping: the union tag in `tasks[i]` and dict-key markers."""
    parts = [p for p in loc if p != "[key]"]
    if len(parts) >= 3 and parts[0] == "tasks" and isinstance(parts[1], int) and parts[2] in _KINDS:
        del parts[2]
    return tuple(parts)


def _unknown_field(loc: Loc, raw: Mapping[str, Any]) -> str:
    model = _model_at(loc[:-1], raw)
    if model is None:
        return "unknown field"
    allowed = sorted(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown field; {hint}allowed: {', '.join(allowed)}"


def _model_at(loc: Loc, raw: Mapping[str, Any]) -> type[BaseModel] | None:
    if loc == ():
        return Workflow
    if loc == ("governance",):
        return GovernanceSpec
    if len(loc) == 2 and loc[0] == "policies":
        return PolicySpec
    if len(loc) == 2 and loc[0] == "tasks":
        kind = _item(raw, loc).get("kind")
        return TASK_MODELS.get(TaskKind(kind)) if kind in _KINDS else None
    return None


def _item(raw: Mapping[str, Any], loc: Loc) -> dict[str, Any]:
    """The raw table at `tasks[i]` / `policies[i]`, or {} if the file has something else there."""
    items = raw.get(str(loc[0]))
    index = loc[1]
    if isinstance(items, list) and isinstance(index, int) and index < len(items):
        item = items[index]
        if isinstance(item, dict):
            return item
    return {}


def _field_path(loc: Loc, raw: Mapping[str, Any]) -> str:
    """`tasks[2] (id=build).needs`: the index is exact, the id is what a person recognises."""
    out = ""
    for n, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            if n == 1 and loc[0] in ("tasks", "policies"):
                item_id = _item(raw, loc).get("id")
                if isinstance(item_id, str) and _ID_RE.fullmatch(item_id):
                    out += f" (id={item_id})"
        elif _BARE_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or "(workflow)"


def _line_for(loc: Loc, lines: Mapping[Loc, int]) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


# --- where things are in the TOML text ---------------------------------------------------------


def _index_lines(text: str) -> dict[Loc, int]:
    """Map document paths (`("tasks", 2, "needs")`) to the 1-based line that defines them.

    Only called on text tomllib accepted, so the scanner can be simple: it tracks table headers
    (counting `[[array]]` entries), keys at the start of a statement, and skips the inside of
    strings (including multi-line ones) and of multi-line arrays.
    """
    found: dict[Loc, int] = {}
    counts: dict[Loc, int] = {}
    table: Loc = ()
    src = text.replace("\r\n", "\n")
    pos, line, size = 0, 1, len(src)
    while pos < size:
        pos = _skip_blank(src, pos)
        if pos >= size:
            break
        char = src[pos]
        if char == "\n":
            pos, line = pos + 1, line + 1
            continue
        if char == "#":
            pos = _line_end(src, pos)
            continue
        if char == "[":
            is_array = src.startswith("[[", pos)
            keys, pos = _parse_key(src, pos + (2 if is_array else 1))
            pos = src.index("]", pos) + (2 if is_array else 1)
            table = _resolve(tuple(keys), counts)
            if is_array:
                counts[table] = counts.get(table, -1) + 1
                table = (*table, counts[table])
            found.setdefault(table, line)
            continue
        keys, pos = _parse_key(src, pos)
        for end in range(1, len(keys) + 1):
            found.setdefault((*table, *keys[:end]), line)
        pos, line = _skip_value(src, src.index("=", pos) + 1, line)
    return found


def _resolve(keys: Loc, counts: Mapping[Loc, int]) -> Loc:
    """A header's path, with the current index inserted after every array-of-tables prefix."""
    out: Loc = ()
    for key in keys[:-1]:
        out = (*out, key)
        if out in counts:
            out = (*out, counts[out])
    return (*out, keys[-1])


def _skip_blank(src: str, pos: int) -> int:
    while pos < len(src) and src[pos] in " \t":
        pos += 1
    return pos


def _line_end(src: str, pos: int) -> int:
    end = src.find("\n", pos)
    return len(src) if end < 0 else end


def _parse_key(src: str, pos: int) -> tuple[list[str], int]:
    """A dotted key (bare, "basic" or 'literal' parts); stops before `=` or `]`."""
    keys: list[str] = []
    while True:
        pos = _skip_blank(src, pos)
        if src[pos] in "\"'":
            quote = src[pos]
            end = pos + 1
            while src[end] != quote:
                end += 2 if quote == '"' and src[end] == "\\" else 1
            raw = src[pos + 1 : end]
            keys.append(tomllib.loads(f"k = {src[pos : end + 1]}")["k"] if quote == '"' else raw)
            pos = end + 1
        else:
            match = _BARE_KEY.match(src, pos)
            if match is None:
                return keys, pos
            keys.append(match.group())
            pos = match.end()
        pos = _skip_blank(src, pos)
        if pos >= len(src) or src[pos] != ".":
            return keys, pos
        pos += 1


def _skip_value(src: str, pos: int, line: int) -> tuple[int, int]:
    """Move past one value (to the end of its last line), counting the newlines crossed."""
    depth = 0
    while pos < len(src):
        char = src[pos]
        if char == "\n":
            if depth == 0:
                return pos, line
            line += 1
            pos += 1
        elif char == "#":
            pos = _line_end(src, pos)
        elif char in "\"'":
            triple = char * 3
            if src.startswith(triple, pos):
                end = _string_end(src, pos + 3, triple)
            else:
                end = _string_end(src, pos + 1, char)
            line += src.count("\n", pos, end)
            pos = end
        else:
            depth += (char in "[{") - (char in "]}")
            pos += 1
    return pos, line


def _string_end(src: str, pos: int, delim: str) -> int:
    """Index just past a string whose body starts at `pos` (escapes; up to two extra quotes)."""
    while not src.startswith(delim, pos):
        pos += 2 if delim[0] == '"' and src[pos] == "\\" else 1
    pos += len(delim)
    if len(delim) == 3:  # `"""a""""` is `a"` then the delimiter
        for _ in range(2):
            if pos < len(src) and src[pos] == delim[0]:
                pos += 1
    return pos
