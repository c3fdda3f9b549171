"""Ollama's native chat API: options instead of top-level sampling, JSON-lines streaming."""

from __future__ import annotations

import json
from datetime import UTC, datetime
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
from ._stream import JsonLinesDecoder, StreamDecoder

#: request keys Ollama takes at the top level rather than in ``options``
_TOP = ("format", "keep_alive", "think")


class OllamaChatParams(BaseModel):
    """Parameters of :class:`OllamaChat`."""

    model_config = ConfigDict(extra="forbid")
    keep_alive: str | None = Field(None, description="how long the server keeps the model loaded after a request "
                                                     "('5m', '0'); the server's default when unset")


class OllamaChat(ChatProtocol):
    """Ollama's chat API: ``POST /api/chat`` with ``messages`` (a tool's result is a ``tool``
    turn naming ``tool_name``), ``tools`` (function schemas) and sampling settings in
    ``options`` (``num_predict`` for the length). The reply's ``message`` carries the text and
    ``tool_calls`` whose ``function.arguments`` is a JSON object; ``done``, ``done_reason``,
    ``prompt_eval_count`` and ``eval_count`` close it. Streaming is the server's default: one
    JSON object per line, the last with ``"done": true``."""

    name = "ollama-chat"
    title = "Ollama chat"
    Params: ClassVar[type[BaseModel]] = OllamaChatParams
    path = "/api/chat"
    models_path = "/api/tags"
    stream_media_type = "application/x-ndjson"

    def decode_models(self, doc: Any) -> list[str]:
        """Model names from ``GET /api/tags`` (``{"models": [{"name": ...}]}``)."""
        try:
            return [str(m.get("name") or m["model"]) for m in doc["models"]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProtocolError(f"not an Ollama model list ({exc.__class__.__name__}: {exc})") from None

    # -- requests --------------------------------------------------------------------------------
    def encode_request(self, request: ChatRequest) -> Any:
        """``{"model", "messages", "tools"?, "stream", "options"?}``; ``max_tokens`` becomes
        ``num_predict``; ``format``, ``keep_alive`` and ``think`` stay at the top level."""
        request = self._expect(request, ChatRequest)
        names: dict[str, str] = {}
        messages = []
        for m in request.messages:
            out: dict[str, Any] = {"role": m.role, "content": m.content}
            if m.tool_calls:
                out["tool_calls"] = [{"function": {"name": c.name, "arguments": arguments_object(c)}}
                                     for c in m.tool_calls]
                names.update({c.id: c.name for c in m.tool_calls})
            if m.role == "tool":
                name = m.name or names.get(m.tool_call_id or "")
                if name:
                    out["tool_name"] = name
            messages.append(out)
        doc: dict[str, Any] = {"model": request.model, "messages": messages, "stream": bool(request.stream)}
        if request.tools:
            doc["tools"] = [openai_tool(t) for t in request.tools]
        options: dict[str, Any] = {}
        for key, value in request.sampling.items():
            if key in _TOP:
                doc[key] = value
            elif key not in ("model", "messages", "tools", "stream"):
                options["num_predict" if key == "max_tokens" else key] = value
        if options:
            doc["options"] = options
        if self.params.keep_alive is not None:
            doc.setdefault("keep_alive", self.params.keep_alive)
        return doc

    def decode_request(self, doc: Any) -> ChatRequest:
        """The conversation (a tool turn answers the earliest unanswered call of that name),
        tools, and the options as sampling settings (``num_predict`` as ``max_tokens``)."""
        if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
            raise self._not("request (no 'messages')", doc)
        try:
            messages: list[Message] = []
            pending: list[ToolCall] = []
            for turn in doc["messages"]:
                role = turn["role"]
                if not isinstance(role, str):
                    raise TypeError("a role is text")
                calls = [_read_call(c, i) for i, c in enumerate(turn.get("tool_calls") or [])]
                message = Message(role, text_of(turn.get("content"), f"a {role} message"), calls)
                if calls:
                    pending = list(calls)
                if role == "tool":
                    name = turn.get("tool_name") or turn.get("name")
                    answered = next((c for c in pending if c.name == name), pending[0] if pending else None)
                    if answered is not None:
                        pending.remove(answered)
                        message.tool_call_id = answered.id
                    message.name = name
                messages.append(message)
            tools = [openai_tool(t) for t in doc.get("tools") or []]
            sampling = {("max_tokens" if k == "num_predict" else k): v for k, v in (doc.get("options") or {}).items()}
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._not("request", doc, exc) from None
        sampling.update({k: doc[k] for k in _TOP if k in doc})
        return ChatRequest(str(doc.get("model") or ""), messages, tools, bool(doc.get("stream", True)), sampling)

    # -- replies ---------------------------------------------------------------------------------
    def encode_reply(self, reply: ChatReply, model: str = "") -> Any:
        """The final object of a chat: ``message``, ``done``, ``done_reason`` and the counts."""
        reply = self._expect(reply, ChatReply)
        return {**self._head(model, reply.text, reply.tool_calls), "done": True,
                "done_reason": "length" if reply.finish_reason == "length" else "stop",
                "prompt_eval_count": reply.usage.prompt_tokens, "eval_count": reply.usage.completion_tokens}

    def decode_reply(self, doc: Any, n: int | None = None) -> ChatReply:
        """Text and tool calls of ``message``; the counts as usage."""
        if not isinstance(doc, dict) or not isinstance(doc.get("message"), dict):
            raise self._not("chat reply (no 'message')", doc)
        try:
            message = doc["message"]
            calls = [_read_call(c, i) for i, c in enumerate(message.get("tool_calls") or [])]
            return ChatReply(text_of(message.get("content"), "reply"), calls,
                             _finish(doc.get("done_reason"), calls),
                             Usage(int(doc.get("prompt_eval_count") or 0), int(doc.get("eval_count") or 0)))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise self._not("chat reply", doc, exc) from None

    # -- streams ---------------------------------------------------------------------------------
    def encode_stream(self, reply: ChatReply, model: str = "", *, piece: int = 16) -> list[bytes]:
        """JSON lines: text in pieces of ``piece`` characters, the tool calls whole in one line
        (as Ollama sends them), then the final line with ``"done": true`` and the counts."""
        reply = self._expect(reply, ChatReply)
        lines = [{**self._head(model, p, []), "done": False} for p in pieces(reply.text, piece)]
        if reply.tool_calls:
            lines.append({**self._head(model, "", reply.tool_calls), "done": False})
        last = self.encode_reply(ChatReply("", [], reply.finish_reason, reply.usage), model)
        return [(_dumps(line) + "\n").encode() for line in [*lines, last]]

    event_end = b"\n"

    def encode_error(self, message: str, status: int = 400, code: str = "content_filter") -> Any:
        """``{"error": "..."}``, as Ollama answers."""
        return {"error": message}

    def encode_stream_error(self, message: str) -> bytes:
        """A line ``{"error": "..."}``."""
        return (_dumps({"error": message}) + "\n").encode()

    def encode_stream_end(self, decoder: StreamDecoder, text: str = "", reason: str = "content_filter",
                          model: str = "") -> list[bytes]:
        """A line with ``text``, then the final ``"done": true`` line."""
        lines = [{**self._head(model, text, []), "done": False}] if text else []
        last = self.encode_reply(ChatReply("", [], "stop", decoder.usage), model)
        return [(_dumps(line) + "\n").encode() for line in [*lines, last]]

    def stream_decoder(self, max_chars: int | None = None) -> StreamDecoder:
        """A decoder of JSON-lines chat chunks."""
        return OllamaStreamDecoder(max_chars)

    @staticmethod
    def _head(model: str, text: str, calls: list[ToolCall]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if calls:
            message["tool_calls"] = [{"function": {"name": c.name, "arguments": arguments_object(c)}} for c in calls]
        return {"model": model, "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "message": message}


class OllamaStreamDecoder(JsonLinesDecoder):
    """Accumulates ``message.content`` and ``message.tool_calls`` line by line; the line with
    ``"done": true`` ends the stream and carries the counts; ``{"error": ...}`` is a
    :class:`ProtocolError`."""

    def _object(self, doc: Any) -> None:
        if not isinstance(doc, dict):
            raise ProtocolError("malformed stream line: not a JSON object")
        message = error_text(doc)
        if message is not None:
            raise ProtocolError(f"the stream reported an error: {message}")
        try:
            msg = doc.get("message") or {}
            self._add_text(msg.get("content"))
            for tc in msg.get("tool_calls") or []:
                fn = tc["function"]
                call = self._call(len(self._calls), tc.get("id"), fn.get("name"))
                self._add_arguments(call, fn.get("arguments"))
            if doc.get("done"):
                self.done = True
                self.finish_reason = _finish(doc.get("done_reason"), list(self._calls.values()))
                self.usage = Usage(int(doc.get("prompt_eval_count") or 0), int(doc.get("eval_count") or 0))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ProtocolError(f"malformed stream line ({exc.__class__.__name__}: {exc})") from None


def _finish(done_reason: Any, calls: list[ToolCall]) -> str:
    if done_reason == "length":
        return "length"
    return "tool_calls" if calls else "stop"


def _read_call(doc: Any, i: int) -> ToolCall:
    fn = doc["function"]
    return ToolCall(str(doc.get("id") or f"call_{i}"), str(fn["name"]), arguments_text(fn.get("arguments")))


def _dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


__all__ = ["OllamaChat", "OllamaChatParams", "OllamaStreamDecoder"]
