"""An instant OpenAI-compatible chat upstream, as its own process (for llm_detect_bench): every
request gets the same ~500-character answer, streamed in 16-character pieces when asked, so what
is measured in front of it is the gateway.

Usage: python bench/_chat_upstream.py PORT
"""

from __future__ import annotations

import json
import sys

import uvicorn

from advmatrix.protocols import ChatReply, OpenAIChat, Usage

ANSWER = ("Thanks for asking. Your order shipped on Monday and should arrive by Friday; you can follow it "
          "on the carrier's page. ") * 5


def app_factory():
    protocol = OpenAIChat()

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            m = await receive()
            body += m.get("body", b"")
            if not m.get("more_body"):
                break
        if scope["path"] != "/v1/chat/completions":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        request = protocol.decode_request(json.loads(body))
        reply = ChatReply(ANSWER, usage=Usage(100, 120))
        if request.stream:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")]})
            for event in protocol.encode_stream(reply, request.model):
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        data = json.dumps(protocol.encode_reply(reply, request.model)).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": data})

    return app


if __name__ == "__main__":
    uvicorn.run(app_factory(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
