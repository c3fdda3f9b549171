"""Console helpers shared by commands: one JSON printer, one rich console per stream.

The consoles are created on first use: importing rich costs tens of milliseconds that a
``--json`` run never needs.
"""

from __future__ import annotations

import json
from typing import Any


class _LazyConsole:
    def __init__(self, **options: Any):
        self._options = options
        self._console = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            import os
            import sys

            from rich.console import Console

            stream = sys.stderr if self._options.get("stderr") else sys.stdout
            options = dict(self._options)
            # Piped into a file or a CI log, rich assumes 80 columns and cuts IDs short in tables
            # ('AML.T0084.00…'), the very text a reader copies; there, tables get room (COLUMNS still rules).
            if not os.environ.get("COLUMNS") and not (hasattr(stream, "isatty") and stream.isatty()):
                options.setdefault("width", 200)
            self._console = Console(**options)
        return getattr(self._console, name)


# soft_wrap: a line piped into a file or another program keeps its commands and paths whole
out = _LazyConsole(highlight=False, soft_wrap=True)
err = _LazyConsole(stderr=True, highlight=False, soft_wrap=True)


def emit_json(data: Any) -> None:
    # print() rather than rich so machines get exactly the JSON text, without wrapping.
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def warn_all(warnings: tuple[str, ...] | list[str], limit: int = 5) -> None:
    from rich.markup import escape

    for w in list(warnings)[:limit]:
        # a warning quotes file names and user text: '[/]' in them is not markup
        err.print(f"advmatrix: [yellow]warning:[/] {escape(w)}", markup=True, highlight=False)
    if len(warnings) > limit:
        err.print(f"advmatrix: [yellow]warning:[/] ... and {len(warnings) - limit} more", markup=True)
