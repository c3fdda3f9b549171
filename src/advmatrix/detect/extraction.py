"""Model extraction (AML.T0024.002): PRADA (Juuti et al., 2019).

For each client, the minimum L2 distance from each new query to that client's earlier queries
of the same predicted class forms a distribution; natural queries give distances that look
normally distributed, while synthetic queries crafted to map decision boundaries do not. A
Shapiro-Wilk statistic below `delta` raises an alert. Work per query is bounded by keeping at
most `keep` earlier queries per class.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ._base import Alert, ClientStates, Detector, DetectorParams, QueryEvent


class PradaParams(DetectorParams):
    # Calibrated on digits: benign sessions of 300 natural queries never went below W = 0.90
    # once 100 distances were in (40 sessions); synthetic queries around a few seeds drop to ~0.2.
    delta: float = Field(0.85, gt=0, lt=1, description="Shapiro-Wilk W below this is suspicious")
    min_queries: int = Field(100, ge=10, description="distances needed before testing")
    keep: int = Field(500, ge=10, description="earlier queries kept per class")
    window: int = Field(300, ge=20, description="most recent distances tested")
    every: int = Field(10, ge=1, description="test every N queries (cost control)")


class _State:
    __slots__ = ("growing", "distances", "seen", "alerted")

    def __init__(self) -> None:
        self.growing: dict[int, list[np.ndarray]] = {}
        self.distances: list[float] = []
        self.seen = 0
        self.alerted = False


class Prada(Detector):
    """Alerts when the distribution of a client's minimum inter-query distances stops looking
    normal (Shapiro-Wilk W < delta). False-positive budget: <= 1% of benign sessions."""

    name = "prada"
    title = "Model extraction (PRADA distance test)"
    technique_ids = ("AML.T0024.002", "AML.T0005.001", "AML.T0040")
    Params = PradaParams

    def __init__(self, **params):
        super().__init__(**params)
        self.clients: ClientStates[_State] = ClientStates(_State)

    def observe(self, event: QueryEvent) -> list[Alert]:
        if event.inputs is None:
            return []
        from scipy.stats import shapiro

        p = self.params
        state = self.clients.get(event.client)
        labels = event.outputs.argmax(axis=1) if event.outputs is not None and event.outputs.ndim == 2 \
            else np.zeros(event.n, dtype=int)
        alerts: list[Alert] = []
        for x, c in zip(event.inputs.reshape(event.n, -1), labels):
            bucket = state.growing.setdefault(int(c), [])
            if bucket:
                d = float(np.sqrt(((np.stack(bucket) - x) ** 2).sum(axis=1)).min())
                state.distances.append(d)
                if len(state.distances) > p.window:
                    del state.distances[0]
            bucket.append(x.astype(np.float32))
            if len(bucket) > p.keep:
                del bucket[0]
            state.seen += 1
            if state.alerted or len(state.distances) < p.min_queries or state.seen % p.every:
                continue
            values = np.asarray(state.distances)
            if values.std() == 0:
                w = 0.0
            else:
                w = float(shapiro(values).statistic)
            if w < p.delta:
                state.alerted = True
                alerts.append(self.alert(event, "high", f"query distances are not normally distributed (W={w:.3f} "
                                         f"< {p.delta}): model extraction", shapiro_w=w, queries=state.seen))
        return alerts
