"""What happens on an alert: log, throttle, block for a time, or degrade a client's outputs.
Each action is one of ATLAS's mitigations, named on the alert it answers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Action = Literal["alert", "throttle", "block", "degrade"]
DegradeMode = Literal["labels", "round", "top1", "noise"]

MITIGATIONS: dict[str, tuple[str, ...]] = {
    "alert": ("AML.M0024",),            # AI Telemetry Logging
    "throttle": ("AML.M0004",),         # Restrict Number of AI Model Queries
    "block": ("AML.M0004", "AML.M0019"),  # ... and Control Access to AI Models and Data in Production
    "degrade": ("AML.M0002",),          # Passive AI Output Obfuscation
}


@dataclass
class ClientPolicy:
    """The live measures against one client; all expire."""

    blocked_until: float = 0.0
    throttle_until: float = 0.0
    throttle_rate: float = 1.0          # requests per second while throttled
    degrade_until: float = 0.0
    degrade_mode: DegradeMode = "labels"
    tokens: float = 1.0
    last: float = field(default_factory=time.time)


class Responder:
    """Keeps per-client measures and applies them to requests and replies."""

    def __init__(self, rules: dict[str, dict[str, Any]] | None = None, alert_only: frozenset[str] = frozenset()):
        # detector name -> {"action": ..., "duration_s": ..., "rate": ..., "mode": ...}
        self.rules = rules or {}
        # known heavy users (a bulk scoring job, an evaluation run): their alerts are kept for
        # the analyst, but no measure is taken against them
        self.alert_only = alert_only
        self.clients: dict[str, ClientPolicy] = {}

    def policy(self, client: str) -> ClientPolicy:
        return self.clients.setdefault(client, ClientPolicy())

    def on_alert(self, detector: str, client: str, now: float | None = None) -> tuple[str, tuple[str, ...]]:
        now = now or time.time()
        rule = {"action": "alert"} if client in self.alert_only else self.rules.get(detector, {"action": "alert"})
        action: str = rule.get("action", "alert")
        duration = float(rule.get("duration_s", 600))
        p = self.policy(client)
        if action == "block":
            p.blocked_until = max(p.blocked_until, now + duration)
        elif action == "throttle":
            p.throttle_until = max(p.throttle_until, now + duration)
            p.throttle_rate = float(rule.get("rate", 1.0))
            p.tokens = min(p.tokens, 1.0)
        elif action == "degrade":
            p.degrade_until = max(p.degrade_until, now + duration)
            p.degrade_mode = rule.get("mode", "labels")
        return action, MITIGATIONS.get(action, ())

    def admit(self, client: str, now: float | None = None) -> tuple[int, str] | None:
        """None to let the request through, or (status, reason) to refuse it."""
        now = now or time.time()
        p = self.clients.get(client)
        if p is None:
            return None
        if now < p.blocked_until:
            return 403, f"client blocked for {p.blocked_until - now:.0f} s more"
        if now < p.throttle_until:
            p.tokens = min(1.0, p.tokens + (now - p.last) * p.throttle_rate)
            p.last = now
            if p.tokens < 1.0:
                return 429, "client throttled"
            p.tokens -= 1.0
        return None

    def degrading(self, client: str, now: float | None = None) -> bool:
        """Whether this client's replies are to be degraded now (cheap; asked on every reply)."""
        p = self.clients.get(client)
        return p is not None and (now or time.time()) < p.degrade_until

    def degrade(self, client: str, scores: np.ndarray, now: float | None = None) -> np.ndarray | None:
        """Degraded scores for a flagged client, or None when the reply goes out unchanged."""
        now = now or time.time()
        p = self.clients.get(client)
        if p is None or now >= p.degrade_until or scores.ndim != 2:
            return None
        if p.degrade_mode in ("labels", "top1"):
            out = np.zeros_like(scores)
            out[np.arange(len(scores)), scores.argmax(axis=1)] = 1.0
            return out
        if p.degrade_mode == "round":
            return np.round(scores, 1)
        noisy = np.clip(scores + np.random.default_rng().normal(0, 0.05, scores.shape), 0, None)
        return noisy / np.maximum(noisy.sum(axis=1, keepdims=True), 1e-12)

    def active(self, now: float | None = None) -> list[dict[str, Any]]:
        now = now or time.time()
        out = []
        for client, p in self.clients.items():
            for kind, until in (("block", p.blocked_until), ("throttle", p.throttle_until), ("degrade", p.degrade_until)):
                if until > now:
                    out.append({"client": client, "measure": kind, "until": until})
        return out

    def restore(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            p = self.policy(row["client"])
            setattr(p, {"block": "blocked_until", "throttle": "throttle_until", "degrade": "degrade_until"}[row["measure"]],
                    float(row["until"]))
