"""Models that run in this process: PyTorch modules (white-box), scikit-learn estimators and
ONNX graphs (grey-box: they run here but give no gradients)."""

from __future__ import annotations

import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CapabilityError, FormatError, TargetError, UsageError
from ._base import Access, Budget, OutputKind, Target, TargetInfo


class TorchTarget(Target):
    """A ``torch.nn.Module`` returning logits (or probabilities, if ``info.output`` says so).

    It runs on the device the module lives on (CPU, CUDA or MPS); ``device`` moves the module
    first (``"auto"``: the best device present). Inputs go there once per batch and outputs come
    back as NumPy.
    """

    def __init__(self, module: Any, info: TargetInfo, budget: Budget | None = None, batch_size: int = 512,
                 device: str | None = None):
        import torch

        super().__init__(info if info.access is Access.WHITE_BOX else _with(info, access=Access.WHITE_BOX), budget)
        chosen = pick_device(module, device)
        if device is not None and module_device(module) != chosen:
            module = module.to(chosen)
        self.module = module.eval()
        self.batch_size = batch_size
        self._torch = torch

    @property
    def device(self) -> str:
        """Where the module computes now (read from its weights, so a module moved later is followed)."""
        return module_device(self.module)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        torch = self._torch
        device = self.device
        outs = []
        with torch.no_grad():
            for i in range(0, len(x), self.batch_size):
                out = self.module(torch.from_numpy(x[i:i + self.batch_size]).to(device))
                outs.append(out.float())
        return torch.cat(outs).cpu().numpy()

    def loss_gradient(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Gradient of the cross-entropy loss with respect to the inputs (counted as queries)."""
        torch = self._torch
        x = self.check_input(x)
        self.budget.charge(len(x), self.info.name)
        device = self.device
        xt = torch.from_numpy(x).to(device).requires_grad_(True)
        yt = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(device)
        loss = torch.nn.functional.cross_entropy(self.module(xt).float(), yt, reduction="sum")
        (grad,) = torch.autograd.grad(loss, xt)
        return grad.cpu().numpy()


# -- devices --------------------------------------------------------------------------------------

#: what ``--device`` and a target YAML's ``device`` accept
DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps"
_DEVICE = re.compile(r"^(cpu|mps|cuda)(?::(\d+))?$")


def module_device(module: Any) -> str:
    """The device a module's weights live on (``"cpu"`` for a module without any)."""
    for tensors in (module.parameters(), module.buffers()):
        for t in tensors:
            # torch names the first GPU "cuda" or "cuda:0" depending on how it was asked for
            return "cuda:0" if str(t.device) == "cuda" else str(t.device)
    return "cpu"


def _mps_available(torch: Any) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(module: Any, requested: str | None = None) -> str:
    """The device to run ``module`` on: ``"cpu"``, ``"cuda:N"`` or ``"mps"``.

    ``None`` keeps the module where it is; ``"auto"`` takes the best device present (CUDA, then
    MPS, then the CPU); anything else names a device, which must exist here, or the answer is a
    one-line :class:`~advmatrix.errors.UsageError`.
    """
    import torch

    if requested is None:
        return module_device(module)
    text = str(requested).strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return "cuda:0"
        return "mps" if _mps_available(torch) else "cpu"
    m = _DEVICE.match(text)
    if not m:
        raise UsageError(f"device {requested!r}: expected {DEVICE_HELP}")
    kind, index = m.group(1), m.group(2)
    if kind == "cpu":
        return "cpu"
    if kind == "mps":
        if not _mps_available(torch):
            raise UsageError(f"device {requested!r}: Apple MPS is not available on this machine (try auto or cpu)")
        return "mps"
    if not torch.cuda.is_available():
        raise UsageError(f"device {requested!r}: no CUDA GPU is available to PyTorch here (try auto or cpu)")
    n, i = torch.cuda.device_count(), int(index or 0)
    if i >= n:
        raise UsageError(f"device {requested!r}: this machine has {n} CUDA device{'s' if n != 1 else ''}")
    return f"cuda:{i}"


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


def load_torch(path: str | Path, model_class: str | None = None, model_args: dict[str, Any] | None = None) -> Any:
    """A PyTorch module from a file, however it was saved.

    With ``model_class`` (``package.module:Class`` or ``path/to/file.py:Class``) the file holds
    weights: a state dict (``torch.save(model.state_dict())``, read with ``weights_only=True``)
    or safetensors; the class is built with ``model_args`` and the weights loaded strictly.
    Without it: TorchScript, or a whole pickled module once the scanner clears it. Anything else
    is a one-line :class:`~advmatrix.errors.FormatError` saying what the file holds.
    """
    import torch

    path = Path(path)
    if model_class:
        return _build(path, model_class, model_args or {}, _weights(path))
    if _is_safetensors(path):
        raise FormatError(f"{path.name} holds safetensors weights: give model_class: package.module:Class "
                          "(and model_args) in the target YAML")
    try:
        return torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError):
        pass
    try:  # the restricted unpickler runs no code: it tells a state dict from a pickled module safely
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        state = None  # it needs classes the restricted unpickler refuses: a pickled module, or worse
    if isinstance(state, Mapping):
        raise FormatError(f"{path.name} is a state dict: give model_class: package.module:Class (and model_args) "
                          "in the target YAML")
    if state is not None:
        raise FormatError(f"{path.name} holds a {type(state).__name__}, not a model")
    _refuse_unsafe(path)
    return torch.load(path, map_location="cpu", weights_only=False)


#: keys under which training scripts commonly nest the weights in a checkpoint
_CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model")


def _is_safetensors(path: Path) -> bool:
    if path.suffix == ".safetensors":
        return True
    # a safetensors file is an 8-byte little-endian header length, then a JSON header
    with path.open("rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < path.stat().st_size


def _weights(path: Path) -> Mapping[str, Any]:
    """The tensors of a state-dict or safetensors file, read without running any code."""
    import torch

    if _is_safetensors(path):
        require_safetensors = "reading safetensors weights needs safetensors: pip install safetensors"
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise CapabilityError(require_safetensors) from None
        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:  # safetensors raises its own untyped errors
            raise FormatError(f"{path.name}: not a readable safetensors file: {exc}") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise FormatError(f"{path.name} is not a state dict (it holds objects beyond tensors; save "
                          "model.state_dict(), or drop model_class for a whole pickled module)") from None
    except RuntimeError as exc:
        raise FormatError(f"{path.name} is not a state dict ({str(exc).splitlines()[0][:160]}); TorchScript "
                          "files need no model_class") from None
    if isinstance(state, Mapping) and not _all_tensors(state):
        nested = [k for k in _CHECKPOINT_KEYS if isinstance(state.get(k), Mapping) and _all_tensors(state[k])]
        if nested:
            return state[nested[0]]
    if not isinstance(state, Mapping) or not _all_tensors(state):
        raise FormatError(f"{path.name} holds a {type(state).__name__} that is not a state dict of tensors")
    return state


def _all_tensors(state: Mapping[str, Any]) -> bool:
    import torch

    return bool(state) and all(isinstance(v, torch.Tensor) for v in state.values())


def import_class(spec: str) -> Any:
    """The class ``package.module:Class`` (or ``path/to/file.py:Class``) names; a missing module or
    class is a one-line :class:`~advmatrix.errors.UsageError`."""
    import importlib
    import importlib.util

    module_name, colon, attr = spec.rpartition(":")
    if not colon or not module_name or not attr:
        raise UsageError(f"model_class {spec!r}: expected package.module:Class")
    if module_name.endswith(".py"):
        file = Path(module_name)
        if not file.is_file():
            raise UsageError(f"model_class {spec!r}: no such file {file}")
        loader = importlib.util.spec_from_file_location(f"_advmatrix_model_{file.stem}", file)
        module = importlib.util.module_from_spec(loader)  # type: ignore[arg-type]
        try:
            loader.loader.exec_module(module)  # type: ignore[union-attr]
        except Exception as exc:  # the user's own code: any failure is theirs to see in one line
            raise UsageError(f"model_class {spec!r}: {file} failed on import: {_why(exc)}") from None
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise UsageError(f"model_class {spec!r}: no module named {exc.name!r} (is it installed or on "
                             "PYTHONPATH?)") from None
        except Exception as exc:  # the user's own code again
            raise UsageError(f"model_class {spec!r}: {module_name} failed on import: {_why(exc)}") from None
    cls = getattr(module, attr, None)
    if cls is None:
        raise UsageError(f"model_class {spec!r}: module {module_name!r} has no {attr!r}")
    return cls


def _why(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def _build(path: Path, model_class: str, model_args: dict[str, Any], state: Mapping[str, Any]) -> Any:
    cls = import_class(model_class)
    try:
        module = cls(**model_args)
    except Exception as exc:  # the user's constructor: its failure is a bad description, in one line
        raise UsageError(f"model_class {model_class!r}: {cls.__name__}(**model_args) failed: {_why(exc)}") from None
    if not hasattr(module, "load_state_dict"):
        raise UsageError(f"model_class {model_class!r}: {type(module).__name__} is not a torch.nn.Module")
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    resized = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
               if k in state and tuple(state[k].shape) != tuple(v.shape)]
    problems = [f"{what} {_few(keys)}" for what, keys in
                (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatch", resized)) if keys]
    if problems:
        raise FormatError(f"{path.name} does not fit {cls.__name__}: {'; '.join(problems)} "
                          "(wrong model_class or model_args?)")
    module.load_state_dict(state, strict=True)
    return module


def _few(keys: list[str], n: int = 3) -> str:
    shown = ", ".join(keys[:n])
    return f"{shown} (+{len(keys) - n} more)" if len(keys) > n else shown


def _refuse_unsafe(path: Path) -> None:
    """Never unpickle an artifact our own scanner would flag."""
    from ..scan import Severity, scan_path

    report = scan_path(path)
    bad = report.at_or_above(Severity.HIGH)
    if bad:
        raise TargetError(f"{path}: refusing to load: {bad[0].message} (run 'advmatrix scan {path}')")
