"""Abusive volume: query rate per client, batch-size cost, and load on the whole service
(AML.T0034 Cost Harvesting, AML.T0029 Denial of AI Service, AML.T0040); on an LLM application
the same counts show distillation-scale harvesting of outputs (AML.T0024.002)."""

from __future__ import annotations

from collections import deque

from pydantic import Field

from ..plugins import Context
from ..store._records import SERVICE
from ._base import Alert, ClientStates, Detector, DetectorParams, QueryEvent


class VolumeParams(DetectorParams):
    window_s: float = Field(60.0, gt=0)
    max_client_queries: int = Field(600, ge=1, description="queries per client per window")
    max_batch: int = Field(256, ge=1, description="samples in one request")
    max_total_queries: int = Field(6000, ge=1, description="queries per window, all clients")
    realert_s: float = Field(300.0, ge=0, description="quiet time before the same client is alerted again")


class _State:
    __slots__ = ("count", "last_alert", "times")

    def __init__(self) -> None:
        self.times: deque[tuple[float, int]] = deque()
        self.count = 0  # running sum over the window: O(1) per event, not a scan
        self.last_alert = -1e18


class Volume(Detector):
    """Alerts on a client exceeding its query rate, on oversized batches, and on total load.
    False-positive budget: none for clients within the configured rate. A total-load alert names
    the service (:data:`~advmatrix.detect.SERVICE`), never a client, and gets no measure."""

    name = "volume"
    response = {"action": "throttle", "rate": 5.0, "duration_s": 600}
    title = "Abusive volume (rate, cost, denial of service)"
    technique_ids = ("AML.T0034", "AML.T0034.000", "AML.T0029", "AML.T0040", "AML.T0024.002")
    Params = VolumeParams
    counts_chat = True

    def setup(self, context: Context) -> None:
        self.clients: ClientStates[_State] = self.clients_state(_State)
        self.total: deque[tuple[float, int]] = deque()
        self.total_count = 0
        self.total_alerted = -1e18

    def seed(self, client: str, now: float, client_count: int, total_count: int) -> None:
        """Start this client's and the service's windows from counts observed elsewhere (other
        gateway replicas, through shared state): the next :meth:`observe` adds to them, and
        thresholds, re-alert times and messages stay this detector's own."""
        state = self.clients.get(client)
        state.times, state.count = deque([(now, client_count)]), client_count
        self.total, self.total_count = deque([(now, total_count)]), total_count

    def observe(self, event: QueryEvent) -> list[Alert]:
        p = self.params
        n = max(event.n, 1)
        now = event.time
        state = self.clients.get(event.client)
        state.times.append((now, n))
        state.count += n
        while state.times and state.times[0][0] < now - p.window_s:
            state.count -= state.times.popleft()[1]
        self.total.append((now, n))
        self.total_count += n
        while self.total and self.total[0][0] < now - p.window_s:
            self.total_count -= self.total.popleft()[1]
        alerts = []
        rate = state.count
        quiet = now - state.last_alert > p.realert_s
        if event.n > p.max_batch and quiet:
            state.last_alert = now
            message = f"batch of {event.n} samples exceeds {p.max_batch}: cost harvesting"
            alerts.append(self.alert(event, "medium", message, batch=event.n))
        elif rate > p.max_client_queries and quiet:
            state.last_alert = now
            alerts.append(self.alert(event, "medium", f"{rate} queries in {p.window_s:.0f} s exceeds "
                                     f"{p.max_client_queries}: excessive queries", rate=rate))
        if self.total_count > p.max_total_queries and now - self.total_alerted > p.realert_s:
            self.total_alerted = now
            # about the service, not the client whose query crossed the line: under the default
            # throttle that client would pay for everyone's load, benign or not
            alerts.append(self.alert(event, "high", f"{self.total_count} queries in {p.window_s:.0f} s from all "
                                     "clients: possible denial of AI service", client=SERVICE, total=self.total_count,
                                     clients=len(self.clients), last_client=event.client))
        return alerts
