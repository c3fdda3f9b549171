"""Target kinds for LLM applications: model APIs (OpenAI-compatible, Anthropic, Ollama) and an
application's own JSON API. Each opens an :class:`~advmatrix.targets.llm.HttpChatTarget`.

A description (YAML) for an application behind an OpenAI-compatible API, with a knowledge base
the red team can add documents to::

    protocol: openai
    url: http://localhost:8000/v1
    model: support-bot
    headers: {Authorization: "Bearer ${APP_TOKEN}"}
    system_prompt: "You are the support assistant of ACME..."
    tools: [{type: function, function: {name: send_email, parameters: {...}}}]
    channels: [user, tool_result, retrieved_document]
    plant:
      retrieved_document: {url: http://localhost:8000/admin/documents,
                           template: {title: $title, text: $content}}
    price_in: 0.15
    price_out: 0.60
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import TargetUnavailable, UsageError
from ..protocols import AnthropicMessages, ChatProtocol, JsonChat, OllamaChat, OpenAIChat, ProtocolError
from ..protocols._chat import openai_tool
from ._base import Access
from ._chat import CHANNELS, ChatBudget, ChatInfo
from ._kinds import DescriptionParams, TargetKind
from .llm import HttpChatTarget, PlantEndpoint

#: channels planted through an endpoint (the user turn and tool results need none)
PLANTED = tuple(c for c in CHANNELS if c not in ("user", "tool_result"))


class PlantParams(BaseModel):
    """One ``plant:`` entry: where the application takes content of a channel."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(description="the endpoint that takes the content (an ingestion or admin API)")
    template: Any = Field(default_factory=lambda: {"title": "$title", "content": "$content"},
                          description="JSON body with $content, $title and $channel in its strings")
    method: Literal["POST", "PUT"] = Field("POST", description="HTTP method")
    headers: dict[str, str] | None = Field(None, description="headers for this endpoint only; ${ENV} expands")


class ChatParams(DescriptionParams):
    """Keys of a chat target's description (on top of the shared ones: ``name``, ``headers``,
    ``timeout``, ``retries``, ``backoff``, ``access``)."""

    url: str | None = Field(None, description="the API's base URL (http://host:port/v1), or the full endpoint")
    model: str | None = Field(None, description="model name in requests (the server's first model when unset)")
    api_key: str | None = Field(None, description="sent in the API's own auth header; ${ENV} expands")
    system_prompt: str | None = Field(None, description="the application's system prompt, when known")
    send_system_prompt: bool = Field(True, description="send system_prompt as the system turn (a bare model API "
                                     "runs with it); false for an application that holds its own prompt, where "
                                     "system_prompt is only what the red team knows of it")
    tools: list[dict[str, Any]] | None = Field(None, description="function schemas (OpenAI form) the application has")
    channels: list[str] | None = Field(None, description=f"where untrusted content enters: {', '.join(CHANNELS)}")
    plant: dict[str, PlantParams] | None = Field(None, description="per channel, the endpoint that takes content")
    stream: bool | None = Field(None, description="ask for streamed replies")
    temperature: float | None = Field(None, ge=0, description="sampling temperature sent with every request")
    max_tokens: int | None = Field(None, ge=1, description="completion length asked for")
    seed: int | None = Field(None, description="sampling seed, where the API takes one")
    max_reply_chars: int | None = Field(None, ge=1, description="most characters of a reply read (20000)")
    max_reply_bytes: int | None = Field(None, ge=1024, description="most bytes of a reply read (2000000)")
    time_limit: float | None = Field(None, gt=0, description="seconds a whole reply may take, streamed or not (120)")
    connect_timeout: float | None = Field(None, gt=0, description="seconds to connect (10)")
    max_retry_wait: float | None = Field(None, ge=0, description="longest Retry-After honoured, in seconds (30)")
    price_in: float | None = Field(None, ge=0, description="money per million prompt tokens")
    price_out: float | None = Field(None, ge=0, description="money per million completion tokens")

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, channels: list[str] | None) -> list[str] | None:
        for channel in channels or ():
            if channel not in CHANNELS:
                raise ValueError(f"unknown channel '{channel}' (known: {', '.join(CHANNELS)})")
        return channels

    @field_validator("plant")
    @classmethod
    def _planted_channels(cls, plant: dict[str, Any] | None) -> dict[str, Any] | None:
        for channel in plant or {}:
            if channel not in PLANTED:
                raise ValueError(f"cannot plant into '{channel}' (endpoints are for {', '.join(PLANTED)})")
        return plant


class _ChatKind(TargetKind):
    """What every chat kind shares: reading the description into :class:`ChatInfo` and the
    options of :class:`HttpChatTarget`."""

    Params: ClassVar[type[BaseModel]] = ChatParams
    required = ("url",)
    #: channels declared when the description lists none
    default_channels: ClassVar[tuple[str, ...]] = ("user", "tool_result")

    @classmethod
    def _protocol(cls, params: Any) -> ChatProtocol:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _open(cls, params: Any, source: str, protocol: ChatProtocol, url: str, model: str,
              budget: Any, headers: dict[str, str], send_system_prompt: bool) -> HttpChatTarget:
        plant = params.plant or {}
        channels = list(params.channels or dict.fromkeys([*cls.default_channels, *plant]))
        for channel in plant:
            if channel not in channels:
                raise UsageError(f"{source}: 'plant' names channel '{channel}', which 'channels' does not list")
        try:
            tools = tuple(openai_tool(t) for t in params.tools or ())
            access = Access(params.access or "black-box")
        except (ProtocolError, ValueError) as exc:
            raise UsageError(f"{source}: {exc}") from None
        info = ChatInfo(name=params.name or f"{model or url} ({cls.name})", model=model,
                        system_prompt=params.system_prompt, tools=tools, channels=tuple(channels), access=access,
                        price_in=params.price_in or 0.0, price_out=params.price_out or 0.0)
        sampling = {k: getattr(params, k) for k in ("temperature", "max_tokens", "seed")
                    if getattr(params, k) is not None}
        options = {k: getattr(params, k) for k in ("max_reply_chars", "max_reply_bytes", "time_limit", "timeout",
                                                   "connect_timeout", "retries", "backoff", "max_retry_wait")
                   if getattr(params, k) is not None}
        endpoints = {c: PlantEndpoint(p.url, p.template, p.method, dict(p.headers or {})) for c, p in plant.items()}
        chat_budget = budget if isinstance(budget, ChatBudget) or budget is None \
            else ChatBudget(requests=getattr(budget, "limit", None))
        return HttpChatTarget(url, protocol, info, chat_budget, model=model, headers=headers,
                              stream=bool(params.stream), sampling=sampling, send_system_prompt=send_system_prompt,
                              plant=endpoints, **options)


class _ChatApi(_ChatKind):
    """A model API: ``{name}+http://host:port[/prefix][?model=NAME]``; the model is the
    description's, the URI's, or the first the server lists."""

    protocol_class: ClassVar[type[ChatProtocol]] = ChatProtocol

    @classmethod
    def from_uri(cls, uri: str) -> dict[str, Any]:
        """``{name}+http(s)://host:port/base?model=NAME``."""
        scheme, _, rest = uri.partition(":")
        transport = scheme.partition("+")[2]
        parts = urlsplit(f"{transport}:{rest}")
        query = parse_qs(parts.query)
        if transport not in ("http", "https") or not parts.netloc or set(query) - {"model"}:
            raise UsageError(f"{uri}: expected {cls.name}+http://host:port[/v1][?model=NAME]")
        out = {"protocol": cls.name, "url": f"{transport}://{parts.netloc}{parts.path.rstrip('/')}"}
        if query.get("model"):
            out["model"] = query["model"][0]
        return out

    @classmethod
    def _protocol(cls, params: Any) -> ChatProtocol:
        return cls.protocol_class()

    @classmethod
    def open(cls, description: dict[str, Any], budget: Any, source: str) -> HttpChatTarget:
        """An :class:`HttpChatTarget` posting to the API's chat endpoint under ``url``."""
        params = cls.check(description, source)
        protocol = cls._protocol(params)
        headers = {**(protocol.auth_headers(params.api_key) if params.api_key else {}), **(params.headers or {})}
        root = api_root(params.url, protocol)
        model = params.model or cls.discover_model(root, protocol, {**protocol.headers(), **headers}, source)
        return cls._open(params, source, protocol, root + _tail(protocol.path), model, budget, headers,
                         send_system_prompt=params.send_system_prompt)

    @staticmethod
    def discover_model(root: str, protocol: ChatProtocol, headers: dict[str, str], source: str) -> str:
        """The first model the server lists; a one-line error saying to give ``model`` otherwise."""
        import httpx

        url = root + _tail(protocol.models_path)
        try:
            r = httpx.get(url, headers=headers or None, timeout=10)
        except httpx.HTTPError as exc:
            raise TargetUnavailable(f"{source}: cannot reach {url}: {exc.__class__.__name__}: {exc}") from None
        if r.status_code in (401, 403):
            raise TargetUnavailable(f"{source}: HTTP {r.status_code} listing the models at {url} — check the API "
                                    "key/header")
        try:
            models = protocol.decode_models(r.json()) if r.status_code == 200 else []
        except (ValueError, ProtocolError):
            models = []
        if not models:
            raise UsageError(f"{source}: say 'model' (the server lists none at {url}: HTTP {r.status_code})")
        return models[0]


def _tail(path: str) -> str:
    """``/v1/chat/completions`` -> ``/chat/completions``: the part after the API's version root."""
    return "/" + path.strip("/").partition("/")[2]


def api_root(url: str, protocol: ChatProtocol) -> str:
    """The API's version root (``http://h/v1``, ``http://h:11434/api``) from a description's
    ``url``: the server alone, a base URL as the vendors' SDKs take it, or the full endpoint."""
    base = url.rstrip("/")
    path = urlsplit(base).path
    tail = _tail(protocol.path)
    if path.endswith(tail):
        return base[:-len(tail)]
    if not path:
        return base + protocol.path[:-len(tail)]
    return base


class OpenAIKind(_ChatApi):
    """An OpenAI-compatible chat API (OpenAI, Azure OpenAI, vLLM, llama.cpp, LiteLLM, LM Studio,
    an application that exposes one): ``openai+http://host:port/v1?model=NAME``. Give the API
    key as ``api_key`` or a header (``Authorization: "Bearer ${OPENAI_API_KEY}"``)."""

    name = "openai"
    title = "OpenAI-compatible chat API"
    schemes = ("openai+http", "openai+https")
    protocol_class = OpenAIChat


class AnthropicKind(_ChatApi):
    """The Anthropic Messages API, or a server that speaks it:
    ``anthropic+https://api.anthropic.com?model=NAME``; the key as ``api_key`` (sent as
    ``x-api-key``)."""

    name = "anthropic"
    title = "Anthropic Messages API"
    schemes = ("anthropic+http", "anthropic+https")
    protocol_class = AnthropicMessages


class OllamaKind(_ChatApi):
    """A model on an Ollama server, through its native chat API:
    ``ollama+http://localhost:11434?model=llama3.2``."""

    name = "ollama"
    title = "Ollama chat API"
    schemes = ("ollama+http", "ollama+https")
    protocol_class = OllamaChat


class JsonChatParams(ChatParams):
    """Keys of a ``json-chat`` description."""

    template: Any = Field(None, description='request body with "$messages" (the conversation) or "$prompt" '
                                            "(the last user turn) where the input goes")
    response_path: str | None = Field(None, description="dotted path to the reply text ('answer', 'data.0.text')")


class JsonChatKind(_ChatKind):
    """An LLM application behind its own JSON API at ``url``: ``template`` is the request body
    with ``"$messages"`` (the conversation as a list of ``{role, content}``) or ``"$prompt"``
    (the last user turn as text), ``response_path`` the dotted path to the reply text. The
    application keeps its own system prompt and tools: ``system_prompt`` and ``tools`` say what
    the red team knows of them."""

    name = "json-chat"
    title = "LLM application JSON API"
    Params: ClassVar[type[BaseModel]] = JsonChatParams
    required = ("url", "template", "response_path")
    default_channels = ("user",)

    @classmethod
    def open(cls, description: dict[str, Any], budget: Any, source: str) -> HttpChatTarget:
        """An :class:`HttpChatTarget` speaking :class:`~advmatrix.protocols.JsonChat` to ``url``."""
        params = cls.check(description, source)
        try:
            protocol = JsonChat(template=params.template, response_path=params.response_path)
        except UsageError as exc:
            raise UsageError(f"{source}: {exc}") from None
        if params.stream:
            raise UsageError(f"{source}: a JSON chat API does not stream; drop 'stream'")
        headers = {**({"Authorization": f"Bearer {params.api_key}"} if params.api_key else {}),
                   **(params.headers or {})}
        return cls._open(params, source, protocol, params.url, params.model or "", budget, headers,
                         send_system_prompt=False)


__all__ = ["PLANTED", "AnthropicKind", "ChatParams", "JsonChatKind", "JsonChatParams", "OllamaKind", "OpenAIKind",
           "PlantParams", "api_root"]
