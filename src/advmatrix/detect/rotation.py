"""One client behind many API keys: new keys arriving fast from one address or network
(AML.T0021 Establish Accounts, AML.T0040).

Per-key detectors see an attacker who takes a new key every few queries as many short, harmless
sessions. What the keys share is where they come from: an office or a carrier NAT shows the
same handful of keys day after day, while a rotating attacker shows keys never seen before, one
after another. The detector counts, per address and per network (/24 IPv4, /64 IPv6), the keys
first seen there within a sliding window, and alerts naming the group and its keys.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from pydantic import Field

from ..plugins import Context
from ._base import Alert, Detector, DetectorParams, QueryEvent
from .boundary import network_of


class RotationParams(DetectorParams):
    window_s: float = Field(600.0, gt=0, description="sliding window for counting new keys")
    max_new_keys: int = Field(6, ge=1, description="new keys from one address in the window before it alerts")
    network_new_keys: int = Field(12, ge=1, description="the same for one network (0 turns the network off)")
    max_keys_named: int = Field(20, ge=1, description="keys an alert lists by name")
    realert_s: float = Field(3600.0, ge=0, description="quiet time before the same address alerts again")


class _Group:
    __slots__ = ("alerted", "keys", "new")

    def __init__(self) -> None:
        self.new: deque[float] = deque()               # when each new key appeared, oldest first
        self.keys: OrderedDict[str, None] = OrderedDict()  # the latest keys, capped at max_keys_named
        self.alerted = -1e18


class KeyRotation(Detector):
    """Alerts when one address (or network) presents more than ``max_new_keys`` keys never seen
    before within ``window_s``. False-positive budget: 0 of the benign sessions in
    bench/RESULTS.md, offices behind one NAT included; a carrier-grade NAT that hands one
    address to thousands of new users would alert, so the default response is alert only and
    such networks belong in ``alert_only_clients`` or a higher threshold."""

    name = "key-rotation"
    title = "Many new API keys from one address or network"
    technique_ids = ("AML.T0021", "AML.T0040")
    Params = RotationParams

    def setup(self, context: Context) -> None:
        self.seen: OrderedDict[str, None] = OrderedDict()  # keys seen, least recently first
        self.groups: OrderedDict[str, _Group] = OrderedDict()

    def state_size(self) -> int:
        """Keys remembered or groups counted, whichever is more (each bounded by ``max_clients``)."""
        return max(len(self.seen), len(self.groups))

    def observe(self, event: QueryEvent) -> list[Alert]:
        p = self.params
        if event.client in self.seen:
            self.seen.move_to_end(event.client)
            return []
        self.seen[event.client] = None
        if len(self.seen) > p.max_clients:
            self.seen.popitem(last=False)
        if not event.address or not event.client.startswith("key:"):
            return []  # a client named by its address is its own group already
        scopes = [(f"address {event.address}", p.max_new_keys)]
        network = network_of(event.address)
        if network and p.network_new_keys:
            scopes.append((f"network {network}", p.network_new_keys))
        alerts: list[Alert] = []
        for name, limit in scopes:
            group = self.groups.get(name)
            if group is None:
                group = self.groups[name] = _Group()
                if len(self.groups) > p.max_clients:
                    self.groups.popitem(last=False)
            else:
                self.groups.move_to_end(name)
            group.new.append(event.time)
            while group.new and group.new[0] < event.time - p.window_s:
                group.new.popleft()
            group.keys[event.client] = None
            if len(group.keys) > p.max_keys_named:
                group.keys.popitem(last=False)
            if len(group.new) > limit and event.time - group.alerted > p.realert_s and not alerts:
                group.alerted = event.time
                alerts.append(self.alert(
                    event, "medium", f"{len(group.new)} new API keys from {name} in {p.window_s:.0f} s: one client "
                    "rotating keys", scope=name, keys=list(group.keys), key_count=len(group.new)))
        return alerts
