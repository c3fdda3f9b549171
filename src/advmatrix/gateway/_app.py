"""The monitoring gateway: an ASGI reverse proxy in front of a model server.

Per request: identify the client, refuse it if blocked or throttled, forward the request and
send the reply back. Only a client whose outputs are being degraded waits for the gateway to
read the reply first; for everyone else the reply goes out as soon as it arrives, and the
detectors, the responses their alerts call for and the event log run right after, before the
next request on this loop is handled. The upstream being down or slow gives the client a clean
502 or 504; the gateway stays up.

The proxy path is plain ASGI over aiohttp rather than FastAPI routes over httpx: per request
those layers cost about as much CPU as the model server itself (bench/RESULTS.md), and the
gateway's budget is 2 ms. The admin API stays on FastAPI for its validation and OpenAPI.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import time
from collections import Counter
from typing import Any, Awaitable, Callable

import aiohttp
import numpy as np
import orjson
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import PlainTextResponse
from yarl import URL

from ..detect import Alert, Detector, QueryEvent, client_key_id
from ..respond import Responder
from ._config import GatewayConfig
from ._events import EventLog
from ._protocols import Protocols

log = logging.getLogger("advmatrix.gateway")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailers",
                  b"transfer-encoding", b"upgrade", b"host", b"content-length", b"content-encoding"})
_ADMIN = "/_advmatrix/"


def ecs_alert(alert: Alert, action: str, mitigations: tuple[str, ...]) -> dict[str, Any]:
    """An alert with Elastic Common Schema field names, so SIEMs ingest it as is."""
    return {
        "@timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(alert.time)) + f".{int(alert.time % 1 * 1000):03d}Z",
        "@timestamp_epoch": alert.time,
        "message": alert.message,
        "event": {"kind": "alert", "category": ["intrusion_detection"], "type": ["info"], "module": "advmatrix",
                  "dataset": "advmatrix.gateway", "severity_label": alert.severity},
        "rule": {"name": alert.detector, "ruleset": "advmatrix"},
        "threat": {"framework": "MITRE ATLAS", "technique": {"id": list(alert.technique_ids)}},
        "user": {"id": alert.client},
        "advmatrix": {"action": action, "mitigation_ids": list(mitigations), "query_count": alert.query_count,
                      "evidence": alert.evidence},
    }


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


class Gateway:
    def __init__(self, config: GatewayConfig, detectors: list[Detector] | None = None):
        self.config = config
        self.detectors = detectors if detectors is not None else config.build_detectors()
        self.responder = Responder(config.responses, frozenset(config.alert_only_clients))
        self.log = EventLog(config.db, retention=config.retention)
        self.responder.restore(self.log.measures())  # blocks survive a restart
        self.protocols = Protocols(config.json_paths)
        self.counts: Counter[str] = Counter()
        self.metrics: Counter[str] = Counter()
        self.latency_sum = 0.0
        self.session: aiohttp.ClientSession | None = None
        self.upstream = config.upstream.rstrip("/")
        self.client_header = config.client_header.lower().encode("latin-1")
        self.jsonl = open(config.alerts_jsonl, "a", encoding="utf-8") if config.alerts_jsonl else None
        self._pending: set[asyncio.Task] = set()

    @staticmethod
    @functools.lru_cache(maxsize=65536)
    def client_id_for(api_key: str) -> str:
        return client_key_id(api_key)

    def client_id(self, scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == self.client_header and value:
                return self.client_id_for(value.decode("latin-1"))
        client = scope.get("client")
        return "ip:" + (client[0] if client else "unknown")

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
        started = time.perf_counter()
        client = self.client_id(scope)
        refused = self.responder.admit(client)
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
        inputs = None
        if kind:
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
        try:
            async with self._session().request(method, url, data=body, headers=headers, allow_redirects=False) as up:
                content = await up.read()
                status = up.status
                out_headers = [(k.lower(), v) for k, v in up.raw_headers if k.lower() not in _HOP]
        except asyncio.TimeoutError:
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
                self._observe(client, kind, path, inputs, outputs, content, len(body), started)
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
                 content: bytes, size: int, started: float) -> None:
        latency = (time.perf_counter() - started) * 1000
        if outputs is None:
            try:
                outputs = self.protocols.outputs(kind, _loads(content), path)
            except ValueError:
                outputs = None
        self.counts[client] += max(len(inputs), 1)
        event = QueryEvent(client, time.time(), inputs, outputs, path, 200, size, latency, self.counts[client])
        for detector in self.detectors:
            for alert in detector.observe(event):
                self._raise(alert)
        self.latency_sum += latency
        digest = hashlib.blake2b(inputs.tobytes(), digest_size=8).hexdigest()
        self.log.event((event.time, client, path, 200, len(inputs), size, latency, digest))

    def _raise(self, alert: Alert) -> None:
        action, mitigations = self.responder.on_alert(alert.detector, alert.client, alert.time)
        doc = ecs_alert(alert, action, mitigations)
        self.metrics[f"alerts_{alert.detector}"] += 1
        self.log.alert(doc)
        for m in self.responder.active(alert.time):
            if m["client"] == alert.client:
                self.log.measure(m["client"], m["measure"], m["until"])
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

    async def _post_webhook(self, doc: dict) -> None:
        try:
            async with self._session().post(self.config.webhook, data=orjson.dumps(doc),
                                            headers={"content-type": "application/json"},
                                            timeout=aiohttp.ClientTimeout(total=5)) as r:
                await r.read()
        except (aiohttp.ClientError, asyncio.TimeoutError):
            self.metrics["webhook_errors"] += 1

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)
        if self.session is not None:
            await self.session.close()
            self.session = None

    def close(self) -> None:
        self.log.close()
        if self.jsonl:
            self.jsonl.close()

    def prometheus(self) -> str:
        lines = ["# HELP advmatrix_gateway_requests_total Requests by outcome.",
                 "# TYPE advmatrix_gateway_requests_total counter"]
        for key, value in sorted(self.metrics.items()):
            if not key.startswith("alerts_"):
                lines.append(f'advmatrix_gateway_requests_total{{outcome="{key}"}} {value}')
        lines += ["# HELP advmatrix_gateway_alerts_total Alerts by detector.", "# TYPE advmatrix_gateway_alerts_total counter"]
        for d in self.detectors:
            lines.append(f'advmatrix_gateway_alerts_total{{detector="{d.name}"}} {self.metrics.get("alerts_" + d.name, 0)}')
        observed = sum(self.counts.values())
        lines += ["# TYPE advmatrix_gateway_queries_observed_total counter", f"advmatrix_gateway_queries_observed_total {observed}",
                  "# TYPE advmatrix_gateway_events_dropped_total counter", f"advmatrix_gateway_events_dropped_total {self.log.dropped}",
                  "# TYPE advmatrix_gateway_clients gauge", f"advmatrix_gateway_clients {len(self.counts)}",
                  "# TYPE advmatrix_gateway_observe_ms_sum counter", f"advmatrix_gateway_observe_ms_sum {self.latency_sum:.3f}"]
        return "\n".join(lines) + "\n"


class GatewayApp:
    """The ASGI application: the proxy for every path but /_advmatrix/, which is the admin API."""

    def __init__(self, gateway: Gateway, admin: FastAPI):
        self.gateway = gateway
        self.admin = admin
        self.state = admin.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and not scope["path"].startswith(_ADMIN):
            await self.gateway.proxy(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.admin(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.gateway.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_gateway(config: GatewayConfig, detectors: list[Detector] | None = None) -> GatewayApp:
    gw = Gateway(config, detectors)
    app = FastAPI(title="advmatrix gateway admin", docs_url="/_advmatrix/docs", openapi_url="/_advmatrix/openapi.json")
    app.state.gateway = gw

    def authorise(token: str | None) -> None:
        if not config.admin_token or token != f"Bearer {config.admin_token}":
            raise HTTPException(401, "admin token required (Authorization: Bearer ...)")

    @app.get("/_advmatrix/health", summary="Liveness")
    def health() -> dict:
        return {"status": "ok", "upstream": config.upstream, "detectors": [d.name for d in gw.detectors]}

    @app.get("/_advmatrix/metrics", summary="Prometheus text format", response_class=PlainTextResponse)
    def metrics() -> str:
        return gw.prometheus()

    @app.get("/_advmatrix/alerts", summary="Recent alerts, newest first (ECS documents)")
    def alerts(client: str | None = None, limit: int = 100, authorization: str | None = Header(None)) -> list[dict]:
        authorise(authorization)
        gw.log.flush()
        return gw.log.alerts(client, min(max(limit, 1), 10_000))

    @app.get("/_advmatrix/clients", summary="Clients seen and their query counts")
    def clients(authorization: str | None = Header(None)) -> list[dict]:
        authorise(authorization)
        return [{"client": c, "queries": n} for c, n in gw.counts.most_common()]

    @app.get("/_advmatrix/blocks", summary="Active blocks, throttles and degradations")
    def blocks(authorization: str | None = Header(None)) -> list[dict]:
        authorise(authorization)
        return gw.responder.active()

    @app.delete("/_advmatrix/blocks/{client}", summary="Lift every measure on a client")
    def unblock(client: str, authorization: str | None = Header(None)) -> dict:
        authorise(authorization)
        gw.responder.lift(client)
        for measure in ("block", "throttle", "degrade"):
            gw.log.measure(client, measure, 0.0)
        return {"client": client, "lifted": True}

    return GatewayApp(gw, app)
