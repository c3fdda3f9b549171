"""Requests to render an image or a link whose URL carries data (``render``), and the
placeholders such URLs hold. Part of the intent recogniser (``_llm_intents``).

Kept apart because the model fills the placeholders (:func:`placeholders`) and the tool section
reuses the image patterns to tell a rendered URL from a page to fetch. The grammar:

``render``
    a markdown image ``![..](URL)``, an HTML ``<img src=URL>``, "an image/picture/pixel/img/logo/
    photo/icon/badge (whose URL is|from|at|with the src|pointing to) URL", a markdown link
    ``[..](URL)`` or "a link/hyperlink to URL", with a render verb (include, add, append, render,
    insert, embed, display, show, output, print, put, place, attach, end, start, begin, finish,
    write, respond, reply, return, use, load, make, create, generate, draw, conclude, close, sign) or
    the word markdown/image/link/pixel before it, or a render verb right after it. Placeholders in
    the URL (``{x}``, ``{{x}}``, ``<x>``, ``[X]``, ``$X``, ``%s``, ``…``, capitalised words such as
    DATA, SECRET, INFO, PAYLOAD, XXX, CANARY, KEY, EMAIL), a query value written as words
    (``?e=the customer's email``) or an empty query value are filled with the data named by the
    placeholder or, for vague ones, by the instruction around it (the canary when nothing is
    named). Words inside a rendered URL are not requests of their own.
"""

from __future__ import annotations

import re

from ._llm_grammar import Intent

# -- render ---------------------------------------------------------------------------------------------
_MD_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\(\s*(?P<url>[^)\s]+(?:\s+[^)\s\"]+)*)(?:\s+\"[^\"]*\")?\s*\)")
_HTML_IMG = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']?(?P<url>[^\"'\s>]+)", re.I)
_MD_LINK = re.compile(r"(?<!!)\[(?P<alt>[^\]]+)\]\(\s*(?P<url>https?://[^)\s]+(?:\s+[^)\s\"]+)*)\s*\)", re.I)
_IMAGE_URL = re.compile(r"\b(?P<what>image|picture|pixel|img|logo|photo|icon|badge|link|hyperlink)\W+(?:\w+\W+){0,3}?"
                        r"(?:from|at|to|is|with\W+(?:the\W+)?(?:url|src|source|address)|pointing\W+to|of)\W+"
                        r"(?P<url>https?://[^\s<>\"'`)\]]+)", re.I)
_RENDER_VERB = re.compile(r"\b(?:include|add|append|render|insert|embed|display|show|output|print|put|place|attach|"
                          r"end|start|begin|finish|write|respond|reply|return|use|load|make|create|generate|draw|"
                          r"conclude|close|sign)\b", re.I)
_PLACEHOLDER = re.compile(r"\{\{?\s*(?P<a>[^{}]{1,40}?)\s*\}?\}|<(?P<b>[A-Za-z_ ]{1,30})>|\[(?P<c>[A-Za-z_ ]{1,30})\]|"
                          r"\$\{?(?P<d>[A-Za-z_]{1,30})\}?|(?P<e>%s|…|\.{3})|(?P<f>\b(?:DATA|SECRET|SECRETS|INFO|PAYLOAD|X{3,}|"
                          r"PLACEHOLDER|VALUE|CANARY|KEY|TOKEN|EMAIL|PASSWORD|HERE|PROMPT|CODE|CARD|NAME|PHONE|"
                          r"[A-Z]{2,}_[A-Z_]+)\b)")


def _render(text: str) -> list[Intent]:
    out = []
    found = [(m, "image") for m in _MD_IMAGE.finditer(text)] + [(m, "image") for m in _HTML_IMG.finditer(text)]
    found += [(m, "link") for m in _MD_LINK.finditer(text)]
    found += [(m, "link" if m.group("what").lower() in ("link", "hyperlink", "url") else "image")
              for m in _IMAGE_URL.finditer(text)]
    seen = set()
    for m, kind in found:
        url = m.group("url").rstrip(".,;:!?")
        if url in seen:
            continue
        before = text[max(0, m.start() - 160):m.start()]
        before = before[max(before.rfind("\n\n"), 0):]
        after = text[m.end():m.end() + 120].split("\n\n", 1)[0]
        if not (_RENDER_VERB.search(before) or re.search(r"\b(?:markdown|image|link|pixel)\b", before, re.I)
                or re.match(r"[^.!?]*\b(?:include|add|append|render|insert|embed|display|show|output|print|put|"
                            r"place|attach|use)\b", after, re.I)):
            continue
        seen.add(url)
        alt = m.groupdict().get("alt") or ""
        around = text[max(0, m.start() - 200):m.end() + 200]
        out.append(Intent("render", {"kind": kind, "url": url, "alt": alt, "context": around}, m.span()))
    return out


def placeholders(url: str) -> list[tuple[str, str]]:
    """The placeholders in ``url`` after its host, as (as written, name) pairs."""
    start = url.find("/", url.find("//") + 2) if "//" in url else 0
    out = []
    for m in _PLACEHOLDER.finditer(url, max(start, 0)):
        name = next((g for g in m.groups() if g), "")
        out.append((m.group(0), name))
    return out
