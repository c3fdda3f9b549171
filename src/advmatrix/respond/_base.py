"""What a response is: a plugin that, once an alert names it, holds a measure against one
client for a while: refuse its requests, slow them, or rewrite what it gets back.

Each response names the ATLAS mitigations it implements; the alert it answers carries them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..plugins import Plugin


class ResponseParams(BaseModel):
    """Parameters every response takes."""

    model_config = ConfigDict(extra="forbid")
    duration_s: float = Field(600.0, ge=0, description="how long the measure holds after the alert")


@dataclass
class Measure:
    """One response in force against one client until ``until`` (epoch seconds)."""

    response: Response
    until: float
    state: dict[str, Any] = field(default_factory=dict)   # the response's own (a token bucket)


#: what a response does to the LLM exchange that raised the alert (besides any measure it holds)
EXCHANGE_EFFECTS = ("", "refuse", "stop", "redact", "neutralise", "drop-tools")


class Response(Plugin):
    """Base of every response. ``admit`` may refuse a request; ``rewrite`` may change the scores
    a client receives (set ``rewrites = True`` so the gateway reads replies for it).

    For LLM traffic a response also acts on the exchange that raised the alert, as
    ``exchange`` says: ``refuse`` the request with the protocol's own error, ``stop`` the output
    (a stream is ended cleanly, a whole reply withheld), ``redact`` or ``neutralise`` the spans
    the alert names in the output (:meth:`edit`), ``drop-tools`` to drop the tool calls of the
    reply and answer with a refusal instead."""

    kind = "response"
    Params: ClassVar[type[BaseModel]] = ResponseParams
    rewrites: ClassVar[bool] = False
    holds: ClassVar[bool] = True    # False for responses that take no measure (log only)
    exchange: ClassVar[str] = ""

    def __init__(self, **params: Any):
        self.params = self.parse_params(params)

    def start(self, measure: Measure, now: float) -> None:
        """Called when an alert starts or renews the measure."""

    def admit(self, measure: Measure, now: float) -> tuple[int, str] | None:
        """None to let a request through, or (HTTP status, reason) to refuse it."""
        return None

    def rewrite(self, measure: Measure, scores: np.ndarray) -> np.ndarray | None:
        """Scores to send instead of ``scores`` (n, classes), or None to leave them."""
        return None

    def edit(self, text: str, span: tuple[int, int]) -> str:
        """What ``text[span[0]:span[1]]`` becomes (``redact`` and ``neutralise`` responses)."""
        return text[span[0]:span[1]]
