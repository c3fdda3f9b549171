"""Model extraction (AML.T0024.002): two detectors, one per kind of extraction query.

PRADA (Juuti et al., 2019) catches synthetic queries. For each client, the minimum L2 distance
from each new query to that client's earlier queries of the same predicted class forms a
distribution; natural queries give distances that look normally distributed, while synthetic
queries crafted to map decision boundaries do not. A Shapiro-Wilk statistic below `delta`
raises an alert. Work per query is bounded by keeping at most `keep` earlier queries per class.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from pydantic import Field

from .._extras import require
from ..errors import UsageError
from ..plugins import Context
from ._base import NUMERIC, Alert, ClientStates, Detector, DetectorParams, QueryEvent


class PradaParams(DetectorParams):
    # Calibrated on digits: no alert in 200 benign sessions (natural and lightly augmented
    # queries) with these values; synthetic queries around a few seeds fall to W ~0.2-0.5 and
    # are caught after a median of 60 queries.
    delta: float = Field(0.8, gt=0, lt=1, description="Shapiro-Wilk W below this is suspicious")
    min_queries: int = Field(50, ge=10, description="distances needed before testing")
    keep: int = Field(500, ge=10, description="earlier queries kept per class")
    window: int = Field(300, ge=20, description="most recent distances tested")
    every: int = Field(10, ge=1, description="test every N queries (cost control)")
    repeat: float = Field(0.07, ge=0, lt=1, description="a query this close to an earlier one (distance over "
                          "its own norm) is a repeat, not a probe: left out of the test")
    same_shape: float = Field(0.995, gt=0, le=1, description="so is one whose centred cosine to it is this high "
                              "(the same input, brighter, with more contrast, or a frame later)")
    max_repeats: float = Field(0.3, ge=0, le=1, description="a client more than this share of whose queries are "
                               "repeats is a stream or a retrier, not an extractor: not tested")


class _Ring:
    """The last `size` queries of one class in an array: distances to all of them are one
    vectorised operation, and memory stays bounded however long the client talks. The array
    starts small and doubles up to `size`: most clients send a handful of queries, and a full
    ring per class per client (500 x 64 floats = 128 kB) times 10,000 clients would be
    gigabytes."""

    __slots__ = ("data", "last", "n", "next", "size")

    def __init__(self, size: int, dim: int):
        self.data = np.empty((min(8, size), dim), dtype=np.float32)
        self.size = size
        self.last = 0
        self.n = 0
        self.next = 0

    def nearest(self, x: np.ndarray) -> float | None:
        if self.n == 0:
            return None
        diff = self.data[: self.n] - x
        dist = np.einsum("ij,ij->i", diff, diff)
        self.last = int(dist.argmin())
        return float(np.sqrt(dist[self.last]))

    def same_shape(self, x: np.ndarray) -> float:
        """Cosine between ``x`` and its nearest query after both are centred: 1.0 for a copy
        whose brightness or contrast alone changed (call after :meth:`nearest`)."""
        a = self.data[self.last]
        a = a - a.sum() / a.size  # np.mean's value, without its wrapper's cost
        b = x - x.sum() / x.size
        norms = float(np.sqrt((a @ a) * (b @ b)))
        return float(a @ b) / norms if norms > 1e-12 else 1.0

    def add(self, x: np.ndarray) -> None:
        if self.n == len(self.data) < self.size:  # still filling: grow instead of wrapping
            grown = np.empty((min(2 * len(self.data), self.size), self.data.shape[1]), dtype=np.float32)
            grown[: self.n] = self.data
            self.data = grown
            self.next = self.n  # the wrap-around to 0 on filling the smaller array is undone
        self.data[self.next] = x
        self.next = (self.next + 1) % len(self.data)
        self.n = min(self.n + 1, len(self.data))


class _State:
    __slots__ = ("alerted", "distances", "growing", "repeats", "seen")

    def __init__(self) -> None:
        self.growing: dict[int, _Ring] = {}
        self.distances: deque[float] = deque()
        self.seen = 0
        self.repeats = 0  # queries left out as repeats of an earlier one
        self.alerted = False


class Prada(Detector):
    """Alerts when the distribution of a client's minimum inter-query distances stops looking
    normal (Shapiro-Wilk W < delta). False-positive budget: <= 1% of benign sessions."""

    name = "prada"
    modalities = NUMERIC  # it compares input values
    response = {"action": "throttle", "rate": 1.0, "duration_s": 3600}
    title = "Model extraction (PRADA distance test)"
    technique_ids = ("AML.T0024.002", "AML.T0005.001", "AML.T0040")
    Params = PradaParams

    extras = ("detect",)

    def setup(self, context: Context) -> None:
        require(*self.extras, feature="detector prada")
        # imported here, not on the first query: scipy.stats takes ~1-2 s to import, which would
        # otherwise land on some client's request
        from scipy.stats import shapiro

        self._shapiro = shapiro
        self.clients: ClientStates[_State] = self.clients_state(_State)

    def observe(self, event: QueryEvent) -> list[Alert]:
        if event.inputs is None:
            return []
        p = self.params
        state = self.clients.get(event.client)
        labels = event.outputs.argmax(axis=1) if event.outputs is not None and event.outputs.ndim == 2 \
            else np.zeros(event.n, dtype=int)
        alerts: list[Alert] = []
        flat = event.inputs.reshape(event.n, -1).astype(np.float32)
        for x, c in zip(flat, labels, strict=True):
            ring = state.growing.get(int(c))
            if ring is None:
                ring = state.growing[int(c)] = _Ring(p.keep, len(x))
            d = ring.nearest(x)
            # retries, video frames and a user tuning brightness re-send what is nearly the same
            # input: their tiny distances are not the synthetic probes PRADA looks for (and made
            # such benign sessions fail the normality test). Measured on digits: brightness
            # tuning < 0.03 of the input's norm, video frames ~0.05, Jacobian steps ~0.1; centred
            # cosines: tuning 0.999+, video frames 0.998 (median), Jacobian steps 0.988
            # (bench/RESULTS.md)
            if d is not None and (d < p.repeat * float(np.sqrt(x @ x)) or ring.same_shape(x) >= p.same_shape):
                state.repeats += 1
                continue
            if d is not None:
                state.distances.append(d)
                if len(state.distances) > p.window:
                    state.distances.popleft()
            ring.add(x)
            state.seen += 1
            if state.alerted or len(state.distances) < p.min_queries or state.seen % p.every \
                    or state.repeats > p.max_repeats * (state.seen + state.repeats):
                continue
            values = np.asarray(state.distances)
            if values.std() == 0:
                w = 0.0
            else:
                w = float(self._shapiro(values).statistic)
            if w < p.delta:
                state.alerted = True
                alerts.append(self.alert(event, "high", f"query distances are not normally distributed (W={w:.3f} "
                                         f"< {p.delta}): model extraction", shapiro_w=w, queries=state.seen))
        return alerts


class CoverageParams(DetectorParams):
    budget: int = Field(250, ge=10, description="natural queries a client may send before its coverage alerts")
    fpr: float = Field(0.01, gt=0, lt=0.5, description="share of natural budget-sized sessions allowed to alert")
    bits: int = Field(12, ge=4, le=24, description="random hyperplanes: the input space is cut into 2**bits cells")
    seed: int = 0


class _Cells:
    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: set[int] | None = set()  # None once the client has alerted


class QueryCoverage(Detector):
    """Alerts when a client has explored more of the input space than `budget` natural queries
    would. The threshold is the reference's own (1 - fpr) quantile of distinct cells over
    random budget-sized draws, so it needs no labelled attacks. False-positive budget: `fpr`
    of clients sending `budget` natural queries; a client sending many more (a bulk scoring
    job) is flagged by design: give it its own key and list it in `alert_only_clients`.

    Bounded: one (inputs x bits) projection per query; per client a set of at most `threshold`
    cell numbers, released once the client has alerted."""

    name = "query-coverage"
    modalities = NUMERIC  # it compares input values
    response = {"action": "throttle", "rate": 1.0, "duration_s": 3600}
    title = "Model extraction (query coverage of the input space)"
    technique_ids = ("AML.T0024.002", "AML.T0005.001")
    Params = CoverageParams
    context = ("reference",)

    def setup(self, context: Context) -> None:
        reference = context.need("reference", f"detector {self.name}")
        p = self.params
        ref = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
        if len(ref) < p.budget:
            raise UsageError(f"detector query-coverage: budget {p.budget} exceeds the reference sample "
                             f"({len(ref)} inputs); give a larger reference or a smaller budget")
        self.mean = ref.mean(axis=0)
        spread = ref.std(axis=0)
        # near-constant features (digits' blank border pixels) get a floor of half the typical
        # spread: standardised, the slightest noise on them would flip cells at random
        varying = spread[spread > 0]
        self.scale = np.maximum(spread, 0.5 * float(np.median(varying)) if len(varying) else 1.0)
        rng = np.random.default_rng(p.seed)
        self.planes = rng.normal(size=(ref.shape[1], p.bits))
        self.weights = 1 << np.arange(p.bits, dtype=np.int64)
        own = self.cells(ref)
        draws = [len(np.unique(own[rng.choice(len(own), p.budget, replace=False)])) for _ in range(200)]
        self.threshold = int(np.quantile(draws, 1 - p.fpr)) + 1
        self.clients: ClientStates[_Cells] = self.clients_state(_Cells)

    def cells(self, x: np.ndarray) -> np.ndarray:
        flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        return ((((flat - self.mean) / self.scale) @ self.planes) > 0) @ self.weights

    def observe(self, event: QueryEvent) -> list[Alert]:
        if event.inputs is None or event.n == 0 or event.inputs[0].size != len(self.mean):
            return []
        state = self.clients.get(event.client)
        if state.seen is None:
            return []
        state.seen.update(self.cells(event.inputs).tolist())
        if len(state.seen) < self.threshold:
            return []
        visited, state.seen = len(state.seen), None
        return [self.alert(event, "high", f"the client's queries visit {visited} input-space cells, more than "
                           f"{self.params.budget} natural queries would ({self.threshold}): model extraction "
                           "with natural data", cells=visited, threshold=self.threshold, budget=self.params.budget)]
