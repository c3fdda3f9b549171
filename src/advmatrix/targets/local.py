"""Models that run in this process: PyTorch modules (white-box), scikit-learn estimators and
ONNX graphs (grey-box: they run here but give no gradients)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CapabilityError, FormatError, TargetError
from ._base import Access, Budget, OutputKind, Target, TargetInfo


class TorchTarget(Target):
    """A ``torch.nn.Module`` returning logits (or probabilities, if ``info.output`` says so)."""

    def __init__(self, module: Any, info: TargetInfo, budget: Budget | None = None, batch_size: int = 512):
        import torch

        super().__init__(info if info.access is Access.WHITE_BOX else _with(info, access=Access.WHITE_BOX), budget)
        self.module = module.eval()
        self.batch_size = batch_size
        self._torch = torch

    def _predict(self, x: np.ndarray) -> np.ndarray:
        torch = self._torch
        outs = []
        with torch.no_grad():
            for i in range(0, len(x), self.batch_size):
                outs.append(self.module(torch.from_numpy(x[i:i + self.batch_size])).float().numpy())
        return np.concatenate(outs)

    def loss_gradient(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Gradient of the cross-entropy loss with respect to the inputs (counted as queries)."""
        torch = self._torch
        x = self.check_input(x)
        self.budget.charge(len(x), self.info.name)
        xt = torch.from_numpy(x).requires_grad_(True)
        out = self.module(xt)
        loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(np.asarray(y, dtype=np.int64)), reduction="sum")
        (grad,) = torch.autograd.grad(loss, xt)
        return grad.numpy()


class SklearnTarget(Target):
    """A fitted scikit-learn estimator (grey-box: it runs here, without gradients)."""
    def __init__(self, estimator: Any, info: TargetInfo, budget: Budget | None = None):
        super().__init__(info, budget)
        self.estimator = estimator

    def _predict(self, x: np.ndarray) -> np.ndarray:
        flat = x.reshape(len(x), -1)
        if self.info.output is OutputKind.LABELS or not hasattr(self.estimator, "predict_proba"):
            return self.estimator.predict(flat)
        return self.estimator.predict_proba(flat)


class OnnxTarget(Target):
    """An ONNX graph run with onnxruntime on the CPU (grey-box)."""
    def __init__(self, path: str | Path, info: TargetInfo, budget: Budget | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise CapabilityError("ONNX targets need onnxruntime: pip install 'advmatrix[onnx]'") from None
        super().__init__(info, budget)
        try:
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise FormatError(f"{path}: not a loadable ONNX model: {exc}") from None
        self.input_name = self.session.get_inputs()[0].name

    def _predict(self, x: np.ndarray) -> np.ndarray:
        try:
            return self.session.run(None, {self.input_name: x})[0]
        except Exception as exc:
            raise TargetError(f"{self.info.name}: ONNX runtime failed: {exc}") from None


def _with(info: TargetInfo, **changes: Any) -> TargetInfo:
    from dataclasses import replace

    return replace(info, **changes)


def load_sklearn(path: str | Path) -> Any:
    """Load a scikit-learn model from .skops (safe) or joblib/pickle (a pickle: scanned first)."""
    path = Path(path)
    if path.suffix == ".skops":
        try:
            import skops.io as sio
        except ImportError:
            raise CapabilityError("loading .skops files needs skops: pip install skops") from None
        untrusted = sio.get_untrusted_types(file=path)
        if untrusted:
            # Trusting them blindly would undo the point of skops; the user must decide.
            raise TargetError(f"{path}: contains types skops does not trust by default "
                              f"({', '.join(untrusted[:5])}); review them and load the model yourself")
        return sio.load(path)
    _refuse_unsafe(path)
    warnings.warn(f"{path}: joblib files are pickles and run code on load; prefer .skops", stacklevel=2)
    import joblib

    return joblib.load(path)


def load_torch(path: str | Path) -> Any:
    """Load a TorchScript archive, or a whole pickled module after the scanner clears it."""
    import torch

    path = Path(path)
    try:
        return torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError):
        pass
    _refuse_unsafe(path)
    return torch.load(path, map_location="cpu", weights_only=False)


def _refuse_unsafe(path: Path) -> None:
    """Never unpickle an artifact our own scanner would flag."""
    from ..scan import Severity, scan_path

    report = scan_path(path)
    bad = report.at_or_above(Severity.HIGH)
    if bad:
        raise TargetError(f"{path}: refusing to load: {bad[0].message} (run 'advmatrix scan {path}')")
