"""A FastAPI app exposing models over KServe v2, TF Serving REST and a plain JSON route."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from ..protocols import JsonTemplate, KServe, Protocol, TFServing


@dataclass
class ServedModel:
    predict: Callable[[np.ndarray], np.ndarray]   # batch -> (n, classes) scores
    input_shape: tuple[int, ...]
    classes: tuple[str, ...]
    output: str = "probabilities"
    modality: str | None = None
    extra: dict = field(default_factory=dict)


def make_app(models: dict[str, ServedModel]) -> FastAPI:
    """Serve ``models`` over KServe v2 (``/v2/models/{name}/infer``, with metadata), TF Serving
    (``/v1/models/{name}:predict``) and a plain JSON route (``/json/{name}``: ``{"features": batch}``
    answered by ``{"result": {"scores": ...}}``)."""
    app = FastAPI(title="advmatrix model server", docs_url=None, redoc_url=None)
    kserve, tfserving = KServe(), TFServing()
    plain_json = JsonTemplate(template={"features": "$inputs"}, response_path="result.scores")

    def model_or_404(name: str) -> ServedModel:
        if name not in models:
            raise HTTPException(404, f"model '{name}' not found")
        return models[name]

    def run(model: ServedModel, x: np.ndarray) -> np.ndarray:
        if x.shape[1:] != model.input_shape:
            raise HTTPException(400, f"expected inputs of shape [n, {', '.join(map(str, model.input_shape))}]")
        return np.asarray(model.predict(x))

    @app.get("/v2/health/live")
    @app.get("/v2/health/ready")
    def health() -> dict:
        return {"live": True}

    @app.get("/v2/models/{name}")
    def metadata(name: str) -> dict:
        m = model_or_404(name)
        return kserve.encode_metadata(name, m.input_shape, len(m.classes), {
            "classes": list(m.classes), "output": m.output, **({"modality": m.modality} if m.modality else {})})

    async def batch(request: Request, protocol: Protocol, what: str) -> np.ndarray:
        try:
            return np.asarray(protocol.decode_request(await request.json()), dtype=np.float32)
        except ValueError as exc:  # not JSON, or not the protocol (ProtocolError)
            raise HTTPException(400, f"malformed {what}: {exc}") from None

    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, request: Request) -> dict:
        m = model_or_404(name)
        y = run(m, await batch(request, kserve, "inference request"))
        return kserve.encode_reply(y.astype(np.float32), model=name)

    @app.get("/v1/models/{name}/metadata")
    def tf_metadata(name: str) -> dict:
        m = model_or_404(name)
        return {"model_spec": {"name": name}, "metadata": {"signature_def": {"signature_def": {"serving_default": {
            "inputs": {"x": {"tensor_shape": {"dim": [{"size": "-1"}, *({"size": str(d)} for d in m.input_shape)]}}},
            "outputs": {"y": {"tensor_shape": {"dim": [{"size": "-1"}, {"size": str(len(m.classes))}]}}}}}}}}

    @app.post("/v1/models/{name}:predict")
    async def tf_predict(name: str, request: Request) -> dict:
        m = model_or_404(name)
        return tfserving.encode_reply(run(m, await batch(request, tfserving, "predict request")))

    @app.post("/json/{name}")
    async def plain(name: str, request: Request) -> dict:
        m = model_or_404(name)
        return plain_json.encode_reply(run(m, await batch(request, plain_json, "request")))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - safety net
        return JSONResponse({"error": f"{exc.__class__.__name__}: {exc}"}, status_code=500)

    return app
