"""Detectors watch the stream of query events and raise alerts tagged with ATLAS techniques.

Each keeps bounded per-client state and does bounded work per event (no scans of history on
the hot path); its false-positive budget is stated in its docstring and tested on benign
traffic.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict

S = TypeVar("S")


@dataclass
class QueryEvent:
    """One inference request as the gateway saw it."""

    client: str
    time: float
    inputs: np.ndarray | None           # (n, features...) when the request could be parsed
    outputs: np.ndarray | None = None   # (n, classes) scores, when the reply could be parsed
    path: str = ""
    status: int = 200
    bytes_in: int = 0
    latency_ms: float = 0.0
    count: int = 0                      # queries this client has made, including this one

    @property
    def n(self) -> int:
        return 0 if self.inputs is None else len(self.inputs)


@dataclass
class Alert:
    detector: str
    technique_ids: tuple[str, ...]
    client: str
    severity: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)
    query_count: int = 0


def client_key_id(api_key: str) -> str:
    """How the gateway names a client that sent an API key (the key itself is never stored)."""
    import hashlib

    return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


class DetectorParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClientStates(Generic[S]):
    """Per-client state with a bound on the number of clients (least recently seen dropped)."""

    def __init__(self, factory, max_clients: int = 10_000):
        self.factory = factory
        self.max_clients = max_clients
        self._states: OrderedDict[str, S] = OrderedDict()

    def get(self, client: str) -> S:
        state = self._states.get(client)
        if state is None:
            state = self._states[client] = self.factory()
            if len(self._states) > self.max_clients:
                self._states.popitem(last=False)
        else:
            self._states.move_to_end(client)
        return state

    def __len__(self) -> int:
        return len(self._states)


class Detector:
    name: ClassVar[str]
    title: ClassVar[str]
    technique_ids: ClassVar[tuple[str, ...]]
    Params: ClassVar[type[BaseModel]] = DetectorParams
    takes_reference: ClassVar[bool] = False  # built with reference= (a sample of natural inputs)

    def __init__(self, **params: Any):
        self.params = self.Params(**params)

    def observe(self, event: QueryEvent) -> list[Alert]:  # pragma: no cover - abstract
        raise NotImplementedError

    def alert(self, event: QueryEvent, severity: str, message: str, **evidence: Any) -> Alert:
        return Alert(self.name, self.technique_ids, event.client, severity, message, evidence,
                     query_count=event.count)
