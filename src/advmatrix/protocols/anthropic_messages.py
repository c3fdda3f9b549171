"""Anthropic Messages: a top-level system prompt, content blocks, tool use, typed SSE events."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ._base import ProtocolError
from ._chat import (
    ChatProtocol,
    ChatReply,
    ChatRequest,
    Message,
    ToolCall,
    Usage,
    arguments_object,
    arguments_text,
    error_text,
    openai_tool,
    pieces,
    text_of,
)
from ._stream import SseDecoder, StreamDecoder, sse

#: finish reasons (OpenAI's words) -> stop reasons, and back
_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
           "tool_use": "tool_calls", "refusal": "content_filter"}
#: sampling settings the API takes under the same name
_SAME = ("temperature", "top_p", "top_k")


class AnthropicMessagesParams(BaseModel):
    """Parameters of :class:`AnthropicMessages`."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field("2023-06-01", description="the anthropic-version header sent with every request")
    max_tokens: int = Field(1024, ge=1, description="completion length asked for when the request does not say "
                                                    "(the API requires one)")


class AnthropicMessages(ChatProtocol):
    """Anthropic Messages: ``POST /v1/messages`` with a top-level ``system`` and ``messages`` of
    user and assistant turns whose content is text or blocks (``text``, ``tool_use`` from the
    model, ``tool_result`` from the caller in a user turn); ``tools`` carry ``input_schema``. The
    reply has content blocks, a ``stop_reason`` and ``usage`` (input and output tokens). With
    ``"stream": true`` it is server-sent events: ``message_start``, ``content_block_start``,
    ``content_block_delta`` (``text_delta``, ``input_json_delta``), ``content_block_stop``,
    ``message_delta`` (stop reason, output tokens) and ``message_stop``."""

    name = "anthropic-messages"
    title = "Anthropic Messages"
    Params: ClassVar[type[BaseModel]] = AnthropicMessagesParams
    path = "/v1/messages"
    models_path = "/v1/models"

    def headers(self) -> dict[str, str]:
        """``anthropic-version``."""
        return {"anthropic-version": self.params.version}

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """``x-api-key``."""
        return {"x-api-key": api_key}

    # -- requests --------------------------------------------------------------------------------
    def encode_request(self, request: ChatRequest) -> Any:
        """System turns joined into ``system``; tool results as ``tool_result`` blocks of a user
        turn (consecutive ones in the same turn); assistant tool calls as ``tool_use`` blocks.
        ``stop`` becomes ``stop_sequences``; settings the API lacks (``seed``) are dropped."""
        request = self._expect(request, ChatRequest)
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        turns: list[dict[str, Any]] = []
        for m in request.messages:
            if m.role == "system":
                continue
            if m.role == "tool":
                block = {"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": m.content}
                last = turns[-1] if turns else None
                if last and last["role"] == "user" and isinstance(last["content"], list) \
                        and all(b.get("type") == "tool_result" for b in last["content"]):
                    last["content"].append(block)
                else:
                    turns.append({"role": "user", "content": [block]})
            elif m.role == "assistant" and m.tool_calls:
                blocks: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
                blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": arguments_object(c)}
                           for c in m.tool_calls]
                turns.append({"role": "assistant", "content": blocks})
            elif m.role in ("user", "assistant"):
                turns.append({"role": m.role, "content": m.content})
            else:
                raise ProtocolError(f"{self.title}: no role '{m.role}' (system, user, assistant or tool)")
        sampling = request.sampling
        doc: dict[str, Any] = {"model": request.model, "max_tokens": int(sampling.get("max_tokens")
                                                                          or self.params.max_tokens),
                               "messages": turns}
        if system:
            doc["system"] = system
        if request.tools:
            doc["tools"] = [_tool(t) for t in request.tools]
        doc.update({k: sampling[k] for k in _SAME if sampling.get(k) is not None})
        if sampling.get("stop"):
            stop = sampling["stop"]
            doc["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        if request.stream:
            doc["stream"] = True
        return doc

    def decode_request(self, doc: Any) -> ChatRequest:
        """The conversation (``system`` first, ``tool_result`` blocks as tool turns), tools in
        OpenAI's function form, and the sampling settings under common names."""
        if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
            raise self._not("request (no 'messages')", doc)
        try:
            messages: list[Message] = []
            system = text_of(doc.get("system"), "system")
            if system:
                messages.append(Message("system", system))
            for turn in doc["messages"]:
                messages += _read_turn(turn)
            tools = [openai_tool(t) for t in doc.get("tools") or []]
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._not("request", doc, exc) from None
        sampling = {k: doc[k] for k in ("max_tokens", *_SAME) if doc.get(k) is not None}
        if doc.get("stop_sequences"):
            sampling["stop"] = list(doc["stop_sequences"])
        return ChatRequest(str(doc.get("model") or ""), messages, tools, bool(doc.get("stream", False)), sampling)

    # -- replies ---------------------------------------------------------------------------------
    def encode_reply(self, reply: ChatReply, model: str = "") -> Any:
        """A ``message`` object: a text block (when there is text, or nothing else), ``tool_use``
        blocks, ``stop_reason`` and ``usage``."""
        reply = self._expect(reply, ChatReply)
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] \
            if reply.text or not reply.tool_calls else []
        content += [{"type": "tool_use", "id": c.id, "name": c.name, "input": arguments_object(c)}
                    for c in reply.tool_calls]
        return {"id": _id(), "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": _STOP.get(reply.finish_reason, "end_turn"), "stop_sequence": None,
                "usage": {"input_tokens": reply.usage.prompt_tokens, "output_tokens": reply.usage.completion_tokens}}

    def decode_reply(self, doc: Any, n: int | None = None) -> ChatReply:
        """Text blocks joined, ``tool_use`` blocks as tool calls, the stop reason as a finish
        reason, and usage."""
        if not isinstance(doc, dict) or doc.get("type") == "error" or not isinstance(doc.get("content"), list):
            raise self._not("message (no 'content')", doc)
        try:
            text = "".join(b["text"] for b in doc["content"] if b.get("type") == "text")
            calls = [ToolCall(str(b["id"]), str(b["name"]), arguments_text(b.get("input")))
                     for b in doc["content"] if b.get("type") == "tool_use"]
            stop = doc.get("stop_reason")
            return ChatReply(text, calls, _FINISH.get(stop, stop) if stop else ("tool_calls" if calls else "stop"),
                             _read_usage(doc.get("usage") or {}))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise self._not("message", doc, exc) from None

    # -- streams ---------------------------------------------------------------------------------
    def encode_stream(self, reply: ChatReply, model: str = "", *, piece: int = 16) -> list[bytes]:
        """The typed events of a streamed message: text in pieces of ``piece`` characters, each
        tool call's input as ``input_json_delta`` pieces."""
        reply = self._expect(reply, ChatReply)
        start = {"id": _id(), "type": "message", "role": "assistant", "model": model, "content": [],
                 "stop_reason": None, "stop_sequence": None,
                 "usage": {"input_tokens": reply.usage.prompt_tokens, "output_tokens": 1}}
        events = [sse({"type": "message_start", "message": start}, "message_start")]
        index = 0

        def block(kind: str, body: dict[str, Any]) -> bytes:
            return sse({"type": kind, "index": index, **body}, kind)

        if reply.text or not reply.tool_calls:
            events.append(block("content_block_start", {"content_block": {"type": "text", "text": ""}}))
            events.append(sse({"type": "ping"}, "ping"))
            events += [block("content_block_delta", {"delta": {"type": "text_delta", "text": p}})
                       for p in pieces(reply.text, piece)]
            events.append(block("content_block_stop", {}))
            index += 1
        for call in reply.tool_calls:
            head = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
            events.append(block("content_block_start", {"content_block": head}))
            events += [block("content_block_delta", {"delta": {"type": "input_json_delta", "partial_json": p}})
                       for p in pieces(call.arguments, piece)]
            events.append(block("content_block_stop", {}))
            index += 1
        events.append(sse({"type": "message_delta",
                           "delta": {"stop_reason": _STOP.get(reply.finish_reason, "end_turn"), "stop_sequence": None},
                           "usage": {"output_tokens": reply.usage.completion_tokens}}, "message_delta"))
        events.append(sse({"type": "message_stop"}, "message_stop"))
        return events

    def encode_error(self, message: str, status: int = 400, code: str = "content_filter") -> Any:
        """``{"type": "error", "error": {"type": ..., "message": ...}}``."""
        kind = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                429: "rate_limit_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def encode_stream_error(self, message: str) -> bytes:
        """An ``error`` event."""
        return sse({"type": "error", "error": {"type": "api_error", "message": message}}, "error")

    def encode_stream_end(self, decoder: StreamDecoder, text: str = "", reason: str = "content_filter",
                          model: str = "") -> list[bytes]:
        """Closes the open content block, adds ``text`` in a text block of its own, then
        ``message_delta`` with the stop reason and ``message_stop``."""
        state = decoder if isinstance(decoder, AnthropicStreamDecoder) else None
        events = []
        if state is None or not state.started:
            start = {"id": _id(), "type": "message", "role": "assistant", "model": model, "content": [],
                     "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 0, "output_tokens": 0}}
            events.append(sse({"type": "message_start", "message": start}, "message_start"))
        index = state.next_index if state is not None else 0
        if state is not None and state.open_block is not None:
            events.append(sse({"type": "content_block_stop", "index": state.open_block}, "content_block_stop"))
        if text:
            events.append(sse({"type": "content_block_start", "index": index,
                               "content_block": {"type": "text", "text": ""}}, "content_block_start"))
            events.append(sse({"type": "content_block_delta", "index": index,
                               "delta": {"type": "text_delta", "text": text}}, "content_block_delta"))
            events.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
        usage = decoder.usage.completion_tokens if decoder is not None else 0
        events.append(sse({"type": "message_delta", "delta": {"stop_reason": _STOP.get(reason, "end_turn"),
                                                              "stop_sequence": None},
                           "usage": {"output_tokens": usage}}, "message_delta"))
        events.append(sse({"type": "message_stop"}, "message_stop"))
        return events

    def stream_decoder(self, max_chars: int | None = None) -> StreamDecoder:
        """A decoder of the typed message events."""
        return AnthropicStreamDecoder(max_chars)


class AnthropicStreamDecoder(SseDecoder):
    """Accumulates text deltas and ``input_json_delta`` fragments by content-block index, the
    stop reason and usage; ``message_stop`` ends the stream, an ``error`` event is a
    :class:`ProtocolError`. Unknown events (``ping``, thinking deltas) are skipped. It keeps
    which content block is open, so that a gateway can end the stream cleanly at any event."""

    def __init__(self, max_chars: int | None = None):
        super().__init__(max_chars)
        self.started = False                 # message_start seen
        self.open_block: int | None = None   # index of the content block started and not stopped
        self.next_index = 0                  # index the next content block gets

    def _event(self, name: str, data: str) -> None:
        doc = self._json(data, "stream event")
        if not isinstance(doc, dict):
            raise ProtocolError("malformed stream event: not a JSON object")
        kind = doc.get("type") or name
        try:
            if kind == "error":
                raise ProtocolError(f"the stream reported an error: {error_text(doc) or data[:200]}")
            if kind == "message_start":
                self.started = True
                self.usage = _read_usage(doc["message"].get("usage") or {})
            elif kind == "content_block_stop":
                self.open_block = None
            elif kind == "content_block_start":
                self.open_block = int(doc["index"])
                self.next_index = max(self.next_index, self.open_block + 1)
                block = doc["content_block"]
                if block.get("type") == "text":
                    self._add_text(block.get("text"))
                elif block.get("type") == "tool_use":
                    call = self._call(int(doc["index"]), block.get("id"), block.get("name"))
                    if block.get("input"):
                        self._add_arguments(call, block["input"])
            elif kind == "content_block_delta":
                delta = doc["delta"]
                if delta.get("type") == "text_delta":
                    self._add_text(delta["text"])
                elif delta.get("type") == "input_json_delta":
                    self._add_arguments(self._call(int(doc["index"])), delta["partial_json"])
            elif kind == "message_delta":
                stop = (doc.get("delta") or {}).get("stop_reason")
                if stop:
                    self.finish_reason = _FINISH.get(stop, stop)
                usage = doc.get("usage") or {}
                if usage.get("output_tokens") is not None:
                    self.usage.completion_tokens = int(usage["output_tokens"])
                if usage.get("input_tokens"):
                    self.usage.prompt_tokens = _read_usage(usage).prompt_tokens
            elif kind == "message_stop":
                self.done = True
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ProtocolError(f"malformed {kind} event ({exc.__class__.__name__}: {exc})") from None


def _id() -> str:
    return f"msg_{uuid.uuid4().hex[:24]}"


def _tool(tool: Any) -> dict[str, Any]:
    fn = openai_tool(tool)["function"]
    out: dict[str, Any] = {"name": fn["name"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    out["input_schema"] = fn.get("parameters") or {"type": "object", "properties": {}}
    return out


def _read_usage(usage: dict[str, Any]) -> Usage:
    """Input tokens (cache writes and reads included: they are prompt tokens too) and output tokens."""
    prompt = sum(int(usage.get(k) or 0) for k in ("input_tokens", "cache_creation_input_tokens",
                                                  "cache_read_input_tokens"))
    return Usage(prompt, int(usage.get("output_tokens") or 0))


def _read_turn(turn: Any) -> list[Message]:
    role, content = turn["role"], turn.get("content")
    if role not in ("user", "assistant"):
        raise KeyError(f"role {role!r}")
    if not isinstance(content, list):
        return [Message(role, text_of(content, f"a {role} turn"))]
    if role == "assistant":
        text = "".join(b.get("text", "") for b in content if b.get("type") == "text")
        calls = [ToolCall(str(b["id"]), str(b["name"]), arguments_text(b.get("input")))
                 for b in content if b.get("type") == "tool_use"]
        return [Message("assistant", text, calls)]
    out: list[Message] = []
    text: list[str] = []
    for b in content:
        if b.get("type") == "tool_result":
            if text:
                out.append(Message("user", "".join(text)))
                text = []
            out.append(Message("tool", text_of(b.get("content"), "a tool result"), tool_call_id=str(b["tool_use_id"])))
        elif b.get("type") == "text":
            text.append(b.get("text", ""))
    if text or not out:
        out.append(Message("user", "".join(text)))
    return out


__all__ = ["AnthropicMessages", "AnthropicMessagesParams", "AnthropicStreamDecoder"]
