"""Black-box attack search told apart from benign repetition by where the answers go
(AML.T0043.001, AML.T0043, AML.T0040).

Repetition alone does not separate them: an attack re-queries near-duplicates of one input, and
so do a retrying app, a camera stream and a user tuning brightness for a better score. What
differs is the victim's answers. An evasion search drives its queries toward a decision
boundary: the label the input started with loses ground (its log-margin over the runner-up
falls far below where it began) or is lost (the label flips), again and again. A retry, a
video or a confidence optimiser keeps its label with a margin that stays or rises.

Each query is linked to its nearest earlier near-duplicate in a shared index (any client's,
:class:`~advmatrix.detect._nearindex.NearIndex`); linked queries form a chain that remembers the
label and log-margin it started with, and a low that follows the margin down in whole steps. A
query that has drifted out of the ball around the chain's first query starts a chain of its own
(a video drifts; an attack circles the input it started from). A linked query whose label
differs from its neighbour's, or that takes the chain's margin a whole ``step`` below its low,
is a *boundary probe* (a score-based search keeps only the candidates that lower the margin, so
its chain keeps going down; a retry's margin wobbles around where it was), but only around a
point queried before (a search circles the point it stands on; a video passes each frame once).

Probes are counted, with exponential decay, in four scopes: the API key, its address, its
network, and the chain itself; a scope whose count passes its threshold (and whose linked
queries are at least ``min_share`` probes) alerts, naming the scope and the keys in it. A key,
address or network counts a chain's probes once the chain holds ``chain_probes`` of them: a
search probes around its point again and again, while a data set scored once holds natural
near-duplicates with different labels, one such pair per chain. The
chain scope is what sees an attacker that rotates keys and addresses: every key it uses still
queries near-duplicates of the same input.
"""

from __future__ import annotations

import functools
import ipaddress
import math
from collections import OrderedDict

import numpy as np
from pydantic import Field

from ..plugins import Context
from ._base import NUMERIC, Alert, Detector, DetectorParams, QueryEvent
from ._nearindex import NearIndex


class BoundaryParams(DetectorParams):
    """Defaults chosen on the tuning half of bench/robust_corpus.py (bench/robust_bench.py tune):
    the most attack sessions caught within 100 queries with no benign session alerted, among
    settings that also stay silent on the heavier retries of tests/detect/test_boundary.py
    (bench/RESULTS.md)."""

    near: float = Field(0.93, gt=0, lt=1, description="cosine (centred inputs) at which a query is a near-duplicate")
    ball: float = Field(0.9, gt=0, lt=1, description="cosine to its chain's first query within which a "
                        "near-duplicate stays in the chain (further: it starts one)")
    step: float = Field(1.5, gt=0, description="a new lowest log-margin of the chain by this much makes a probe")
    evidence: float = Field(3.0, gt=0, description="decayed boundary probes that alert (key and chain scopes)")
    address_evidence: float = Field(4.8, gt=0, description="the same for an address (several users may share one)")
    network_evidence: float = Field(7.2, gt=0, description="the same for a network (/24 IPv4, /64 IPv6)")
    revisits: int = Field(2, ge=1, description="queries that must have found the same neighbour (this one "
                          "included) before a move toward the boundary counts")
    min_share: float = Field(0.2, ge=0, le=1, description="share of a scope's linked queries that must be "
                             "probes (many users behind one network re-send inputs without moving them)")
    key_min_share: float = Field(0.1, ge=0, le=1, description="min_share for a key's own scope: a key is one "
                                 "client, not the many users behind an address; ART's Boundary attack sends ten "
                                 "candidates around its point for each that crosses (0.05 alerted on a video)")
    chain_probes: int = Field(2, ge=1, description="probes a chain must hold before they count in any scope (the "
                              "first ones held back until then): a search probes again and again around its "
                              "point, a data set's natural near-duplicates with different labels once each")
    decay: float = Field(0.98, gt=0, le=1, description="per probe, the weight earlier probes keep")
    index_size: int = Field(1 << 16, ge=1024, description="recent queries in the shared near-duplicate index")
    realert_s: float = Field(3600.0, ge=0, description="quiet time before the same scope alerts again")
    recent: int = Field(16, ge=1, le=256, description="a client's latest queries always searched")
    max_keys_named: int = Field(20, ge=1, description="keys an alert lists by name")


#: probing keys a scope remembers (and counts; "64+" beyond): bounded whatever the rotation
_COUNTED_KEYS = 64


class _Scope:
    __slots__ = ("alerted", "boundary", "evidence", "keys", "probes")

    def __init__(self) -> None:
        self.evidence = 0.0
        self.probes = 0
        self.boundary = 0
        self.keys: dict[str, None] = {}  # the probing keys, insertion-ordered, at most _COUNTED_KEYS
        self.alerted = -1e18


def log_margin(p: np.ndarray, label: int) -> float:
    """log p[label] - log max_{j != label} p[j]: positive while ``label`` wins, 0 on the boundary.
    Probabilities saturate near 1 (0.9999 and 0.999999 look alike); their logs do not."""
    # scalar maths on one row (it runs for every query of two detectors): a copy, one max, two logs
    mine = min(max(float(p[label]), 1e-12), 1.0)
    if len(p) > 1:
        q = p.copy()
        q[label] = -np.inf  # the copy is ours: the runner-up is the largest of the rest
        other = min(max(float(q.max()), 1e-12), 1.0)
    else:
        other = 1e-12
    return math.log(mine) - math.log(other)


@functools.lru_cache(maxsize=65536)
def network_of(address: str) -> str:
    """The /24 (IPv4) or /64 (IPv6) an address belongs to; '' for anything else."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


class BoundarySearch(Detector):
    """Alerts when a key, an address, a network or a chain of near-duplicate queries (across
    keys) keeps pushing the victim's answer toward a decision boundary. Needs the model's scores
    or labels in the replies (no outputs, no opinion). False-positive budget: <= 1% of benign
    sessions of each class in bench/RESULTS.md (natural use, retries with light edits,
    near-duplicate video frames, brightness/contrast optimisers, batch scoring)."""

    name = "boundary-search"
    modalities = NUMERIC  # it compares input values
    response = {"action": "degrade", "mode": "labels", "duration_s": 3600}
    title = "Black-box attack search (queries driven to a decision boundary)"
    technique_ids = ("AML.T0043.001", "AML.T0043", "AML.T0040")
    Params = BoundaryParams

    def setup(self, context: Context) -> None:
        self.index: NearIndex | None = None  # sized by the first query's input
        self.scopes: OrderedDict[str, _Scope] = OrderedDict()
        # per client, its latest entries: searched beside the hash buckets, so a client's own
        # recent queries are never missed by the hashing (an array of IDs, not the vectors)
        self.recent: OrderedDict[str, np.ndarray] = OrderedDict()
        # per chain with links: its low, which moves down in whole steps only
        self.lows: OrderedDict[int, float] = OrderedDict()
        # per chain with probes: how many (the first chain_probes - 1 held back until it has more)
        self.held: OrderedDict[int, int] = OrderedDict()

    def state_size(self) -> int:
        """The largest of its tables (scopes holding evidence, chains holding a lowest margin,
        clients' latest entries, chains' probe counts), each bounded by ``max_clients``; the shared index is fixed in
        size (``index_size``)."""
        return max(len(self.scopes), len(self.lows), len(self.recent), len(self.held))

    def _scope(self, name: str) -> _Scope:
        scope = self.scopes.get(name)
        if scope is None:
            scope = self.scopes[name] = _Scope()
            if len(self.scopes) > self.params.max_clients:
                self.scopes.popitem(last=False)
        else:
            self.scopes.move_to_end(name)
        return scope

    def observe(self, event: QueryEvent) -> list[Alert]:
        if event.inputs is None or event.outputs is None or event.outputs.ndim != 2 or not event.n \
                or len(event.outputs) != event.n:
            return []
        features = event.inputs[0].size
        if self.index is None:
            self.index = NearIndex(features, size=self.params.index_size)
        elif features != self.index.features:
            return []
        index, p = self.index, self.params
        zs = index.embed(event.inputs)
        labels = event.outputs.argmax(axis=1)
        recent = self.recent.pop(event.client, None)
        if recent is None:
            recent = np.full(p.recent + 1, -1, dtype=np.int64)
            recent[-1] = 0  # the last cell is where the next entry goes
        self.recent[event.client] = recent
        if len(self.recent) > p.max_clients:
            self.recent.popitem(last=False)
        alerts: list[Alert] = []
        for z, out, label in zip(zs, event.outputs, labels, strict=True):
            label = int(label)
            codes = index.codes(z)
            entry, cos = index.nearest(z, codes, recent[:-1])
            recent[recent[-1]], recent[-1] = index.next, (recent[-1] + 1) % p.recent  # this query, added next
            chain = -1
            if entry >= 0 and cos >= p.near:
                chain, near_label, _ = index.entry(entry)
                to_start = index.cosine(chain, z)
                if to_start is None or to_start < p.ball:
                    # a stream that drifts (a video, a user browsing similar images) keeps
                    # starting new chains; an attack circles the input it started from
                    chain = -1
            if chain < 0:
                index.add(z, codes, index.next, label, log_margin(out, label))
                continue
            revisits = index.link(entry)
            _, start_label, start_margin = index.entry(chain)
            index.add(z, codes, chain, label, log_margin(out, label))
            margin = log_margin(out, start_label)
            low = self.lows.pop(chain, start_margin)
            # a move only counts around a point queried before: a search circles the point it
            # stands on (gradient estimates, candidates around the best so far); a video passes
            # each frame once
            lower = revisits >= p.revisits and margin <= low - p.step
            # judged against the neighbour's own answer and the chain's lowest so far, never
            # against the start alone: a popular input re-sent by many users links to its own
            # earlier copies (same answer, no probe), however far its chain's start lies
            flip = revisits >= p.revisits and label != near_label
            probe = flip or lower
            # the low moves only in whole steps: a search that lowers the margin a little at a
            # time adds up to a probe every few steps, a retry's wobble never does
            self.lows[chain] = margin if lower else low
            if len(self.lows) > p.max_clients:
                self.lows.popitem(last=False)
            alerts.extend(self._count(event, chain, int(probe), self._weigh(chain) if probe else 0))
        return alerts

    def _weigh(self, chain: int) -> int:
        """How many probes this one makes count: none while its chain holds fewer than
        ``chain_probes``, then the ones held back with it, then one each."""
        n = self.held.pop(chain, 0) + 1
        self.held[chain] = n
        if len(self.held) > self.params.max_clients:
            self.held.popitem(last=False)
        need = self.params.chain_probes
        return 0 if n < need else need if n == need else 1

    def _count(self, event: QueryEvent, chain: int, probe: int, weight: int) -> list[Alert]:
        """Count a linked query in its scopes: the chain's own count takes every probe; the
        key's, address's and network's take its ``weight`` (probes held back until their chain
        has held ``chain_probes``)."""
        p = self.params
        scopes = [(f"key {event.client}", p.evidence, weight, p.key_min_share),
                  (f"chain {chain}", p.evidence, probe, p.min_share)]
        if event.address:
            scopes.append((f"address {event.address}", p.address_evidence, weight, p.min_share))
            network = network_of(event.address)
            if network:
                scopes.append((f"network {network}", p.network_evidence, weight, p.min_share))
        alerts = []
        for name, threshold, counted, share in scopes:
            scope = self._scope(name)
            scope.evidence = scope.evidence * p.decay + counted
            scope.probes += 1
            scope.boundary += counted
            # the group is the keys whose queries moved toward the boundary: a user who only
            # shares the address (an office NAT) or re-sends a popular input is not named
            if counted and event.client not in scope.keys and len(scope.keys) < _COUNTED_KEYS:
                scope.keys[event.client] = None
            if scope.evidence >= threshold and scope.boundary >= share * scope.probes \
                    and event.time - scope.alerted > p.realert_s:
                scope.alerted = event.time
                # every scope that crosses says so (each once per realert_s): the key's alert names
                # one key, the chain's or the address's names the group behind it
                alerts.append(self._alert(event, name, scope))
        return alerts

    def _alert(self, event: QueryEvent, name: str, scope: _Scope) -> Alert:
        keys = list(scope.keys)[: self.params.max_keys_named]
        count = len(scope.keys)
        shown = f"{count}+" if count >= _COUNTED_KEYS else str(count)
        message = (f"{scope.boundary} of {scope.probes} near-duplicate queries pushed the answer toward a decision "
                   f"boundary ({name}, {shown} key{'s' if count != 1 else ''}): black-box attack search")
        return self.alert(event, "high", message, scope=name, keys=keys, key_count=count,
                          key_count_capped=count >= _COUNTED_KEYS, probes=scope.probes, boundary_probes=scope.boundary)
