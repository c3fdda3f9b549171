"""The purple loop: procedures through the gateway, detection coverage per technique."""

from __future__ import annotations

import numpy as np

from advmatrix.emulate import (
    Dataset,
    GatewayAdmin,
    coverage_scores,
    get,
    run_through_gateway,
)
from advmatrix.targets import KServeV2Target, TargetInfo

INFO = TargetInfo("digits", (1, 8, 8), tuple("0123456789"), modality="image")


def test_coverage_per_procedure(gateway, digits, tmp_path):
    X, y = digits
    data = Dataset(x=X[1000:1300], y=y[1000:1300], x_pool=X[1300:])
    np.save(tmp_path / "reference.npy", X[:1000])
    detectors = {name: {} for name in ("similarity-search", "prada", "volume", "query-coverage", "ood")}
    # alert-only: a throttle from the first detector would starve the others of queries
    responses = {name: {"action": "alert"} for name in detectors}
    with gateway(reference=str(tmp_path / "reference.npy"), detectors=detectors, responses=responses) as (url, _gw):
        target = KServeV2Target(url, "digits", INFO, retries=0)
        chosen = [get("square")(n_samples=20, max_iter=200), get("extraction")(checkpoints=[300], synthetic=True),
                  get("extraction")(checkpoints=[300]), get("discovery")(), get("inversion")(steps=10, classes=[0, 1])]
        # two extraction runs share a name; give the natural one its own
        chosen[2].name = "extraction-natural"
        assessment = run_through_gateway(target, data, chosen, GatewayAdmin(url, "s3cret"), budget=5000)
        coverage = assessment.coverage
    by = {c.procedure: c for c in coverage}
    assert by["square"].detected and "similarity-search" in by["square"].detectors
    assert by["square"].queries_to_detection <= 100
    assert by["extraction"].detected and "prada" in by["extraction"].detectors  # synthetic queries
    # natural queries look like any user's to PRADA; their coverage of the input space does not
    assert by["extraction-natural"].detectors == ["query-coverage"]
    assert 250 < by["extraction-natural"].queries_to_detection <= 400
    assert not by["discovery"].detected
    # black-box inversion climbs from a blank input on clouds of noisy probes: nothing like the
    # natural inputs of the reference sample (too noisy for similarity-search's exact windows)
    assert by["inversion"].detectors == ["ood"] and by["inversion"].queries_to_detection <= 100
    scores = coverage_scores(coverage)
    assert scores["AML.T0043.001"] == 1.0 and scores["AML.T0024.001"] == 1.0 and scores["AML.T0013"] == 0.0


def test_assess_cli_through_gateway(gateway, cli, tmp_path, monkeypatch):
    import json
    monkeypatch.setenv("ADVMATRIX_TOKEN", "s3cret")
    with gateway() as (url, _gw):
        r = cli("assess", f"kserve+{url}/digits", "--procedures", "square", "--budget", "600",
                "--gateway-admin", url, "--out", tmp_path / "o", "--db", tmp_path / "r.db", "--json")
    assert r.code == 0, r.err
    cov = r.json()["coverage"]
    assert cov[0]["procedure"] == "square" and cov[0]["detected"]
    layer = json.loads((tmp_path / "o" / "coverage-layer.json").read_text())
    assert any(t["techniqueID"] == "AML.T0043.001" and t["score"] == 1 for t in layer["techniques"])
    # stored with the run: listed, and written again by `runs report`
    runs = cli("runs", "list", "--db", tmp_path / "r.db", "--json").json()
    assert runs[0]["gateway"] == {"procedures": 1, "detected": 1}
    again = cli("runs", "report", runs[0]["id"], "--db", tmp_path / "r.db", "--out", tmp_path / "again", "--json")
    assert again.code == 0 and json.loads((tmp_path / "again" / "coverage-layer.json").read_text()) == layer
    shown = cli("runs", "show", runs[0]["id"], "--db", tmp_path / "r.db")
    assert "detected" in shown.out and "similarity" in shown.out and "missed" not in shown.out


def test_alert_layers_in_the_navigator(gateway, digits, tmp_path):
    from fastapi.testclient import TestClient

    from advmatrix.web import create_app
    X, y = digits
    with gateway() as (url, gw):
        attacker = KServeV2Target(url, "digits", INFO, headers={"x-api-key": "eve"}, retries=0)
        get("square")(n_samples=10, max_iter=100).run(attacker, Dataset(x=X[1000:], y=y[1000:]))
        gw.writer.flush()
        db = gw.config.db
    c = TestClient(create_app(gateway_db=db))
    assert "alerts-7d" in [x["name"] for x in c.get("/api/layers").json()]
    layer = c.get("/api/layers/alerts-7d").json()
    assert any(t["techniqueID"] == "AML.T0043.001" and t["score"] >= 1 for t in layer["techniques"])


def test_a_target_that_bypasses_the_gateway_is_said_so_not_reported_as_all_missed(gateway, upstream, cli, tmp_path,
                                                                                  monkeypatch):
    # the target's url goes straight to the model server: the gateway saw nothing, which is no "missed"
    monkeypatch.setenv("ADVMATRIX_TOKEN", "s3cret")
    with gateway() as (url, _gw):
        r = cli("assess", f"kserve+{upstream}/digits", "--procedures", "square", "--budget", "60",
                "--gateway-admin", url, "--out", tmp_path / "o", "--db", tmp_path / "r.db", "--json")
    assert r.code == 2, r.err
    assert "saw none of this run's 1 client(s)" in r.err and len(r.err.strip().splitlines()) == 1
    # the run is kept, without a coverage that would call every technique a gap
    runs = cli("runs", "list", "--db", tmp_path / "r.db", "--json").json()
    assert len(runs) == 1 and not runs[0].get("gateway")
    assert (tmp_path / "o" / "report.json").is_file() and not (tmp_path / "o" / "coverage-layer.json").exists()


def test_a_gateway_that_refuses_the_token_says_which_variable_to_set(gateway, upstream, cli, tmp_path, monkeypatch):
    monkeypatch.setenv("ADVMATRIX_TOKEN", "wrong")
    with gateway() as (url, _gw):
        r = cli("assess", f"kserve+{url}/digits", "--procedures", "square", "--budget", "30",
                "--gateway-admin", url, "--db", tmp_path / "r.db")
    assert r.code != 0 and "HTTP 401: set ADVMATRIX_TOKEN to the gateway's admin token" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
