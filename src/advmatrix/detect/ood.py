"""Out-of-distribution inputs against a reference sample (AML.T0043, AML.T0015 precursors).

A diagonal-Gaussian (per-feature mean and variance) fit to reference data gives each input a
score; the threshold is the reference's own (1 - fpr) quantile. A client alerts when a run of
its recent inputs is mostly out of distribution.

An input is scored after the brightness/contrast re-mapping ``a * x + b`` that brings it closest
to the reference mean (``a`` within ``gain``): a photo taken in other light, or a client tuning
its image's brightness and contrast, is no other distribution; noise, a blend with noise, or
values where the reference never has any still are."""

from __future__ import annotations

from collections import deque

import numpy as np
from pydantic import Field, field_validator

from ..plugins import Context
from ._affine import fit_affine
from ._base import NUMERIC, Alert, ClientStates, Detector, DetectorParams, QueryEvent


class _Recent:
    __slots__ = ("alerted", "flags")

    def __init__(self, recent: int) -> None:
        self.flags: deque[bool] = deque(maxlen=recent)
        self.alerted = False


class OODParams(DetectorParams):
    fpr: float = Field(0.01, gt=0, lt=0.5, description="per-input false-positive rate on the reference")
    recent: int = Field(50, ge=5)
    fraction: float = Field(0.5, gt=0, le=1, description="share of recent inputs out of distribution")
    remap: bool = Field(True, description="score each input after the brightness/contrast re-mapping that brings "
                        "it closest to the reference; off, brightness and contrast count as they are")
    gain: tuple[float, float] = Field((0.35, 3.0), description="contrast range (a in a * x + b) of that re-mapping; "
                                      "chosen on the tuning half of bench/robust_corpus.py")

    @field_validator("gain")
    @classmethod
    def _gain_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0 < value[0] <= value[1]:
            raise ValueError(f"needs 0 < low <= high, got {list(value)}")
        return value


class OutOfDistribution(Detector):
    """Alerts when most of a client's recent inputs fall outside the reference distribution.
    False-positive budget: per-input rate `fpr` for inputs drawn like the reference; clients
    whose inputs legitimately vary beyond it (augmented, shifted) alert unless the reference
    holds that variation too (measured in bench/RESULTS.md)."""

    name = "ood"
    modalities = NUMERIC  # it compares input values
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
        """Per input: the mean squared z-score of its re-mapping closest to the reference mean."""
        flat = x.reshape(len(x), -1).astype(np.float64)
        w, m = 1.0 / self.var, self.mean
        if not self.params.remap:
            return (((flat - m) ** 2) * w).mean(axis=1)
        # a * x + b onto the mean, a kept within the gain range (a free a of 0 would turn noise
        # into a flat, and so unremarkable, input)
        a, b = fit_affine(flat, m, w, gain=self.params.gain)
        return (((a[:, None] * flat + b[:, None] - m) ** 2) * w).mean(axis=1)

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
