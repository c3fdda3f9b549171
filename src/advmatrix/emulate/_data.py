"""The red team's data for an assessment: built-in digits, or arrays from an .npz file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._extras import require
from ..errors import FormatError, UsageError
from ..targets import TargetInfo
from ._base import Dataset

_FIELDS = ("x", "y", "x_pool", "x_members", "y_members", "x_nonmembers", "y_nonmembers")


def _fit(a: np.ndarray | None, info: TargetInfo, name: str) -> np.ndarray | None:
    if a is None:
        return None
    per = int(np.prod(info.input_shape))
    if a.size % per or a.reshape(len(a), -1).shape[1] != per:
        raise UsageError(f"data '{name}' has {a.reshape(len(a), -1).shape[1]} values per sample; "
                         f"{info.name} takes {per} ({info.input_shape})")
    return a.reshape(len(a), *info.input_shape).astype(info.dtype)


def load_dataset(spec: str, info: TargetInfo) -> Dataset:
    """``digits`` (scikit-learn's 8x8 digits scaled to the target's input range) or an .npz with
    arrays named x, y and optionally x_pool, x_members, y_members, x_nonmembers, y_nonmembers."""
    if spec == "digits":
        require("sklearn", feature="the built-in digits data (--data digits)")
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        lo, hi = info.input_range
        x = lo + (x / 16.0) * (hi - lo)
        order = np.random.default_rng(0).permutation(len(x))
        x, y = x[order], y[order]
        half = len(x) // 2
        return Dataset(x=_fit(x[:half], info, "x"), y=y[:half], x_pool=_fit(x[half:], info, "x_pool"))
    path = Path(spec)
    try:
        arrays = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FormatError(f"{path}: no such file") from None
    except (OSError, ValueError):
        # numpy's own message advises loading the file unsafely: never the advice to give
        raise FormatError(f"{path}: not an .npz of arrays (write one with np.savez(path, x=..., y=...))") from None
    if not hasattr(arrays, "files"):
        raise FormatError(f"{path}: a single array; --data needs an .npz with arrays named 'x' and 'y'")
    if "x" not in arrays or "y" not in arrays:
        raise FormatError(f"{path}: needs arrays named 'x' and 'y'")
    values = {k: (arrays[k] if k in arrays else None) for k in _FIELDS}
    for k in ("x", "x_pool", "x_members", "x_nonmembers"):
        values[k] = _fit(values[k], info, k)
    return Dataset(**values)


def load_callable(spec: str):
    """``package.module:function``: the user's own training code, imported as given."""
    import importlib

    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise UsageError(f"--train '{spec}': expected module:function")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"--train '{spec}': {exc}") from None
    if not callable(fn):
        raise UsageError(f"--train '{spec}': not callable")
    return fn
