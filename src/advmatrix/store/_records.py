"""Typed records of what the gateway saw and raised: :class:`Event` (one observed query) and
:class:`Alert` (a detector's finding, with the response it got).

They sit in the store layer, below the engines, so that detectors raise them, the gateway
writes them, and every reader (admin API, purple loop, navigator) gets them back typed. ECS,
the SIEM format, is made from them at the output edges (:mod:`advmatrix.report.ecs`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

#: how bad an alert is, lowest first
Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")


#: the client an alert about the whole service names (total load): no measure is ever taken
#: against it, so no single client pays for everyone's traffic
SERVICE = "service:*"


@dataclass
class Alert:
    """A detector's finding about one client, tagged with the ATLAS techniques it points to.

    A detector fills the first eight fields; the gateway adds ``action`` (the name of the
    response the alert got), ``mitigation_ids`` (the ATLAS mitigations that response
    implements) and ``uid`` (the alert's own ID, ECS ``event.id``: the same in every copy of the
    alert and in every store that keeps it); a store fills ``id``, its row number, when it reads
    the alert back.
    """

    detector: str
    technique_ids: tuple[str, ...]
    client: str
    severity: Severity
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)   # seconds since the epoch
    query_count: int = 0                              # queries the client had made when it was raised
    action: str = ""                                  # the response's name ("" before the gateway's responder)
    mitigation_ids: tuple[str, ...] = ()
    id: int | None = None                             # the store's row ID, once stored
    uid: str | None = None                            # given as it is raised (None: stored by older versions)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}")
        self.technique_ids = tuple(self.technique_ids)
        self.mitigation_ids = tuple(self.mitigation_ids)


class Event(NamedTuple):
    """One query the gateway observed (a tuple: built on every request, so it must be cheap)."""

    time: float         # seconds since the epoch
    client: str
    path: str
    status: int
    n: int              # inputs in the request
    bytes_in: int
    latency_ms: float   # upstream round trip, as the gateway measured it
    digest: str         # short hash of the inputs (to spot re-sent queries without storing them)
