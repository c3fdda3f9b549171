"""The monitoring gateway: an ASGI reverse proxy in front of a model server.

Per request: identify the client, refuse it if blocked or throttled, forward the request, read
the query's inputs and outputs when the protocol is known, feed the detectors, apply the
responses their alerts call for (possibly degrading this very reply), and log the event. The
upstream being down or slow gives the client a clean 502 or 504; the gateway stays up.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from typing import Any

import httpx
import numpy as np
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ..detect import Alert, Detector, QueryEvent, client_key_id
from ..respond import Responder
from ._config import GatewayConfig
from ._events import EventLog
from ._protocols import Protocols

_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
        "transfer-encoding", "upgrade", "host", "content-length", "content-encoding"}


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


class Gateway:
    def __init__(self, config: GatewayConfig, detectors: list[Detector] | None = None):
        self.config = config
        self.detectors = detectors if detectors is not None else config.build_detectors()
        self.responder = Responder(config.responses)
        self.log = EventLog(config.db, retention=config.retention)
        self.responder.restore(self.log.measures())  # blocks survive a restart
        self.protocols = Protocols(config.json_paths)
        self.counts: Counter[str] = Counter()
        self.metrics: Counter[str] = Counter()
        self.latency_sum = 0.0
        self.client: httpx.AsyncClient | None = None
        self.jsonl = open(config.alerts_jsonl, "a", encoding="utf-8") if config.alerts_jsonl else None

    def client_id(self, request: Request) -> str:
        key = request.headers.get(self.config.client_header)
        if key:
            return self.client_id_for(key)
        return "ip:" + (request.client.host if request.client else "unknown")

    @staticmethod
    def client_id_for(api_key: str) -> str:
        return client_key_id(api_key)

    async def handle(self, request: Request, path: str) -> Response:
        started = time.perf_counter()
        client = self.client_id(request)
        refused = self.responder.admit(client)
        if refused:
            self.metrics[f"refused_{refused[0]}"] += 1
            return JSONResponse({"error": refused[1]}, status_code=refused[0])
        body = await request.body()
        if len(body) > self.config.max_body:
            self.metrics["too_large"] += 1
            return JSONResponse({"error": f"request body over {self.config.max_body} bytes"}, status_code=413)
        kind = self.protocols.kind("/" + path) if request.method == "POST" else None
        inputs = None
        if kind:
            try:
                inputs = self.protocols.inputs(kind, json.loads(body), "/" + path)
            except (ValueError, UnicodeDecodeError):
                self.metrics["malformed"] += 1
                return JSONResponse({"error": "request body is not valid JSON"}, status_code=400)
        if self.client is None:  # created on the server's own loop, on first use
            limits = httpx.Limits(max_connections=self.config.max_connections,
                                  max_keepalive_connections=self.config.max_connections)
            self.client = httpx.AsyncClient(timeout=self.config.timeout, limits=limits)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        url = f"{self.config.upstream.rstrip('/')}/{path}"
        if request.url.query:
            url += "?" + request.url.query
        try:
            upstream = await self.client.request(request.method, url, content=body, headers=headers)
        except httpx.TimeoutException:
            self.metrics["upstream_timeout"] += 1
            return JSONResponse({"error": "upstream timed out"}, status_code=504)
        except httpx.HTTPError as exc:
            self.metrics["upstream_error"] += 1
            return JSONResponse({"error": f"upstream unreachable: {exc.__class__.__name__}"}, status_code=502)
        content = upstream.content
        out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
        if kind and inputs is not None and upstream.status_code == 200:
            content = self._observe(client, kind, path, inputs, content, len(body), started)
        self.metrics[f"status_{upstream.status_code}"] += 1
        return Response(content, status_code=upstream.status_code, headers=out_headers)

    def _observe(self, client: str, kind: str, path: str, inputs: np.ndarray, content: bytes, size: int,
                 started: float) -> bytes:
        try:
            reply = json.loads(content)
        except ValueError:
            reply = None
        outputs = self.protocols.outputs(kind, reply, "/" + path) if reply is not None else None
        self.counts[client] += max(len(inputs), 1)
        event = QueryEvent(client, time.time(), inputs, outputs, "/" + path, 200, size, 0.0, self.counts[client])
        for detector in self.detectors:
            for alert in detector.observe(event):
                self._raise(alert)
        if outputs is not None and reply is not None:
            degraded = self.responder.degrade(client, outputs)
            if degraded is not None:
                self.metrics["degraded"] += 1
                content = json.dumps(self.protocols.replace_outputs(kind, reply, "/" + path, degraded)).encode()
        latency = (time.perf_counter() - started) * 1000
        self.latency_sum += latency
        digest = hashlib.blake2b(inputs.tobytes(), digest_size=8).hexdigest()
        self.log.event((event.time, client, event.path, 200, len(inputs), size, latency, digest))
        return content

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
            import asyncio

            try:
                asyncio.get_running_loop().create_task(self._post_webhook(doc))
            except RuntimeError:
                pass

    def close(self) -> None:
        self.log.close()
        if self.jsonl:
            self.jsonl.close()

    async def _post_webhook(self, doc: dict) -> None:
        try:
            await self.client.post(self.config.webhook, json=doc, timeout=5)
        except httpx.HTTPError:
            self.metrics["webhook_errors"] += 1

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


def create_gateway(config: GatewayConfig, detectors: list[Detector] | None = None) -> FastAPI:
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
        gw.responder.clients.pop(client, None)
        for measure in ("block", "throttle", "degrade"):
            gw.log.measure(client, measure, 0.0)
        return {"client": client, "lifted": True}

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                   include_in_schema=False)
    async def proxy(request: Request, path: str) -> Response:
        return await gw.handle(request, path)

    return app
