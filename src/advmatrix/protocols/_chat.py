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
from typing import TYPE_CHECKING, Any, ClassVar

from ._base import Protocol, ProtocolError

if TYPE_CHECKING:
    from ._stream import StreamDecoder

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

    # -- what a gateway in front of the API says itself ------------------------------------------
    #: what ends one event of a streamed reply on the wire (a gateway forwards whole events only)
    event_end: ClassVar[bytes] = b"\n\n"

    def encode_error(self, message: str, status: int = 400, code: str = "content_filter") -> Any:
        """An error body as the API itself shapes it, so its SDK raises its own exception."""
        return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}

    def encode_stream_end(self, decoder: StreamDecoder, text: str = "", reason: str = "content_filter",
                          model: str = "") -> list[bytes]:
        """The events that end, cleanly, a stream whose events so far ``decoder`` has read: ``text``
        as a last piece (a note to the user), then the finish ``reason`` and the end marker."""
        raise NotImplementedError  # pragma: no cover - abstract

    def encode_stream_error(self, message: str) -> bytes:
        """An error event for a stream that cannot go on (its upstream dropped): the SDK raises it."""
        from ._stream import sse

        return sse(self.encode_error(message, 502, "upstream_error"))

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


__all__ = ["FINISH_REASONS", "ChatProtocol", "ChatReply", "ChatRequest", "Message", "ToolCall", "Usage",
           "arguments_object", "arguments_text", "error_text", "openai_tool", "pieces", "text_of"]
