"""The threat-model page: upload a ``system.yaml`` or a CycloneDX ML-BOM, see the predicted
techniques as a layer over the matrix (likely and possible coloured, the reasons in each cell's
tooltip), the findings per component, and download the JSON and the layer.

The cells are coloured on the server with two classes (the page has two colours only), so the
page needs no script of its own; the layer JSON it offers loads into the matrix page as any other.
"""

from __future__ import annotations

import base64
import json
import tempfile
import warnings
from pathlib import Path, PurePath
from typing import Any

from fastapi import FastAPI, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import UploadFile as StarletteUpload

from ..errors import AdvmatrixError, UsageError
from ..kb import Matrix
from ._layer_view import ALL_TACTICS, view

#: Largest upload read; a system description or an ML-BOM is a few kilobytes to a few megabytes.
MAX_UPLOAD = 4 << 20
#: Largest system the page threat-models, in components and in links (flows and tool-list entries,
#: which the graph rules walk): about 25 s of work at the most on a 2-core machine; the CLI takes up to about 20,000.
MAX_COMPONENTS = 2000
MAX_LINKS = 10_000
_TIER_CLASS = {2.0: "tm-likely", 1.0: "tm-possible"}


async def _read(upload: UploadFile | None, field: str) -> tuple[str, bytes] | None:
    if upload is None or not upload.filename:
        return None
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(413, f"{field}: larger than {MAX_UPLOAD >> 20} MiB")
    # Only the base name is kept: it names the file in error messages and nothing else. It is also the
    # temporary copy's name, so '..' and names past the file system's limit become something usable.
    name = PurePath(upload.filename.replace("\\", "/").replace("\x00", "")).name
    if name in ("", ".", ".."):
        name = field
    # the limit is in bytes (255 on most file systems): 100 CJK characters are 300
    kept = name.encode("utf-8")[-200:].decode("utf-8", "ignore")
    return kept or field, data


def threat_model(system: tuple[str, bytes], overlay: tuple[str, bytes] | None = None) -> tuple[Any, list[str]]:
    """The :class:`~advmatrix.threatmodel.report.ThreatModel` of an uploaded file (and overlay), with the
    warnings the command line prints for it; bad input raises the loader's error, which names the
    uploaded file, line and field."""
    from ..threatmodel import report as tmr
    from ..threatmodel.gaps import check_property_types

    with tempfile.TemporaryDirectory(prefix="advmatrix-tm-") as tmp:
        path = Path(tmp) / "system" / system[0]
        path.parent.mkdir()
        path.write_bytes(system[1])
        over = None
        if overlay is not None:
            over = Path(tmp) / "overlay" / overlay[0]
            over.parent.mkdir()
            over.write_bytes(overlay[1])
        def own_names(text: str) -> str:
            # The loader names the temporary copy; the user knows the file by its own name.
            return text.replace(f"{path.parent}/", "").replace(f"{Path(tmp) / 'overlay'}/", "")

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", UserWarning)
                model = tmr.load_input(path, over)
            lines = tmr.component_lines(path, model)
            overlay_lines = tmr.component_lines(over, model) if over is not None else None
            # Checked here, against the uploaded copies: later the report knows the files by their names
            # only, which on a server would name files in its own working directory.
            check_property_types(model, None, str(path), lines, str(over) if over else None, overlay_lines)
        except AdvmatrixError as exc:
            exc.args = (own_names(str(exc)),)
            raise
        said = [own_names(str(w.message)) for w in caught]
        # against the uploaded copies too, so that a property is found at its own line, then named as uploaded
        said += [own_names(w) for w in tmr.description_warnings(model, None, str(path), lines,
                                                                  str(over) if over else None, overlay_lines)]
        if len(model.components) > MAX_COMPONENTS:
            # A shared server does not spend minutes on one upload; the command line has no such limit.
            raise UsageError(f"{system[0]}: {len(model.components)} components; this page takes up to "
                             f"{MAX_COMPONENTS:,} (run advmatrix threatmodel for larger systems)")
        links = len(model.flows) + sum(len(getattr(c, "tools", ())) for c in model.components)
        if links > MAX_LINKS:
            raise UsageError(f"{system[0]}: {links:,} flows and tool links; this page takes up to "
                             f"{MAX_LINKS:,} (run advmatrix threatmodel for larger systems)")
    # what the build warns of (a control written where no finding counts it) is shown on the page, not logged
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        tm = tmr.build(model, source=system[0], lines=lines, overlay=overlay[0] if overlay else None,
                       overlay_lines=overlay_lines)
    return tm, said + [str(w.message) for w in caught]


def _form_problem(form: Any) -> str | None:
    """What is wrong with the upload form, in one line, or None. A part given twice is refused: the form keeps
    the last, so a bad first file passed unread; text where a file belongs, and a part of another name, would
    be dropped without a word (an overlay typed into a text field is no overlay)."""
    for name in ("system", "overlay"):
        count = len(form.getlist(name))
        if count > 1:
            return f"{name}: {count} files uploaded under one name; upload one"
        if count and not isinstance(form.get(name), StarletteUpload):
            return f"{name}: text where a file belongs; upload the file (multipart, with a file name)"
    other = sorted(set(form.keys()) - {"system", "overlay"})
    if other:
        return f"{other[0]}: not a field of this form (it takes 'system' and, for a BOM, 'overlay')"
    return None


def _data_uri(text: str) -> str:
    return "data:application/json;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")


def _cells(matrix: Matrix, layer: Any) -> dict[str, dict[str, str]]:
    """Per technique, the class and the tooltip of its cells (one per tactic, or ``*`` for all)."""
    out: dict[str, dict[str, str]] = {}
    for tid, by_tactic in view(matrix, layer)["cells"].items():
        cell = by_tactic.get(ALL_TACTICS) or next(iter(by_tactic.values()))
        out[tid] = {"class": _TIER_CLASS.get(cell["score"], "tm-possible"), "title": cell["comment"] or ""}
    return out


def add_routes(app: FastAPI, page: Any, matrix: Matrix, columns: list[dict[str, Any]]) -> None:
    """Add ``GET``/``POST /threatmodel`` (the page) and ``POST /api/threatmodel`` (its JSON)."""
    from ..threatmodel import report as tmr

    @app.get("/threatmodel", response_class=HTMLResponse, include_in_schema=False)
    def threatmodel_form(request: Request) -> HTMLResponse:
        return page(request, "threatmodel.html.j2", nav="/threatmodel", tm=None, error=None)

    @app.post("/threatmodel", response_class=HTMLResponse, include_in_schema=False)
    async def threatmodel_page(request: Request) -> HTMLResponse:
        # The form is read here, not by FastAPI's parameters: a text field where the file belongs would
        # otherwise be a JSON 422 that quotes the whole upload back, not this page saying what to do.
        form = await request.form(max_part_size=MAX_UPLOAD + 1)
        problem = _form_problem(form)
        if problem:
            return page(request, "threatmodel.html.j2", status_code=400, nav="/threatmodel", tm=None, error=problem)
        system, overlay = (f if isinstance(f, StarletteUpload) else None
                           for f in (form.get("system"), form.get("overlay")))
        upload = await _read(system, "system")
        if upload is None:
            return page(request, "threatmodel.html.j2", status_code=400, nav="/threatmodel", tm=None,
                        error="Choose a system.yaml or a CycloneDX ML-BOM to upload.")
        try:
            tm, said = await run_in_threadpool(threat_model, upload, await _read(overlay, "overlay"))
        except AdvmatrixError as exc:
            return page(request, "threatmodel.html.j2", status_code=400, nav="/threatmodel", tm=None,
                        error=str(exc))
        layer = tmr.layer(tm)
        return page(request, "threatmodel.html.j2", nav="/threatmodel", tm=tm, error=None, columns=columns,
                    warnings=said,
                    cells=_cells(matrix, layer), json_uri=_data_uri(tmr.report_json(tm)),
                    layer_uri=_data_uri(layer.to_json() + "\n"), stem=Path(upload[0]).stem, gap_lines=tmr.gap_lines)

    @app.post("/api/threatmodel", summary="Threat-model an uploaded system.yaml or CycloneDX ML-BOM",
              description="Multipart form: 'system' (the file) and optionally 'overlay' (for a BOM). Returns the "
                          "threat model (techniques, reasons, mitigations, attack paths) and its Navigator layer.")
    async def api_threatmodel(request: Request) -> JSONResponse:
        # read here, as the page reads it: FastAPI's own checks answer text where a file belongs with a dump
        # of its validation errors, not one line
        form = await request.form(max_part_size=MAX_UPLOAD + 1)
        problem = _form_problem(form)
        if problem:
            raise HTTPException(400, problem)
        system, overlay = form.get("system"), form.get("overlay")
        upload = await _read(system, "system")
        if upload is None:
            raise HTTPException(400, "system: no file uploaded")
        try:
            tm, said = await run_in_threadpool(threat_model, upload, await _read(overlay, "overlay"))
        except AdvmatrixError as exc:
            raise HTTPException(400, str(exc)) from None
        return JSONResponse({"threatmodel": tm.as_dict(), "layer": json.loads(tmr.layer(tm).to_json()),
                             "warnings": said})
