"""Streamed chat replies, read incrementally: server-sent events and JSON lines. A client can stop
reading an endless or oversized reply at any point and keep what arrived."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from ._base import ProtocolError
from ._chat import ChatReply, ToolCall, Usage, arguments_text


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
        self._taken = 0

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
    def has_calls(self) -> bool:
        """Whether a tool call has begun."""
        return bool(self._calls)

    def take_text(self) -> str:
        """The text received since the last call (a gateway reads a stream piece by piece)."""
        taken = self._taken
        self._taken = len(self._text)
        return "".join(self._text[taken:]) if self._taken > taken else ""

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


__all__ = ["JsonLinesDecoder", "SseDecoder", "StreamDecoder", "sse"]
