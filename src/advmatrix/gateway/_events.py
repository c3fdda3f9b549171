"""The gateway's own log: events, alerts and active measures in SQLite (WAL), written by one
background thread so that requests never wait on the disk."""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, time REAL, client TEXT, path TEXT, status INTEGER,
  n INTEGER, bytes_in INTEGER, latency_ms REAL, digest TEXT);
CREATE INDEX IF NOT EXISTS events_client ON events(client);
CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY, time REAL, detector TEXT, client TEXT, severity TEXT,
  message TEXT, techniques TEXT, mitigations TEXT, action TEXT, query_count INTEGER, document TEXT);
CREATE TABLE IF NOT EXISTS measures (client TEXT, measure TEXT, until REAL, PRIMARY KEY (client, measure));
"""


class EventLog:
    def __init__(self, path: str | Path, retention: int = 1_000_000):
        self.path = str(path)
        self.retention = retention
        self._q: queue.Queue = queue.Queue(maxsize=100_000)
        self.dropped = 0
        self.written = 0
        with self._connect() as conn:
            conn.executescript(_SCHEMA)
        self._thread = threading.Thread(target=self._writer, name="advmatrix-events", daemon=True)
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    # -- hot path ------------------------------------------------------------------------------
    def event(self, row: tuple) -> None:
        try:
            self._q.put_nowait(("event", row))
        except queue.Full:
            self.dropped += 1  # counted and exported; never blocks a request

    def alert(self, document: dict[str, Any]) -> None:
        self._q.put(("alert", document))  # alerts are rare and must not be dropped

    def measure(self, client: str, measure: str, until: float) -> None:
        self._q.put(("measure", (client, measure, until)))

    # -- writer --------------------------------------------------------------------------------
    def _writer(self) -> None:
        conn = self._connect()
        since_trim = 0
        while True:
            item = self._q.get()
            batch = [item]
            while len(batch) < 2000:
                try:
                    batch.append(self._q.get_nowait())
                except queue.Empty:
                    break
            stop = False
            with conn:
                for kind, payload in batch:
                    if kind == "event":
                        conn.execute("INSERT INTO events (time, client, path, status, n, bytes_in, latency_ms, digest) "
                                     "VALUES (?,?,?,?,?,?,?,?)", payload)
                        self.written += 1
                        since_trim += 1
                    elif kind == "alert":
                        d = payload
                        conn.execute("INSERT INTO alerts (time, detector, client, severity, message, techniques, "
                                     "mitigations, action, query_count, document) VALUES (?,?,?,?,?,?,?,?,?,?)",
                                     (d["@timestamp_epoch"], d["rule"]["name"], d["user"]["id"], d["event"]["severity_label"],
                                      d["message"], json.dumps(d["threat"]["technique"]["id"]),
                                      json.dumps(d["advmatrix"]["mitigation_ids"]), d["advmatrix"]["action"],
                                      d["advmatrix"]["query_count"], json.dumps(d)))
                    elif kind == "measure":
                        conn.execute("INSERT OR REPLACE INTO measures VALUES (?,?,?)", payload)
                    elif kind == "flush":
                        payload.set()
                    elif kind == "stop":
                        stop = True
            if since_trim > 10_000:
                since_trim = 0
                with conn:  # bounded retention: keep the newest `retention` events
                    conn.execute("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?", (self.retention,))
            for kind, payload in batch:
                if kind == "flush":
                    payload.set()
            if stop:
                conn.close()
                return

    def flush(self, timeout: float = 10.0) -> None:
        done = threading.Event()
        self._q.put(("flush", done))
        done.wait(timeout)

    def close(self) -> None:
        self.flush()
        self._q.put(("stop", None))
        self._thread.join(timeout=10)

    # -- reads (admin API) ---------------------------------------------------------------------
    def query(self, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
        conn = self._connect()
        try:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()

    def alerts(self, client: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        where, args = ("WHERE client = ?", (client,)) if client else ("", ())
        rows = self.query(f"SELECT document FROM alerts {where} ORDER BY id DESC LIMIT ?", (*args, limit))
        return [json.loads(r["document"]) for r in rows]

    def measures(self, now: float | None = None) -> list[dict[str, Any]]:
        return self.query("SELECT client, measure, until FROM measures WHERE until > ?", (now or time.time(),))

    def count_events(self) -> int:
        return self.query("SELECT COUNT(*) AS n FROM events")[0]["n"]
