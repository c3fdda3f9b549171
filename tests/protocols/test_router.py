"""The gateway's router over protocol plugins: built-ins, configured JSON routes, settings, and a
third-party protocol installed through the ``advmatrix.protocols`` entry-point group."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from advmatrix import plugins
from advmatrix.errors import UsageError
from advmatrix.gateway._protocols import Protocols
from advmatrix.protocols import Protocol, ProtocolError

X = np.arange(8, dtype=np.float32).reshape(2, 4) / 8
S = np.array([[0.2, 0.8], [0.6, 0.4]])


class CsvLines(Protocol):
    """A made-up protocol: ``{"rows": "1,2;3,4"}`` posted to ``/csv/{model}``."""

    name = "csv-lines"
    title = "CSV lines"
    _route = re.compile(r"^/csv/[^/]+$")

    def match(self, path: str) -> bool:
        return self._route.match(path) is not None

    def encode_request(self, batch: np.ndarray) -> Any:
        return {"rows": ";".join(",".join(map(str, row)) for row in batch.tolist())}

    def decode_request(self, doc: Any) -> np.ndarray:
        try:
            return np.array([[float(v) for v in row.split(",")] for row in doc["rows"].split(";")])
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ProtocolError(f"not CSV lines: {exc}") from None

    def encode_reply(self, scores: np.ndarray, model: str = "") -> Any:
        return {"scores": np.asarray(scores).tolist()}

    def decode_reply(self, doc: Any, n: int | None = None) -> np.ndarray:
        try:
            return np.asarray(doc["scores"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"not CSV scores: {exc}") from None

    def replace_outputs(self, doc: Any, scores: np.ndarray) -> Any:
        doc["scores"] = np.asarray(scores).tolist()
        return doc


def test_builtin_routes():
    p = Protocols()
    assert p.kind("/v2/models/digits/infer") == "kserve"
    assert p.kind("/v1/models/digits:predict") == "tfserving"
    assert p.kind("/predict") is None and p.kind("/v2/health/ready") is None
    body = {"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", "data": X.reshape(-1).tolist()}]}
    x = p.inputs("kserve", body, "/v2/models/digits/infer")
    assert x.dtype == np.float32 and np.array_equal(x, X)
    reply = {"outputs": [{"name": "o", "shape": [2, 2], "datatype": "FP32", "data": S.reshape(-1).tolist()}]}
    assert np.array_equal(p.outputs("kserve", reply, "/v2/models/digits/infer"), S)
    out = p.replace_outputs("tfserving", {"predictions": S.tolist()}, "/v1/models/digits:predict", S[::-1])
    assert out == {"predictions": S[::-1].tolist()}


def test_unreadable_bodies_are_none_not_errors():
    p = Protocols({"/predict": "features"})
    assert p.inputs("kserve", {"inputs": "nope"}, "/v2/models/m/infer") is None
    assert p.inputs("tfserving", ["not", "a", "dict"], "/v1/models/m:predict") is None
    assert p.outputs("kserve", {}, "/v2/models/m/infer") is None
    assert p.inputs("json", {"other": 1}, "/predict") is None


def test_json_routes_from_the_gateway_config():
    p = Protocols({"/predict": "features", "out:/predict": "result.scores", "/score": "data.0.x"})
    assert p.kind("/predict") == "json" and p.kind("/score") == "json" and p.kind("/other") is None
    assert np.array_equal(p.inputs("json", {"features": X.tolist()}, "/predict"), X)
    assert np.array_equal(p.inputs("json", {"data": [{"x": X.tolist()}]}, "/score"), X)
    reply = {"result": {"scores": S.tolist()}, "id": 1}
    assert np.array_equal(p.outputs("json", reply, "/predict"), S)
    assert p.replace_outputs("json", reply, "/predict", S[::-1]) == {"result": {"scores": S[::-1].tolist()}, "id": 1}
    # outputs default to "result" when the route names none
    assert np.array_equal(p.outputs("json", {"result": S.tolist()}, "/score"), S)


def test_settings_configure_a_protocol():
    p = Protocols(settings={"kserve": {"output_name": "probs"},
                            "json": {"path": "/infer", "template": {"x": "$inputs"}, "response_path": "y"}})
    reply = {"outputs": [{"name": "logits", "shape": [1, 2], "data": [9, -9]},
                         {"name": "probs", "shape": [1, 2], "data": [1, 0]}]}
    assert p.outputs("kserve", reply, "/v2/models/m/infer").tolist() == [[1, 0]]
    assert p.kind("/infer") == "json" and p.outputs("json", {"y": [[0.5, 0.5]]}, "/infer").tolist() == [[0.5, 0.5]]
    with pytest.raises(UsageError, match="unknown protocol 'kserv'.*did you mean 'kserve'"):
        Protocols(settings={"kserv": {}})
    with pytest.raises(UsageError, match="protocol kserve: unknown parameter 'bogus' \\(it takes input_name"):
        Protocols(settings={"kserve": {"bogus": 1}})


def test_a_third_party_protocol_is_routed_with_no_change_to_advmatrix(installed):
    installed("advmatrix.protocols", CsvLines)
    assert plugins.get("protocol", "csv-lines") is CsvLines and plugins.origin(CsvLines) == "advmatrix-test1"
    p = Protocols()
    assert p.kind("/csv/digits") == "csv-lines" and p.kind("/v2/models/m/infer") == "kserve"
    assert np.allclose(p.inputs("csv-lines", CsvLines().encode_request(X), "/csv/digits"), X)
    assert p.inputs("csv-lines", {"rows": "a,b"}, "/csv/digits") is None
    reply = CsvLines().encode_reply(S)
    assert np.array_equal(p.outputs("csv-lines", reply, "/csv/digits"), S)
    assert p.replace_outputs("csv-lines", reply, "/csv/digits", S[::-1]) == {"scores": S[::-1].tolist()}


def test_a_third_party_protocol_round_trips_like_the_builtins(installed):
    installed("advmatrix.protocols", CsvLines)
    p = plugins.registry("protocol")["csv-lines"]()
    assert np.allclose(p.decode_request(p.encode_request(X)), X)
    assert np.array_equal(p.decode_reply(p.replace_outputs(p.encode_reply(S), S[::-1]), 2), S[::-1])
