"""The navigator's pages and JSON API, in process."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from advmatrix.kb import build_layer, bundled
from advmatrix.kb.layer import DEFAULT_GRADIENT, MEASURED_NONE
from advmatrix.web import create_app
from tests.conftest import folded_sub_techniques

from .conftest import XSS


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


@pytest.mark.parametrize("path, text", [
    ("/", "AI Attack Staging"), ("/techniques/AML.T0043", "Craft Adversarial Data"),
    ("/techniques/AML.T0043.001", "Black-Box Optimization"), ("/tactics/AML.TA0001", "AI Attack Staging"),
    ("/mitigations/AML.M0004", "Restrict Number of AI Model Queries"), ("/studies/AML.CS0016", "MathGPT"),
])
def test_pages(client, path, text):
    r = client.get(path)
    assert r.status_code == 200 and text in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_technique_page_links_everything(client):
    html = client.get("/techniques/AML.T0043.001").text
    assert "/mitigations/AML.M0004" in html and "/studies/AML.CS0001" in html
    assert "<code>square</code>" in html and "<code>hopskipjump</code>" in html  # our procedures
    assert "ML01 Input Manipulation Attack" in html


def test_matrix_is_in_atlas_order_with_all_techniques(client):
    data = client.get("/api/matrix").json()
    assert [t["id"] for t in data["tactics"]] == [t.id for t in bundled().tactics]
    cells = {c["id"] for t in data["tactics"] for c in t["cells"]}
    subs = {s["id"] for t in data["tactics"] for c in t["cells"] for s in c["subs"]}
    assert len(cells) == 101 and len(subs) == 69


def test_missing_and_wrong_kind_are_404(client):
    assert client.get("/techniques/AML.T9999").status_code == 404
    assert client.get("/techniques/AML.TA0001").status_code == 404
    assert client.get("/api/objects/AML.CS9999").status_code == 404


def test_api(client):
    assert client.get("/api/objects/AML.CS0003").json()["procedure"][0]["technique"] == "AML.T0000"
    assert client.get("/api/search", params={"q": "prompt injection"}).json()[0]["id"] == "AML.T0051"
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/matrix", "/api/objects/{object_id}", "/api/layers/view", "/api/layers/svg"} <= set(paths)


def test_layer_view_and_svg(client):
    layer = build_layer(bundled(), {"AML.T0043": 1.0, "AML.T0015": 0.0}, name="L", legend={"high": "#ff0000"})
    view = client.post("/api/layers/view", json=layer.model_dump(mode="json")).json()
    # the lowest score is not drawn white, the colour of a technique the layer leaves out
    assert view["colours"]["AML.T0043"] == "#ff6666"
    assert view["colours"]["AML.T0015"] == DEFAULT_GRADIENT[0] != "#ffffff"
    assert view["legend"] == [{"label": "high", "color": "#ff0000"}]
    svg = client.post("/api/layers/svg", json=layer.model_dump(mode="json"))
    assert svg.headers["content-type"].startswith("image/svg+xml") and 'fill="#ff6666"' in svg.text
    bad = client.post("/api/layers/view", json={"techniques": [{"score": 1}]})
    assert bad.status_code == 422 and "not a Navigator layer" in bad.json()["detail"]


def test_builtin_layers_from_the_store(tmp_path, white_box, data):
    from advmatrix.emulate import get, run_assessment
    from advmatrix.store import RunStore
    db = tmp_path / "runs.db"
    a = run_assessment(white_box, data, [get("fgsm")(n_samples=10)], budget=100)
    RunStore(db).save(a)
    c = TestClient(create_app(db=str(db)))
    names = [x["name"] for x in c.get("/api/layers").json()]
    assert names == ["assessments", f"run-{a.id}", "case-studies", "maturity"]
    layer = c.get(f"/api/layers/run-{a.id}").json()
    assert any(t["techniqueID"] == "AML.T0043.000" for t in layer["techniques"])
    assert c.get("/api/layers/run-nope").status_code == 404


def test_detection_coverage_layers_from_the_store(tmp_path, white_box, data):
    from advmatrix.emulate import Coverage, get, run_assessment
    from advmatrix.store import RunStore
    db = tmp_path / "runs.db"
    a = run_assessment(white_box, data, [get("fgsm")(n_samples=5), get("discovery")()], budget=100)
    a.coverage = [Coverage("fgsm", ("AML.T0043.000",), True, ["similarity-search"], 40, 60, ["degrade"]),
                  Coverage("discovery", ("AML.T0013",), False, queries=3)]
    plain = run_assessment(white_box, data, [get("discovery")()], budget=100)
    RunStore(db).save(a)
    RunStore(db).save(plain)
    c = TestClient(create_app(db=str(db)))
    names = [x["name"] for x in c.get("/api/layers").json()]
    assert "detection" in names and f"detection-{a.id}" in names and f"detection-{plain.id}" not in names
    layer = c.get(f"/api/layers/detection-{a.id}").json()
    by = {t["techniqueID"]: t for t in layer["techniques"]}
    assert by["AML.T0043.000"]["score"] == 1 and by["AML.T0013"]["score"] == 0
    assert "first alert after 40 queries (by similarity-search)" in by["AML.T0043.000"]["comment"]
    view = c.post("/api/layers/view", json=layer).json()
    assert view["colours"]["AML.T0043.000"] == "#66b266" and view["colours"]["AML.T0013"] == MEASURED_NONE != "#ffffff"
    overall = c.get("/api/layers/detection").json()
    assert {t["techniqueID"]: t["score"] for t in overall["techniques"] if "score" in t} == \
        {"AML.T0043.000": 1, "AML.T0013": 0}
    assert c.get(f"/api/layers/detection-{plain.id}").status_code == 404
    assert 'value="detection-' in c.get("/").text  # offered in the matrix page's layer picker


def test_imported_text_is_escaped(evil_matrix):
    c = TestClient(create_app(evil_matrix))
    for path in ("/", "/techniques/AML.T0043", "/techniques/AML.T0043.000", "/tactics/AML.TA0001",
                 "/studies/AML.CS0000"):
        html = c.get(path).text
        assert "<script>window.__xss" not in html and '<img src=x onerror' not in html, path
        assert "&lt;script&gt;" in html
    layer = build_layer(evil_matrix, {"AML.T0043": 1.0}, name=XSS, legend={XSS: "#ff0000"}, comments={"AML.T0043": XSS})
    svg = c.post("/api/layers/svg", json=layer.model_dump(mode="json")).text
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_markdown_links_become_safe_anchors():
    from advmatrix.web._app import links
    out = str(links('See [Verify Attack](/techniques/AML.T0042) and [x](javascript:alert(1)) <b>'))
    assert '<a href="/techniques/AML.T0042">Verify Attack</a>' in out
    assert "javascript:" in out and 'href="javascript' not in out and "&lt;b&gt;" in out
    assert str(links('[a](https://x.org/a" onmouseover="x)')).count("<a ") == 0


def test_alert_layers_read_the_gateway_store(tmp_path):
    """The navigator reads the gateway's alerts through the store, never writing to its file."""
    import time

    from advmatrix.store import Alert, EventStore

    db = tmp_path / "gw.db"
    store = EventStore(db)
    now = time.time()
    for age_days, tids in ((0.1, ("AML.T0043.001",)), (0.2, ("AML.T0043.001", "AML.T9999")), (3, ("AML.T0024.002",)),
                           (40, ("AML.T0029",))):
        store.add_alert(Alert("x", tids, "key:a", "high", "m", time=now - age_days * 86400))
    store.close()
    before = db.stat().st_mtime_ns
    c = TestClient(create_app(gateway_db=str(db)))
    layers = {x["name"]: x["title"] for x in c.get("/api/layers").json()}
    assert layers["alerts-1d"] == "Gateway alerts, last day (1 technique)"  # AML.T9999 is not in the matrix
    assert layers["alerts-7d"] == "Gateway alerts, last 7 days (2 techniques)"
    scores = {d: {t["techniqueID"]: t["score"] for t in c.get(f"/api/layers/alerts-{d}d").json()["techniques"]
                  if "score" in t} for d in (1, 7, 30)}
    assert scores[1] == {"AML.T0043.001": 2}
    assert scores[7] == scores[30] == {"AML.T0043.001": 2, "AML.T0024.002": 1}
    assert folded_sub_techniques(bundled(), c.get("/api/layers/alerts-7d").json()) == []
    assert c.get("/api/layers/alerts-xd").status_code == 404
    assert db.stat().st_mtime_ns == before
    empty = tmp_path / "other.db"
    empty.touch()
    c = TestClient(create_app(gateway_db=str(empty)))
    assert not [x for x in c.get("/api/layers").json() if x["name"].startswith("alerts-")]
    assert c.get("/api/layers/alerts-7d").status_code == 404
