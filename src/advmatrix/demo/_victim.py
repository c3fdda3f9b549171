"""The demo's victim: a small CNN on scikit-learn's digits, trained once and cached."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._files import atomic_path, cache_dir

CACHE_NAME = "digits-cnn-v1.pt"


def DigitsCNN():  # noqa: N802 - a factory standing in for the class
    """The victim's architecture: a small CNN for 8x8 digit images (1 channel in, 10 logits out)."""
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))


@dataclass
class Victim:
    """The trained victim with the digits split it was trained on and its test accuracy."""

    module: object
    x: np.ndarray
    y: np.ndarray
    train_idx: np.ndarray
    test_idx: np.ndarray
    test_accuracy: float
    cached: bool


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    order = np.random.default_rng(42).permutation(len(x))
    return x, y, order[:1000], order[1000:]


def _fit(net, x: np.ndarray, y: np.ndarray, epochs: int) -> None:
    import torch

    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        for i in range(0, len(xt), 100):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xt[i:i + 100]), yt[i:i + 100]).backward()
            opt.step()


def train_like_victim(x: np.ndarray, y: np.ndarray, epochs: int = 30):
    """The victim's own training recipe as a training function for poisoning procedures
    (``advmatrix assess ... --train advmatrix.demo:train_like_victim``)."""
    import torch

    from ..targets import TargetInfo, TorchTarget

    torch.manual_seed(1)
    net = DigitsCNN()
    _fit(net, np.asarray(x, dtype=np.float32).reshape(-1, 1, 8, 8), np.asarray(y, dtype=np.int64), epochs)
    return TorchTarget(net.eval(), TargetInfo("digits-cnn (retrained)", (1, 8, 8), tuple("0123456789"),
                                              output="logits", modality="image"))


def load_or_train_victim(epochs: int = 60) -> Victim:
    """The demo's victim, trained on digits once and then loaded from the cache (weights only)."""
    import torch

    x, y, tr, te = _data()
    torch.manual_seed(0)
    net = DigitsCNN()
    path = cache_dir("demo", CACHE_NAME)
    cached = False
    if path.is_file():
        try:
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            cached = True
        except (RuntimeError, OSError, ValueError):
            cached = False
    if not cached:
        # Many epochs without regularisation: the model memorises somewhat, as real over-fitted
        # models do, which gives the membership procedure something to find.
        _fit(net, x[tr], y[tr], epochs)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            torch.save(net.state_dict(), tmp)
    net.eval()
    with torch.no_grad():
        acc = float((net(torch.from_numpy(x[te])).argmax(1).numpy() == y[te]).mean())
    return Victim(net, x, y, tr, te, acc, cached)
