"""Responses that act on one LLM exchange: refuse the request, stop the output, redact or
neutralise what the alert found in it, drop the tool calls an injection asked for.

They hold no measure against the client by default (``duration_s`` 0); name ``block`` or
``throttle`` for that. What they do to the exchange is the gateway's to carry out, in the
protocol the client speaks (:mod:`advmatrix.gateway`).
"""

from __future__ import annotations

from pydantic import Field

from ._base import Response, ResponseParams


class ExchangeParams(ResponseParams):
    duration_s: float = Field(0.0, ge=0, description="how long a measure holds (none by default: only the "
                              "exchange that raised the alert is acted on)")
    message: str | None = Field(None, max_length=2000, description="the text the client gets instead (each "
                                "response has its own default)")


class _Exchange(Response):
    Params = ExchangeParams
    holds = False
    default_message = "This request was refused by policy."

    @property
    def message(self) -> str:
        """What the client is told."""
        return self.params.message or self.default_message


class Refuse(_Exchange):
    """Refuse the request that raised the alert with the protocol's own error (HTTP 400, the
    error body its SDK raises cleanly); the upstream never sees it."""

    name = "refuse"
    title = "Refuse the request"
    mitigation_ids = ("AML.M0015", "AML.M0020")   # Adversarial Input Detection, Generative AI Guardrails
    exchange = "refuse"


class Stop(_Exchange):
    """Stop the output: a stream is ended cleanly at once (the protocol's final event, finish
    reason ``content_filter``), a whole reply is replaced by ``message``."""

    name = "stop"
    title = "Stop the output"
    mitigation_ids = ("AML.M0020",)
    exchange = "stop"
    default_message = "[output stopped by policy]"


class RedactParams(ExchangeParams):
    replacement: str = Field("[redacted]", max_length=200, description="what each span found becomes")


class Redact(_Exchange):
    """Replace what the alert found in the output (a secret, a leaked prompt passage) by
    ``replacement``; a stream, whose text has partly gone out already, is stopped instead."""

    name = "redact"
    title = "Redact the output"
    mitigation_ids = ("AML.M0020", "AML.M0033")   # ... and Input and Output Validation for AI Agent Components
    exchange = "redact"
    Params = RedactParams
    default_message = "[output stopped by policy]"

    def edit(self, text: str, span: tuple[int, int]) -> str:
        return self.params.replacement


class Neutralise(_Exchange):
    """Turn a markdown image or link the alert names into inert text: the link text stays, the
    URL (and the data in it) goes, so no client renders or fetches it. A stream is stopped."""

    name = "neutralise"
    title = "Neutralise links and images"
    mitigation_ids = ("AML.M0020", "AML.M0033")
    exchange = "neutralise"
    default_message = "[output stopped by policy]"

    def edit(self, text: str, span: tuple[int, int]) -> str:
        piece = text[span[0]:span[1]]
        label = piece[piece.find("[") + 1:piece.find("]")] if "[" in piece and "]" in piece else ""
        return f"[{label or 'link'} removed]"


class DropTools(_Exchange):
    """Drop the tool calls of the reply and answer with ``message``: the agent never runs the
    tool untrusted content asked for."""

    name = "drop-tools"
    title = "Drop guarded tool calls"
    # Restrict AI Agent Tool Invocation on Untrusted Data; Human In-the-Loop for AI Agent Actions
    mitigation_ids = ("AML.M0030", "AML.M0029")
    exchange = "drop-tools"
    default_message = "I won't run that tool: the request for it came from content I can't trust."
