"""Out-of-distribution inputs against a reference sample (AML.T0043, AML.T0015 precursors).

A diagonal-Gaussian (per-feature mean and variance) fit to reference data gives each input a
score; the threshold is the reference's own (1 - fpr) quantile. A client alerts when a run of
its recent inputs is mostly out of distribution."""

from __future__ import annotations

from collections import deque

import numpy as np
from pydantic import Field

from ..plugins import Context
from ._base import Alert, ClientStates, Detector, DetectorParams, QueryEvent


class _Recent:
    __slots__ = ("alerted", "flags")

    def __init__(self, recent: int) -> None:
        self.flags: deque[bool] = deque(maxlen=recent)
        self.alerted = False


class OODParams(DetectorParams):
    fpr: float = Field(0.01, gt=0, lt=0.5, description="per-input false-positive rate on the reference")
    recent: int = Field(50, ge=5)
    fraction: float = Field(0.5, gt=0, le=1, description="share of recent inputs out of distribution")


class OutOfDistribution(Detector):
    """Alerts when most of a client's recent inputs fall outside the reference distribution.
    False-positive budget: per-input rate `fpr` for inputs drawn like the reference; clients
    whose inputs legitimately vary beyond it (augmented, shifted) alert unless the reference
    holds that variation too (measured in bench/RESULTS.md)."""

    name = "ood"
    title = "Out-of-distribution inputs"
    technique_ids = ("AML.T0043", "AML.T0015", "AML.T0040")
    Params = OODParams
    context = ("reference",)

    def setup(self, context: Context) -> None:
        # per client: the recent flags, and whether it has alerted (kept with them, so the
        # client bound covers both)
        self.clients: ClientStates[_Recent] = self.clients_state(lambda: _Recent(self.params.recent))
        self.fit(context.need("reference", f"detector {self.name}"))

    def fit(self, reference: np.ndarray) -> None:
        ref = reference.reshape(len(reference), -1).astype(np.float64)
        self.mean = ref.mean(axis=0)
        self.var = ref.var(axis=0) + 1e-3
        scores = self.score(ref)
        self.threshold = float(np.quantile(scores, 1 - self.params.fpr))

    def score(self, x: np.ndarray) -> np.ndarray:
        flat = x.reshape(len(x), -1)
        return (((flat - self.mean) ** 2) / self.var).mean(axis=1)

    def observe(self, event: QueryEvent) -> list[Alert]:
        if event.inputs is None or self.mean is None or event.inputs.reshape(event.n, -1).shape[1] != len(self.mean):
            return []
        state = self.clients.get(event.client)
        recent = state.flags
        recent.extend(self.score(event.inputs) > self.threshold)
        if state.alerted or len(recent) < recent.maxlen:
            return []
        share = float(np.mean(recent))
        if share >= self.params.fraction:
            state.alerted = True
            return [self.alert(event, "medium", f"{share:.0%} of the last {len(recent)} inputs are out of distribution",
                               share=share)]
        return []
