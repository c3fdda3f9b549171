"""FastAPI app: server-rendered pages (Jinja) and a JSON API under /api for the same data.

Everything imported from files (ATLAS YAML, STIX, layers) reaches the page through Jinja's
autoescaping or the script's ``textContent``; a Content-Security-Policy without inline script
is the second line of defence. Nothing writes without the admin token.
"""

from __future__ import annotations

import functools
import json
import re
import time
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import FormatError, UnknownObjectError, UsageError
from ..kb import Matrix, bundled, details, search
from ..kb import layer as layer_format
from ..kb._ids import tactic_shortname
from ..report.svg import matrix_svg
from ._combine import combine
from ._expr import FUNCTIONS, MAX_LENGTH, ExpressionError
from ._expr import parse as parse_expression
from ._layer_view import view
from ._pages import technique_context
from ._records import filtered_alerts, parse_since, run_rows, utc
from ._threatmodel import add_routes as add_threatmodel_routes

HERE = Path(__file__).parent
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,30}")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


_MD_LINK = re.compile(r"\[([^\]\[]{1,200})\]\((/(?:techniques|tactics|mitigations|studies)/AML\.[A-Z0-9.]+|https?://[^\s()<>\"']+)\)")


def links(text: str) -> Markup:
    """Escape text, then turn markdown links to ATLAS pages or http(s) URLs into anchors.
    The pattern runs on already-escaped text and admits no quotes, so it cannot open an
    attribute or a tag."""
    escaped = str(escape(text))

    def anchor(m: re.Match) -> str:
        href = m.group(2)
        target = "" if href.startswith("/") else ' rel="noopener noreferrer"'
        return f'<a href="{href}"{target}>{m.group(1)}</a>'

    return Markup(_MD_LINK.sub(anchor, escaped))


def _columns(matrix: Matrix) -> list[dict[str, Any]]:
    def brief(t: Any) -> dict[str, str]:
        return {"id": t.id, "name": t.name, "maturity": t.maturity or ""}

    return [{"id": tactic.id, "name": tactic.name, "shortname": tactic_shortname(tactic.name),
             "cells": [{**brief(t), "subs": [brief(s) for s in subs]} for t, subs in techniques]}
            for tactic, techniques in matrix.columns()]


def _procedures_by_technique() -> dict[str, list[dict[str, str]]]:
    from ..emulate import procedures

    out: dict[str, list[dict[str, str]]] = {}
    for cls in procedures().values():
        for tid in cls.technique_ids:
            out.setdefault(tid, []).append({"name": cls.name, "title": cls.title})
    return out


def create_app(matrix: Matrix | None = None, db: str | None = None, token: str | None = None,
               gateway_db: str | None = None) -> FastAPI:
    """The navigator as an ASGI app: pages and ``/api`` over ``matrix`` (the bundled ATLAS by
    default), with built-in layers from the run store ``db`` and the gateway database ``gateway_db``."""
    matrix = matrix or bundled()
    columns = _columns(matrix)
    by_technique = _procedures_by_technique()
    # Autoescape for every template: starlette's default only covers names ending in .html.
    from jinja2 import Environment, FileSystemLoader

    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True)
    env.filters["links"] = links
    templates = Jinja2Templates(env=env)
    app = FastAPI(title="advmatrix navigator", version="1", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.matrix, app.state.db, app.state.token = matrix, db, token

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    menu = [("/", "Matrix"), ("/studies", "Case studies"), ("/mitigations", "Mitigations"),
            ("/threatmodel", "Threat model")]
    menu += [("/runs", "Runs")] if db else []
    menu += [("/alerts", "Alerts")] if gateway_db else []
    menu += [("/api/docs", "API")]

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"version": matrix.version, "nav": "", "menu": menu,
                                                          **context}, status_code=status_code)

    @app.exception_handler(StarletteHTTPException)
    async def error_page(request: Request, exc: StarletteHTTPException) -> Response:
        # The API answers programs in JSON; every other path is a page a person opened.
        if request.url.path == "/api" or request.url.path.startswith("/api/"):
            return await http_exception_handler(request, exc)
        titles = {404: "Not found", 405: "Method not allowed"}
        detail = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else \
            f"There is no page at {request.url.path}."
        return page(request, "error.html.j2", status_code=exc.status_code, status=exc.status_code,
                    title=titles.get(exc.status_code, "Error"), detail=detail)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's answer quotes each bad input whole: a 4 MB text field where a file belongs came
        # back in full. Keep the answer's shape, with long inputs cut.
        errors = []
        for err in exc.errors():
            text = err.get("input")
            if isinstance(text, (str, bytes)) and len(text) > 200:
                err = {**err, "input": f"{text[:100]!r} … ({len(text):,} characters)"}
            errors.append(err)
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    def lookup(object_id: str, kind: str) -> dict:
        try:
            data = details(matrix, object_id)
        except UnknownObjectError as exc:
            raise HTTPException(404, str(exc)) from None
        if data["kind"] != kind:
            raise HTTPException(404, f"{object_id} is a {data['kind']}, not a {kind}")
        return data

    # -- pages ---------------------------------------------------------------------------------
    add_threatmodel_routes(app, page, matrix, columns)
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def matrix_page(request: Request, layer: str | None = None) -> HTMLResponse:
        return page(request, "matrix.html.j2", nav="/", columns=columns, layers=_builtin_layers(db, gateway_db, matrix),
                    selected=layer or "")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    @app.get("/studies", response_class=HTMLResponse, include_in_schema=False)
    def studies_page(request: Request) -> HTMLResponse:
        studies = sorted(matrix.case_studies, key=lambda c: c.id)
        return page(request, "studies.html.j2", nav="/studies", studies=studies)

    @app.get("/mitigations", response_class=HTMLResponse, include_in_schema=False)
    def mitigations_page(request: Request) -> HTMLResponse:
        mitigations = sorted(matrix.mitigations, key=lambda m: m.id)
        return page(request, "mitigations.html.j2", nav="/mitigations", mitigations=mitigations)

    @app.get("/techniques/{object_id}", response_class=HTMLResponse, include_in_schema=False)
    def technique_page(request: Request, object_id: str) -> HTMLResponse:
        data = lookup(object_id, "technique")
        return page(request, "technique.html.j2", t=data, **technique_context(matrix, data, by_technique))

    @app.get("/tactics/{object_id}", response_class=HTMLResponse, include_in_schema=False)
    def tactic_page(request: Request, object_id: str) -> HTMLResponse:
        return page(request, "tactic.html.j2", t=lookup(object_id, "tactic"))

    @app.get("/mitigations/{object_id}", response_class=HTMLResponse, include_in_schema=False)
    def mitigation_page(request: Request, object_id: str) -> HTMLResponse:
        return page(request, "mitigation.html.j2", nav="/mitigations", m=lookup(object_id, "mitigation"))

    @app.get("/studies/{object_id}", response_class=HTMLResponse, include_in_schema=False)
    def study_page(request: Request, object_id: str) -> HTMLResponse:
        return page(request, "study.html.j2", nav="/studies", cs=lookup(object_id, "case-study"))

    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs_page(request: Request) -> HTMLResponse:
        return page(request, "runs.html.j2", nav="/runs", runs=_run_store(db).list(limit=500))

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        from ..emulate import load_run

        try:
            assessment = load_run(_run_store(db), run_id)
        except UnknownObjectError as exc:
            raise HTTPException(404, str(exc)) from None
        except UsageError as exc:  # an ID prefix matching several runs
            raise HTTPException(400, str(exc)) from None
        return page(request, "run.html.j2", nav="/runs", a=assessment, rows=run_rows(assessment))

    @app.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
    def alerts_page(request: Request, client: str = "", detector: str = "", technique: str = "",
                    since: str = "") -> HTMLResponse:
        if not gateway_db or not (Path(gateway_db).exists() or "://" in str(gateway_db)):
            raise HTTPException(404, "No gateway database: start the navigator with --gateway-db to see alerts.")
        try:
            start = parse_since(since) if since.strip() else None
        except UsageError as exc:
            raise HTTPException(400, str(exc)) from None
        limit = 200
        found = filtered_alerts(_event_store(gateway_db), client=client.strip() or None,
                                detector=detector.strip() or None, technique=technique.strip() or None,
                                since=start, limit=limit)
        return page(request, "alerts.html.j2", nav="/alerts", alerts=found, limit=limit, utc=utc,
                    known={t.id for t in matrix.techniques},
                    f={"client": client, "detector": detector, "technique": technique, "since": since})

    # -- API -----------------------------------------------------------------------------------
    @app.get("/api/matrix", summary="Tactics in matrix order with their techniques and sub-techniques")
    def api_matrix() -> dict:
        return {"version": matrix.version, "tactics": columns}

    @app.get("/api/objects/{object_id}", summary="Any tactic, technique, mitigation or case study")
    def api_object(object_id: str) -> dict:
        try:
            return details(matrix, object_id)
        except UnknownObjectError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.get("/api/search", summary="Ranked search over names, IDs and descriptions")
    def api_search(q: str = Query(..., min_length=1), limit: int = Query(20, ge=1, le=200)) -> list[dict]:
        return [{"id": h.object.id, "kind": h.object.kind, "name": h.object.name, "score": round(h.score, 2)}
                for h in search(matrix, q, limit=limit)]

    @app.get("/api/procedures/{technique_id}", summary="Our emulation procedures for a technique")
    def api_procedures(technique_id: str) -> list[dict]:
        return by_technique.get(technique_id, [])

    @app.get("/api/layers", summary="Built-in layers available from the run store")
    def api_layers() -> list[dict]:
        return _builtin_layers(db, gateway_db, matrix)

    @app.get("/api/layers/combine", summary="A layer whose scores are an expression over built-in layers",
             description="Each other query parameter names a variable and the built-in layer it stands for: "
                         "`expr=a*(1-b)&a=run-ID&b=detection-ID`. The expression takes numbers, + - * /, "
                         "parentheses, min() and max(); a technique missing from a layer counts as 0 there. "
                         "Techniques scored in none of the layers stay unscored, and so do those where the "
                         "expression divides by zero.")
    def api_layer_combine(request: Request, expr: str = Query(..., max_length=MAX_LENGTH),
                          name: str | None = Query(None, max_length=200)) -> JSONResponse:
        chosen = {k: v for k, v in request.query_params.items() if k not in ("expr", "name") and v}
        bad = sorted(k for k in chosen if not _VARIABLE.fullmatch(k) or k in FUNCTIONS)
        if bad:
            raise HTTPException(400, f"'{bad[0]}' cannot name a layer variable (letters, digits and _; "
                                     "not min or max)")
        try:
            parsed = parse_expression(expr, chosen)
        except ExpressionError as exc:
            raise HTTPException(400, f"expr: {exc}") from None
        if not parsed.variables:
            raise HTTPException(400, "expr: names no layer variable; give e.g. expr=a*(1-b)&a=LAYER&b=LAYER")
        layers = {}
        for var in sorted(parsed.variables):
            try:
                layers[var] = _named_layer(matrix, db, gateway_db, chosen[var])
            except HTTPException as exc:
                raise HTTPException(exc.status_code, f"{var}={chosen[var]}: {exc.detail}") from None
        return JSONResponse(json.loads(combine(matrix, parsed, layers, name=name).to_json()))

    @app.get("/api/layers/{name}", summary="A built-in layer as Navigator layer JSON")
    def api_layer(name: str) -> JSONResponse:
        return JSONResponse(json.loads(_named_layer(matrix, db, gateway_db, name).to_json()))

    @app.post("/api/layers/view", summary="Parse a Navigator layer; return cell colours and legend")
    def api_layer_view(layer_json: dict = Body(...)) -> dict:
        parsed = _parse(layer_json)
        return view(matrix, parsed)

    @app.post("/api/layers/svg", summary="Render a Navigator layer over the matrix as SVG")
    def api_layer_svg(layer_json: dict = Body(...)) -> Response:
        return Response(matrix_svg(matrix, _parse(layer_json)), media_type="image/svg+xml")

    return app


def _parse(layer_json: dict):
    try:
        return layer_format.loads(json.dumps(layer_json), "uploaded layer")
    except FormatError as exc:
        raise HTTPException(422, str(exc)) from None


def _run_store(db: str | None):
    if not db or not (Path(db).exists() or "://" in str(db)):
        raise HTTPException(404, "No run store: start the navigator with --db to see assessment runs.")
    from ..store import RunStore

    return RunStore(db)


def _named_layer(matrix: Matrix, db: str | None, gateway_db: str | None, name: str):
    """The built-in layer called ``name``, or a 404 naming what is missing."""
    if name in _MATRIX_LAYERS:
        return _MATRIX_LAYERS[name][1](matrix)
    if name.startswith("alerts-"):
        return _alerts_layer(matrix, gateway_db, name)
    return _builtin_layer(matrix, db, name)


# built-in layers of the knowledge base itself, offered with or without a run store
_MATRIX_LAYERS = {"case-studies": ("ATLAS: techniques seen in case studies", layer_format.case_study_layer),
                  "maturity": ("ATLAS: technique maturity (1 feasible, 2 demonstrated, 3 realized)",
                               layer_format.maturity_layer)}


def _builtin_layers(db: str | None, gateway_db: str | None = None, matrix: Matrix | None = None) -> list[dict]:
    items: list[dict] = []
    if db and (Path(db).exists() or "://" in str(db)):
        from ..store import RunStore

        runs = RunStore(db).list(limit=20)
        items.append({"name": "assessments", "title": "Assessment results: best success per technique, all runs"})
        items += [{"name": f"run-{r['id']}", "title": f"Run {r['id']}: {r['target_name']} ({r['access']})"}
                  for r in runs]
        gated = [r for r in runs if r["gateway"]]
        if gated:
            items.append({"name": "detection", "title": "Detection coverage: techniques the gateway noticed, all runs"})
            items += [{"name": f"detection-{r['id']}", "title": f"Run {r['id']}: detection coverage "
                       f"({r['gateway']['detected']}/{r['gateway']['procedures']} procedures noticed)"} for r in gated]
            items += [{"name": f"gap-{r['id']}", "title": f"Run {r['id']}: gap, attack against detection "
                       "(succeeded unseen / then seen / seen first / failed)"} for r in gated]
    if gateway_db and (Path(gateway_db).exists() or "://" in str(gateway_db)):
        try:
            store = _event_store(gateway_db)
        except HTTPException:
            store = None  # not (yet) a gateway database: no alert layers to offer
        now = time.time()
        for d in (1, 7, 30) if store else ():
            seen = sum(1 for tid in store.technique_counts(now - d * 86400) if matrix is None or tid in matrix)
            items.append({"name": f"alerts-{d}d", "title": f"Gateway alerts, {_last(d)} ({_count(seen, 'technique')})"})
    return items + [{"name": k, "title": title} for k, (title, _) in _MATRIX_LAYERS.items()]


@functools.lru_cache(maxsize=8)
def _event_store(gateway_db: str):
    """The gateway's database, opened once per location, read-only where SQLite allows it."""
    from ..store import EventStore

    try:
        return EventStore(gateway_db, read_only=True)
    except UsageError as exc:
        raise HTTPException(404, str(exc)) from None


def _alerts_layer(matrix: Matrix, gateway_db: str | None, name: str):
    """Techniques the gateway raised alerts for in the last N days, scored by alert count."""
    from ..kb import build_layer

    try:
        days = int(name.removeprefix("alerts-").removesuffix("d"))
    except ValueError:
        raise HTTPException(404, f"no built-in layer '{name}'") from None
    if not gateway_db or not (Path(gateway_db).exists() or "://" in str(gateway_db)):
        raise HTTPException(404, "no gateway database configured (start with --gateway-db)")
    counts = {tid: n for tid, n in _event_store(gateway_db).technique_counts(time.time() - days * 86400).items()
              if tid in matrix}
    most = max(counts.values(), default=1)
    return build_layer(matrix, counts, name=f"Gateway alerts, {_last(days)}",
                       description="Score = number of alerts naming the technique", min_value=0, max_value=most,
                       legend=_numbered_legend(sorted({0, most // 2, most}), 0, most, lambda v: _count(v, "alert")),
                       strict=False)


def _builtin_layer(matrix: Matrix, db: str | None, name: str):
    from ..kb import build_layer

    if not db:
        raise HTTPException(404, "no run store configured (start with --db)")
    from ..store import RunStore

    store = RunStore(db)
    from ..emulate import load_run

    if name == "detection" or name.startswith("detection-"):
        return _detection_layer(matrix, store, name)
    if name.startswith("gap-"):
        return _gap_layer(store, name)
    if name == "assessments":
        scores = store.technique_scores()
        title = "Assessment results (best success per technique)"
    elif name.startswith("run-"):
        try:
            assessment = load_run(store, name[4:])
        except UnknownObjectError as exc:
            raise HTTPException(404, str(exc)) from None
        scores = assessment.scores()
        title = f"Run {assessment.id}: {assessment.target['name']}"
    else:
        raise HTTPException(404, f"no built-in layer '{name}'")
    return build_layer(matrix, {k: v for k, v in scores.items() if k in matrix}, name=title,
                       legend=_numbered_legend([0, .25, .5, .75, 1], 0, 1, lambda v: f"{v:.0%} success"),
                       min_value=0, max_value=1, strict=False)


def _last(days: int) -> str:
    return "last day" if days == 1 else f"last {days} days"


def _count(n: float, noun: str) -> str:
    n = round(n, 1) if not float(n).is_integer() else int(n)
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _numbered_legend(values: list[float], low: float, high: float, label) -> dict[str, str]:
    """Legend items at ``values`` of the default gradient, each labelled with its number."""
    colour = layer_format.gradient(layer_format.DEFAULT_GRADIENT, low, high)
    return {label(v): colour(v) for v in values}


def _detection_layer(matrix: Matrix, store, name: str):
    from ..emulate import coverage_scores, load_run
    from ..report.assessment import coverage_comments, detection_layer

    if name == "detection":
        return detection_layer(matrix, store.detection_scores(),
                               name="Detection coverage, all runs through the gateway")
    try:
        assessment = load_run(store, name.removeprefix("detection-"))
    except UnknownObjectError as exc:
        raise HTTPException(404, str(exc)) from None
    if assessment.coverage is None:
        raise HTTPException(404, f"run {assessment.id} did not go through the gateway (assess --gateway-admin)")
    coverage = assessment.coverage
    return detection_layer(matrix, coverage_scores(coverage), comments=coverage_comments(coverage),
                           name=f"Run {assessment.id}: detection coverage", run_id=assessment.id)


def _gap_layer(store, name: str):
    """Per technique the verdict of a gateway run (succeeded unseen, then seen, seen first, failed),
    the same layer the run's report writes."""
    from ..emulate import load_run
    from ..report.assessment import gap_layer_json

    try:
        assessment = load_run(store, name.removeprefix("gap-"))
    except UnknownObjectError as exc:
        raise HTTPException(404, str(exc)) from None
    if assessment.coverage is None:
        raise HTTPException(404, f"run {assessment.id} did not go through the gateway (assess --gateway-admin): "
                                 "no gap to show")
    return layer_format.loads(gap_layer_json(assessment), f"gap layer of run {assessment.id}")
