"""Root command, and the one place where errors become a line on stderr and an exit code."""

from __future__ import annotations

import sys

import typer

from .. import __version__
from ..errors import AdvmatrixError
from . import assess as assess_commands
from . import kb as kb_commands
from . import monitor as monitor_commands
from . import scan as scan_commands
from . import serve as serve_commands

app = typer.Typer(
    name="advmatrix",
    help="The Adversarial ML Threat Matrix (MITRE ATLAS), executable.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(kb_commands.app, name="kb")
app.command("scan")(scan_commands.scan)
app.command("assess")(assess_commands.assess)
app.add_typer(assess_commands.runs_app, name="runs")
app.command("procedures")(assess_commands.list_procedures)
app.command("demo")(assess_commands.demo)
app.command("serve")(serve_commands.serve)
app.command("monitor")(monitor_commands.monitor)


def _version(value: bool) -> None:
    if value:
        print(f"advmatrix {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """advmatrix: knowledge base, emulation, detection and scanning keyed by ATLAS technique."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script. Returns the process exit code.

    typer's standalone mode already reports usage errors (exit 2); everything advmatrix raises
    on purpose becomes one line here, so no user ever sees a traceback for bad input.
    """
    try:
        app(args=argv, prog_name="advmatrix", standalone_mode=True)
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except AdvmatrixError as exc:
        print(f"advmatrix: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("advmatrix: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0  # output piped into head and closed early: not an error
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"advmatrix: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


def run() -> None:
    sys.exit(main())
