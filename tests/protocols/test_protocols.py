"""Wire protocols: every one round-trips with its defaults; each one's formats, datatypes and
malformed bodies."""

from __future__ import annotations

import numpy as np
import pytest

from advmatrix.errors import UsageError
from advmatrix.plugins import registry
from advmatrix.protocols import (
    JsonPath,
    JsonTemplate,
    KServe,
    Protocol,
    ProtocolError,
    TFServing,
)

RNG = np.random.default_rng(0)
X = RNG.random((3, 4)).astype(np.float32)
S = RNG.random((3, 5))
S2 = RNG.random((3, 5))


# -- every protocol ------------------------------------------------------------------------------

@pytest.fixture(params=sorted(n for n, c in registry("protocol").items() if c.modality == "tensor"))
def protocol(request) -> Protocol:
    return registry("protocol")[request.param]()


def test_builtins_are_registered():
    assert {"kserve": KServe, "tfserving": TFServing, "json": JsonTemplate}.items() <= registry("protocol").items()


def test_round_trips_with_default_params(protocol):
    assert np.array_equal(protocol.decode_request(protocol.encode_request(X)), X)
    reply = protocol.encode_reply(S)
    assert np.array_equal(protocol.decode_reply(reply, len(S)), S)
    assert np.array_equal(protocol.decode_reply(protocol.replace_outputs(reply, S2), len(S2)), S2)


def test_describes_itself(protocol):
    d = type(protocol).describe()
    assert d["kind"] == "protocol" and d["title"] and d["description"] and d["available"]


@pytest.mark.parametrize("doc", [None, 3, "text", [], {}, {"unrelated": True}])
def test_malformed_bodies_are_protocol_errors(protocol, doc):
    with pytest.raises(ProtocolError):
        protocol.decode_request(doc)
    with pytest.raises(ProtocolError):
        protocol.decode_reply(doc, 1)


def test_protocol_error_is_a_value_error():
    assert issubclass(ProtocolError, ValueError)


def test_parameters_are_validated_in_one_line():
    with pytest.raises(UsageError, match="protocol kserve: unknown parameter 'nope' \\(it takes input_name"):
        KServe(nope=1)


# -- KServe v2 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, datatype", [
    (np.float32, "FP32"), (np.float64, "FP64"), (np.float16, "FP16"), (np.int64, "INT64"), (np.int32, "INT32"),
    (np.int8, "INT8"), (np.uint8, "UINT8"), (np.uint64, "UINT64"), (np.bool_, "BOOL"),
])
def test_kserve_datatypes_round_trip(dtype, datatype):
    x = (RNG.random((2, 3)) * 100).astype(dtype)
    doc = KServe().encode_request(x)
    assert doc["inputs"][0]["datatype"] == datatype and doc["inputs"][0]["shape"] == [2, 3]
    back = KServe().decode_request(doc)
    assert back.dtype == dtype and np.array_equal(back, x)


def test_kserve_reads_nested_data_and_defaults_to_fp32():
    doc = {"inputs": [{"name": "x", "shape": [2, 2], "data": [[1, 2], [3, 4]]}]}
    x = KServe().decode_request(doc)
    assert x.dtype == np.float32 and x.tolist() == [[1, 2], [3, 4]]


def test_kserve_replies_are_float64_whatever_the_datatype():
    reply = {"outputs": [{"name": "o", "shape": [2], "datatype": "INT64", "data": [3, 1]}]}
    out = KServe().decode_reply(reply)
    assert out.dtype == np.float64 and out.tolist() == [3.0, 1.0]


@pytest.mark.parametrize("doc, message", [
    ({"inputs": [{"shape": [2], "datatype": "BYTES", "data": ["a", "b"]}]}, "unsupported datatype 'BYTES'"),
    ({"inputs": [{"shape": [3], "datatype": "FP32", "data": [1, 2]}]}, "cannot reshape"),
    ({"inputs": [{"shape": [2], "datatype": "FP32", "data": ["x", 1]}]}, "not numeric"),
    ({"inputs": [{"datatype": "FP32", "data": [1]}]}, "KeyError: 'shape'"),
    ({"inputs": []}, "IndexError"),
    ({"inputs": ["tensor"]}, "a tensor is a JSON object"),
])
def test_kserve_malformed_requests_say_why(doc, message):
    with pytest.raises(ProtocolError, match=f"not an Open Inference Protocol v2 request .*{message}"):
        KServe().decode_request(doc)


def test_kserve_reply_without_shape_uses_the_batch_size():
    reply = {"outputs": [{"name": "o", "data": [0.1, 0.9, 0.5, 0.5]}]}
    assert KServe().decode_reply(reply, 2).shape == (2, 2)
    with pytest.raises(ProtocolError, match="shape"):
        KServe().decode_reply(reply)


def test_kserve_output_name_picks_the_tensor():
    reply = {"outputs": [{"name": "logits", "shape": [1, 2], "data": [5, -5]},
                         {"name": "probs", "shape": [1, 2], "data": [0.9, 0.1]}]}
    p = KServe(output_name="probs")
    assert p.decode_reply(reply).tolist() == [[0.9, 0.1]]
    assert KServe().decode_reply(reply).tolist() == [[5, -5]]
    p.replace_outputs(reply, np.array([[1.0, 0.0]]))
    assert reply["outputs"][1]["data"] == [1.0, 0.0] and reply["outputs"][0]["data"] == [5, -5]
    with pytest.raises(ProtocolError, match="KeyError: 'nope'"):
        KServe(output_name="nope").decode_reply(reply)


def test_kserve_replace_outputs_keeps_the_rest():
    reply = {"model_name": "m", "id": "42", "outputs": [{"name": "o", "datatype": "FP32", "shape": [1, 2],
                                                          "data": [0.3, 0.7]}]}
    out = KServe().replace_outputs(reply, np.array([[0.0, 1.0]]))
    assert out == {"model_name": "m", "id": "42",
                   "outputs": [{"name": "o", "datatype": "FP32", "shape": [1, 2], "data": [0.0, 1.0]}]}


def test_kserve_routes_and_endpoints():
    p = KServe()
    for path in ("/v2/models/m/infer", "/v2/models/my-model/versions/3/infer"):
        assert p.match(path)
    for path in ("/v2/models/m", "/v2/models/m/infer/x", "/v1/models/m:predict", "/v2/models//infer"):
        assert not p.match(path)
    assert p.endpoint("m") == "/v2/models/m/infer"
    assert KServe(version="2").endpoint("m") == "/v2/models/m/versions/2/infer"
    assert KServe().encode_reply(S, model="m")["model_name"] == "m"


def test_kserve_metadata_round_trip():
    meta = KServe.encode_metadata("m", (1, 8, 8), 10, {"classes": list("0123456789"), "modality": "image"})
    assert KServe.decode_metadata(meta) == {"input_shape": [1, 8, 8], "classes": list("0123456789"),
                                            "modality": "image"}
    meta["inputs"][0]["shape"] = [-1, -1]
    del meta["parameters"]
    assert KServe.decode_metadata(meta) == {"n_classes": 10}
    with pytest.raises(ProtocolError, match="model metadata"):
        KServe.decode_metadata({"name": "m"})


# -- TF Serving ----------------------------------------------------------------------------------

def test_tfserving_row_and_columnar_formats():
    p = TFServing()
    assert p.encode_request(X) == {"instances": X.tolist()}
    assert np.array_equal(p.decode_request({"inputs": X.tolist()}), X)
    assert np.array_equal(p.decode_reply({"outputs": S.tolist()}), S)
    assert TFServing(signature_name="serving_default").encode_request(X)["signature_name"] == "serving_default"


def test_tfserving_named_inputs_and_outputs():
    p = TFServing(input_name="x", output_name="probs")
    doc = p.encode_request(X)
    assert doc["instances"][0] == {"x": X[0].tolist()}
    assert np.array_equal(p.decode_request(doc), X)
    reply = {"predictions": [{"probs": row, "label": 1} for row in S.tolist()]}
    assert np.array_equal(p.decode_reply(reply), S)
    p.replace_outputs(reply, S2)
    assert np.array_equal(p.decode_reply(reply), S2) and reply["predictions"][0]["label"] == 1
    # one named tensor needs no name; several do
    assert np.array_equal(TFServing().decode_request({"instances": [{"x": r} for r in X.tolist()]}), X)
    with pytest.raises(ProtocolError, match="several named tensors"):
        TFServing().decode_reply(reply)
    columnar = {"outputs": {"probs": S.tolist()}}
    assert np.array_equal(p.decode_reply(columnar), S)
    assert np.array_equal(p.decode_reply(p.replace_outputs(columnar, S2)), S2)


@pytest.mark.parametrize("doc, message", [
    ({"instances": [[1, "x"]]}, "'instances' is not numeric"),
    ({"instances": [{"a": [1]}, {"b": [2]}]}, "a row lacks 'a'"),
    ({"signature_name": "s"}, "no 'instances' or 'inputs'"),
])
def test_tfserving_malformed_requests_say_why(doc, message):
    with pytest.raises(ProtocolError, match=message):
        TFServing().decode_request(doc)


def test_tfserving_routes_and_endpoints():
    p = TFServing()
    for path in ("/v1/models/m:predict", "/v1/models/m/versions/2:predict", "/v1/models/m/labels/stable:predict"):
        assert p.match(path)
    for path in ("/v1/models/m:classify", "/v1/models/m", "/v2/models/m/infer"):
        assert not p.match(path)
    assert p.endpoint("m") == "/v1/models/m:predict"
    assert TFServing(version="7").endpoint("m") == "/v1/models/m/versions/7:predict"


# -- JSON template -------------------------------------------------------------------------------

def test_json_template_nested_paths_with_list_indices():
    p = JsonTemplate(template={"meta": {"v": 1}, "batch": [{"rows": "$inputs"}]}, response_path="data.0.probs")
    doc = p.encode_request(X)
    assert doc == {"meta": {"v": 1}, "batch": [{"rows": X.tolist()}]}
    assert np.array_equal(p.decode_request(doc), X)
    reply = {"data": [{"probs": S.tolist(), "id": 7}], "ok": True}
    assert np.array_equal(p.decode_reply(reply, 3), S)
    out = p.replace_outputs(reply, S2)
    assert out["data"][0]["id"] == 7 and out["ok"] and np.array_equal(p.decode_reply(out), S2)
    assert p.encode_reply(S) == {"data": [{"probs": S.tolist()}]}


def test_json_template_single_sample():
    p = JsonTemplate(template={"instance": {"features": "$input"}}, response_path="scores")
    assert p.single and p.batch_limit == 1
    doc = p.encode_request(X[:1])
    assert doc == {"instance": {"features": X[0].tolist()}}
    assert np.array_equal(p.decode_request(doc), X[:1])
    assert p.decode_reply({"scores": [0.2, 0.8]}, 1).tolist() == [[0.2, 0.8]]
    assert p.decode_reply({"scores": 3}, 1).tolist() == [3.0]  # a label
    assert p.encode_reply(S[:1]) == {"scores": S[0].tolist()}
    with pytest.raises(ProtocolError, match="one sample per request, not 3"):
        p.encode_request(X)
    assert JsonTemplate().batch_limit is None and not JsonTemplate().single


def test_json_template_whole_body_and_whole_reply():
    p = JsonTemplate(template="$inputs", response_path="")
    assert p.encode_request(X) == X.tolist() and p.encode_reply(S) == S.tolist()
    assert np.array_equal(p.decode_reply(S.tolist()), S)


@pytest.mark.parametrize("template, message", [
    ({"x": 1}, 'put "\\$inputs"'), ({"a": "$inputs", "b": "$input"}, "not both"),
])
def test_json_template_needs_one_kind_of_marker(template, message):
    with pytest.raises(UsageError, match=f"protocol json: parameter 'template': .*{message}"):
        JsonTemplate(template=template)


def test_json_template_bad_replies_say_what_is_wrong():
    p = JsonTemplate(template={"x": "$inputs"}, response_path="result.scores")
    with pytest.raises(ProtocolError, match="^reply has no 'result.scores'$"):
        p.decode_reply({"result": {}})
    with pytest.raises(ProtocolError, match="^reply has no 'result.scores'$"):
        p.decode_reply({"result": [1, 2]})
    with pytest.raises(ProtocolError, match="^'result.scores' is not numeric$"):
        p.decode_reply({"result": {"scores": ["high", "low"]}})
    with pytest.raises(ProtocolError, match="^request has no 'x'$"):
        p.decode_request({"y": [[1]]})
    with pytest.raises(ProtocolError, match="^reply has no 'result.scores'$"):
        p.replace_outputs({"other": 1}, S)


def test_json_template_routes():
    p = JsonTemplate(path="/predict")
    assert p.match("/predict") and not p.match("/predict/") and p.endpoint("any") == "/predict"
    assert not JsonTemplate().match("/predict")
    with pytest.raises(ProtocolError, match="does not address models by name"):
        JsonTemplate().endpoint("m")
    route = JsonTemplate.for_route("/score", "payload.0.features", "out.probs")
    assert route.params.template == {"payload": [{"features": "$inputs"}]}
    assert route.match("/score") and route.decode_reply({"out": {"probs": [[1, 0]]}}).tolist() == [[1, 0]]


# -- dotted JSON paths ---------------------------------------------------------------------------

def test_json_path_get_and_set():
    doc = {"a": [{"b": 1}, {"b": 2}], "c": {"0": "key"}}
    assert JsonPath("a.1.b").get(doc) == 2 and JsonPath("a.-1.b").get(doc) == 2
    assert JsonPath("c.0").get(doc) == "key"  # a number is a key in an object
    assert JsonPath("").get(doc) is doc and JsonPath(["a", 0, "b"]) == JsonPath("a.0.b")
    JsonPath("a.0.b").set(doc, 9)
    assert doc["a"][0]["b"] == 9
    for missing in ("a.5.b", "a.x", "z", "a.0.b.c"):
        with pytest.raises(ProtocolError, match=f"no '{missing}'"):
            JsonPath(missing).get(doc)
    with pytest.raises(ProtocolError, match="no 'z.y'"):
        JsonPath("z.y").set(doc, 1)
    with pytest.raises(ProtocolError, match="no 'c.new'"):
        JsonPath("c.new").set(doc, 1)


def test_json_path_creates_what_is_missing():
    assert JsonPath("x.2.y").set(None, 5, create=True) == {"x": [None, None, {"y": 5}]}
    assert JsonPath("0").set(None, 5, create=True) == [5]
    doc = {"x": {}}
    assert JsonPath("x.y.z").set(doc, 1, create=True) == {"x": {"y": {"z": 1}}}
    assert JsonPath("").set(doc, 1, create=True) == 1
