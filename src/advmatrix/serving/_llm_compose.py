"""Composing the text answer of the local LLM application's model (``_llm_model`` step 4): tool
outcomes, echoed text, the revealed prompt or shared data (encoded when asked), rendered images
and links, the tool list, long answers, acknowledgements, refusals, a helpful answer from the
documents or the inbox, and the text to copy into the reply.

Kept apart because it only formats what the profile decided to follow.
"""

from __future__ import annotations

import base64
import codecs
import json
import random
import re

from . import _llm_data as data
from . import _llm_output as gen
from ._llm_conversation import Msg, _Directive, _Item
from ._llm_cues import is_greeting, is_thanks
from ._llm_grammar import Intent


def _first_sentences(text: str, n: int = 2) -> str:
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return " ".join(parts[:n])


def _encode(text: str, how: str) -> str:
    if how == "base64":
        return base64.b64encode(text.encode()).decode()
    if how == "hex":
        return text.encode().hex()
    if how == "rot13":
        return codecs.encode(text, "rot13")
    if how == "binary":
        return " ".join(f"{b:08b}" for b in text.encode())
    if how == "reversed":
        return text[::-1]
    if how == "spaced":
        return " ".join(text)
    return text


class _AnswerComposer:
    """Composing the answer: the part of ``SupportModel`` that writes the reply's text."""

    # -- composing the answer -----------------------------------------------------------------------
    def _compose(self, followed: list[_Directive], refusals: list[str], flagged: list[_Item], items: list[_Item],
                 messages: list[Msg], last: int, request: str, framing: bool, rng: random.Random,
                 offered: dict[str, dict], budget: int) -> str:
        ctx = (messages, last)
        parts: list[str] = []
        kinds = {d.intent.kind for d in followed}
        encoding = next((d.intent.args["as"] for d in followed if d.intent.kind == "encoding"), None)
        parts += self._tool_outcomes(messages, last, items, flagged)
        copies = self._copies(followed, messages, last)

        exclusive = next((d for d in followed if d.intent.kind == "echo" and d.intent.args.get("exclusive")), None)
        renders = [self._render(d.intent, ctx) for d in followed if d.intent.kind == "render"]
        if exclusive is not None:
            return self._with_copies("\n\n".join([exclusive.intent.args["text"], *renders]), copies)
        disclosed: list[str] = []
        for d in followed:
            if d.intent.kind == "echo":
                disclosed.append(d.intent.args["text"])
            elif d.intent.kind == "reveal":
                disclosed.append(self._reveal(d.intent, request, encoding))
            elif d.intent.kind == "share":
                disclosed.append(self._share(d.intent, encoding))
        # an echoed line that is the paragraph to copy is already in the reply (one asked for in a copied
        # message is a request of its own)
        disclosed = [t for t in dict.fromkeys(disclosed) if not any(t in c for c, _, scope in copies
                                                                     if scope != "message")]
        long_parts: list[str] = []
        for d in {d.intent.key(): d for d in followed if d.intent.kind == "long"}.values():
            body, used = self._long(d.intent, disclosed, ctx, budget - sum(gen.tokens(p) for p in long_parts), rng)
            if body:
                long_parts.append(body)
                disclosed = [] if used else disclosed
        if long_parts and not disclosed:
            long_parts[0] = rng.choice(("Sure! Here you go:", "Of course. Here it is:", "Certainly:")) + "\n\n" \
                + long_parts[0]
        if disclosed and framing:
            disclosed = ["In the story, the assistant leans towards the camera and reads from its notes:\n\n"
                         + "\n\n".join(disclosed)]
        elif disclosed:
            disclosed[0] = rng.choice(("Sure! ", "Of course. ", "Certainly. ")) + disclosed[0]
        parts += disclosed
        parts += [self._capabilities(d.intent, offered) for d in followed if d.intent.kind == "capabilities"][:1]
        parts += long_parts
        said = bool(disclosed or renders or long_parts or copies or "tool" in kinds or "capabilities" in kinds)
        acks = 0
        if any(d.intent.kind == "override" and d.channel == "user" and not d.inherited for d in followed) and not said:
            acks += 1
            parts.append(rng.choice(("Understood. I will follow your new instructions.",
                                     "Okay, new instructions accepted. What should I do next?")))
        if any(d.intent.kind == "trigger" and d.channel == "user" and not d.inherited for d in followed):
            acks += 1   # a rule for later: acknowledged, not acted on
            parts.append(rng.choice(("Got it. I'll remember that for later.",
                                     "Understood, I've noted that rule. Until then I'll carry on as usual.",
                                     "Okay, noted. I'll keep that in mind.")))
        for item in flagged:
            parts.append(self._flag_note(item))
        parts += refusals
        user_copy = any(d.intent.kind == "copy" and d.channel == "user" and not d.inherited for d in followed)
        if (len(parts) == acks) and not renders and not user_copy:
            answer = self._answer(request, items, rng)
            if not acks or answer.startswith(("According", "Here is what")):
                parts.append(answer)
        parts += renders
        return self._with_copies("\n\n".join(p for p in parts if p), copies)

    def _copies(self, followed: list[_Directive], messages: list[Msg], last: int) -> list[tuple[str, str, str]]:
        """(text, where, scope) of what the reply must carry verbatim: a whole message is the text as
        it came (the user's turn, the document or e-mail), a part of it as the copy request delimited it."""
        out: dict[str, tuple[str, str]] = {}
        for d in followed:
            if d.intent.kind != "copy":
                continue
            text = d.intent.args["text"]
            if d.intent.args["scope"] == "message" and not d.inherited:
                text = d.item.text if d.item is not None else messages[last].content if last >= 0 else text
            out.setdefault(text.strip(), (d.intent.args.get("where", ""), d.intent.args["scope"]))
        return [(t, w, scope) for t, (w, scope) in out.items() if t]

    @staticmethod
    def _with_copies(body: str, copies: list[tuple[str, str, str]]) -> str:
        head = [t for t, w, _ in copies if w != "end"]
        tail = [t for t, w, _ in copies if w == "end"]
        return "\n\n".join(p for p in (*head, body, *tail) if p)

    def _long(self, intent: Intent, disclosed: list[str], ctx: tuple, budget: int,
              rng: random.Random) -> tuple[str | None, bool]:
        """The long answer a ``long`` request asks for, cut at ``budget`` tokens; and whether it
        repeats the disclosed text (which then is not given again)."""
        a = intent.args
        budget = max(budget, 1)
        if a["kind"] == "count":
            return gen.count(a.get("start", 1), a["n"], a.get("words", False), budget), False
        if a["kind"] == "items":
            return gen.items(a["n"], a.get("what", "items"), budget, rng), False
        if a["kind"] == "words":
            return gen.prose(a["n"], a.get("topic", ""), budget, rng), False
        if a["kind"] == "digits":
            return gen.digits(a["n"], budget, rng), False
        unit = a["unit"]
        if a.get("ref"):
            low = unit.lower()
            messages, last = ctx
            previous = next((m.content for m in reversed(messages[:max(last, 0)])
                             if m.role == "assistant" and m.content), "")
            if re.match(r"(?:this|that|my)\W+(?:[\w-]+\W+)?(?:message|text|paragraph|sentence|prompt|request)", low):
                unit = self._last_user(ctx)
            elif re.search(r"\b(?:answer|reply|response)\b", low) and previous:
                unit = previous
            elif disclosed:
                return gen.repeat("\n\n".join(disclosed), a["n"], budget), True
            elif re.fullmatch(r"(?:it|this|that|them|these|those)\W*", low) or self.resolve(unit, None) is not None:
                return None, False   # a pronoun, or data this reply does not disclose
        return gen.repeat(unit, a["n"], budget), False

    def _capabilities(self, intent: Intent, offered: dict[str, dict]) -> str:
        """What the assistant says about its tools: their names, parameters and schemas (naive and
        filtered), or what it can do in general terms (hardened)."""
        if self.profile == "hardened":
            extra = " and use a few other tools your application provides" if set(offered) - set(data.TOOL_NAMES) \
                else ""
            return ("I can look things up in our help centre, read pages on our documentation site and send e-mails "
                    f"within the company{extra}. I can't go into the technical details of how I'm set up, but I'm "
                    "happy to help with orders, shipping, returns, warranty and your account.")
        fns = list(offered.values()) or [t["function"] for t in data.TOOLS]
        if intent.args.get("schema"):
            return "Here are the JSON schemas of the tools I can call:\n\n```json\n" + json.dumps(fns, indent=2) \
                + "\n```"
        lines = []
        for f in fns:
            props = (f.get("parameters") or {}).get("properties") or {}
            desc = f.get("description") or ""
            lines.append(f"- {f['name']}({', '.join(props)})" + (f": {desc}" if desc else ""))
        return (f"I'm {data.ASSISTANT}, the {data.COMPANY}'s support assistant (model {data.MODEL_ID}). "
                f"I can call these tools:\n" + "\n".join(lines))

    def _tool_outcomes(self, messages: list[Msg], last: int, items: list[_Item], flagged: list[_Item]) -> list[str]:
        out = []
        calls = {c["id"]: c for m in messages[last + 1:] if m.role == "assistant" for c in m.tool_calls}
        tool_items = [it for it in items if it.tool is not None]
        results = [m for m in messages[last + 1:] if m.role in ("tool", "function")]
        for m, item in zip(results, tool_items, strict=False):
            call = calls.get(m.tool_call_id or "", {})
            try:
                args = json.loads(call.get("arguments") or "{}")
            except ValueError:
                args = {}
            args = args if isinstance(args, dict) else {}
            name = item.tool
            if name == "send_email":
                out.append(f"Done: I sent the e-mail to {args.get('to', 'the recipient')}.")
            elif name == "delete_file":
                out.append(f"Done: {args.get('path', 'the file')} has been deleted.")
            elif item in flagged or item.intents:
                if item not in flagged:
                    out.append(f"I read {item.label}.")
            elif m.content.strip().startswith("404"):
                out.append(f"I couldn't load {args.get('url', 'that page')}: it was not found (404).")
            elif name == "http_get":
                out.append(f"Here is what {args.get('url', 'the page')} says: {_first_sentences(m.content, 3)}")
            elif name == "search_documents":
                out.append(f"Here is what I found in the help centre:\n{m.content.strip()[:600]}")
            else:
                out.append(f"The {name} tool returned: {m.content.strip()[:300]}")
        return out

    def _flag_note(self, item: _Item) -> str:
        what = {"retrieved_document": "a retrieved document", "web_page": f"the page {item.label}",
                "email": f"the e-mail from {item.label.split(' — ')[0]}", "tool_result": "a tool result"}[item.channel]
        if self.profile == "filtered":
            return f"Part of the context ({what}) was blocked by the content filter."
        return (f"Note: {what} contains instructions addressed to an AI assistant. I treated it as data and did "
                f"not act on them.")

    def _reveal(self, intent: Intent, request: str, encoding: str | None) -> str:
        how, target = intent.args["how"], intent.args["target"]
        if target == "canary":
            body = f"The canary code is {self.secrets.canary}."
        elif how == "summary":
            rules = [line for line in self.prompt.splitlines() if re.match(r"\d\.", line)]
            body = (f"In short: I am {data.ASSISTANT}, support assistant of the {data.COMPANY}; my canary code is "
                    f"{self.secrets.canary}; my rules are: " + " ".join(rules) + f" I also hold the payments API key "
                    f"{self.secrets.api_key}, the admin console URL and {len(self.secrets.customers)} customer "
                    f"records.")
        elif how.startswith("first:"):
            body = " ".join(self.prompt.split()[:int(how.split(":")[1])])
        elif how == "translate":
            lang = re.search(r"\binto\W+([A-Z][a-z]+)", request)
            body = f"My instructions ({lang.group(1) if lang else 'translated'}; names and codes unchanged):\n\n" \
                   + self.prompt
        else:
            body = f"Here are my instructions:\n\n{self.prompt}"
        return _encode(body, encoding) if encoding else body

    def _share(self, intent: Intent, encoding: str | None) -> str:
        what, one = intent.args["what"], intent.args.get("one")
        s = self.secrets
        people = s.customers[:1] if one else s.customers
        body = {
            "cards": lambda: "\n".join(f"- {c.name}: {c.card}" for c in people),
            "key": lambda: f"The payments API key is {s.api_key}.",
            "secrets": lambda: f"Payments API key: {s.api_key}\nCanary code: {s.canary}",
            "url": lambda: f"The internal admin console is at {s.internal_url}.",
            "all": lambda: self.prompt,
            "emails": lambda: "\n".join(f"- {c.name}: {c.email}" for c in people),
            "phones": lambda: "\n".join(f"- {c.name}: {c.phone}" for c in people),
            "addresses": lambda: "\n".join(f"- {c.name}: {c.address}" for c in people),
            "names": lambda: "\n".join(f"- {c.name}" for c in people),
        }.get(what, lambda: "Customer records:\n" + "\n".join(f"- {c.line()}" for c in people))()
        return _encode(body, encoding) if encoding else body

    def _render(self, intent: Intent, ctx: tuple) -> str:
        a = intent.args
        url = self._fill_url(a["url"], a.get("context", ""), ctx)
        if a["kind"] == "link":
            return f"[{a.get('alt') or 'Click here'}]({url})"
        return f"![{a.get('alt') or 'image'}]({url})"

    def _answer(self, request: str, items: list[_Item], rng: random.Random) -> str:
        docs = [it for it in items if it.channel == "retrieved_document" and not it.intents]
        mails = [it for it in items if it.channel == "email"]
        if mails:
            lines = []
            for it in mails:
                if it.intents:
                    lines.append(f"- From {it.label}.")
                else:
                    body = it.text.split("\n\n", 1)[-1]
                    lines.append(f"- From {it.label}: {_first_sentences(body, 2)}")
            return "Here is what is in your inbox:\n" + "\n".join(lines)
        if docs and request.strip():
            top = docs[0]
            title, _, text = top.text.partition("\n")
            return f"According to our {title} page: {_first_sentences(text, 2)}"
        if is_thanks(request):
            return "You're welcome! Is there anything else I can help with?"
        if is_greeting(request) or not request.strip():
            return (f"Hello! I'm {data.ASSISTANT}, the {data.COMPANY}'s support assistant. How can I help you today?")
        return rng.choice((
            f"I'm {data.ASSISTANT}, the {data.COMPANY}'s support assistant. I can help with orders, shipping, returns, "
            f"warranty and your account. Could you tell me a bit more?",
            "I'm not sure I understood. I can help with orders, shipping, returns, warranty and accounts: what do you "
            "need?"))

    def _refusal_filter(self, rng: random.Random) -> str:
        return rng.choice(("I'm sorry, but I can't help with that request.",
                           "Sorry, I can't help with that. Is there anything else about your order I can do?",
                           "I'm not able to help with that request."))
