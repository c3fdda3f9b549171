"""The coarse grid structured-search reads queries on: per cell a hash of its bytes and the sum
of its values, bands of cells looked up bit for bit, the low-frequency cosines a frequency-space
search steps along, and the values kept at fixed positions."""

from __future__ import annotations

import numpy as np


def spatial_axes(shape: tuple[int, ...]) -> tuple[int, int] | None:
    """The two spatial axes of one input of ``shape``: an image with no channel axis, channels
    first (at most 4 of them) or channels last; None for anything else (a vector, a table row)."""
    if len(shape) == 2:
        return 0, 1
    if len(shape) == 3:
        return (1, 2) if shape[0] <= 4 else (0, 1)
    return None


class Grid:
    """How a query's values fall into cells: summaries and the comparison of two of them."""

    def __init__(self, shape: tuple[int, ...], grid: int, bands: int, corner_values: int, rng: np.random.Generator):
        axes = spatial_axes(shape)
        if axes is None:  # a vector (or anything else, flattened)
            h, w = 1, int(np.prod(shape))
        else:
            h, w = shape[axes[0]], shape[axes[1]]
        self.gh, self.gw = min(h, grid), min(w, grid)
        rows = (np.arange(h) * self.gh) // h
        cols = (np.arange(w) * self.gw) // w
        cell2d = rows[:, None] * self.gw + cols[None, :]
        if axes is None:
            cell = cell2d.reshape(-1)
        else:
            cell = np.broadcast_to(np.expand_dims(cell2d, [a for a in range(len(shape)) if a not in axes]),
                                   shape).reshape(-1)
        self.order = np.argsort(cell, kind="stable")
        self.starts = np.searchsorted(cell[self.order], np.arange(self.gh * self.gw))
        self.cells = self.gh * self.gw
        self.weights = (rng.integers(0, 1 << 31, size=cell.size, dtype=np.uint32) * 2 + 1).astype(np.uint32)
        self.ordered_weights = self.weights[self.order]
        self.rc = np.stack(np.divmod(np.arange(self.cells), self.gw), axis=1)  # (row, col) of each cell
        # bands: disjoint random subsets of the cells, each looked up bit for bit
        count = min(bands, self.cells, 63)
        self.band_of = rng.permutation(self.cells)[:count * (self.cells // count)].reshape(count, -1)
        self.band_salt = rng.integers(1, 1 << 62, size=self.band_of.shape, dtype=np.int64).astype(np.uint64)
        self.band_ids = np.arange(1, count + 1, dtype=np.int64)
        # the low-frequency 2-D cosines (at most 8 x 8 of them, the constant left out): the
        # directions a frequency-space search (SimBA-DCT) steps along
        fh, fw = _dct(self.gh)[:8], _dct(self.gw)[:8]
        self.basis = np.einsum("ui,vj->uvij", fh, fw).reshape(len(fh) * len(fw), self.cells)[1:]
        self.basis_sq = self.basis ** 2
        # the positions whose values are kept: enough to read a corner step off, at a fixed cost
        self.sample = np.sort(rng.permutation(cell.size)[:corner_values])
        self.sample_rc = self.rc[cell[self.sample]]  # the cell (row, col) of each kept value
        # per kept value, a one-hot of its vertical line (its channel and column, any row): the
        # lines an L-inf search's striped start (Square's) pushes one way each
        self.lines: np.ndarray | None = None
        self.shared_lines = np.zeros((len(self.sample), 0), np.float32)  # a vector has no lines
        if axes is not None:
            at = np.unravel_index(self.sample, shape)
            line = np.ravel_multi_index([a for i, a in enumerate(at) if i != axes[0]],
                                        [n for i, n in enumerate(shape) if i != axes[0]])
            inverse = np.unique(line, return_inverse=True)[1]
            self.lines = np.eye(inverse.max() + 1)[inverse]
            # the lines holding two kept values or more (one value goes one way whatever moved it)
            self.shared_lines = self.lines[:, self.lines.sum(axis=0) >= 2].astype(np.float32)

    def summary(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per cell: a hash of the raw float32 bytes (uint32) and the sum of the values."""
        flat = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)[self.order]
        # integer arrays wrap without a warning (no errstate needed: it costs more than the product)
        mixed = flat.view(np.uint32) * self.ordered_weights
        return (np.add.reduceat(mixed, self.starts, dtype=np.uint32),
                np.add.reduceat(flat, self.starts, dtype=np.float64).astype(np.float32))

    def extent(self, marked: np.ndarray, rc: np.ndarray) -> np.ndarray:
        """Per row of ``marked`` (over places at cells ``rc``), the larger share of either axis of
        the grid that the marked places' bounding box spans. A window leaves part of the input
        untouched along every axis (an axis of one cell aside); a brightness change of a centred
        object spans it from edge to edge."""
        big = self.gh + self.gw
        spans = []
        for axis, size in ((0, self.gh), (1, self.gw)):
            if size > 1:
                at = rc[:, axis]
                spans.append((np.where(marked, at, -1).max(1) - np.where(marked, at, big).min(1) + 1) / size)
        return np.maximum.reduce(spans) if spans else np.zeros(len(marked))

    def band_keys(self, hashes: np.ndarray) -> list[int]:
        """One key per band whose cells are not all alike (a blank band would match everything)."""
        h = hashes[self.band_of]
        mix = (h.astype(np.uint64) * self.band_salt).sum(axis=1, dtype=np.uint64) >> np.uint64(7)  # wraps
        # 57 bits of the mix, then the band: the key fits an int64 and is never 0
        keys = mix.astype(np.int64) * 64 + self.band_ids
        varied = (h != h[:, :1]).any(axis=1) if h.shape[1] > 1 else np.ones(len(h), bool)
        return keys[varied].tolist()


def _dct(n: int) -> np.ndarray:
    """The orthonormal DCT-II matrix of size n (rows: basis vectors, row 0 the constant)."""
    k = np.arange(n)[:, None]
    m = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2 / n)
    m[0] /= np.sqrt(2)
    return m
