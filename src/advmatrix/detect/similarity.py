"""Black-box evasion search: many near-duplicate queries from one client (AML.T0043.001).

In the spirit of Blacklight (Li et al., 2022): each input is quantised and cut into
overlapping windows; the hashes of those windows are its fingerprint. Iterative attacks keep
querying small variations of the same image, so most of a new query's window hashes have been
seen before from the same client. Benign clients re-query the same input rarely, and different
natural inputs share few windows.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
from pydantic import Field

from ..plugins import Context
from ._base import NUMERIC, Alert, ClientStates, Detector, DetectorParams, QueryEvent
from .boundary import log_margin


class SimilarityParams(DetectorParams):
    quantization: int = Field(50, ge=2, description="levels per unit of input range")
    window: int = Field(16, ge=1, description="values per hashed window")
    stride: int = Field(4, ge=1)
    top_k: int = Field(32, ge=1, description="window hashes kept per query (the smallest)")
    match_fraction: float = Field(0.5, gt=0, le=1, description="share of hashes seen before for a near-duplicate")
    near_duplicates: int = Field(20, ge=1, description="near-duplicates that raise an alert")
    memory: int = Field(20_000, ge=100, description="window hashes remembered per client")
    input_range: tuple[float, float] = (0.0, 1.0)
    moving: bool = Field(True, description="when replies carry scores, count only near-duplicates whose answer "
                         "moves toward a decision boundary (label changes, or a new lowest log-margin by `step`)")
    step: float = Field(1.5, gt=0, description="log-margin fall that counts as a move")


class _State:
    __slots__ = ("alerted", "duplicates", "hashes", "label", "low")

    def __init__(self) -> None:
        self.hashes: OrderedDict[bytes, int] = OrderedDict()
        self.duplicates = 0
        self.alerted = False
        self.label = -1     # the answer to the client's last query, and the lowest log-margin
        self.low = 0.0      # of that label since its last query that was not a near-duplicate


class SimilaritySearch(Detector):
    """Alerts when a client sends `near_duplicates` queries each sharing at least
    `match_fraction` of its window hashes with that client's earlier queries and, when the
    replies carry scores, each moving the answer toward a decision boundary (`moving`).
    False-positive budget: <= 1% of benign sessions of 200 queries (natural inputs, light
    augmentation; with `moving`, also retries, video frames and confidence optimisers)."""

    name = "similarity-search"
    modalities = NUMERIC  # it compares input values
    response = {"action": "degrade", "mode": "labels", "duration_s": 3600}
    title = "Black-box attack search (near-duplicate queries)"
    technique_ids = ("AML.T0043.001", "AML.T0043", "AML.T0040")
    Params = SimilarityParams

    def setup(self, context: Context) -> None:
        self.clients: ClientStates[_State] = self.clients_state(_State)

    def fingerprint(self, x: np.ndarray) -> list[bytes]:
        p = self.params
        lo, hi = p.input_range
        q = np.clip(np.round((x.reshape(-1) - lo) / (hi - lo) * p.quantization), 0, p.quantization).astype(np.uint8)
        if len(q) <= p.window:
            windows = [q.tobytes()]
        else:
            starts = range(0, len(q) - p.window + 1, p.stride)
            windows = [q[s:s + p.window].tobytes() for s in starts]
        digests = sorted(hashlib.blake2b(w, digest_size=8).digest() for w in set(windows))
        return digests[: p.top_k]

    def observe(self, event: QueryEvent) -> list[Alert]:
        if event.inputs is None:
            return []
        p = self.params
        state = self.clients.get(event.client)
        alerts: list[Alert] = []
        scored = p.moving and event.outputs is not None and event.outputs.ndim == 2 and len(event.outputs) == event.n
        for i, x in enumerate(event.inputs):
            prints = self.fingerprint(x)
            seen = sum(1 for h in prints if h in state.hashes)
            near = bool(prints) and seen >= p.match_fraction * len(prints)
            if scored:
                # a retry, a video frame or a brightness tweak is a near-duplicate too; only a
                # search keeps pushing the answer toward the boundary (see boundary-search)
                out = event.outputs[i]
                label = int(out.argmax())
                margin = log_margin(out, state.label if near and state.label >= 0 else label)
                moved = near and (label != state.label or margin <= state.low - p.step)
                # the low moves in whole steps only (as in boundary-search): a search adds up
                # to a move every few queries, a tuner's or a retry's wobble never does
                if not near or label != state.label:
                    state.low = margin
                elif moved:
                    state.low = margin
                state.label = label
                near = moved
            if near:
                state.duplicates += 1
            for h in prints:
                state.hashes[h] = state.hashes.get(h, 0) + 1
                state.hashes.move_to_end(h)
            while len(state.hashes) > p.memory:
                state.hashes.popitem(last=False)
            if state.duplicates >= p.near_duplicates and not state.alerted:
                state.alerted = True
                message = f"{state.duplicates} near-duplicate queries: iterative black-box attack search"
                alerts.append(self.alert(event, "high", message, near_duplicates=state.duplicates))
        return alerts
