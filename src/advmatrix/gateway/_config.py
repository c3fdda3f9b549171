"""Gateway configuration: YAML file plus command-line overrides.

Detectors, responses and protocols are plugins named here with their parameters; what
detectors need beyond parameters comes from ``context`` (``reference``: natural inputs,
``members``: training inputs, each an ``.npy`` file read without pickle), resolved once, for
every detector that declares it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from ..detect import Detector, build
from ..errors import FormatError, UsageError, first_problem
from ..plugins import Context, load_array, validation_message

#: the detectors a gateway runs when its configuration names none: classifier traffic and LLM
#: traffic (each kind only sees its own; the embedding model is not loaded by default)
DEFAULT_DETECTORS: dict[str, dict[str, Any]] = {
    "boundary-search": {}, "structured-search": {}, "segment-search": {}, "noise-probe": {}, "key-rotation": {},
    "coordinate-probe": {}, "similarity-search": {}, "prada": {}, "volume": {},
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


def _env_set(value: str | None) -> str | None:
    if value is not None and not os.environ.get(value):
        raise ValueError(f"environment variable {value} is not set (it holds the secret; the file only names it)")
    return value


class _SinkBase(BaseModel):
    """What every SIEM output takes: batching, the bounded queue, retries and the shutdown flush."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, description="label of this sink's metrics (default: its kind)")
    batch_size: int = Field(100, ge=1, le=10_000, description="alerts sent in one request (or TCP write)")
    flush_s: float = Field(1.0, gt=0, le=3600, description="longest an alert waits for its batch to fill")
    queue_size: int = Field(10_000, ge=1, description="alerts waiting to be sent; when full, new ones are dropped "
                            "and counted, never waited for")
    timeout: float = Field(5.0, gt=0, description="seconds per attempt (connect, send, reply)")
    retries: int = Field(3, ge=0, le=20, description="attempts after the first on 429, 5xx and connection errors")
    backoff_s: float = Field(0.5, gt=0, description="first retry delay; doubled per attempt, with jitter")
    shutdown_s: float = Field(5.0, ge=0, description="at shutdown, how long queued alerts may take to go out")

    @model_validator(mode="before")
    @classmethod
    def _no_secret_in_file(cls, data: Any) -> Any:
        # a token pasted into the YAML ends up in backups and version control
        for key in ("token", "api_key", "password"):
            if isinstance(data, dict) and key in data:
                raise ValueError(f"{key}: secrets are not read from the file; put it in an environment variable "
                                 f"and name the variable in {key}_env")
        return data


class SplunkHecSink(_SinkBase):
    """Splunk HTTP Event Collector: ``POST {url}/services/collector/event``."""

    kind: Literal["splunk-hec"]
    url: str = Field(description="the collector's base URL, e.g. https://splunk:8088")
    token_env: str = Field(description="environment variable holding the HEC token")
    index: str | None = None
    source: str = "advmatrix"
    sourcetype: str = "advmatrix:alert"
    verify_tls: bool = True

    _token_set = field_validator("token_env")(_env_set)


class ElasticsearchSink(_SinkBase):
    """Elasticsearch (or OpenSearch) ``_bulk``: each alert an index action into ``index``."""

    kind: Literal["elasticsearch"]
    url: str = Field(description="the cluster's base URL, e.g. https://es:9200")
    index: str = Field(description="index or data stream the alerts go to")
    api_key_env: str | None = Field(None, description="environment variable holding an API key (encoded)")
    username: str | None = Field(None, description="basic authentication user (with password_env)")
    password_env: str | None = None
    verify_tls: bool = True

    _secrets_set = field_validator("api_key_env", "password_env")(_env_set)

    @model_validator(mode="after")
    def _one_auth(self) -> ElasticsearchSink:
        if self.api_key_env and self.username:
            raise ValueError("api_key_env: give an API key or username/password_env, not both")
        if (self.username is None) != (self.password_env is None):
            raise ValueError("password_env: username and password_env go together")
        return self


class SyslogSink(_SinkBase):
    """Syslog, RFC 5424, over UDP (one datagram per alert) or TCP (octet counting, RFC 6587)."""

    kind: Literal["syslog"]
    host: str
    port: int = Field(514, ge=1, le=65535)
    protocol: Literal["udp", "tcp"] = "udp"
    facility: int = Field(10, ge=0, le=23, description="syslog facility (10: security/authorization)")
    app_name: str = Field("advmatrix", min_length=1, max_length=48, pattern=r"^[!-~]+$")
    sd_id: str = Field("atlas@32473", pattern=r"^[!#-<>-\\^-~]{1,32}$",
                       description="SD-ID of the ATLAS structured data (NAME@enterprise-number); 32473 is "
                       "RFC 5612's documentation number: put your organisation's IANA number here")


SinkConfig = Annotated[SplunkHecSink | ElasticsearchSink | SyslogSink, Field(discriminator="kind")]


class GatewayConfig(BaseModel):
    """Everything ``advmatrix monitor`` is configured with (YAML keys of the same names)."""

    model_config = ConfigDict(extra="forbid")
    # where it was read from, for messages: the file, and the line of each key (see load_config)
    _source: str = PrivateAttr("")
    _lines: dict[tuple[Any, ...], int] = PrivateAttr(default_factory=dict)
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
    sinks: list[SinkConfig] = Field(default_factory=list, description="SIEM outputs the alerts also go to: "
                                    "splunk-hec, elasticsearch, syslog")
    state: str | None = Field(None, description="redis://host:port/db: blocks, throttles, degradations and volume "
                              "counts shared by every replica (default: kept in this process)")
    state_failure: Literal["open", "closed"] = Field("open", description="while the shared state is unreachable: "
                                                     "admit on the local copy (open) or refuse with 503 (closed)")
    strict: bool = Field(False, description="read the client's measures from the shared state on every request "
                         "(a round trip) instead of the local copy kept up to date by pub/sub")
    trusted_proxies: list[str] = Field(default_factory=list, description="CIDRs of balancers whose "
                                       "X-Forwarded-For / Forwarded headers name the client's address")
    detection: Literal["in-process", "workers"] = Field(
        "in-process", description="where the classifier detectors run: in this process (default), or in "
        "`advmatrix detect` workers fed through Redis Streams (needs state: redis://...)")
    shards: int = Field(1, ge=1, le=256, description="with detection: workers, streams the events are split over "
                        "by client (one worker owns a shard at a time). 1 keeps every client in one view, as "
                        "in-process: detectors that link clients (boundary-search's shared index, key-rotation) "
                        "see only their shard's clients when there are more")
    stream_maxlen: int = Field(100_000, ge=1_000, description="events kept per shard stream (approximately): "
                               "bounds Redis memory and what a worker taking a shard over replays")

    @field_validator("detectors", "responses", "context", mode="before")
    @classmethod
    def _empty_section(cls, value: Any) -> Any:
        # A section whose entries are all commented out reads as null in YAML: it names none.
        return {} if value is None else value

    @field_validator("state")
    @classmethod
    def _state_url(cls, value: str | None) -> str | None:
        if value is not None:
            from urllib.parse import urlsplit

            try:
                url = urlsplit(value)
                db = url.path.strip("/")
                ok = url.scheme in ("redis", "rediss") and bool(url.hostname) and (not db or db.isdigit())
                url.port  # noqa: B018  (raises on a port that is not a number)
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"'{value}': expected redis://host:port/db (or rediss:// for TLS)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        import ipaddress

        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"'{cidr}' is not an address or CIDR (e.g. 10.0.0.0/8)") from None
        return value

    @field_validator("context", mode="after")
    @classmethod
    def _known_names(cls, context: dict[str, Any]) -> dict[str, Any]:
        # A misspelt name under context was kept and never read.
        # (A response for a detector no one built is refused where the detectors are: see Gateway.)
        import difflib

        from ..detect import detectors
        from ..plugins import CONTEXT

        installed = detectors()
        known = sorted({*CONTEXT, *(c for cls in installed.values() for c in getattr(cls, "context", ()))})
        for name, value in context.items():
            if name not in known:
                near = difflib.get_close_matches(name, known, n=1)
                hint = f"did you mean {near[0]!r}?" if near else "known: " + ", ".join(known)
                raise ValueError(f"'{name}' is read by no detector ({hint})")
            if not isinstance(value, str):
                what = "the prompt itself" if name == "system_prompt" else "the path of a .npy file"
                raise ValueError(f"'{name}' must be text ({what}); got {type(value).__name__}")
        return context

    @model_validator(mode="after")
    def _state_options(self) -> GatewayConfig:
        if self.state is None:
            if self.strict:
                raise ValueError("strict: needs a shared state (state: redis://...)")
            if self.state_failure != "open":
                raise ValueError("state_failure: needs a shared state (state: redis://...)")
            if self.detection == "workers":
                raise ValueError("detection: workers needs a shared state (state: redis://...)")
        return self

    def allow_rules(self) -> list:
        """The allow-list as rules the chat path applies."""
        from ._chat import AllowRule

        return [AllowRule(frozenset(a.detectors), frozenset(a.clients), re.compile(a.pattern) if a.pattern else None)
                for a in self.allow]

    def build_context(self) -> Context:
        """The context every detector is built with. Every ``.npy`` named is read now, even
        when no detector uses it: a bad file in the configuration is an error at start-up,
        not a surprise the day someone turns a detector on."""
        from ..plugins import CONTEXT

        values = dict(self.context)
        if self.reference:
            values.setdefault("reference", self.reference)
        for name, value in values.items():
            # a context item documented as an array is read as one whatever its file is called (a .txt
            # reference reached the detector as text and failed there, with a traceback)
            if isinstance(value, str) and (value.endswith(".npy") or CONTEXT.get(name, "").startswith(".npy")):
                where = self.where("context", name) if name in self.context else "--reference"
                values[name] = load_array(value, f"{where}: context {name}")
        return Context(values, where="the gateway configuration's 'context' (or --reference)")

    def where(self, *loc: Any) -> str:
        """``file:line`` of the deepest part of ``loc`` the configuration file has (see :func:`load_config`),
        the file alone, or "configuration" for one built in code."""
        line = next((self._lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in self._lines), None)
        return f"{self._source}:{line}" if self._source and line else self._source or "configuration"

    def defaults_off(self) -> dict[str, tuple[str, ...]]:
        """The default detectors left off because the context they read is not given (prompt-leakage
        without the system prompt), each with what it needs; empty when the configuration names its
        detectors (a detector named there without its context is an error instead)."""
        if "detectors" in self.model_fields_set:
            return {}
        from ..detect import detectors

        known = detectors()
        given = set(self.context) | ({"reference"} if self.reference else set())
        return {name: needs for name in self.detectors if name in known
                and (needs := tuple(getattr(known[name], "context", ()))) and not given & set(needs)}

    def build_detectors(self) -> list[Detector]:
        """The configured detectors, parameters validated, context supplied; a bad parameter is named at
        its detector's line in the file. A default detector with nothing to read is left off (see
        :meth:`defaults_off`): on by default, it would look and never see."""
        context = self.build_context()
        off = self.defaults_off()
        out = []
        for name, params in self.detectors.items():
            if name in off:
                continue
            try:
                out.append(build(name, context, **(params or {})))
            except UsageError as exc:
                raise UsageError(f"{self.where('detectors', name)}: {exc}") from None
        return out


def load_config(path: str | Path | None, **overrides: Any) -> GatewayConfig:
    """The configuration from a YAML file (or none) with command-line overrides applied."""
    data: dict[str, Any] = {}
    lines: dict[tuple[Any, ...], int] = {}
    if path:
        from ..kb._io import read_yaml

        data = read_yaml(Path(path), lines) or {}
        if not isinstance(data, dict):
            raise FormatError(f"{path}: gateway configuration must be a mapping")
        odd = next((k for k in data if not isinstance(k, str)), None)
        if odd is not None or None in data:  # '1: 2' or 'yes: x' at the top: YAML reads a number or boolean
            at = next((v for (k, *rest), v in lines.items() if not rest and k not in data), None)
            raise FormatError(f"{path}{f':{at}' if at else ''}: {odd!r} is not a setting of the gateway "
                              "configuration (its keys are names)")
    given = {k: v for k, v in overrides.items() if v is not None}
    data.update(given)
    try:
        config = GatewayConfig(**data)
        config._source, config._lines = (str(path) if path else ""), {k: v for k, v in lines.items()
                                                                      if k[:1] and k[0] not in given}
        return config
    except ValidationError as exc:
        given_loc = tuple(exc.errors()[0]["loc"])
        loc = _in_data(data, given_loc)
        if not loc:  # a check across fields names the one it is about first ("strict: needs a shared state")
            head = str(exc.errors()[0]["msg"]).removeprefix("Value error, ").split(":", 1)[0]
            loc = (head,) if (head,) in lines else ()
        # the line of the deepest key the error names that the file has (not one an option set)
        line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
        where = f"{path}:{line}" if path and line and loc[:1] and loc[0] not in given else path or "configuration"
        message = validation_message(exc)
        if given_loc and loc != given_loc:  # the sink's kind, not a key of the file
            message = f"'{'.'.join(map(str, loc))}': {first_problem(exc)[1]}"
        raise UsageError(f"{where}: {message}") from None


def _in_data(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """``loc`` as a path in the file: without the tag pydantic puts in for a union told apart by ``kind``
    (the ``syslog`` of ``sinks.0.syslog.port``), so that the port's own line is found."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(node, dict) and node.get("kind") == part:
            continue
        else:
            node = None
        out.append(part)
    return tuple(out)
