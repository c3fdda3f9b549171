"""Local adapters (PyTorch, scikit-learn, ONNX) and opening targets from URIs and YAML."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from advmatrix.errors import FormatError, TargetError, UsageError
from advmatrix.targets import Access, OnnxTarget, TargetInfo, TorchTarget, open_target


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def test_torch_target_is_white_box_with_gradients(digits):
    torch = pytest.importorskip("torch")
    X, y = digits
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 10))
    t = TorchTarget(net, TargetInfo("net", (64,), tuple("0123456789"), output="logits"))
    assert t.info.access is Access.WHITE_BOX
    p = t.predict(X[:4])
    assert np.allclose(p.sum(axis=1), 1)
    g = t.loss_gradient(X[:4], y[:4])
    assert g.shape == (4, 64) and np.abs(g).sum() > 0 and t.queries == 8


def test_sklearn_joblib_is_scanned_and_warned(tmp_path, digits):
    import joblib
    from sklearn.linear_model import LogisticRegression
    X, y = digits
    path = tmp_path / "clf.joblib"
    joblib.dump(LogisticRegression(max_iter=300).fit(X, y), path)
    with pytest.warns(UserWarning, match="joblib files are pickles"):
        t = open_target(f"sklearn:{path}")
    assert t.info.input_shape == (64,) and len(t.info.classes) == 10
    assert (t.predict_labels(X[:50]) == y[:50]).mean() > 0.9


def test_sklearn_skops_loads_without_pickle(tmp_path, digits):
    sio = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression
    X, y = digits
    path = tmp_path / "clf.skops"
    sio.dump(LogisticRegression(max_iter=300).fit(X, y), path)
    t = open_target(f"sklearn:{path}")
    assert t.info.access is Access.GREY_BOX and (t.predict_labels(X[:50]) == y[:50]).mean() > 0.9


def test_skops_with_untrusted_types_is_refused(tmp_path):
    sio = pytest.importorskip("skops.io")
    from collections import Counter
    path = tmp_path / "odd.skops"
    sio.dump({"model": Counter(a=1)}, path)
    if not sio.get_untrusted_types(file=path):
        pytest.skip("this skops version trusts Counter")
    with pytest.raises(TargetError, match="does not trust by default"):
        open_target(f"sklearn:{path}")


def test_malicious_model_file_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return os.system, ("echo pwned",)
    path = tmp_path / "evil.joblib"
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(TargetError, match="refusing to load"):
        open_target(f"sklearn:{path}")


def test_onnx_target(tmp_path):
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper
    w = helper.make_tensor("W", TensorProto.FLOAT, [4, 3], np.eye(4, 3).reshape(-1).tolist())
    nodes = [helper.make_node("MatMul", ["x", "W"], ["s"]), helper.make_node("Softmax", ["s"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])], [w])
    path = tmp_path / "m.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    t = open_target(f"onnx:{path}")
    assert isinstance(t, OnnxTarget) and t.info.input_shape == (4,) and t.info.n_classes == 3
    assert t.predict_labels(np.eye(4, dtype=np.float32)[:3]).tolist() == [0, 1, 2]


def test_yaml_description_with_env_token(tmp_path, monkeypatch):
    from advmatrix.serving import ServedModel, make_app, running_server
    seen = {}

    def model(x):
        return np.tile([0.5, 0.5], (len(x), 1))

    app = make_app({"m": ServedModel(model, (3,), ("x", "y"))})

    @app.middleware("http")
    async def capture(request, call_next):
        seen["auth"] = request.headers.get("authorization")
        return await call_next(request)

    monkeypatch.setenv("MODEL_TOKEN", "s3cret")
    with running_server(app) as url:
        desc = tmp_path / "target.yaml"
        desc.write_text(f"protocol: kserve\nurl: {url}\nmodel: m\nheaders:\n  Authorization: Bearer ${{MODEL_TOKEN}}\n"
                        "modality: tabular\nconcurrency: 2\n")
        t = open_target(desc)
        assert t.predict(np.zeros((2, 3))).shape == (2, 2)
    assert seen["auth"] == "Bearer s3cret"


@pytest.mark.parametrize("spec, error, message", [
    ("ftp://x/y", UsageError, "not a target URI"),
    ("kserve+http:/nohost", UsageError, "expected kserve\\+http://host:port/model"),
    ("sklearn:/no/such/file.joblib", FormatError, "no such file"),
    ({"protocol": "json", "url": "http://x"}, UsageError, "needs 'url', 'template' and 'response_path'"),
    ({"protocol": "tfserving", "url": "http://x", "model": "m"}, UsageError, "say 'input_shape' and 'classes'"),
    ({"protocol": "grpc"}, UsageError, "unknown protocol"),
])
def test_bad_target_specs(spec, error, message):
    with pytest.raises(error, match=message):
        open_target(spec)


def test_a_file_of_another_kind_given_as_a_scikit_learn_model_is_one_clear_error(tmp_path, cli):
    torch = pytest.importorskip("torch")
    path = tmp_path / "cnn.pt"
    torch.save(torch.nn.Linear(4, 2).state_dict(), path)
    r = cli("assess", f"sklearn:{path}", "--out", tmp_path / "out", "--db", tmp_path / "runs.db")
    assert r.code == 2 and "Traceback" not in r.err
    assert r.err.splitlines()[-1] == (f"advmatrix: error: sklearn:{path}: cnn.pt is not a scikit-learn model file "
                                      "(persistent IDs in protocol 0 must be ASCII strings)")
    # the warning that came first is one line too, not Python's file-and-source pair
    assert r.err.splitlines()[0] == f"advmatrix: warning: {path}: joblib files are pickles and run code on load; " \
                                    "prefer .skops"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("kind", "content", "says"), [
    ("sklearn", b"PK\x03\x04cut", "is not a scikit-learn model file"),
    ("torch", b"hello world", "is not a PyTorch model file"),
])
def test_a_cut_or_foreign_file_is_one_error_line_naming_it(tmp_path, cli, kind, content, says):
    pytest.importorskip("torch")
    path = tmp_path / ("m.skops" if kind == "sklearn" else "m.pt")
    path.write_bytes(content)
    r = cli("assess", f"{kind}:{path}", "--procedures", "discovery", "--db", tmp_path / "r.db")
    assert r.code == 2 and "Traceback" not in r.err and says in r.err.splitlines()[-1] and path.name in r.err
    assert not (tmp_path / "r.db").exists()
