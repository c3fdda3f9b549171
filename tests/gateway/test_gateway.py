"""The gateway with a real model server behind it, on loopback: proxying, detection,
responses, persistence and failure handling."""

from __future__ import annotations

import asyncio
import json

import httpx
import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

from advmatrix.emulate import Dataset, get
from advmatrix.errors import TargetError
from advmatrix.report.ecs import from_ecs
from advmatrix.serving import running_server
from advmatrix.targets import KServeV2Target, TargetInfo, open_target
from tests.conftest import ADMIN, within

INFO = TargetInfo("digits", (1, 8, 8), tuple("0123456789"), modality="image")


def test_transparent_proxy_and_admin_api(gateway, digits):
    X, y = digits
    with gateway() as (url, _gw):
        direct = httpx.get(url + "/v2/models/digits").json()
        assert direct["parameters"]["classes"][0] == "0"  # non-inference calls pass through
        t = open_target(f"kserve+{url}/digits", headers={"x-api-key": "alice"})
        p = t.predict(X[1000:1100])
        assert (p.argmax(1) == y[1000:1100]).mean() > 0.9
        assert httpx.get(url + "/_advmatrix/alerts").status_code == 401
        clients = httpx.get(url + "/_advmatrix/clients", headers=ADMIN).json()
        assert clients[0]["queries"] == 100 and "alice" not in clients[0]["client"]  # the key is hashed
        metrics = httpx.get(url + "/_advmatrix/metrics").text
        assert "advmatrix_gateway_queries_observed_total 100" in metrics
        from prometheus_client.parser import text_string_to_metric_families

        families = {f.name: f for f in text_string_to_metric_families(metrics)}
        seconds = {s.name: s.value for s in families["advmatrix_gateway_observe_seconds"].samples}
        millis = {s.name: s.value for s in families["advmatrix_gateway_observe_ms"].samples}
        assert seconds["advmatrix_gateway_observe_seconds_count"] >= 1
        assert seconds["advmatrix_gateway_observe_seconds_sum"] * 1000 == pytest.approx(
            millis["advmatrix_gateway_observe_ms_sum"])
        assert "/_advmatrix/alerts" in httpx.get(url + "/_advmatrix/openapi.json").json()["paths"]


def test_black_box_attack_is_detected_and_answered(gateway, digits, tmp_path):
    X, y = digits
    jsonl = tmp_path / "alerts.jsonl"
    with gateway(alerts_jsonl=str(jsonl)) as (url, gw):
        attacker = KServeV2Target(url, "digits", INFO, headers={"x-api-key": "mallory"}, retries=0)
        get("square")(n_samples=20, max_iter=300).run(attacker, Dataset(x=X[1000:], y=y[1000:]))
        docs = httpx.get(url + "/_advmatrix/alerts", headers=ADMIN).json()  # ECS, for SIEMs
        similarity = [d for d in docs if d["rule"]["id"] == "advmatrix.detector.similarity-search"]
        assert similarity and similarity[0]["advmatrix"]["query_count"] <= 100
        d = similarity[0]
        assert "AML.T0043.001" in d["threat"]["technique"]["subtechnique"]["id"]  # ECS's field for sub-techniques
        assert "AML.T0043" in d["threat"]["technique"]["id"] and d["threat"]["framework"] == "MITRE ATLAS"
        assert d["rule"]["name"] == gw.titles["similarity-search"] and d["event"]["severity"] == 73
        assert d["event"]["kind"] == "alert" and d["@timestamp"].endswith("Z")
        a = from_ecs(d)
        assert a.action == "degrade" and a.mitigation_ids == ("AML.M0002",) and a.client == gw.client_id_for("mallory")
        stored = gw.alerts(detector="similarity-search")[0]  # the same alert, typed, from the store
        assert (stored.id, stored.client, stored.evidence) == (a.id, a.client, a.evidence)
        assert abs(stored.time - a.time) <= 0.0005  # ECS keeps milliseconds
        # the response is live: this client now gets labels only
        r = httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": "mallory"}, json={"inputs": [
            {"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": X[0].reshape(-1).tolist()}]})
        scores = r.json()["outputs"][0]["data"] if r.status_code == 200 else None
        assert r.status_code == 429 or sorted(scores)[-2:] == [0.0, 1.0]
        assert any(m["measure"] == "degrade" for m in httpx.get(url + "/_advmatrix/blocks", headers=ADMIN).json())
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert {from_ecs(d).detector for d in lines} >= {"similarity-search"}


def test_benign_clients_raise_no_alert(gateway, digits):
    """Clean test images at normal rates, and a client re-sending lightly augmented copies."""
    X, _ = digits
    rng = np.random.default_rng(0)
    with gateway() as (url, _gw):
        for k in range(5):
            t = KServeV2Target(url, "digits", INFO, headers={"x-api-key": f"user{k}"}, max_batch=8)
            idx = rng.choice(len(X), 200, replace=False)
            t.predict(X[idx])
        aug = KServeV2Target(url, "digits", INFO, headers={"x-api-key": "augmenter"}, max_batch=8)
        base = X[rng.choice(len(X), 40, replace=False)]
        shifted = np.concatenate([np.roll(base, s, axis=3) for s in (0, 1)] + [np.clip(base * 1.1, 0, 1)])
        aug.predict(shifted)
        assert httpx.get(url + "/_advmatrix/alerts", headers=ADMIN).json() == []


def test_blocks_survive_a_restart(gateway):
    with gateway(responses={"volume": {"action": "block", "duration_s": 600}},
                 detectors={"volume": {"max_client_queries": 20, "window_s": 60}}) as (url, gw):
        t = KServeV2Target(url, "digits", INFO, headers={"x-api-key": "flood"}, max_batch=5, retries=0)
        with pytest.raises(TargetError):
            for _ in range(10):
                t.predict(np.zeros((5, 1, 8, 8), np.float32))
        assert httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": "flood"}, json={}).status_code == 403
    with gateway() as (url, gw):  # same database, new process state
        r = httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": "flood"}, json={})
        assert r.status_code == 403 and "blocked" in r.json()["error"]
        other = httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": "someone"}, json={
            "inputs": [{"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": [0.0] * 64}]})
        assert other.status_code == 200
        lifted = httpx.delete(url + "/_advmatrix/blocks/" + gw.client_id_for("flood"), headers=ADMIN)
        assert lifted.status_code == 200


def test_alert_only_clients_are_alerted_on_but_never_acted_against(gateway):
    """A known bulk job trips the same detector as a flood: both alert, only the flood is blocked."""
    from advmatrix.gateway import Gateway

    one = {"inputs": [{"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": [0.0] * 64}]}
    with gateway(responses={"volume": {"action": "block", "duration_s": 600}},
                 detectors={"volume": {"max_client_queries": 5, "window_s": 60}},
                 alert_only_clients=[Gateway.client_id_for("batch-job")]) as (url, gw):
        for key in ("batch-job", "flood"):
            for _ in range(8):
                httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": key}, json=one)
        last = {key: httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": key}, json=one).status_code
                for key in ("batch-job", "flood")}
        alerts = [from_ecs(d) for d in httpx.get(url + "/_advmatrix/alerts", headers=ADMIN).json()]
    assert last == {"batch-job": 200, "flood": 403}
    actions = {a.client: a.action for a in alerts}
    assert actions == {gw.client_id_for("batch-job"): "alert", gw.client_id_for("flood"): "block"}


def test_upstream_down_slow_and_bad_requests(tmp_path):
    from advmatrix.gateway import GatewayConfig, create_gateway
    slow = FastAPI()

    @slow.post("/v2/models/m/infer")
    async def sleepy():
        await asyncio.sleep(2)
        return {}

    with running_server(slow) as slow_url:
        app = create_gateway(GatewayConfig(upstream=slow_url, db=str(tmp_path / "a.db"), timeout=0.3, max_body=2048))
        with running_server(app) as url:
            assert httpx.post(url + "/v2/models/m/infer", json={"inputs": []}).status_code == 504
            assert httpx.post(url + "/v2/models/m/infer", content=b"x" * 5000).status_code == 413
            assert httpx.post(url + "/v2/models/m/infer", content=b"{not json").status_code == 400
            assert httpx.get(url + "/_advmatrix/health").status_code == 200  # still up
        app.state.gateway.close()
    app = create_gateway(GatewayConfig(upstream="http://127.0.0.1:9", db=str(tmp_path / "b.db")))
    with running_server(app) as url:
        r = httpx.post(url + "/v2/models/m/infer", json={"inputs": []})
        assert r.status_code == 502 and "unreachable" in r.json()["error"]
    app.state.gateway.close()


def test_no_event_lost_under_load(gateway):
    n_clients, per_client = 8, 50

    async def hammer(url):
        async with httpx.AsyncClient() as client:
            body = {"inputs": [{"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": [0.5] * 64}]}

            async def one(c):
                for _ in range(per_client):
                    r = await client.post(url + "/v2/models/digits/infer", json=body, headers={"x-api-key": f"c{c}"})
                    assert r.status_code == 200

            await asyncio.gather(*(one(c) for c in range(n_clients)))

    with gateway(detectors={}) as (url, gw):
        asyncio.run(hammer(url))
        gw.writer.flush()
        assert gw.store.count_events() == n_clients * per_client
        assert gw.writer.dropped == 0


def test_pass_through_keeps_path_query_headers_and_body(tmp_path):
    """What the gateway does not inspect reaches the upstream byte for byte, and back."""
    from advmatrix.gateway import GatewayConfig, create_gateway
    echo = FastAPI()

    @echo.api_route("/{path:path}", methods=["GET", "PUT"])
    async def mirror(request: Request, path: str):
        body = await request.body()
        return Response(json.dumps({"raw_path": request.scope["raw_path"].decode(), "query": request.url.query,
                                    "tag": request.headers.get("x-tag"), "body": body.decode()}).encode(),
                        media_type="application/json", headers={"x-upstream": "yes"})

    with running_server(echo) as echo_url:
        app = create_gateway(GatewayConfig(upstream=echo_url, db=str(tmp_path / "p.db")))
        with running_server(app) as url:
            r = httpx.put(url + "/v1/a%2Fb/c?x=1&y=%20z", content=b"payload", headers={"x-tag": "t1"})
            assert r.status_code == 200 and r.headers["x-upstream"] == "yes"
            assert r.json() == {"raw_path": "/v1/a%2Fb/c", "query": "x=1&y=%20z", "tag": "t1", "body": "payload"}
        app.state.gateway.close()


def test_reply_with_nan_is_forwarded_and_observed(tmp_path):
    """Python model servers emit NaN, which strict JSON parsers refuse; the gateway must still
    forward the reply unchanged and count the query."""
    from advmatrix.gateway import GatewayConfig, create_gateway
    raw = b'{"outputs":[{"name":"p","shape":[1,2],"datatype":"FP64","data":[NaN,1.0]}]}'
    nan_server = FastAPI()

    @nan_server.post("/v2/models/m/infer")
    async def infer():
        return Response(raw, media_type="application/json")

    with running_server(nan_server) as up:
        app = create_gateway(GatewayConfig(upstream=up, db=str(tmp_path / "n.db")))
        with running_server(app) as url:
            body = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [0.1, 0.2]}]}
            r = httpx.post(url + "/v2/models/m/infer", json=body, headers={"x-api-key": "k"})
            assert r.status_code == 200 and r.content == raw
            assert "advmatrix_gateway_queries_observed_total 1" in httpx.get(url + "/_advmatrix/metrics").text
        app.state.gateway.close()


def test_a_failing_detector_neither_breaks_replies_nor_the_gateway(upstream, tmp_path, digits):
    from advmatrix.detect import Detector
    from advmatrix.gateway import GatewayConfig, create_gateway

    class Broken(Detector):
        name, title, technique_ids = "broken", "always raises", ("AML.T0043",)

        def observe(self, event):
            raise RuntimeError("bug in a detector")

    X, _ = digits
    app = create_gateway(GatewayConfig(upstream=upstream, db=str(tmp_path / "b.db")), detectors=[Broken()])
    with running_server(app) as url:
        body = {"inputs": [{"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32",
                            "data": X[0].reshape(-1).tolist()}]}
        for _ in range(3):
            r = httpx.post(url + "/v2/models/digits/infer", json=body)
            assert r.status_code == 200 and len(r.json()["outputs"][0]["data"]) == 10
        assert 'outcome="observe_errors"} 3' in httpx.get(url + "/_advmatrix/metrics").text
    app.state.gateway.close()


def test_membership_probing_is_detected_and_new_data_is_not(gateway, digits, tmp_path):
    """The victim was trained on X[:1000]; the gateway is given those inputs (as .npy)."""
    X, y = digits
    members = tmp_path / "train.npy"
    np.save(members, X[:1000])
    with gateway(context={"members": str(members)}, detectors={"membership": {}}) as (url, gw):
        # one request at a time: eight in flight can reach the gateway out of order under load (the
        # non-member batches first), which moves the alert's query count past the members it was sent
        eve = KServeV2Target(url, "digits", INFO, headers={"x-api-key": "eve"}, retries=0, concurrency=1)
        data = Dataset(x=X[1000:1010], y=y[1000:1010], x_members=X[:300], y_members=y[:300],
                       x_nonmembers=X[1000:1300], y_nonmembers=y[1000:1300])
        get("membership")(n_samples=100).run(eve, data)
        # an ordinary client: new inputs, with the odd training record among them
        bob = KServeV2Target(url, "digits", INFO, headers={"x-api-key": "bob"}, max_batch=8)
        bob.predict(np.concatenate([X[1300:1500], X[:5]]))
        alerts = [from_ecs(d) for d in httpx.get(url + "/_advmatrix/alerts", headers=ADMIN).json()]
    flagged = {a.client for a in alerts if a.detector == "membership"}
    assert flagged == {gw.client_id_for("eve")}
    a = next(a for a in alerts if a.detector == "membership")
    assert a.technique_ids == ("AML.T0024.000",) and a.query_count <= 100
    assert a.action == "degrade" and a.mitigation_ids == ("AML.M0002",)


def test_membership_detector_rejects_a_pickled_members_file(tmp_path):
    from advmatrix.errors import UsageError
    from advmatrix.gateway import GatewayConfig

    bad = tmp_path / "members.npy"
    np.save(bad, np.array([{"x": 1}], dtype=object))  # object arrays need pickle to load
    cfg = GatewayConfig(upstream="http://127.0.0.1:9", context={"members": str(bad)}, detectors={"membership": {}})
    with pytest.raises(UsageError, match="context members '.*members.npy': not a .npy array \\(Object arrays"):
        cfg.build_detectors()


def test_a_detector_without_its_context_is_one_clear_error():
    from advmatrix.errors import UsageError
    from advmatrix.gateway import GatewayConfig

    cfg = GatewayConfig(upstream="http://127.0.0.1:9", detectors={"membership": {}})
    with pytest.raises(UsageError, match="detector membership needs context 'members'"):
        cfg.build_detectors()


def test_extraction_with_natural_data_is_caught_by_query_coverage(gateway, digits, tmp_path):
    """PRADA cannot tell natural extraction queries from use; their coverage of the input space
    gives them away. Users sending fewer new inputs, and a re-querying client, stay quiet."""
    X, y = digits
    reference = tmp_path / "reference.npy"
    np.save(reference, X[:1000])
    with gateway(reference=str(reference), detectors={"prada": {}, "query-coverage": {}}) as (url, gw):
        mallory = KServeV2Target(url, "digits", INFO, headers={"x-api-key": "mallory"}, retries=0)
        finding = get("extraction")(checkpoints=[200, 600], n_holdout=50).run(
            mallory, Dataset(x=X[1000:1050], y=y[1000:1050], x_pool=X[1050:]))
        for k in range(3):
            KServeV2Target(url, "digits", INFO, headers={"x-api-key": f"user{k}"}, max_batch=8).predict(
                X[1010 + 150 * k:1160 + 150 * k])
        base = X[1500:1560]
        KServeV2Target(url, "digits", INFO, headers={"x-api-key": "augmenter"}, max_batch=8).predict(
            np.concatenate([base, np.roll(base, 1, axis=3), np.clip(base * 1.1, 0, 1)]))
        alerts = [from_ecs(d) for d in httpx.get(url + "/_advmatrix/alerts", headers=ADMIN).json()]
        measures = httpx.get(url + "/_advmatrix/blocks", headers=ADMIN).json()
        one = {"inputs": [{"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32",
                           "data": X[0].ravel().tolist()}]}
        statuses = [httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": "mallory"}, json=one).status_code
                    for _ in range(3)]
    assert {(a.detector, a.client) for a in alerts} == {("query-coverage", gw.client_id_for("mallory"))}
    a = alerts[0]
    assert a.technique_ids == ("AML.T0024.002", "AML.T0005.001")
    assert 250 < a.query_count <= 400  # past the budget of 250 natural queries
    assert a.action == "throttle" and a.mitigation_ids == ("AML.M0004",)
    assert [m["measure"] for m in measures] == ["throttle"] and 429 in statuses  # about 1 request/s now
    assert finding.metrics["fidelity@200"] > 0.7  # a real extraction: the surrogate agreed with the victim


def test_per_client_state_stays_bounded_however_many_keys(gateway, digits):
    """An attacker rotating API keys must not grow the gateway's memory: query counts, measures
    and detector state keep at most max_clients clients."""
    X, _ = digits
    with gateway(max_clients=5, detectors={"volume": {"max_batch": 1, "max_clients": 5}},
                 responses={"volume": {"action": "throttle", "duration_s": 60}}) as (url, gw):
        for i in range(20):
            key = KServeV2Target(url, "digits", INFO, headers={"x-api-key": f"k{i}"}, retries=0)
            key.predict(X[2 * i:2 * i + 2])  # two samples: over volume's max_batch, one alert each
            key.close()
        gw.writer.flush()
        clients = httpx.get(f"{url}/_advmatrix/clients", headers=ADMIN).json()
        assert len(clients) == 5 and len(gw.responder) == 5
        assert all(d.state_size() <= 5 for d in gw.detectors)
        assert len(httpx.get(f"{url}/_advmatrix/alerts", params={"limit": 100}, headers=ADMIN).json()) == 20


def test_a_total_load_alert_names_the_service_and_throttles_no_client(gateway):
    """Total load is everyone's: the client whose query crossed the line must not pay for it."""
    one = {"inputs": [{"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": [0.0] * 64}]}
    with gateway(responses={"volume": {"action": "block", "duration_s": 600}},
                 detectors={"volume": {"max_total_queries": 5, "max_client_queries": 1000}}) as (url, gw):
        codes = [httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": f"user{i % 3}"}, json=one)
                 .status_code for i in range(9)]
        alerts = [from_ecs(d) for d in httpx.get(url + "/_advmatrix/alerts", headers=ADMIN).json()]
        blocks = httpx.get(url + "/_advmatrix/blocks", headers=ADMIN).json()
    from advmatrix.detect import SERVICE

    assert codes == [200] * 9 and blocks == []
    assert [(a.client, a.action) for a in alerts] == [(SERVICE, "alert")]
    assert alerts[0].evidence["last_client"] in {gw.client_id_for(f"user{i}") for i in range(3)}


def test_an_alert_about_a_group_of_keys_acts_on_every_key_it_names(gateway):
    """Keys rotated from one address are one client: the measure reaches all of them."""
    one = {"inputs": [{"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": [0.0] * 64}]}
    with gateway(detectors={"key-rotation": {"max_new_keys": 3}},
                 responses={"key-rotation": {"action": "block", "duration_s": 600}}) as (url, gw):
        first = [httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": f"burner{i}"}, json=one)
                 .status_code for i in range(4)]
        again = [httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": f"burner{i}"}, json=one)
                 .status_code for i in range(4)]
        alerts = [from_ecs(d) for d in httpx.get(url + "/_advmatrix/alerts", headers=ADMIN).json()]
    assert first == [200] * 4 and again == [403] * 4
    (alert,) = alerts
    assert alert.detector == "key-rotation" and alert.evidence["scope"] == "address 127.0.0.1"
    assert set(alert.evidence["keys"]) == {gw.client_id_for(f"burner{i}") for i in range(4)}


def test_a_decision_based_start_is_noticed_through_the_gateway_and_only_alerted_on(gateway):
    """Two random-noise images from one key (where Boundary and HopSkipJump start), over HTTP
    with the default detectors: noise-probe's alert is stored for that key, tagged with ATLAS
    IDs, and the client's replies are untouched (alert only by default)."""
    rng = np.random.default_rng(0)
    with gateway() as (url, gw):
        attacker = KServeV2Target(url, "digits", INFO, headers={"x-api-key": "mallory"}, retries=0)
        attacker.predict(rng.uniform(0, 1, (1, 1, 8, 8)).astype(np.float32))
        assert gw.alerts(detector="noise-probe") == []
        attacker.predict(rng.uniform(0, 1, (1, 1, 8, 8)).astype(np.float32))
        # the detectors run once the reply is out: the alert may land just after it
        assert within(5.0, lambda: gw.alerts(detector="noise-probe"))
        alerts = gw.alerts(detector="noise-probe")
        assert [(a.client, a.action) for a in alerts] == [(gw.client_id_for("mallory"), "alert")]
        assert "AML.T0043.001" in alerts[0].technique_ids and alerts[0].evidence["probes"] == 2
        scores = attacker.predict(rng.uniform(0, 1, (1, 1, 8, 8)).astype(np.float32))
        assert 0.0 < float(np.sort(scores[0])[-2]) and httpx.get(url + "/_advmatrix/blocks", headers=ADMIN).json() == []
