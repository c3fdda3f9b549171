"""Fitting a brightness/contrast re-mapping ``a * x + b``: what structured-search and ood ask of
an input before they call a change structured, a re-send, or out of distribution."""

from __future__ import annotations

import numpy as np


def fit_affine(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, flat: float = 1.0,
               gain: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per row (the last axis; the arrays broadcast), the ``a`` and ``b`` that minimise
    ``sum(w * (a * x + b - y) ** 2)``. ``a`` is ``flat`` where ``x`` does not vary over the
    weighted values, and kept within ``gain`` if given (``b`` then fitted for that ``a``)."""
    wx = w * x
    sw, sx, sy = np.sum(w, axis=-1), wx.sum(axis=-1), np.sum(w * y, axis=-1)
    sxx, sxy = (wx * x).sum(axis=-1), (wx * y).sum(axis=-1)
    det = sw * sxx - sx * sx
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(det > 1e-12, (sw * sxy - sx * sy) / det, flat)
    if gain is not None:
        a = np.clip(a, *gain)
    return a, (sy - a * sx) / np.maximum(sw, 1e-12)
