"""Fixtures shared by every test package.

Upstream ATLAS releases are read from ``../shared/fixtures/atlas`` beside the repository when
that directory exists; tests that need them skip cleanly in a fresh clone without it.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import numpy as np
import pytest

from advmatrix import plugins
from advmatrix.cli import main
from advmatrix.kb import Matrix, bundled
from advmatrix.kb._ids import tactic_shortname

ROOT = Path(__file__).resolve().parents[1]
SHARED_ATLAS = ROOT.parent / "shared" / "fixtures" / "atlas"


def upstream_release(version: str) -> Path:
    path = SHARED_ATLAS / f"ATLAS-{version}.yaml"
    if not path.is_file():
        pytest.skip(f"upstream release {path.name} not available (no ../shared/fixtures/atlas)")
    return path


@pytest.fixture(scope="session")
def matrix() -> Matrix:
    return bundled()


@pytest.fixture(scope="session")
def atlas_560() -> Path:
    return upstream_release("5.6.0")


@pytest.fixture(scope="session")
def atlas_490() -> Path:
    return upstream_release("4.9.0")


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def json(self):
        import json
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """Run ``advmatrix ARGS`` in-process through the real entry point (error handling included)."""

    def run(*args: str) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32).reshape(-1, 1, 8, 8), y


@pytest.fixture(scope="session")
def cnn(digits):
    """A small CNN trained on the first 1,000 digits; the victim of the tests."""
    torch = pytest.importorskip("torch")
    X, y = digits
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(16 * 64, 10))
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    xt, yt = torch.from_numpy(X[:1000]), torch.from_numpy(y[:1000])
    for _ in range(40):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    return net.eval()


@pytest.fixture
def data(digits):
    from advmatrix.emulate import Dataset
    X, y = digits
    return Dataset(x=X[1000:], y=y[1000:], x_pool=X[1400:], x_members=X[:300], y_members=y[:300],
                   x_nonmembers=X[1000:1300], y_nonmembers=y[1000:1300])


@pytest.fixture
def white_box(cnn):
    from advmatrix.targets import TargetInfo, TorchTarget
    return TorchTarget(cnn, TargetInfo("cnn", (1, 8, 8), tuple("0123456789"), output="logits", modality="image"))


@pytest.fixture(scope="session")
def upstream(cnn):
    """The test CNN served over KServe v2 on loopback, for the whole session; yields its URL."""
    import torch

    from advmatrix.serving import ServedModel, make_app, running_server

    def predict(batch):
        with torch.no_grad():
            return torch.softmax(cnn(torch.from_numpy(batch.astype(np.float32))), 1).numpy()

    app = make_app({"digits": ServedModel(predict, (1, 8, 8), tuple("0123456789"), modality="image")})
    with running_server(app) as url:
        yield url


@pytest.fixture
def gateway(upstream, tmp_path):
    """Start a gateway in front of the model server; yields (base URL, Gateway object)."""
    from advmatrix.gateway import GatewayConfig, create_gateway
    from advmatrix.serving import running_server

    @contextlib.contextmanager
    def start(**overrides):
        cfg = GatewayConfig(**{"upstream": upstream, "db": str(tmp_path / "gw.db"), "admin_token": "s3cret",
                               **overrides})
        app = create_gateway(cfg)
        try:
            with running_server(app) as url:
                yield url, app.state.gateway
        finally:
            app.state.gateway.close()

    return start


ADMIN = {"authorization": "Bearer s3cret"}  # the admin token every `gateway` fixture starts with


def within(seconds: float, check) -> bool:
    """Whether ``check()`` holds within ``seconds`` (polled): for what a gateway does after its
    reply is out (detectors, other replicas), which a test may otherwise read too early."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def folded_sub_techniques(matrix: Matrix, layer: dict) -> list[str]:
    """The cells (``parent@tactic``) where a Navigator would open ``layer`` with an annotated
    sub-technique folded away: its parent has no entry under a tactic it is drawn under, or one with
    ``showSubtechniques`` false. Navigators that ignore ``layout.expandedSubtechniques`` (4.7.1, the
    hosted ATLAS one) unfold only on ``showSubtechniques``, so every layer we write must pass this."""
    entries = layer["techniques"]
    annotated = {t["techniqueID"] for t in entries if t.get("score") is not None or t.get("color")}
    parents = {p for tid in annotated if tid in matrix and (p := matrix.technique(tid).parent)}
    problems = []
    for parent in sorted(parents):
        own = [t for t in entries if t["techniqueID"] == parent]
        problems += [f"{parent}@{t.get('tactic', '*')}: showSubtechniques false"
                     for t in own if not t.get("showSubtechniques")]
        shown = {t.get("tactic") for t in own if t.get("showSubtechniques")}
        if None not in shown:  # an entry without a tactic stands for every tactic
            problems += [f"{parent}@{short}: no entry" for tactic in matrix.tactics_of(parent)
                         if (short := tactic_shortname(tactic.name)) not in shown]
    return problems


@pytest.fixture
def installed(monkeypatch, tmp_path):
    """Install a plugin the way pip does: a ``.dist-info`` on the path declaring an entry point."""
    count = 0

    def install(group: str, obj: type) -> None:
        nonlocal count
        count += 1
        info = tmp_path / f"site{count}" / f"advmatrix_test{count}-0.1.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: advmatrix-test{count}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[{group}]\n{obj.__name__} = {obj.__module__}:{obj.__qualname__}\n")
        monkeypatch.syspath_prepend(str(info.parent))
        plugins.clear_cache()

    yield install
    plugins.clear_cache()
