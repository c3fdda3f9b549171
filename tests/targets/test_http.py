"""HTTP targets against real servers on loopback: three protocols, retries and failures."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from advmatrix.errors import TargetResponseError, TargetUnavailable
from advmatrix.serving import ServedModel, make_app, running_server
from advmatrix.targets import Budget, KServeV2Target, TargetInfo, open_target

CLASSES = tuple(str(i) for i in range(3))


def linear(x: np.ndarray) -> np.ndarray:
    logits = np.stack([x.sum(axis=1), -x.sum(axis=1), np.zeros(len(x))], axis=1)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def server():
    app = make_app({"lin": ServedModel(linear, (4,), CLASSES)})
    with running_server(app) as url:
        yield url


def test_kserve_discovers_shape_and_classes(server):
    with open_target(f"kserve+{server}/lin") as t:
        assert t.info.input_shape == (4,) and t.info.classes == CLASSES
        x = np.random.default_rng(0).random((130, 4)).astype(np.float32)
        assert np.allclose(t.predict(x), linear(x), atol=1e-5)
        assert t.queries == 130


def test_batching_and_concurrency_preserve_order(server):
    info = TargetInfo("lin", (4,), CLASSES)
    x = np.random.default_rng(1).random((97, 4)).astype(np.float32)
    for max_batch, concurrency in ((1, 16), (7, 3), (200, 1)):
        with KServeV2Target(server, "lin", info, max_batch=max_batch, concurrency=concurrency) as t:
            assert np.allclose(t.predict(x), linear(x), atol=1e-5)


def test_tfserving_and_json_template(server):
    x = np.random.default_rng(2).random((5, 4)).astype(np.float32)
    tf = open_target({"protocol": "tfserving", "url": server, "model": "lin", "input_shape": [4], "n_classes": 3})
    js = open_target({"protocol": "json", "url": f"{server}/json/lin", "template": {"features": "$inputs"},
                      "response_path": "result.scores", "input_shape": [4], "n_classes": 3})
    for t in (tf, js):
        with t:
            assert np.allclose(t.predict(x), linear(x), atol=1e-5)


def flaky_app(fail_times: int, status: int = 503) -> FastAPI:
    app = FastAPI()
    state = {"calls": 0}

    @app.post("/v2/models/m/infer")
    async def infer(request: Request):
        state["calls"] += 1
        body = await request.json()
        if state["calls"] <= fail_times:
            return PlainTextResponse("busy", status_code=status)
        n = body["inputs"][0]["shape"][0]
        return {"outputs": [{"name": "o", "shape": [n, 3], "datatype": "FP32", "data": [1 / 3] * (3 * n)}]}

    app.state.calls = state
    return app


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_with_backoff_then_succeeds(status):
    app = flaky_app(2, status)
    with running_server(app) as url:
        t = KServeV2Target(url, "m", TargetInfo("m", (4,), CLASSES), retries=3, backoff=0.01)
        assert t.predict(np.zeros((2, 4))).shape == (2, 3)
        assert app.state.calls["calls"] == 3


def test_gives_up_with_a_clear_message():
    with running_server(flaky_app(100)) as url:
        t = KServeV2Target(url, "m", TargetInfo("m", (4,), CLASSES), retries=1, backoff=0.01)
        with pytest.raises(TargetUnavailable, match=r"m \(http://127.0.0.1:\d+/v2/models/m/infer\): HTTP 503"):
            t.predict(np.zeros((1, 4)))


def test_unreachable_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = KServeV2Target(f"http://127.0.0.1:{port}", "m", TargetInfo("m", (4,), CLASSES), retries=0)
    with pytest.raises(TargetUnavailable, match="cannot connect"):
        t.predict(np.zeros((1, 4)))
    with pytest.raises(TargetUnavailable, match="cannot reach"):
        open_target(f"kserve+http://127.0.0.1:{port}/m")


def broken_app(kind: str) -> FastAPI:
    app = FastAPI()

    @app.post("/v2/models/m/infer")
    async def infer(request: Request):
        n = (await request.json())["inputs"][0]["shape"][0]
        if kind == "text":
            return PlainTextResponse("<html>oops</html>")
        if kind == "shape":
            return {"outputs": [{"shape": [n, 2], "data": [0.5] * (2 * n)}]}
        if kind == "nan":
            return {"outputs": [{"shape": [n, 3], "data": [float("nan")] * 0 + ["NaN"] * (3 * n)}]}
        if kind == "400":
            return PlainTextResponse("bad input", status_code=400)
        return {"unexpected": True}

    return app


@pytest.mark.parametrize("kind, message", [
    ("text", "reply is not JSON"), ("shape", r"shape \(1, 2\), expected \(1, 3\)"),
    ("nan", "NaN"), ("400", "HTTP 400: bad input"), ("other", "not an Open Inference Protocol v2 reply"),
])
def test_bad_replies_name_target_and_problem(kind, message):
    with running_server(broken_app(kind)) as url:
        t = KServeV2Target(url, "m", TargetInfo("m", (4,), CLASSES), retries=0)
        with pytest.raises(TargetResponseError, match=message):
            t.predict(np.zeros((1, 4)))


def test_timeout():
    import asyncio
    app = FastAPI()

    @app.post("/v2/models/m/infer")
    async def slow():
        await asyncio.sleep(2)

    with running_server(app) as url:
        t = KServeV2Target(url, "m", TargetInfo("m", (4,), CLASSES), timeout=0.2, retries=0)
        with pytest.raises(TargetUnavailable, match="timed out after 0.2 s"):
            t.predict(np.zeros((1, 4)))


def test_budget_over_http(server):
    t = open_target(f"kserve+{server}/lin", budget=Budget(limit=3))
    t.predict(np.zeros((3, 4)))
    from advmatrix.errors import BudgetExhausted
    with pytest.raises(BudgetExhausted):
        t.predict(np.zeros((1, 4)))
