"""Chat APIs: the plain data a conversation is made of, and the contract every chat protocol meets.

A chat protocol turns a :class:`ChatRequest` (model, messages, tool schemas, sampling) into a
request body and back, and a :class:`ChatReply` into a reply body, or into the events of a
streamed reply, and back. As for the tensor protocols, the client (``advmatrix.targets.llm``),
the gateway and the test servers all use the same object. Bodies are JSON documents as Python
objects; streams are bytes, read by an incremental :class:`StreamDecoder` so that a client can
stop reading an endless or oversized reply at any point and keep what arrived.

Tool calls use OpenAI's vocabulary everywhere (``ToolCall.arguments`` is the raw JSON text, which
a model may break; it is kept as it came), and so do finish reasons: ``stop``, ``length``,
``tool_calls``, ``content_filter``.

>>> from advmatrix.protocols import OpenAIChat
>>> p = OpenAIChat()
>>> doc = p.encode_reply(ChatReply("Hello", usage=Usage(5, 1)), "m")
>>> p.decode_reply(doc).text, p.decode_reply(doc).usage.total
('Hello', 6)
>>> decoder = p.stream_decoder()
>>> for event in p.encode_stream(ChatReply("Hello, world", finish_reason="stop"), "m"):
...     decoder.feed(event)
>>> decoder.reply().text
'Hello, world'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._base import JsonPath, Protocol, ProtocolError, walk

#: finish reasons, in OpenAI's words (the other protocols map theirs onto these)
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter")


# -- the data ------------------------------------------------------------------------------------

@dataclass
class ToolCall:
    """A tool call as the model produced it; ``arguments`` is the raw JSON text (it may be broken)."""

    id: str
    name: str
    arguments: str = "{}"

    def parsed(self) -> dict[str, Any] | None:
        """The arguments as a JSON object, or None when they are not one."""
        try:
            value = json.loads(self.arguments)
        except (TypeError, ValueError):
            return None
        return value if isinstance(value, dict) else None


@dataclass
class Message:
    """One turn of a conversation: ``system``, ``user``, ``assistant`` (text and/or tool calls)
    or ``tool`` (a tool's result, answering ``tool_call_id``)."""

    role: str
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """As JSON data (for transcripts and reports)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [asdict(c) for c in self.tool_calls]
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        if self.name:
            out["name"] = self.name
        return out


@dataclass
class Usage:
    """Tokens a request consumed, as the API reported them (estimated when it did not)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens


@dataclass
class ChatReply:
    """What the application answered: text, tool calls, why it stopped, what it cost.
    ``truncated`` is set when a reply was cut at the target's length, size or time cap, or when
    its stream ended before the protocol's end marker."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    truncated: bool = False

    def as_message(self) -> Message:
        """The reply as the assistant turn to continue the conversation with."""
        return Message("assistant", self.text, list(self.tool_calls))


@dataclass
class ChatRequest:
    """What a client asks a chat API: the model, the conversation, the tool schemas (OpenAI
    function form), whether to stream, and sampling settings under common names
    (``temperature``, ``max_tokens``, ``seed``, ``top_p``, ``stop``; a protocol maps them onto its
    own fields and passes or drops the others as its API allows)."""

    model: str = ""
    messages: list[Message] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    stream: bool = False
    sampling: dict[str, Any] = field(default_factory=dict)


def openai_tool(tool: Any) -> dict[str, Any]:
    """A tool schema in OpenAI's function form (``{"type": "function", "function": {...}}``),
    from that form, a bare ``{"name", "description", "parameters"}`` or Anthropic's
    ``input_schema`` form."""
    if not isinstance(tool, dict):
        raise ProtocolError(f"a tool schema is a JSON object, not {type(tool).__name__}")
    fn = tool.get("function", tool)
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        raise ProtocolError("a tool schema needs a 'name'")
    out: dict[str, Any] = {"name": fn["name"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    parameters = fn.get("parameters", fn.get("input_schema"))
    if parameters is not None:
        out["parameters"] = parameters
    return {"type": "function", "function": out}


def arguments_object(call: ToolCall) -> dict[str, Any]:
    """A tool call's arguments as the JSON object APIs that carry objects need; broken
    arguments are kept as text under ``_raw_arguments`` rather than lost."""
    parsed = call.parsed()
    return parsed if parsed is not None else {"_raw_arguments": call.arguments}


def arguments_text(value: Any) -> str:
    """Tool-call arguments as JSON text, whether they came as an object or as text."""
    if isinstance(value, str):
        return value
    if value is None:
        return "{}"
    return json.dumps(value, ensure_ascii=False)


def pieces(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of ``size`` characters, as a streaming server sends it."""
    return [text[i:i + size] for i in range(0, len(text), size)]


def text_of(content: Any, what: str) -> str:
    """Message content as text: a string, null, or a list of text parts (``{"type": "text",
    "text": ...}``, as OpenAI and Anthropic allow); other parts (images) are skipped."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    raise ProtocolError(f"{what}: content is {type(content).__name__}, not text")


def error_text(doc: Any) -> str | None:
    """The message of an error body, in any of the usual shapes (``{"error": {"message": ...}}``,
    ``{"type": "error", "error": {...}}``, ``{"error": "..."}``), or None when it is not one."""
    if not isinstance(doc, dict) or "error" not in doc or doc.get("error") is None:
        return None
    err = doc["error"]
    if isinstance(err, dict):
        return str(err.get("message") or err.get("type") or err)
    return str(err)


# -- streams -------------------------------------------------------------------------------------

class StreamDecoder:
    """Reads a streamed reply incrementally: :meth:`feed` the bytes as they arrive, :meth:`close`
    at the end of input, :meth:`reply` for what the stream said so far. Text deltas and tool-call
    argument deltas are accumulated. Malformed events raise :class:`ProtocolError`.

    ``max_chars`` caps the text and tool arguments kept: once reached, :attr:`full` is true and
    the caller should stop reading (the reply is then ``truncated``). Subclasses read one framing
    (server-sent events, JSON lines) and implement :meth:`_frame`.
    """

    #: longest line accepted; a longer one is a broken or hostile stream
    max_line_bytes: ClassVar[int] = 1 << 20

    def __init__(self, max_chars: int | None = None):
        self.max_chars = max_chars
        self.done = False          # the stream said it ended (end marker, or a finish reason)
        self.finish_reason: str | None = None
        self.usage = Usage()
        self.frames = 0
        self._text: list[str] = []
        self._chars = 0
        self._calls: dict[int, ToolCall] = {}
        self._buffer = b""
        self._closed = False

    # -- input -----------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Read the next bytes of the stream (any split: events may straddle calls)."""
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                break
            line, self._buffer = self._buffer[:end], self._buffer[end + 1:]
            self._line(line)
        if len(self._buffer) > self.max_line_bytes:
            raise ProtocolError(f"a stream line over {self.max_line_bytes} bytes")

    def close(self) -> None:
        """The input has ended: read what is left; a stream that carried nothing recognisable is
        a :class:`ProtocolError`."""
        if self._closed:
            return
        self._closed = True
        if self._buffer:
            line, self._buffer = self._buffer, b""
            self._line(line)
        self._line(b"")
        if not self.frames:
            raise ProtocolError(f"not a {self.framing} stream (no event in it)")

    def _line(self, raw: bytes) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("stream is not UTF-8 text") from None
        self._on_line(line)

    # -- what was said ---------------------------------------------------------------------------
    @property
    def chars(self) -> int:
        """Characters of text and tool arguments received."""
        return self._chars

    @property
    def full(self) -> bool:
        """Whether the ``max_chars`` cap is reached."""
        return self.max_chars is not None and self._chars >= self.max_chars

    def reply(self) -> ChatReply:
        """The reply so far; ``truncated`` when the cap was reached or the stream did not end."""
        text = "".join(self._text)
        if self.max_chars is not None and len(text) > self.max_chars:
            text = text[:self.max_chars]
        calls = [ToolCall(c.id, c.name, c.arguments or "{}") for _, c in sorted(self._calls.items())]
        reason = self.finish_reason or ("tool_calls" if calls else "stop")
        return ChatReply(text, calls, reason, Usage(self.usage.prompt_tokens, self.usage.completion_tokens),
                         truncated=self.full or not self.done)

    # -- for subclasses ------------------------------------------------------------------------
    framing: ClassVar[str] = "chat"

    def _on_line(self, line: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _add_text(self, text: Any) -> None:
        if text:
            if not isinstance(text, str):
                raise ProtocolError(f"a text delta is {type(text).__name__}, not text")
            self._text.append(text)
            self._chars += len(text)

    def _call(self, index: int, call_id: str | None = None, name: str | None = None) -> ToolCall:
        call = self._calls.get(index)
        if call is None:
            call = self._calls[index] = ToolCall(call_id or f"call_{index}", "", "")
        elif call_id:
            call.id = call_id
        if name and name != call.name:
            call.name = name if not call.name else call.name + name
        return call

    def _add_arguments(self, call: ToolCall, delta: Any) -> None:
        if delta:
            text = arguments_text(delta)
            call.arguments += text
            self._chars += len(text)

    @staticmethod
    def _json(data: str, what: str) -> Any:
        try:
            return json.loads(data)
        except ValueError:
            shown = data if len(data) <= 80 else data[:77] + "..."
            raise ProtocolError(f"malformed {what}: not JSON: {shown!r}") from None


class SseDecoder(StreamDecoder):
    """Server-sent events (``event:`` and ``data:`` lines, an empty line ending each event);
    :meth:`_event` gets each event's name and data."""

    framing = "server-sent events"

    def __init__(self, max_chars: int | None = None):
        super().__init__(max_chars)
        self._event_name = ""
        self._data: list[str] = []

    def _on_line(self, line: str) -> None:
        if not line:
            if self._data:
                name, data = self._event_name, "\n".join(self._data)
                self._event_name, self._data = "", []
                self.frames += 1
                self._event(name, data)
            self._event_name = ""
            return
        if line.startswith(":"):
            return  # a comment (keep-alive)
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "data":
            self._data.append(value)
        elif key == "event":
            self._event_name = value

    def _event(self, name: str, data: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class JsonLinesDecoder(StreamDecoder):
    """One JSON object per line (NDJSON); :meth:`_object` gets each one."""

    framing = "JSON lines"

    def _on_line(self, line: str) -> None:
        if not line.strip():
            return
        self.frames += 1
        self._object(self._json(line, "stream line"))

    def _object(self, doc: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event carrying ``data`` as JSON (or as is, when it is a string)."""
    body = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return ((f"event: {event}\n" if event else "") + f"data: {body}\n\n").encode()


# -- the contract --------------------------------------------------------------------------------

class ChatProtocol(Protocol):
    """Base of every chat-API protocol: conversations in, text and tool calls out.

    The client side uses :meth:`encode_request`, :meth:`decode_reply` and
    :meth:`stream_decoder`; servers use :meth:`decode_request`, :meth:`encode_reply` and
    :meth:`encode_stream`. ``modality`` tells them apart from tensor protocols.
    """

    modality = "chat"
    #: media type of a streamed reply
    stream_media_type: ClassVar[str] = "text/event-stream"
    #: where the server lists its models (GET), relative to the same root as :meth:`endpoint`
    models_path: ClassVar[str] = ""
    #: the path the API is posted to, whatever the model
    path: ClassVar[str] = ""

    # -- routing -------------------------------------------------------------------------------
    def match(self, path: str) -> bool:
        """The API's one route, exactly."""
        return bool(self.path) and path == self.path

    def endpoint(self, model: str = "") -> str:
        """The path a client posts to (chat APIs name the model in the body, not the path)."""
        if not self.path:
            return super().endpoint(model)
        return self.path

    def headers(self) -> dict[str, str]:
        """Headers every request of this API carries (a version header), without credentials."""
        return {}

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """The header that carries ``api_key`` for this API (a bearer token by default)."""
        return {"Authorization": f"Bearer {api_key}"}

    def decode_models(self, doc: Any) -> list[str]:
        """Model names from the server's model list (``{"data": [{"id": ...}]}`` by default)."""
        try:
            return [str(m["id"]) for m in doc["data"]]
        except (KeyError, TypeError) as exc:
            raise ProtocolError(f"not a model list ({exc.__class__.__name__}: {exc})") from None

    # -- codec ---------------------------------------------------------------------------------
    def encode_request(self, request: ChatRequest) -> Any:  # type: ignore[override]  # pragma: no cover
        """The request body asking ``request``."""
        raise NotImplementedError

    def decode_request(self, doc: Any) -> ChatRequest:  # type: ignore[override]  # pragma: no cover
        """The :class:`ChatRequest` a request body carries; raises :class:`ProtocolError`."""
        raise NotImplementedError

    def encode_reply(self, reply: ChatReply, model: str = "") -> Any:  # type: ignore[override]  # pragma: no cover
        """The (non-streamed) reply body carrying ``reply`` from ``model``."""
        raise NotImplementedError

    def decode_reply(self, doc: Any, n: int | None = None) -> ChatReply:  # type: ignore[override]  # pragma: no cover
        """The :class:`ChatReply` a reply body carries; raises :class:`ProtocolError` (naming the
        API's own error message when the body is an error)."""
        raise NotImplementedError

    def encode_stream(self, reply: ChatReply, model: str = "") -> list[bytes]:  # pragma: no cover - abstract
        """``reply`` as the events of a streamed reply, each as the bytes sent on the wire."""
        raise NotImplementedError

    def stream_decoder(self, max_chars: int | None = None) -> StreamDecoder:  # pragma: no cover - abstract
        """A fresh decoder for one streamed reply, keeping at most ``max_chars`` characters."""
        raise NotImplementedError

    def replace_outputs(self, doc: Any, reply: ChatReply) -> Any:  # type: ignore[override]
        """A reply body carrying ``reply`` instead of what ``doc`` carried (same model)."""
        model = doc.get("model", "") if isinstance(doc, dict) else ""
        return self.encode_reply(reply, model if isinstance(model, str) else "")

    # -- helpers -------------------------------------------------------------------------------
    def _expect(self, value: Any, kind: type) -> Any:
        """``value`` when it is a ``kind``; a :class:`ProtocolError` when a caller hands a chat
        protocol what a tensor protocol takes (a batch, scores)."""
        if not isinstance(value, kind):
            raise ProtocolError(f"{self.title} is a chat protocol: it encodes a {kind.__name__}, "
                                f"not {type(value).__name__}")
        return value

    def _not(self, what: str, doc: Any, exc: Exception | None = None) -> ProtocolError:
        message = error_text(doc)
        if message is not None:
            return ProtocolError(f"{self.title}: the API answered an error: {message}")
        detail = f" ({exc.__class__.__name__}: {exc})" if exc is not None else ""
        return ProtocolError(f"{self.title}: not a {what}{detail}")


# -- an application's own JSON API ---------------------------------------------------------------

MESSAGES, PROMPT = "$messages", "$prompt"


class JsonChatParams(BaseModel):
    """Parameters of :class:`JsonChat`: the request template and where replies keep the text."""

    model_config = ConfigDict(extra="forbid")
    template: Any = Field(default_factory=lambda: {"messages": MESSAGES},
                          description=f'request body with "{MESSAGES}" (the conversation as a list of '
                                      f'{{role, content}}) or "{PROMPT}" (the last user turn as text)')
    response_path: str = Field("reply", description="dotted path to the reply text ('answer', 'data.0.text')")
    path: str | None = Field(None, description="the route the application serves (e.g. /chat)")

    @field_validator("template")
    @classmethod
    def _has_a_marker(cls, template: Any) -> Any:
        if not any(value in (MESSAGES, PROMPT) for _, value in walk(template)):
            raise ValueError(f'put "{MESSAGES}" (the conversation) or "{PROMPT}" (the last user turn) '
                             "where the input goes")
        return template


class JsonChat(ChatProtocol):
    """An LLM application's own JSON API: ``template`` is the request body with ``"$messages"``
    where the conversation goes (a list of ``{role, content}``) or ``"$prompt"`` where the last
    user turn goes as text; ``response_path`` is the dotted path to the reply text. Such APIs
    carry no tool schemas, no usage and no streams."""

    name = "json-chat"
    title = "LLM application JSON API"
    Params: ClassVar[type[BaseModel]] = JsonChatParams

    def match(self, path: str) -> bool:
        """The configured ``path``, exactly (no path: nothing)."""
        return path == self.params.path

    def endpoint(self, model: str = "") -> str:
        """The configured ``path``; without one, a :class:`ProtocolError`."""
        if self.params.path is None:
            return Protocol.endpoint(self, model)
        return self.params.path

    def encode_request(self, request: ChatRequest) -> Any:
        """The template with the conversation (or the last user turn) at its markers."""
        request = self._expect(request, ChatRequest)
        turns = [{"role": m.role, "content": m.content} for m in request.messages]
        prompt = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        return _fill(self.params.template, {MESSAGES: turns, PROMPT: prompt})

    def decode_request(self, doc: Any) -> ChatRequest:
        """The conversation at the template's ``"$messages"`` (or one user turn at ``"$prompt"``)."""
        for trail, marker in walk(self.params.template):
            if marker not in (MESSAGES, PROMPT):
                continue
            try:
                value = JsonPath(trail).get(doc)
            except ProtocolError:
                raise ProtocolError(f"request has no '{JsonPath(trail)}'") from None
            if marker == PROMPT:
                if not isinstance(value, str):
                    raise ProtocolError(f"'{JsonPath(trail)}' is not text")
                return ChatRequest(messages=[Message("user", value)])
            if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
                raise ProtocolError(f"'{JsonPath(trail)}' is not a list of messages")
            return ChatRequest(messages=[Message(str(t.get("role", "user")), text_of(t.get("content"), "message"))
                                         for t in value])
        raise AssertionError("validated templates have a marker")  # pragma: no cover

    def encode_reply(self, reply: ChatReply, model: str = "") -> Any:
        """A document with the text at ``response_path``."""
        reply = self._expect(reply, ChatReply)
        return JsonPath(self.params.response_path).set(None, reply.text, create=True)

    def decode_reply(self, doc: Any, n: int | None = None) -> ChatReply:
        """The text at ``response_path`` (numbers and booleans as text)."""
        where = JsonPath(self.params.response_path)
        try:
            value = where.get(doc)
        except ProtocolError:
            raise self._not("reply", doc) if error_text(doc) else ProtocolError(f"reply has no '{where}'") from None
        if isinstance(value, (dict, list)) or value is None:
            raise ProtocolError(f"'{where}' in the reply is not text")
        return ChatReply(value if isinstance(value, str) else json.dumps(value))

    def encode_stream(self, reply: ChatReply, model: str = "") -> list[bytes]:
        """One JSON body: such APIs do not stream."""
        return [json.dumps(self.encode_reply(reply, model)).encode()]

    def stream_decoder(self, max_chars: int | None = None) -> StreamDecoder:
        """None to give: a JSON chat API does not stream (a :class:`ProtocolError`)."""
        raise ProtocolError("a JSON chat API does not stream; set 'stream: false'")


def _fill(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, str):
        return values.get(node, node)
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    return node


__all__ = ["FINISH_REASONS", "MESSAGES", "PROMPT", "ChatProtocol", "ChatReply", "ChatRequest", "JsonChat",
           "JsonChatParams", "JsonLinesDecoder", "Message", "SseDecoder", "StreamDecoder", "ToolCall", "Usage",
           "arguments_object", "arguments_text", "error_text", "openai_tool", "pieces", "sse", "text_of"]
