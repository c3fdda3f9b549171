"""A shared index of recent queries that finds an earlier near-duplicate of a new one, whoever
sent it: the cross-client memory Blacklight proposes against account rotation.

Inputs are projected to a few dimensions, centred and scaled to unit length, so a brightness or
contrast change leaves a query where it was and light per-query noise moves it little (the
window hashes of ``similarity-search`` change under both). Candidates come from locality
sensitive hashing (random hyperplanes, several tables) and are confirmed by their cosine.

Everything lives in preallocated NumPy arrays: memory is fixed at construction (about
``size * dims * 4`` bytes plus the bucket table) and holds no Python objects, so however many
clients it serves it adds nothing for the garbage collector to walk.
"""

from __future__ import annotations

import numpy as np


class NearIndex:
    """The last ``size`` queries, searchable for the nearest by cosine in flat time.

    Each entry carries three numbers that the caller gives when adding it: a chain (the entry
    its chain started from; a chain's first entry passes its own ID, ``self.next``), and the
    entry's own label and log-margin.
    """

    # 12 tables of 12 bits: a pair at cosine 0.93 shares a bucket in at least one table 95 % of
    # the time (0.88^12 per table), and a bucket holds `slots` of the 4,096 per table
    def __init__(self, features: int, dims: int = 64, tables: int = 12, bits: int = 12, size: int = 1 << 16,
                 slots: int = 4, seed: int = 0):
        rng = np.random.default_rng(seed)
        # a random projection keeps cosines roughly (Johnson-Lindenstrauss) and bounds the cost
        # per query whatever the input size; small inputs are used as they are
        self.project = None if features <= dims else (rng.normal(size=(features, dims)) / np.sqrt(dims)).astype(
            np.float32)
        self.dims = min(features, dims)
        self.features = features
        self.tables, self.bits, self.slots, self.size = tables, bits, slots, size
        self.planes = rng.normal(size=(self.dims, tables * bits)).astype(np.float32)
        self.powers = (1 << np.arange(bits, dtype=np.int64))
        self.buckets = np.full((tables, 1 << bits, slots), -1, dtype=np.int64)
        self.fill = np.zeros((tables, 1 << bits), dtype=np.uint8)
        self.vectors = np.zeros((size, self.dims), dtype=np.float32)
        self.ids = np.full(size, -1, dtype=np.int64)  # which entry a ring slot holds now
        self.chain = np.zeros(size, dtype=np.int64)
        self.label = np.zeros(size, dtype=np.int16)
        self.margin = np.zeros(size, dtype=np.float32)
        self.links = np.zeros(size, dtype=np.uint16)  # later queries that found this entry nearest
        self.next = 0

    def embed(self, x: np.ndarray) -> np.ndarray:
        """Inputs ``(n, ...)`` as centred unit vectors ``(n, dims)``; constant inputs map to zero."""
        flat = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
        # sum / n and sqrt(sum of squares): the values np.mean and np.linalg.norm give, without
        # their Python wrappers, which cost more than the arithmetic on one query
        if self.project is not None:
            flat = flat - flat.sum(axis=1, keepdims=True) / flat.shape[1]
            flat = flat @ self.project
        flat = flat - flat.sum(axis=1, keepdims=True) / flat.shape[1]
        norm = np.sqrt((flat * flat).sum(axis=1, keepdims=True))
        return np.divide(flat, norm, out=np.zeros_like(flat), where=norm > 1e-6)

    def codes(self, z: np.ndarray) -> np.ndarray:
        """The bucket of ``z`` in each table."""
        signs = (z @ self.planes > 0).reshape(self.tables, self.bits)
        return signs @ self.powers

    def nearest(self, z: np.ndarray, codes: np.ndarray, also: np.ndarray | None = None) -> tuple[int, float]:
        """The entry most similar to ``z`` among its buckets' and ``also`` (entry IDs the caller
        knows are relevant: the same client's latest), as (ID, cosine); (-1, 0.0) if none."""
        found = self.buckets[np.arange(self.tables), codes].reshape(-1)
        if also is not None:
            found = np.concatenate([found, also])
        found = found[found >= 0]
        if not len(found):
            return -1, 0.0
        found = found[self.ids[found % self.size] == found]
        if not len(found):
            return -1, 0.0
        cos = self.vectors[found % self.size] @ z
        best = int(np.argmax(cos))
        return int(found[best]), float(cos[best])

    def add(self, z: np.ndarray, codes: np.ndarray, chain: int, label: int, margin: float) -> int:
        """Store ``z`` with its chain, label and log-margin; its entry ID."""
        entry = self.next
        slot = entry % self.size
        self.vectors[slot] = z
        self.ids[slot] = entry
        self.chain[slot], self.label[slot], self.margin[slot] = chain, label, margin
        self.links[slot] = 0
        rows = np.arange(self.tables)
        fill = self.fill[rows, codes]
        self.buckets[rows, codes, fill % self.slots] = entry
        self.fill[rows, codes] = (fill + 1) % self.slots
        self.next += 1
        return entry

    def entry(self, entry: int) -> tuple[int, int, float]:
        """An entry's chain, label and log-margin."""
        slot = entry % self.size
        return int(self.chain[slot]), int(self.label[slot]), float(self.margin[slot])

    def link(self, entry: int) -> int:
        """Count one more query that found ``entry`` nearest; how many have, this one included."""
        slot = entry % self.size
        if self.links[slot] < 65535:
            self.links[slot] += 1
        return int(self.links[slot])

    def cosine(self, entry: int, z: np.ndarray) -> float | None:
        """The cosine between ``z`` and an entry still held; None once it has been overwritten."""
        slot = entry % self.size
        return float(self.vectors[slot] @ z) if self.ids[slot] == entry else None

    def nbytes(self) -> int:
        """Memory held, in bytes (fixed at construction)."""
        arrays = (self.buckets, self.fill, self.vectors, self.ids, self.chain, self.label, self.margin, self.links,
                  self.planes)
        return sum(a.nbytes for a in arrays) + (0 if self.project is None else self.project.nbytes)
