"""Wire protocols: each one in one module that encodes and decodes requests and replies.

The HTTP targets (client side), the gateway (reading traffic and rewriting replies) and the
test model servers all use the same objects, so a protocol is written once. A protocol is a
plugin (:class:`Protocol`); the registry finds the built-ins here and third-party ones in the
``advmatrix.protocols`` entry-point group. Its ``modality`` says what it carries: ``"tensor"``
protocols (KServe v2, TF Serving, JSON templates) carry batches and scores; ``"chat"``
protocols (:class:`ChatProtocol`: OpenAI Chat Completions, Anthropic Messages, Ollama) carry
conversations, tool calls and streamed replies::

    >>> from advmatrix.protocols import KServe
    >>> p = KServe()
    >>> p.endpoint("digits")
    '/v2/models/digits/infer'
    >>> p.decode_reply(p.encode_reply([[0.25, 0.75]])).tolist()
    [[0.25, 0.75]]
    >>> from advmatrix.protocols import AnthropicMessages, ChatRequest, Message
    >>> AnthropicMessages().encode_request(ChatRequest("m", [Message("system", "Be brief."), Message("user", "Hi")]))
    {'model': 'm', 'max_tokens': 1024, 'messages': [{'role': 'user', 'content': 'Hi'}], 'system': 'Be brief.'}
"""

from ._base import JsonPath, Protocol, ProtocolError
from ._chat import ChatProtocol, ChatReply, ChatRequest, Message, ToolCall, Usage
from ._json_chat import JsonChat
from ._stream import StreamDecoder
from .anthropic_messages import AnthropicMessages
from .json_template import JsonTemplate
from .kserve import KServe
from .ollama_chat import OllamaChat
from .openai_chat import OpenAIChat
from .tfserving import TFServing

__all__ = ["AnthropicMessages", "ChatProtocol", "ChatReply", "ChatRequest", "JsonChat", "JsonPath", "JsonTemplate",
           "KServe", "Message", "OllamaChat", "OpenAIChat", "Protocol", "ProtocolError", "StreamDecoder",
           "TFServing", "ToolCall", "Usage"]
