"""Intent recognition for the local LLM application: what a piece of text asks the assistant to do.

The recogniser reads one text (a user turn, a document, a web page, an e-mail, a tool result, or
a decoded reading of one, see ``_llm_decode``) and returns :class:`Intent` objects. Matching is
case-insensitive and tolerates any punctuation or spacing between words, and most patterns allow a
few free words between the verb and its object, so a phrasing that no list spells out lands as long
as it uses one of the verbs and one of the nouns its section lists (typos in key words are fixed by the
``typos`` reading). The grammar of each intent is told in the module that recognises it:

- ``override``, ``echo``: ``_llm_hijack``
- ``reveal``, ``share``: ``_llm_disclosure``
- ``tool``: ``_llm_tool_requests``
- ``render``: ``_llm_render``
- ``framing``, ``followup``, ``inbox``, ``documents``, ``encoding``: ``_llm_cues``
- ``trigger``: ``_llm_triggers``
- ``long``: ``_llm_long_output``
- ``capabilities``: ``_llm_capabilities``
- ``copy``: ``_llm_copying``

The shared pieces (:class:`Intent`, sentences, quotes) are in ``_llm_grammar``. This module puts the
sections together (:func:`recognise`) and keeps the names the model imports.
"""

from __future__ import annotations

import re

from ._llm_capabilities import _capabilities
from ._llm_copying import _copy
from ._llm_cues import _DOCS, _ENCODINGS, _FRAMING, _INBOX
from ._llm_cues import is_followup as is_followup
from ._llm_cues import is_greeting as is_greeting
from ._llm_cues import is_thanks as is_thanks
from ._llm_disclosure import _reveal, _share
from ._llm_grammar import Intent
from ._llm_hijack import _OVERRIDE, _echo
from ._llm_long_output import _long
from ._llm_long_output import number as number
from ._llm_render import _render
from ._llm_render import placeholders as placeholders
from ._llm_tool_requests import _tools
from ._llm_triggers import ACTION_KINDS as ACTION_KINDS
from ._llm_triggers import _mask, _triggers
from ._llm_triggers import mentions as mentions
from ._llm_triggers import strip_rules as strip_rules

ATTACK_KINDS = ("override", "echo", "reveal", "share", "tool", "render")


def recognise(text: str, tool_names: tuple[str, ...] = (), *, _rules: bool = True) -> list[Intent]:
    """Every intent ``text`` expresses (a text may ask several things at once). A conditional rule
    is one ``trigger`` intent: what it asks to do later is not also a request of this text."""
    out: list[Intent] = []
    triggers: list[Intent] = []
    if _rules:
        triggers, regions = _triggers(text, tool_names)
        if regions:
            text = _mask(text, regions)
    for rx in _OVERRIDE:
        # "forget my previous message" corrects the speaker's own words: not an override
        m = next((m for m in rx.finditer(text) if not re.search(r"\bmy\b", m.group(0), re.I)), None)
        if m:
            out.append(Intent("override", {}, m.span()))
            break
    out += _echo(text)
    out += _reveal(text)
    out += _share(text)
    out += _tools(text, tool_names)
    out += _render(text)
    # a rendered URL is not also a page to fetch, nor words inside it a request of their own; data
    # asked to be e-mailed is not also printed
    rendered = {i.args["url"] for i in out if i.kind == "render"}
    spans = [i.span for i in out if i.kind == "render"]
    out = [i for i in out if not (i.kind == "tool" and i.args.get("url") in rendered) and not (
        i.kind in ("share", "reveal") and any(a <= i.span[1] and i.span[0] < b and i.span[1] > a + 2
                                              for a, b in spans))]
    if any(i.kind == "tool" and i.args.get("name") == "send_email" for i in out):
        out = [i for i in out if not (i.kind in ("share", "reveal") and re.match(
            r"(?:send|forward|e-?mail|mail|transmit|relay|deliver|attach|include|insert)", text[i.span[0]:], re.I))]
    out += _long(text)
    # the unit of a long request ("write the word X 500 times") is not an echo of its own
    longs = [i.span for i in out if i.kind == "long"]
    out = [i for i in out if not (i.kind == "echo" and any(a <= i.span[0] < b for a, b in longs))]
    out += _capabilities(text)
    copies = _copy(text)
    # "repeat this entire message" is the speaker's message, not the assistant's prompt
    out = [i for i in out if not (i.kind in ("reveal", "echo") and any(
        c.span[0] <= i.span[1] and i.span[0] < c.span[1] for c in copies))]
    out += copies
    out += triggers
    m = _FRAMING.search(text)
    if m:
        out.append(Intent("framing", {}, m.span()))
    if _INBOX.search(text):
        out.append(Intent("inbox"))
    if _DOCS.search(text):
        out.append(Intent("documents"))
    for name, rx in _ENCODINGS:
        if rx.search(text):
            out.append(Intent("encoding", {"as": name}))
            break
    return out


__all__ = ["ATTACK_KINDS", "Intent", "is_followup", "is_greeting", "is_thanks", "placeholders", "recognise"]
