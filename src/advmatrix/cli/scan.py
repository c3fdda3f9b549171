"""``advmatrix scan``: find code-execution payloads in model files without loading them."""

from __future__ import annotations

import json as _json
import sys
from pathlib import Path

import typer

from .._files import write_atomic
from ..errors import UsageError
from ..report.sarif import to_sarif
from ..scan import Scanner, Severity
from ._output import emit_json, err, out

_COLOURS = {Severity.CRITICAL: "bold red", Severity.HIGH: "red", Severity.MEDIUM: "yellow",
            Severity.LOW: "cyan", Severity.INFO: "dim"}


def scan(paths: list[Path] = typer.Argument(..., help="Files or directories to scan (archives are opened)."),
         fail_on: str = typer.Option("medium", "--fail-on", help="Exit 1 when a finding is at or above this severity: info, low, medium, high, critical."),
         json: bool = typer.Option(False, "--json", help="JSON report on stdout."),
         sarif: Path | None = typer.Option(None, "--sarif", help="Also write a SARIF 2.1.0 file ('-' for stdout)."),
         show_info: bool = typer.Option(False, "--info", help="Show informational findings too.")) -> None:
    """Scan model artifacts (pickle, PyTorch, joblib, NumPy, Keras, ONNX, safetensors, TF) by content.

    Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 error."""
    try:
        threshold = Severity.parse(fail_on)
    except ValueError as exc:
        raise UsageError(f"--fail-on: {exc}") from None
    machine = json or str(sarif) == "-"
    if machine or not sys.stderr.isatty():
        report = Scanner().scan_paths(paths)
    else:
        from rich.progress import BarColumn, Progress, TextColumn, TransferSpeedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), TransferSpeedColumn(),
                      console=err, transient=True) as progress:
            task = progress.add_task("scanning", total=None)
            scanner = Scanner(progress=lambda p, n: progress.update(
                task, advance=n, description=f"scanning {Path(p).name}"))
            report = scanner.scan_paths(paths)
    if sarif is not None:
        text = _json.dumps(to_sarif(report), indent=2)
        if str(sarif) == "-":
            print(text)
        else:
            write_atomic(sarif, text + "\n")
    if json:
        emit_json({**report.as_dict(), "fail_on": threshold.name.lower()})
    elif not machine:
        _table(report, Severity.INFO if show_info else Severity.LOW)
    for e in report.errors:
        print(f"advmatrix: error: {e}", file=sys.stderr)
    if report.errors:
        raise typer.Exit(2)
    if report.at_or_above(threshold):
        raise typer.Exit(1)


def _table(report, floor: Severity) -> None:
    from rich.markup import escape
    from rich.table import Table

    shown = [f for f in report.findings if f.severity >= floor]
    if not shown:
        out.print(f"[green]no findings[/] in {len(report.files)} artifact(s), {report.bytes_scanned:,} bytes")
        return
    table = Table(title=f"{len(shown)} finding(s) in {len(report.files)} artifact(s)", show_lines=False)
    for col in ("severity", "location", "construct", "finding", "ATLAS"):
        table.add_column(col, overflow="fold")
    for f in sorted(shown, key=lambda f: (-f.severity, f.location)):
        table.add_row(f"[{_COLOURS[f.severity]}]{f.severity.name}[/]", escape(f.location), escape(f.construct),
                      escape(f.message), ", ".join(f.technique_ids))
    out.print(table)
