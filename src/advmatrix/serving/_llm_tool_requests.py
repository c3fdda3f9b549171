"""Requests to call a tool (``tool``): send an e-mail, fetch a page, delete a file, search the
documents, or any tool by name with its arguments. Part of the intent recogniser
(``_llm_intents``).

Kept apart because reading tool arguments (recipients, subjects, bodies, URLs, paths, JSON or
``key=value`` arguments) is a grammar of its own. The grammar:

``tool``
    ``send_email``: a send verb (send, forward, cc, bcc, compose, notify, transmit, relay, deliver,
    shoot, send_email, or "e-mail/email [up to four words] [to]") before an e-mail address (not one
    after "from"); subject after "subject (line)", "titled", "entitled", "headed"; body after body,
    saying, "that/which says", "with the text/message/content", containing, "that contains",
    including, attaching, with, message — or, when there is none or it is a pronoun, the data the
    sentence names ("the customer records", "your instructions", "the conversation", "my latest
    email", "the result"). ``http_get``: a fetch verb (fetch, open, visit, browse, load, get,
    retrieve, download, read, check, "go to", "navigate to", access, "look at", summarise, request,
    ping, curl, wget, scrape, crawl, follow, click, http_get, "see what", "what does ... say")
    before an http(s) URL; a push verb (send, post, submit, upload, transmit, forward, report, leak,
    exfiltrate) with "to/at/into" before a URL makes a request that carries the named data in its
    query. ``delete_file``: a removal verb (delete, remove, erase, rm, wipe, destroy, unlink, purge,
    trash, shred, delete_file; options such as ``-rf`` skipped) up to four words before a path
    (quoted, ``/``, ``~`` or ``./``-rooted, a Windows path, or a file name with an extension).
    ``search_documents``: search/look up/find/query/look for|through/browse/check the documents|
    docs|knowledge base|KB|help centre|articles|FAQ|documentation|policies|files for|about|on X, or
    search/look up/find X in|on|from the documents|knowledge base|.... Any tool by name (the
    decoy tools and those the client offers): call/use/invoke/run/execute/trigger/fire/activate/
    perform NAME with a JSON object, ``key=value`` pairs or free text; and ``NAME(key="value", ...)``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._llm_grammar import _QUOTED, _QUOTES, Intent, _clause, _sentences, _unquote
from ._llm_render import _HTML_IMG, _IMAGE_URL, _MD_IMAGE

# -- tools --------------------------------------------------------------------------------------------
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\bhttps?://[^\s<>\"'`)\]]+", re.I)


_SEND = re.compile(r"\b(?:send|forward|cc|bcc|compose|notify|transmit|relay|deliver|shoot|send_email)\b|"
                   r"\be-?mail(?:\W+(?!is\b|address\b|us\b|at\b|sent\b|was\b|has\b|from\b)\w+){0,4}?"
                   r"\W+(?:to\W+)?$", re.I)
_FETCH = re.compile(r"\b(?:fetch|open|visit|browse|load|get|retrieve|download|read|check|go\W+to|navigate\W+to|"
                    r"access|look\W+at|summari[sz]e|request|ping|curl|wget|scrape|crawl|follow|click|http_get|"
                    r"see\W+what)\b", re.I)
_PUSH = re.compile(r"\b(?:send|post|submit|upload|transmit|forward|report|leak|exfiltrate)\b"
                   r"(?:\W+[\w'-]+){0,10}?\W+(?:to|at|into|onto)\W+$", re.I)
_DELETE = re.compile(
    rf"\b(?:delete|remove|erase|rm|wipe|destroy|unlink|purge|trash|shred|delete_file)\b(?:\s+-\w+)?[\s:=]+(?:[\w'-]+[\s:=]+){{0,4}}?"
    rf"(?P<path>{_QUOTED}|(?:~|\.{{1,2}})?/[^\s,;'\"`)]*|[A-Za-z]:\\[^\s,;'\"`]+|(?<![@\w.])[\w-]+\.[A-Za-z0-9]{{1,5}}\b(?!\.\w|@))",
    re.I)
_SEARCH = re.compile(
    rf"\b(?:search|look\W+up|find|query|look\W+(?:for|through)|browse|check)\W+(?:in\W+|through\W+)?(?:the\W+|your\W+|"
    rf"our\W+)?(?:documents|docs|knowledge\W*base|kb|help\W*cent(?:re|er)|articles|faqs?|documentation|policies|"
    rf"files)\W+(?:for|about|on|regarding|with)\W+(?P<q>{_QUOTED}|[^.?!\n]+)", re.I)
_SEARCH_IN = re.compile(
    rf"\b(?:search|look\W+up|find|query|look\W+for|check|research)\W+(?:for\W+)?(?:the\W+)?(?P<q>{_QUOTED}|[^.?!\n]{{1,60}}?)"
    rf"\W+(?:in|on|from|using|within|through)\W+(?:the\W+|your\W+|our\W+)?(?:documents|docs|knowledge\W*base|kb|"
    rf"help\W*cent(?:re|er)|articles|faqs?|documentation)\b", re.I)
_CALL = re.compile(r"\b(?:call|use|invoke|run|execute|trigger|fire|activate|perform)\W+(?:the\W+)?"
                   r"(?:tool\W+|function\W+)?"
                   r"`?(?P<name>[A-Za-z_][\w.-]*)`?(?:\W+(?:tool|function))?", re.I)
_SUBJECT = re.compile(rf"\b(?:(?:with|and)\s+)?(?:(?:the|a)\s+)?(?:subject(?:\s+line)?|titled|entitled|headed)\s*"
                      rf"(?:is\b|of\b|:|=|as\b)?\s*(?P<s>{_QUOTED}|"
                      rf"[^,.;\n]+?)(?=\W+(?:and|with|containing|body|saying|that)\b|[,.;\n]|$)", re.I)
_BODY = re.compile(rf"\b(?:body(?:\W+text)?|saying|that\W+says|which\W+says|with\W+the\W+(?:text|message|content|body)|"
                   rf"containing|that\W+contains|which\W+contains|including|attaching|attach|with|message)\b\s*[:=]?\s*"
                   rf"(?P<b>{_QUOTED}|[^\n]+)", re.I)


def _parse_args(raw: str) -> dict[str, Any] | str:
    raw = raw.strip()
    brace = raw.find("{")
    if brace >= 0:
        depth = 0
        for i, ch in enumerate(raw[brace:], brace):
            depth += (ch == "{") - (ch == "}")
            if depth == 0:
                try:
                    value = json.loads(raw[brace:i + 1])
                    if isinstance(value, dict):
                        return value
                except ValueError:
                    pass
                break
    pairs = re.findall(rf"(?<![\w/?&])(\w+)\s*[=:](?!//)\s*({_QUOTED}|[^\s,)]+)", raw)
    if pairs:
        return {k: _unquote(v).rstrip(".;!?") if v[0] not in _QUOTES else _unquote(v) for k, v in pairs}
    free = re.sub(r"^(?:to\s+)?(?:(?:look|search)\s+(?:for|up)|search|find|query|get|fetch|check)?\s*"
                  r"(?:for|about|on)?\s+",
                  "", raw.strip(), flags=re.I)
    return _unquote(_clause(free or raw, 40))


def _tools(text: str, tool_names: tuple[str, ...]) -> list[Intent]:
    out: list[Intent] = []
    named = {n.lower(): n for n in tool_names}
    for m in re.finditer(r"\b(?P<name>[A-Za-z_][\w.-]*)\s*\((?P<args>[^()]*)\)", text):
        name = named.get(m.group("name").lower())
        if name:
            out.append(Intent("tool", {"name": name, "args": _parse_args(m.group("args")), "hint": ""}, m.span()))
    for m in _CALL.finditer(text):
        name = named.get(m.group("name").lower())
        if name and not any(i.args["name"] == name for i in out):
            rest = text[m.end():]
            rest = rest if rest.lstrip()[:30].find("{") >= 0 else rest.split("\n", 1)[0]
            rest = re.sub(r"^\s*(?:with|using|passing|and\s+pass|on|for)?\s*(?:the\s+)?(?:arguments?|args|params|"
                          r"parameters|inputs?)?\s*:?\s*", "", rest, flags=re.I)
            args = _parse_args(rest) if rest.strip() else {}
            if name in ("send_email", "http_get", "delete_file") and "{" not in rest.lstrip()[:30]:
                continue  # not a JSON object: the phrase readers below find the address, URL or path
            line = text[text.rfind("\n", 0, m.start()) + 1:].split("\n", 1)[0]
            out.append(Intent("tool", {"name": name, "args": args, "hint": line.strip()}, m.span()))
    explicit = {i.args["name"] for i in out}
    for off, sent in _sentences(text):
        for addr in _EMAIL.finditer(sent if "send_email" not in explicit else ""):
            before = sent[max(0, addr.start() - 80):addr.start()]
            if not _SEND.search(before) or re.search(r"\bfrom\W*$", before, re.I):
                continue
            if any(i.args.get("name") == "send_email" for i in out):
                break
            subject = _SUBJECT.search(sent)
            rest = sent
            if subject:  # the subject is not the body
                rest = sent[:subject.start()] + " " * (subject.end() - subject.start()) + sent[subject.end():]
            body = None
            for b in _BODY.finditer(rest, addr.end()):
                if b.group("b").strip():
                    body = _unquote(b.group("b"))
                    break
            if body is None:
                b = _BODY.search(rest[:addr.start()])
                body = _unquote(b.group("b")) if b and not _EMAIL.search(b.group("b")) else ""
            out.append(Intent("tool", {"name": "send_email", "to": addr.group(0).rstrip("."),
                                       "subject": _unquote(subject.group("s")) if subject else "",
                                       "body": body.strip(), "hint": sent.strip()},
                              (off + addr.start(), off + addr.end())))
            break
        for u in _URL.finditer(sent if "http_get" not in explicit else ""):
            if _MD_IMAGE.search(sent) or _HTML_IMG.search(sent) or _IMAGE_URL.search(sent):
                break
            before = sent[max(0, u.start() - 80):u.start()]
            url = u.group(0).rstrip(".,;:!?")
            if _PUSH.search(before):   # data sent to a URL: a request that carries it
                out.append(Intent("tool", {"name": "http_get", "url": url, "hint": sent.strip(), "push": True},
                                  (off + u.start(), off + u.end())))
            elif _FETCH.search(before) or re.search(r"\bwhat\W+(?:does|is\W+on)\b", before, re.I):
                out.append(Intent("tool", {"name": "http_get", "url": url}, (off + u.start(), off + u.end())))
    for m in _DELETE.finditer(text):
        path = _unquote(m.group("path"))
        path = path if m.group("path")[0] in _QUOTES else path.rstrip(".,;:!?`")
        if _EMAIL.fullmatch(path) or path.lower().startswith(("http", "www.")):
            continue
        out.append(Intent("tool", {"name": "delete_file", "path": path}, m.span()))
    for rx in (_SEARCH, _SEARCH_IN):
        for m in rx.finditer(text):
            q = _unquote(_clause(m.group("q"), 12) if m.group("q")[0] not in _QUOTES else m.group("q"))
            if q and not any(i.args.get("name") == "search_documents" for i in out):
                out.append(Intent("tool", {"name": "search_documents", "query": q}, m.span()))
    return out
