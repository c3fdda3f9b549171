"""The gateway's event store and its background writer, on SQLite and (when a server is
available: .ci/run sets ADVMATRIX_TEST_POSTGRES_URL) on PostgreSQL, the same tests."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event as sa_event

from advmatrix.errors import UsageError
from advmatrix.store import Alert, Event, EventStore, EventWriter
from advmatrix.store._events import metadata

POSTGRES = os.environ.get("ADVMATRIX_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    """Where a test's store lives; PostgreSQL tables are dropped before and after each test."""
    if request.param == "sqlite":
        yield str(tmp_path / "events.db")
        return
    if not POSTGRES:
        pytest.skip("no PostgreSQL: set ADVMATRIX_TEST_POSTGRES_URL (.ci/run does)")
    store = EventStore(POSTGRES)
    metadata.drop_all(store.engine)
    store.close()
    yield POSTGRES
    store = EventStore(POSTGRES)
    metadata.drop_all(store.engine)
    store.close()


def alert(i: int = 0, **fields) -> Alert:
    values = {"detector": "volume", "technique_ids": ("AML.T0029", "AML.T0034"), "client": f"key:{i % 3}",
              "severity": "medium", "message": f"alert {i}", "evidence": {"rate": i, "window": [1, 2.5]},
              "time": 1_700_000_000.0 + i, "query_count": 10 * i, "action": "throttle",
              "mitigation_ids": ("AML.M0004",)}
    return Alert(**{**values, **fields})


def ev(i: int, client: str = "key:a") -> Event:
    return Event(1_700_000_000.0 + i, client, "/v2/models/m/infer", 200, 1, 100 + i, 1.5, f"{i:016x}")


def test_alerts_round_trip_newest_first_and_filtered(location):
    store = EventStore(location)
    written = [alert(i) for i in range(6)] + [alert(6, detector="prada", technique_ids=("AML.T0024.002",))]
    ids = [store.add_alert(a) for a in written]
    assert ids == sorted(ids) and all(a.id == i for a, i in zip(written, ids, strict=True))
    again = EventStore(location).alerts()
    assert again == written[::-1]  # every field, the store's ID included
    assert isinstance(again[0].technique_ids, tuple) and isinstance(again[0].mitigation_ids, tuple)
    assert [a.message for a in store.alerts(client="key:1")] == ["alert 4", "alert 1"]
    assert [a.detector for a in store.alerts(detector="prada")] == ["prada"]
    assert [a.message for a in store.alerts(since=1_700_000_005.0)] == ["alert 6", "alert 5"]
    assert len(store.alerts(limit=2)) == 2
    assert store.technique_counts() == {"AML.T0029": 6, "AML.T0034": 6, "AML.T0024.002": 1}
    assert store.technique_counts(since=1_700_000_004.0) == {"AML.T0029": 2, "AML.T0034": 2, "AML.T0024.002": 1}
    store.close()


def test_events_round_trip(location):
    store = EventStore(location)
    store.add_events([ev(i, client=f"key:{i % 2}") for i in range(50)])
    assert store.count_events() == 50
    newest = store.events(limit=3)
    assert newest == [ev(49, "key:1"), ev(48, "key:0"), ev(47, "key:1")]
    assert all(e.client == "key:0" for e in store.events(client="key:0", limit=100))


def test_measures_latest_wins_and_expired_ones_are_not_read(location):
    store = EventStore(location)
    store.write(new_measures=[("key:a", "block", 2000.0), ("key:a", "block", 3000.0), ("key:b", "throttle", 1500.0)])
    store.set_measure("key:c", "degrade", 2500.0)
    assert sorted(map(tuple, (m.values() for m in store.measures(now=1000.0)))) == [
        ("key:a", "block", 3000.0), ("key:b", "throttle", 1500.0), ("key:c", "degrade", 2500.0)]
    store.set_measure("key:a", "block", 0.0)  # lifted
    assert {m["client"] for m in store.measures(now=1600.0)} == {"key:c"}


def test_retention_keeps_the_newest_events(location):
    store = EventStore(location, retention=100)
    for start in range(0, 1000, 7):
        store.add_events([ev(i) for i in range(start, min(start + 7, 1000))])
        assert store.count_events() <= 100 + store.trim_every
    store.trim()
    assert store.count_events() == 100
    assert store.events(limit=1)[0] == ev(999) and min(e.time for e in store.events(limit=1000)) == ev(900).time


def test_flush_returns_only_after_the_commit(location):
    """A reader that asks right after flush() sees the rows, even when the commit is slow."""
    store = EventStore(location)
    writer = EventWriter(store)
    sa_event.listen(store.engine, "commit", lambda conn: time.sleep(0.3))  # a slow disk
    for i in range(500):
        writer.event(ev(i))
    writer.alert(alert(1))
    writer.measure("key:a", "block", 5000.0)
    assert writer.flush()
    reader = EventStore(location)  # its own connections
    assert reader.count_events() == 500 and len(reader.alerts()) == 1 and reader.measures(now=0.0)
    writer.close()


def test_no_event_lost_under_concurrent_writers(location):
    """Eight threads feed one writer while a second writer (another gateway process, say)
    writes to the same database: every event arrives."""
    store, other = EventStore(location), EventStore(location)
    writer, second = EventWriter(store), EventWriter(other)
    per_thread = 2_000

    def feed(k: int, w: EventWriter) -> None:
        for i in range(per_thread):
            w.event(ev(i, client=f"key:{k}"))
            if i % 500 == 0:
                w.alert(alert(i, client=f"key:{k}"))

    threads = [threading.Thread(target=feed, args=(k, writer if k < 8 else second)) for k in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writer.flush() and second.flush()
    assert store.count_events() == 10 * per_thread and len(store.alerts(limit=1000)) == 10 * 4
    assert writer.dropped == second.dropped == 0 and writer.failed == second.failed == 0
    assert writer.written + second.written == 10 * per_thread
    writer.close()
    second.close()


def test_a_full_queue_drops_events_but_never_alerts(location):
    store = EventStore(location)
    gate, busy = threading.Event(), threading.Event()
    write = store.write

    def stuck(*args, **kwargs):  # the database stalls
        busy.set()
        gate.wait(10)
        write(*args, **kwargs)

    store.write = stuck
    writer = EventWriter(store, max_queue=100)
    writer.alert(alert(0))
    assert busy.wait(5)  # the thread holds that batch and waits
    for i in range(105):
        writer.event(ev(i))
    writer.alert(alert(1))
    writer.measure("key:a", "block", 5000.0)
    assert writer.dropped == 5
    gate.set()
    assert writer.flush()
    assert store.count_events() == 100 and len(store.alerts()) == 2 and len(store.measures(now=0.0)) == 1
    writer.close()


def test_the_writer_survives_a_database_error(location, caplog):
    store = EventStore(location)
    write, calls = store.write, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk full")
        write(*args, **kwargs)

    store.write = flaky
    writer = EventWriter(store)
    writer.event(ev(0))
    assert writer.flush() and writer.failed == 1 and "could not write" in caplog.text
    writer.event(ev(1))
    assert writer.flush() and store.count_events() == 1
    writer.close()


def test_read_only_and_old_databases(tmp_path):
    with pytest.raises(UsageError, match="not a gateway database"):
        sqlite3.connect(tmp_path / "empty.db").close()
        EventStore(tmp_path / "empty.db", read_only=True)
    odd = tmp_path / "a dir#with?odd%names"  # a read-only SQLite file is opened by URI: escaped
    odd.mkdir()
    EventStore(odd / "gw.db").add_alert(alert(1))
    reader = EventStore(odd / "gw.db", read_only=True)
    assert reader.alerts()[0].message == "alert 1"
    with pytest.raises(Exception, match="readonly"):
        reader.add_alert(alert(2))
    old = sqlite3.connect(tmp_path / "old.db")  # the gateway's own sqlite3 schema before the store
    old.execute("CREATE TABLE alerts (id INTEGER PRIMARY KEY, time REAL, detector TEXT, client TEXT, severity TEXT, "
                "message TEXT, techniques TEXT, mitigations TEXT, action TEXT, query_count INTEGER, document TEXT)")
    old.close()
    with pytest.raises(UsageError, match="table 'alerts' lacks columns .*older advmatrix"):
        EventStore(tmp_path / "old.db")


def test_alerts_keep_their_own_id_and_an_older_table_gains_its_column(location):
    store = EventStore(location)
    store.add_alert(alert(1))  # as an older release wrote it: no ID of its own
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE alerts DROP COLUMN uid")
    store.close()
    if location.endswith(".db"):  # a reader never changes the file: it reads what is there
        reader = EventStore(location, read_only=True)
        assert [(a.message, a.uid) for a in reader.alerts()] == [("alert 1", None)]
        reader.close()
    store = EventStore(location)  # a writer adds the column; the rows already there keep NULL in it
    store.write(new_alerts=[alert(2, uid="0b9a7e1c-4c2e-4f7e-9d1a-3f5e2c8b6a10")])
    assert [(a.message, a.uid) for a in store.alerts()] == [("alert 2", "0b9a7e1c-4c2e-4f7e-9d1a-3f5e2c8b6a10"),
                                                           ("alert 1", None)]
    store.close()


def test_alert_severity_is_checked():
    with pytest.raises(ValueError, match="severity must be one of"):
        alert(severity="warning")
