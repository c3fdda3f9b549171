"""What the gateway sees of an LLM application's traffic, and the detectors that read it.

A :class:`ChatEvent` is one exchange: the conversation the client sent (decoded by the chat
protocol it speaks into protocol-neutral :class:`~advmatrix.protocols.Message` turns), then,
as it arrives, the application's output. A :class:`ChatDetector` looks at it three times:

- :meth:`ChatDetector.on_request` before the request is forwarded (it can stop it): prompt
  injection in what the client added, forged history, escalation over a session;
- :meth:`ChatDetector.on_output` on every piece of output text, streamed or not, with a
  rolling window of the text before it (at least :attr:`ChatDetector.window` characters, so a
  pattern split across stream chunks is still seen whole) — it can stop the output mid-stream;
- :meth:`ChatDetector.on_reply` once the reply is complete: its tool calls (it can drop them),
  usage;
- :meth:`ChatDetector.on_served` last, with ``event.reply`` as the client got it (after any
  redaction): what the gateway vouches for having served.

Work per call is bounded by what is *new* in the request (the turns after the last assistant
turn) or in the output (the new piece and the window), never by the length of the history.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..protocols import ChatReply, ChatRequest, Message
from ._base import Alert, Detector

#: where text in a request comes from, by how far it can be trusted
CHANNELS = ("user", "tool_result", "system", "assistant")
#: the channels an attacker can write to without being the application's owner
UNTRUSTED_CHANNELS = ("user", "tool_result")


def conversation_id(client: str, messages: list[Message]) -> str:
    """A stable name for a conversation: the client and the first user turn (with the system
    turns before it). Later requests of the same conversation repeat that opening, so they get
    the same name; two clients never share one."""
    h = hashlib.blake2b(client.encode(), digest_size=8)
    for m in messages:
        h.update(b"\x00" + m.role.encode() + b"\x00" + m.content[:4096].encode("utf-8", "replace"))
        if m.role == "user":
            break
    return "conv:" + h.hexdigest()


@dataclass
class ChatEvent:
    """One exchange with an LLM application, as the gateway saw it.

    ``reply`` is set when the output is complete (for a stream, when it ended); ``output`` is
    the text so far. ``count`` is the number of requests the client has made, this one
    included.
    """

    client: str
    time: float
    request: ChatRequest
    protocol: str = ""
    path: str = ""
    conversation: str = ""
    count: int = 0
    bytes_in: int = 0
    reply: ChatReply | None = None
    output: str = ""
    status: int = 200
    latency_ms: float = 0.0
    #: set by the gateway: detectors note here what later hooks of the same exchange need
    notes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.conversation:
            self.conversation = conversation_id(self.client, self.request.messages)

    @property
    def messages(self) -> list[Message]:
        """The conversation the client sent."""
        return self.request.messages

    @property
    def new_start(self) -> int:
        """Index of the first turn the client added with this request: the turns after the last
        assistant turn (all of them when there is none). A final assistant turn is the client's
        prefill of the reply, part of what it added, not the end of the history."""
        messages = self.request.messages
        last = len(messages) - 1
        if last >= 0 and messages[last].role == "assistant":
            last -= 1
        for i in range(last, -1, -1):
            if messages[i].role == "assistant":
                return i + 1
        return 0

    def new_turns(self) -> list[tuple[str, Message]]:
        """The turns added with this request, each with its channel (``user``, ``tool_result``,
        ``system``)."""
        out = []
        for m in self.request.messages[self.new_start:]:
            channel = {"tool": "tool_result", "function": "tool_result", "developer": "system",
                       "assistant": "user"}.get(m.role, m.role)
            out.append((channel, m))
        return out

    def untrusted(self) -> list[tuple[str, str]]:
        """(channel, text) of the untrusted content added with this request: user turns and tool
        results (and a prefilled assistant turn, which the client wrote: as a user turn)."""
        return [(c, m.content) for c, m in self.new_turns() if c in UNTRUSTED_CHANNELS and m.content]

    @property
    def n(self) -> int:
        """Requests this event stands for (one), as volume detectors count."""
        return 1


@dataclass
class OutputPiece:
    """A new piece of output and the text just before it (``window``): a detector matches in
    ``window + text`` and reports spans as offsets in the whole output (``start`` is where
    ``window`` begins)."""

    text: str
    window: str
    start: int
    final: bool = False

    @property
    def seen(self) -> str:
        """The window and the new piece together."""
        return self.window + self.text


class ChatDetector(Detector):
    """Base of every detector of LLM application traffic. Override any of the three hooks."""

    modality: ClassVar[str] = "chat"
    #: the longest output text this detector must see whole (its longest pattern)
    window: ClassVar[int] = 0

    def on_request(self, event: ChatEvent) -> list[Alert]:
        """Look at the request before it is forwarded."""
        return []

    def on_output(self, event: ChatEvent, piece: OutputPiece) -> list[Alert]:
        """Look at a new piece of output text."""
        return []

    def on_reply(self, event: ChatEvent) -> list[Alert]:
        """Look at the complete reply (text, tool calls, usage) as the application gave it."""
        return []

    def on_served(self, event: ChatEvent) -> list[Alert]:
        """Look at the reply as the client got it (``event.reply``; alerts here act on nothing)."""
        return []

    def observe(self, event: Any) -> list[Alert]:
        """Chat detectors see chat events only, through the hooks above."""
        return []

    def chat_alert(self, event: ChatEvent, severity: str, message: str, *,
                   technique_ids: tuple[str, ...] | None = None, **evidence: Any) -> Alert:
        """An alert about the event's client; ``technique_ids`` narrows the detector's own to
        what this finding shows. The conversation goes in the evidence."""
        return Alert(self.name, technique_ids or self.technique_ids, event.client, severity, message,
                     {"conversation": event.conversation, **evidence}, time=event.time, query_count=event.count)


def replay(detectors: list[ChatDetector], messages: list[Message], *, client: str = "replay",
           start: float = 0.0, step: float = 1.0, tools: list[dict[str, Any]] | None = None) -> list[Alert]:
    """Play a recorded conversation through chat detectors as the gateway would have seen it:
    every assistant turn is the reply to a request carrying the turns before it (its text as one
    output piece). The alerts raised, in order. For testing detectors and for replaying logs."""
    from ..protocols import ChatReply

    alerts: list[Alert] = []
    for i, m in enumerate(messages):
        if m.role != "assistant":
            continue
        event = ChatEvent(client, start + step * i, ChatRequest("", list(messages[:i]), list(tools or [])),
                          count=i + 1)
        alerts += [a for d in detectors for a in d.on_request(event)]
        piece = OutputPiece(m.content, "", 0, True)
        event.output = m.content
        alerts += [a for d in detectors for a in d.on_output(event, piece)]
        event.reply = ChatReply(m.content, list(m.tool_calls), "tool_calls" if m.tool_calls else "stop")
        alerts += [a for d in detectors for a in d.on_reply(event)]
        alerts += [a for d in detectors for a in d.on_served(event)]
    return alerts


__all__ = ["CHANNELS", "UNTRUSTED_CHANNELS", "ChatDetector", "ChatEvent", "OutputPiece", "conversation_id", "replay"]
