"""Target kinds as plugins: the built-ins, what ``open_target`` says about unknown ones, missing
extras, protocol parameters in descriptions, and a third-party kind from an entry point."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI, Request

from advmatrix import _extras, plugins
from advmatrix.errors import CapabilityError, TargetResponseError, UsageError
from advmatrix.serving import ServedModel, make_app, running_server
from advmatrix.targets import (
    Budget,
    DescriptionParams,
    HttpTarget,
    KServeV2Target,
    MockTarget,
    Target,
    TargetKind,
    open_target,
)
from advmatrix.targets.kinds import (
    JsonKind,
    KServeKind,
    OnnxKind,
    SklearnKind,
    TFServingKind,
    TorchKind,
)

CLASSES = ("a", "b")


def halves(x: np.ndarray) -> np.ndarray:
    return np.tile([0.25, 0.75], (len(x), 1))


def test_builtin_kinds_declare_names_schemes_and_extras():
    table = plugins.registry("target")
    assert {"kserve": KServeKind, "tfserving": TFServingKind, "json": JsonKind, "torch": TorchKind,
            "sklearn": SklearnKind, "onnx": OnnxKind}.items() <= table.items()
    assert KServeKind.schemes == ("kserve+http", "kserve+https") and TorchKind.schemes == ("torch",)
    assert (TorchKind.extras, OnnxKind.extras, SklearnKind.extras) == (("torch",), ("onnx",), ("sklearn",))
    for kind in table.values():
        d = kind.describe()
        assert d["kind"] == "target" and d["title"] and d["description"]


@pytest.mark.parametrize("uri, description", [
    ("kserve+http://h:8080/digits", {"protocol": "kserve", "url": "http://h:8080", "model": "digits"}),
    ("tfserving+https://h/a/b", {"protocol": "tfserving", "url": "https://h", "model": "a/b"}),
    ("torch:models/net.pt", {"protocol": "torch", "path": "models/net.pt"}),
    ("onnx:/abs/m.onnx", {"protocol": "onnx", "path": "/abs/m.onnx"}),
])
def test_uris_become_descriptions(uri, description):
    scheme = uri.partition(":")[0]
    kind = next(k for k in plugins.registry("target").values() if scheme in k.schemes)
    assert kind.from_uri(uri) == description


def test_unknown_uri_and_protocol_list_what_is_known():
    with pytest.raises(UsageError, match=r"^grpc://h/m: not a target URI \(.*kserve\+http://.*torch:.*\) or a "
                                         r"\.yaml description$"):
        open_target("grpc://h/m")
    with pytest.raises(UsageError, match=r"unknown protocol 'kserv' \(did you mean 'kserve'\? known: .*json, .*kserve"):
        open_target({"protocol": "kserv"})
    with pytest.raises(UsageError, match="no 'protocol' given"):
        open_target({"url": "http://x"})


@pytest.mark.parametrize("spec, message", [
    ({"protocol": "kserve", "url": "http://x"}, "<description>: protocol 'kserve' needs 'url' and 'model'"),
    ({"protocol": "torch"}, "protocol 'torch' needs 'path'"),
    ({"protocol": "json", "url": "http://x", "template": {"a": 1}, "response_path": "r", "input_shape": [2],
      "classes": ["a", "b"]}, "parameter 'template': .*put \"\\$inputs\""),
    ({"protocol": "tfserving", "url": "http://x", "model": "m", "input_shape": [2], "classes": ["a"],
      "output": "odds"}, "'output' must be one of probabilities, logits, labels, top-k, not 'odds'"),
])
def test_bad_descriptions_are_one_line(spec, message):
    with pytest.raises(UsageError, match=message):
        open_target(spec)


def test_a_missing_extra_is_one_line_naming_the_install(tmp_path, monkeypatch):
    monkeypatch.setitem(_extras.EXTRAS, "torch", ("advmatrix_no_such_module",))
    path = tmp_path / "net.pt"
    path.write_bytes(b"not loaded")
    with pytest.raises(CapabilityError, match=r"^opening a PyTorch model file needs the 'torch' extra .*"
                                              r"pip install 'advmatrix\[torch\]'$"):
        open_target(f"torch:{path}")


def test_description_carries_protocol_parameters_and_env(monkeypatch):
    app = make_app({"m": ServedModel(halves, (3,), CLASSES)})
    seen: dict[str, Any] = {}

    @app.middleware("http")
    async def capture(request: Request, call_next):
        seen.setdefault("paths", []).append(request.url.path)
        seen["token"] = request.headers.get("x-token")
        return await call_next(request)

    monkeypatch.setenv("TOKEN", "t0k")
    with running_server(app) as url:
        with open_target({"protocol": "kserve", "url": url, "model": "m", "input_name": "features",
                          "headers": {"x-token": "${TOKEN}"}}) as t:
            assert isinstance(t, KServeV2Target) and t.protocol.params.input_name == "features"
            assert t.info.classes == CLASSES and t.predict(np.zeros((2, 3))).shape == (2, 2)
        with open_target({"protocol": "tfserving", "url": url, "model": "m", "version": "1", "input_shape": [3],
                          "classes": list(CLASSES), "retries": 0}) as t:
            assert t.url.endswith("/v1/models/m/versions/1:predict")
    assert seen["paths"][0] == "/v2/models/m" and seen["token"] == "t0k"  # metadata asked with the headers


def test_json_target_one_sample_per_request():
    app = FastAPI()
    calls: list[Any] = []

    @app.post("/score")
    async def score(request: Request):
        body = await request.json()
        calls.append(body)
        return {"data": [{"probs": [0.25, 0.75] if sum(body["instance"]) > 0 else [0.5, 0.5]}]}

    with running_server(app) as url:
        t = open_target({"protocol": "json", "url": f"{url}/score", "template": {"instance": "$input"},
                         "response_path": "data.0.probs", "input_shape": [2], "classes": list(CLASSES)})
        with t:
            assert t.max_batch == 1
            out = t.predict(np.array([[1, 1], [0, 0], [1, 0]], dtype=np.float32))
    assert out.tolist() == [[0.25, 0.75], [0.5, 0.5], [0.25, 0.75]]
    assert len(calls) == 3 and all(isinstance(c["instance"], list) and len(c["instance"]) == 2 for c in calls)


@pytest.mark.parametrize("reply, message", [
    ({"result": {}}, r"^j \(http://127\.0\.0\.1:\d+/p\): reply has no 'result\.scores'$"),
    ({"result": {"scores": "high"}}, r"^j \(http://127\.0\.0\.1:\d+/p\): 'result\.scores' is not numeric$"),
])
def test_json_target_bad_replies_name_target_and_problem(reply, message):
    app = FastAPI()

    @app.post("/p")
    async def p():
        return reply

    with running_server(app) as url:
        t = open_target({"protocol": "json", "name": "j", "url": f"{url}/p", "template": {"x": "$inputs"},
                         "response_path": "result.scores", "input_shape": [2], "classes": list(CLASSES),
                         "retries": 0})
        with t, pytest.raises(TargetResponseError, match=message):
            t.predict(np.zeros((1, 2)))


class EchoKind(TargetKind):
    """A made-up kind: ``echo:0.3`` is a binary model that always answers P(b) = 0.3."""

    name = "echo"
    title = "Echo"
    schemes = ("echo",)
    required = ("p",)

    class Params(DescriptionParams):
        p: float | None = None

    @classmethod
    def from_uri(cls, uri: str) -> dict[str, Any]:
        return {"protocol": cls.name, "p": float(uri.partition(":")[2])}

    @classmethod
    def open(cls, description: dict[str, Any], budget: Budget | None, source: str) -> Target:
        cls.check(description, source)
        info = cls.target_info({"input_shape": [2], "classes": ["a", "b"], **description}, f"echo ({source})")
        p = float(description["p"])
        return MockTarget(lambda x: np.tile([1 - p, p], (len(x), 1)), info, budget)


def test_a_third_party_kind_works_by_uri_and_by_yaml(installed, tmp_path):
    installed("advmatrix.targets", EchoKind)
    t = open_target("echo:0.3", budget=Budget(limit=5))
    assert np.allclose(t.predict(np.zeros((2, 2))), [[0.7, 0.3]] * 2) and t.queries == 2
    desc = tmp_path / "echo.yaml"
    desc.write_text("protocol: echo\np: 0.9\nname: mine\n")
    assert open_target(desc).info.name == "mine"
    with pytest.raises(UsageError, match=r"not a target URI \(.*echo:"):
        open_target("nope:1")
    with pytest.raises(UsageError, match="protocol 'echo' needs 'p'"):
        open_target({"protocol": "echo"})


def test_a_misspelt_description_key_is_one_line(tmp_path):
    from advmatrix.targets import open_target

    with pytest.raises(UsageError, match="unknown key 'input_shpe' .*did you mean 'input_shape'"):
        open_target({"protocol": "tfserving", "url": "http://127.0.0.1:9", "model": "m", "input_shpe": [4],
                     "classes": ["a", "b"]})


def test_http_target_takes_any_protocol_instance():
    from advmatrix.protocols import TFServing

    app = make_app({"m": ServedModel(halves, (3,), CLASSES)})
    with running_server(app) as url:
        info = open_target({"protocol": "tfserving", "url": url, "model": "m", "input_shape": [3],
                            "classes": list(CLASSES)}).info
        with HttpTarget(f"{url}/v1/models/m:predict", TFServing(), info, max_batch=2) as t:
            assert t.predict(np.ones((5, 3))).tolist() == [[0.25, 0.75]] * 5
