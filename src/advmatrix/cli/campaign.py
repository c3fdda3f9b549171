"""``advmatrix campaign``: many targets x procedures from a plan file, one stored run."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Optional

import typer

from ._output import emit_json, err, out


def campaign(plan: Path = typer.Argument(..., help="Plan .yaml: targets, their procedures, budgets and concurrency."),
             executor: str = typer.Option("local", "--executor", help="'local' (worker processes) or 'ray' (the 'ray' extra)."),
             workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, help="Units running at once (default: CPUs, at most 4 locally; the cluster's CPUs on Ray)."),
             ray_address: Optional[str] = typer.Option(None, "--ray-address", help="ray://host:port of a Ray cluster on a trusted network (default: a local one on 127.0.0.1)."),
             resume: Optional[str] = typer.Option(None, "--resume", help="Run ID of an interrupted campaign: run only its units not yet stored."),
             db: str = typer.Option("advmatrix.db", "--db", help="SQLite file or SQLAlchemy URL (postgresql+psycopg://...)."),
             json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Run a campaign: every target x procedure of PLAN as separate units, on worker processes
    or Ray, all findings in one stored run. A failing unit is recorded as an error; the others go on.

    Exit codes: 0 done (units that errored are listed), 2 bad plan or options, 3 unknown run."""
    from ..emulate.campaign_exec import load_plan, run_campaign, units

    if resume is not None:
        from ._checks import existing_db

        existing_db(db, hint="--resume reads the run from it")
    parsed = load_plan(plan)
    options = dict(store=db, executor=executor, workers=workers, ray_address=ray_address, resume=resume)
    if json or not sys.stderr.isatty():
        result = run_campaign(parsed, **options)
    else:
        total = len(units(parsed))
        with _progress(total) as step:
            result = run_campaign(parsed, **options, on_progress=step)
    if json:
        emit_json(result.as_dict())
        return
    _table(result)
    out.print(f"run [b]{result.assessment.id}[/] stored in {result.store}: {result.ran} units run, "
              f"{result.skipped} already stored, {len(result.errors)} errors")


@contextlib.contextmanager
def _progress(total: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(bar_width=None), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("campaign", total=total)
        running: set[str] = set()

        def step(key: str, finding) -> None:
            if finding is None:
                running.add(key)
            else:
                running.discard(key)
                bar.advance(task)
            bar.update(task, description=", ".join(sorted(running)[:3]) or "campaign")

        yield step


def _table(result) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"campaign {escape(result.assessment.label)}")
    for col in ("target", "procedure", "status", "success", "queries", "note"):
        table.add_column(col, overflow="fold")
    for u in result.units:
        f = result.assessment.findings[u["finding"]]
        table.add_row(escape(u["target"]), f.procedure, f.status,
                      "–" if f.success_rate is None else f"{f.success_rate:.0%}", str(f.queries),
                      escape(f.message[:120]) if f.status in ("error", "skipped", "partial") else "")
    out.print(table)
