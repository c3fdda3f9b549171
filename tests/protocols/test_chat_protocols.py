"""Chat protocols: every one round-trips requests, replies and streams (split at any byte);
each one's wire format, read from hand-written bodies and streams shaped like the vendors'
documentation; malformed bodies and events are one-line protocol errors; OpenAI's official SDK
reads what the OpenAI protocol writes."""

from __future__ import annotations

import json
import random

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from advmatrix.plugins import registry
from advmatrix.protocols import (
    AnthropicMessages,
    ChatProtocol,
    ChatReply,
    ChatRequest,
    JsonChat,
    KServe,
    Message,
    OllamaChat,
    OpenAIChat,
    Protocol,
    ProtocolError,
    ToolCall,
    Usage,
)
from advmatrix.protocols._chat import openai_tool
from advmatrix.serving import running_server

CHAT = sorted(name for name, cls in registry("protocol").items() if cls.modality == "chat")

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                          "required": ["city"]}}}]
CONVERSATION = [
    Message("system", "You are terse."),
    Message("user", "Weather and time in Paris?"),
    Message("assistant", "Let me look.", [ToolCall("call_0", "get_weather", '{"city": "Paris"}'),
                                          ToolCall("call_1", "get_time", '{"tz": "Europe/Paris"}')]),
    Message("tool", "18 C, sunny", tool_call_id="call_0"),
    Message("tool", "10:04", tool_call_id="call_1"),
    Message("user", "Thanks. And tomorrow?"),
]
REPLY = ChatReply("Tomorrow: 21 C and clear skies over the whole of Paris.",
                  [ToolCall("call_0", "get_weather", '{"city": "Paris", "day": "tomorrow"}')], "tool_calls",
                  Usage(42, 17))


def _shape(messages: list[Message]) -> list[tuple]:
    return [(m.role, m.content, [(c.id, c.name, c.parsed()) for c in m.tool_calls], m.tool_call_id) for m in messages]


def _feed(decoder, events: list[bytes], seed: int = 0):
    """Feed the stream cut at random places (events straddle feeds)."""
    data, rng, i = b"".join(events), random.Random(seed), 0
    while i < len(data):
        n = rng.randint(1, 9)
        decoder.feed(data[i:i + n])
        i += n
    decoder.close()
    return decoder.reply()


@pytest.fixture(params=CHAT)
def chat(request) -> ChatProtocol:
    return registry("protocol")[request.param]()


# -- every chat protocol --------------------------------------------------------------------------

def test_the_three_are_registered_as_chat_protocols():
    assert {"openai-chat": OpenAIChat, "anthropic-messages": AnthropicMessages,
            "ollama-chat": OllamaChat}.items() <= registry("protocol").items()
    assert set(CHAT) >= {"openai-chat", "anthropic-messages", "ollama-chat"}
    assert Protocol.modality == KServe.modality == "tensor" and ChatProtocol.modality == "chat"


@pytest.mark.parametrize("stream", [False, True])
def test_requests_round_trip(chat, stream):
    request = ChatRequest("m-1", CONVERSATION, TOOLS, stream, {"temperature": 0.2, "max_tokens": 64})
    doc = chat.encode_request(request)
    json.dumps(doc)  # a JSON body
    back = chat.decode_request(doc)
    assert (back.model, back.tools, back.stream, back.sampling) == ("m-1", TOOLS, stream, request.sampling)
    assert _shape(back.messages) == _shape(CONVERSATION)
    assert chat.match(chat.endpoint("m-1")) and not chat.match("/v2/models/m/infer")


def test_replies_round_trip(chat):
    back = chat.decode_reply(json.loads(json.dumps(chat.encode_reply(REPLY, "m-1"))))
    assert (back.text, back.finish_reason, back.usage) == (REPLY.text, "tool_calls", REPLY.usage)
    assert [(c.id, c.name, c.parsed()) for c in back.tool_calls] == [("call_0", "get_weather",
                                                                     {"city": "Paris", "day": "tomorrow"})]
    plain = chat.decode_reply(chat.encode_reply(ChatReply("Hi.", finish_reason="length", usage=Usage(3, 1))))
    assert (plain.text, plain.tool_calls, plain.finish_reason, plain.usage.total) == ("Hi.", [], "length", 4)


@pytest.mark.parametrize("seed", range(3))
def test_streams_round_trip_whatever_the_cuts(chat, seed):
    events = chat.encode_stream(REPLY, "m-1")
    assert len(events) > 4 and all(isinstance(e, bytes) for e in events)
    back = _feed(chat.stream_decoder(), events, seed)
    assert (back.text, back.finish_reason, back.usage, back.truncated) == (REPLY.text, "tool_calls", REPLY.usage,
                                                                           False)
    assert [(c.name, c.parsed()) for c in back.tool_calls] == [("get_weather", {"city": "Paris", "day": "tomorrow"})]


def test_a_stream_cut_short_is_truncated_and_the_char_cap_holds(chat):
    events = chat.encode_stream(REPLY, "m-1")
    decoder = chat.stream_decoder()
    for event in events[:3]:
        decoder.feed(event)
    assert decoder.reply().truncated and not decoder.done
    capped = chat.stream_decoder(max_chars=10)
    for event in events:
        capped.feed(event)
        if capped.full:
            break
    reply = capped.reply()
    assert capped.full and reply.truncated and len(reply.text) <= 10


@pytest.mark.parametrize("doc", [None, 3, "text", [], {}, {"unrelated": True}])
def test_malformed_bodies_are_protocol_errors(chat, doc):
    with pytest.raises(ProtocolError):
        chat.decode_request(doc)
    with pytest.raises(ProtocolError):
        chat.decode_reply(doc)


@pytest.mark.parametrize("body", [
    {"error": {"message": "model overloaded", "type": "server_error"}},
    {"type": "error", "error": {"type": "overloaded_error", "message": "model overloaded"}},
    {"error": "model overloaded"}])
def test_error_bodies_name_the_apis_message(chat, body):
    with pytest.raises(ProtocolError, match="model overloaded"):
        chat.decode_reply(body)


def test_a_stream_that_is_no_stream_is_a_protocol_error(chat):
    decoder = chat.stream_decoder()
    decoder.feed(b"<html>")
    with pytest.raises(ProtocolError, match="no event|not JSON"):
        decoder.close()
    with pytest.raises(ProtocolError, match="over"):
        chat.stream_decoder().feed(b"x" * (2 << 20))


def test_tool_schemas_in_any_common_form():
    form = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    assert openai_tool(form) == form
    assert openai_tool({"name": "f", "parameters": {"type": "object"}}) == form
    assert openai_tool({"name": "f", "input_schema": {"type": "object"}}) == form
    with pytest.raises(ProtocolError, match="name"):
        openai_tool({"description": "nameless"})


# -- OpenAI Chat Completions --------------------------------------------------------------------

def _chunk(delta: dict, finish: str | None = None) -> dict:
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _tool_delta(index: int, arguments: str, call_id: str | None = None, name: str | None = None) -> dict:
    delta: dict = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        delta.update(id=call_id, type="function")
        delta["function"]["name"] = name
    return _chunk({"tool_calls": [delta]})


# as the API reference shows a streamed tool call: id and name first, arguments in fragments
# (here interleaved with a second call), CRLF line ends, a keep-alive comment, a usage chunk
OPENAI_STREAM = "".join([
    *(f"data: {json.dumps(c)}\r\n\r\n" for c in [
        _chunk({"role": "assistant", "content": ""}), _chunk({"content": "Checking"})]),
    ": keep-alive\r\n\r\n",
    *(f"data: {json.dumps(c)}\r\n\r\n" for c in [
        _tool_delta(0, "", "call_abc", "get_weather"), _tool_delta(0, '{"ci'),
        _tool_delta(1, "{}", "call_def", "get_time"),
        _tool_delta(0, 'ty": "Oslo"}'), _chunk({}, "tool_calls"),
        {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
         "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40}}]),
    "data: [DONE]\r\n\r\n"]).encode()


def test_openai_reads_a_documented_stream_with_interleaved_tool_call_deltas():
    reply = _feed(OpenAIChat().stream_decoder(), [OPENAI_STREAM])
    assert reply.text == "Checking" and reply.finish_reason == "tool_calls" and reply.usage == Usage(31, 9)
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [
        ("call_abc", "get_weather", '{"city": "Oslo"}'), ("call_def", "get_time", "{}")]


def test_openai_wire_format():
    p = OpenAIChat()
    doc = p.encode_request(ChatRequest("gpt-x", CONVERSATION, TOOLS, True, {"max_tokens": 5, "seed": 7}))
    assert doc["stream"] is True and doc["stream_options"] == {"include_usage": True}
    assert doc["max_tokens"] == 5 and doc["seed"] == 7 and doc["tools"] == TOOLS
    assert doc["messages"][2]["tool_calls"][1] == {
        "id": "call_1", "type": "function", "function": {"name": "get_time", "arguments": '{"tz": "Europe/Paris"}'}}
    assert doc["messages"][3] == {"role": "tool", "content": "18 C, sunny", "tool_call_id": "call_0"}
    newer = OpenAIChat(max_tokens_field="max_completion_tokens").encode_request(
        ChatRequest("o", [Message("user", "hi")], sampling={"max_tokens": 5}))
    assert newer["max_completion_tokens"] == 5 and "max_tokens" not in newer
    assert p.decode_request(newer).sampling == {"max_tokens": 5}
    events = p.encode_stream(REPLY, "gpt-x")
    assert events[-1] == b"data: [DONE]\n\n"
    deltas = [json.loads(e[6:])["choices"][0]["delta"] for e in events[:-2]]
    assert sum(1 for d in deltas if d.get("tool_calls") and d["tool_calls"][0]["function"]["arguments"]) > 1
    assert json.loads(events[-2][6:])["usage"]["total_tokens"] == REPLY.usage.total


@pytest.mark.parametrize("event, message", [
    (b"data: {not json}\n\n", "not JSON"),
    (b"data: 42\n\n", "not a JSON object"),
    (b'data: {"error": {"message": "quota exceeded"}}\n\n', "quota exceeded"),
    (b'data: {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": "x"}]}}]}\n\n', "malformed"),
])
def test_openai_malformed_events(event, message):
    with pytest.raises(ProtocolError, match=message):
        OpenAIChat().stream_decoder().feed(event)


def test_broken_tool_call_arguments_are_kept_raw():
    broken = ChatReply("", [ToolCall("call_0", "run", '{"cmd": "ls')], "tool_calls")
    for p in (OpenAIChat(), AnthropicMessages()):
        reply = _feed(p.stream_decoder(), p.encode_stream(broken, "m"))
        assert reply.tool_calls[0].arguments == '{"cmd": "ls' and reply.tool_calls[0].parsed() is None
    assert OpenAIChat().decode_reply(OpenAIChat().encode_reply(broken)).tool_calls[0].arguments == '{"cmd": "ls'
    # APIs that carry objects keep the text under _raw_arguments rather than lose it
    doc = OllamaChat().encode_reply(broken)
    assert doc["message"]["tool_calls"][0]["function"]["arguments"] == {"_raw_arguments": '{"cmd": "ls'}


def test_the_official_openai_sdk_reads_our_replies_and_streams():
    openai = pytest.importorskip("openai")
    p = OpenAIChat()
    app = FastAPI()
    seen: list[ChatRequest] = []

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        asked = p.decode_request(await request.json())
        seen.append(asked)
        if asked.stream:
            return StreamingResponse(iter(p.encode_stream(REPLY, asked.model)), media_type="text/event-stream")
        return p.encode_reply(REPLY, asked.model)

    with running_server(app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test", max_retries=0)
        done = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], tools=TOOLS)
        assert done.choices[0].message.content == REPLY.text and done.usage.total_tokens == REPLY.usage.total
        call = done.choices[0].message.tool_calls[0]
        assert (call.id, call.function.name, json.loads(call.function.arguments)["day"]) == ("call_0", "get_weather",
                                                                                            "tomorrow")
        chunks = list(client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                     stream=True, stream_options={"include_usage": True}))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        args = "".join(tc.function.arguments or "" for c in chunks if c.choices
                       for tc in c.choices[0].delta.tool_calls or [])
        assert text == REPLY.text and json.loads(args) == {"city": "Paris", "day": "tomorrow"}
        assert chunks[-1].usage.completion_tokens == REPLY.usage.completion_tokens
    # and what the SDK sent is what the protocol reads
    assert seen[0].tools == TOOLS and seen[1].stream and seen[1].messages[0].content == "hi"


# -- Anthropic Messages -------------------------------------------------------------------------

ANTHROPIC_EVENTS = [
    ("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": [], "stop_reason": None,
        "stop_sequence": None, "usage": {"input_tokens": 25, "cache_read_input_tokens": 5, "output_tokens": 1}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("ping", {"type": "ping"}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "Let me check"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
        "type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {}}}),
    *(("content_block_delta", {"type": "content_block_delta", "index": 1,
                               "delta": {"type": "input_json_delta", "partial_json": part}})
      for part in ("", '{"city": "Li', 'ma"}')),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                       "usage": {"output_tokens": 12}}),
    ("message_stop", {"type": "message_stop"}),
]
ANTHROPIC_STREAM = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in ANTHROPIC_EVENTS).encode()


def test_anthropic_reads_a_documented_stream():
    reply = _feed(AnthropicMessages().stream_decoder(), [ANTHROPIC_STREAM])
    assert reply.text == "Let me check" and reply.finish_reason == "tool_calls" and reply.usage == Usage(30, 12)
    assert [(c.id, c.name, c.parsed()) for c in reply.tool_calls] == [("toolu_01", "get_weather", {"city": "Lima"})]
    assert not reply.truncated


def test_anthropic_wire_format():
    p = AnthropicMessages()
    doc = p.encode_request(ChatRequest("claude-x", CONVERSATION, TOOLS, False, {"stop": "END", "seed": 1}))
    assert doc["system"] == "You are terse." and doc["max_tokens"] == 1024 and doc["stop_sequences"] == ["END"]
    assert "seed" not in doc and doc["tools"][0]["input_schema"] == TOOLS[0]["function"]["parameters"]
    assert [t["role"] for t in doc["messages"]] == ["user", "assistant", "user", "user"]
    assert doc["messages"][1]["content"][1] == {"type": "tool_use", "id": "call_0", "name": "get_weather",
                                                "input": {"city": "Paris"}}
    assert [b["tool_use_id"] for b in doc["messages"][2]["content"]] == ["call_0", "call_1"]
    assert p.headers() == {"anthropic-version": "2023-06-01"} and p.auth_headers("k") == {"x-api-key": "k"}
    reply = p.encode_reply(ChatReply("ok", finish_reason="length"), "claude-x")
    assert reply["stop_reason"] == "max_tokens" and reply["content"] == [{"type": "text", "text": "ok"}]
    with pytest.raises(ProtocolError, match="no role 'developer'"):
        p.encode_request(ChatRequest("c", [Message("developer", "x")]))


def test_anthropic_error_event_is_a_protocol_error():
    event = b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n'
    with pytest.raises(ProtocolError, match="Overloaded"):
        AnthropicMessages().stream_decoder().feed(event)


# -- Ollama ---------------------------------------------------------------------------------------

_HEAD = {"model": "llama3.2", "created_at": "2025-01-01T00:00:00Z"}
OLLAMA_STREAM = "".join(json.dumps(line) + "\n" for line in [
    {**_HEAD, "message": {"role": "assistant", "content": "The"}, "done": False},
    {**_HEAD, "message": {"role": "assistant", "content": " sky"}, "done": False},
    {**_HEAD, "message": {"role": "assistant", "content": "", "tool_calls": [
        {"function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]}, "done": False},
    {**_HEAD, "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop", "total_duration": 5,
     "prompt_eval_count": 26, "eval_count": 8},
]).encode()


def test_ollama_reads_a_documented_stream():
    reply = _feed(OllamaChat().stream_decoder(), [OLLAMA_STREAM])
    assert reply.text == "The sky" and reply.usage == Usage(26, 8) and reply.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.parsed()) for c in reply.tool_calls] == [("call_0", "get_weather", {"city": "Rome"})]


def test_ollama_wire_format():
    p = OllamaChat(keep_alive="1m")
    doc = p.encode_request(ChatRequest("llama3.2", CONVERSATION, TOOLS, False,
                                       {"max_tokens": 9, "temperature": 0, "format": "json"}))
    assert doc["options"] == {"num_predict": 9, "temperature": 0} and doc["format"] == "json"
    assert doc["stream"] is False and doc["keep_alive"] == "1m"
    assert doc["messages"][2]["tool_calls"][0] == {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    assert [m.get("tool_name") for m in doc["messages"][3:5]] == ["get_weather", "get_time"]
    assert p.decode_request({"model": "m", "messages": []}).stream is True  # the server's default
    assert p.decode_models({"models": [{"name": "llama3.2:latest"}, {"name": "qwen3"}]}) == ["llama3.2:latest", "qwen3"]
    line = p.encode_stream(ChatReply("hi"), "m")[-1]
    assert line.endswith(b"\n") and json.loads(line)["done"] is True
    with pytest.raises(ProtocolError, match="model 'nope' not found"):
        p.stream_decoder().feed(b'{"error": "model \'nope\' not found"}\n')


# -- an application's own JSON API --------------------------------------------------------------

def test_json_chat_templates():
    p = JsonChat(template={"session": "s1", "history": "$messages"}, response_path="data.answer")
    request = ChatRequest(messages=[Message("user", "hi"), Message("assistant", "hello"), Message("user", "more")])
    doc = p.encode_request(request)
    assert doc == {"session": "s1", "history": [{"role": "user", "content": "hi"},
                                                {"role": "assistant", "content": "hello"},
                                                {"role": "user", "content": "more"}]}
    assert _shape(p.decode_request(doc).messages) == _shape(request.messages)
    assert p.decode_reply({"data": {"answer": "Sure."}}).text == "Sure."
    assert p.decode_reply(p.encode_reply(ChatReply("x"))).text == "x"
    prompt = JsonChat(template={"q": "$prompt"}, response_path="a")
    assert prompt.encode_request(request) == {"q": "more"}
    with pytest.raises(ProtocolError, match="reply has no 'a'"):
        prompt.decode_reply({"b": 1})
    with pytest.raises(ProtocolError, match="not text"):
        prompt.decode_reply({"a": {"nested": True}})
    with pytest.raises(ProtocolError, match="does not stream"):
        prompt.stream_decoder()
    from advmatrix.errors import UsageError

    with pytest.raises(UsageError, match=r'put "\$messages"'):
        JsonChat(template={"q": "text"})
