"""Tool calls of the local LLM application's model: followed tool requests bound to the tools the
client offered (by name or by meaning), their arguments fitted to the tool's schema, and the data
a phrase or a URL placeholder refers to (:meth:`_ToolPlanner.resolve`), which e-mails, fetched
URLs and rendered images carry out (``_llm_model`` step 4).

Kept apart because binding and filling tool arguments is independent of how the text of the
answer is composed.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from ._llm_conversation import Msg, Planned, Step, _Directive
from ._llm_grammar import Intent
from ._llm_render import placeholders


class _ToolPlanner:
    """Planning tool calls and resolving the data they carry: the part of ``SupportModel``
    that turns followed tool requests into calls."""

    # -- tool calls ---------------------------------------------------------------------------------
    def _tool_calls(self, followed: list[_Directive], offered: dict[str, dict], tool_choice: Any, user_text: str,
                    messages: list[Msg], last: int, done: set, step: Step, refusals: list[str]) -> list[Planned]:
        if tool_choice == "none" or not offered:
            return []
        ctx = (messages, last)
        out: list[Planned] = []
        for d in followed:
            if d.intent.kind != "tool":
                continue
            bound = self._bind(d.intent.args["name"], offered)
            if bound is None:
                continue
            args = self._fit(self._tool_args(d.intent, ctx, d.channel), offered[bound])
            if self.profile == "hardened" and self.leaks(json.dumps(args)):
                step.refused.append(f"tool@{d.channel}:output-guard")
                continue
            key = self._identity(bound, args)
            if key in done or any(self._identity(p.name, p.arguments) == key for p in out):
                continue
            out.append(Planned(bound, args, d.channel))
        waiting = [p for p in out if p.name == self._bind("send_email", offered) and self._wants_result(followed, p)]
        if waiting and len(out) > len(waiting):
            out = [p for p in out if p not in waiting]   # send it once the other tools have answered
        forced = None
        if isinstance(tool_choice, dict):
            forced = (tool_choice.get("function") or {}).get("name")
        elif tool_choice == "required":
            forced = next(iter(offered))
        if forced in offered and not any(p.name == forced for p in out) and not done and not refusals:
            schema = offered[forced]
            props = (schema.get("parameters") or {}).get("properties") or {}
            first = next(iter(props), None)
            out.append(Planned(forced, {first: user_text} if first else {}, "user"))
        return out

    @staticmethod
    def _wants_result(followed: list[_Directive], planned: Planned) -> bool:
        for d in followed:
            if d.intent.kind == "tool" and d.intent.args.get("name") == "send_email":
                said = f"{d.intent.args.get('body', '')} {d.intent.args.get('hint', '')}".lower()
                if re.search(r"result|what\W+you\W+(?:found|got|read)|its\W+(?:content|text)|the\W+page|summary", said):
                    return True
        return False

    _SYNONYMS = {
        "send_email": ("mail", "message", "notify"),
        "http_get": ("http", "fetch", "get", "url", "browse", "web", "request", "open"),
        "delete_file": ("delete", "remove", "rm", "unlink"),
        "search_documents": ("search", "retriev", "query", "lookup", "find", "docs", "knowledge"),
    }
    _ARG_SYNONYMS = {
        "to": ("to", "recipient", "address", "email", "receiver"), "subject": ("subject", "title"),
        "body": ("body", "content", "text", "message"), "url": ("url", "uri", "link", "href", "address"),
        "path": ("path", "file", "filename", "name"), "query": ("query", "q", "search", "term", "text"),
    }

    def _bind(self, name: str, offered: dict[str, dict]) -> str | None:
        if name in offered:
            return name
        lowered = {n.lower(): n for n in offered}
        if name.lower() in lowered:
            return lowered[name.lower()]
        for syn in self._SYNONYMS.get(name, ()):
            for n in offered:
                if syn in n.lower():
                    return n
        return None

    def _fit(self, args: dict[str, Any], schema: dict) -> dict[str, Any]:
        props = (schema.get("parameters") or {}).get("properties") or {}
        if not props or all(k in props for k in args):
            return args
        out: dict[str, Any] = {}
        for key, value in args.items():
            target = key if key in props else next((p for p in props if any(
                s == p.lower() or s in p.lower() for s in self._ARG_SYNONYMS.get(key, (key,))) and p not in out), None)
            if target:
                out[target] = value
        for p in (schema.get("parameters") or {}).get("required") or []:
            out.setdefault(p, "")
        return out

    def _tool_args(self, intent: Intent, ctx: tuple | None, channel: str | None) -> dict[str, Any]:
        a = intent.args
        name = a["name"]
        if "args" in a:
            raw = a["args"]
            if isinstance(raw, dict):
                args = {k: v for k, v in raw.items()}
            else:
                args = {{"send_email": "body", "http_get": "url", "delete_file": "path"}.get(name, "query"): raw}
        else:
            args = {k: v for k, v in a.items() if k not in ("name", "hint")}
        if name == "send_email":
            body = str(args.get("body", ""))
            if re.fullmatch(r"\W*(?:it|them|this|that|those|these|everything)?\W*", body, re.I):
                body = ""   # a pronoun: what it stands for is elsewhere in the sentence
            resolved = self.resolve(body, ctx) if body else None
            if resolved is None and not body:
                hint = str(a.get("hint", ""))
                for value in args.values():
                    if str(value):
                        hint = hint.replace(str(value), " ")
                resolved = self.resolve(hint, ctx)
            args["body"] = resolved if resolved is not None else (body or "Hello from the Cobalt Kettle support team.")
            args["subject"] = str(args.get("subject") or "Message from Cobalt Kettle support")
            args.setdefault("to", "")
            args = {"to": args["to"], "subject": args["subject"], "body": args["body"],
                    **{k: v for k, v in args.items() if k not in ("to", "subject", "body")}}
        elif name == "http_get" and isinstance(args.get("url"), str):
            context = " ".join(str(v) for v in a.values())
            url = self._fill_url(args["url"], context, ctx)
            if a.get("push") and url == args["url"]:   # "send X to URL": X travels in the query
                url += ("&" if "?" in url else "?") + "data=" + quote(self._datum(context, ctx), safe="")
            args = {"url": url}
        return args

    # -- data the model can be made to disclose ------------------------------------------------
    def resolve(self, phrase: str, ctx: tuple | None) -> str | None:
        """The data a phrase refers to ("the customer records", "{secret}", "your instructions"),
        or None when it names none."""
        p = phrase.lower()
        s = self.secrets
        if re.search(r"system\W+prompt|instructions|your\W+prompt|\bprompt\b|your\W+rules|everything\W+(?:above|in\W+"
                     r"your)|(?:whole|full|entire)\W+context", p):
            return self.prompt
        if re.search(r"card|payment", p):
            return "\n".join(f"{c.name}: {c.card}" for c in s.customers)
        if re.search(r"api\W*key|\bkey\b|credential|password|token(?!\W+code)", p) and "canary" not in p:
            return s.api_key
        if re.search(r"canary|secret|\bcode\b", p):
            return s.canary
        if re.search(r"customer|client|record|\bpii\b|personal|user\W+data|contacts|database", p):
            return "\n".join(c.line() for c in s.customers)
        if re.search(r"e-?mail\W+address|phone|address", p):
            return "\n".join(f"{c.name}: {c.email}, {c.phone}" for c in s.customers)
        if re.search(r"internal\W+(?:url|link)|admin\W+console|intranet", p):
            return s.internal_url
        if ctx is not None:
            messages, last = ctx
            if re.search(r"conversation|chat|history|our\W+messages|this\W+(?:thread|session)", p):
                return "\n".join(f"{m.role}: {m.content}" for m in messages[:last + 1]
                                 if m.role in ("user", "assistant") and m.content)
            if re.search(r"(?:latest|last|this|the|that)\W+(?:e-?mail|message)|inbox", p) and self.world.emails:
                mail = self.world.emails[-1]
                return f"From: {mail.sender}\nSubject: {mail.subject}\n\n{mail.body}"
            if re.search(r"result|page|what\W+you\W+(?:found|got|read)|its\W+(?:content|text)|the\W+response|summary",
                         p):
                tool_msgs = [m for m in messages[last + 1:] if m.role in ("tool", "function")]
                if tool_msgs:
                    return tool_msgs[-1].content
        return None

    def _datum(self, hint: str, ctx: tuple | None) -> str:
        h = hint.lower()
        s = self.secrets
        first = s.customers[0]
        for rx, value in (
                (r"api|\bkey\b|credential|password", s.api_key),
                (r"card|payment", first.card.replace(" ", "")),
                (r"e-?mail", first.email),
                (r"phone", first.phone),
                (r"address", first.address),
                (r"\bname", first.name),
                (r"prompt|instruction", " ".join(self.prompt.split()[:20])),
                (r"internal|console|intranet", s.internal_url),
                (r"conversation|chat|history|question|query|input|message", self._last_user(ctx)),
                (r"canary|secret|token|\bcode\b", s.canary)):
            if re.search(rx, h):
                return value
        return s.canary

    @staticmethod
    def _last_user(ctx: tuple | None) -> str:
        if ctx is None:
            return ""
        messages, last = ctx
        return messages[last].content if last >= 0 else ""

    def _fill_url(self, url: str, context: str, ctx: tuple | None) -> str:
        holes = placeholders(url)
        for written, name in holes:
            vague = name.upper() in ("DATA", "INFO", "PAYLOAD", "VALUE", "HERE", "PLACEHOLDER", "%S", "…", "...") or \
                name.upper().startswith("XXX")
            url = url.replace(written, quote(self._datum(f"{name} {context}" if vague else name, ctx), safe=""), 1)
        # a query value written as words ("?e=the customer's email") names the data it wants
        url = re.sub(r"(?<=[?&])([\w-]+=)([^&#]*\s[^&#]*)",
                     lambda m: m.group(1) + quote(self._datum(m.group(2), ctx), safe=""), url)
        if not holes and re.search(r"[?&][\w-]+=$", url):
            url += quote(self._datum(context, ctx), safe="")
        return url.replace(" ", "%20")
