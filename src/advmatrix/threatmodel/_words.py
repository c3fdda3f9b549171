"""How messages name things: a component kind with its article, a technique by its full name, and the name a
misspelling meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["a_kind", "more", "nearest", "technique_title"]


def a_kind(kind: str) -> str:
    """``kind`` with its article: "a model", "an external", "an llm-app" (said "el-el-em")."""
    return f"{'an' if kind[:1] in tuple('aeiou') or kind.startswith('llm') else 'a'} {kind}"


def nearest(word: str, choices: Iterable[str], cutoff: float = 0.75) -> str | None:
    """The one of ``choices`` that ``word`` most likely misspells, or None when none is close: two letters
    swapped ("egde"), which difflib's ratio scores low in a short word, or a close match by that ratio."""
    choices = list(choices)
    swapped = [c for c in choices if _one_swap(word, c)]
    if swapped:
        return swapped[0]
    found = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return found[0] if found else None


def _one_swap(a: str, b: str) -> bool:
    # difflib has no transposition; this is the one edit it misses that a typist makes most
    if len(a) != len(b) or a == b:
        return False
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return (len(differ) == 2 and differ[1] == differ[0] + 1
            and a[differ[0]] == b[differ[1]] and a[differ[1]] == b[differ[0]])


def more(n: int, noun: str) -> str:
    """"1 more problem", "3 more problems"."""
    return f"{n} more {noun}{'' if n == 1 else 's'}"


def technique_title(technique_id: str) -> str:
    """A technique's name as people read it: a sub-technique's with its parent's ("LLM Prompt Injection:
    Direct", not "Direct", which alone says nothing)."""
    from ..kb import bundled

    matrix = bundled()
    tech = matrix.technique(technique_id)
    return f"{matrix.technique(tech.parent).name}: {tech.name}" if tech.parent else tech.name
