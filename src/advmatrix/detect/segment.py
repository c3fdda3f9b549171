"""Decision-based search told apart by its line search (AML.T0043.001, AML.T0043).

Nearly every decision-based attack (HopSkipJump, the Boundary attack's start, OPT and Sign-OPT,
RayS, GeoDA) finds the decision boundary the same way: it bisects the segment between the input
it wants to change and a point that already has another label, querying ``x0 + t * (a - x0)``
for a ``t`` that jumps back and forth as the interval halves, the label changing on one side of
it. The queries lie on one line, in input space, exactly: a client's recent queries that are
collinear with its latest, their positions along the line going back and forth, and labels on
both sides are that search.

What benign clients send does not lie so. A retry through compression, a crop, a video frame
with sensor noise leaves the line at once; a cross-fade between two scenes is on a line but its
position only moves one way; a client tuning brightness or contrast can move along a line too
(and clipping makes more of its candidates line up), but every point of such a line orders the
input's values alike, which is left out: moving toward another input reorders them.

Values at the input's bounds are left out: a search along a direction that pushes values past 0
or 1 (Sign-OPT's and OPT's start) is clipped, and clipping bends its line. A line is read on the
values that neither the latest query nor the ``points - 1`` before it hold at a bound (all of
them when fewer than 8 remain); the far, more clipped points a bisection starts from are then
simply not on it.

Per client the latest ``recent`` queries are kept, each as ``values`` numbers read at fixed
positions (all of them for smaller inputs) with its label, in a ring that grows with the
client's queries: 2 KiB for a client that sent a few, 8 KiB once it has sent ``recent`` (the
defaults), so 20 MiB for 10,000 clients of three queries and 80 MiB at most. A query costs one
pass over ``recent`` vectors, whatever the history.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from pydantic import Field

from ..plugins import Context
from ._base import NUMERIC, Alert, Detector, DetectorParams, QueryEvent


class SegmentParams(DetectorParams):
    """Defaults chosen on the tuning half of bench/robust_corpus.py (bench/RESULTS.md): of the
    settings that caught the most attack sessions within 100 queries with no benign session
    alerted, the one asking for the most evidence (6 points and 3 turns; 5 and 2 caught no more)."""

    recent: int = Field(32, ge=4, le=256, description="a client's latest queries kept (cover queries an attacker "
                        "interleaves take places too)")
    values: int = Field(64, ge=8, le=4096, description="values of each query, at fixed positions, compared")
    straight: float = Field(0.9999, gt=0, lt=1, description="|cosine| between two offsets from the latest query at "
                            "which the three lie on one line")
    deviation: float = Field(0.01, gt=0, description="largest distance of a query from the line, as a share of the "
                             "spread along it of the earlier queries on it")
    points: int = Field(6, ge=3, description="queries on one line (the latest included) before it may alert")
    reversals: int = Field(3, ge=1, description="times the position along the line must turn back (a bisection "
                           "turns at nearly every step; a cross-fade never)")
    input_range: tuple[float, float] = Field((0.0, 1.0), description="bounds of the input's values: a search's "
                                             "queries are clipped there, and clipped values are left out of a line")
    realert_s: float = Field(3600.0, ge=0, description="quiet time before the same key alerts again")


#: fewest unclipped values a line is read on; with fewer, it is read on all of them
_MIN_UNCLIPPED = 8


class _Client:
    __slots__ = ("alerted", "labels", "n", "vectors")

    def __init__(self, values: int) -> None:
        # most clients send a few queries: the ring starts small and doubles up to ``recent``
        self.vectors = np.zeros((8, values), np.float32)
        self.labels = np.zeros(8, np.int64)
        self.n = 0  # queries seen; the ring's next slot is n % its size
        self.alerted = -1e18

    def add(self, v: np.ndarray, label: int, recent: int) -> None:
        size = len(self.labels)
        if self.n == size < recent:  # full and still growing: nothing has wrapped yet
            grown = min(2 * size, recent)
            self.vectors = np.concatenate([self.vectors, np.zeros((grown - size, self.vectors.shape[1]), np.float32)])
            self.labels = np.concatenate([self.labels, np.zeros(grown - size, np.int64)])
            size = grown
        self.vectors[self.n % size], self.labels[self.n % size] = v, label
        self.n += 1

    def order(self) -> np.ndarray:
        """Slots of the queries held, oldest first."""
        size = len(self.labels)
        return np.arange(self.n - min(self.n, size), self.n) % size


class SegmentSearch(Detector):
    """Alerts when a client's recent queries lie on one line in input space, bisected (the
    position along the line turning back again and again) with the victim's label differing
    along it: the line search of a decision-based attack. Needs only labels. False-positive
    budget: <= 1 % of benign sessions of each class in bench/RESULTS.md; not budgeted, and
    likely to alert: a client that bisects a blend of two of its own inputs on purpose."""

    name = "segment-search"
    modalities = NUMERIC  # it compares input values
    # alert only, as structured-search: new, and a client bisecting a blend on purpose looks alike
    response = {"action": "alert"}
    title = "Decision-based black-box search (bisecting a segment to the decision boundary)"
    technique_ids = ("AML.T0043.001", "AML.T0043")
    Params = SegmentParams

    def setup(self, context: Context) -> None:
        self.clients: OrderedDict[str, _Client] = OrderedDict()
        self.shape: tuple[int, ...] | None = None
        self.positions: np.ndarray | None = None

    def state_size(self) -> int:
        """Clients held (at most ``max_clients``)."""
        return len(self.clients)

    def observe(self, event: QueryEvent) -> list[Alert]:
        if event.inputs is None or event.outputs is None or event.outputs.ndim != 2 or not event.n \
                or len(event.outputs) != event.n:
            return []
        shape = tuple(event.inputs.shape[1:])
        p = self.params
        if self.shape is None:
            self.shape = shape
            size = int(np.prod(shape))
            self.positions = np.sort(np.random.default_rng(0).permutation(size)[:p.values])
        elif shape != self.shape:
            return []
        client = self.clients.pop(event.client, None) or _Client(len(self.positions))
        self.clients[event.client] = client
        if len(self.clients) > p.max_clients:
            self.clients.popitem(last=False)
        alerts = []
        flat = np.asarray(event.inputs, np.float32).reshape(event.n, -1)[:, self.positions]
        for v, label in zip(flat, event.outputs.argmax(axis=1), strict=True):
            found = self._line(client, v, int(label))
            client.add(v, int(label), p.recent)
            if found and event.time - client.alerted > p.realert_s:
                client.alerted = event.time
                alerts.append(self._alert(event, *found))
        return alerts

    def _line(self, client: _Client, v: np.ndarray, label: int) -> tuple[int, int, int] | None:
        """(points, turns, labels) of the line the latest query ``v`` lies on with the most of
        the client's recent queries, when that line is a bisection; else None."""
        p = self.params
        order = client.order()
        if len(order) + 1 < p.points:
            return None
        held = client.vectors[order]
        # clipping at the input's bounds bends a line (a search along a direction that pushes
        # values past 0 or 1 is clipped by the API or the attack): read it on the values that
        # neither this query nor the latest before it hold at a bound (the far, more clipped
        # points a bisection starts from are then simply off the line)
        lo, hi = p.input_range
        tol = 1e-6 * (hi - lo)
        latest = np.vstack([held[-(p.points - 1):], v[None]])
        keep = ((latest > lo + tol) & (latest < hi - tol)).all(axis=0)
        if _MIN_UNCLIPPED <= keep.sum() < len(keep):
            held, v = held[:, keep], v[keep]
        w = held - v
        norms = np.sqrt((w * w).sum(axis=1))  # np.linalg.norm's value, without its wrapper's cost
        moved = norms > 1e-6 * max(float(np.abs(v).max()), 1.0)
        if moved.sum() + 1 < p.points:
            return None
        u = np.where(moved[:, None], w / np.where(moved, norms, 1.0)[:, None], 0.0)
        parallel = np.abs(u @ u.T) >= p.straight                          # (held, held)
        parallel &= moved[:, None] & moved[None, :]
        best = int(parallel.sum(axis=1).argmax())
        on = parallel[best]
        if on.sum() + 1 < p.points:
            return None
        # the line through them all, and how far each lies off it: offsets to far-away points
        # are nearly parallel whatever their layout (a few near copies of one input, seen from
        # another input), so what counts is the deviation against the spread along the line
        ends = np.vstack([held[on], v[None]]).astype(np.float64)
        centred = ends - ends.mean(axis=0)
        direction = np.linalg.svd(centred, full_matrices=False)[2][0]
        along = centred @ direction
        off = np.linalg.norm(centred - along[:, None] * direction, axis=1)
        spread = float(np.ptp(along[:-1]))
        if not spread or off.max() > p.deviation * spread:
            return None
        # positions along the line, in the order they were sent (the latest last)
        t = along
        if self._remapping(ends[int(t.argmin())], ends[int(t.argmax())]):
            return None
        steps = np.diff(t)
        steps = steps[np.abs(steps) > 1e-9]
        turns = int((np.sign(steps[1:]) != np.sign(steps[:-1])).sum()) if len(steps) > 1 else 0
        labels = len(set(client.labels[order][on].tolist()) | {label})
        if turns >= p.reversals and labels >= 2:
            return int(on.sum()) + 1, turns, labels
        return None

    @staticmethod
    def _remapping(a: np.ndarray, b: np.ndarray) -> bool:
        """Whether one increasing map of values takes ``a`` to ``b`` (the two ends of the line):
        brightness and contrast, clipped or not, keep the order of an input's values; moving
        toward another input reorders them."""
        order = np.lexsort((b, a))
        tol = 1e-4 * max(float(np.abs(a).max()), float(np.abs(b).max()), 1e-12)
        return not (np.diff(b[order]) < -tol).any()

    def _alert(self, event: QueryEvent, points: int, turns: int, labels: int) -> Alert:
        message = (f"{points} queries on one line in input space, bisected ({turns} turns) across {labels} labels: "
                   f"a decision-based search for the boundary")
        return self.alert(event, "high", message, points=points, turns=turns, labels=labels, keys=[event.client])
