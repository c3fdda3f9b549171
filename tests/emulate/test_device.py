"""The device-aware core of the white-box procedures: which device, what batch, what precision,
and the real attack path (run here on the CPU; the CUDA test runs where a GPU is present)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from advmatrix.emulate import _device, get  # noqa: E402
from advmatrix.errors import UsageError  # noqa: E402
from advmatrix.targets import MockTarget, TargetInfo, TorchTarget  # noqa: E402

INFO = TargetInfo("cnn", (1, 8, 8), tuple("0123456789"), output="logits", modality="image")


@pytest.fixture
def machine(monkeypatch):
    """Pretend torch sees ``gpus`` CUDA devices and (or not) Apple MPS."""
    def set_(gpus: int = 0, mps: bool = False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    return set_


@pytest.mark.parametrize(("gpus", "mps", "expected"), [(0, False, "cpu"), (0, True, "mps"), (2, True, "cuda:0")])
def test_auto_takes_the_best_device_present(machine, gpus, mps, expected):
    machine(gpus, mps)
    assert _device.pick_device(torch.nn.Linear(2, 2), "auto") == expected


@pytest.mark.parametrize(("requested", "expected"), [("cpu", "cpu"), (" CPU ", "cpu"), ("cuda", "cuda:0"),
                                                     ("cuda:1", "cuda:1"), ("mps", "mps")])
def test_named_devices_that_exist(machine, requested, expected):
    machine(gpus=2, mps=True)
    assert _device.pick_device(torch.nn.Linear(2, 2), requested) == expected


@pytest.mark.parametrize(("gpus", "mps", "requested", "message"), [
    (0, False, "cuda", r"^device 'cuda': no CUDA GPU is available to PyTorch here \(try auto or cpu\)$"),
    (2, False, "cuda:2", r"^device 'cuda:2': this machine has 2 CUDA devices$"),
    (1, False, "mps", r"^device 'mps': Apple MPS is not available on this machine"),
    (1, True, "gpu", r"^device 'gpu': expected auto, cpu, cuda, cuda:N or mps$"),
])
def test_devices_that_do_not_exist_are_one_line(machine, gpus, mps, requested, message):
    machine(gpus, mps)
    with pytest.raises(UsageError, match=message):
        _device.pick_device(torch.nn.Linear(2, 2), requested)


def test_no_request_keeps_the_module_where_its_weights_are(machine):
    machine(gpus=1, mps=True)  # a GPU being present must not move a module nobody asked to move
    assert _device.pick_device(torch.nn.Linear(2, 2), None) == "cpu"
    assert _device.pick_device(torch.nn.Linear(2, 2, device="meta"), None) == "meta"
    assert _device.pick_device(torch.nn.ReLU(), None) == "cpu"  # no weights at all

    class OnGPU(torch.nn.Module):  # what torch reports for a module moved with .cuda()
        def parameters(self):
            return iter([type("P", (), {"device": torch.device("cuda")})()])
    assert _device.module_device(OnGPU()) == "cuda:0"


def test_batch_fits_half_the_free_memory_in_powers_of_two():
    mib = 1 << 20
    assert _device.fit_batch(100 * mib, mib) == 32          # 50 fit in half: 32
    assert _device.fit_batch(80 * (1 << 30), mib) == 4096   # capped
    assert _device.fit_batch(mib, 10 * mib) == 1            # never zero
    assert _device.fit_batch(mib, 0) == 4096


def test_batch_size_from_free_cuda_memory(monkeypatch):
    net = torch.nn.Linear(64, 10)
    assert _device.batch_size(net, np.zeros(64, np.float32), "cpu") == _device.CPU_BATCH
    assert _device.batch_size(net, np.zeros(64, np.float32), "cuda:0", requested=7) == 7
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (1 << 30, 2 << 30))
    monkeypatch.setattr(_device, "per_sample_bytes", lambda module, sample, device: 1 << 20)
    assert _device.batch_size(net, np.zeros(64, np.float32), "cuda:0") == 512


def test_precision_contexts():
    with _device.autocast("cpu", "fp32"):
        assert not torch.is_autocast_enabled("cpu")
    with _device.autocast("cpu", "bf16"):
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.is_autocast_enabled("cpu")
    with pytest.raises(UsageError, match="precision fp16 needs a CUDA device; this runs on cpu"):
        _device.autocast("cpu", "fp16")


def test_use_device_is_the_override(cnn, machine):
    machine(gpus=0, mps=False)  # "auto" below must mean the CPU on a GPU machine too
    t = TorchTarget(cnn, INFO)
    assert _device.use_device(t, None) is None and _device.use_device(t, "cpu") == "cpu" and t.device == "cpu"
    with pytest.raises(UsageError, match=r"^mock: --device applies to PyTorch targets only$"):
        _device.use_device(MockTarget(lambda x: np.zeros((len(x), 2)), TargetInfo("mock", (2,), ("a", "b"))), "cpu")
    assert TorchTarget(cnn, INFO, device="auto").device == "cpu"


def test_pgd_moves_each_batch_once_not_each_step(white_box, data, monkeypatch):
    moved = []
    real = _device.to_device
    monkeypatch.setattr(_device, "to_device", lambda x, device, dtype=None: moved.append(len(x)) or real(x, device))
    counts = {}
    for steps in (3, 12):
        moved.clear()
        f = get("pgd")(eps=0.2, n_samples=60, steps=steps, batch_size=25, early_stop=False).run(white_box, data)
        assert f.status == "completed" and f.queries >= steps * f.metrics["attacked"]
        counts[steps] = list(moved)
    assert counts[3] == counts[12] and len(counts[3]) == 3 * 3  # x, start, labels for each of 3 batches


def test_pgd_on_the_cpu_stays_in_the_ball_and_matches_its_default_batch(white_box, data):
    runs = [get("pgd")(eps=0.15, n_samples=80, steps=10, batch_size=b).run(white_box, data, seed=3)
            for b in (None, _device.CPU_BATCH)]
    assert runs[0].success_rate == runs[1].success_rate > 0.3
    assert runs[0].metrics["mean_linf"] <= 0.15 + 1e-6
    assert [e.adversarial for e in runs[0].evidence] == [e.adversarial for e in runs[1].evidence]


def test_bf16_autocast_attack_still_succeeds_and_is_scored_in_fp32(white_box, data):
    f32 = get("fgsm")(eps=0.2, n_samples=80).run(white_box, data)
    bf16 = get("fgsm")(eps=0.2, n_samples=80, precision="bf16").run(white_box, data)
    assert bf16.status == "completed" and bf16.params["precision"] == "bf16"
    assert abs(bf16.success_rate - f32.success_rate) <= 0.15 and bf16.success_rate > 0.3


def test_loss_gradient_and_predict_follow_the_module(cnn, digits):
    x, y = digits
    t = TorchTarget(cnn, INFO, batch_size=7)  # several chunks, concatenated once
    p = t.predict(x[:20])
    assert p.shape == (20, 10) and np.allclose(p.sum(1), 1)
    g = t.loss_gradient(x[:4], y[:4])
    assert g.shape == (4, 1, 8, 8) and isinstance(g, np.ndarray) and np.abs(g).sum() > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_module_on_the_gpu_is_attacked_on_the_gpu(cnn, data):  # pragma: no cover - GPU machines only
    import copy

    t = TorchTarget(copy.deepcopy(cnn).cuda(), INFO)
    assert t.device == "cuda:0"
    f = get("pgd")(eps=0.2, n_samples=60, steps=10).run(t, data)
    assert f.status == "completed" and f.success_rate > 0.3
    assert get("pgd")(eps=0.2, n_samples=60, steps=10, precision="fp16").run(t, data).success_rate > 0.3


def test_assess_device_option_reaches_the_target_and_refuses_non_torch(cli, tmp_path, digits):
    """`assess --device cpu` on a PyTorch file runs; on an HTTP or scikit-learn target it is one
    line, exit 2, before any query."""
    torch = pytest.importorskip("torch")
    net = torch.jit.script(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)))
    net.save(str(tmp_path / "m.pt"))
    target = tmp_path / "target.yaml"
    target.write_text(f"protocol: torch\npath: {tmp_path / 'm.pt'}\ninput_shape: [1, 8, 8]\nclasses: 10\n"
                      "output: logits\n")
    ok = cli("assess", target, "--device", "cpu", "--procedures", "fgsm", "--json",
             "-o", tmp_path / "out", "--db", tmp_path / "runs.db")
    assert ok.code in (0, 1), ok.err
    bad = cli("assess", target, "--device", "tpu", "--procedures", "fgsm", "-o", tmp_path / "out2")
    assert bad.code == 2 and "Traceback" not in bad.err and "tpu" in bad.err
