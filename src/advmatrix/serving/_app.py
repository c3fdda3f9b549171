"""A FastAPI app exposing models over KServe v2, TF Serving REST and a plain JSON route."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from ..targets import _v2


@dataclass
class ServedModel:
    predict: Callable[[np.ndarray], np.ndarray]   # batch -> (n, classes) scores
    input_shape: tuple[int, ...]
    classes: tuple[str, ...]
    output: str = "probabilities"
    modality: str | None = None
    extra: dict = field(default_factory=dict)


def make_app(models: dict[str, ServedModel]) -> FastAPI:
    app = FastAPI(title="advmatrix model server", docs_url=None, redoc_url=None)

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
        return {"name": name, "platform": "advmatrix",
                "inputs": [{"name": "input-0", "datatype": "FP32", "shape": [-1, *m.input_shape]}],
                "outputs": [{"name": "output-0", "datatype": "FP32", "shape": [-1, len(m.classes)]}],
                "parameters": {"classes": list(m.classes), "output": m.output,
                               **({"modality": m.modality} if m.modality else {})}}

    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, request: Request) -> dict:
        m = model_or_404(name)
        try:
            body = await request.json()
            x = _v2.decode(body["inputs"][0])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise HTTPException(400, f"malformed inference request: {exc}") from None
        y = run(m, x.astype(np.float32))
        return {"model_name": name, "outputs": [_v2.encode("output-0", y.astype(np.float32))]}

    @app.get("/v1/models/{name}/metadata")
    def tf_metadata(name: str) -> dict:
        m = model_or_404(name)
        return {"model_spec": {"name": name}, "metadata": {"signature_def": {"signature_def": {"serving_default": {
            "inputs": {"x": {"tensor_shape": {"dim": [{"size": "-1"}, *({"size": str(d)} for d in m.input_shape)]}}},
            "outputs": {"y": {"tensor_shape": {"dim": [{"size": "-1"}, {"size": str(len(m.classes))}]}}}}}}}}

    async def body_array(request: Request, key: str, kind: str) -> np.ndarray:
        try:
            return np.asarray((await request.json())[key], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise HTTPException(400, f"malformed {kind}: {exc}") from None

    @app.post("/v1/models/{name}:predict")
    async def tf_predict(name: str, request: Request) -> dict:
        m = model_or_404(name)
        return {"predictions": run(m, await body_array(request, "instances", "predict request")).tolist()}

    @app.post("/json/{name}")
    async def plain(name: str, request: Request) -> dict:
        m = model_or_404(name)
        return {"result": {"scores": run(m, await body_array(request, "features", "request")).tolist()}}

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - safety net
        return JSONResponse({"error": f"{exc.__class__.__name__}: {exc}"}, status_code=500)

    return app
