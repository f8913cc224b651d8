"""Run history as JSONL, one RunSummary per line in the run-history source's shape.

Export writes to a temporary file beside the destination and renames it into place, so a
failed or interrupted export never leaves a half-written file. Import reports the line and the
field of the first bad record.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from runtui.domain.errors import InvalidInputError
from runtui.domain.summary import RunSummary


class HistoryFormatError(InvalidInputError):
    """A JSONL history line that is not a RunSummary."""


def summary_to_json(summary: RunSummary) -> str:
    return summary.model_dump_json()


def write_jsonl(summaries: Iterable[RunSummary], out: TextIO) -> int:
    count = 0
    for summary in summaries:
        out.write(summary_to_json(summary))
        out.write("\n")
        count += 1
    return count


def export_jsonl_file(summaries: Iterable[RunSummary], dest: Path) -> int:
    """Write `summaries` to `dest` atomically; returns how many were written."""
    dest = dest.expanduser()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            count = write_jsonl(summaries, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return count


def read_jsonl(path: Path) -> list[RunSummary]:
    """Parse a history file; the first bad line raises `HistoryFormatError` with line and field."""
    summaries: list[RunSummary] = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                summaries.append(RunSummary.model_validate(json.loads(line)))
            except json.JSONDecodeError as exc:
                raise HistoryFormatError(f"{path}:{number}: not JSON: {exc.msg}") from None
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(str(p) for p in err["loc"]) or "?"
                raise HistoryFormatError(f"{path}:{number}: {field}: {err['msg']}") from None
    return summaries
