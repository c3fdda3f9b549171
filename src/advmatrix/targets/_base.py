"""The one seam every model sits behind: ``predict(batch)`` plus ``info``, counted and budgeted.

Outputs are normalised here so that procedures always receive class probabilities (or labels
from label-only APIs): a logits model would otherwise make every probability-based attack fail
silently.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from ..errors import (
    BudgetExhausted,
    CapabilityError,
    TargetInputError,
    TargetResponseError,
)


class Access(str, Enum):
    """What a red team can do with a target: gradients, local runs, or queries only."""
    WHITE_BOX = "white-box"  # gradients available
    GREY_BOX = "grey-box"    # the model runs locally, but without gradients
    BLACK_BOX = "black-box"  # queries only


class OutputKind(str, Enum):
    """What a target returns per input."""
    PROBABILITIES = "probabilities"
    LOGITS = "logits"
    LABELS = "labels"
    TOP_K = "top-k"


@dataclass(frozen=True)
class TargetInfo:
    name: str
    input_shape: tuple[int, ...]          # one sample, without the batch dimension
    classes: tuple[str, ...]
    output: OutputKind = OutputKind.PROBABILITIES
    access: Access = Access.BLACK_BOX
    modality: str = "tabular"             # "image", "tabular", "text"
    input_range: tuple[float, float] = (0.0, 1.0)
    dtype: str = "float32"

    def __post_init__(self) -> None:
        # Accept plain strings ("logits", "white-box") as users write them.
        object.__setattr__(self, "output", OutputKind(self.output))
        object.__setattr__(self, "access", Access(self.access))
        object.__setattr__(self, "input_shape", tuple(int(d) for d in self.input_shape))
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def as_dict(self) -> dict:
        return {"name": self.name, "input_shape": list(self.input_shape), "classes": list(self.classes),
                "output": self.output.value, "access": self.access.value, "modality": self.modality,
                "input_range": list(self.input_range), "dtype": self.dtype}


@dataclass
class Budget:
    """Queries allowed (None = unlimited) and spent. One sample is one query."""

    limit: int | None = None
    used: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 0:
            raise ValueError("a query budget cannot be negative")

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    def charge(self, n: int, target: str) -> None:
        with self._lock:
            if self.limit is not None and self.used + n > self.limit:
                raise BudgetExhausted(f"{target}: query budget of {self.limit} exhausted "
                                      f"({self.used} spent, {n} more requested)")
            self.used += n


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits (n, classes), computed stably."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class Target:
    """Base of every target. Subclasses implement ``_predict(batch) -> raw outputs``."""

    info: TargetInfo

    def __init__(self, info: TargetInfo, budget: Budget | None = None):
        self.info = info
        self.budget = budget or Budget()

    # -- the seam ------------------------------------------------------------------------------
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities of shape (n, classes), or int labels (n,) for label-only targets."""
        x = self.check_input(x)
        self.budget.charge(len(x), self.info.name)
        raw = self._predict(x)
        return self._normalise(raw, len(x))

    def predict_labels(self, x: np.ndarray) -> np.ndarray:
        out = self.predict(x)
        return out if out.ndim == 1 else out.argmax(axis=1)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        if self.info.output is OutputKind.LABELS:
            raise CapabilityError(f"{self.info.name}: returns labels only; this needs class probabilities")
        return self.predict(x)

    @property
    def queries(self) -> int:
        return self.budget.used

    def charge(self, n: int) -> None:
        """Count ``n`` queries made outside ``predict`` (white-box gradient steps)."""
        self.budget.charge(n, self.info.name)

    def with_budget(self, budget: Budget) -> Target:
        """The same target charging another budget (each procedure of a run gets its own)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.budget = budget
        return clone

    def close(self) -> None:
        """Release connections or sessions; targets are also context managers."""

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- for subclasses ------------------------------------------------------------------------
    def _predict(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_input(self, x: np.ndarray) -> np.ndarray:
        try:
            x = np.asarray(x, dtype=self.info.dtype)
        except (TypeError, ValueError) as exc:
            raise TargetInputError(f"{self.info.name}: inputs are not numeric: {exc}") from None
        if x.shape[1:] != self.info.input_shape:
            if x.ndim == len(self.info.input_shape) and x.shape == self.info.input_shape:
                x = x[None]
            else:
                raise TargetInputError(f"{self.info.name}: inputs have shape {tuple(x.shape[1:])} per sample, "
                                       f"expected {self.info.input_shape}")
        if len(x) == 0:
            raise TargetInputError(f"{self.info.name}: empty batch")
        if not np.isfinite(x).all():
            raise TargetInputError(f"{self.info.name}: inputs contain NaN or infinity")
        return x

    def _normalise(self, raw: np.ndarray, n: int) -> np.ndarray:
        name, k = self.info.name, self.info.n_classes
        try:
            out = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise TargetResponseError(f"{name}: outputs are not numeric") from None
        if self.info.output is OutputKind.LABELS:
            out = out.reshape(-1)
            if out.shape != (n,):
                raise TargetResponseError(f"{name}: {out.shape[0]} labels for {n} inputs")
            if not np.isfinite(out).all() or (out < 0).any() or (out >= k).any() or (out % 1).any():
                raise TargetResponseError(f"{name}: labels outside 0..{k - 1}")
            return out.astype(np.int64)
        if out.ndim == 1 and k == 2 and out.shape == (n,):
            out = np.stack([1 - out, out], axis=1)  # binary scorers return P(class 1)
        if out.shape != (n, k):
            raise TargetResponseError(f"{name}: outputs have shape {tuple(out.shape)}, expected ({n}, {k})")
        if not np.isfinite(out).all():
            raise TargetResponseError(f"{name}: outputs contain NaN or infinity")
        if self.info.output is OutputKind.LOGITS:
            return softmax(out)
        if self.info.output is OutputKind.TOP_K:
            return out  # zeros outside the k returned classes, by construction of the adapter
        if (out < -1e-6).any() or np.abs(out.sum(axis=1) - 1).max() > 1e-3:
            raise TargetResponseError(f"{name}: declared probabilities do not sum to 1; "
                                      "declare output 'logits' if the model returns scores")
        return np.clip(out, 0.0, 1.0)


__all__ = ["Access", "Budget", "OutputKind", "Target", "TargetInfo", "replace", "softmax"]
