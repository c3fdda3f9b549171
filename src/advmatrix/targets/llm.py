"""LLM applications over HTTP: the transport for chat protocols (:mod:`advmatrix.protocols`:
OpenAI Chat Completions, Anthropic Messages, Ollama, an application's own JSON API).

Requests go out from the same event-loop thread as the classifier targets'
(:mod:`advmatrix.targets.http`), so procedures call :meth:`HttpChatTarget.chat` synchronously.
What a hostile or broken application can send back is bounded: streamed text stops at
``max_reply_chars`` (the reply is then ``truncated``), a body over ``max_reply_bytes`` is not
parsed, and a reply that takes longer than ``time_limit`` seconds — an endless stream — is cut
there. 429 and 5xx answers are retried with exponential backoff, or after the server's
``Retry-After`` when it gives one (up to ``max_retry_wait``). Token usage comes from the API
when it reports it and is estimated (about four characters a token) when it does not, so token
and money budgets hold either way.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from ..errors import CapabilityError, TargetInputError, TargetResponseError, TargetUnavailable
from ..protocols import ChatProtocol, ProtocolError
from ..protocols._chat import ChatReply, ChatRequest, Message, Usage, error_text
from ._chat import ChatBudget, ChatInfo, ChatTarget
from .http import _Loop, close_pool

#: characters per token when an API does not report usage (a common rule of thumb for English)
CHARS_PER_TOKEN = 4
#: most bytes of an error body read to explain an HTTP error
_ERROR_BYTES = 4096


def estimate_tokens(chars: int | str) -> int:
    """Tokens a text of ``chars`` characters (or the text itself) is likely to take."""
    n = len(chars) if isinstance(chars, str) else int(chars)
    return math.ceil(n / CHARS_PER_TOKEN) if n > 0 else 0


def retry_after(headers: Any) -> float | None:
    """Seconds a server asks a client to wait (``Retry-After``: seconds or an HTTP date;
    ``retry-after-ms``, as some LLM APIs send), or None when it does not say."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass
class PlantEndpoint:
    """Where an application takes untrusted content of one channel: ``template`` is the JSON body
    with ``$content``, ``$title`` and ``$channel`` in its strings, sent to ``url`` with ``method``
    and ``headers`` (the target's own headers, API key included, are not sent here)."""

    url: str
    template: Any = field(default_factory=lambda: {"title": "$title", "content": "$content"})
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, channel: str, content: str, title: str) -> Any:
        """The template with the placeholders filled."""
        values = {"content": content, "title": title, "channel": channel}
        return _substitute(self.template, values)


class _Retry(Exception):
    """An answer worth retrying (429, 5xx), with the wait the server asked for."""

    def __init__(self, reason: str, wait: float | None):
        super().__init__(reason)
        self.reason, self.wait = reason, wait


class HttpChatTarget(ChatTarget):
    """A chat API at ``url`` (the full address requests are posted to) that speaks ``protocol``.

    ``model`` names the model in requests (``info.model`` when not given); ``headers`` go with
    every chat request (an API key); ``sampling`` (``temperature``, ``max_tokens``, ``seed``...)
    is sent with every request unless a call overrides it. ``stream`` asks for streamed replies
    (a call may pass ``stream=``). With ``send_system_prompt`` the known system prompt
    (``info.system_prompt``) opens every conversation that has none: for a bare model API, that
    is how the deployed application talks to it. ``plant`` maps channels (``retrieved_document``,
    ``web_page``, ``email``) to the :class:`PlantEndpoint` that takes such content.

    Limits: ``max_reply_chars`` of text and tool arguments (the rest is not read; the reply is
    ``truncated``), ``max_reply_bytes`` on the wire (a larger non-streamed body is a
    :class:`TargetResponseError`, a larger stream is cut), ``time_limit`` seconds per reply
    (a stream still open then is cut, with ``finish_reason`` ``"time_limit"``), ``timeout``
    seconds of silence and ``connect_timeout`` to connect. 429 and 5xx answers and transport
    errors are retried ``retries`` times, waiting what ``Retry-After`` says or else ``backoff``
    seconds doubling; a server asking for more than ``max_retry_wait`` seconds is given up on.
    """

    def __init__(self, url: str, protocol: ChatProtocol, info: ChatInfo, budget: ChatBudget | None = None, *,
                 model: str | None = None, headers: dict[str, str] | None = None, stream: bool = False,
                 sampling: dict[str, Any] | None = None, send_system_prompt: bool = False,
                 plant: dict[str, PlantEndpoint] | None = None, max_reply_chars: int = 20_000,
                 max_reply_bytes: int = 2_000_000, time_limit: float = 120.0, timeout: float = 60.0,
                 connect_timeout: float = 10.0, retries: int = 3, backoff: float = 0.5, max_retry_wait: float = 30.0):
        super().__init__(info, budget)
        self.url = url
        self.protocol = protocol
        self.model = model if model is not None else info.model
        self.headers = {"content-type": "application/json", **protocol.headers(), **(headers or {})}
        self.extra_headers: dict[str, str] = {}  # per clone: the purple loop gives each procedure its own key
        self.stream = stream
        self.sampling = dict(sampling or {})
        self.send_system_prompt = send_system_prompt
        self.plant_endpoints = dict(plant or {})
        self.max_reply_chars = max_reply_chars
        self.max_reply_bytes = max_reply_bytes
        self.time_limit = time_limit
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.backoff = backoff
        self.max_retry_wait = max_retry_wait
        self._client = None

    @property
    def where(self) -> str:
        """How errors name this target: its name and URL."""
        return f"{self.info.name} ({self.url})"

    # -- the seam ------------------------------------------------------------------------------
    def _chat(self, messages: list[Message], tools: list[dict[str, Any]], sampling: dict[str, Any]) -> ChatReply:
        settings = {**self.sampling, **{k: v for k, v in sampling.items() if v is not None}}
        stream = bool(settings.pop("stream", self.stream))
        if self.send_system_prompt and self.info.system_prompt and not any(m.role == "system" for m in messages):
            messages = [Message("system", self.info.system_prompt), *messages]
        request = ChatRequest(self.model, messages, list(tools), stream, settings)
        try:
            body = json.dumps(self.protocol.encode_request(request)).encode()
        except (ProtocolError, TypeError, ValueError) as exc:
            raise TargetInputError(f"{self.where}: cannot encode the request: {exc}") from None
        started = time.perf_counter()
        reply = _Loop.run(self._send(body, stream))
        reply.latency_s = time.perf_counter() - started
        reply.usage = self._usage(reply, request)
        return reply

    def _can_plant(self, channel: str) -> bool:
        return channel in self.plant_endpoints

    def _plant(self, channel: str, content: str, title: str) -> None:
        endpoint = self.plant_endpoints.get(channel)
        if endpoint is None:
            raise CapabilityError(f"{self.info.name}: no 'plant' endpoint for channel '{channel}' in its description")
        _Loop.run(self._post_plant(endpoint, endpoint.body(channel, content, title), channel))

    def close(self) -> None:
        """Close the connection pool."""
        close_pool(self)

    # -- transport -----------------------------------------------------------------------------
    def _http(self) -> Any:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout))
        return self._client

    async def _send(self, body: bytes, stream: bool) -> ChatReply:
        import httpx

        client = self._http()
        last = ""
        for attempt in range(self.retries + 1):
            wait = None
            try:
                return await self._attempt(client, body, stream)
            except _Retry as exc:
                last, wait = exc.reason, exc.wait
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout:g} s"
            except httpx.HTTPError as exc:
                last = f"cannot connect: {exc.__class__.__name__}: {_line(str(exc), 160)}"
            if attempt == self.retries:
                break
            delay = wait if wait is not None else self.backoff * 2 ** attempt * (0.5 + random.random())
            if delay > self.max_retry_wait:
                raise TargetUnavailable(f"{self.where}: {last}; it asks to retry after {delay:.0f} s, more than "
                                        f"max_retry_wait ({self.max_retry_wait:g} s)")
            await asyncio.sleep(delay)
        raise TargetUnavailable(f"{self.where}: {last} (after {self.retries + 1} attempts)")

    async def _attempt(self, client: Any, body: bytes, stream: bool) -> ChatReply:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.time_limit
        accept = self.protocol.stream_media_type if stream else "application/json"
        request = client.build_request("POST", self.url, content=body, headers={**self.headers, **self.extra_headers,
                                                                                      "accept": accept})
        try:
            async with asyncio.timeout_at(deadline):
                response = await client.send(request, stream=True)
        except TimeoutError:
            raise TargetUnavailable(f"{self.where}: no answer within time_limit ({self.time_limit:g} s)") from None
        try:
            await self._check_status(response)
            media = response.headers.get("content-type", "").lower()
            # a server may stream when not asked to, or answer whole when asked to stream
            streamed = media.startswith(self.protocol.stream_media_type)
            if streamed or (stream and not media.startswith("application/json")):
                return await self._read_stream(response, deadline)
            return self._decode(await self._read_body(response, deadline))
        finally:
            await response.aclose()

    async def _check_status(self, response: Any) -> None:
        status = response.status_code
        if status < 300:
            return
        head = b""
        try:
            async for chunk in response.aiter_bytes():
                head += chunk
                if len(head) >= _ERROR_BYTES:
                    break
        except Exception:  # the status says enough; a broken error body changes nothing
            pass
        text = head[:_ERROR_BYTES].decode("utf-8", "replace")
        try:
            said = error_text(json.loads(text)) or text
        except ValueError:
            said = text
        what = f"HTTP {status} {response.reason_phrase}".rstrip() + (f": {_line(said, 200)}" if said.strip() else "")
        if status == 429 or status >= 500:
            raise _Retry(what, retry_after(response.headers))
        if status in (401, 403):
            raise TargetUnavailable(f"{self.where}: {what} — check the API key/header")
        raise self._fail(what)

    async def _read_body(self, response: Any, deadline: float) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_reply_bytes:
            raise self._fail(f"reply of {int(declared)} bytes is over max_reply_bytes ({self.max_reply_bytes}); "
                             "not read")
        data = bytearray()
        try:
            async with asyncio.timeout_at(deadline):
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > self.max_reply_bytes:
                        raise self._fail(f"reply over max_reply_bytes ({self.max_reply_bytes}); not read further")
        except TimeoutError:
            raise TargetUnavailable(f"{self.where}: reply not complete within time_limit "
                                    f"({self.time_limit:g} s)") from None
        return bytes(data)

    def _decode(self, data: bytes) -> ChatReply:
        try:
            doc = json.loads(data)
        except ValueError:
            raise self._fail(f"reply is not JSON: {_line(data[:100].decode('utf-8', 'replace'), 100)!r}") from None
        try:
            reply = self.protocol.decode_reply(doc)
        except ProtocolError as exc:
            raise self._fail(str(exc)) from None
        if len(reply.text) > self.max_reply_chars:
            reply.text, reply.truncated = reply.text[:self.max_reply_chars], True
        return reply

    async def _read_stream(self, response: Any, deadline: float) -> ChatReply:
        import httpx

        decoder = self.protocol.stream_decoder(self.max_reply_chars)
        size, cut, timed_out = 0, False, False
        try:
            async with asyncio.timeout_at(deadline):
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    decoder.feed(chunk)
                    if decoder.done or decoder.full:
                        break
                    if size > self.max_reply_bytes:
                        cut = True
                        break
                else:
                    decoder.close()
        except TimeoutError:
            timed_out = True
        except ProtocolError as exc:
            raise self._fail(f"malformed stream: {exc}") from None
        except httpx.HTTPError:
            if not decoder.frames:
                raise  # nothing came: retried like any transport error
            cut = True  # the connection broke mid-stream: keep what arrived
        reply = decoder.reply()
        if timed_out:
            reply.finish_reason, reply.truncated = "time_limit", True
        elif cut:
            reply.truncated = True
        return reply

    async def _post_plant(self, endpoint: PlantEndpoint, body: Any, channel: str) -> None:
        import httpx

        where = f"{self.info.name}: planting '{channel}' at {endpoint.url}"
        try:
            response = await self._http().request(endpoint.method, endpoint.url, json=body,
                                                   headers=endpoint.headers or None)
        except httpx.TimeoutException:
            raise TargetUnavailable(f"{where}: timed out after {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise TargetUnavailable(f"{where}: cannot connect: {exc.__class__.__name__}") from None
        if response.status_code >= 300:
            hint = " — check its headers" if response.status_code in (401, 403) else ""
            raise TargetResponseError(f"{where}: HTTP {response.status_code}: {_line(response.text, 200)}{hint}")

    # -- usage ---------------------------------------------------------------------------------
    @staticmethod
    def _usage(reply: ChatReply, request: ChatRequest) -> Usage:
        """The API's counts, with estimates where it gave none (or stopped before giving them)."""
        sent = sum(len(m.content) + sum(len(c.name) + len(c.arguments) for c in m.tool_calls)
                   for m in request.messages)
        if request.tools:
            sent += len(json.dumps(request.tools))
        said = len(reply.text) + sum(len(c.name) + len(c.arguments) for c in reply.tool_calls)
        prompt, completion = reply.usage.prompt_tokens, reply.usage.completion_tokens
        if prompt <= 0:
            prompt = estimate_tokens(sent)
        if completion <= 0 or reply.truncated:
            completion = max(completion, estimate_tokens(said))
        return Usage(prompt, completion)

    def _fail(self, what: str) -> TargetResponseError:
        return TargetResponseError(f"{self.where}: {what}")


def _line(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def _substitute(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, str):
        return re.sub(r"\$(content|title|channel)\b", lambda m: values[m.group(1)], node)
    if isinstance(node, dict):
        return {k: _substitute(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, values) for v in node]
    return node


__all__ = ["CHARS_PER_TOKEN", "HttpChatTarget", "PlantEndpoint", "estimate_tokens", "retry_after"]
