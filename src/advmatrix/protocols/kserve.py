"""KServe v2 / Open Inference Protocol v2 over REST: tensors as JSON objects."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ._base import Protocol, ProtocolError, numeric

#: Open Inference Protocol datatype -> NumPy dtype (BYTES, strings, is not a numeric tensor)
DATATYPES: dict[str, np.dtype] = {name: np.dtype(t) for name, t in (
    ("BOOL", np.bool_), ("UINT8", np.uint8), ("UINT16", np.uint16), ("UINT32", np.uint32), ("UINT64", np.uint64),
    ("INT8", np.int8), ("INT16", np.int16), ("INT32", np.int32), ("INT64", np.int64),
    ("FP16", np.float16), ("FP32", np.float32), ("FP64", np.float64))}
_NAMES = {dtype: name for name, dtype in DATATYPES.items()}

_ROUTE = re.compile(r"^/v2/models/[^/]+(?:/versions/[^/]+)?/infer$")


def datatype(dtype: Any) -> str:
    """The Open Inference Protocol datatype of a NumPy dtype (``float32`` -> ``FP32``)."""
    try:
        return _NAMES[np.dtype(dtype)]
    except (KeyError, TypeError):
        raise ProtocolError(f"no Open Inference Protocol datatype for {dtype}") from None


def encode_tensor(name: str, array: np.ndarray) -> dict[str, Any]:
    """One tensor object: name, shape, datatype and the data flattened in row-major order."""
    array = np.asarray(array)
    return {"name": name, "shape": list(array.shape), "datatype": datatype(array.dtype),
            "data": array.reshape(-1).tolist()}


def decode_tensor(tensor: Any, dtype: Any = None, shape: Any = None) -> np.ndarray:
    """A tensor object as an array, in ``dtype`` or else its declared datatype (FP32 when it
    declares none); ``shape`` stands in when the tensor has none. Data may be flat or nested."""
    if not isinstance(tensor, dict):
        raise TypeError(f"a tensor is a JSON object, not {type(tensor).__name__}")
    if dtype is None:
        declared = tensor.get("datatype", "FP32")
        if declared not in DATATYPES:
            raise ValueError(f"unsupported datatype {declared!r}")
        dtype = DATATYPES[declared]
    dims = tensor.get("shape") or shape
    if dims is None:
        raise KeyError("shape")
    return numeric(tensor["data"], "'data'", dtype).reshape([int(d) for d in dims])


def _pick(tensors: Any, name: str | None) -> Any:
    if name is not None and isinstance(tensors, list):
        for tensor in tensors:
            if isinstance(tensor, dict) and tensor.get("name") == name:
                return tensor
        raise KeyError(name)
    return tensors[0]


class KServeParams(BaseModel):
    """Parameters of :class:`KServe`: tensor names and the model version."""

    model_config = ConfigDict(extra="forbid")
    input_name: str = Field("input-0", description="name of the input tensor in requests")
    output_name: str | None = Field(None, description="output tensor to read (the first when unset); "
                                                      "replies name theirs 'output-0' when unset")
    version: str | None = Field(None, description="model version addressed by clients (latest when unset)")


class KServe(Protocol):
    """KServe v2 / Open Inference Protocol v2 (REST): ``POST /v2/models/{model}/infer`` with
    ``{"inputs": [tensor]}``, answered by ``{"outputs": [tensor]}``. Spoken by KServe, NVIDIA
    Triton, Seldon MLServer, TorchServe and OpenVINO Model Server. Numeric datatypes BOOL,
    UINT8-64, INT8-64 and FP16-64; data may be flat or nested."""

    name = "kserve"
    title = "KServe v2 / Open Inference Protocol v2"
    Params: ClassVar[type[BaseModel]] = KServeParams

    def match(self, path: str) -> bool:
        """``/v2/models/{model}[/versions/{v}]/infer``."""
        return _ROUTE.match(path) is not None

    def endpoint(self, model: str) -> str:
        """``/v2/models/{model}[/versions/{version}]/infer``."""
        return self.metadata_endpoint(model) + "/infer"

    def metadata_endpoint(self, model: str) -> str:
        """Where the server describes ``model``: ``/v2/models/{model}[/versions/{version}]``."""
        version = self.params.version
        return f"/v2/models/{model}" + (f"/versions/{version}" if version else "")

    def encode_request(self, batch: np.ndarray) -> Any:
        """``{"inputs": [tensor]}`` with the batch's own datatype."""
        return {"inputs": [encode_tensor(self.params.input_name, batch)]}

    def decode_request(self, doc: Any) -> np.ndarray:
        """The first input tensor, in its declared datatype."""
        try:
            return decode_tensor(doc["inputs"][0])
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise _bad("request", exc) from None

    def encode_reply(self, scores: np.ndarray, model: str = "") -> Any:
        """``{"model_name": model, "outputs": [tensor]}`` (no model name when ``model`` is empty)."""
        out = encode_tensor(self.params.output_name or "output-0", scores)
        return {"model_name": model, "outputs": [out]} if model else {"outputs": [out]}

    def decode_reply(self, doc: Any, n: int | None = None) -> np.ndarray:
        """The output tensor as float64; a tensor without a shape is read as ``(n, -1)``."""
        try:
            return decode_tensor(_pick(doc["outputs"], self.params.output_name), np.float64,
                                 None if n is None else [n, -1])
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise _bad("reply", exc) from None

    def replace_outputs(self, doc: Any, scores: np.ndarray) -> Any:
        """The output tensor's data and shape replaced; its name and datatype kept."""
        try:
            tensor = _pick(doc["outputs"], self.params.output_name)
            tensor["data"] = np.asarray(scores).reshape(-1).tolist()
            tensor["shape"] = list(np.shape(scores))
        except (KeyError, IndexError, TypeError) as exc:
            raise _bad("reply", exc) from None
        return doc

    # -- model metadata ------------------------------------------------------------------------
    @staticmethod
    def encode_metadata(model: str, input_shape: tuple[int, ...], n_outputs: int,
                        parameters: dict[str, Any] | None = None, platform: str = "advmatrix") -> dict[str, Any]:
        """A model metadata reply: one FP32 input of ``(-1, *input_shape)`` and one FP32 output of
        ``(-1, n_outputs)``; ``parameters`` carries what the protocol has no field for (classes)."""
        return {"name": model, "platform": platform,
                "inputs": [{"name": "input-0", "datatype": "FP32", "shape": [-1, *input_shape]}],
                "outputs": [{"name": "output-0", "datatype": "FP32", "shape": [-1, n_outputs]}],
                "parameters": dict(parameters or {})}

    @staticmethod
    def decode_metadata(doc: Any) -> dict[str, Any]:
        """What a model metadata reply tells a client, as target-description keys: ``input_shape``
        (when fixed), ``classes`` or ``n_classes``, and ``output`` and ``modality`` when the server
        publishes them as parameters. Raises :class:`ProtocolError` when it is not metadata."""
        try:
            found: dict[str, Any] = {}
            shape = [int(d) for d in doc["inputs"][0]["shape"][1:]]
            if all(d >= 0 for d in shape):
                found["input_shape"] = shape
            params = doc.get("parameters") or {}
            if params.get("classes"):
                found["classes"] = list(params["classes"])
            elif doc.get("outputs") and int(doc["outputs"][0]["shape"][-1]) > 0:
                found["n_classes"] = int(doc["outputs"][0]["shape"][-1])
            for key in ("output", "modality"):
                if params.get(key):
                    found[key] = params[key]
            return found
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise ProtocolError(f"not Open Inference Protocol v2 model metadata ({exc.__class__.__name__}: {exc})") \
                from None


def _bad(what: str, exc: Exception) -> ProtocolError:
    return ProtocolError(f"not an Open Inference Protocol v2 {what} ({exc.__class__.__name__}: {exc})")


__all__ = ["DATATYPES", "KServe", "KServeParams", "datatype", "decode_tensor", "encode_tensor"]
