"""Gateway state shared by replicas through Redis (``state: redis://host:port/db``).

What is shared, and how:

- measures (block, throttle, degrade, ...): one hash per client and measure,
  ``advmatrix:m:<client>:<measure>``, expiring when the measure does. The replica that raises
  the alert writes it and publishes it on ``advmatrix:measures``; every replica applies what it
  hears to its own :class:`~advmatrix.respond.Responder`, which is the local mirror admission
  reads, so admitting a request costs no round trip. A replica loads every record when it
  (re)connects. ``strict`` reads the client's records from Redis on every request instead.
- throttling: one token bucket per client in Redis, taken atomically by a Lua script, so N
  replicas let a throttled client through at the configured rate, not N times it.
- volume: per-client and total query counts in bucketed counters with expiry (a sliding window
  approximated over ten buckets), written after the reply; the volume detector is fed the
  counts of every replica.

Redis being down never stops the proxy: errors are counted, the listener reconnects with
backoff and reloads the records, and meanwhile requests are admitted on the local mirror
(``state_failure: open``) or refused with 503 (``closed``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import orjson
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

if TYPE_CHECKING:
    from ..detect import Detector
    from ..respond import Responder

log = logging.getLogger("advmatrix.gateway.state")

PREFIX = "advmatrix:"
CHANNEL = PREFIX + "measures"
ALERTS = PREFIX + "alerts"  # what detect workers raise (``._stream``)
_ALERTS_B = ALERTS.encode()
_BUCKETS = 10  # of a volume window: finer costs more keys per read, coarser blurs the window's edge

# Redis's own clock, not the replicas': their clocks differ, and a bucket refilled by a replica
# running ahead would let extra requests through. Capacity 1, as the in-process throttle.
_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or 1
local ts = tonumber(b[2]) or now
tokens = math.min(1, tokens + math.max(0, now - ts) * rate)
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], ttl)
return ok
"""

_DOWN = (RedisError, OSError)
_POOL = 32  # Redis connections per replica


def redacted(url: str) -> str:
    """The state URL as logs may show it: the password replaced by ``***``."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        port = f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
    except ValueError:
        return "(unparsable URL)"


class SharedState:
    """Blocks, throttles, degradations and volume counts of a gateway replica kept in Redis.

    ``responder`` is the replica's own, used as the mirror; ``failure`` is ``open`` or
    ``closed``; ``strict`` checks Redis on every request. Start it on the server's loop with
    :meth:`start`; :attr:`up` says whether Redis is reachable, :attr:`errors` counts failures
    by operation."""

    down = _DOWN  # what a command to an unreachable Redis raises

    def __init__(self, url: str, responder: Responder, *, failure: str = "open", strict: bool = False,
                 max_clients: int = 100_000):
        self.url = url
        self.shown = redacted(url)  # for logs: never the password
        self.responder = responder
        self.failure = failure
        self.strict = strict
        self.max_clients = max_clients
        self.up = False
        self.errors: dict[str, int] = {"admit": 0, "write": 0, "listen": 0, "volume": 0, "stream": 0}
        #: called with each alert a detect worker publishes (``detection: workers``)
        self.on_alert: Callable[[bytes], None] | None = None
        self.redis: aioredis.Redis | None = None
        self._bucket: Any = None
        self._listener: asyncio.Task | None = None
        self._ready: asyncio.Event | None = None
        self._pending: set[asyncio.Task] = set()
        # per client: (its count, the total) over the window, from the last read of this replica
        self._volume: OrderedDict[str, tuple[int, int]] = OrderedDict()
        names = {r.name for r in responder.rules.values() if r.holds}
        self.names = tuple(sorted(names | {"block", "throttle", "degrade"}))

    # -- life ---------------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        """Whether :meth:`start` ran (on this loop)."""
        return self._listener is not None

    async def start(self, wait_s: float = 2.0) -> None:
        """Connect, load the records in force and listen for changes; waits up to ``wait_s`` for
        the first load (a replica started while Redis is down starts anyway and catches up)."""
        if self._listener is not None:
            return
        # no retries inside redis-py: a command to a dead Redis fails at once and the request
        # goes on (fail open or closed); reconnection is the listener's job
        # a bounded pool: without one, every request in flight opens its own connection for the
        # writes that follow it (48 with 16 in flight in bench/scaleout_bench.py); beyond the bound
        # a command waits briefly for a free connection, then counts as a failure
        pool = aioredis.BlockingConnectionPool.from_url(self.url, max_connections=_POOL, timeout=0.5,
                                                        socket_connect_timeout=0.25, socket_timeout=0.5,
                                                        retry=Retry(NoBackoff(), 0), health_check_interval=0)
        self.redis = aioredis.Redis(connection_pool=pool)
        self._bucket = self.redis.register_script(_TOKEN_BUCKET)
        self._ready = asyncio.Event()
        self._listener = asyncio.get_running_loop().create_task(self._listen())
        try:
            await asyncio.wait_for(self._ready.wait(), wait_s)
        except TimeoutError:
            log.warning("shared state %s not reachable yet; serving with state_failure=%s", self.shown, self.failure)

    async def aclose(self) -> None:
        """Stop listening and close the connections."""
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        if self._pending:
            await asyncio.wait(self._pending, timeout=2)
        if self.redis is not None:
            await self.redis.aclose(close_connection_pool=True)
            self.redis = None

    def failed(self, op: str, exc: BaseException) -> None:
        """Count a failed operation; only the listener marks Redis down."""
        self.errors[op] += 1
        if self.up and op == "listen":
            log.warning("shared state %s: %s; state_failure=%s until it is back", self.shown,
                        exc.__class__.__name__, self.failure)
        # only the listener says Redis is down or back: one failed command (a timeout) is not
        # an outage, and a flag set here would have no one to clear it
        if op == "listen":
            self.up = False

    async def _listen(self) -> None:
        delay = 0.05
        while True:
            pubsub = None
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                # before loading: nothing published in between is missed
                await pubsub.subscribe(CHANNEL, *((ALERTS,) if self.on_alert is not None else ()))
                await self._load()
                if not self.up:
                    log.info("shared state %s: connected", self.shown)
                self.up, delay = True, 0.05
                self._ready.set()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    if message["channel"] == _ALERTS_B:
                        self.on_alert(message["data"])
                    else:
                        self._apply(message["data"])
                raise ConnectionError("subscription ended")
            except asyncio.CancelledError:
                raise
            except (*_DOWN, ConnectionError) as exc:
                self.failed("listen", exc)
            finally:
                if pubsub is not None:
                    try:
                        await pubsub.aclose()
                    except _DOWN:
                        pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _load(self) -> None:
        keys = [k async for k in self.redis.scan_iter(match=PREFIX + "m:*", count=1000)]
        if not keys:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            records = await pipe.execute()
        rows = [_row(r) for r in records if r]
        self.responder.restore([r for r in rows if r and r["until"] > time.time()])

    def _apply(self, data: bytes) -> None:
        try:
            doc = orjson.loads(data)
            if doc["op"] == "lift":
                self.responder.lift(doc["client"])
            elif doc["op"] == "hold" and float(doc["until"]) > time.time():
                self.responder.restore([{"client": doc["client"], "measure": doc["measure"],
                                         "until": float(doc["until"])}])
        except (ValueError, KeyError, TypeError):
            log.warning("shared state: ignored a malformed message on %s", CHANNEL)

    def spawn(self, coro: Coroutine) -> None:
        """Run ``coro`` in the background on the running loop (dropped when there is none)."""
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # detectors driven outside a server (tests, replays): nothing shared
            coro.close()
            return
        self._pending.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._pending.discard)

    # -- measures -----------------------------------------------------------------------------------
    def hold(self, client: str, measure: str, until: float) -> None:
        """Share a measure this replica just took (written and published in the background)."""
        if self.redis is not None:
            self.spawn(self._hold(client, measure, until))

    async def _hold(self, client: str, measure: str, until: float) -> None:
        key = f"{PREFIX}m:{client}:{measure}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping={"client": client, "measure": measure, "until": repr(until)})
                pipe.pexpireat(key, int(until * 1000))
                pipe.publish(CHANNEL, orjson.dumps({"op": "hold", "client": client, "measure": measure,
                                                    "until": until}))
                await pipe.execute()
        except _DOWN as exc:
            self.failed("write", exc)

    def publish_alert(self, data: bytes) -> None:
        """Tell every replica about an alert (a detect worker's; sent in the background)."""
        if self.redis is not None:
            self.spawn(self._publish(ALERTS, data))

    async def _publish(self, channel: str, data: bytes) -> None:
        try:
            await self.redis.publish(channel, data)
        except _DOWN as exc:
            self.failed("write", exc)

    async def lift(self, client: str) -> bool:
        """End every measure on ``client`` on every replica; False when Redis could not be told
        (it is lifted here all the same)."""
        self.responder.lift(client)
        if self.redis is None:
            return False
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(*(f"{PREFIX}m:{client}:{name}" for name in self.names), f"{PREFIX}tb:{client}")
                pipe.publish(CHANNEL, orjson.dumps({"op": "lift", "client": client}))
                await pipe.execute()
            return True
        except _DOWN as exc:
            self.failed("write", exc)
            return False

    async def admit(self, client: str) -> tuple[int, str] | None:
        """None to let the request through, or (status, reason): the mirror's measures, the
        throttle taken from the shared bucket."""
        if not self.up:
            return self._unshared(client)
        try:
            if self.strict:
                await self._refresh(client)
            measures = self.responder.measures(client)
            if not measures:  # the common case: no measure on this client, no round trip
                return None
            now = time.time()
            for measure in list(measures.values()):
                response = measure.response
                rate = getattr(response.params, "rate", None)
                if response.name == "throttle" and rate:
                    ttl = max(int((measure.until - now) * 1000), 1000)
                    if not await self._bucket(keys=[f"{PREFIX}tb:{client}"], args=[rate, ttl]):
                        return 429, "client throttled"
                    continue
                refused = response.admit(measure, now)
                if refused:
                    return refused
            return None
        except _DOWN as exc:
            self.failed("admit", exc)
            return self._unshared(client)

    def _unshared(self, client: str) -> tuple[int, str] | None:
        if self.failure == "closed":
            return 503, "gateway state unavailable"
        return self.responder.admit(client)

    async def _refresh(self, client: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in self.names:
                pipe.hgetall(f"{PREFIX}m:{client}:{name}")
            records = await pipe.execute()
        now = time.time()
        rows = [r for r in map(_row, records) if r and r["until"] > now]
        if rows or self.responder.measures(client):
            self.responder.lift(client)
            self.responder.restore(rows)

    # -- volume -------------------------------------------------------------------------------------
    def share_volume(self, detector: Detector) -> None:
        """Feed ``detector`` (a :class:`~advmatrix.detect.volume.Volume`) the counts of every
        replica: each observation is counted in Redis after the reply, and the detector sees the
        client's and the service's counts as of this replica's last read (one query behind at
        most), its own code deciding as in-process."""
        observe: Callable = detector.observe
        window = float(detector.params.window_s)

        def shared_observe(event: Any) -> list:
            n = max(event.n, 1)
            seen = self._volume.get(event.client)
            if self.redis is not None:
                self.spawn(self._count(event.client, n, window))
            if seen is not None and self.up:
                # seeding the detector's window with the shared counts: its thresholds, re-alert
                # quiet time and alert texts stay the detector's own
                detector.seed(event.client, event.time, seen[0], seen[1])
            return observe(event)

        detector.observe = shared_observe  # the instance only: other gateways' detectors stay local

    async def _count(self, client: str, n: int, window: float) -> None:
        step = window / _BUCKETS
        now = time.time()
        bucket = int(now // step)
        ttl = int(window + 2 * step) + 1
        ckey, tkey = f"{PREFIX}v:{client}:", f"{PREFIX}v::"
        span = range(bucket - _BUCKETS, bucket + 1)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.incrby(f"{ckey}{bucket}", n).expire(f"{ckey}{bucket}", ttl)
                pipe.incrby(f"{tkey}{bucket}", n).expire(f"{tkey}{bucket}", ttl)
                pipe.mget([f"{ckey}{b}" for b in span]).mget([f"{tkey}{b}" for b in span])
                *_, mine, total = await pipe.execute()
        except _DOWN as exc:
            self.failed("volume", exc)
            return
        # the oldest bucket is only partly inside the window
        weight = 1.0 - (now - bucket * step) / step
        counts = self._volume
        counts.pop(client, None)
        counts[client] = (_window(mine, weight), _window(total, weight))
        if len(counts) > self.max_clients:
            counts.popitem(last=False)


def _window(values: list, weight: float) -> int:
    numbers = [int(v or 0) for v in values]
    return round(numbers[0] * weight) + sum(numbers[1:])


def _row(record: dict) -> dict[str, Any] | None:
    try:
        return {"client": record[b"client"].decode(), "measure": record[b"measure"].decode(),
                "until": float(record[b"until"])}
    except (KeyError, ValueError, UnicodeDecodeError):
        return None
