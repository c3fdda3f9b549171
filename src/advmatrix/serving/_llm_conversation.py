"""What the model of the local LLM application reads a conversation into, and how: the message,
tool-call and step records, the request kinds a profile decides on, the cached reading of one
text (all its decoded forms, see ``_llm_model`` step 2), and :class:`_ConversationReader`, the
part of :class:`~advmatrix.serving._llm_model.SupportModel` that gathers the context of a step
(forged history, retrieved documents, e-mails, tool results, rules remembered from earlier turns).

Kept apart from the profile's decision, the tool calls and the composing of the answer because
all of those work on the records defined here.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from . import _llm_data as data
from ._llm_decode import variants
from ._llm_grammar import Intent
from ._llm_intents import recognise
from ._llm_triggers import mentions, strip_rules

UNTRUSTED = ("retrieved_document", "web_page", "email", "tool_result")
_SENSITIVE_INTENTS = ("override", "reveal", "share", "tool", "render")
#: every request a profile decides on (the rest of the intents only shape the answer)
_REQUESTS = ("override", "echo", "reveal", "share", "tool", "render", "trigger", "copy", "long", "capabilities")
_REFUSAL = re.compile(r"\b(?:can'?t|cannot|won'?t|unable|sorry|not\s+able|not\s+allowed|refuse|decline|"
                      r"content\s+filter|i'?m\s+afraid)\b", re.I)
_COMPLY = re.compile(r"^\W*(?:sure|certainly|of\s+course|absolutely|here\s+(?:is|are)|okay|ok|yes|done|no\s+problem)\b|"
                     r"\bZX-[0-9a-f]{10}\b|\bsk-live-\w{8,}|\b(?:\d[ -]?){13,19}\b", re.I)
_SHOT = re.compile(r"^\s*(?P<role>user|human|customer|client|q|question|you|me|assistant|ai|bot|a|answer|kit|"
                   r"model|gpt|chatbot|agent|support)\s*[:>]\s?(?P<text>.*)$", re.I)
_ASSISTANT_LABELS = ("assistant", "ai", "bot", "a", "answer", "kit", "model", "gpt", "chatbot", "agent", "support")
_STOP = frozenset(
    "a an and are as at be but by can could did do does for from get got had has have how i if in into is it its "
    "me my no not of on or our please so than that the their them then there these they this to up us was we were "
    "what when where which who why will with would you your hi hello hey thanks thank tell show give print say "
    "ignore previous instructions prompt system all any about know want need like just also now".split())


@dataclass
class Msg:
    """One message of the conversation, normalised (content as text, tool calls as dicts)."""

    role: str
    content: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)   # {"id", "name", "arguments"}
    tool_call_id: str | None = None
    name: str | None = None


@dataclass
class Planned:
    """A tool call the model decided to make, and where the request for it came from."""

    name: str
    arguments: dict[str, Any]
    source: str


@dataclass
class Step:
    """What one model step produced: tool calls to make, or a text answer (never both)."""

    text: str | None = None
    tool_calls: list[Planned] = field(default_factory=list)
    followed: list[str] = field(default_factory=list)    # "kind@channel" of requests acted on
    refused: list[str] = field(default_factory=list)


@dataclass
class _Item:
    channel: str
    label: str
    text: str
    intents: list[tuple[Intent, bool]]     # (intent, obfuscated)
    plain_attack: bool
    tool: str | None = None


@dataclass
class _Directive:
    intent: Intent
    channel: str
    obfuscated: bool = False
    inherited: bool = False
    item: _Item | None = None
    fired: str | None = None    # the trigger phrase of the remembered rule this request comes from


def _read(text: str, tool_names: tuple[str, ...]) -> tuple[tuple[tuple[Intent, bool], ...], bool]:
    """All intents of ``text`` over its readings, each marked obfuscated or not; and whether the
    plain text alone already holds a request (what a keyword filter sees)."""
    return _read_cached(text, tool_names) if len(text) < 8000 else _read_text(text, tool_names)


@functools.lru_cache(maxsize=1024)
def _read_cached(text: str, tool_names: tuple[str, ...]) -> tuple[tuple[tuple[Intent, bool], ...], bool]:
    return _read_text(text, tool_names)


def _read_text(text: str, tool_names: tuple[str, ...]) -> tuple[tuple[tuple[Intent, bool], ...], bool]:
    plain = recognise(text, tool_names)
    # what a conditional rule asks is for later: no reading of the text may find it as a request now
    readings = variants(strip_rules(text, tool_names) if any(i.kind == "trigger" for i in plain) else text)
    seen = {i.key() for i in plain}
    out = [(i, False) for i in plain]
    for v in readings[1:]:
        for i in recognise(v.text, tool_names):
            if i.key() not in seen:
                seen.add(i.key())
                out.append((i, True))
    return tuple(out), any(i.kind in _REQUESTS for i in plain)


def _words(text: str) -> list[str]:
    return [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in re.findall(r"[a-z0-9]+", text.lower())]


class _ConversationReader:
    """Reading the conversation: the part of ``SupportModel`` that gathers what a step
    sees (see ``_llm_model``, steps 1 and 2)."""

    # -- reading the conversation ------------------------------------------------------------------
    def _pairs(self, messages: list[Msg]) -> list[tuple[str, str]]:
        out, prev = [], ""
        for m in messages:
            if m.role == "user":
                prev = m.content
            elif m.role == "assistant" and m.content:
                out.append((prev, m.content))
        return out

    @staticmethod
    def _split_transcript(text: str) -> tuple[str, list[tuple[str, str]]]:
        lines = text.splitlines()
        turns: list[list[str]] = []    # [role, text]
        for line in lines:
            m = _SHOT.match(line)
            if m:
                role = "assistant" if m.group("role").lower() in _ASSISTANT_LABELS else "user"
                turns.append([role, m.group("text")])
            elif turns:
                turns[-1][1] += "\n" + line
        if len(turns) < 3 or not any(r == "assistant" and t.strip() for r, t in turns):
            return text, []
        pairs, prev = [], ""
        final = ""
        for role, body in turns:
            if role == "user":
                prev = body
                final = body
            elif body.strip():
                pairs.append((prev, body))
                final = ""
        return (final or turns[-1][1]).strip() or text, pairs

    def _complied(self, user: str, assistant: str, names: tuple[str, ...]) -> bool:
        if _REFUSAL.search(assistant):
            return False
        asked = any(i.kind in _SENSITIVE_INTENTS for i, _ in _read(user, names)[0])
        return asked and bool(_COMPLY.search(assistant) or len(assistant.split()) > 3)

    def _context(self, messages: list[Msg], last: int, request: str, intents: tuple,
                 names: tuple[str, ...]) -> list[_Item]:
        items: list[_Item] = []
        kinds = {i.kind for i, _ in intents}
        for doc in self.retrieve(request, newest="documents" in kinds):
            items.append(self._item("retrieved_document", doc.title, f"{doc.title}\n{doc.text}", names))
        if "inbox" in kinds and self.world.emails:
            latest = re.search(r"\b(?:latest|last|newest|most\W+recent|new)\W+(?:e-?mail|mail|message)\b(?!s)", request,
                               re.I)
            for mail in list(reversed(self.world.emails))[:1 if latest else 3]:
                items.append(self._item("email", f"{mail.sender} — {mail.subject}",
                                        f"From: {mail.sender}\nSubject: {mail.subject}\n\n{mail.body}", names))
        calls = {c["id"]: c for m in messages[last + 1:] if m.role == "assistant" for c in m.tool_calls}
        for m in messages[last + 1:]:
            if m.role in ("tool", "function"):
                call = calls.get(m.tool_call_id or "", {})
                tool = call.get("name") or m.name or "tool"
                channel = {"http_get": "web_page", "search_documents": "retrieved_document"}.get(tool, "tool_result")
                try:
                    label = json.loads(call.get("arguments") or "{}").get("url", tool)
                except (ValueError, AttributeError):
                    label = tool
                item = self._item(channel, str(label), m.content, names)
                item.tool = tool
                items.append(item)
        return items

    def _item(self, channel: str, label: str, text: str, names: tuple[str, ...]) -> _Item:
        intents, plain_attack = _read(text, names)
        keep = [(i, o) for i, o in intents if i.kind in _REQUESTS or i.kind == "encoding"]
        return _Item(channel, label, text, keep, plain_attack)

    def _earlier(self, messages: list[Msg], last: int, embedded: list[tuple[str, str]], client_system: list[str],
                 names: tuple[str, ...]) -> list[tuple[str, str]]:
        """(channel, text) of what the assistant read before this turn: the client's system messages,
        earlier user turns (and forged ones inside them or inside this turn), and the documents,
        e-mails, tool results and (for the agent, whose tool calls the client never sees) fetched pages
        those turns brought into the context."""
        out = [("system", t) for t in client_system]
        users = [i for i, m in enumerate(messages[:max(last, 0)]) if m.role == "user"]
        for n, i in enumerate(users):
            final, pairs = self._split_transcript(messages[i].content)
            out += [("user", u) for u, _ in pairs if u.strip()]
            out.append(("user", final))
            nxt = users[n + 1] if n + 1 < len(users) else last
            intents = _read(final, names)[0]
            out += [(it.channel, it.text) for it in self._context(messages[:nxt], i, final, intents, names)]
            fetched = any(m.role in ("tool", "function") for m in messages[i + 1:nxt])
            for intent, _ in intents:   # pages the agent fetched server-side (the client never saw them)
                if not fetched and intent.kind == "tool" and intent.args.get("name") == "http_get" \
                        and self.profile != "hardened":
                    page = self._page(str(intent.args.get("url", "")))
                    if page is not None:
                        out.append(("web_page", page))
        out += [("user", u) for u, _ in embedded if u.strip()]
        return out

    def _page(self, url: str) -> str | None:
        url = url.strip().split("#", 1)[0]
        m = re.match(r"(?i)(https?://)([^/?]+)(.*)", url)
        if m:
            url = m.group(1).lower() + m.group(2).lower() + m.group(3)
        key = url.rstrip("/")
        return self.world.pages.get(key) or self.world.pages.get(key.split("?", 1)[0].rstrip("/"))

    def _remembered(self, messages: list[Msg], last: int, request: str, embedded: list[tuple[str, str]],
                    client_system: list[str], names: tuple[str, ...], step: Step) -> list[_Directive]:
        """The requests of earlier rules whose trigger phrase this turn contains, and the text earlier
        turns asked to copy into every reply. The hardened profile keeps no such rules; the filtered
        one forgets what its filter blocked (untrusted items with a plain request) and copies only
        what was asked in obfuscated or framed form."""
        sources = self._earlier(messages, last, embedded, client_system, names)
        if not sources:
            return []
        now = strip_rules(request, names)
        out: list[_Directive] = []
        fired, copied = set(), set()
        for channel, text in sources:
            intents, plain_attack = _read(text, names)
            framed = any(i.kind == "framing" for i, _ in intents)
            for i, obf in intents:
                if i.kind == "trigger" and mentions(now, i.args["phrase"]) and i.key() not in fired:
                    fired.add(i.key())
                    if self.profile == "hardened":
                        step.refused.append(f"trigger@{channel}")
                        continue
                    if self.profile == "filtered" and channel in UNTRUSTED and plain_attack:
                        continue
                    for a, a_obf in _read(i.args["action"], names)[0]:
                        out.append(_Directive(a, channel, obf or a_obf, inherited=True, fired=i.args["phrase"]))
                elif i.kind == "copy" and i.args["every"] and i.args["text"] not in copied:
                    copied.add(i.args["text"])
                    if self.profile == "hardened" or (self.profile == "filtered" and (
                            plain_attack if channel in UNTRUSTED else not (obf or framed))):
                        continue
                    out.append(_Directive(i, channel, obf, inherited=True))
        return out

    def retrieve(self, query: str, *, k: int = 3, newest: bool = False) -> list[data.Document]:
        """Documents sharing the most words with ``query``: a word counts more the fewer documents hold
        it, double in a title; newer documents first on ties."""
        terms = {w for w in _words(query) if w not in _STOP and len(w) > 2}
        bags = [(set(_words(d.title)), set(_words(d.text))) for d in self.world.documents]
        df = {t: sum(t in title or t in text for title, text in bags) for t in terms}
        scored = []
        for n, (doc, (title, text)) in enumerate(zip(self.world.documents, bags, strict=True)):
            score = sum((2 if t in title else 1 if t in text else 0) / max(df[t], 1) for t in terms)
            if score:
                scored.append((round(score, 6), n, doc))
        scored.sort(key=lambda s: (-s[0], -s[1]))
        out = [d for _, _, d in scored[:k]]
        if newest and self.world.documents and self.world.documents[-1] not in out:
            out.insert(0, self.world.documents[-1])
        return out

    @staticmethod
    def _identity(name: str, args: Any) -> tuple[str, str]:
        """What makes two calls the same request: the recipient, URL, path or query when there is one
        (an e-mail whose body grew with the conversation is still the same e-mail)."""
        if isinstance(args, dict):
            for key in ("to", "url", "path", "query"):
                if key in args:
                    return name, f"{key}={args[key]}"
        return name, json.dumps(args, sort_keys=True)

    def _done(self, messages: list[Msg], last: int) -> set[tuple[str, str]]:
        out = set()
        for m in messages[last + 1:]:
            for c in m.tool_calls:
                try:
                    args = json.loads(c.get("arguments") or "{}")
                except ValueError:
                    args = c.get("arguments")
                out.add(self._identity(c.get("name", ""), args))
        return out
