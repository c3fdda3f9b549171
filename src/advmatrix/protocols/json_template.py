"""Any JSON API, described by a request template and the path to the outputs in its replies."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._base import JsonPath, Protocol, ProtocolError, numeric, walk

BATCH, SAMPLE = "$inputs", "$input"


class JsonTemplateParams(BaseModel):
    """Parameters of :class:`JsonTemplate`: the request template, where replies keep the outputs,
    and the route a gateway watches."""

    model_config = ConfigDict(extra="forbid")
    template: Any = Field(default_factory=lambda: {"inputs": BATCH},
                          description='request body with "$inputs" where the batch goes, or "$input" '
                                      "for one sample per request")
    response_path: str = Field("outputs", description="dotted path to the outputs in a reply "
                                                      "('result.scores', 'data.0.probs')")
    path: str | None = Field(None, description="the route the gateway watches (e.g. /predict)")

    @field_validator("template")
    @classmethod
    def _has_one_kind_of_marker(cls, template: Any) -> Any:
        found = {value for _, value in walk(template) if value in (BATCH, SAMPLE)}
        if not found:
            raise ValueError(f'put "{BATCH}" (the batch) or "{SAMPLE}" (one sample) where the inputs go')
        if len(found) == 2:
            raise ValueError(f'use "{BATCH}" or "{SAMPLE}", not both')
        return template


class JsonTemplate(Protocol):
    """A JSON API described by data: ``template`` is the request body with the string
    ``"$inputs"`` where the batch goes (``"$input"`` to send one sample per request), and
    ``response_path`` is the dotted path to the outputs in the reply (``result.scores``;
    numbers index lists: ``data.0.probs``). ``path`` is the route a gateway watches."""

    name = "json"
    title = "JSON API from a request template"
    Params: ClassVar[type[BaseModel]] = JsonTemplateParams

    # derived from the parameters on first use (``__init__`` only validates them)
    @functools.cached_property
    def _marker(self) -> tuple[JsonPath, bool]:
        for trail, value in walk(self.params.template):
            if value in (BATCH, SAMPLE):
                return JsonPath(trail), value == SAMPLE
        raise AssertionError("validated templates have a marker")  # pragma: no cover

    @functools.cached_property
    def _outputs(self) -> JsonPath:
        return JsonPath(self.params.response_path)

    @property
    def single(self) -> bool:
        """Whether the template sends one sample per request (``"$input"``)."""
        return self._marker[1]

    @property
    def batch_limit(self) -> int | None:  # type: ignore[override]
        """1 for one-sample templates, else no limit."""
        return 1 if self.single else None

    def match(self, path: str) -> bool:
        """The configured ``path``, exactly (no path: nothing)."""
        return path == self.params.path

    def endpoint(self, model: str) -> str:
        """The configured ``path`` (the API names no models); without one, a :class:`ProtocolError`."""
        if self.params.path is None:
            return super().endpoint(model)
        return self.params.path

    def encode_request(self, batch: np.ndarray) -> Any:
        """The template with the batch (or its one sample) where the marker is."""
        batch = np.asarray(batch)
        if self.single:
            if len(batch) != 1:
                raise ProtocolError(f'a "{SAMPLE}" template sends one sample per request, not {len(batch)}')
            value, marker = batch[0].tolist(), SAMPLE
        else:
            value, marker = batch.tolist(), BATCH
        return _fill(self.params.template, marker, value)

    def decode_request(self, doc: Any) -> np.ndarray:
        """What the body holds where the template's marker is, as float64 (one sample: ``(1, ...)``)."""
        where, single = self._marker
        try:
            value = where.get(doc)
        except ProtocolError:
            raise ProtocolError(f"request has no '{where}'") from None
        array = numeric(value, f"'{where}'")
        return array[None] if single else array

    def encode_reply(self, scores: np.ndarray, model: str = "") -> Any:
        """A document with the scores at ``response_path`` (one sample's scores when single)."""
        return self._outputs.set(None, self._value(scores), create=True)

    def decode_reply(self, doc: Any, n: int | None = None) -> np.ndarray:
        """The value at ``response_path`` as float64; a one-sample reply gets its batch axis back."""
        try:
            value = self._outputs.get(doc)
        except ProtocolError:
            raise ProtocolError(f"reply has no '{self._outputs}'") from None
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise ProtocolError(f"'{self._outputs}' is not numeric") from None
        return array[None] if self.single and array.ndim <= 1 else array

    def replace_outputs(self, doc: Any, scores: np.ndarray) -> Any:
        """``doc`` with the value at ``response_path`` replaced."""
        try:
            return self._outputs.set(doc, self._value(scores))
        except ProtocolError:
            raise ProtocolError(f"reply has no '{self._outputs}'") from None

    def _value(self, scores: np.ndarray) -> Any:
        scores = np.asarray(scores)
        return scores[0].tolist() if self.single and len(scores) == 1 else scores.tolist()

    @classmethod
    def for_route(cls, path: str, inputs: str, outputs: str = "result") -> JsonTemplate:
        """The protocol of a JSON route given as dotted paths: ``for_route("/predict", "features",
        "result.scores")`` reads the batch at ``features`` and the scores at ``result.scores``."""
        return cls(template=JsonPath(inputs).set(None, BATCH, create=True), response_path=outputs, path=path)


def _fill(node: Any, marker: str, value: Any) -> Any:
    if isinstance(node, str):
        return value if node == marker else node
    if isinstance(node, dict):
        return {k: _fill(v, marker, value) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, marker, value) for v in node]
    return node


__all__ = ["BATCH", "SAMPLE", "JsonTemplate", "JsonTemplateParams"]
