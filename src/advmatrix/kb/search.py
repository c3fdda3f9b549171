"""Ranked text search over every object of a matrix.

A small weighted scorer rather than a search engine: the corpus is a few hundred short
documents, and analysts search by ID, by name and by a few words of description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._matrix import Matrix
from ._models import CaseStudy, KnowledgeObject

_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*")


@dataclass(frozen=True)
class Hit:
    object: KnowledgeObject
    score: float


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _stem(word: str) -> str:
    # Enough to match "poisoning" with "poison" and "models" with "model".
    for suffix in ("ation", "ence", "ion", "ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def search(matrix: Matrix, text: str, *, kinds: set[str] | None = None, limit: int = 20) -> list[Hit]:
    """Objects ranked by how well their ID, name and text match ``text`` (stemmed words)."""
    query = text.strip().lower()
    terms = [_stem(w) for w in _words(query)]
    if not terms:
        return []
    hits: list[Hit] = []
    for obj in matrix.iter_objects():
        if kinds and obj.kind not in kinds:
            continue
        body = obj.summary if isinstance(obj, CaseStudy) else obj.description
        name = obj.name.lower()
        name_words = {_stem(w) for w in _words(name)}
        body_words = [_stem(w) for w in _words(body)]
        score = 0.0
        if obj.id.lower() == query or obj.id.lower() == f"aml.{query}":
            score += 100
        if query == name:
            score += 60
        elif query in name:
            score += 40 + 20 * len(query) / len(name)  # closer names rank first
        if len(terms) > 1 and query in body.lower():
            score += 4
        matched = 0
        for term in terms:
            in_name = term in name_words
            in_body = body_words.count(term)
            if in_name or in_body:
                matched += 1
            # Names say what an object is; long case-study summaries mention everything.
            score += 10 * in_name + min(in_body, 3) * (0.5 if isinstance(obj, CaseStudy) else 1)
        if matched == 0 and score < 100:
            continue
        score *= matched / len(terms) if score < 100 else 1  # partial matches rank below full ones
        if score > 0:
            hits.append(Hit(obj, score))
    hits.sort(key=lambda h: (-h.score, h.object.id))
    return hits[:limit]
