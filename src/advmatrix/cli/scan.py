"""``advmatrix scan``: find code-execution payloads in model files without loading them."""

from __future__ import annotations

import argparse
import json as _json
import sys
from pathlib import Path
from typing import NoReturn

from .._files import write_atomic
from ..errors import UsageError
from ..report.sarif import to_sarif
from ..scan import Scanner, Severity
from ._output import emit_json, err, out

_COLOURS = {Severity.CRITICAL: "bold red", Severity.HIGH: "red", Severity.MEDIUM: "yellow",
            Severity.LOW: "cyan", Severity.INFO: "dim"}

SUMMARY = ("Scan model artifacts (pickle, PyTorch, joblib, NumPy, Keras, ONNX, safetensors, TF) and agent tools "
           "(MCP listings, agent configs, prompt templates) by content.")


class _OneLine(argparse.ArgumentParser):
    """argparse with its usage errors as the one line every other command gives (not usage lines and
    an error below them)."""

    def error(self, message: str) -> NoReturn:
        # argparse (3.11) suggests nothing for a misspelt option, where the other commands do
        hint = ""
        if message.startswith("unrecognized arguments: "):
            import difflib

            options = [o for action in self._actions for o in action.option_strings if o.startswith("--")]
            for word in message.removeprefix("unrecognized arguments: ").split():
                near = difflib.get_close_matches(word.split("=", 1)[0], options, n=1) if word.startswith("--") else []
                if near:
                    hint = f" (did you mean '{near[0]}'?)"
                    break
        raise UsageError(f"{message}{hint} (see advmatrix scan --help)")


def _parser() -> argparse.ArgumentParser:
    # argparse, not typer: this is the one definition of the command's options, and it keeps
    # typer's start-up off the command that pipelines run once per artifact
    p = _OneLine(
        prog="advmatrix scan", description=SUMMARY + " Nothing in them is loaded, imported or run; only --mcp-stdio starts the "
        "server command it is given.",
        epilog="Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 error (including "
               "nothing analysed: no file given is in a format advmatrix knows; and an MCP server that could not "
               "be started, reached or understood, or did not answer within --mcp-timeout).")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="files or directories to scan (archives are opened)")
    p.add_argument("--mcp-stdio", action="append", default=[], metavar="COMMAND",
                   help="start this MCP server (a command line, quoted; it IS run) and scan its tool, prompt and "
                        "resource listing; no tool is called (repeatable)")
    p.add_argument("--mcp-url", action="append", default=[], metavar="URL",
                   help="scan the listing of the MCP server at this streamable HTTP endpoint (a path ending in /sse: "
                        "the SSE transport) (repeatable)")
    p.add_argument("--mcp-timeout", type=float, default=20.0, metavar="SECONDS",
                   help="give each MCP server this long to start and list everything (default: 20)")
    p.add_argument("--fail-on", default="medium", metavar="SEVERITY",
                   help="exit 1 when a finding is at or above this severity: info, low, medium, high, critical "
                        "(default: medium)")
    p.add_argument("--json", action="store_true", help="JSON report on stdout")
    p.add_argument("--sarif", type=Path, metavar="FILE", help="also write a SARIF 2.1.0 file ('-' for stdout)")
    p.add_argument("--info", dest="show_info", action="store_true", help="show informational findings too")
    return p


def run_scan(argv: list[str]) -> int:
    """``advmatrix scan ARGV``; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not (args.paths or args.mcp_stdio or args.mcp_url):
        parser.error("give at least one PATH, --mcp-stdio COMMAND or --mcp-url URL")
    if "" in argv:  # an unset "$MODEL_DIR" reads as '.', and would scan the working directory
        raise UsageError("an argument is empty (an unset variable?); name a file or directory")
    try:
        threshold = Severity.parse(args.fail_on)
    except ValueError as exc:
        raise UsageError(f"--fail-on: {exc}") from None
    servers = _servers(args)
    sarif: Path | None = args.sarif
    if sarif is not None and str(sarif) == "-" and args.json:
        # two JSON documents one after the other on stdout parse as neither (newcomer walkthrough N2)
        raise UsageError("--sarif - and --json both write to standard output; send the SARIF to a file")
    if sarif is not None and str(sarif) != "-" and sarif.exists() and any(
            sarif.resolve() == Path(p).resolve() for p in args.paths if Path(p).exists()):
        # the report would replace the model it reports on (newcomer walkthrough N2)
        raise UsageError(f"--sarif {sarif}: is a file being scanned; the SARIF output would overwrite it")
    machine = args.json or str(sarif) == "-"
    if machine or not sys.stderr.isatty() or not args.paths:
        report = Scanner().scan_paths(args.paths)
    else:
        from rich.progress import BarColumn, Progress, TextColumn, TransferSpeedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), TransferSpeedColumn(),
                      console=err, transient=True) as progress:
            task = progress.add_task("scanning", total=None)
            scanner = Scanner(progress=lambda p, n: progress.update(
                task, advance=n, description=f"scanning {Path(p).name}"))
            report = scanner.scan_paths(args.paths)
    if servers:
        from ..scan.mcp_live import scan_servers

        scan_servers(servers, args.mcp_timeout, report)
    # a gate that looked at nothing must not pass as "no findings": no file found, or none of a known format
    empty = bool(args.paths) and not servers and not report.files and not report.errors
    nothing = empty or (bool(report.files) and len(report.unanalysed) == len(report.files))
    if sarif is not None:
        text = _json.dumps(to_sarif(report, analysed=not nothing,
                                      least=Severity.INFO if args.show_info else Severity.LOW), indent=2)
        if str(sarif) == "-":
            print(text)
        else:
            write_atomic(sarif, text + "\n")
    if args.json:
        emit_json({**report.as_dict(), "fail_on": threshold.name.lower()})
    elif not machine and not nothing and (report.files or not report.errors):
        _table(report, Severity.INFO if args.show_info else Severity.LOW)
    for e in report.errors:
        print(f"advmatrix: error: {e}", file=sys.stderr)
    if report.errors:
        return 2
    if empty:
        print(f"advmatrix: error: {', '.join(map(str, args.paths))}: no files found; nothing was analysed",
              file=sys.stderr)
        return 2
    if nothing:
        names = ", ".join(report.unanalysed[:3]) + (f" and {len(report.unanalysed) - 3} more"
                                                     if len(report.unanalysed) > 3 else "")
        print(f"advmatrix: error: {names}: unknown format (not pickle, PyTorch, joblib, NumPy, Keras, ONNX, "
              "safetensors or TensorFlow); nothing was analysed", file=sys.stderr)
        return 2
    return 1 if report.at_or_above(threshold) else 0


def _servers(args) -> list:
    if not (args.mcp_stdio or args.mcp_url):
        return []
    # only now: the module (and the SDK it hides) costs nothing to scans that name no server
    from ..scan.mcp_live import McpServer

    if not args.mcp_timeout > 0:
        raise UsageError("--mcp-timeout: must be a positive number of seconds")
    return [McpServer.stdio(c) for c in args.mcp_stdio] + [McpServer.http(u) for u in args.mcp_url]


def _table(report, floor: Severity) -> None:
    from rich.markup import escape
    from rich.table import Table

    shown = [f for f in report.findings if f.severity >= floor]
    unknown = report.unanalysed
    for path in unknown[:10]:
        out.print(f"[yellow]unknown format[/], not analysed: {escape(path)}")
    if len(unknown) > 10:
        out.print(f"[yellow]unknown format[/], not analysed: ... and {len(unknown) - 10} more")
    analysed = len(report.files) - len(unknown)
    if not shown and analysed:
        # the bytes of what was analysed: a README given beside a model is read, not looked into
        size = sum(r.size for r in report.files if not r.member and r.format != "unknown")
        out.print(f"[green]no findings[/] in {analysed} artifact(s), {size:,} bytes"
                  + (f" ({len(unknown)} of unknown format not analysed)" if unknown else ""))
        return
    if not shown:
        return
    table = Table(title=f"{len(shown)} finding(s) in {len(report.files)} artifact(s)", show_lines=False)
    for col in ("severity", "location", "construct", "finding", "ATLAS"):
        table.add_column(col, overflow="fold")
    for f in sorted(shown, key=lambda f: (-f.severity, f.location)):
        table.add_row(f"[{_COLOURS[f.severity]}]{f.severity.name}[/]", escape(f.location), escape(f.construct),
                      escape(f.message), ", ".join(f.technique_ids))
    out.print(table)
