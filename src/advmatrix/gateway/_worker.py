"""A detect worker: the gateway's classifier detectors fed from the replicas' event streams.

With ``detection: workers`` the replicas write each observed query to a shard stream
(:mod:`._stream`) and run no classifier detector themselves. Workers share the shards out: a
worker owns a shard while it holds the shard's lease (a Redis key with expiry that it renews),
and reads it in the consumer group ``detect``, acknowledging each batch once its detectors have
seen it. Each worker takes ``ceil(shards / live workers)`` shards, so a worker that joins gets
its share and standby workers (more workers than shards) wait for one to free up.

When a worker dies, its leases expire (``lease_s``) and another worker takes the shards over:
it first replays the shard's last ``replay`` events that were already handled (alerts
suppressed), which rebuilds the detectors' state, then claims the events the dead worker had
read but not acknowledged and handles them with alerts on, then goes on with new ones. So an
event is handled at least once, and a search that was half-way to an alert when its worker died
still alerts on time.

The detectors, the responses, the store and the SIEM outputs are those of a
:class:`~advmatrix.gateway.Gateway` built from the same configuration: the code that decides is
the code an in-process gateway runs. Measures reach every replica through the shared state, and
alerts through ``advmatrix:alerts``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
from collections.abc import Callable
from typing import Any

from redis.exceptions import ResponseError

from ..errors import UsageError
from ._app import Gateway
from ._config import GatewayConfig
from ._stream import GROUP, META, WORKERS, decode_event, encode_alert, epoch_key, lease_key, store_identity, stream_key

log = logging.getLogger("advmatrix.gateway.worker")

# taking a lease counts an epoch, so that a lease can be fenced
_TAKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('INCR', KEYS[2]) end
return 0
"""
# only the holder renews or releases a lease. A lease that lapsed while its holder was busy (a
# batch or a page of history slower than the lease) is taken back only if no other worker took
# it in the meantime: the epoch is still the one this worker took; otherwise the shard's state
# moved on without this worker and it must let go
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not holder and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_PAGE = 500  # stream entries per read while taking a shard over


def default_name() -> str:
    """A worker name unique on this network: host and process."""
    return f"{socket.gethostname()}-{os.getpid()}"


class _Publishing:
    """The gateway's event writer, also publishing each alert to the replicas."""

    def __init__(self, writer: Any, worker: DetectWorker):
        self._writer = writer
        self._worker = worker

    def alert(self, alert: Any) -> None:
        self._writer.alert(alert)
        w = self._worker
        w.alerts += 1
        w.gateway.state.publish_alert(encode_alert(alert, w.store_id, w.name))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)


class DetectWorker:
    """One worker: builds the detectors from ``config`` (which must say ``detection: workers``
    and name the shared state) and runs them over the shards it owns until :meth:`stop`.

    ``on_shards`` is called with the sorted shards owned whenever they change. Counters:
    ``handled`` events (``replayed`` of them silently, ``malformed`` entries skipped), ``alerts``."""

    def __init__(self, config: GatewayConfig, name: str | None = None, *, lease_s: float = 3.0, replay: int = 10_000,
                 batch: int = 256, on_shards: Callable[[list[int]], None] | None = None):
        if config.detection != "workers" or not config.state:
            raise UsageError("a detect worker needs the replicas' configuration: state: redis://... and "
                             "detection: workers")
        for bad, what in ((lease_s <= 0, f"--lease {lease_s}: must be above 0 seconds"),
                          (replay < 0, f"--replay {replay}: must be 0 or more events"),
                          (batch < 1, f"batch {batch}: must be at least 1")):
            if bad:
                raise UsageError(what)
        self.config = config
        self.name = name or default_name()
        self.lease_ms = int(lease_s * 1000)
        self.replay = replay
        self.batch = batch
        self.on_shards = on_shards
        self.gateway = Gateway(config, worker=True)
        self.gateway.writer = _Publishing(self.gateway.writer, self)
        self.store_id = store_identity(config.db)
        self.shards = config.shards
        self.owned: set[int] = set()
        self._epochs: dict[int, int] = {}  # shard -> the epoch of the lease this worker took
        self.handled = self.replayed = self.malformed = self.alerts = 0
        self.redis: Any = None
        self._stop = asyncio.Event()
        self._take_lease: Any = None
        self._renew: Any = None
        self._release: Any = None

    def wrap_writer(self, wrap: Callable[[Any], Any]) -> None:
        """Put ``wrap(writer)`` between the detectors and the store (the CLI's alert echo)."""
        self.gateway.writer._writer = wrap(self.gateway.writer._writer)

    def stop(self) -> None:
        """Finish the batch in hand, release the shards and return from :meth:`run`."""
        self._stop.set()

    # -- the loop -----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Own shards and handle their events until :meth:`stop`; Redis going away is waited out."""
        import redis.asyncio as aioredis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        gw = self.gateway
        await gw.astart()
        # a connection of its own: the shared state's 0.5 s socket timeout suits a proxy's small
        # commands, not a batch of stream entries (whose inputs may be images)
        self.redis = r = aioredis.Redis.from_url(self.config.state, socket_connect_timeout=1, socket_timeout=30,
                                                 retry=Retry(NoBackoff(), 0), health_check_interval=0)
        self._take_lease = r.register_script(_TAKE)
        self._renew = r.register_script(_RENEW)
        self._release = r.register_script(_RELEASE)
        await self._check_shards()
        every = self.lease_ms / 3000
        next_upkeep = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not self._stop.is_set():
                try:
                    if loop.time() >= next_upkeep:
                        await self._upkeep()
                        next_upkeep = loop.time() + every
                    if not self.owned:
                        await asyncio.wait_for(self._stop.wait(), every)
                        continue
                    streams = {stream_key(s): ">" for s in sorted(self.owned)}
                    replies = await r.xreadgroup(GROUP, self.name, streams, count=self.batch, block=100)
                    for key, entries in replies or ():
                        await self._handle(key, entries)
                except TimeoutError:
                    continue
                except (*gw.state.down, ConnectionError) as exc:
                    gw.state.failed("stream", exc)
                    log.warning("detect worker %s: Redis unreachable (%s); retrying", self.name, exc.__class__.__name__)
                    await asyncio.sleep(min(every, 1.0))
        finally:
            await self._leave()
            await r.aclose()
            await gw.aclose()
            gw.close()

    async def _check_shards(self) -> None:
        try:
            written = await self.redis.get(META)
        except self.gateway.state.down:
            return  # checked again by nothing: replicas started later write what they were given
        if written is not None and int(written) != self.shards:
            raise UsageError(f"the replicas write {int(written)} shards, this worker's configuration says "
                             f"shards: {self.shards}; give both the same configuration")

    async def _handle(self, key: bytes | str, entries: list, *, silent: bool = False) -> None:
        key = key.decode() if isinstance(key, bytes) else key
        gw = self.gateway
        ids = []
        for entry_id, fields in entries:
            ids.append(entry_id)
            if not fields:  # claimed after the stream trimmed it away
                continue
            try:
                event = decode_event(fields)
            except ValueError as exc:
                self.malformed += 1
                log.warning("detect worker %s: skipped entry %s of %s: %s", self.name, entry_id, key, exc)
                continue
            event.count = gw.count(event.client, event.n)  # this worker sees all of the client's queries
            gw.observed += event.n
            self.handled += 1
            self.replayed += silent
            gw.detect(event, silent=silent)
        if ids and not silent:
            await self.redis.xack(key, GROUP, *ids)

    # -- shards -------------------------------------------------------------------------------------
    async def _upkeep(self) -> None:
        """Heartbeat, renew the leases held, give back shards over this worker's share, take free
        ones up to it."""
        r = self.redis
        seconds, micros = await r.time()
        now = seconds + micros / 1e6
        async with r.pipeline(transaction=False) as pipe:
            pipe.zadd(WORKERS, {self.name: now})
            pipe.zremrangebyscore(WORKERS, "-inf", now - 3 * self.lease_ms / 1000)
            pipe.zcard(WORKERS)
            *_, live = await pipe.execute()
        share = math.ceil(self.shards / max(live, 1))
        before = set(self.owned)
        for shard in sorted(self.owned):
            if not await self._keep(shard):
                log.warning("detect worker %s: lost shard %d", self.name, shard)
                self.owned.discard(shard)
        for shard in sorted(self.owned, reverse=True)[:max(len(self.owned) - share, 0)]:
            await self._release(keys=[lease_key(shard)], args=[self.name])
            self.owned.discard(shard)
        if len(self.owned) < share:
            # start at a place of our own: workers starting together do not all race for shard 0
            start = sum(self.name.encode()) % self.shards
            for i in range(self.shards):
                shard = (start + i) % self.shards
                if len(self.owned) >= share:
                    break
                if shard in self.owned:
                    continue
                keys = [lease_key(shard), epoch_key(shard)]
                epoch = await self._take_lease(keys=keys, args=[self.name, self.lease_ms])
                if epoch:
                    self._epochs[shard] = int(epoch)
                    try:
                        taken = await self._take(shard)
                    except BaseException:
                        # give it back now rather than sit on a lease for a shard no one reads
                        await asyncio.shield(self._release(keys=[lease_key(shard)], args=[self.name]))
                        raise
                    if taken:
                        self.owned.add(shard)
        if self.owned != before and self.on_shards is not None:
            self.on_shards(sorted(self.owned))

    async def _take(self, shard: int) -> bool:
        """Rebuild the detectors' state from the shard's recent history, then handle what its last
        owner read and never acknowledged; False when the lease was lost on the way. Entries
        come in pages, the lease renewed after each: a long replay neither holds a whole history
        in memory nor outlives the lease."""
        r = self.redis
        key = stream_key(shard)
        try:
            await r.xgroup_create(key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        pending = await r.xpending(key, GROUP)
        if pending["pending"]:
            bound = b"(" + _b(pending["min"])
        else:
            groups = await r.xinfo_groups(key)
            bound = next((_b(g["last-delivered-id"]) for g in groups if _b(g["name"]) == GROUP.encode()), b"0-0")
        if self.replay and bound not in (b"0-0", b"(0-0"):
            start = await self._history_start(key, bound)
            while start is not None:
                page = await r.xrange(key, min=start, max=bound, count=_PAGE)
                if not page:
                    break
                await self._handle(key, page, silent=True)
                start = b"(" + _b(page[-1][0]) if len(page) == _PAGE else None
                if not await self._keep(shard):
                    return False
        start = "0-0"
        while True:
            reply = await r.xautoclaim(key, GROUP, self.name, min_idle_time=0, start_id=start, count=self.batch)
            start, claimed = reply[0], reply[1]
            if claimed:
                await self._handle(key, claimed)
            if _b(start) == b"0-0" or not await self._keep(shard):
                break
        return await self._keep(shard)

    async def _history_start(self, key: str, bound: bytes) -> bytes | None:
        """The ID ``replay`` entries back from ``bound`` (or the stream's first), walked back in
        pages; None when there is nothing before it."""
        r, left, cursor, start = self.redis, self.replay, bound, None
        while left > 0:
            page = await r.xrevrange(key, max=cursor, min="-", count=min(left, _PAGE))
            if not page:
                break
            start = _b(page[-1][0])
            left -= len(page)
            cursor = b"(" + start
        return start

    async def _keep(self, shard: int) -> bool:
        """Renew the shard's lease; False when another worker holds it now."""
        keys = [lease_key(shard), epoch_key(shard)]
        return bool(await self._renew(keys=keys, args=[self.name, self.lease_ms, self._epochs.get(shard, -1)]))

    async def _leave(self) -> None:
        """Give the shards back at once (a successor need not wait for the leases to expire)."""
        r = self.redis
        if r is None or self._release is None:
            return
        try:
            for shard in sorted(self.owned):
                await self._release(keys=[lease_key(shard)], args=[self.name])
            await r.zrem(WORKERS, self.name)
        except self.gateway.state.down:
            pass  # the leases expire by themselves
        self.owned.clear()


def _b(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()
