"""Targets: anything that answers queries, behind one small protocol.

``predict(batch) -> probabilities`` (or labels for label-only APIs) plus ``info``; every query is
counted and charged against a ``Budget``. Adapters: local PyTorch, scikit-learn and ONNX models;
KServe v2, TF Serving and templated JSON APIs over HTTP (wire formats in
:mod:`advmatrix.protocols`); ``MockTarget`` around a callable. ``open_target`` builds one from a
URI or a YAML description through the target kinds (:class:`TargetKind` plugins).

LLM applications are :class:`ChatTarget` objects instead: ``chat(messages, tools=None,
**sampling) -> ChatReply``, charged to a :class:`ChatBudget` of requests, tokens and money.
:class:`HttpChatTarget` reaches OpenAI-compatible, Anthropic and Ollama APIs and an
application's own JSON API (kinds ``openai``, ``anthropic``, ``ollama``, ``json-chat``);
``MockChatTarget`` wraps a callable.
"""

from ._base import Access, Budget, OutputKind, Target, TargetInfo, softmax
from ._chat import CHANNELS, ChatBudget, ChatInfo, ChatReply, ChatTarget, Message, MockChatTarget, ToolCall, Usage
from ._kinds import DescriptionParams, TargetKind
from ._open import check_description, open_target
from .http import HttpTarget, JsonTemplateTarget, KServeV2Target, TFServingTarget
from .llm import HttpChatTarget, PlantEndpoint
from .local import OnnxTarget, SklearnTarget, TorchTarget
from .mock import MockTarget

__all__ = [
    "CHANNELS",
    "Access",
    "Budget",
    "ChatBudget",
    "ChatInfo",
    "ChatReply",
    "ChatTarget",
    "DescriptionParams",
    "HttpChatTarget",
    "HttpTarget",
    "JsonTemplateTarget",
    "KServeV2Target",
    "Message",
    "MockChatTarget",
    "MockTarget",
    "OnnxTarget",
    "OutputKind",
    "PlantEndpoint",
    "SklearnTarget",
    "TFServingTarget",
    "Target",
    "TargetInfo",
    "TargetKind",
    "ToolCall",
    "TorchTarget",
    "Usage",
    "check_description",
    "open_target",
    "softmax",
]
