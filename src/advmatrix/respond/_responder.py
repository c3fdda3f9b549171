"""The measures in force against each client, and what they do to its requests and replies."""

from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np

from ..errors import UsageError
from ..plugins import get
from ..store._records import SERVICE
from ._base import Measure, Response


def build_response(spec: dict[str, Any] | str, where: str = "response") -> Response:
    """A response from its configuration: ``{"action": "throttle", "rate": 1.0, ...}``."""
    spec = {"action": spec} if isinstance(spec, str) else dict(spec)
    name = spec.pop("action", "alert")
    if not isinstance(name, str):
        raise UsageError(f"{where}: 'action' must be a response name")
    return get("response", name)(**spec)


class Responder:
    """Keeps the measures alerts call for, per client, and applies them.

    ``rules`` maps a detector to the response its alerts get (default: log only). Measures
    expire; an expired one is dropped when next looked at, and at most ``max_clients`` clients
    hold measures (the oldest measures go first), so memory stays bounded however many clients
    an attack rotates through.
    """

    def __init__(self, rules: dict[str, dict[str, Any]] | None = None, alert_only: frozenset[str] = frozenset(),
                 max_clients: int = 100_000):
        self.rules = {det: build_response(spec, f"responses.{det}") for det, spec in (rules or {}).items()}
        self.log_only = get("response", "alert")()
        # known heavy users (a bulk scoring job, an evaluation run): their alerts are kept for
        # the analyst, but no measure is taken against them
        self.alert_only = alert_only
        self.max_clients = max_clients
        self._clients: OrderedDict[str, dict[str, Measure]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._clients)

    def response_for(self, detector: str, client: str) -> Response:
        """The response an alert of ``detector`` about ``client`` gets (log only for an alert
        about the whole service: no one client is to blame for total load)."""
        if client in self.alert_only or client == SERVICE:
            return self.log_only
        return self.rules.get(detector, self.log_only)

    def on_alert(self, detector: str, client: str, now: float | None = None) -> tuple[str, tuple[str, ...]]:
        """Start or renew the measure for an alert; returns its name and mitigation IDs."""
        now = now or time.time()
        response = self.response_for(detector, client)
        if response.holds and response.params.duration_s > 0:
            self._hold(client, response, now + response.params.duration_s, now)
        return response.name, response.mitigation_ids

    def _hold(self, client: str, response: Response, until: float, now: float) -> None:
        measures = self._clients.get(client)
        if measures is None:
            measures = self._clients[client] = {}
            if len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(client)
        measure = measures.get(response.name)
        if measure is None:
            measure = measures[response.name] = Measure(response, until)
        else:
            measure.response, measure.until = response, max(measure.until, until)
        response.start(measure, now)

    def _live(self, client: str, now: float) -> dict[str, Measure] | None:
        measures = self._clients.get(client)
        if measures is None:
            return None
        for name in [n for n, m in measures.items() if m.until <= now]:
            del measures[name]
        if not measures:
            del self._clients[client]
            return None
        return measures

    def admit(self, client: str, now: float | None = None) -> tuple[int, str] | None:
        """None to let the request through, or (status, reason) to refuse it."""
        if client not in self._clients:  # the common case costs one dict lookup
            return None
        now = now or time.time()
        for measure in (self._live(client, now) or {}).values():
            refused = measure.response.admit(measure, now)
            if refused:
                return refused
        return None

    def degrading(self, client: str, now: float | None = None) -> bool:
        """Whether this client's replies are to be rewritten now (cheap; asked on every reply)."""
        if client not in self._clients:
            return False
        measures = self._live(client, now or time.time())
        return bool(measures) and any(m.response.rewrites for m in measures.values())

    def degrade(self, client: str, scores: np.ndarray, now: float | None = None) -> np.ndarray | None:
        """Rewritten scores for a client under a rewriting measure, or None to send them as they are."""
        for measure in (self._live(client, now or time.time()) or {}).values():
            if measure.response.rewrites:
                out = measure.response.rewrite(measure, scores)
                if out is not None:
                    return out
        return None

    def measures(self, client: str, now: float | None = None) -> dict[str, Measure]:
        """The measures in force on ``client`` by response name (empty when none); for a shared
        state that applies some of them itself (a token bucket kept in Redis). Do not modify."""
        if client not in self._clients:
            return {}
        return self._live(client, now or time.time()) or {}

    def lift(self, client: str) -> bool:
        """End every measure on ``client``; False when it had none."""
        return self._clients.pop(client, None) is not None

    def active(self, now: float | None = None, client: str | None = None) -> list[dict[str, Any]]:
        """Measures in force (of one client, or of all): client, measure (the response's name), until."""
        now = now or time.time()
        held = self._clients.items() if client is None else [(client, self._clients.get(client, {}))]
        return [{"client": c, "measure": name, "until": m.until}
                for c, measures in held for name, m in measures.items() if m.until > now]

    def restore(self, rows: list[dict[str, Any]]) -> None:
        """Take back measures saved before a restart (rows as :meth:`active` gives them)."""
        now = time.time()
        for row in rows:
            name = row["measure"]
            response = next((r for r in self.rules.values() if r.name == name), None)
            if response is None:
                try:
                    response = get("response", name)()
                except UsageError:
                    warnings.warn(f"measure '{name}' on {row['client']} not restored: no such response installed",
                                  stacklevel=2)
                    continue
            self._hold(row["client"], response, float(row["until"]), now)
