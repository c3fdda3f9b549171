"""The monitoring gateway: an ASGI reverse proxy in front of a model server.

Per request: identify the client, refuse it if blocked or throttled, forward the request and
send the reply back. Only a client whose outputs are being degraded waits for the gateway to
read the reply first; for everyone else the reply goes out as soon as it arrives, and the
detectors, the responses their alerts call for and the event log run right after, before the
next request on this loop is handled. The upstream being down or slow gives the client a clean
502 or 504; the gateway stays up.

Events, alerts and measures are typed records (:mod:`advmatrix.store`) written by one
background thread (:class:`~advmatrix.store.EventWriter`) to the database ``config.db`` names
(a SQLite file, or a URL such as ``postgresql+psycopg://...``). ECS, the SIEM format, is made
only at the output edges: the JSONL file, the webhook, the SIEM sinks (:mod:`._sinks`) and
``GET /_advmatrix/alerts``.

The proxy path is plain ASGI over aiohttp rather than FastAPI routes over httpx: per request
those layers cost about as much CPU as the model server itself (bench/RESULTS.md), and the
gateway's budget is 2 ms. The admin API stays on FastAPI for its validation and OpenAPI.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import ipaddress
import json
import logging
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import numpy as np
import orjson
from prometheus_client import CollectorRegistry, generate_latest
from yarl import URL

from ..detect import ChatDetector, Detector, QueryEvent, client_key_id
from ..errors import UsageError
from ..report.ecs import to_ecs
from ..respond import Responder, build_response
from ..store import Alert, Event, EventStore, EventWriter
from ._chat import HOP_HEADERS, ChatPath
from ._config import GatewayConfig
from ._forwarded import forwarded_for, is_ip
from ._metrics import Metrics
from ._protocols import Protocols
from ._sinks import build_sinks

log = logging.getLogger("advmatrix.gateway")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_HOP = HOP_HEADERS
_ADMIN = "/_advmatrix/"


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # orjson is strict JSON; Python model servers commonly emit NaN/Infinity, which the
        # standard parser accepts. Raises ValueError when the body is not JSON at all.
        return json.loads(data)


async def _reply(send: Send, status: int, doc: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = orjson.dumps(doc)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def _check_responses(config: GatewayConfig, detectors: list[Detector]) -> None:
    """A response named for no detector is a typo: kept, it was never read, and the response meant for
    'volume' under 'volumee' left volume's default in force. Installed detectors not running are allowed
    (the emitted configuration lists their responses for when they are turned on)."""
    import difflib

    from ..detect import detectors as installed

    names = [d.name for d in detectors] + sorted(installed())
    for name in config.responses:
        if name not in names:
            near = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise UsageError(f"{config.where('responses', name)}: responses: '{name}' is not a detector{hint}")
    for i, entry in enumerate(config.allow):  # an allow-list entry naming no detector would match nothing
        for j, name in enumerate(entry.detectors):
            if name not in names:
                near = difflib.get_close_matches(name, names, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise UsageError(f"{config.where('allow', i, 'detectors', j)}: allow: '{name}' is not a detector{hint}")


@dataclass(frozen=True)
class Checked:
    """What :func:`check_gateway` built from a configuration: the detectors, the response rule of each,
    the protocol router and the allow rules."""

    detectors: list[Detector]
    rules: dict[str, dict[str, Any]]
    protocols: Protocols
    allow: Any


def check_gateway(config: GatewayConfig, detectors: list[Detector] | None = None) -> Checked:
    """Everything a gateway builds from its configuration before it opens its store or a socket, each
    problem a one-line :class:`UsageError` at its line (``advmatrix monitor --check`` stops here)."""
    detectors = detectors if detectors is not None else config.build_detectors()
    _check_responses(config, detectors)
    rules = {d.name: dict(d.response) for d in detectors} | config.responses
    for name, spec in config.responses.items():  # each the file gives, checked at its line
        try:
            build_response(spec, f"responses.{name}")
        except UsageError as exc:
            raise UsageError(f"{config.where('responses', name)}: responses.{name}: {exc}") from None
    protocols = Protocols(config.json_paths, config.protocols, where=lambda name: config.where("protocols", name))
    return Checked(detectors, rules, protocols, config.allow_rules())


class Gateway:
    """The proxy and what it keeps: detectors, the responder with the measures in force, the
    event store and its writer, per-client query counts (the ``max_clients`` least recently
    seen forgotten) and the counters its Prometheus metrics are read from.

    ``worker=True`` builds the same parts for a detect worker (:mod:`._worker`), which feeds the
    detectors from the event streams instead of serving."""

    def __init__(self, config: GatewayConfig, detectors: list[Detector] | None = None, *, worker: bool = False):
        self.config = config
        # all of it before the store: bad settings must leave no database behind
        ready = check_gateway(config, detectors)
        self.detectors, self.protocols = ready.detectors, ready.protocols
        self.titles = {d.name: d.title for d in self.detectors}  # rule.name of their ECS alerts
        self.responder = Responder(ready.rules, frozenset(config.alert_only_clients), config.max_clients)
        self.store = EventStore(config.db, retention=config.retention)
        self.writer = EventWriter(self.store)
        self.responder.restore(self.store.measures())  # blocks survive a restart
        self.tensor_detectors = [d for d in self.detectors if not isinstance(d, ChatDetector)]
        self.chat = ChatPath(self, [d for d in self.detectors if isinstance(d, ChatDetector)], ready.allow)
        self.max_clients = config.max_clients
        self.counts: OrderedDict[str, int] = OrderedDict()  # queries per client, least recently seen first
        self.observed = 0            # queries (inputs) the detectors saw
        self.observed_requests = 0   # requests they saw
        self.metrics: Counter[str] = Counter()
        self.latency_sum = 0.0
        self.registry = CollectorRegistry()  # this gateway's own: several may run in one process
        self.registry.register(Metrics(self))
        self.session: aiohttp.ClientSession | None = None
        self.upstream = config.upstream.rstrip("/")
        self.client_header = config.client_header.lower().encode("latin-1")
        # open for the gateway's life, closed by close()
        self.jsonl = open(config.alerts_jsonl, "a", encoding="utf-8") if config.alerts_jsonl else None
        self.sinks = build_sinks(config.sinks)
        if self.jsonl or config.webhook or self.sinks:
            from ..kb import bundled

            bundled()  # technique names for ECS: loaded now, not on the event loop at the first alert
        self._pending: set[asyncio.Task] = set()
        self.trusted = tuple(ipaddress.ip_network(c, strict=False) for c in config.trusted_proxies)
        self.state = None
        if config.state:
            from .._extras import require

            require("redis", feature="the shared gateway state (state: redis://...)")
            from ..detect.volume import Volume
            from ._state import SharedState

            self.state = SharedState(config.state, self.responder, failure=config.state_failure,
                                     strict=config.strict, max_clients=config.max_clients)
            # a detect worker sees every event of its clients: nothing to add up across replicas
            for detector in self.detectors if not worker else ():
                if isinstance(detector, Volume):
                    self.state.share_volume(detector)
        self.stream = None  # with detection: workers, where the classifier events go instead
        self.store_id = ""
        if config.detection == "workers" and not worker:
            from ._stream import EventStream, store_identity

            self.stream = EventStream(self.state, config.shards, config.stream_maxlen)
            self.store_id = store_identity(config.db)
            self.state.on_alert = self._worker_alert

    @staticmethod
    @functools.lru_cache(maxsize=65536)
    def client_id_for(api_key: str) -> str:
        """The client ID of an API key (hashed: the key itself is never kept)."""
        return client_key_id(api_key)

    def client_id(self, scope: Scope) -> str:
        """Who sent the request: its API key's ID (the configured header, else a bearer token, as
        LLM SDKs send their key), else its address."""
        bearer = None
        for name, value in scope["headers"]:
            if name == self.client_header and value:
                return self.client_id_for(value.decode("latin-1"))
            if name == b"authorization" and value[:7].lower() == b"bearer " and len(value) > 7:
                bearer = value[7:]
        if bearer is not None:
            return self.client_id_for(bearer.decode("latin-1"))
        return "ip:" + (self.client_address(scope) or "unknown")

    def client_address(self, scope: Scope) -> str:
        """The client's address: the peer's, or, when the peer is a trusted proxy, the rightmost
        address its X-Forwarded-For / Forwarded headers name that is not itself a trusted proxy
        (the ones left of it were written by the client and prove nothing)."""
        client = scope.get("client")
        peer = client[0] if client else ""
        if not self.trusted or not self._is_trusted(peer):
            return peer
        forwarded: list[str] = []
        xff: list[str] = []
        for name, value in scope["headers"]:
            if name == b"forwarded":
                forwarded.extend(forwarded_for(value.decode("latin-1")))
            elif name == b"x-forwarded-for":
                xff.extend(a.strip() for a in value.decode("latin-1").split(","))
        chain = forwarded or xff  # Forwarded (RFC 7239) is the standard one when a balancer sends both
        for address in reversed(chain):
            if not self._is_trusted(address):
                return address if is_ip(address) else peer  # garbage or "unknown": the balancer is who we know
        return chain[0] if chain and is_ip(chain[0]) else peer

    @functools.lru_cache(maxsize=4096)  # noqa: B019 (one gateway per process in practice; bounded)
    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None or self.session.closed:  # created on the server's own loop, on first use
            connector = aiohttp.TCPConnector(limit=self.config.max_connections, ttl_dns_cache=300)
            self.session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.config.timeout),
                # a proxy forwards what it is given: no cookies kept, no redirects followed, and
                # none of aiohttp's own default headers added to the client's
                cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"))
        return self.session

    async def _read_body(self, receive: Receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ConnectionResetError("client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.config.max_body:
                raise _TooLarge  # stop reading: an oversized body is never buffered whole
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request: admit, forward, reply, then observe."""
        started = time.perf_counter()
        client = self.client_id(scope)
        if self.state is None:
            refused = self.responder.admit(client)
        else:
            if not self.state.started:  # served without a lifespan (an embedding app's own server)
                await self.state.start(wait_s=0)
            refused = await self.state.admit(client)
        if refused:
            self.metrics[f"refused_{refused[0]}"] += 1
            await _reply(send, refused[0], {"error": refused[1]})
            return
        try:
            body = await self._read_body(receive)
        except _TooLarge:
            self.metrics["too_large"] += 1
            await _reply(send, 413, {"error": f"request body over {self.config.max_body} bytes"},
                         [(b"connection", b"close")])
            return
        except ConnectionResetError:
            return
        path: str = scope["path"]
        method: str = scope["method"]
        kind = self.protocols.kind(path) if method == "POST" else None
        chat = self.protocols.chat(kind)
        inputs = None
        if kind and chat is None:
            try:
                inputs = self.protocols.inputs(kind, _loads(body), path)
            except (ValueError, UnicodeDecodeError):
                self.metrics["malformed"] += 1
                await _reply(send, 400, {"error": "request body is not valid JSON"})
                return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k not in _HOP]
        raw_path = (scope.get("raw_path") or path.encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        # encoded=True: the client's own percent-encoding reaches the upstream unchanged
        url = URL(self.upstream + raw_path + ("?" + query if query else ""), encoded=True)
        if chat is not None:
            await self.chat.handle(chat, kind, client, body, path, headers, url, send, started)
            return
        try:
            async with self._session().request(method, url, data=body, headers=headers, allow_redirects=False) as up:
                content = await up.read()
                status = up.status
                out_headers = [(k.lower(), v) for k, v in up.raw_headers if k.lower() not in _HOP]
        except TimeoutError:
            self.metrics["upstream_timeout"] += 1
            await _reply(send, 504, {"error": "upstream timed out"})
            return
        except aiohttp.ClientError as exc:
            self.metrics["upstream_error"] += 1
            await _reply(send, 502, {"error": f"upstream unreachable: {exc.__class__.__name__}"})
            return
        self.metrics[f"status_{status}"] += 1
        observe = kind is not None and inputs is not None and status == 200
        outputs = None
        if observe and self.responder.degrading(client):
            outputs, content = self._degrade(client, kind, path, content)
        out_headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": content})
        if observe:
            try:
                self._observe(client, kind, path, inputs, outputs, content, len(body), started,
                              self.client_address(scope))
            except Exception:  # the reply is out; a detector bug must not take the gateway down
                self.metrics["observe_errors"] += 1
                log.exception("detectors failed on a query from %s", client)

    def _degrade(self, client: str, kind: str, path: str, content: bytes) -> tuple[np.ndarray | None, bytes]:
        """The model's own outputs (for the detectors) and the degraded reply to send instead."""
        try:
            reply = _loads(content)
        except ValueError:
            return None, content
        outputs = self.protocols.outputs(kind, reply, path)
        degraded = self.responder.degrade(client, outputs) if outputs is not None else None
        if degraded is None:
            return outputs, content
        self.metrics["degraded"] += 1
        return outputs, orjson.dumps(self.protocols.replace_outputs(kind, reply, path, degraded))

    def _observe(self, client: str, kind: str, path: str, inputs: np.ndarray, outputs: np.ndarray | None,
                 content: bytes, size: int, started: float, address: str = "") -> None:
        latency = (time.perf_counter() - started) * 1000
        if outputs is None:
            try:
                outputs = self.protocols.outputs(kind, _loads(content), path)
            except ValueError:
                outputs = None
        n = max(len(inputs), 1)
        count = self.count(client, n)
        self.observed += n
        self.observed_requests += 1
        event = QueryEvent(client, time.time(), inputs, outputs, path, 200, size, latency, count, address)
        if self.stream is not None:
            self.stream.add(event)
        else:
            self.detect(event)
        self.latency_sum += latency
        digest = hashlib.blake2b(inputs.tobytes(), digest_size=8).hexdigest()
        self.writer.event(Event(event.time, client, path, 200, len(inputs), size, latency, digest))

    def detect(self, event: QueryEvent, *, silent: bool = False) -> None:
        """Run the classifier detectors on one event and raise their alerts (``silent``: only
        feed their state, as a detect worker replaying a shard's history does). A detector that
        fails is counted and logged, and the others still see the event, as on the chat path."""
        for detector in self.tensor_detectors:
            try:
                alerts = detector.observe(event)
            except Exception:
                self.metrics["observe_errors"] += 1
                log.exception("detector %s failed on a query from %s", detector.name, event.client)
                continue
            if not silent:
                for alert in alerts:
                    self._raise(alert)

    def count(self, client: str, n: int) -> int:
        """Add ``n`` queries to the client's count; its count now."""
        counts = self.counts
        count = counts.pop(client, 0) + n  # re-inserted last: the least recently seen stay first
        counts[client] = count
        if len(counts) > self.max_clients:
            counts.popitem(last=False)
        return count

    def _raise(self, alert: Alert) -> None:
        # The alert's ID is made here, before any copy: the store's row number exists only once the
        # background writer has committed, after the JSONL line, the webhook and the sinks have gone
        # out, and the writer must stay off the request's path. A random UUID costs a few
        # microseconds per alert (not per request), needs no database, and stays the same for the
        # alert in every replica's store (a detect worker's alerts bring theirs along).
        if alert.uid is None:
            alert.uid = str(uuid.uuid4())
        alert.action, alert.mitigation_ids = self.responder.on_alert(alert.detector, alert.client, alert.time)
        # an alert about a group of keys (one attacker rotating them) acts on every key it names
        others = [k for k in alert.evidence.get("keys", ()) if isinstance(k, str) and k != alert.client]
        for key in others:
            self.responder.on_alert(alert.detector, key, alert.time)
        self.metrics[f"alerts_{alert.detector}"] += 1
        self.writer.alert(alert)
        for key in (alert.client, *others):
            for m in self.responder.active(alert.time, client=key):
                self.writer.measure(m["client"], m["measure"], m["until"])
                if self.state is not None:
                    self.state.hold(m["client"], m["measure"], m["until"])
        if not (self.jsonl or self.config.webhook or self.sinks):
            return
        doc = self.ecs(alert)
        for sink in self.sinks:
            sink.submit(doc)  # queued, never awaited: a slow SIEM costs the proxy nothing
        if self.jsonl:
            self.jsonl.write(json.dumps(doc) + "\n")
            self.jsonl.flush()
        if self.config.webhook:
            try:
                task = asyncio.get_running_loop().create_task(self._post_webhook(doc))
            except RuntimeError:  # detectors driven outside a server (tests, replays)
                return
            self._pending.add(task)  # the loop keeps only weak references to tasks
            task.add_done_callback(self._pending.discard)

    def _worker_alert(self, data: bytes) -> None:
        """An alert a detect worker raised: recorded here (unless the worker wrote it to this very
        store) and counted. Its measures reach this replica as every shared measure does, and
        the worker has sent it to the SIEM sinks, the JSONL file and the webhook."""
        from ._stream import decode_alert

        try:
            alert, store, _ = decode_alert(data)
        except ValueError:
            log.warning("shared state: ignored a malformed alert message")
            return
        self.metrics[f"alerts_{alert.detector}"] += 1
        if store != self.store_id:
            self.writer.alert(alert)

    async def _post_webhook(self, doc: dict) -> None:
        try:
            async with self._session().post(self.config.webhook, data=orjson.dumps(doc),
                                            headers={"content-type": "application/json"},
                                            timeout=aiohttp.ClientTimeout(total=5)) as r:
                await r.read()
        except (TimeoutError, aiohttp.ClientError):
            self.metrics["webhook_errors"] += 1

    async def astart(self) -> None:
        """Connect to the shared state, when there is one (on the server's loop)."""
        if self.state is not None:
            await self.state.start()

    async def aclose(self) -> None:
        """Wait for webhook posts in flight, flush the SIEM sinks (each within its ``shutdown_s``), stop
        the shared state and close the upstream session (on the server's loop)."""
        if self.state is not None:
            await self.state.aclose()
        if self.sinks:
            await asyncio.gather(*(sink.aclose() for sink in self.sinks))
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)
        if self.session is not None:
            await self.session.close()
            self.session = None

    def close(self) -> None:
        """Write what is queued and close the database and the JSONL file."""
        self.writer.close()
        self.store.close()
        if self.jsonl:
            self.jsonl.close()

    def ecs(self, alert: Alert) -> dict[str, Any]:
        """The alert as the ECS document the JSONL file, the webhook, the SIEM sinks and the admin
        API give out (all with the same ``event.id``)."""
        return to_ecs(alert, title=self.titles.get(alert.detector))

    def alerts(self, client: str | None = None, detector: str | None = None, since: float | None = None,
               limit: int = 100) -> list[Alert]:
        """Alerts raised so far, newest first (everything queued is written first)."""
        self.writer.flush()
        return self.store.alerts(client, detector, since, limit)

    def prometheus(self) -> str:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry).decode()
