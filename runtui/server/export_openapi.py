"""Write (or check) the committed copy of the API's OpenAPI document.

    python -m runtui.server.export_openapi            # rewrite runtui/server/openapi.json
    python -m runtui.server.export_openapi --check    # exit 1 if the copy is out of date

The document comes from `build_app(...).openapi()`; building the app needs no database (the
runtime is only used when a request arrives), so nothing is opened.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import anyio

OUT = Path(__file__).with_name("openapi.json")


def document() -> dict[str, Any]:
    from runtui.config import Settings
    from runtui.server.app import build_app
    from runtui.server.host import ServerHost
    from runtui.server.security import HostRule

    class _NoRuntime:
        """Enough of a host to build the routes (nothing is served)."""

        settings = Settings.model_construct()  # the defaults; no environment, no file

        def idempotency_keys(self) -> None:
            return None

        def stream_source(self) -> SimpleNamespace:
            return SimpleNamespace(reader=None)

    app = build_app(
        cast(ServerHost, _NoRuntime()),
        token="unused",
        hosts=HostRule(frozenset({"127.0.0.1"})),
        shutdown=anyio.Event(),
    )
    return app.openapi()


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtui.server.export_openapi")
    parser.add_argument("--check", action="store_true", help="fail if the copy is stale")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where (default {OUT})")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(
                f"{args.out} is out of date with the API; regenerate it with"
                " `python -m runtui.server.export_openapi`",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
