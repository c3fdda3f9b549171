"""TensorFlow Serving's REST predict API, row ("instances") and columnar ("inputs") formats."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ._base import Protocol, ProtocolError, numeric

_ROUTE = re.compile(r"^/v1/models/[^/:]+(?:/versions/\d+|/labels/[^/:]+)?:predict$")


class TFServingParams(BaseModel):
    """Parameters of :class:`TFServing`: signature, named input and output, model version."""

    model_config = ConfigDict(extra="forbid")
    signature_name: str | None = Field(None, description="signature to run (the server's default when unset)")
    input_name: str | None = Field(None, description="named input: rows are sent as {name: row} "
                                                     "(plain rows when unset)")
    output_name: str | None = Field(None, description="named output to read when the model has several")
    version: str | None = Field(None, description="model version addressed by clients (latest when unset)")


class TFServing(Protocol):
    """TensorFlow Serving REST: ``POST /v1/models/{model}:predict``. Requests carry rows as
    ``{"instances": [...]}`` (or columns as ``{"inputs": ...}``); replies answer with
    ``{"predictions": [...]}`` (or ``{"outputs": ...}``). Named inputs and outputs
    (``[{"x": row}, ...]``) are read when the model has one or the name is given."""

    name = "tfserving"
    title = "TensorFlow Serving REST"
    Params: ClassVar[type[BaseModel]] = TFServingParams

    def match(self, path: str) -> bool:
        """``/v1/models/{model}[/versions/{n} | /labels/{label}]:predict``."""
        return _ROUTE.match(path) is not None

    def endpoint(self, model: str) -> str:
        """``/v1/models/{model}[/versions/{version}]:predict``."""
        version = self.params.version
        return f"/v1/models/{model}" + (f"/versions/{version}" if version else "") + ":predict"

    def encode_request(self, batch: np.ndarray) -> Any:
        """Row format: ``{"instances": rows}`` (each row ``{input_name: row}`` when named)."""
        rows = np.asarray(batch).tolist()
        name = self.params.input_name
        doc: dict[str, Any] = {"instances": [{name: row} for row in rows] if name else rows}
        if self.params.signature_name:
            doc["signature_name"] = self.params.signature_name
        return doc

    def decode_request(self, doc: Any) -> np.ndarray:
        """The rows of ``instances``, or the tensor of ``inputs``, as float64."""
        return self._read(doc, ("instances", "inputs"), self.params.input_name, "request")

    def encode_reply(self, scores: np.ndarray, model: str = "") -> Any:
        """``{"predictions": rows}``."""
        return {"predictions": np.asarray(scores).tolist()}

    def decode_reply(self, doc: Any, n: int | None = None) -> np.ndarray:
        """``predictions`` (row format) or ``outputs`` (columnar) as float64."""
        return self._read(doc, ("predictions", "outputs"), self.params.output_name, "reply")

    def replace_outputs(self, doc: Any, scores: np.ndarray) -> Any:
        """The predictions (or outputs) replaced, under their name when they are named."""
        rows = np.asarray(scores).tolist()
        key = _key(doc, ("predictions", "outputs"), "reply")
        value = doc[key]
        if key == "predictions" and value and all(isinstance(r, dict) for r in value):
            name = _name(value[0], self.params.output_name, "reply")
            if len(value) != len(rows):
                raise ProtocolError(f"{len(rows)} rows of scores for a reply of {len(value)}")
            for row, new in zip(value, rows, strict=True):
                row[name] = new
        elif isinstance(value, dict):
            value[_name(value, self.params.output_name, "reply")] = rows
        else:
            doc[key] = rows
        return doc

    @staticmethod
    def _read(doc: Any, keys: tuple[str, str], name: str | None, what: str) -> np.ndarray:
        key = _key(doc, keys, what)
        value = doc[key]
        if key == keys[0] and isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            field = _name(value[0], name, what)
            try:
                value = [row[field] for row in value]
            except KeyError:
                raise ProtocolError(f"not a TF Serving {what} (a row lacks '{field}')") from None
        elif isinstance(value, dict):
            value = value[_name(value, name, what)]
        return numeric(value, f"TF Serving {what} '{key}'")


def _key(doc: Any, keys: tuple[str, str], what: str) -> str:
    if isinstance(doc, dict):
        for key in keys:
            if key in doc:
                return key
    raise ProtocolError(f"not a TF Serving {what} (no '{keys[0]}' or '{keys[1]}')")


def _name(named: dict, name: str | None, what: str) -> str:
    if name is not None:
        if name not in named:
            raise ProtocolError(f"not a TF Serving {what} (no tensor named '{name}')")
        return name
    if len(named) != 1:
        raise ProtocolError(f"TF Serving {what} has several named tensors ({', '.join(map(str, named))}); "
                            "say which one with 'input_name' or 'output_name'")
    return next(iter(named))


__all__ = ["TFServing", "TFServingParams"]
