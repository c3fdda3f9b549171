"""Membership-inference probing (AML.T0024.000): a client querying the model's own training
records.

A membership attack asks the model about candidate records and reads how confident it is;
the candidates are records the attacker wants to test, so a real probe contains many exact
training records. The gateway can know them: given the training inputs (an .npy file, read
without pickle), it keeps a digest of each, rounded so that float formatting on the wire does
not matter, and counts per client how many recent queries are training records. Ordinary use
sends new inputs, not the training set back.

Bounded: one 64-bit digest per training record (a set lookup per query), and per client a
window of flags with a running count.
"""

from __future__ import annotations

import hashlib
from collections import deque

import numpy as np
from pydantic import Field

from ..plugins import Context
from ._base import NUMERIC, Alert, ClientStates, Detector, DetectorParams, QueryEvent


class MembershipParams(DetectorParams):
    decimals: int = Field(3, ge=0, le=8, description="inputs are rounded to this many decimals before matching")
    window: int = Field(100, ge=10, description="recent queries considered per client")
    min_hits: int = Field(20, ge=1, description="training records among them needed to alert")
    min_fraction: float = Field(0.2, gt=0, le=1, description="... and as a share of the window")


class _State:
    __slots__ = ("alerted", "flags", "hits")

    def __init__(self, window: int) -> None:
        self.flags: deque[bool] = deque(maxlen=window)
        self.hits = 0
        self.alerted = False


class MembershipProbing(Detector):
    """Alerts when a client's recent queries are largely exact training records. False-positive
    budget: none for clients that send new data; a client re-sending training data (say, an
    evaluation job) is flagged by design: give it its own key and list it in the gateway's
    `alert_only_clients`."""

    name = "membership"
    modalities = NUMERIC  # it compares input values
    response = {"action": "degrade", "mode": "labels", "duration_s": 3600}
    title = "Membership-inference probing (training records queried)"
    technique_ids = ("AML.T0024.000",)
    Params = MembershipParams
    context = ("members",)

    def setup(self, context: Context) -> None:
        p = self.params
        self.digests: set[int] = set(self.digest(context.need("members", f"detector {self.name}")))
        self.clients: ClientStates[_State] = self.clients_state(lambda: _State(p.window))

    def digest(self, x: np.ndarray) -> list[int]:
        flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        # integers after rounding: -0.0 and 0.0, or 0.1 sent as 0.10000000149, digest alike
        scaled = np.rint(flat * 10 ** self.params.decimals).astype(np.int64)
        return [int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little") for row in scaled]

    def observe(self, event: QueryEvent) -> list[Alert]:
        if event.inputs is None or not self.digests or event.n == 0:
            return []
        p = self.params
        state = self.clients.get(event.client)
        for hit in (d in self.digests for d in self.digest(event.inputs)):
            if len(state.flags) == state.flags.maxlen:
                state.hits -= state.flags[0]
            state.flags.append(hit)
            state.hits += hit
        if state.alerted or state.hits < p.min_hits or state.hits < p.min_fraction * len(state.flags):
            return []
        state.alerted = True
        return [self.alert(event, "high", f"{state.hits} of the client's last {len(state.flags)} queries are the "
                           "model's own training records: membership inference probing",
                           training_records=state.hits, window=len(state.flags))]
