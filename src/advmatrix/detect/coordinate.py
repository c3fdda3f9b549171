"""Coordinate-wise probing: one input sent again and again with one or two of its values nudged,
the rest bit for bit as before (AML.T0043.001, AML.T0043).

Zeroth-order gradient estimates (ZOO, and SimBA's pixel steps) query an input with one
coordinate, or a few, moved by a step ``h`` (often ``+h`` and ``-h`` in turn) and every other
value left as it was. ART's ZOO steps by 1e-4 by default: far below what ``structured-search``
reads as a visible change, and the victim's margin hardly moves while the estimate is built (a
search that fails moves it not at all), so neither that detector's margin gate nor near-duplicate
counting sees it. Benign clients do not send an input again with a single value nudged: a retry
is re-encoded (every value moves), a video frame carries sensor noise, a brightness or contrast
change moves every value, an exact re-send moves none.

Each query is summarised on ``structured-search``'s grid (at most ``grid`` x ``grid`` cells over
its two spatial axes; a hash of each cell's raw bytes). Against the client's latest ``recent``
queries, one whose cells differ from some query's in at least one and at most ``cells`` places
is a *coordinate probe*; ``probes`` of them among the client's latest ``window`` queries alert.
The unchanged cells must include ``min_free`` that are not at the input's bounds: on a mostly
saturated input a brightness change moves only the few values in between, which would look
alike. Not told apart, as for ``structured-search``: a drawing canvas that sends the picture after each
small pen stroke (hence alert only by default).

State: per client its latest ``recent`` summaries (``grid`` x ``grid`` x 4 bytes each: 2 KiB at
the defaults) and which of its latest ``window`` queries were probes, for at most ``max_clients``
clients. A query costs one pass over its values and one comparison with ``recent`` summaries.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from pydantic import Field

from ..plugins import Context
from ._base import NUMERIC, Alert, Detector, DetectorParams, QueryEvent
from ._grid import Grid


class CoordinateParams(DetectorParams):
    """Defaults: on the tuning half of bench/robust_corpus.py no benign session sent a single
    coordinate probe (bench/RESULTS.md), so ``probes`` asks for more than a search needs to be
    seen early (ZOO's first request holds dozens) and no fewer than a pen-stroke app would send
    in a short drawing."""

    grid: int = Field(8, ge=2, le=32, description="cells per spatial axis of a query's summary")
    cells: int = Field(2, ge=1, description="most cells a coordinate probe changes (the rest bit for bit as before)")
    recent: int = Field(8, ge=1, le=64, description="a client's latest queries each query is compared with")
    window: int = Field(32, ge=1, description="a client's latest queries over which probes are counted")
    probes: int = Field(12, ge=1, description="coordinate probes among the latest window queries before it alerts")
    min_free: int = Field(4, ge=0, description="least number of unchanged cells a probe must hold that are not at "
                          "the input's bounds: with fewer, a brightness change would look the same")
    input_range: tuple[float, float] = Field((0.0, 1.0), description="bounds of the input's values")
    realert_s: float = Field(3600.0, ge=0, description="quiet time before the same key alerts again")


class _Client:
    __slots__ = ("alerted", "flags", "hashes", "n")

    def __init__(self, recent: int, cells: int, window: int) -> None:
        self.hashes = np.zeros((recent, cells), np.uint32)
        self.n = 0
        self.flags: deque[bool] = deque(maxlen=window)
        self.alerted = -1e18


class CoordinateProbe(Detector):
    """Alerts when a client keeps sending an input with one or two grid cells changed and the
    rest bit for bit the same: a coordinate-wise gradient estimate (ZOO) or pixel search, at any
    step size and whether or not it is succeeding. Needs no outputs. False-positive budget:
    <= 1 % of benign sessions of each class in bench/RESULTS.md; not budgeted, and likely to
    alert: a canvas app sending the picture after each small stroke."""

    name = "coordinate-probe"
    modalities = NUMERIC  # it compares input values
    # alert only: new, and a drawing app sending each stroke looks alike
    response = {"action": "alert"}
    title = "Coordinate-wise probing (zeroth-order gradient estimates)"
    technique_ids = ("AML.T0043.001", "AML.T0043")
    Params = CoordinateParams

    def setup(self, context: Context) -> None:
        self.grid: Grid | None = None
        self.shape: tuple[int, ...] | None = None
        self.clients = self.clients_state(self._new_client)

    def _new_client(self) -> _Client:
        return _Client(self.params.recent, self.grid.cells if self.grid else 1, self.params.window)

    def observe(self, event: QueryEvent) -> list[Alert]:
        if event.inputs is None or not event.n:
            return []
        p = self.params
        shape = tuple(event.inputs.shape[1:])
        if self.grid is None:
            self.shape = shape
            self.grid = Grid(shape, p.grid, 1, 16, np.random.default_rng(0))
            size = int(np.prod(shape))
            self.cell_size = np.diff(np.append(self.grid.starts, size)).astype(np.float32)  # values per cell
        elif shape != self.shape:
            return []
        client = self.clients.get(event.client)
        lo, hi = p.input_range
        tol = 1e-6 * (hi - lo)
        alerts = []
        for x in event.inputs:
            hashes, sums = self.grid.summary(x)
            held = client.hashes[:min(client.n, p.recent)]
            same = held == hashes
            differ = same.shape[1] - same.sum(axis=1)
            # cells not at a bound: where a brightness or contrast change would have moved values
            # too (a mostly saturated input has few; its re-mappings change only those)
            free = (sums > lo * self.cell_size + tol) & (sums < hi * self.cell_size - tol)
            probe = bool(((differ >= 1) & (differ <= p.cells) & ((same & free).sum(axis=1) >= p.min_free)).any())
            client.flags.append(probe)
            client.hashes[client.n % p.recent] = hashes
            client.n += 1
            if probe and event.time - client.alerted > p.realert_s:
                count = sum(client.flags)
                if count >= p.probes:
                    client.alerted = event.time
                    alerts.append(self.alert(
                        event, "high", f"{count} of this key's latest {len(client.flags)} queries each changed one "
                        f"input in at most {p.cells} places, the rest bit for bit as before: a coordinate-wise "
                        f"search (zeroth-order gradient estimates)", probes=count, queries=len(client.flags),
                        keys=[event.client]))
        return alerts
