"""Gateway configuration: YAML file plus command-line overrides.

Detectors, responses and protocols are plugins named here with their parameters; what
detectors need beyond parameters comes from ``context`` (``reference``: natural inputs,
``members``: training inputs, each an ``.npy`` file read without pickle), resolved once, for
every detector that declares it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..detect import Detector, build
from ..errors import FormatError, UsageError
from ..plugins import Context, load_array, validation_message

#: the detectors a gateway runs when its configuration names none: classifier traffic and LLM
#: traffic (each kind only sees its own; the embedding model is not loaded by default)
DEFAULT_DETECTORS: dict[str, dict[str, Any]] = {
    "boundary-search": {}, "key-rotation": {}, "similarity-search": {}, "prada": {}, "volume": {},
    "prompt-injection": {}, "prompt-similarity": {"backend": "ngrams"}, "prompt-leakage": {},
    "secret-leakage": {}, "rendering-exfiltration": {}, "tool-call-guard": {}, "history-integrity": {},
    "session-jailbreak": {}, "token-amplification": {},
}


class AllowEntry(BaseModel):
    """An allow-list entry: alerts it matches are dropped (see ``GatewayConfig.allow``)."""

    model_config = ConfigDict(extra="forbid")
    detectors: list[str] = Field(default_factory=list, description="detector names (all when empty)")
    clients: list[str] = Field(default_factory=list, description="client ids (all when empty)")
    pattern: str | None = Field(None, description="a regular expression searched in the alert's message and "
                                "evidence (a URL host, a phrase); any alert when not given")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression ({exc})") from None
        return value


class GatewayConfig(BaseModel):
    """Everything ``advmatrix monitor`` is configured with (YAML keys of the same names)."""

    model_config = ConfigDict(extra="forbid")
    upstream: str
    db: str = "gateway.db"
    client_header: str = "x-api-key"
    max_body: int = Field(8 << 20, ge=1024)
    timeout: float = Field(30.0, gt=0)
    max_connections: int = Field(100, ge=1)
    retention: int = Field(1_000_000, ge=100, description="events kept")
    max_clients: int = Field(100_000, ge=1, description="clients whose query counts and measures are kept "
                             "(least recently seen forgotten first)")
    admin_token: str | None = None
    alerts_jsonl: str | None = None
    webhook: str | None = None
    json_paths: dict[str, str] = Field(default_factory=dict)
    detectors: dict[str, dict[str, Any]] = Field(default_factory=lambda: {k: dict(v) for k, v in
                                                                           DEFAULT_DETECTORS.items()})
    responses: dict[str, dict[str, Any]] = Field(default_factory=dict, description="per detector, the response "
                                                 "its alerts get; a detector not named keeps its own default")
    alert_only_clients: list[str] = Field(
        default_factory=list, description="client ids as alerts name them ('key:...' for an API key, else the "
                                          "address): alerted on, never acted against")
    context: dict[str, Any] = Field(default_factory=dict, description="data detectors declare they need: "
                                    "reference, members (.npy files), system_prompt (text)")
    reference: str | None = Field(None, description="shorthand for context.reference")
    protocols: dict[str, dict[str, Any]] = Field(default_factory=dict, description="parameters per protocol plugin")
    max_stream_chars: int = Field(1_000_000, ge=1, description="characters of a streamed LLM reply passed on before "
                                  "the gateway ends the stream (finish reason 'length')")
    allow: list[AllowEntry] = Field(default_factory=list, description="allow-list: alerts from these clients, of "
                                    "these detectors, matching this pattern, are dropped")

    def allow_rules(self) -> list:
        """The allow-list as rules the chat path applies."""
        from ._chat import AllowRule

        return [AllowRule(frozenset(a.detectors), frozenset(a.clients), re.compile(a.pattern) if a.pattern else None)
                for a in self.allow]

    def build_context(self) -> Context:
        """The context every detector is built with. Every ``.npy`` named is read now, even
        when no detector uses it: a bad file in the configuration is an error at start-up,
        not a surprise the day someone turns a detector on."""
        values = dict(self.context)
        if self.reference:
            values.setdefault("reference", self.reference)
        for name, value in values.items():
            if isinstance(value, str) and value.endswith(".npy"):
                values[name] = load_array(value, f"context {name}")
        return Context(values, where="the gateway configuration's 'context' (or --reference)")

    def build_detectors(self) -> list[Detector]:
        """The configured detectors, parameters validated, context supplied."""
        context = self.build_context()
        return [build(name, context, **(params or {})) for name, params in self.detectors.items()]


def load_config(path: str | Path | None, **overrides: Any) -> GatewayConfig:
    """The configuration from a YAML file (or none) with command-line overrides applied."""
    data: dict[str, Any] = {}
    if path:
        from ..kb._io import read_yaml

        data = read_yaml(Path(path)) or {}
        if not isinstance(data, dict):
            raise FormatError(f"{path}: gateway configuration must be a mapping")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return GatewayConfig(**data)
    except ValidationError as exc:
        raise UsageError(f"{path or 'configuration'}: {validation_message(exc)}") from None
