"""A server-sent events parser (the WHATWG algorithm), fed one line at a time.

`id:` sets the last event id even on a frame without data (which dispatches nothing), `retry:`
sets the reconnection delay, lines starting with `:` are comments (keepalives), a blank line
dispatches the frame if it carried data. Fields are `name: value` with one optional space.
Lines end at CRLF, LF or CR only (`sse_lines`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

_LINE_END = re.compile(r"\r\n|\r|\n")


async def sse_lines(chunks: AsyncIterable[str]) -> AsyncIterator[str]:
    """The lines of an event stream, without their endings: split at CRLF, LF or CR only, as
    the format says. (httpx's `aiter_lines` splits like `str.splitlines`, also at U+0085,
    U+2028, U+2029, which a JSON string carries raw: an event holding one came apart and was
    lost.) An unfinished last line is dropped, as an unfinished frame is."""
    pending = ""
    async for chunk in chunks:
        text = pending + chunk
        held = text.endswith("\r")  # perhaps the first half of a CRLF: wait for the next chunk
        *lines, pending = _LINE_END.split(text[:-1] if held else text)
        if held:
            pending += "\r"
        for line in lines:
            yield line


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str
    id: str | None


class SseParser:
    def __init__(self) -> None:
        self.last_id: str | None = None
        self.retry_ms: int | None = None
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> SseEvent | None:
        """One line, without its line ending; returns an event when `line` completes one."""
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> SseEvent | None:
        event, self._event = self._event or "message", ""
        data, self._data = self._data, []
        if not data:
            return None
        return SseEvent(event=event, data="\n".join(data), id=self.last_id)
