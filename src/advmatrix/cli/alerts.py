"""``advmatrix alerts list|show``: read the alerts the monitoring gateway stored."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Optional

import typer

from ..errors import UnknownObjectError, UsageError
from ._checks import existing_db
from ._output import emit_json, out

app = typer.Typer(help="Read the alerts the monitoring gateway stored (advmatrix monitor --db).", no_args_is_help=True)
DbOpt = typer.Option("gateway.db", "--db", help="The gateway's database: SQLite file or SQLAlchemy URL.")
_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# the store reads newest first with a limit; filters it cannot apply are applied to this many
_SCAN = 100_000


def parse_since(text: str, now: float | None = None) -> float:
    """``--since`` as seconds since the epoch: a span back from now (``90s``, ``15m``, ``1h``,
    ``2d``, ``1w``) or an ISO 8601 date or time (local time unless it names a zone)."""
    now = time.time() if now is None else now
    m = _SPAN.match(text.strip().lower())
    if m:
        return now - float(m.group(1)) * _SECONDS[m.group(2)]
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--since '{text}': expected a span (30m, 1h, 2d, 1w) or an ISO date or time "
                         "(2025-01-31, 2025-01-31T12:00:00Z)") from None
    try:
        return when.timestamp() if when.tzinfo else when.astimezone().timestamp()
    except (ValueError, OverflowError, OSError):  # 0001-01-01 in a zone west of UTC is before year 1
        raise UsageError(f"--since '{text}': too far back to compare with the alerts' times") from None


def _open(db: str) -> Any:
    from ..store import EventStore

    return EventStore(existing_db(db, hint="the file 'advmatrix monitor --db' writes"), read_only=True)


def _technique(text: str) -> str:
    from ..kb import bundled

    return bundled().technique(text).id  # unknown: one line naming close IDs, exit 3


def _names(alert: Any, technique: str) -> bool:
    # a technique selects its sub-techniques' alerts too: AML.T0043 matches AML.T0043.001
    return any(t == technique or t.startswith(technique + ".") for t in alert.technique_ids)


def _is_uuid(text: str) -> bool:
    # the form the gateway gives event.id (str(uuid4())): anything else is a typo, said as one
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def _doc(alert: Any) -> dict[str, Any]:
    doc = asdict(alert)
    doc["time_iso"] = datetime.fromtimestamp(alert.time, UTC).isoformat(timespec="seconds")
    return doc


def _when(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M:%S")


@app.command("list")
def alerts_list(db: str = DbOpt,
                since: Optional[str] = typer.Option(None, "--since", help="Only alerts since: 1h, 30m, 2d, or an ISO date/time."),
                client: Optional[str] = typer.Option(None, "--client", help="Only this client (as alerts name it)."),
                detector: Optional[str] = typer.Option(None, "--detector", help="Only this detector."),
                technique: Optional[str] = typer.Option(None, "--technique", help="Only alerts naming this ATLAS technique (or its sub-techniques)."),
                limit: int = typer.Option(50, "--limit", "-n", min=1, max=1_000_000, help="Most alerts shown."),
                json: bool = typer.Option(False, "--json", help="Print the alerts as JSON.")) -> None:
    """List stored alerts, newest first."""
    start = parse_since(since) if since is not None else None
    if detector is not None:
        from ..plugins import registry

        known = registry("detector")
        if detector not in known:
            raise UsageError(f"--detector '{detector}': no such detector (valid: {', '.join(known)})")
    wanted = _technique(technique) if technique is not None else None
    store = _open(db)
    try:
        found = store.alerts(client=client, detector=detector, since=start, limit=_SCAN if wanted else limit)
    finally:
        store.close()
    if wanted:
        found = [a for a in found if _names(a, wanted)][:limit]
    if json:
        emit_json([_doc(a) for a in found])
        return
    if not found:
        out.print(f"no alerts in {db}" + (" matching the filters" if since or client or detector or technique else ""))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"alerts ({len(found)})")
    for col in ("id", "time", "client", "detector", "severity", "ATLAS", "action", "message"):
        table.add_column(col, overflow="fold")
    for a in found:
        table.add_row(str(a.id), _when(a.time), escape(a.client), a.detector, a.severity, ", ".join(a.technique_ids),
                      a.action or "–", escape(a.message))
    out.print(table)


@app.command("show")
def alerts_show(alert_id: str = typer.Argument(..., metavar="ID", help="The alert's number (from 'alerts list') or "
                                                "its event.id (from its JSONL line, webhook or SIEM copy)."),
                db: str = DbOpt, json: bool = typer.Option(False, "--json", help="Print the alert as JSON.")) -> None:
    """Show one alert with its evidence."""
    key = alert_id.strip()
    if not key.isdigit() and not _is_uuid(key):
        raise UsageError(f"alert ID '{alert_id}': expected a number, as 'advmatrix alerts list' shows, or the "
                         "event.id (a UUID) of an alert's JSONL line, webhook or SIEM copy")
    wanted = (lambda a: a.id == int(key)) if key.isdigit() else (lambda a: a.uid == key.lower())
    store = _open(db)
    try:
        alert = next((a for a in store.alerts(limit=_SCAN) if wanted(a)), None)
    finally:
        store.close()
    if alert is None:
        raise UnknownObjectError(alert_id, f"see 'advmatrix alerts list --db {db}'", where=f"the gateway database {db}")
    if json:
        emit_json(_doc(alert))
        return
    import json as _json

    from rich.markup import escape

    rows = [("alert", str(alert.id)), ("event.id", alert.uid or "–"), ("time", _when(alert.time)), ("client", alert.client),
            ("detector", alert.detector), ("severity", alert.severity), ("ATLAS", ", ".join(alert.technique_ids)),
            ("action", alert.action or "–"), ("mitigations", ", ".join(alert.mitigation_ids) or "–"),
            ("queries", str(alert.query_count)), ("message", alert.message)]
    for key, value in rows:
        out.print(f"[b]{key:<12}[/] {escape(value)}")
    if alert.evidence:
        out.print("[b]evidence[/]")
        out.print(escape(_json.dumps(alert.evidence, indent=2, ensure_ascii=False, default=str)))
