"""SIEM outputs for the gateway's alerts: Splunk HEC, Elasticsearch ``_bulk`` and syslog (RFC 5424).

Each sink owns a bounded queue and one worker task on the gateway's event loop. ``submit`` only
appends to the queue (or, when it is full, drops the alert and counts it): the proxy never waits
for a SIEM. The worker sends batches of up to ``batch_size`` alerts, at the latest ``flush_s``
after the first one queued, and retries a batch on 429, 5xx and connection errors with
exponential backoff and full jitter; what still fails is counted, logged and let go. ``aclose``
sends what is queued within ``shutdown_s``, and counts what it could not as dropped.

Counters (``sent``, ``failed``, ``dropped``, ``retried``) and ``depth`` are plain attributes the
gateway's Prometheus collector reads at scrape time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import random
import socket
from collections import deque
from typing import Any, ClassVar

import aiohttp
import orjson

from ..report.ecs import parse_timestamp
from ._config import ElasticsearchSink, SplunkHecSink, SyslogSink

log = logging.getLogger("advmatrix.gateway.sinks")

#: syslog severity (RFC 5424 section 6.2.1) per alert severity
SYSLOG_SEVERITY: dict[str, int] = {"critical": 2, "high": 3, "medium": 4, "low": 5}


class Retry(Exception):
    """The whole batch may go through later: a 429, a 5xx, a connection error, a timeout."""


class Rejected(Exception):
    """The SIEM refused the batch for good (a 4xx other than 429: bad token, bad request)."""


class Sink:
    """A SIEM output: a bounded queue in front of a worker that batches, sends and retries.
    Subclasses implement :meth:`send` for one batch."""

    kind: ClassVar[str] = ""

    def __init__(self, config: Any, name: str | None = None):
        self.config = config
        self.name = name or config.name or config.kind
        self.queue: deque[dict[str, Any]] = deque()
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.retried = 0
        self._in_flight = 0
        self._closing = False
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    @property
    def depth(self) -> int:
        """Alerts queued or being sent."""
        return len(self.queue) + self._in_flight

    def submit(self, doc: dict[str, Any]) -> bool:
        """Queue an alert's ECS document; False (and counted) when the queue is full or closed.
        Never blocks; starts the worker on the running loop at the first alert."""
        if self._closing or len(self.queue) >= self.config.queue_size:
            self.dropped += 1
            return False
        self.queue.append(doc)
        if self._task is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # detectors driven outside a server: sent once a loop submits
                return True
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run(), name=f"advmatrix-sink-{self.name}")
        n = len(self.queue)
        if n == 1 or n >= self.config.batch_size:  # start the flush timer, or send a full batch now
            self._wake.set()
        return True

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        wake = self._wake
        while True:
            if not self.queue:
                if self._closing:
                    return
                wake.clear()
                await wake.wait()
                continue
            deadline = loop.time() + self.config.flush_s
            while len(self.queue) < self.config.batch_size and not self._closing:
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), deadline - loop.time())
                except TimeoutError:
                    break
            batch = [self.queue.popleft() for _ in range(min(self.config.batch_size, len(self.queue)))]
            self._in_flight = len(batch)
            try:
                await self._deliver(batch)
            except asyncio.CancelledError:
                self.failed += self._in_flight
                self._in_flight = 0
                raise
            except Exception:  # a bug in one sink must not end its worker or touch the proxy
                log.exception("sink %s: sending a batch failed", self.name)
                self.failed += self._in_flight
            self._in_flight = 0

    async def _deliver(self, batch: list[dict[str, Any]]) -> None:
        pending = batch
        for attempt in range(self.config.retries + 1):
            try:
                pending = await self.send(pending)
            except Rejected as exc:
                log.warning("sink %s: %d alerts refused: %s", self.name, len(pending), exc)
                self.failed += len(pending)
                return
            except Retry as exc:
                reason = exc
            else:
                if not pending:
                    return
                reason = Retry(f"{len(pending)} items to retry")
            self._in_flight = len(pending)
            if attempt == self.config.retries:
                break
            self.retried += 1
            # full jitter: replicas that failed together do not retry together
            await asyncio.sleep(random.uniform(0, self.config.backoff_s * 2 ** attempt))
        log.warning("sink %s: %d alerts not sent after %d attempts: %s", self.name, len(pending),
                    self.config.retries + 1, reason)
        self.failed += len(pending)

    async def send(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send one batch; count what went (``sent``) or was refused item by item (``failed``); return
        the documents to try again. Raises :class:`Retry` or :class:`Rejected` for the whole batch."""
        raise NotImplementedError

    async def _close_transport(self) -> None:
        """Release connections (after the worker has stopped)."""

    async def aclose(self) -> None:
        """Send what is queued within ``shutdown_s``; what is left then is dropped and counted."""
        self._closing = True
        task = self._task
        if task is not None and not task.done():
            self._wake.set()
            _, running = await asyncio.wait({task}, timeout=self.config.shutdown_s)
            if running:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.dropped += len(self.queue)
        self.queue.clear()
        await self._close_transport()


class _HttpSink(Sink):
    """A sink that POSTs each batch to one URL with aiohttp."""

    content_type: ClassVar[str] = "application/json"

    def __init__(self, config: Any, name: str | None = None):
        super().__init__(config, name)
        self.session: aiohttp.ClientSession | None = None
        self.headers = {"content-type": self.content_type, **self.auth_headers()}

    def auth_headers(self) -> dict[str, str]:
        """The authorization header, its secret read from the environment variable the config names."""
        return {}

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            connector = aiohttp.TCPConnector(limit=2, ssl=None if self.config.verify_tls else False)
            self.session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                                 timeout=aiohttp.ClientTimeout(total=self.config.timeout))
        return self.session

    async def post(self, url: str, body: bytes) -> bytes:
        """POST ``body``; the reply's body on 2xx. Raises :class:`Retry` or :class:`Rejected` otherwise."""
        try:
            async with self._session().post(url, data=body, headers=self.headers) as r:
                content = await r.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise Retry(exc.__class__.__name__) from None
        if r.status == 429 or r.status >= 500:
            raise Retry(f"HTTP {r.status}")
        if r.status >= 300:
            raise Rejected(f"HTTP {r.status}: {content[:200].decode('utf-8', 'replace')}")
        return content

    async def _close_transport(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


class SplunkHec(_HttpSink):
    """Splunk HTTP Event Collector: a batch is the events' JSON objects one after another."""

    kind = "splunk-hec"

    def __init__(self, config: SplunkHecSink, name: str | None = None):
        super().__init__(config, name)
        base = config.url.rstrip("/")
        self.url = base if base.endswith("/services/collector/event") else base + "/services/collector/event"
        self.host = socket.gethostname()

    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Splunk <token>``."""
        return {"authorization": "Splunk " + os.environ.get(self.config.token_env, "")}

    def envelope(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The HEC event for an ECS document (its time as epoch seconds)."""
        event = {"time": round(parse_timestamp(doc["@timestamp"]), 3), "host": self.host,
                 "source": self.config.source, "sourcetype": self.config.sourcetype, "event": doc}
        if self.config.index:
            event["index"] = self.config.index
        return event

    async def send(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST the batch; HEC accepts or refuses it whole."""
        await self.post(self.url, b"".join(orjson.dumps(self.envelope(d)) for d in batch))
        self.sent += len(batch)
        return []


class Elasticsearch(_HttpSink):
    """Elasticsearch ``_bulk``: a ``create`` action per alert (data streams accept only that)."""

    kind = "elasticsearch"
    content_type = "application/x-ndjson"

    def __init__(self, config: ElasticsearchSink, name: str | None = None):
        super().__init__(config, name)
        self.url = config.url.rstrip("/") + "/_bulk"
        self.action = orjson.dumps({"create": {"_index": config.index}})

    def auth_headers(self) -> dict[str, str]:
        """``ApiKey <key>``, or basic authentication, or none."""
        if self.config.api_key_env:
            return {"authorization": "ApiKey " + os.environ.get(self.config.api_key_env, "")}
        if self.config.username:
            pair = f"{self.config.username}:{os.environ.get(self.config.password_env, '')}".encode()
            return {"authorization": "Basic " + base64.b64encode(pair).decode()}
        return {}

    async def send(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST the batch; items refused with 429 or 5xx are tried again, other item errors counted."""
        body = b"".join(self.action + b"\n" + orjson.dumps(d) + b"\n" for d in batch)
        try:
            reply = orjson.loads(await self.post(self.url, body))
            items = reply["items"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise Retry("reply is not a _bulk response") from None
        if not reply.get("errors"):
            self.sent += len(batch)
            return []
        again = []
        for doc, item in zip(batch, items, strict=False):
            status = next(iter(item.values()), {}).get("status", 500) if isinstance(item, dict) else 500
            if status < 300:
                self.sent += 1
            elif status == 429 or status >= 500:
                again.append(doc)
            else:
                self.failed += 1
                log.warning("sink %s: alert refused (%s): %s", self.name, status,
                            next(iter(item.values()), {}).get("error"))
        return again


def _sd_value(value: str) -> str:
    # RFC 5424 section 6.3.3: '"', '\' and ']' are escaped inside PARAM-VALUE
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _token(value: str, limit: int) -> str:
    # header fields are PRINTUSASCII without spaces; '-' is the NILVALUE
    text = "".join(c if "!" <= c <= "~" else "_" for c in value)[:limit]
    return text or "-"


def syslog_message(doc: dict[str, Any], *, facility: int, app_name: str, sd_id: str, hostname: str,
                   procid: str) -> bytes:
    """An ECS alert as one RFC 5424 message: PRI from its severity, MSGID the detector, the ATLAS
    technique IDs and the alert's facts as structured data, its message as MSG."""
    ours = doc.get("advmatrix") or {}
    severity = SYSLOG_SEVERITY.get(ours.get("severity", ""), 4)
    technique = (doc.get("threat") or {}).get("technique") or {}
    # techniques, then sub-techniques: a rule on a parent matches its sub-techniques' alerts, as in ECS
    techniques = [*(technique.get("id") or []), *((technique.get("subtechnique") or {}).get("id") or [])]
    atlas = "".join(f' technique="{_sd_value(t)}"' for t in techniques)
    rule = (doc.get("rule") or {}).get("id", "")
    facts = {"detector": ours.get("detector", ""), "client": (doc.get("user") or {}).get("id", ""),
             "severity": ours.get("severity", ""), "action": ours.get("action") or "", "rule": rule}
    event_id = (doc.get("event") or {}).get("id")
    if event_id:
        facts["id"] = str(event_id)
    enterprise = sd_id.partition("@")[2]
    alert = "".join(f' {k}="{_sd_value(str(v))}"' for k, v in facts.items())
    structured = f"[{sd_id}{atlas}][alert@{enterprise or '32473'}{alert}]"
    header = (f"<{facility * 8 + severity}>1 {doc['@timestamp']} {_token(hostname, 255)} {_token(app_name, 48)} "
              f"{_token(procid, 128)} {_token(str(ours.get('detector', '')), 32)} ")
    return (header + structured + " " + str(doc.get("message", ""))).encode("utf-8")


class Syslog(Sink):
    """Syslog, RFC 5424: a datagram per alert over UDP, or octet-counted frames over one TCP
    connection (RFC 6587 section 3.4.1), opened again after an error."""

    kind = "syslog"

    def __init__(self, config: SyslogSink, name: str | None = None):
        super().__init__(config, name)
        self.hostname = socket.gethostname()
        self.procid = str(os.getpid())
        self._udp: asyncio.DatagramTransport | None = None
        self._writer: asyncio.StreamWriter | None = None

    def encode(self, doc: dict[str, Any]) -> bytes:
        """One alert as an RFC 5424 message."""
        c = self.config
        return syslog_message(doc, facility=c.facility, app_name=c.app_name, sd_id=c.sd_id, hostname=self.hostname,
                              procid=self.procid)

    async def send(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send the batch; a connection error retries the whole batch (TCP may then repeat some)."""
        messages = [self.encode(d) for d in batch]
        try:
            async with asyncio.timeout(self.config.timeout):
                if self.config.protocol == "udp":
                    if self._udp is None or self._udp.is_closing():
                        self._udp, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                            asyncio.DatagramProtocol, remote_addr=(self.config.host, self.config.port))
                    for m in messages:
                        self._udp.sendto(m)
                else:
                    if self._writer is None or self._writer.is_closing():
                        _, self._writer = await asyncio.open_connection(self.config.host, self.config.port)
                    self._writer.write(b"".join(str(len(m)).encode() + b" " + m for m in messages))
                    await self._writer.drain()
        except (TimeoutError, OSError) as exc:
            await self._close_transport()
            raise Retry(exc.__class__.__name__) from None
        self.sent += len(batch)
        return []

    async def _close_transport(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(1):
                    await writer.wait_closed()


SINKS: dict[str, type[Sink]] = {"splunk-hec": SplunkHec, "elasticsearch": Elasticsearch, "syslog": Syslog}


def build_sinks(configs: list[Any]) -> list[Sink]:
    """The sinks a gateway configuration's ``sinks:`` names; metric labels made unique by position."""
    names = [c.name or c.kind for c in configs]
    return [SINKS[c.kind](c, name if names.count(name) == 1 else f"{name}-{i}")
            for i, (c, name) in enumerate(zip(configs, names, strict=True))]


__all__ = ["SINKS", "SYSLOG_SEVERITY", "Elasticsearch", "Rejected", "Retry", "Sink", "SplunkHec", "Syslog",
           "build_sinks", "syslog_message"]
