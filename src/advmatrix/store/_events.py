"""The gateway's events, alerts and measures in a relational database through SQLAlchemy Core,
and the background writer that keeps requests from ever waiting on the disk.

:class:`EventStore` is the one way in and out: the gateway writes through an
:class:`EventWriter` on top of it; the admin API, the purple loop (over that API) and the
navigator's alert layers read through :meth:`EventStore.alerts` and
:meth:`EventStore.technique_counts`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, Engine

from ..errors import UsageError
from ._engine import create_tables, open_engine, url_for
from ._records import Alert, Event

log = logging.getLogger("advmatrix.store")

metadata = MetaData()
# SQLite only makes an INTEGER PRIMARY KEY the rowid (auto-numbered); PostgreSQL gets 64 bits
_ID = BigInteger().with_variant(Integer, "sqlite")

events = Table(
    "events", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("client", String(300), nullable=False),
    Column("path", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Column("bytes_in", BigInteger, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("digest", String(64), nullable=False),
    Index("events_client", "client"),
)

alerts = Table(
    "alerts", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("detector", String(100), nullable=False),
    Column("client", String(300), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("message", Text, nullable=False),
    Column("technique_ids", JSON, nullable=False),
    Column("mitigation_ids", JSON, nullable=False),
    Column("action", String(100), nullable=False),
    Column("query_count", BigInteger, nullable=False),
    Column("evidence", JSON, nullable=False),
    # the alert's own ID (Alert.uid); NULL in rows written before alerts had one
    Column("uid", String(64), nullable=True),
    Index("alerts_client", "client"),
    Index("alerts_time", "time"),
)

# measures in force per client, so that blocks survive a restart (until 0 = lifted)
measures = Table(
    "measures", metadata,
    Column("client", String(300), primary_key=True),
    Column("measure", String(100), primary_key=True),
    Column("until", Float, nullable=False),
)


def _alert_row(a: Alert) -> dict[str, Any]:
    return {"time": a.time, "detector": a.detector, "client": a.client, "severity": a.severity,
            "message": a.message, "technique_ids": list(a.technique_ids), "mitigation_ids": list(a.mitigation_ids),
            "action": a.action, "query_count": a.query_count, "evidence": a.evidence, "uid": a.uid}


class EventStore:
    """Events, alerts and measures at ``location``: a path is a SQLite file (WAL), a URL such
    as ``postgresql+psycopg://...`` a server database, the same code on both.

    Events are kept bounded: past ``retention`` events the oldest are deleted (checked every
    ``retention // 10`` events written, at most every 10,000). ``read_only`` opens an existing
    SQLite file without ever writing to it (for readers such as the navigator).
    """

    def __init__(self, location: str | Path = "gateway.db", *, retention: int = 1_000_000, read_only: bool = False):
        if retention < 1:
            raise UsageError(f"event retention must be at least 1, not {retention}")
        self.url = url_for(location)
        self.retention = retention
        self.trim_every = max(1, min(10_000, retention // 10))
        self._since_trim = 0
        # events are a log: a power cut may cost the last transactions, never the file
        self.engine: Engine = open_engine(location, read_only=read_only, synchronous="NORMAL")
        # the alert columns to read: a reader never migrates, and a file of an older release lacks ``uid``
        self._alert_columns = list(alerts.c)
        if read_only:
            found = inspect(self.engine)
            if not found.has_table("alerts"):
                raise UsageError(f"{location} is not a gateway database (no alerts table)")
            have = {c["name"] for c in found.get_columns("alerts")}
            self._alert_columns = [c for c in alerts.c if c.name in have]
        else:
            create_tables(self.engine, metadata, location)
        # the insert of events as the driver's own SQL, for drivers taking positional parameters
        # (SQLite): an Event is then its own row, with none of the per-row work of Core (half
        # the writer's cost per event, measured); others take the Core statement
        compiled = insert(events).values({f: bindparam(f) for f in Event._fields}).compile(dialect=self.engine.dialect)
        positional = self.engine.dialect.positional and list(compiled.positiontup or ()) == list(Event._fields)
        self._insert_events: str | None = str(compiled) if positional else None

    # -- writes --------------------------------------------------------------------------------
    def write(self, new_events: Iterable[Event] = (), new_alerts: Iterable[Alert] = (),
              new_measures: Iterable[tuple[str, str, float]] = ()) -> None:
        """Write events, alerts and measures ``(client, measure, until)`` in one transaction
        (one executemany per table); later measures of the same client and name win."""
        event_rows = list(new_events)
        alert_rows = [_alert_row(a) for a in new_alerts]
        latest = {(c, m): u for c, m, u in new_measures}
        with self.engine.begin() as conn:
            if event_rows and self._insert_events:
                conn.exec_driver_sql(self._insert_events, event_rows)
            elif event_rows:
                conn.execute(insert(events), [e._asdict() for e in event_rows])
            if alert_rows:
                conn.execute(insert(alerts), alert_rows)
            if latest:
                self._upsert_measures(conn, [{"client": c, "measure": m, "until": u} for (c, m), u in latest.items()])
        self._since_trim += len(event_rows)
        if self._since_trim >= self.trim_every:
            self.trim()

    def add_events(self, new_events: Iterable[Event]) -> None:
        """Write a batch of events in one transaction."""
        self.write(new_events=new_events)

    def add_alert(self, alert: Alert) -> int:
        """Write one alert; returns its ID (also set on ``alert.id``)."""
        with self.engine.begin() as conn:
            alert.id = conn.execute(insert(alerts).values(_alert_row(alert))).inserted_primary_key[0]
        return alert.id

    def set_measure(self, client: str, measure: str, until: float) -> None:
        """Record that ``measure`` holds on ``client`` until ``until`` (0 to record it lifted)."""
        self.write(new_measures=[(client, measure, until)])

    def trim(self) -> int:
        """Delete all but the newest ``retention`` events; returns how many went."""
        self._since_trim = 0
        newest = select(func.max(events.c.id)).scalar_subquery()
        with self.engine.begin() as conn:
            return conn.execute(delete(events).where(events.c.id <= newest - self.retention)).rowcount

    @staticmethod
    def _upsert_measures(conn: Connection, rows: list[dict[str, Any]]) -> None:
        dialect = conn.dialect.name
        if dialect in ("sqlite", "postgresql"):
            if dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert as upsert
            else:
                from sqlalchemy.dialects.postgresql import insert as upsert
            stmt = upsert(measures)
            conn.execute(stmt.on_conflict_do_update(index_elements=["client", "measure"],
                                                    set_={"until": stmt.excluded.until}), rows)
            return
        for row in rows:  # any other database: plain SQL
            conn.execute(delete(measures).where(measures.c.client == row["client"],
                                                measures.c.measure == row["measure"]))
            conn.execute(insert(measures).values(row))

    # -- reads ---------------------------------------------------------------------------------
    def alerts(self, client: str | None = None, detector: str | None = None, since: float | None = None,
               limit: int = 100) -> list[Alert]:
        """Stored alerts, newest first, optionally of one client, of one detector, since a time."""
        query = select(*self._alert_columns).order_by(alerts.c.id.desc()).limit(limit)
        if client is not None:
            query = query.where(alerts.c.client == client)
        if detector is not None:
            query = query.where(alerts.c.detector == detector)
        if since is not None:
            query = query.where(alerts.c.time >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [Alert(r["detector"], tuple(r["technique_ids"]), r["client"], r["severity"], r["message"],
                      dict(r["evidence"] or {}), r["time"], r["query_count"], r["action"], tuple(r["mitigation_ids"]),
                      r["id"], r.get("uid")) for r in rows]

    def events(self, client: str | None = None, limit: int = 100) -> list[Event]:
        """Stored events, newest first, optionally of one client."""
        query = select(*(events.c[f] for f in Event._fields)).order_by(events.c.id.desc()).limit(limit)
        if client is not None:
            query = query.where(events.c.client == client)
        with self.engine.connect() as conn:
            return [Event(*row) for row in conn.execute(query)]

    def measures(self, now: float | None = None) -> list[dict[str, Any]]:
        """Measures still in force at ``now`` (default: now): client, measure and until."""
        now = time.time() if now is None else now
        with self.engine.connect() as conn:
            rows = conn.execute(select(measures).where(measures.c.until > now)).mappings().all()
        return [dict(r) for r in rows]

    def count_events(self) -> int:
        """Events stored."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(events)).scalar_one()

    def technique_counts(self, since: float | None = None) -> dict[str, int]:
        """Alerts naming each ATLAS technique (since a time, or ever), for the alert layers."""
        query = select(alerts.c.technique_ids)
        if since is not None:
            query = query.where(alerts.c.time >= since)
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            for (tids,) in conn.execute(query):
                for tid in tids:
                    counts[tid] = counts.get(tid, 0) + 1
        return counts

    def close(self) -> None:
        """Close the database connections."""
        self.engine.dispose()


_STOP = object()


class EventWriter:
    """Writes to an :class:`EventStore` from one background thread, so that no request waits on
    the disk.

    :meth:`event` costs one append: when ``max_queue`` events wait already, the event is
    dropped and counted in ``dropped`` (the gateway exports it) rather than slowing the
    request. Alerts and measures are never dropped. The thread writes whatever is waiting
    every ``interval`` seconds (at once for an alert, a measure or a flush), at most
    ``batch_size`` items per transaction, one executemany per table.
    """

    def __init__(self, store: EventStore, *, max_queue: int = 100_000, batch_size: int = 2_000,
                 interval: float = 0.05):
        self.store = store
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.interval = interval
        self.dropped = 0   # events refused because the queue was full
        self.written = 0   # events committed
        self.failed = 0    # items lost to database errors (logged)
        self._items: deque = deque()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="advmatrix-events", daemon=True)
        self._thread.start()

    # -- hot path ------------------------------------------------------------------------------
    def event(self, event: Event) -> None:
        """Queue an event; never blocks (dropped and counted when the queue is full)."""
        if len(self._items) < self.max_queue:
            self._items.append(event)
        else:
            self.dropped += 1

    def alert(self, alert: Alert) -> None:
        """Queue an alert (never dropped)."""
        self._items.append(alert)
        self._wake.set()

    def measure(self, client: str, measure: str, until: float) -> None:
        """Queue a measure's new end (never dropped)."""
        self._items.append((client, measure, until))
        self._wake.set()

    # -- control -------------------------------------------------------------------------------
    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued before the call is committed; False on timeout."""
        done = threading.Event()
        self._items.append(done)
        self._wake.set()
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        if self._thread.is_alive():
            self._items.append(_STOP)
            self._wake.set()
            self._thread.join(timeout)

    # -- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        items = self._items
        while True:
            if not items:
                self._wake.wait(self.interval)
                self._wake.clear()
            batch_events: list[Event] = []
            batch_alerts: list[Alert] = []
            batch_measures: list[tuple[str, str, float]] = []
            done: list[threading.Event] = []
            stop = False
            while items and len(batch_events) + len(batch_alerts) + len(batch_measures) < self.batch_size:
                item = items.popleft()
                if type(item) is Event:
                    batch_events.append(item)
                elif isinstance(item, Alert):
                    batch_alerts.append(item)
                elif isinstance(item, tuple):
                    batch_measures.append(item)
                elif isinstance(item, threading.Event):
                    done.append(item)
                elif item is _STOP:
                    stop = True
                    break
            if batch_events or batch_alerts or batch_measures:
                try:
                    self.store.write(batch_events, batch_alerts, batch_measures)
                    self.written += len(batch_events)
                except Exception:  # the database is down or full: log, count, keep serving
                    self.failed += len(batch_events) + len(batch_alerts) + len(batch_measures)
                    log.exception("could not write %d events, %d alerts and %d measures", len(batch_events),
                                  len(batch_alerts), len(batch_measures))
            for d in done:  # only now is the batch committed and visible to readers
                d.set()
            if stop:
                return
