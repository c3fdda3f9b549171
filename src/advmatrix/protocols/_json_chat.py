"""An application's own JSON chat API, described by a request template and the path of the
answer in the reply: the codec behind the ``json-chat`` target kind."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._base import JsonPath, Protocol, ProtocolError, walk
from ._chat import ChatProtocol, ChatReply, ChatRequest, Message, error_text, text_of
from ._stream import StreamDecoder

MESSAGES, PROMPT = "$messages", "$prompt"


class JsonChatParams(BaseModel):
    """Parameters of :class:`JsonChat`: the request template and where replies keep the text."""

    model_config = ConfigDict(extra="forbid")
    template: Any = Field(default_factory=lambda: {"messages": MESSAGES},
                          description=f'request body with "{MESSAGES}" (the conversation as a list of '
                                      f'{{role, content}}) or "{PROMPT}" (the last user turn as text)')
    response_path: str = Field("reply", description="dotted path to the reply text ('answer', 'data.0.text')")
    path: str | None = Field(None, description="the route the application serves (e.g. /chat)")

    @field_validator("template")
    @classmethod
    def _has_a_marker(cls, template: Any) -> Any:
        if not any(value in (MESSAGES, PROMPT) for _, value in walk(template)):
            raise ValueError(f'put "{MESSAGES}" (the conversation) or "{PROMPT}" (the last user turn) '
                             "where the input goes")
        return template


class JsonChat(ChatProtocol):
    """An LLM application's own JSON API: ``template`` is the request body with ``"$messages"``
    where the conversation goes (a list of ``{role, content}``) or ``"$prompt"`` where the last
    user turn goes as text; ``response_path`` is the dotted path to the reply text. Such APIs
    carry no tool schemas, no usage and no streams."""

    name = "json-chat"
    title = "LLM application JSON API"
    Params: ClassVar[type[BaseModel]] = JsonChatParams

    def match(self, path: str) -> bool:
        """The configured ``path``, exactly (no path: nothing)."""
        return path == self.params.path

    def endpoint(self, model: str = "") -> str:
        """The configured ``path``; without one, a :class:`ProtocolError`."""
        if self.params.path is None:
            return Protocol.endpoint(self, model)
        return self.params.path

    def encode_request(self, request: ChatRequest) -> Any:
        """The template with the conversation (or the last user turn) at its markers."""
        request = self._expect(request, ChatRequest)
        turns = [{"role": m.role, "content": m.content} for m in request.messages]
        prompt = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        return _fill(self.params.template, {MESSAGES: turns, PROMPT: prompt})

    def decode_request(self, doc: Any) -> ChatRequest:
        """The conversation at the template's ``"$messages"`` (or one user turn at ``"$prompt"``)."""
        for trail, marker in walk(self.params.template):
            if marker not in (MESSAGES, PROMPT):
                continue
            try:
                value = JsonPath(trail).get(doc)
            except ProtocolError:
                raise ProtocolError(f"request has no '{JsonPath(trail)}'") from None
            if marker == PROMPT:
                if not isinstance(value, str):
                    raise ProtocolError(f"'{JsonPath(trail)}' is not text")
                return ChatRequest(messages=[Message("user", value)])
            if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
                raise ProtocolError(f"'{JsonPath(trail)}' is not a list of messages")
            return ChatRequest(messages=[Message(str(t.get("role", "user")), text_of(t.get("content"), "message"))
                                         for t in value])
        raise AssertionError("validated templates have a marker")  # pragma: no cover

    def encode_reply(self, reply: ChatReply, model: str = "") -> Any:
        """A document with the text at ``response_path``."""
        reply = self._expect(reply, ChatReply)
        return JsonPath(self.params.response_path).set(None, reply.text, create=True)

    def decode_reply(self, doc: Any, n: int | None = None) -> ChatReply:
        """The text at ``response_path`` (numbers and booleans as text)."""
        where = JsonPath(self.params.response_path)
        try:
            value = where.get(doc)
        except ProtocolError:
            raise self._not("reply", doc) if error_text(doc) else ProtocolError(f"reply has no '{where}'") from None
        if isinstance(value, (dict, list)) or value is None:
            raise ProtocolError(f"'{where}' in the reply is not text")
        return ChatReply(value if isinstance(value, str) else json.dumps(value))

    def encode_stream(self, reply: ChatReply, model: str = "") -> list[bytes]:
        """One JSON body: such APIs do not stream."""
        return [json.dumps(self.encode_reply(reply, model)).encode()]

    def encode_stream_end(self, decoder: StreamDecoder, text: str = "", reason: str = "content_filter",
                          model: str = "") -> list[bytes]:
        """Nothing to end: a JSON chat API does not stream (a :class:`ProtocolError`)."""
        raise ProtocolError("a JSON chat API does not stream")

    def stream_decoder(self, max_chars: int | None = None) -> StreamDecoder:
        """None to give: a JSON chat API does not stream (a :class:`ProtocolError`)."""
        raise ProtocolError("a JSON chat API does not stream; set 'stream: false'")


def _fill(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, str):
        return values.get(node, node)
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    return node


__all__ = ["MESSAGES", "PROMPT", "JsonChat", "JsonChatParams"]
