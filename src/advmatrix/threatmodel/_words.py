"""How messages name things: a component kind with its article, and the name a misspelling meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["a_kind", "more", "nearest"]


def a_kind(kind: str) -> str:
    """``kind`` with its article: "a model", "an external", "an llm-app" (said "el-el-em")."""
    return f"{'an' if kind[:1] in tuple('aeiou') or kind.startswith('llm') else 'a'} {kind}"


def nearest(word: str, choices: Iterable[str], cutoff: float = 0.75) -> str | None:
    """The one of ``choices`` that ``word`` most likely misspells, or None when none is close."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return found[0] if found else None


def more(n: int, noun: str) -> str:
    """"1 more problem", "3 more problems"."""
    return f"{n} more {noun}{'' if n == 1 else 's'}"
