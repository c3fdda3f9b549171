"""``advmatrix plugins``: every installed plugin of every kind, with its IDs and needs."""

from __future__ import annotations

from typing import Optional

import typer

from ._output import emit_json, out


def list_plugins(kind: Optional[str] = typer.Option(None, "--kind", "-k", help="procedure, detector, response, "
                                                    "target, protocol or scan-format (default: all)."),
                 json: bool = typer.Option(False, "--json", help="Print the list as JSON.")) -> None:
    """List procedures, detectors, responses, target kinds, protocols and scanner formats, built in
    or installed through entry points, with the ATLAS IDs they name and what they need.

    Exit codes: 0 listed, 2 unknown kind."""
    from .. import plugins

    kinds = [plugins.kind(kind).name] if kind else list(plugins.KINDS)
    rows = [cls.describe() for k in kinds for cls in plugins.registry(k).values()]
    if json:
        emit_json(rows)
        return
    from rich.table import Table

    table = Table(title=f"plugins ({len(rows)})")
    for col in ("kind", "name", "ATLAS", "needs", "source", "title"):
        table.add_column(col, overflow="fold")
    for r in rows:
        needs = [f"extra:{e}" for e in r["extras"]] + [f"context:{c}" for c in r["context"]]
        ids = ", ".join(r["technique_ids"] + r["mitigation_ids"])
        name = r["name"] if r["available"] else f"{r['name']} [red](missing {','.join(r['missing_extras'])})[/]"
        table.add_row(r["kind"], name, ids, " ".join(needs), r["source"], r["title"])
    out.print(table)
