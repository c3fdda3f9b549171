"""Detectors watch the stream of query events and raise alerts tagged with ATLAS techniques.

Each keeps bounded per-client state (at most ``max_clients`` clients, least recently seen
dropped) and does bounded work per event (no scans of history on the hot path); its
false-positive budget is stated in its docstring and tested on benign traffic. Data a detector
needs beyond its parameters (a reference sample, the training inputs) it declares in
``context`` and receives through :class:`advmatrix.plugins.Context`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..plugins import Context, Plugin
from ..store._records import Alert  # the typed record lives in the store layer

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
    address: str = ""                   # the peer's network address ("" when unknown)

    @property
    def n(self) -> int:
        return 0 if self.inputs is None else len(self.inputs)


def client_key_id(api_key: str) -> str:
    """How the gateway names a client that sent an API key (the key itself is never stored)."""
    import hashlib

    return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


class DetectorParams(BaseModel):
    """Parameters every detector takes."""

    model_config = ConfigDict(extra="forbid")
    max_clients: int = Field(10_000, ge=1, description="clients whose state is kept (least recently seen dropped)")


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

    def pop(self, client: str) -> S | None:
        """Forget one client's state."""
        return self._states.pop(client, None)


#: What a detector that compares input values reads: numeric arrays (pixels, features, samples), not text.
NUMERIC: tuple[str, ...] = ("image", "tabular", "audio")


class Detector(Plugin):
    """Base of every detector: ``observe(event) -> alerts``.

    ``__init__`` validates the parameters and hands the context to :meth:`setup`, where a
    detector builds what it learns from it (thresholds from a reference sample, digests of the
    training inputs). Per-client state lives in :class:`ClientStates` attributes, which
    :meth:`state_size` counts.
    """

    kind = "detector"
    Params: ClassVar[type[BaseModel]] = DetectorParams
    #: the traffic it reads: ``tensor`` (classifier queries, :meth:`observe`) or ``chat`` (LLM
    #: exchanges, :class:`~advmatrix.detect.ChatDetector`'s hooks)
    modality: ClassVar[str] = "tensor"
    #: a tensor detector that also counts LLM requests (one query each, no inputs): volume
    counts_chat: ClassVar[bool] = False
    #: the input modalities a tensor detector reads (None: any, it reads no input values, as volume counts
    #: requests); a threat model offers it only for models that take them
    modalities: ClassVar[tuple[str, ...] | None] = None
    #: what the gateway does on this detector's alerts unless its configuration says otherwise
    response: ClassVar[dict[str, Any]] = {"action": "alert"}

    def __init__(self, context: Context | None = None, **params: Any):
        self.params = self.parse_params(params)
        self.setup(context if context is not None else Context())

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The plugin description plus the response the gateway takes by default."""
        return {**super().describe(), "response": dict(cls.response)}

    def setup(self, context: Context) -> None:
        """Build learned state from the declared context; the default needs none."""

    def observe(self, event: QueryEvent) -> list[Alert]:  # pragma: no cover - abstract
        """Look at one event; return the alerts it raises (usually none)."""
        raise NotImplementedError

    def state_size(self) -> int:
        """Clients currently holding state in this detector (bounded by ``max_clients``)."""
        return sum(len(v) for v in vars(self).values() if isinstance(v, ClientStates))

    def clients_state(self, factory) -> ClientStates:
        """Per-client state bounded by this detector's ``max_clients``."""
        return ClientStates(factory, self.params.max_clients)

    def alert(self, event: QueryEvent, severity: str, message: str, *, client: str | None = None,
              **evidence: Any) -> Alert:
        """An alert from this detector about the event's client (or ``client``: :data:`SERVICE`
        for the whole service)."""
        return Alert(self.name, self.technique_ids, event.client if client is None else client, severity, message,
                     evidence, query_count=event.count)
