"""OpenAI Chat Completions (and the many servers that copy it): messages, tools, usage, SSE."""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._base import ProtocolError
from ._chat import (
    ChatProtocol,
    ChatReply,
    ChatRequest,
    Message,
    ToolCall,
    Usage,
    arguments_text,
    error_text,
    openai_tool,
    pieces,
    text_of,
)
from ._stream import SseDecoder, StreamDecoder, sse

#: request keys that are not sampling settings
_STRUCTURE = ("model", "messages", "tools", "stream", "stream_options")


class OpenAIChatParams(BaseModel):
    """Parameters of :class:`OpenAIChat`."""

    model_config = ConfigDict(extra="forbid")
    include_usage: bool = Field(True, description="ask streams to end with a usage chunk (stream_options)")
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = Field(
        "max_tokens", description="the request field that carries the completion length (newer OpenAI models "
                                  "take only max_completion_tokens)")


class OpenAIChat(ChatProtocol):
    """OpenAI Chat Completions: ``POST /v1/chat/completions`` with ``messages`` (roles system,
    user, assistant, tool; ``tool_calls`` and ``tool_call_id``) and ``tools`` (function
    schemas), answered by ``choices[0].message`` and ``usage``. With ``"stream": true`` the reply
    is server-sent events, ``data: {chunk}`` with ``choices[0].delta`` (text, and tool calls as
    deltas: index, id, name, argument fragments) and ``data: [DONE]`` at the end. Spoken by
    OpenAI, Azure OpenAI, vLLM, llama.cpp, LiteLLM, LM Studio and Ollama's /v1 routes."""

    name = "openai-chat"
    title = "OpenAI Chat Completions"
    Params: ClassVar[type[BaseModel]] = OpenAIChatParams
    path = "/v1/chat/completions"
    models_path = "/v1/models"

    # -- requests --------------------------------------------------------------------------------
    def encode_request(self, request: ChatRequest) -> Any:
        """``{"model", "messages", "tools"?, ...sampling, "stream"?, "stream_options"?}``."""
        request = self._expect(request, ChatRequest)
        sampling = dict(request.sampling)
        field = self.params.max_tokens_field
        if "max_tokens" in sampling and field != "max_tokens":
            sampling[field] = sampling.pop("max_tokens")
        doc: dict[str, Any] = {**{k: v for k, v in sampling.items() if k not in _STRUCTURE},
                               "model": request.model, "messages": [_message(m) for m in request.messages]}
        if request.tools:
            doc["tools"] = [openai_tool(t) for t in request.tools]
        if request.stream:
            doc["stream"] = True
            if self.params.include_usage:
                doc["stream_options"] = {"include_usage": True}
        return doc

    def decode_request(self, doc: Any) -> ChatRequest:
        """The conversation, tools and sampling settings of a request body."""
        if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
            raise self._not("request (no 'messages')", doc)
        try:
            messages = [_read_message(m) for m in doc["messages"]]
            tools = [openai_tool(t) for t in doc.get("tools") or []]
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._not("request", doc, exc) from None
        sampling = {k: v for k, v in doc.items() if k not in _STRUCTURE}
        if "max_completion_tokens" in sampling and "max_tokens" not in sampling:
            sampling["max_tokens"] = sampling.pop("max_completion_tokens")
        return ChatRequest(str(doc.get("model") or ""), messages, tools, bool(doc.get("stream", False)), sampling)

    # -- replies ---------------------------------------------------------------------------------
    def encode_reply(self, reply: ChatReply, model: str = "") -> Any:
        """A ``chat.completion`` object with one choice and ``usage``."""
        reply = self._expect(reply, ChatReply)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or (None if reply.tool_calls else "")}
        if reply.tool_calls:
            message["tool_calls"] = [_call(c) for c in reply.tool_calls]
        return {"id": _id(), "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}],
                "usage": _usage(reply.usage)}

    def decode_reply(self, doc: Any, n: int | None = None) -> ChatReply:
        """Text, tool calls and finish reason of the first choice; ``usage`` when given."""
        if not isinstance(doc, dict) or not isinstance(doc.get("choices"), list) or not doc["choices"]:
            raise self._not("chat completion (no 'choices')", doc)
        try:
            choice = doc["choices"][0]
            message = choice["message"]
            text = text_of(message.get("content"), "reply") or str(message.get("refusal") or "")
            calls = [_read_call(c, i) for i, c in enumerate(message.get("tool_calls") or [])]
            usage = doc.get("usage") or {}
            return ChatReply(text, calls, str(choice.get("finish_reason") or ("tool_calls" if calls else "stop")),
                             Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise self._not("chat completion", doc, exc) from None

    # -- streams ---------------------------------------------------------------------------------
    def encode_stream(self, reply: ChatReply, model: str = "", *, piece: int = 16, usage: bool = True) -> list[bytes]:
        """``data: {chunk}`` events: the role, text in pieces of ``piece`` characters, each tool
        call's id and name then its arguments in pieces, the finish reason, a usage chunk (with
        ``usage``), and ``data: [DONE]``."""
        reply = self._expect(reply, ChatReply)
        head = {"id": _id(), "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return sse({**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": p}) for p in pieces(reply.text, piece)]
        for i, call in enumerate(reply.tool_calls):
            start = {"index": i, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
            events.append(chunk({"tool_calls": [start]}))
            events += [chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]})
                       for p in pieces(call.arguments, piece)]
        events.append(chunk({}, reply.finish_reason))
        if usage:
            events.append(sse({**head, "choices": [], "usage": _usage(reply.usage)}))
        events.append(sse("[DONE]"))
        return events

    def encode_stream_end(self, decoder: StreamDecoder, text: str = "", reason: str = "content_filter",
                          model: str = "") -> list[bytes]:
        """A text chunk, the finish chunk and ``data: [DONE]``."""
        head = {"id": _id(), "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return sse({**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

        events = [] if decoder.frames else [chunk({"role": "assistant", "content": ""})]
        if text:
            events.append(chunk({"content": text}))
        return [*events, chunk({}, reason), sse("[DONE]")]

    def stream_decoder(self, max_chars: int | None = None) -> StreamDecoder:
        """A decoder of ``chat.completion.chunk`` events."""
        return OpenAIStreamDecoder(max_chars)


class OpenAIStreamDecoder(SseDecoder):
    """Accumulates ``choices[0].delta`` (text, refusals, tool-call deltas by index), the finish
    reason and the usage chunk; ``data: [DONE]`` ends the stream."""

    def _event(self, name: str, data: str) -> None:
        if data.strip() == "[DONE]":
            self.done = True
            return
        doc = self._json(data, "stream event")
        if not isinstance(doc, dict):
            raise ProtocolError("malformed stream event: not a JSON object")
        message = error_text(doc)
        if message is not None:
            raise ProtocolError(f"the stream reported an error: {message}")
        try:
            if isinstance(doc.get("usage"), dict):
                u = doc["usage"]
                self.usage = Usage(int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0))
            for choice in doc.get("choices") or []:
                if choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta") or {}
                self._add_text(delta.get("content"))
                self._add_text(delta.get("refusal"))
                for tc in delta.get("tool_calls") or []:
                    fn = tc.get("function") or {}
                    call = self._call(int(tc.get("index", 0)), tc.get("id"), fn.get("name"))
                    self._add_arguments(call, fn.get("arguments"))
                if choice.get("finish_reason"):
                    self.finish_reason = str(choice["finish_reason"])
        except (TypeError, AttributeError, ValueError) as exc:
            raise ProtocolError(f"malformed stream event ({exc.__class__.__name__}: {exc})") from None


def _id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def _usage(usage: Usage) -> dict[str, int]:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total}


def _call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _read_call(doc: Any, i: int) -> ToolCall:
    fn = doc["function"]
    return ToolCall(str(doc.get("id") or f"call_{i}"), str(fn["name"]), arguments_text(fn.get("arguments")))


def _message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [_call(c) for c in m.tool_calls]
        if not m.content:
            out["content"] = None
    if m.role == "tool":
        out["tool_call_id"] = m.tool_call_id or ""
    if m.name:
        out["name"] = m.name
    return out


def _read_message(doc: Any) -> Message:
    role = doc["role"]
    if not isinstance(role, str):
        raise TypeError("a role is text")
    calls = [_read_call(c, i) for i, c in enumerate(doc.get("tool_calls") or [])]
    return Message(role, text_of(doc.get("content"), f"a {role} message"), calls, doc.get("tool_call_id"),
                   doc.get("name"))


__all__ = ["OpenAIChat", "OpenAIChatParams", "OpenAIStreamDecoder"]
