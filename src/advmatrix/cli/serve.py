"""``advmatrix serve``: the web navigator on this machine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from ._checks import bound_socket, existing_db, serve_on, socket_url
from ._output import err


def serve(host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; loopback by default."),
          port: int = typer.Option(8000, "--port", min=0, max=65535),
          db: Optional[str] = typer.Option(None, "--db", help="Run store for built-in layers (must exist; "
                                           "default advmatrix.db when there is one)."),
          gateway_db: Optional[str] = typer.Option(None, "--gateway-db", help="The gateway's database, for alert layers (must exist)."),
          source: Optional[Path] = typer.Option(None, "--source", help="ATLAS.yaml or STIX bundle instead of the bundled data.")) -> None:
    """Serve the matrix, case studies and results in the browser (FastAPI + server-rendered pages)."""
    from .._extras import require

    require("serve", feature="advmatrix serve")
    from ..kb import load_source
    from ..web import create_app

    if gateway_db is not None:
        existing_db(gateway_db, "--gateway-db", "the file 'advmatrix monitor --db' writes")
    from ..errors import UsageError
    from ..store._engine import sqlite_problem

    if db is not None:  # named, it must be there: the navigator only reads it, and a typo showed no runs
        existing_db(db, "--db", "the file 'advmatrix assess --db' writes")
    else:
        db = "advmatrix.db"  # the default: its run layers appear once a run is stored there
        problem = sqlite_problem(db)
        if problem:
            raise UsageError(f"--db {problem}")
    matrix = load_source(source)
    sock = bound_socket(host, port, "--port")
    app = create_app(matrix, db=db, token=os.environ.get("ADVMATRIX_TOKEN"), gateway_db=gateway_db)
    err.print(f"advmatrix navigator on {socket_url(sock)} (API docs: /api/docs)")
    serve_on(sock, app, log_level="warning")
