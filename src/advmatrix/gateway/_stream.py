"""Classifier query events on Redis Streams, for detect workers (``detection: workers``).

A replica writes each observed query, after the reply has gone out, to one of ``shards``
streams (``advmatrix:ev:<shard>``, chosen by a hash of the client, so a client's events are in
one stream, in the order the replicas wrote them). The writes of one loop turn go out as one
pipeline; the streams are capped near ``stream_maxlen`` entries each, which also bounds what a
worker taking a shard over can replay. Workers (:mod:`._worker`) read the streams in the
consumer group ``detect`` and publish their alerts on ``advmatrix:alerts``; every replica
records what it hears there.

Events are encoded as a small JSON header plus the raw bytes of the input and output arrays:
pickle is out of the question for data a network peer could write, and ``.npy`` framing costs
more than the header it would replace.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from ..detect import QueryEvent
from ..store import Alert

if TYPE_CHECKING:
    from ._state import SharedState

log = logging.getLogger("advmatrix.gateway.stream")

PREFIX = "advmatrix:ev:"
GROUP = "detect"
META = PREFIX + "shards"      # the shard count the replicas write with, read by the workers
WORKERS = PREFIX + "workers"  # sorted set: worker name -> last heartbeat (Redis time)
_MAX_DIMS = 8


def stream_key(shard: int) -> str:
    """The stream holding one shard's events."""
    return f"{PREFIX}{shard}"


def lease_key(shard: int) -> str:
    """The key a worker holds (with expiry) while it owns a shard."""
    return f"{PREFIX}lease:{shard}"


def epoch_key(shard: int) -> str:
    """The count of times a shard's lease was taken: tells a worker whether its lapsed lease
    passed through other hands since."""
    return f"{PREFIX}epoch:{shard}"


def shard_of(client: str, shards: int) -> int:
    """The shard of a client's events: stable across replicas and restarts (not Python's
    ``hash``, which is salted per process)."""
    if shards == 1:
        return 0
    digest = hashlib.blake2b(client.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % shards


def store_identity(location: str) -> str:
    """A short name for a store location, equal for two processes writing to the same store
    (a server URL, or the same SQLite file by its resolved path), without the URL's password."""
    text = str(location)
    if "://" not in text:
        text = str(Path(text).expanduser().resolve())
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _array_head(array: np.ndarray | None) -> list | None:
    return None if array is None else [array.dtype.str, list(array.shape)]


def encode_event(event: QueryEvent) -> dict[bytes, bytes]:
    """The stream entry of an event: a JSON header and the arrays' bytes."""
    head = [event.client, event.time, event.path, event.status, event.bytes_in, event.latency_ms, event.count,
            event.address, _array_head(event.inputs), _array_head(event.outputs)]
    fields = {b"h": orjson.dumps(head)}
    if event.inputs is not None:
        fields[b"i"] = np.ascontiguousarray(event.inputs).tobytes()
    if event.outputs is not None:
        fields[b"o"] = np.ascontiguousarray(event.outputs).tobytes()
    return fields


def _array(head: Any, data: bytes | None) -> np.ndarray | None:
    if head is None:
        return None
    dtype, shape = np.dtype(head[0]), tuple(int(n) for n in head[1])
    # numbers, never objects: anyone who can write to the stream must not reach pickle
    if dtype.kind not in "biuf" or len(shape) > _MAX_DIMS or any(n < 0 for n in shape):
        raise ValueError(f"array {dtype.str} {shape} is not a numeric tensor")
    if data is None or len(data) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise ValueError("array bytes do not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def decode_event(fields: dict[bytes, bytes]) -> QueryEvent:
    """The event a stream entry holds; ValueError when the entry is not one (written by
    something else, or damaged)."""
    try:
        head = orjson.loads(fields[b"h"])
        client, time_, path, status, bytes_in, latency, count, address, ihead, ohead = head
        return QueryEvent(str(client), float(time_), _array(ihead, fields.get(b"i")), _array(ohead, fields.get(b"o")),
                          str(path), int(status), int(bytes_in), float(latency), int(count), str(address))
    except (KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"not an event entry ({exc.__class__.__name__})") from None


def encode_alert(alert: Alert, store: str, origin: str) -> bytes:
    """An alert as published to the replicas: the record, where it was stored, who raised it."""
    doc = {f.name: getattr(alert, f.name) for f in dataclasses.fields(alert) if f.name != "id"}
    return orjson.dumps(doc | {"store": store, "origin": origin}, option=orjson.OPT_SERIALIZE_NUMPY, default=str)


def decode_alert(data: bytes) -> tuple[Alert, str, str]:
    """(alert, store identity, origin) of a published alert; ValueError when it is not one."""
    try:
        doc = orjson.loads(data)
        store, origin = str(doc.pop("store")), str(doc.pop("origin"))
        return Alert(**doc), store, origin
    except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"not an alert message ({exc.__class__.__name__})") from None


class EventStream:
    """A replica's writer of events to the shard streams: :meth:`add` queues (never waits),
    one task per loop turn sends what is queued as one pipeline. While Redis is down events
    are dropped and counted (``dropped``): detection then misses them, the proxy does not wait."""

    def __init__(self, state: SharedState, shards: int, maxlen: int, max_queue: int = 10_000):
        self.state = state
        self.shards = shards
        self.maxlen = maxlen
        self.max_queue = max_queue
        self.sent = 0
        self.dropped = 0
        self._queue: deque[tuple[str, dict[bytes, bytes]]] = deque()
        self._flushing = False
        self._announced = False

    def add(self, event: QueryEvent) -> None:
        """Queue one event for its shard's stream."""
        if len(self._queue) >= self.max_queue or not self.state.up:
            self.dropped += 1
            return
        self._queue.append((stream_key(shard_of(event.client, self.shards)), encode_event(event)))
        if not self._flushing:
            self._flushing = True
            self.state.spawn(self._flush())

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), 1000))]
                try:
                    async with self.state.redis.pipeline(transaction=False) as pipe:
                        if not self._announced:
                            pipe.set(META, self.shards)
                        for key, fields in batch:
                            pipe.xadd(key, fields, maxlen=self.maxlen, approximate=True)
                        await pipe.execute()
                    self._announced = True
                    self.sent += len(batch)
                except (TimeoutError, OSError, ConnectionError, *self.state.down) as exc:
                    self.dropped += len(batch)
                    self.state.failed("stream", exc)
        finally:
            self._flushing = False
