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

            stream = sys.stderr if self._options.get("stderr") else sys.stdout
            options = dict(self._options)
            # Piped into a file or a CI log, rich assumes 80 columns and cuts IDs short in tables
            # ('AML.T0084.00…'), the very text a reader copies; there, tables get room (COLUMNS still rules).
            if not os.environ.get("COLUMNS") and not (hasattr(stream, "isatty") and stream.isatty()):
                options.setdefault("width", 200)
            self._console = _PipeSafeConsole(**options)
        return getattr(self._console, name)


def _pipe_safe_console() -> type:
    from rich.console import Console

    class PipeSafeConsole(Console):
        """rich exits 1 when its reader closes the pipe (output into head), which reads as "--fail-on holds";
        a closed pipe is no error: stdout is pointed at /dev/null as rich does, and the main loop's
        BrokenPipeError handler ends the run with 0."""

        def on_broken_pipe(self) -> None:
            self.quiet = True
            closed_stdout()
            raise BrokenPipeError

    return PipeSafeConsole


def _PipeSafeConsole(**options: Any) -> Any:  # noqa: N802 - a class made on first use, keeping rich's import lazy
    return _pipe_safe_console()(**options)


# soft_wrap: a line piped into a file or another program keeps its commands and paths whole
out = _LazyConsole(highlight=False, soft_wrap=True)
err = _LazyConsole(stderr=True, highlight=False, soft_wrap=True)


def closed_stdout() -> None:
    """After the reader of stdout has gone (output piped into head): point stdout at /dev/null, so that nothing
    written later, nor the flush at exit, fails again."""
    import os
    import sys

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


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
