"""Targets from a URI on the command line or a YAML description.

URIs: ``torch:model.pt``, ``sklearn:model.skops``, ``onnx:model.onnx``,
``kserve+http://host:port/model``, ``tfserving+http://host:port/model``. Anything the URI cannot
say (class names, input range, a JSON API's template) comes from a YAML file or overrides.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, TargetUnavailable, UsageError
from ._base import Access, Budget, OutputKind, Target, TargetInfo
from .http import JsonTemplateTarget, KServeV2Target, TFServingTarget

_HTTP_OPTIONS = ("max_batch", "concurrency", "timeout", "retries", "backoff")


def open_target(spec: str | Path | dict, budget: Budget | None = None, **overrides: Any) -> Target:
    """A target from a URI, a path to a YAML description, or the description as a dict."""
    if isinstance(spec, dict):
        return _from_description(spec, budget, overrides, "<description>")
    text = str(spec)
    if text.endswith((".yaml", ".yml")) and "://" not in text:
        from ..kb._io import read_yaml

        desc = read_yaml(Path(text))
        if not isinstance(desc, dict):
            raise FormatError(f"{text}: a target description must be a mapping")
        return _from_description(desc, budget, overrides, text)
    scheme, _, rest = text.partition(":")
    if scheme in ("torch", "sklearn", "onnx"):
        return _from_description({"protocol": scheme, "path": rest}, budget, overrides, text)
    if scheme.startswith(("kserve+", "tfserving+")):
        protocol, _, transport = scheme.partition("+")
        m = re.match(r"^//([^/]+)/(.+)$", rest)
        if transport not in ("http", "https") or not m:
            raise UsageError(f"{text}: expected {protocol}+http://host:port/model")
        return _from_description({"protocol": protocol, "url": f"{transport}://{m.group(1)}", "model": m.group(2)},
                                 budget, overrides, text)
    raise UsageError(f"{text}: not a target URI (torch:, sklearn:, onnx:, kserve+http://, tfserving+http://) "
                     "or a .yaml description")


def _env(value: Any) -> Any:
    """``${NAME}`` in strings comes from the environment, so tokens stay out of files."""
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: os.environ.get(m.group(1), ""), value)
    if isinstance(value, dict):
        return {k: _env(v) for k, v in value.items()}
    return value


def _info(desc: dict, default_name: str, discovered: dict) -> TargetInfo:
    merged = {**discovered, **{k: v for k, v in desc.items() if v is not None}}
    classes = merged.get("classes")
    if classes is None and merged.get("n_classes"):
        classes = [str(i) for i in range(int(merged["n_classes"]))]
    shape = merged.get("input_shape")
    if not classes or not shape:
        raise UsageError(f"{default_name}: say 'input_shape' and 'classes' (or 'n_classes'); "
                         "they could not be discovered from the target")
    try:
        return TargetInfo(
            name=str(merged.get("name") or default_name), input_shape=tuple(int(d) for d in shape),
            classes=tuple(str(c) for c in classes), output=OutputKind(merged.get("output", "probabilities")),
            access=Access(merged.get("access", "black-box")),
            # (C, H, W) or (H, W) inputs are images unless the description says otherwise
            modality=str(merged.get("modality") or ("image" if len(shape) in (2, 3) else "tabular")),
            input_range=tuple(float(v) for v in merged.get("input_range", (0.0, 1.0))),  # type: ignore[arg-type]
            dtype=str(merged.get("dtype", "float32")))
    except ValueError as exc:
        raise UsageError(f"{default_name}: {exc}") from None


def _from_description(desc: dict, budget: Budget | None, overrides: dict, source: str) -> Target:
    desc = _env({**desc, **{k: v for k, v in overrides.items() if v is not None}})
    protocol = desc.get("protocol")
    http_opts = {k: desc[k] for k in _HTTP_OPTIONS if k in desc}
    if desc.get("headers"):
        http_opts["headers"] = desc["headers"]
    if protocol == "kserve":
        discovered = _kserve_metadata(desc["url"], desc["model"], source)
        info = _info(desc, f"{desc['model']} (kserve)", discovered)
        return KServeV2Target(desc["url"], desc["model"], info, budget, **http_opts)
    if protocol == "tfserving":
        info = _info(desc, f"{desc['model']} (tfserving)", {})
        return TFServingTarget(desc["url"], desc["model"], info, budget, **http_opts)
    if protocol == "json":
        if "template" not in desc or "response_path" not in desc or "url" not in desc:
            raise UsageError(f"{source}: a json target needs 'url', 'template' and 'response_path'")
        info = _info(desc, desc.get("name") or desc["url"], {})
        return JsonTemplateTarget(desc["url"], info, desc["template"], desc["response_path"], budget, **http_opts)
    if protocol in ("torch", "sklearn", "onnx"):
        return _local(protocol, desc, budget, source)
    raise UsageError(f"{source}: unknown protocol {protocol!r} (kserve, tfserving, json, torch, sklearn, onnx)")


def _kserve_metadata(url: str, model: str, source: str) -> dict:
    """What the server says about the model: input shape and, if it publishes them, classes."""
    import httpx

    try:
        r = httpx.get(f"{url.rstrip('/')}/v2/models/{model}", timeout=10)
    except httpx.HTTPError as exc:
        raise TargetUnavailable(f"{source}: cannot reach {url}: {exc.__class__.__name__}: {exc}") from None
    if r.status_code != 200:
        return {}
    try:
        meta = r.json()
        found: dict[str, Any] = {"input_shape": [d for d in meta["inputs"][0]["shape"][1:]]}
        params = meta.get("parameters") or {}
        if params.get("classes"):
            found["classes"] = params["classes"]
        elif meta.get("outputs") and meta["outputs"][0]["shape"][-1] > 0:
            found["n_classes"] = meta["outputs"][0]["shape"][-1]
        for key in ("output", "modality"):
            if params.get(key):
                found[key] = params[key]
        if any(int(d) < 0 for d in found["input_shape"]):
            del found["input_shape"]
        return found
    except (ValueError, KeyError, IndexError, TypeError):
        return {}


def _local(protocol: str, desc: dict, budget: Budget | None, source: str) -> Target:
    from . import local

    path = Path(desc.get("path", ""))
    if not path.exists():
        raise FormatError(f"{source}: no such file {path}")
    if protocol == "sklearn":
        est = local.load_sklearn(path)
        discovered: dict[str, Any] = {}
        if hasattr(est, "n_features_in_"):
            discovered["input_shape"] = [int(est.n_features_in_)]
        if hasattr(est, "classes_"):
            discovered["classes"] = [str(c) for c in est.classes_]
        info = _info({**desc, "access": desc.get("access", "grey-box")}, path.name, discovered)
        return local.SklearnTarget(est, info, budget)
    if protocol == "onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        shape = [d for d in sess.get_inputs()[0].shape[1:]]
        out = sess.get_outputs()[0].shape
        discovered = {}
        if all(isinstance(d, int) for d in shape):
            discovered["input_shape"] = shape
        if out and isinstance(out[-1], int):
            discovered["n_classes"] = out[-1]
        info = _info({**desc, "access": desc.get("access", "grey-box")}, path.name, discovered)
        return local.OnnxTarget(path, info, budget)
    module = local.load_torch(path)
    info = _info({**desc, "access": "white-box", "output": desc.get("output", "logits")}, path.name, {})
    return local.TorchTarget(module, info, budget)


__all__ = ["open_target", "np"]
