"""The gateway's chat path: LLM application traffic (OpenAI Chat Completions, Anthropic Messages,
Ollama) read through the chat protocol modules, watched by the chat detectors, acted on in the
protocol the client speaks.

Per request: decode the conversation (an unreadable one is refused with the protocol's own 400
error: what the gateway cannot read it cannot vouch for), run the request detectors (a
``refuse`` or ``block`` response answers with the protocol's error and the upstream never sees
the request), forward, then watch the output:

- a whole reply is decoded, every output detector reads it, and the responses edit it (redact,
  neutralise links, drop tool calls, withhold) before it is re-encoded and sent;
- a stream is forwarded event by event as it arrives (whole events only, so the gateway can
  always end it cleanly), each new piece of text read with a rolling window before it; an
  output response ends the stream at once with the protocol's own final events (finish reason
  ``content_filter``). Events after the first tool call are held until the reply is complete,
  so a guarded tool call can still be dropped, and so is the final event until the detectors
  have seen the whole reply; text is never held, so time to first token is the upstream's own.

An upstream that answers an error gets its own reply passed through; one that drops mid-stream
gets the client a protocol-shaped error event. Every exchange is logged as an event.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson
from yarl import URL

from ..detect import ChatDetector, ChatEvent, OutputPiece, QueryEvent
from ..protocols import ChatProtocol, ChatReply, ProtocolError
from ..store import Alert, Event

if TYPE_CHECKING:
    from ._app import Gateway

log = logging.getLogger("advmatrix.gateway")

#: headers a proxy does not pass on (hop-by-hop, and those it recomputes)
HOP_HEADERS = frozenset({b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
                         b"trailers", b"transfer-encoding", b"upgrade", b"host", b"content-length",
                         b"content-encoding"})

Send = Callable[[dict[str, Any]], Awaitable[None]]

#: the smallest output window kept, whatever the detectors declare
_MIN_WINDOW = 256
_OUTPUT = ("stop", "redact", "neutralise")
#: what the client is told when the response has no message of its own (a block, say)
_SAY = {"refuse": "This request was refused by policy.", "stop": "[output stopped by policy]",
        "redact": "[output stopped by policy]", "neutralise": "[output stopped by policy]",
        "drop-tools": "I won't run that tool: the request for it came from content I can't trust."}


@dataclass
class AllowRule:
    """An alert that matches is dropped: from ``clients`` (all when empty), of ``detectors`` (all
    when empty), whose message or evidence matches ``pattern`` (any when None)."""

    detectors: frozenset[str]
    clients: frozenset[str]
    pattern: re.Pattern[str] | None

    def covers(self, alert: Alert) -> bool:
        """Whether this rule allows ``alert``."""
        if self.detectors and alert.detector not in self.detectors:
            return False
        if self.clients and alert.client not in self.clients:
            return False
        if self.pattern is None:
            return True
        text = alert.message + " " + json.dumps(alert.evidence, default=str)
        return self.pattern.search(text) is not None


class _Effects:
    """What the alerts of one exchange ask the gateway to do to it."""

    __slots__ = ("drop_tools", "edits", "messages", "refuse", "stop")

    def __init__(self) -> None:
        self.refuse = self.stop = self.drop_tools = False
        self.edits: list[tuple[int, int, Any]] = []   # (start, end, response) in output offsets
        self.messages: dict[str, str] = {}             # what the client is told, per effect

    def add(self, effect: str, response: Any, alert: Alert) -> None:
        self.messages.setdefault(effect, getattr(response, "message", "") or _SAY[effect])
        if effect == "refuse":
            self.refuse = True
        elif effect == "stop":
            self.stop = True
        elif effect == "drop-tools":
            self.drop_tools = True
        elif effect in ("redact", "neutralise"):
            spans = alert.evidence.get("spans") or []
            if not spans:
                self.stop = True  # nothing to point at: the output cannot be edited, only stopped
            for span in spans:
                try:
                    self.edits.append((int(span[0]), int(span[1]), response))
                except (TypeError, ValueError, IndexError):
                    self.stop = True

    def say(self, *effects: str) -> str:
        """The message of the first of ``effects`` that an alert asked for."""
        return next((self.messages[e] for e in effects if e in self.messages), _SAY[effects[0]])

    @property
    def output(self) -> bool:
        return self.stop or bool(self.edits)


def edit_text(text: str, edits: list[tuple[int, int, Any]]) -> str:
    """``text`` with each span replaced by what its response makes of it; overlapping spans are
    merged into the first one's response."""
    out, pos = [], 0
    for start, end, response in sorted(edits, key=lambda e: (e[0], -e[1])):
        start, end = max(start, pos), min(end, len(text))
        if end <= start:
            continue
        out.append(text[pos:start])
        out.append(response.edit(text, (start, end)))
        pos = end
    out.append(text[pos:])
    return "".join(out)


class ChatPath:
    """The chat traffic of one gateway: its chat detectors, allow-list rules and counters."""

    def __init__(self, gateway: Gateway, detectors: list[ChatDetector], allow: list[AllowRule]):
        self.gw = gateway
        self.detectors = detectors
        self.counters = [d for d in gateway.detectors if getattr(d, "counts_chat", False)]
        self.allow = allow
        self.window = max([_MIN_WINDOW, *(d.window for d in detectors)])
        self.max_stream_chars = gateway.config.max_stream_chars

    # -- alerts -----------------------------------------------------------------------------------
    def _run(self, alerts: list[Alert], effects: _Effects, client: str) -> None:
        gw = self.gw
        for alert in alerts:
            if self.allow and any(rule.covers(alert) for rule in self.allow):
                gw.metrics["allowed"] += 1
                continue
            gw._raise(alert)
            response = gw.responder.response_for(alert.detector, client)
            if response.exchange:
                effects.add(response.exchange, response, alert)

    def _hook(self, name: str, event: ChatEvent, effects: _Effects, *args: Any) -> None:
        for detector in self.detectors:
            try:
                alerts = getattr(detector, name)(event, *args)
            except Exception:  # a detector bug must not take the exchange, or the gateway, down
                self.gw.metrics["observe_errors"] += 1
                log.exception("detector %s failed on %s", detector.name, name)
                continue
            if alerts:
                self._run(alerts, effects, event.client)

    def _output(self, event: ChatEvent, effects: _Effects, text: str, final: bool) -> None:
        """Run the output detectors on the new ``text`` (appended to ``event.output``)."""
        before = event.output
        window = before[-self.window:]
        piece = OutputPiece(text, window, len(before) - len(window), final)
        event.output = before + text
        self._hook("on_output", event, effects, piece)

    # -- the exchange -----------------------------------------------------------------------------
    async def handle(self, protocol: ChatProtocol, kind: str, client: str, body: bytes, path: str,
                     headers: list[tuple[str, str]], url: URL, send: Send, started: float) -> None:
        """One chat request, from the decoded conversation to the logged event."""
        gw = self.gw
        try:
            doc = orjson.loads(body)
            request = protocol.decode_request(doc)
        except (ValueError, ProtocolError) as exc:
            gw.metrics["malformed"] += 1
            reason = "request body is not valid JSON" if isinstance(exc, orjson.JSONDecodeError) else str(exc)
            await self._error(send, protocol, 400, f"advmatrix gateway: {reason}", "invalid_request")
            self._log(client, path, 400, len(body), started, "")
            return
        count = gw.count(client, 1)
        event = ChatEvent(client, time.time(), request, protocol=kind, path=path, count=count, bytes_in=len(body))
        effects = _Effects()
        self._count(event)
        self._hook("on_request", event, effects)
        if effects.refuse:
            gw.metrics["refused_request"] += 1
            await self._error(send, protocol, 400, effects.say("refuse"), "content_filter")
            self._log(client, path, 400, len(body), started, self._digest(request))
            return
        try:
            async with gw._session().request("POST", url, data=body, headers=headers, allow_redirects=False) as up:
                status = up.status
                media = up.headers.get("content-type", "")
                out_headers = [(k.lower(), v) for k, v in up.raw_headers if k.lower() not in HOP_HEADERS]
                streamed = status == 200 and request.stream and ("event-stream" in media or "ndjson" in media
                                                                 or "x-ndjson" in media or "jsonl" in media)
                if streamed:
                    status = await self._stream(protocol, event, effects, up, out_headers, send)
                else:
                    content = await up.read()
                    status = await self._whole(protocol, event, effects, status, content, out_headers, send)
        except TimeoutError:
            gw.metrics["upstream_timeout"] += 1
            await self._error(send, protocol, 504, "upstream timed out", "upstream_timeout")
            status = 504
        except aiohttp.ClientError as exc:
            gw.metrics["upstream_error"] += 1
            await self._error(send, protocol, 502, f"upstream unreachable: {exc.__class__.__name__}", "upstream_error")
            status = 502
        except _Sent as sent:  # a stream that went wrong after its headers were sent
            status = sent.status
        gw.metrics[f"status_{status}"] += 1
        self._log(client, path, status, len(body), started, self._digest(request))

    async def _whole(self, protocol: ChatProtocol, event: ChatEvent, effects: _Effects, status: int,
                     content: bytes, out_headers: list, send: Send) -> int:
        """A reply read whole: decode, watch, edit, send."""
        reply = None
        doc: Any = None
        if status == 200:
            try:
                doc = orjson.loads(content)
                reply = protocol.decode_reply(doc)
            except (ValueError, ProtocolError):
                self.gw.metrics["unreadable_reply"] += 1  # passed on as it came: the client's SDK will say
        if reply is not None:
            self._output(event, effects, reply.text, True)
            event.reply = reply
            self._hook("on_reply", event, effects)
            served = self._apply(reply, effects)
            if served is not reply:
                self.gw.metrics["edited"] += 1
                content = orjson.dumps(protocol.replace_outputs(doc, served))
                out_headers = [(k, v) for k, v in out_headers if k != b"content-type"]
                out_headers.append((b"content-type", b"application/json"))
            event.reply = served
            self._hook("on_served", event, effects)
        out_headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": content})
        return status

    def _apply(self, reply: ChatReply, effects: _Effects) -> ChatReply:
        """The reply as the client gets it after the responses' edits."""
        if not (effects.output or effects.drop_tools):
            return reply
        if effects.stop:
            return ChatReply(effects.say(*_OUTPUT), [], "content_filter",
                             reply.usage, reply.latency_s)
        text = edit_text(reply.text, effects.edits) if effects.edits else reply.text
        calls = reply.tool_calls
        finish = reply.finish_reason
        if effects.drop_tools and calls:
            calls, finish = [], "stop"
            text = (text + "\n\n" if text else "") + effects.say("drop-tools")
        return ChatReply(text, calls, finish, reply.usage, reply.latency_s)

    async def _stream(self, protocol: ChatProtocol, event: ChatEvent, effects: _Effects, up: Any,
                      out_headers: list, send: Send) -> int:
        """Forward a streamed reply event by event, watching its text; see the module docstring."""
        decoder = protocol.stream_decoder(self.max_stream_chars)
        sent = protocol.stream_decoder()     # what the client has been sent, to end it cleanly
        await send({"type": "http.response.start", "status": 200, "headers": out_headers})
        buffer, held = b"", b""
        holding = ended = False
        end_mark = protocol.event_end
        try:
            async for data in up.content.iter_any():
                buffer += data
                cut = buffer.rfind(end_mark)
                if cut < 0:
                    if len(buffer) > decoder.max_line_bytes:
                        raise ProtocolError("a stream event over the size limit")
                    continue
                ready, buffer = buffer[:cut + len(end_mark)], buffer[cut + len(end_mark):]
                decoder.feed(ready)
                text = decoder.take_text()
                if text:
                    self._output(event, effects, text, False)
                if effects.output:
                    await self._end(protocol, sent, effects, send)
                    ended = True
                    break
                # held: what follows a tool call (it may yet be dropped), and the stream's last
                # event, so that the client sees the end only once the detectors have seen it all
                # (its next request may otherwise race the record of this reply)
                holding = holding or decoder.has_calls or decoder.done
                if holding:
                    held += ready
                    continue
                sent.feed(ready)
                await send({"type": "http.response.body", "body": ready, "more_body": True})
                if decoder.full:
                    self.gw.metrics["stream_capped"] += 1
                    await self._end(protocol, sent, effects, send, reason="length", text="")
                    ended = True
                    break
            if not ended:
                if buffer:
                    decoder.feed(buffer)
                    held += buffer
                decoder.close()
        except (ProtocolError, aiohttp.ClientError, TimeoutError) as exc:
            self.gw.metrics["stream_broken"] += 1
            message = "upstream stream broke off" if not isinstance(exc, ProtocolError) else f"upstream stream: {exc}"
            await send({"type": "http.response.body", "body": protocol.encode_stream_error(message),
                        "more_body": False})
            event.reply = decoder.reply()
            raise _Sent(502) from None
        reply = decoder.reply()
        event.reply = reply
        if not ended:
            self._output(event, effects, "", True)
            self._hook("on_reply", event, effects)
            if holding and (effects.output or (effects.drop_tools and reply.tool_calls)):
                if effects.output:
                    reason, note = "content_filter", effects.say(*_OUTPUT)
                else:  # the text held back with the calls still goes out, as in a whole reply
                    missing = reply.text[len(sent.reply().text):]
                    reason, note = "stop", missing + ("\n\n" if reply.text else "") + effects.say("drop-tools")
                await self._end(protocol, sent, effects, send, reason=reason, text=note)
                reply = sent.reply()
            else:
                await send({"type": "http.response.body", "body": held, "more_body": False})
        else:
            reply = sent.reply()
        event.reply = reply
        self._hook("on_served", event, effects)
        return 200

    async def _end(self, protocol: ChatProtocol, sent: Any, effects: _Effects, send: Send, *,
                   reason: str = "content_filter", text: str | None = None) -> None:
        self.gw.metrics["streams_ended"] += 1
        note = effects.say(*_OUTPUT) if text is None else text
        data = b"".join(protocol.encode_stream_end(sent, note, reason))
        sent.feed(data)   # what the client now holds, for the detectors that check served turns
        await send({"type": "http.response.body", "body": data, "more_body": False})

    # -- bookkeeping ------------------------------------------------------------------------------
    def _count(self, event: ChatEvent) -> None:
        """Tensor detectors that count requests (volume) see each chat request as one query."""
        if not self.counters:
            return
        query = QueryEvent(event.client, event.time, None, None, event.path, 200, event.bytes_in, 0.0, event.count)
        for detector in self.counters:
            for alert in detector.observe(query):
                self.gw._raise(alert)

    @staticmethod
    def _digest(request: Any) -> str:
        last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        return hashlib.blake2b(last.encode("utf-8", "replace"), digest_size=8).hexdigest()

    def _log(self, client: str, path: str, status: int, size: int, started: float, digest: str) -> None:
        latency = (time.perf_counter() - started) * 1000
        self.gw.writer.event(Event(time.time(), client, path, status, 1, size, latency, digest))

    @staticmethod
    async def _error(send: Send, protocol: ChatProtocol, status: int, message: str, code: str) -> None:
        body = orjson.dumps(protocol.encode_error(message, status, code))
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _Sent(Exception):
    """The reply's headers are out; ``status`` is what to log."""

    def __init__(self, status: int):
        self.status = status

