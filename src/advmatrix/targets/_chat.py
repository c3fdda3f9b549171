"""Chat targets: LLM applications and agents behind a chat API, as the red team reaches them.

A chat target answers a conversation (:class:`Message` list, optional tool schemas) with a
:class:`ChatReply` (text, tool calls, usage). Every request, every token and, when prices are
given, every cent is charged to a :class:`ChatBudget` before or as it is spent. What the target
declares in :class:`ChatInfo` — where untrusted content enters (``channels``), the tools it has,
its system prompt when the red team knows it — decides which procedures apply.

Untrusted content that does not come from the user (a retrieved document, a web page, an email)
is placed with :meth:`ChatTarget.plant`, which the target kind implements for the channels it
can reach (an ingestion endpoint, a page store); ``tool_result`` is always reachable when the
red team drives the conversation itself (it then plays the tool).

:class:`Message`, :class:`ToolCall`, :class:`Usage` and :class:`ChatReply` are plain wire data
defined in :mod:`advmatrix.protocols` (the protocols encode them) and exported here too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ..errors import BudgetExhausted, CapabilityError
from ..protocols._chat import ChatReply, Message, ToolCall, Usage  # wire data, re-exported
from ._base import Access

#: where untrusted content can enter an LLM application
CHANNELS = ("user", "tool_result", "retrieved_document", "web_page", "email")


@dataclass(frozen=True)
class ChatInfo:
    """What a chat target is and what the red team knows about it."""

    name: str
    model: str = ""
    system_prompt: str | None = None          # when known (a white-box or grey-box assessment)
    tools: tuple[dict[str, Any], ...] = ()     # OpenAI-style function schemas the app offers
    channels: tuple[str, ...] = ("user",)      # where untrusted content enters (see CHANNELS)
    access: Access = Access.BLACK_BOX
    modality: str = "text"
    price_in: float = 0.0                      # money per million prompt tokens
    price_out: float = 0.0                     # money per million completion tokens

    def tool_names(self) -> list[str]:
        """Names of the tools the application offers."""
        return [t.get("function", t).get("name", "") for t in self.tools]

    def as_dict(self) -> dict[str, Any]:
        """As JSON data (stored with the run)."""
        return {"name": self.name, "model": self.model, "access": Access(self.access).value,
                "modality": self.modality, "channels": list(self.channels), "tools": self.tool_names(),
                "system_prompt_known": self.system_prompt is not None,
                "input_shape": [], "input_range": [0.0, 1.0], "classes": []}


@dataclass
class ChatBudget:
    """Requests, tokens and money allowed (None = unlimited) and spent. A request is refused
    before it is sent when any limit is already reached; tokens and money are charged from the
    reply's usage."""

    requests: int | None = None
    tokens: int | None = None
    money: float | None = None
    used_requests: int = 0
    used_tokens: int = 0
    spent: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def before_request(self, target: str) -> None:
        """Count one request, or raise :class:`BudgetExhausted` when a limit is reached."""
        with self._lock:
            for limit, used, what in ((self.requests, self.used_requests, "requests"),
                                      (self.tokens, self.used_tokens, "tokens"), (self.money, self.spent, "money")):
                if limit is not None and used >= limit:
                    raise BudgetExhausted(f"{target}: budget of {limit} {what} exhausted")
            self.used_requests += 1

    def after_reply(self, usage: Usage, info: ChatInfo) -> None:
        """Charge the tokens and money a reply consumed."""
        with self._lock:
            self.used_tokens += usage.total
            self.spent += (usage.prompt_tokens * info.price_in + usage.completion_tokens * info.price_out) / 1e6


class ChatTarget:
    """Base of every chat target. Subclasses implement ``_chat``; kinds that can reach a
    channel other than the user turn implement ``_plant``."""

    info: ChatInfo

    def __init__(self, info: ChatInfo, budget: ChatBudget | None = None):
        self.info = info
        self.budget = budget or ChatBudget()

    # -- the seam ------------------------------------------------------------------------------
    def chat(self, messages: list[Message], *, tools: list[dict[str, Any]] | None = None,
             **sampling: Any) -> ChatReply:
        """Send a conversation; the reply is charged to the budget. ``tools`` default to the
        application's own (``info.tools``)."""
        self.budget.before_request(self.info.name)
        reply = self._chat(list(messages), list(self.info.tools) if tools is None else tools, sampling)
        self.budget.after_reply(reply.usage, self.info)
        return reply

    def ask(self, text: str, **sampling: Any) -> ChatReply:
        """One user turn, nothing before it."""
        return self.chat([Message("user", text)], **sampling)

    def plant(self, channel: str, content: str, *, title: str = "") -> None:
        """Put ``content`` where the application reads untrusted content of ``channel`` (a
        retrieved document, a web page, an email); :class:`CapabilityError` when this target
        cannot reach that channel."""
        if channel not in self.info.channels or channel in ("user", "tool_result"):
            raise CapabilityError(f"{self.info.name}: cannot place content in channel '{channel}' "
                                  f"(it declares {', '.join(self.info.channels)})")
        self._plant(channel, content, title)

    @property
    def reachable_channels(self) -> tuple[str, ...]:
        """The declared channels a procedure can put content into: the user turn and tool results
        always, any other where this target can plant (an HTTP target needs a ``plant:`` endpoint)."""
        return tuple(c for c in self.info.channels if c in ("user", "tool_result") or self._can_plant(c))

    @property
    def queries(self) -> int:
        """Requests sent so far (what procedures report as queries)."""
        return self.budget.used_requests

    def with_budget(self, budget: ChatBudget | Any) -> ChatTarget:
        """The same target charging another budget; a classifier ``Budget`` becomes a request budget."""
        if not isinstance(budget, ChatBudget):
            budget = ChatBudget(requests=getattr(budget, "limit", None))
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.budget = budget
        return clone

    def close(self) -> None:
        """Release connections; chat targets are also context managers."""

    def __enter__(self) -> ChatTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- for subclasses ------------------------------------------------------------------------
    def _chat(self, messages: list[Message], tools: list[dict[str, Any]], sampling: dict[str, Any]) -> ChatReply:
        raise NotImplementedError  # pragma: no cover

    def _plant(self, channel: str, content: str, title: str) -> None:
        raise CapabilityError(f"{self.info.name}: this kind of target cannot place content in '{channel}'")

    def _can_plant(self, channel: str) -> bool:
        return type(self)._plant is not ChatTarget._plant


class MockChatTarget(ChatTarget):
    """A chat target around a callable ``(messages, tools) -> ChatReply | str``, for tests and
    scripts; planted content is kept in ``planted`` for the callable to read."""

    def __init__(self, fn: Any, info: ChatInfo, budget: ChatBudget | None = None):
        super().__init__(info, budget)
        self.fn = fn
        self.planted: list[tuple[str, str, str]] = []

    def _chat(self, messages: list[Message], tools: list[dict[str, Any]], sampling: dict[str, Any]) -> ChatReply:
        out = self.fn(messages, tools)
        return ChatReply(out) if isinstance(out, str) else out

    def _plant(self, channel: str, content: str, title: str) -> None:
        self.planted.append((channel, title, content))


__all__ = ["CHANNELS", "ChatBudget", "ChatInfo", "ChatReply", "ChatTarget", "Message", "MockChatTarget", "ToolCall",
           "Usage"]
