"""Pages for assessment runs and gateway alerts, read from the stores without writing to them."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from advmatrix.web import create_app

from .conftest import XSS


@pytest.fixture
def runs_db(tmp_path, white_box, data):
    from advmatrix.emulate import Coverage, get, run_assessment
    from advmatrix.store import RunStore

    db = tmp_path / "runs.db"
    gated = run_assessment(white_box, data, [get("fgsm")(n_samples=5), get("discovery")()], budget=100,
                           label=f"gated {XSS}")
    gated.coverage = [Coverage("fgsm", ("AML.T0043.000",), True, ["similarity-search"], 40, 60, ["degrade"],
                               first_success_query=12),
                      Coverage("discovery", ("AML.T0013",), False, queries=3)]
    plain = run_assessment(white_box, data, [get("discovery")()], budget=100)
    plain.target = {**plain.target, "name": f"model {XSS}"}
    plain.id = gated.id[:4] + "zzzzzzzz"  # the two share a 4-character prefix
    RunStore(db).save(gated)
    RunStore(db).save(plain)
    return db, gated, plain


def test_runs_list_links_every_run(runs_db):
    db, gated, plain = runs_db
    c = TestClient(create_app(db=str(db)))
    html = c.get("/runs").text
    assert set(re.findall(r'<a href="/runs/([0-9a-z]+)">', html)) == {gated.id, plain.id}
    assert "2/2 procedures noticed" not in html and "1/2 procedures noticed" in html
    assert 'href="/runs" aria-current="page"' in html


def test_run_page_shows_findings_evidence_coverage_and_layers(runs_db):
    db, gated, _ = runs_db
    c = TestClient(create_app(db=str(db)))
    r = c.get(f"/runs/{gated.id[:6]}")  # an ID prefix is enough, as on the CLI
    assert r.status_code == 200
    html = r.text
    findings = html[html.index("<h2>Findings</h2>"):html.index("<h2>Detection coverage</h2>")]
    fgsm = gated.findings[0]
    assert "<code>fgsm</code>" in findings and "<code>discovery</code>" in findings
    assert f"<td>{fgsm.queries}</td>" in findings and fgsm.status in findings
    assert f"{len(fgsm.evidence)} examples" in findings and "misclassified after the attack" in findings
    assert '<a href="/techniques/AML.T0043.000">' in findings
    assert "succeeded and unseen" in findings  # discovery worked and nobody noticed
    coverage = html[html.index("<h2>Detection coverage</h2>"):]
    row = re.search(r"<tr><td><code>fgsm</code></td>.*?</tr>", coverage, re.S).group(0)
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    assert cells[1:7] == ["yes", "similarity-search", "40", "12", "60", "degrade"]
    for layer in (f"run-{gated.id}", f"detection-{gated.id}", f"gap-{gated.id}"):
        assert f'href="/?layer={layer}"' in html
        assert c.get(f"/api/layers/{layer}").status_code == 200  # each link leads to a layer


def test_run_without_gateway_has_no_coverage_section(runs_db):
    db, _, plain = runs_db
    html = TestClient(create_app(db=str(db))).get(f"/runs/{plain.id}").text
    assert "Detection coverage" not in html and f"detection-{plain.id}" not in html


def test_run_pages_escape_stored_text(runs_db):
    db, gated, plain = runs_db
    c = TestClient(create_app(db=str(db)))
    for path in ("/runs", f"/runs/{gated.id}", f"/runs/{plain.id}"):
        html = c.get(path).text
        assert "<script>window.__xss" not in html and "<img src=x onerror" not in html, path
        assert "&lt;script&gt;" in html, path


def test_run_page_errors(runs_db, tmp_path):
    db, gated, _ = runs_db
    c = TestClient(create_app(db=str(db)))
    r = c.get("/runs/nope")
    assert r.status_code == 404 and "nope" in r.text and r.headers["content-type"].startswith("text/html")
    r = c.get(f"/runs/{gated.id[:4]}")
    assert r.status_code == 400 and "matches 2 runs; give more characters" in r.text
    plain = TestClient(create_app())
    assert '<a href="/runs"' not in plain.get("/").text  # no store: no menu entry
    r = plain.get("/runs")
    assert r.status_code == 404 and "start the navigator with --db" in r.text
    missing = tmp_path / "typo.db"
    assert TestClient(create_app(db=str(missing))).get("/runs").status_code == 404
    assert not missing.exists()  # a page view never creates a database


@pytest.fixture
def gateway_db(tmp_path):
    from advmatrix.store import Alert, EventStore

    db = tmp_path / "gw.db"
    store = EventStore(db)
    now = time.time()
    store.add_alert(Alert("model-extraction", ("AML.T0024.002",), "key:alice", "high", "too many queries",
                          time=now - 3600, query_count=300, action="degrade"))
    store.add_alert(Alert("similarity-search", ("AML.T0043.001",), "key:bob", "medium", "near-duplicate inputs",
                          time=now - 3 * 86400, query_count=60))
    store.add_alert(Alert("similarity-search", ("AML.T0043.001", "AML.T9999"), "key:alice", "low", f"msg {XSS}",
                          time=now - 40 * 86400, query_count=5))
    store.add_alert(Alert("prompt-injection", ("AML.T0051",), f"client {XSS}", "high", "ignore previous",
                          time=now - 60))
    store.close()
    return db


EVIL = "client &lt;script&gt;window.__xss=1&lt;/script&gt;&lt;img src=x onerror=&#34;window.__xss=2&#34;&gt;"


def _clients(html: str) -> list[str]:
    return re.findall(r'<td><a href="/alerts\?client=[^"]*">(.*?)</a></td>', html)


@pytest.mark.parametrize("query, expected", [
    ({}, [EVIL, "key:alice", "key:bob", "key:alice"]),
    ({"client": "key:alice"}, ["key:alice", "key:alice"]),
    ({"detector": "similarity-search"}, ["key:bob", "key:alice"]),
    ({"technique": "AML.T0043"}, ["key:bob", "key:alice"]),  # a parent matches its sub-techniques
    ({"technique": "AML.T0024.002"}, ["key:alice"]),
    ({"since": "2d"}, [EVIL, "key:alice"]),
    ({"since": "30m", "client": "key:alice"}, []),
    ({"detector": "similarity-search", "since": "7d"}, ["key:bob"]),
    ({"since": "2000-01-01", "technique": "AML.T0051"}, [EVIL]),
])
def test_alerts_filter(gateway_db, query, expected):
    before = gateway_db.stat().st_mtime_ns
    c = TestClient(create_app(gateway_db=str(gateway_db)))
    r = c.get("/alerts", params=query)
    assert r.status_code == 200
    assert _clients(r.text) == expected
    if not expected:
        assert "No alert matches." in r.text
    for key, value in query.items():
        assert f'name="{key}" value="{value}"' in r.text  # the form keeps the filter shown
    assert gateway_db.stat().st_mtime_ns == before


def test_alerts_page_content_and_escaping(gateway_db):
    c = TestClient(create_app(gateway_db=str(gateway_db)))
    html = c.get("/alerts").text
    assert '<a href="/alerts"' in c.get("/").text and 'href="/alerts" aria-current="page"' in html
    assert "<script>window.__xss" not in html and "<img src=x onerror" not in html
    assert '<a href="/techniques/AML.T0024.002">' in html and "AML.T9999" in html
    assert 'href="/techniques/AML.T9999"' not in html  # not in the matrix: shown, not linked
    assert "too many queries" in html and "degrade" in html and "UTC" in html


def test_alerts_page_errors(gateway_db, tmp_path):
    c = TestClient(create_app(gateway_db=str(gateway_db)))
    r = c.get("/alerts", params={"since": "last tuesday"})
    assert r.status_code == 400 and "since: &#39;last tuesday&#39; is neither a duration" in r.text
    plain = TestClient(create_app())
    assert '<a href="/alerts"' not in plain.get("/").text
    r = plain.get("/alerts")
    assert r.status_code == 404 and "start the navigator with --gateway-db" in r.text
    empty = tmp_path / "other.db"
    empty.touch()
    r = TestClient(create_app(gateway_db=str(empty))).get("/alerts")
    assert r.status_code == 404 and "not a gateway database" in r.text
