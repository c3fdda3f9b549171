"""The gateway as an ASGI application: the proxy on every path, the admin API (FastAPI) under
``/_advmatrix/`` (health, metrics, alerts as ECS, clients, blocks), and the lifespan that starts
and stops the shared state and the SIEM sinks on the server's loop."""

from __future__ import annotations

from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..detect import Detector
from ._app import _ADMIN, Gateway, Receive, Scope, Send
from ._config import GatewayConfig


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
                await self.gateway.astart()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.gateway.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_gateway(config: GatewayConfig, detectors: list[Detector] | None = None) -> GatewayApp:
    """The ASGI application for ``config``: the proxy on every path, and the admin API under
    ``/_advmatrix/`` (health, metrics, alerts as ECS, clients, blocks)."""
    gw = Gateway(config, detectors)
    app = FastAPI(title="advmatrix gateway admin", docs_url="/_advmatrix/docs", openapi_url="/_advmatrix/openapi.json")
    app.state.gateway = gw

    def authorise(token: str | None) -> None:
        if not config.admin_token or token != f"Bearer {config.admin_token}":
            raise HTTPException(401, "admin token required (Authorization: Bearer ...)")

    @app.get("/_advmatrix/health", summary="Liveness")
    def health() -> dict:
        return {"status": "ok", "upstream": config.upstream, "detectors": [d.name for d in gw.detectors]}

    @app.get("/_advmatrix/metrics", summary="Prometheus text format", response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(gw.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/_advmatrix/alerts", summary="Recent alerts, newest first (ECS documents)")
    def alerts(client: str | None = None, detector: str | None = None, since: float | None = None,
               limit: int = 100, authorization: str | None = Header(None)) -> list[dict]:
        authorise(authorization)
        return [gw.ecs(a) for a in gw.alerts(client, detector, since, min(max(limit, 1), 10_000))]

    @app.get("/_advmatrix/clients", summary="Clients seen and their query counts")
    def clients(authorization: str | None = Header(None)) -> list[dict]:
        authorise(authorization)
        counts = list(gw.counts.items())  # one atomic copy: the event loop keeps counting meanwhile
        return [{"client": c, "queries": n} for c, n in sorted(counts, key=lambda item: -item[1])]

    @app.get("/_advmatrix/blocks", summary="Active blocks, throttles and degradations")
    def blocks(authorization: str | None = Header(None)) -> list[dict]:
        authorise(authorization)
        return gw.responder.active()

    @app.delete("/_advmatrix/blocks/{client}", summary="Lift every measure on a client")
    async def unblock(client: str, authorization: str | None = Header(None)) -> dict:
        # async: on the proxy's loop, where the shared state's connection lives
        authorise(authorization)
        shared = await gw.state.lift(client) if gw.state is not None else None
        if gw.state is None:
            gw.responder.lift(client)
        for measure in ("block", "throttle", "degrade"):
            gw.writer.measure(client, measure, 0.0)
        return {"client": client, "lifted": True} | ({} if shared is None else {"shared": shared})

    return GatewayApp(gw, app)
