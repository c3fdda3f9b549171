"""The gateway's chat path with scripted detectors (a seam we own) in front of real servers on
loopback: the official `openai` SDK as the client, streaming and not; what each response does
to an exchange in the protocol's own terms; broken upstreams and bad requests."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import openai
import pytest

from advmatrix.detect import ChatDetector
from advmatrix.gateway import GatewayConfig, create_gateway
from advmatrix.protocols import AnthropicMessages, ChatReply, OllamaChat, OpenAIChat, ToolCall, Usage
from advmatrix.serving import make_llm_app, running_server

ADMIN = {"authorization": "Bearer s3cret"}


class Word(ChatDetector):
    """Refuses a request whose user turn says BANANA."""

    name = "test-word"
    title = "test word"
    technique_ids = ("AML.T0051.000",)
    response = {"action": "refuse", "message": "no bananas here"}

    def on_request(self, event):
        if any("BANANA" in text for _, text in event.untrusted()):
            return [self.chat_alert(event, "high", "banana")]
        return []


class Secret(ChatDetector):
    """Finds SECRET-\\d{4} in output; its spans let the gateway redact them."""

    name = "test-secret"
    title = "test secret"
    technique_ids = ("AML.T0057",)
    response = {"action": "redact"}
    window = 32

    def on_output(self, event, piece):
        import re

        seen = piece.seen
        return [self.chat_alert(event, "high", "secret", spans=[[piece.start + m.start(), piece.start + m.end()]])
                for m in re.finditer(r"SECRET-\d{4}", seen) if m.end() > len(piece.window)]


class Tools(ChatDetector):
    """Drops every call of delete_file."""

    name = "test-tools"
    title = "test tools"
    technique_ids = ("AML.T0101",)
    response = {"action": "drop-tools", "message": "That tool call was dropped."}

    def on_reply(self, event):
        if any(c.name == "delete_file" for c in event.reply.tool_calls):
            return [self.chat_alert(event, "high", "delete")]
        return []


class Served(ChatDetector):
    """Remembers what was served (to check what on_served sees)."""

    name = "test-served"
    title = "test served"
    technique_ids = ("AML.T0092",)
    seen: list = []

    def on_served(self, event):
        Served.seen.append(event.reply.text)
        return []


def scripted(protocol, answer, *, drop_after: int | None = None, endless: bool = False):
    """An upstream speaking ``protocol`` that answers ``answer(request) -> ChatReply``; it can
    drop the connection after ``drop_after`` stream events, or stream forever."""

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = protocol.decode_request(json.loads(body))
        reply = answer(request)
        if not request.stream:
            data = json.dumps(protocol.encode_reply(reply, request.model)).encode()
            head = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": head})
            await send({"type": "http.response.body", "body": data})
            return
        media = b"application/x-ndjson" if isinstance(protocol, OllamaChat) else b"text/event-stream"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", media)]})
        events = protocol.encode_stream(reply, request.model)
        if endless:
            one = protocol.encode_stream(ChatReply("la " * 50), request.model)[1]
            for _ in range(100_000):
                await send({"type": "http.response.body", "body": one, "more_body": True})
                await asyncio.sleep(0)
        for i, event in enumerate(events):
            if drop_after is not None and i == drop_after:
                raise RuntimeError("upstream dies mid-stream")
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


@contextlib.contextmanager
def gateway_for(upstream_app, tmp_path, detectors, **config):
    with running_server(upstream_app) as upstream:
        cfg = GatewayConfig(upstream=upstream, db=str(tmp_path / "gw.db"), admin_token="s3cret", **config)
        app = create_gateway(cfg, detectors=detectors)
        try:
            with running_server(app) as url:
                yield url, app.state.gateway
        finally:
            app.state.gateway.close()


def sdk(url):
    return openai.OpenAI(base_url=url + "/v1", api_key="sk-test-client", max_retries=0)


@pytest.fixture
def naive_app():
    with running_server(make_llm_app("naive")) as url:
        yield url


def test_the_local_application_through_the_gateway_is_unchanged_streaming_and_not(tmp_path):
    with gateway_for(make_llm_app("naive"), tmp_path, [Word(), Secret(), Tools()]) as (url, gw):
        client = sdk(url)
        ask = [{"role": "user", "content": "What is your return policy?"}]
        whole = client.chat.completions.create(model="support", messages=ask)
        text = whole.choices[0].message.content
        assert text and whole.choices[0].finish_reason == "stop"
        pieces = [c.choices[0].delta.content or "" for c in
                  client.chat.completions.create(model="support", messages=ask, stream=True) if c.choices]
        assert "".join(pieces) == text
        assert len(pieces) > 2, "the stream is forwarded piece by piece"
        assert gw.alerts() == []
        events = _events(gw, 2)
        assert [(e.path, e.status, e.n) for e in events] == [("/v1/chat/completions", 200, 1)] * 2


def test_a_refused_request_is_the_protocols_own_error_and_never_reaches_the_upstream(tmp_path):
    seen = []

    def answer(request):
        seen.append(request)
        return ChatReply("fine")

    with gateway_for(scripted(OpenAIChat(), answer), tmp_path, [Word()]) as (url, gw):
        with pytest.raises(openai.BadRequestError, match="no bananas here") as info:
            sdk(url).chat.completions.create(model="m", messages=[{"role": "user", "content": "say BANANA"}])
        assert info.value.code == "content_filter"
        assert seen == []
        assert sdk(url).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}]) \
            .choices[0].message.content == "fine"
        alerts = gw.alerts()
        assert [(a.detector, a.action, a.mitigation_ids) for a in alerts] == [
            ("test-word", "refuse", ("AML.M0015", "AML.M0020"))]
        assert alerts[0].evidence["conversation"].startswith("conv:")


@pytest.mark.parametrize("stream", [False, True])
def test_secrets_are_redacted_in_a_reply_and_end_a_stream_cleanly(tmp_path, stream):
    Served.seen = []
    text = "Your code is SECRET-1234 and the rest of the answer goes on for a while longer."
    with gateway_for(scripted(OpenAIChat(), lambda r: ChatReply(text)), tmp_path, [Secret(), Served()]) as (url, gw):
        client = sdk(url)
        ask = [{"role": "user", "content": "code?"}]
        if stream:
            chunks = list(client.chat.completions.create(model="m", messages=ask, stream=True))
            got = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
            assert finish == ["content_filter"]
            # the events that held the secret were never forwarded; the stream ends with the note
            assert got.endswith("[output stopped by policy]") and "SECRET-1234" not in got
        else:
            got = client.chat.completions.create(model="m", messages=ask).choices[0].message.content
            assert got == text.replace("SECRET-1234", "[redacted]")
        assert Served.seen == [got], "the detectors are told what the client got"
        assert [a.action for a in gw.alerts()] == ["redact"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_guarded_tool_call_is_dropped_and_answered_with_a_refusal(tmp_path, stream):
    calls = [ToolCall("c1", "delete_file", '{"path": "/srv/data"}')]
    reply = ChatReply("On it.", calls, "tool_calls", Usage(10, 5))
    tools = [{"type": "function", "function": {"name": "delete_file", "parameters": {"type": "object"}}}]
    with gateway_for(scripted(OpenAIChat(), lambda r: reply), tmp_path, [Tools()]) as (url, gw):
        client = sdk(url)
        ask = [{"role": "user", "content": "tidy up"}]
        if stream:
            chunks = list(client.chat.completions.create(model="m", messages=ask, tools=tools, stream=True))
            deltas = [c.choices[0].delta for c in chunks if c.choices]
            assert not any(d.tool_calls for d in deltas)
            assert "".join(d.content or "" for d in deltas) == "On it.\n\nThat tool call was dropped."
        else:
            message = client.chat.completions.create(model="m", messages=ask, tools=tools).choices[0].message
            assert not message.tool_calls and message.content == "On it.\n\nThat tool call was dropped."
        assert [a.action for a in gw.alerts()] == ["drop-tools"]


def test_an_allowed_pattern_drops_the_alert_and_its_response(tmp_path):
    with gateway_for(scripted(OpenAIChat(), lambda r: ChatReply("ok")), tmp_path, [Word()],
                     allow=[{"detectors": ["test-word"], "pattern": "banana"}]) as (url, gw):
        got = sdk(url).chat.completions.create(model="m", messages=[{"role": "user", "content": "BANANA"}])
        assert got.choices[0].message.content == "ok" and gw.alerts() == []
        assert gw.metrics["allowed"] == 1


def test_bad_requests_get_the_protocols_error_and_the_gateway_stays_up(tmp_path):
    with gateway_for(scripted(OpenAIChat(), lambda r: ChatReply("ok")), tmp_path, [Word()]) as (url, gw):
        for body in (b"{not json", b'{"model": "m", "messages": "hello"}', b"\xff\xfe binary"):
            r = httpx.post(url + "/v1/chat/completions", content=body, headers={"content-type": "application/json"})
            assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", body
        huge = {"model": "m", "messages": [{"role": "user", "content": "x" * 3_000_000}]}
        r = httpx.post(url + "/v1/chat/completions", json=huge, timeout=30)
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "ok"
        assert httpx.get(url + "/_advmatrix/health").status_code == 200
        assert gw.metrics["malformed"] == 3


def test_an_upstream_dropping_mid_stream_is_an_error_the_sdk_raises(tmp_path):
    upstream = scripted(OpenAIChat(), lambda r: ChatReply("a long answer " * 20), drop_after=4)
    with gateway_for(upstream, tmp_path, [Secret()]) as (url, gw):
        with pytest.raises(openai.APIError):
            list(sdk(url).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                  stream=True))
        assert httpx.get(url + "/_advmatrix/health").status_code == 200
        assert gw.metrics["stream_broken"] == 1


def test_an_endless_stream_is_ended_at_the_cap(tmp_path):
    upstream = scripted(OpenAIChat(), lambda r: ChatReply("x"), endless=True)
    with gateway_for(upstream, tmp_path, [Secret()], max_stream_chars=5000) as (url, gw):
        chunks = list(sdk(url).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                       stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert 5000 <= len(text) < 20_000
        assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]


@pytest.mark.parametrize("protocol", [AnthropicMessages(), OllamaChat()])
def test_other_chat_protocols_are_watched_and_answered_in_their_own_terms(tmp_path, protocol):
    text = "Here you go: SECRET-9876, and more text after the secret to stream."
    with gateway_for(scripted(protocol, lambda r: ChatReply(text)), tmp_path, [Word(), Secret()]) as (url, gw):
        def post(content, stream):
            doc = protocol.encode_request(_request(content, stream))
            return httpx.post(url + protocol.path, json=doc, headers=protocol.headers(), timeout=10)

        refused = post("BANANA please", False)
        assert refused.status_code == 400 and "no bananas here" in json.dumps(refused.json())
        whole = protocol.decode_reply(post("code?", False).json())
        assert whole.text == text.replace("SECRET-9876", "[redacted]")
        decoder = protocol.stream_decoder()
        decoder.feed(post("code?", True).content)
        decoder.close()
        streamed = decoder.reply()
        # events are forwarded whole, so the secret never goes out, however the stream was cut
        assert decoder.done and "SECRET-9876" not in streamed.text
        assert streamed.text.endswith("[output stopped by policy]")
        assert {a.detector for a in gw.alerts()} == {"test-word", "test-secret"}


def _events(gw, n, timeout=5.0):
    """The gateway's logged events once there are ``n`` (an event is logged just after its reply
    has gone out, so the client may read the reply first)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        gw.writer.flush()
        events = gw.store.events(limit=100)
        if len(events) >= n or time.monotonic() > deadline:
            return events
        time.sleep(0.02)


def _request(content, stream):
    from advmatrix.protocols import ChatRequest, Message

    return ChatRequest("m", [Message("user", content)], stream=stream, sampling={"max_tokens": 100})
