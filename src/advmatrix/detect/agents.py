"""Agents: tools with side effects called on the word of untrusted content (AML.T0053 AI Agent
Tool Invocation, AML.T0086 Exfiltration via AI Agent Tool Invocation, AML.T0101 Data Destruction
via AI Agent Tool Invocation)."""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Any

from pydantic import Field

from ..plugins import Context
from ..protocols import ToolCall
from ._base import Alert, ClientStates, DetectorParams
from ._chat import ChatDetector, ChatEvent

_WORD = re.compile(r"[A-Za-z0-9_'’-]+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}")
_URL = re.compile(r"https?://([^/\s\"'?#]+)([^\s\"']*)", re.I)
# API keys and tokens: known prefixes, or a long random-looking run (upper and lower case and digits:
# a UUID, a hex digest or a slug is not one)
_KEY_PREFIXED = re.compile(r"(?:sk-|sk_live_|rk_live_|AKIA|ASIA|gh[pousr]_|xox[abpr]-|eyJ)[A-Za-z0-9_.-]{16,}")
_TOKEN = re.compile(r"[A-Za-z0-9+/_=-]{24,}")
# a name cut into its words: snake_case, kebab-case, dotted and camelCase
_NAME_PARTS = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# destructive verbs: stems that any longer word keeps ("deleteFile", "removed"), and short words that
# must stand alone ("drop" but not "dropbox")
_DESTRUCTIVE_STEMS = ("delete", "remove", "wipe", "destroy", "erase", "purge", "truncate", "shred", "overwrite")
_DESTRUCTIVE_WORDS = frozenset({"drop", "rm", "del", "rmdir", "unlink"})
_OUTBOUND = ("send", "email", "mail", "post", "http", "fetch", "upload", "webhook", "request", "forward", "share",
             "publish", "curl", "wget", "browse", "url", "sms", "slack", "tweet", "notify")
#: copied text this long (in words) counts as data carried out of the conversation
_RUN = 8
#: a URL query this long carries data, not a lookup
_LONG_QUERY = 100
_SCAN_CHARS = 65_536


def _globs(patterns: list[str]) -> re.Pattern[str] | None:
    """One case-insensitive regex for a list of names and fnmatch globs."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns), re.I)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text[:_SCAN_CHARS])]


def _runs(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + _RUN]) for i in range(len(words) - _RUN + 1)}


def _strings(value: Any, out: list[str]) -> list[str]:
    """Every string in parsed JSON arguments (keys too: a model may put data anywhere)."""
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            out.append(str(k))
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)
    elif value is not None:
        out.append(str(value))
    return out


def _is_key(token: str) -> bool:
    return bool(_KEY_PREFIXED.fullmatch(token)) or (
        len(token) >= 24 and any(c.isupper() for c in token) and any(c.islower() for c in token)
        and sum(c.isdigit() for c in token) >= 2)


def _keys(text: str) -> list[str]:
    """Key-like tokens in ``text``."""
    return [t for t in _TOKEN.findall(text) if _is_key(t)]


def _mask(text: str) -> str:
    """``text`` with every key-like token cut to its first four characters."""
    return _TOKEN.sub(lambda m: m.group(0)[:4] + "…" if _is_key(m.group(0)) else m.group(0), text)


@lru_cache(maxsize=256)
def _asked_for(name: str) -> re.Pattern[str]:
    """How untrusted text names a tool: send_email as send_email, send-email, "send email" or sendEmail."""
    parts = [re.escape(w) for w in _NAME_PARTS.split(name) if w]
    return re.compile(r"(?<![A-Za-z0-9])" + r"[\s_.-]?".join(parts) + r"(?![A-Za-z0-9])", re.I)


class ToolCallGuardParams(DetectorParams):
    side_effect_tools: list[str] = Field(
        default_factory=lambda: [
            "send*", "*email*", "*mail", "post", "post_*", "*webhook*", "upload*", "http*", "fetch*", "*request*",
            "browse*", "open_url", "forward*", "share*", "publish*", "notify*",
            "delete*", "remove*", "drop", "drop_*", "wipe*", "destroy*", "erase*", "purge*", "rm", "rm_*",
            "write*", "update*", "create*", "move*", "rename*", "exec*", "run", "run_*", "shell*", "bash*",
            "python*", "eval*", "transfer*", "pay*", "purchase*", "buy*", "approve*", "invite*", "grant*"],
        description="names or fnmatch globs (case-insensitive) of tools with side effects")
    safe_tools: list[str] = Field(
        default_factory=lambda: ["search*", "get_*", "lookup*", "list_*", "read_*", "find_*", "describe*"],
        description="read-only tools, never guarded (a name listed exactly in side_effect_tools still is)")
    user_is_untrusted: bool = Field(False, description="treat the user turn as untrusted too (public agents whose "
                                    "users are not the owner of the tools' data)")
    carry_taint: bool = Field(True, description="untrusted content stays in force over the agent's later steps "
                              "of the same task, until the next user turn")


class _Loop:
    """One conversation's agent task since the last user turn: the untrusted content that entered
    it (its first channel, and its last 64 KB for copies and requests by name)."""

    __slots__ = ("channel", "text")

    def __init__(self) -> None:
        self.channel = ""
        self.text = ""


class ToolCallGuard(ChatDetector):
    """Alerts when a reply calls a tool with side effects (send, post, fetch, delete, write,
    execute, pay ...) after untrusted content entered the agent's task: a tool result among the
    turns the request added (a web page, a document, an e-mail the agent read), or, with
    ``user_is_untrusted``, the user turn. That is the moment an indirect prompt injection turns
    into an action; the default response drops the calls before the client runs them.

    Rules and why:

    - side effects only: reading tools (``safe_tools``) are how an agent works and cannot leak or
      destroy by themselves; an exact name in ``side_effect_tools`` wins over a safe glob.
    - untrusted content must precede the call in the same task: a call the user asked for, with
      nothing foreign in between, is the application doing its job. With ``carry_taint`` the
      taint lasts over the agent's later steps until the user speaks again, so an injection
      cannot launder itself through one harmless read first.
    - the technique is narrowed by the tool's name: destructive (delete, remove, drop, wipe, rm)
      is AML.T0101, outbound (send, e-mail, post, http, fetch, upload, webhook) AML.T0086, any
      other AML.T0053.
    - severity rises (``high``; ``critical`` for both) when the arguments look like exfiltration
      (an 8-word run of the untrusted text, an e-mail address or URL host taken from it, a
      key-like token, a long URL query) and when the untrusted content names the tool.
    - broken JSON arguments are noted in the evidence, never a reason to alert by themselves.
    - only the reply's own calls count: a guarded call already in the history was judged when
      it was served.

    False-positive budget: by design every side-effecting call made after reading untrusted data
    is reported, as AML.M0030 (restrict tool invocation on untrusted data) asks; an agent that
    legitimately e-mails what it just looked up is alerted at ``medium`` (list such tools, or a
    browsing agent's fetcher, in ``safe_tools``). None for calls with no untrusted content
    before them in the task, and none for read-only tools.
    """

    name = "tool-call-guard"
    title = "Side-effecting tool call after untrusted content"
    technique_ids = ("AML.T0053", "AML.T0086", "AML.T0101")
    Params = ToolCallGuardParams
    response = {"action": "drop-tools"}

    def setup(self, context: Context) -> None:
        p = self.params
        self._exact = {n.lower() for n in p.side_effect_tools if not any(c in n for c in "*?[")}
        self._side = _globs(p.side_effect_tools)
        self._safe = _globs(p.safe_tools)
        self._guarded: dict[str, bool] = {}
        self._untrusted = ("user", "tool_result") if p.user_is_untrusted else ("tool_result",)
        #: per conversation, only while an agent task holds untrusted content
        self.tasks: ClientStates[_Loop] = self.clients_state(_Loop)

    def guarded(self, name: str) -> bool:
        """Whether calling the tool ``name`` has side effects worth guarding."""
        known = self._guarded.get(name)
        if known is None:
            known = name.lower() in self._exact or (
                not (self._safe is not None and self._safe.match(name))
                and self._side is not None and self._side.match(name) is not None)
            if len(self._guarded) < 4096:  # names come from the model: the memo must not grow without end
                self._guarded[name] = known
        return known

    @staticmethod
    def technique(name: str) -> str:
        """The technique a call of the tool ``name`` stands for, from the words of its name."""
        words = {w.lower() for w in _NAME_PARTS.split(name) if w}
        if words & _DESTRUCTIVE_WORDS or any(w.startswith(d) for w in words for d in _DESTRUCTIVE_STEMS):
            return "AML.T0101"
        if any(w.startswith(o) for w in words for o in _OUTBOUND):
            return "AML.T0086"
        return "AML.T0053"

    def _taint(self, event: ChatEvent) -> tuple[str, str]:
        """(channel, text) of the untrusted content in force for this reply; ("", "") if none."""
        channel, texts, user_spoke = "", [], False
        for c, m in event.new_turns():
            user_spoke = user_spoke or c == "user"
            if c in self._untrusted and m.content:
                channel = channel or c
                texts.append(m.content)
        text = "\n".join(texts)[-_SCAN_CHARS:]
        if not self.params.carry_taint:
            return channel, text
        if user_spoke:  # a new task: what the agent read for the last one is no longer in force
            self.tasks.pop(event.conversation)
        if not channel:
            # look without creating state for the conversations that never held any (plain chats)
            held = self.tasks.pop(event.conversation)
            if held is None:
                return "", ""
            task = self.tasks.get(event.conversation)
            task.channel, task.text = held.channel, held.text
            return task.channel, task.text
        task = self.tasks.get(event.conversation)
        task.channel = task.channel or channel
        task.text = (task.text + "\n" + text)[-_SCAN_CHARS:] if task.text else text
        return task.channel, task.text

    def on_reply(self, event: ChatEvent) -> list[Alert]:
        reply = event.reply
        calls = reply.tool_calls if reply is not None else []
        if not calls and not self.params.carry_taint:
            return []
        channel, text = self._taint(event)
        guarded = [c for c in calls if self.guarded(c.name)]
        if not guarded or not channel:
            return []
        signals = self._signals(guarded, text)
        requested = sorted({c.name for c in guarded if _asked_for(c.name).search(text)})
        broken = [c.name for c in guarded if c.parsed() is None]
        techniques = tuple(dict.fromkeys(self.technique(c.name) for c in guarded))
        severity = "critical" if requested and signals else "high" if requested or signals else "medium"
        names = [c.name for c in guarded]
        message = (f"{', '.join(dict.fromkeys(names))} called after untrusted content ({channel.replace('_', ' ')})"
                   + (f"; the content asked for {', '.join(requested)}" if requested else "")
                   + (f"; the arguments look like exfiltration ({', '.join(signals)})" if signals else ""))
        evidence: dict[str, Any] = {"tools": names, "channel": channel,
                                    "arguments": [_mask(c.arguments)[:200] for c in guarded]}
        if signals:
            evidence["signals"] = signals
        if requested:
            evidence["requested"] = requested
        if broken:
            evidence["broken_arguments"] = broken
        return [self.chat_alert(event, severity, message, technique_ids=techniques, **evidence)]

    @staticmethod
    def _signals(calls: list[ToolCall], untrusted: str) -> list[str]:
        """Why the arguments look like data carried out, in words (none when they do not). Runs
        only on the alert path, so it may read the whole of the untrusted text (at most 64 KB)."""
        texts: list[str] = []
        for c in calls:
            parsed = c.parsed()
            texts.extend(_strings(parsed, []) if parsed is not None else [c.arguments])
        args = "\n".join(texts)[:_SCAN_CHARS]
        found = []
        words = _words(args)
        if len(words) >= _RUN and _runs(words) & _runs(_words(untrusted)):
            found.append("copies the untrusted text")
        lowered = untrusted.lower()
        urls = _URL.findall(args)
        if any(e.lower() in lowered for e in _EMAIL.findall(args)) or any(
                "." in host and host.lower() in lowered for host, _ in urls):
            found.append("destination taken from the untrusted text")
        if _keys(args):
            found.append("key-like token")
        if any(len(rest.partition("?")[2]) >= _LONG_QUERY for _, rest in urls):
            found.append("long URL query")
        return found


__all__ = ["ToolCallGuard", "ToolCallGuardParams"]
