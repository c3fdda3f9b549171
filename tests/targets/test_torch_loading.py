"""``torch:`` targets load models as users save them: a state dict or safetensors weights with a
``model_class``, TorchScript, or a whole pickled module once the scanner clears it."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from advmatrix.errors import FormatError, TargetError, UsageError  # noqa: E402
from advmatrix.targets import Access, open_target  # noqa: E402

HELPER = Path(__file__).with_name("_torch_models.py")


@pytest.fixture(scope="module")
def trained(digits):
    """A TinyNet(hidden=24) fitted briefly on digits, and the first 200 digits to check it on."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_torch_models_for_tests", HELPER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    x, y = digits
    torch.manual_seed(0)
    net = mod.TinyNet(hidden=24)
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    xt, yt = torch.from_numpy(x[:1000]), torch.from_numpy(y[:1000])
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    return net.eval(), x[1000:1200], y[1000:1200]


def _yaml(tmp_path, weights, **extra):
    lines = ["protocol: torch", f"path: {weights}", "input_shape: [1, 8, 8]", "classes: 10"]
    for key, value in extra.items():
        lines.append(f"{key}: {value}")
    path = tmp_path / "target.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _same_as(target, net, x):
    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(x)), 1).numpy()
    return np.allclose(target.predict(x), expected, atol=1e-5)


def test_state_dict_with_a_class_by_module_name(tmp_path, trained, monkeypatch):
    net, x, y = trained
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    monkeypatch.syspath_prepend(str(HELPER.parent))
    t = open_target(_yaml(tmp_path, tmp_path / "weights.pt", model_class="_torch_models:TinyNet",
                          model_args="{hidden: 24}"))
    assert t.info.access is Access.WHITE_BOX and t.device == "cpu"
    assert _same_as(t, net, x) and (t.predict_labels(x) == y).mean() > 0.8


def test_checkpoint_with_nested_state_dict_and_class_by_file(tmp_path, trained):
    net, x, _ = trained
    torch.save({"epoch": 3, "model_state_dict": net.state_dict()}, tmp_path / "ckpt.pth")
    t = open_target(_yaml(tmp_path, tmp_path / "ckpt.pth", model_class=f"{HELPER}:TinyNet",
                          model_args="{hidden: 24}"))
    assert _same_as(t, net, x)


def test_safetensors_with_a_class(tmp_path, trained):
    from safetensors.torch import save_file

    net, x, _ = trained
    save_file(net.state_dict(), tmp_path / "model.safetensors")
    t = open_target(_yaml(tmp_path, tmp_path / "model.safetensors", model_class=f"{HELPER}:TinyNet",
                          model_args="{hidden: 24}"))
    assert _same_as(t, net, x)


def test_torchscript_still_loads_and_attacks(tmp_path, trained):
    from advmatrix.emulate import Dataset, get

    net, x, y = trained
    torch.jit.script(net).save(str(tmp_path / "net.ts"))
    t = open_target(_yaml(tmp_path, tmp_path / "net.ts"))
    assert _same_as(t, net, x)
    finding = get("pgd")(eps=0.2, n_samples=40, steps=10).run(t, Dataset(x=x, y=y))
    assert finding.status == "completed" and finding.success_rate > 0.5


def test_state_dict_without_class_says_to_give_one(tmp_path, trained):
    torch.save(trained[0].state_dict(), tmp_path / "weights.pt")
    with pytest.raises(FormatError, match=r"^torch:.*weights\.pt: weights\.pt is a state dict: give model_class: "
                                          r"package\.module:Class \(and model_args\) in the target YAML$"):
        open_target(f"torch:{tmp_path / 'weights.pt'}")


def test_safetensors_without_class_says_to_give_one(tmp_path, trained):
    from safetensors.torch import save_file

    save_file(trained[0].state_dict(), tmp_path / "w.bin")  # sniffed, not told by the suffix
    with pytest.raises(FormatError, match=r"w\.bin holds safetensors weights: give model_class"):
        open_target(f"torch:{tmp_path / 'w.bin'}")


def test_wrong_keys_and_shapes_are_named(tmp_path, trained):
    state = dict(trained[0].state_dict())
    state["extra.weight"] = state.pop("body.3.bias")
    torch.save(state, tmp_path / "w.pt")
    with pytest.raises(FormatError, match=r"w\.pt does not fit TinyNet: missing keys body\.3\.bias; "
                                          r"unexpected keys extra\.weight \(wrong model_class or model_args\?\)$"):
        open_target(_yaml(tmp_path, tmp_path / "w.pt", model_class=f"{HELPER}:TinyNet", model_args="{hidden: 24}"))
    torch.save(trained[0].state_dict(), tmp_path / "w.pt")
    with pytest.raises(FormatError, match=r"shape mismatch body\.1\.weight \(24, 64\) vs \(16, 64\)"):
        open_target(_yaml(tmp_path, tmp_path / "w.pt", model_class=f"{HELPER}:TinyNet"))  # default hidden=16


@pytest.mark.parametrize(("model_class", "model_args", "message"), [
    ("no_such_pkg_xyz.models:Net", None, r"model_class 'no_such_pkg_xyz\.models:Net': no module named "
                                         r"'no_such_pkg_xyz' \(is it installed or on PYTHONPATH\?\)$"),
    ("{helper}:Missing", None, r"module '.*_torch_models\.py' has no 'Missing'$"),
    ("TinyNet", None, r"model_class 'TinyNet': expected package\.module:Class$"),
    ("{helper}:TinyNet", "{width: 3}", r"TinyNet\(\*\*model_args\) failed: TypeError: .*'width'"),
])
def test_bad_model_class_is_one_line(tmp_path, trained, model_class, model_args, message):
    torch.save(trained[0].state_dict(), tmp_path / "w.pt")
    extra = {"model_class": model_class.format(helper=HELPER)}
    if model_args:
        extra["model_args"] = model_args
    with pytest.raises(UsageError, match=message) as err:
        open_target(_yaml(tmp_path, tmp_path / "w.pt", **extra))
    assert "\n" not in str(err.value)


def test_whole_pickled_module_loads_after_the_scan(tmp_path, trained):
    net, x, _ = trained
    torch.save(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)), tmp_path / "whole.pt")
    t = open_target(_yaml(tmp_path, tmp_path / "whole.pt"))
    assert t.predict(x[:5]).shape == (5, 10)


class _Evil:
    marker = ""

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_pickled_module_is_refused_by_the_scan(tmp_path):
    evil = _Evil()
    evil.marker = str(tmp_path / "pwned")
    path = tmp_path / "evil.pt"
    torch.save({"model": evil}, path)
    with pytest.raises(TargetError, match="refusing to load"):
        open_target(f"torch:{path}")
    legacy = tmp_path / "evil_legacy.pt"
    legacy.write_bytes(pickle.dumps(evil))
    with pytest.raises(TargetError, match="refusing to load"):
        open_target(f"torch:{legacy}")
    assert not (tmp_path / "pwned").exists()  # neither file ran its payload while being looked at
