"""A target around any Python callable, for tests and for users (like httpx's MockTransport)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._base import Budget, Target, TargetInfo


class MockTarget(Target):
    """A target around any callable ``batch -> outputs``, for tests and scripts."""
    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], info: TargetInfo, budget: Budget | None = None):
        super().__init__(info, budget)
        self.fn = fn

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return self.fn(x)
