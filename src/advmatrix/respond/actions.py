"""The built-in responses: log only, throttle, block, and degrade outputs."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ._base import Measure, Response, ResponseParams


class AlertOnly(Response):
    """Record the alert and take no measure (for detectors still being tuned, and for clients
    listed as alert-only)."""

    name = "alert"
    title = "Log the alert"
    mitigation_ids = ("AML.M0024",)  # AI Telemetry Logging
    holds = False


class ThrottleParams(ResponseParams):
    rate: float = Field(1.0, gt=0, description="requests per second the client may make while throttled")


class Throttle(Response):
    """Let the client through at `rate` requests per second (a token bucket); the rest get 429."""

    name = "throttle"
    title = "Throttle the client"
    mitigation_ids = ("AML.M0004",)  # Restrict Number of AI Model Queries
    Params = ThrottleParams

    def start(self, measure: Measure, now: float) -> None:
        measure.state["tokens"] = min(measure.state.get("tokens", 1.0), 1.0)
        measure.state.setdefault("last", now)

    def admit(self, measure: Measure, now: float) -> tuple[int, str] | None:
        s = measure.state
        s["tokens"] = min(1.0, s.get("tokens", 1.0) + (now - s.get("last", now)) * self.params.rate)
        s["last"] = now
        if s["tokens"] < 1.0:
            return 429, "client throttled"
        s["tokens"] -= 1.0
        return None


class Block(Response):
    """Refuse every request of the client (403) until the measure expires (and, for LLM traffic,
    the request that raised the alert)."""

    name = "block"
    title = "Block the client"
    # ... and Control Access to AI Models and Data in Production
    mitigation_ids = ("AML.M0004", "AML.M0019")
    exchange = "refuse"

    def admit(self, measure: Measure, now: float) -> tuple[int, str] | None:
        return 403, f"client blocked for {measure.until - now:.0f} s more"


class DegradeParams(ResponseParams):
    mode: Literal["labels", "round", "top1", "noise"] = Field(
        "labels", description="labels/top1: one-hot of the top class; round: one decimal; noise: scores jittered")


class Degrade(Response):
    """Answer the client with less information: labels only, rounded scores, or noisy scores."""

    name = "degrade"
    title = "Degrade the client's outputs"
    mitigation_ids = ("AML.M0002",)  # Passive AI Output Obfuscation
    Params = DegradeParams
    rewrites = True

    def rewrite(self, measure: Measure, scores: np.ndarray) -> np.ndarray | None:
        if scores.ndim != 2:
            return None
        mode = self.params.mode
        if mode in ("labels", "top1"):
            out = np.zeros_like(scores)
            out[np.arange(len(scores)), scores.argmax(axis=1)] = 1.0
            return out
        if mode == "round":
            return np.round(scores, 1)
        noisy = np.clip(scores + np.random.default_rng().normal(0, 0.05, scores.shape), 0, None)
        return noisy / np.maximum(noisy.sum(axis=1, keepdims=True), 1e-12)
