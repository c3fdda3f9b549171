"""The built-in target kinds: model servers over HTTP (KServe v2, TF Serving, any JSON API) and
model files run in this process (PyTorch, scikit-learn, ONNX)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from .._extras import require
from ..errors import AdvmatrixError, FormatError, TargetUnavailable, UsageError
from ..protocols import JsonTemplate, KServe, Protocol, ProtocolError, TFServing
from ._base import Budget, Target, TargetInfo
from ._kinds import DescriptionParams, TargetKind
from .http import JsonTemplateTarget, KServeV2Target, TFServingTarget

_SERVER_URI = re.compile(r"^//([^/]+)/(.+)$")


def protocol_params(protocol: type[Protocol], description: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``description`` that are parameters of ``protocol`` (``input_name``...)."""
    return {k: description[k] for k in protocol.Params.model_fields if description.get(k) is not None}


# -- model servers -------------------------------------------------------------------------------

class _ServerParams(DescriptionParams):
    url: str | None = Field(None, description="base URL of the server (http://host:port)")
    model: str | None = Field(None, description="model name on the server")


class _ModelServer(TargetKind):
    """A server that addresses models by name: ``{name}+http://host:port/model``."""

    required = ("url", "model")
    Params: ClassVar[type[BaseModel]] = _ServerParams

    @classmethod
    def from_uri(cls, uri: str) -> dict[str, Any]:
        """``{name}+http://host:port/model`` (or ``+https``)."""
        scheme, _, rest = uri.partition(":")
        transport = scheme.partition("+")[2]
        m = _SERVER_URI.match(rest)
        if transport not in ("http", "https") or not m:
            raise UsageError(f"{uri}: expected {cls.name}+http://host:port/model")
        return {"protocol": cls.name, "url": f"{transport}://{m.group(1)}", "model": m.group(2)}


class _KServeParams(_ServerParams):
    input_name: str | None = Field(None, description="name of the input tensor (input-0)")
    output_name: str | None = Field(None, description="output tensor to read (the first)")
    version: str | None = Field(None, description="model version (the latest)")


class KServeKind(_ModelServer):
    """A model on a KServe v2 / Open Inference Protocol v2 server (KServe, Triton, MLServer...).
    Input shape and classes are read from the server's model metadata when it publishes them."""

    name = "kserve"
    title = "KServe v2 / Open Inference Protocol v2 server"
    schemes = ("kserve+http", "kserve+https")
    Params: ClassVar[type[BaseModel]] = _KServeParams

    @classmethod
    def open(cls, description: dict[str, Any], budget: Budget | None, source: str) -> Target:
        """Discover the model's metadata, then a :class:`KServeV2Target`."""
        cls.check(description, source)
        protocol = KServe(**protocol_params(KServe, description))
        url, model = description["url"], description["model"]
        discovered = cls.metadata(url, model, protocol, source, description.get("headers"))
        info = cls.target_info(description, f"{model} (kserve)", discovered)
        return KServeV2Target(url, model, info, budget, protocol=protocol, **cls.http_options(description))

    @staticmethod
    def metadata(url: str, model: str, protocol: KServe, source: str,
                 headers: dict[str, str] | None = None) -> dict[str, Any]:
        """What the server says about the model (empty when it says nothing usable)."""
        import httpx

        try:
            r = httpx.get(url.rstrip("/") + protocol.metadata_endpoint(model), headers=headers or None, timeout=10)
        except httpx.HTTPError as exc:
            raise TargetUnavailable(f"{source}: cannot reach {url}: {exc.__class__.__name__}: {exc}") from None
        if r.status_code == 404:
            raise TargetUnavailable(f"{source}: {url} has no model '{model}' (HTTP 404 on "
                                    f"{protocol.metadata_endpoint(model)})")
        if r.status_code in (401, 403):
            raise TargetUnavailable(f"{source}: {url} refused the request (HTTP {r.status_code}); "
                                    "set 'headers' (e.g. Authorization) in a target .yaml")
        if r.status_code != 200:
            return {}
        try:
            return protocol.decode_metadata(r.json())
        except (ValueError, ProtocolError):
            return {}


class _TFServingParams(_ServerParams):
    signature_name: str | None = Field(None, description="signature to run (the default)")
    input_name: str | None = Field(None, description="named input (rows sent as {name: row})")
    output_name: str | None = Field(None, description="named output to read")
    version: str | None = Field(None, description="model version (the latest)")


class TFServingKind(_ModelServer):
    """A model on TensorFlow Serving (REST predict API). Say ``input_shape`` and ``classes``."""

    name = "tfserving"
    title = "TensorFlow Serving"
    schemes = ("tfserving+http", "tfserving+https")
    Params: ClassVar[type[BaseModel]] = _TFServingParams

    @classmethod
    def open(cls, description: dict[str, Any], budget: Budget | None, source: str) -> Target:
        """A :class:`TFServingTarget`."""
        cls.check(description, source)
        protocol = TFServing(**protocol_params(TFServing, description))
        info = cls.target_info(description, f"{description['model']} (tfserving)")
        return TFServingTarget(description["url"], description["model"], info, budget, protocol=protocol,
                               **cls.http_options(description))


class _JsonParams(DescriptionParams):
    url: str | None = Field(None, description="full URL requests are posted to")
    template: Any = Field(None, description='request body with "$inputs" (or "$input") where inputs go')
    response_path: str | None = Field(None, description="dotted path to the outputs in a reply")


class JsonKind(TargetKind):
    """Any JSON API at ``url``, described by a request ``template`` and a ``response_path``.
    Say ``input_shape`` and ``classes``."""

    name = "json"
    title = "JSON API from a request template"
    required = ("url", "template", "response_path")
    Params: ClassVar[type[BaseModel]] = _JsonParams

    @classmethod
    def open(cls, description: dict[str, Any], budget: Budget | None, source: str) -> Target:
        """A :class:`JsonTemplateTarget`."""
        cls.check(description, source)
        try:  # the template's own problems first, named after the description
            JsonTemplate.parse_params(protocol_params(JsonTemplate, description))
        except UsageError as exc:
            raise UsageError(f"{source}: {exc}") from None
        info = cls.target_info(description, description.get("name") or description["url"])
        return JsonTemplateTarget(description["url"], info, description["template"], description["response_path"],
                                  budget, **cls.http_options(description))


# -- model files ---------------------------------------------------------------------------------

class _FileParams(DescriptionParams):
    pass


class _ModelFile(TargetKind):
    """A model file run in this process: ``{name}:path/to/file``."""

    required = ("path",)
    Params: ClassVar[type[BaseModel]] = _FileParams

    @classmethod
    def model_file(cls, description: dict[str, Any], source: str) -> Path:
        """The description's ``path``, which must exist, once the kind's extras are known to be there."""
        cls.check(description, source)
        path = Path(description["path"])
        if not path.exists():
            raise FormatError(f"{source}: no such file {path}")
        require(*cls.extras, feature=f"opening a {cls.title}")
        return path


class _TorchParams(_FileParams):
    model_class: str | None = Field(None, description="package.module:Class (or file.py:Class) to build when "
                                                      "the file holds weights (a state dict or safetensors)")
    model_args: dict[str, Any] | None = Field(None, description="keyword arguments for model_class")
    device: str | None = Field(None, description="where the model runs: auto (default), cpu, cuda, cuda:N or mps")


class TorchKind(_ModelFile):
    """A PyTorch model file: TorchScript; a state dict or safetensors weights with ``model_class``
    (``package.module:Class``) and ``model_args``; or a whole pickled module once the scanner clears
    it. White-box, returning logits unless ``output`` says otherwise; runs on the best device
    present unless ``device`` says otherwise."""

    name = "torch"
    title = "PyTorch model file"
    schemes = ("torch",)
    extras = ("torch",)
    Params: ClassVar[type[BaseModel]] = _TorchParams

    @classmethod
    def open(cls, description: dict[str, Any], budget: Budget | None, source: str) -> Target:
        """A :class:`TorchTarget`."""
        path = cls.model_file(description, source)
        from . import local

        try:
            module = local.load_torch(path, description.get("model_class"), description.get("model_args"))
        except AdvmatrixError as exc:
            if str(path) in str(exc):  # the scanner's refusal already names the file in full
                raise
            raise type(exc)(f"{source}: {exc}") from None
        except Exception as exc:
            # torch's own errors for files that are not models: empty, truncated, another format (its
            # unpickler's KeyError on a text file, an OSError on a zip cut short)
            reason = "empty or truncated" if isinstance(exc, EOFError) else _first_line(exc)
            raise FormatError(f"{source}: {path.name} is not a PyTorch model file ({reason})") from None
        if not callable(getattr(module, "eval", None)):
            raise FormatError(f"{source}: {path.name} holds {type(module).__name__}, not a model")
        info = cls.target_info({**description, "access": "white-box", "output": description.get("output", "logits")},
                               path.name)
        return local.TorchTarget(module, info, budget, device=description.get("device") or "auto")


class SklearnKind(_ModelFile):
    """A scikit-learn estimator in a ``.skops`` file (loaded without pickle) or a joblib/pickle
    file (scanned first, refused when the scanner flags it); grey-box. Input shape and classes
    come from the estimator."""

    name = "sklearn"
    title = "scikit-learn model file"
    schemes = ("sklearn",)
    extras = ("sklearn",)

    @classmethod
    def open(cls, description: dict[str, Any], budget: Budget | None, source: str) -> Target:
        """A :class:`SklearnTarget`."""
        path = cls.model_file(description, source)
        from . import local

        try:
            est = local.load_sklearn(path)
        except AdvmatrixError:
            raise  # the scanner's refusal, skops' untrusted types: already one clear line
        except Exception as exc:
            # empty, truncated (a zip cut short), a PyTorch checkpoint (persistent ids), another format
            reason = "empty or truncated" if isinstance(exc, EOFError) else _first_line(exc)
            raise FormatError(f"{source}: {path.name} is not a scikit-learn model file ({reason})") from None
        discovered: dict[str, Any] = {}
        if hasattr(est, "n_features_in_"):
            discovered["input_shape"] = [int(est.n_features_in_)]
        if hasattr(est, "classes_"):
            discovered["classes"] = [str(c) for c in est.classes_]
        info = cls.target_info({**description, "access": description.get("access", "grey-box")}, path.name,
                               discovered)
        return local.SklearnTarget(est, info, budget)


class OnnxKind(_ModelFile):
    """An ONNX graph run by onnxruntime on the CPU; grey-box. Input shape and the number of
    classes come from the graph when they are fixed."""

    name = "onnx"
    title = "ONNX model file"
    schemes = ("onnx",)
    extras = ("onnx",)

    @classmethod
    def open(cls, description: dict[str, Any], budget: Budget | None, source: str) -> Target:
        """An :class:`OnnxTarget`."""
        path = cls.model_file(description, source)
        from . import local

        target = local.OnnxTarget(path, TargetInfo(path.name, (1,), ("0",)), budget)  # info set below
        inputs, outputs = target.session.get_inputs()[0].shape[1:], target.session.get_outputs()[0].shape
        discovered: dict[str, Any] = {}
        if all(isinstance(d, int) for d in inputs):
            discovered["input_shape"] = list(inputs)
        if outputs and isinstance(outputs[-1], int):
            discovered["n_classes"] = outputs[-1]
        target.info = cls.target_info({**description, "access": description.get("access", "grey-box")}, path.name,
                                      discovered)
        return target


__all__ = ["JsonKind", "KServeKind", "OnnxKind", "SklearnKind", "TFServingKind", "TorchKind", "protocol_params"]


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message, at most 200 characters, after its type when the message
    alone says nothing (a KeyError of '101' on a text file)."""
    text = (str(exc).strip().splitlines() or [""])[0][:200]
    return text if any(c.isalpha() for c in text) else f"{type(exc).__name__} {text}".strip()
