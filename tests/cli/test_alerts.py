"""``advmatrix alerts list|show`` over a gateway database written by the store itself, and what
``advmatrix monitor`` prints when alerts fire."""

from __future__ import annotations

import time
from datetime import UTC

import numpy as np
import pytest

from advmatrix.store import Alert, EventStore, EventWriter


@pytest.fixture
def now() -> float:
    """The time the alerts are written relative to: taken per test, not at import (a module-level
    clock went stale when the whole suite ran first, and `--since 90s` then missed its alert)."""
    return time.time()


@pytest.fixture
def gateway_db(tmp_path, now):
    """Three alerts written the way the gateway writes them (through an EventWriter)."""
    t = now
    path = tmp_path / "gateway.db"
    store = EventStore(path)
    writer = EventWriter(store)
    writer.alert(Alert("prada", ("AML.T0024.002",), "key:abc", "high", "extraction pattern", {"gaps": [1, 2]},
                       t - 3 * 3600, 420, "throttle", ("AML.M0004",)))
    writer.alert(Alert("similarity-search", ("AML.T0043.001",), "10.0.0.2", "medium", "evasion search", {},
                       t - 120, 61, "degrade"))
    writer.alert(Alert("volume", ("AML.T0034",), "key:abc", "low", "query volume", {}, t - 60, 900, "throttle",
                       uid="3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b"))
    writer.close()
    store.close()
    return path


def test_list_newest_first_as_json(cli, gateway_db):
    r = cli("alerts", "list", "--db", gateway_db, "--json")
    assert r.code == 0, r.err
    docs = r.json()
    assert [d["detector"] for d in docs] == ["volume", "similarity-search", "prada"]
    assert docs[2]["evidence"] == {"gaps": [1, 2]} and docs[2]["mitigation_ids"] == ["AML.M0004"]
    assert docs[0]["time_iso"].endswith("+00:00")


@pytest.mark.parametrize("args, detectors", [
    (["--since", "1h"], ["volume", "similarity-search"]),
    (["--since", "90s"], ["volume"]),
    (["--client", "key:abc"], ["volume", "prada"]),
    (["--detector", "prada"], ["prada"]),
    (["--technique", "AML.T0043"], ["similarity-search"]),  # a parent selects its sub-techniques
    (["--technique", "AML.T0024.002"], ["prada"]),
    (["--client", "key:abc", "--since", "1h"], ["volume"]),
    (["--limit", "1"], ["volume"]),
    (["--client", "nobody"], []),
])
def test_list_filters(cli, gateway_db, args, detectors):
    r = cli("alerts", "list", "--db", gateway_db, "--json", *args)
    assert r.code == 0, r.err
    assert [d["detector"] for d in r.json()] == detectors


def test_since_an_iso_time(cli, gateway_db, now):
    from datetime import datetime

    when = datetime.fromtimestamp(now - 600, UTC).isoformat()
    r = cli("alerts", "list", "--db", gateway_db, "--json", "--since", when)
    assert [d["detector"] for d in r.json()] == ["volume", "similarity-search"]


def test_list_as_a_table(cli, gateway_db):
    r = cli("alerts", "list", "--db", gateway_db)
    assert r.code == 0 and "alerts (3)" in r.out and "key:abc" in r.out
    r = cli("alerts", "list", "--db", gateway_db, "--client", "nobody")
    assert r.code == 0 and "no alerts in" in r.out and "matching the filters" in r.out


def test_show_one(cli, gateway_db):
    first = cli("alerts", "list", "--db", gateway_db, "--json", "--detector", "prada").json()[0]
    r = cli("alerts", "show", str(first["id"]), "--db", gateway_db)
    assert r.code == 0, r.err
    assert "extraction pattern" in r.out and "AML.T0024.002" in r.out and "AML.M0004" in r.out
    assert '"gaps"' in r.out  # the evidence
    doc = cli("alerts", "show", str(first["id"]), "--db", gateway_db, "--json").json()
    assert doc["id"] == first["id"] and doc["query_count"] == 420


def test_show_finds_an_alert_by_the_event_id_of_its_copies(cli, gateway_db):
    doc = cli("alerts", "show", "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b", "--db", gateway_db, "--json").json()
    assert doc["detector"] == "volume" and doc["uid"] == "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b"
    r = cli("alerts", "show", "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b", "--db", gateway_db)
    assert r.code == 0 and "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b" in r.out
    r = cli("alerts", "show", "00000000-0000-4000-8000-000000000000", "--db", gateway_db)
    assert r.code == 3, r.err


def test_missing_database_is_an_error_and_never_created(cli, tmp_path):
    for args in (["list"], ["show", "1"]):
        r = cli("alerts", *args, "--db", tmp_path / "typo.db")
        assert r.code == 2 and "no such database file" in r.err
    assert not (tmp_path / "typo.db").exists()


def test_reading_does_not_write(cli, gateway_db):
    before = gateway_db.read_bytes()
    cli("alerts", "list", "--db", gateway_db)
    assert gateway_db.read_bytes() == before


@pytest.fixture
def started(monkeypatch, tmp_path):
    """``advmatrix monitor`` up to the point of serving; yields the app it would serve, whose gateway the
    command's own close (once the server stops) leaves open for the test, then closes."""
    import uvicorn

    from advmatrix.gateway._app import Gateway

    apps, closing = [], []
    monkeypatch.setattr(uvicorn.Server, "run", lambda server, sockets=None: apps.append(server.config.app))
    real_close = Gateway.close
    monkeypatch.setattr(Gateway, "close", lambda gateway: closing.append(gateway))
    monkeypatch.chdir(tmp_path)
    yield apps
    assert [app.state.gateway for app in apps] == closing  # the command closes what it served
    for gateway in closing:
        real_close(gateway)


def test_monitor_prints_a_line_per_alert(cli, started, capsys):
    r = cli("monitor", "--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:0")
    assert r.code == 0, r.err
    gateway = started[0].state.gateway
    gateway.writer.alert(Alert("prada", ("AML.T0024.002",), "key:abc", "high", "extraction pattern", action="throttle"))
    err = capsys.readouterr().err
    assert "advmatrix: alert: prada (high) client key:abc: extraction pattern [AML.T0024.002] -> throttle" in err
    gateway.writer.flush()
    assert [a.detector for a in gateway.store.alerts()] == ["prada"]  # still stored


def test_monitor_reference_turns_on_its_detectors(cli, started, tmp_path):
    np.save(tmp_path / "ref.npy", np.random.default_rng(0).random((2000, 4)).astype(np.float32))
    r = cli("monitor", "--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:0", "--reference", "ref.npy")
    assert r.code == 0, r.err
    names = {d.name for d in started[0].state.gateway.detectors}
    assert {"ood", "query-coverage"} <= names and "prada" in names


def test_monitor_warns_when_no_detector_runs(cli, started, tmp_path):
    (tmp_path / "gw.yaml").write_text("upstream: http://127.0.0.1:9\ndetectors:  # all commented out\n"
                                      "  # ood: {}\nresponses:\n")
    r = cli("monitor", "--config", "gw.yaml", "--listen", "127.0.0.1:0")
    assert r.code == 0, r.err
    assert started[0].state.gateway.detectors == []
    assert "detectors: none" in r.err and "no detector is configured" in r.err


def test_monitor_help_names_default_responses(cli):
    r = cli("monitor", "--help")
    assert "degrade outputs to labels for 1 hour" in r.out
    assert "--reference turns on the ood and query-coverage detectors" in r.out


def test_monitor_help_names_every_detector_response(cli):
    """The help's list of default responses is text: it must name every detector there is."""
    from advmatrix.plugins import registry

    text = cli("monitor", "--help").out
    assert [name for name in registry("detector") if name not in text] == []
