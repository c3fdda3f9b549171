"""The shared grammar of the local LLM application's intent recogniser: the :class:`Intent` record
and the pieces every section of the recogniser reads text with (gaps between words, quotes,
sentences, clauses, words normalised for plurals).

They live apart from the sections that recognise each kind of request (``_llm_hijack``,
``_llm_disclosure``, ``_llm_tool_requests``, ``_llm_render``, ``_llm_cues``, ``_llm_triggers``,
``_llm_long_output``, ``_llm_capabilities``, ``_llm_copying``) because all of them build on
these, and :meth:`Intent.key` needs ``_norm_words``: each section imports from here rather than
from another section. What each kind of intent means and which phrasings it covers is told in
the module docstring of the section that recognises it; ``_llm_intents`` lists them all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_W = r"[\s\W_]+"          # any run of spacing or punctuation between two words
_ANY = r"(?:[\w'’-]+[\s\W_]+)"  # one word and what follows it
_F = re.I | re.S


@dataclass
class Intent:
    """One request recognised in a text: its kind and arguments (see the module docstring)."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    span: tuple[int, int] = (0, 0)

    def key(self) -> tuple:
        """What identifies the request, whatever reading of the text found it."""
        if self.kind == "render":   # readings differ in how they spell the placeholders
            return (self.kind, self.args["kind"], self.args["url"].split("?", 1)[0].lower())
        if self.kind == "trigger":  # ... and in how they spell the rule's action
            return (self.kind, " ".join(_norm_words(self.args["phrase"])))
        if self.kind == "copy":
            return (self.kind, self.args["scope"], self.args["every"])
        if self.kind == "long":
            return (self.kind, self.args["kind"])
        if self.kind == "capabilities":
            return (self.kind,)
        return (self.kind, json.dumps(self.args, sort_keys=True, default=str).lower())


def _alt(*words: str) -> str:
    return "(?:" + "|".join(words) + ")"


_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "`": "`", "«": "»", "„": "“"}


_QUOTED = r"(?:\"[^\"\n]*\"|'[^'\n]*'|“[^”\n]*”|‘[^’\n]*’|`[^`\n]*`)"


def _sentences(text: str) -> list[tuple[int, str]]:
    """Clauses with their offsets, cut at sentence punctuation followed by space and at new lines."""
    out, start = [], 0
    for m in re.finditer(r"(?<=[.!?;])\s+|\n+", text):
        out.append((start, text[start:m.start()]))
        start = m.end()
    out.append((start, text[start:]))
    return [(i, s) for i, s in out if s.strip()]


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] in _QUOTES and s[-1] == _QUOTES[s[0]]:
        return s[1:-1]
    return s


def _quoted_at(s: str) -> str | None:
    if s and s[0] in _QUOTES:
        end = s.find(_QUOTES[s[0]], 1)
        if end > 0:
            return s[1:end]
    return None


def _clause(s: str, limit: int = 12) -> str:
    end = re.search(r"[.,;!?](?=\s|$)|\n", s)
    words = (s[:end.start()] if end else s).split()
    cut = []
    for w in words[:limit]:
        if w.lower() in ("and", "then", "but", "so"):
            break
        cut.append(w)
    return " ".join(cut).strip()


def _norm_words(text: str) -> list[str]:
    return [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in re.findall(r"[a-z0-9]+", text.lower())]


def _sentence_at(text: str, pos: int, sentences: list[tuple[int, str]] | None = None) -> tuple[int, int]:
    for off, s in sentences if sentences is not None else _sentences(text):
        if off <= pos < off + len(s):
            return off, off + len(s)
    return pos, len(text)
