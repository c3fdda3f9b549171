"""Cross-references in a system description: duplicate ids, flows and tool lists naming unknown components.

Kept apart from the models so the loader can ask it of plain values from a file that failed
validation, and report every problem at once against its own line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from ..errors import quoted
from ._words import a_kind, nearest

__all__ = ["loc_text", "mixed_script", "reference_problems"]


def reference_problems(components: list[tuple[Any, Any, Any]],
                       flows: list[tuple[Any, Any]]) -> list[tuple[tuple[str | int, ...], str]]:
    """What the references in a description get wrong, as (location, message): ``components`` as
    (id, kind, tools) and ``flows`` as (from, to), in file order. It reads plain values, so the
    loader can ask it of a file that failed validation too and report everything at once."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    seen: dict[Any, int] = {}
    for i, (cid, _, _) in enumerate(components):
        if isinstance(cid, str) and cid in seen:
            problems.append((("components", i, "id"), f"duplicate id '{cid}' (also components[{seen[cid]}])"))
        if isinstance(cid, str):
            seen.setdefault(cid, i)
    kinds = {cid: kind for cid, kind, _ in components if isinstance(cid, str)}
    pairs: dict[tuple[Any, Any], int] = {}
    for i, (source, target) in enumerate(flows):
        if not (isinstance(source, str) and isinstance(target, str)):
            continue  # a list or mapping where an id belongs: the schema check names it
        # A loop says nothing about who reaches whom; a pair given twice may disagree on 'trusted'.
        if source == target:
            problems.append((("flows", i), f"a flow from '{source}' to itself"))
        elif (source, target) in pairs:
            first = pairs[(source, target)]
            problems.append((("flows", i), f"flow {source} -> {target} given twice (also flows[{first}])"))
        pairs.setdefault((source, target), i)
        for ref, alias in ((source, "from"), (target, "to")):
            if ref not in kinds:
                problems.append((("flows", i, alias), f"unknown component {quoted(ref)}{_lookalike(ref, kinds)}"))
            elif kinds[ref] == "adversary":
                problems.append((("flows", i, alias), f"'{ref}' is an adversary, which takes no flows: "
                                 "say what it can reach with its 'access'"))
    for i, (_, kind, tools) in enumerate(components):
        for j, tool in enumerate(tools if kind == "llm-app" and isinstance(tools, (list, tuple)) else ()):
            if not isinstance(tool, str):
                continue  # the schema check names it
            if tool not in kinds:
                problems.append((("components", i, "tools", j),
                                 f"unknown component {quoted(tool)}{_lookalike(tool, kinds)}"))
            elif not isinstance(kinds[tool], str):
                continue  # a kind missing or not text: the schema check names it at the component
            elif kinds[tool] not in ("tool", "llm-app"):
                # another LLM app is a sub-agent it delegates to; anything else is not called as a tool
                problems.append((("components", i, "tools", j), f"'{tool}' is {a_kind(kinds[tool])}, not a tool "
                                 "(or an llm-app it delegates to)"))
            elif tool == components[i][0]:
                problems.append((("components", i, "tools", j), f"'{tool}' is the app itself"))
    return problems


def _lookalike(ref: Any, ids: Iterable[Any]) -> str:
    """A hint when ``ref`` differs from an id only in case or in how its characters are encoded (NFC and
    NFD 'café', fullwidth letters): the two print alike, so 'unknown' alone reads as a contradiction."""
    if not isinstance(ref, str):
        return ""
    key = unicodedata.normalize("NFKC", ref).casefold()
    near = next((i for i in ids if isinstance(i, str) and unicodedata.normalize("NFKC", i).casefold() == key), None)
    # shown as escapes: printed as they are, the two would look the same
    if near:
        return f" (component {near!a} differs from {ref!a} only in case or in how its characters are encoded)"
    odd = mixed_script(ref)
    if odd:
        return f" ({ref!a} mixes Latin letters with {odd}, which only looks Latin)"
    # the id is the lookalike: typed on a Latin keyboard, the reference cannot name it
    twin = next((i for i in ids if isinstance(i, str) and mixed_script(i) and _skeleton(i) == ref), None)
    if twin:
        return f" (component {twin!a} looks like it but has {mixed_script(twin)}, not a Latin letter)"
    # a slip of a key (asistant, web-browser for web-browse), as a misspelt field gets
    close = nearest(ref, [i for i in ids if isinstance(i, str)])
    return f" (did you mean {quoted(close)}?)" if close else ""


#: Scripts whose letters print like Latin ones (Cyrillic 'а', Greek 'ο'): an id mixing one of them with
#: Latin letters is most likely a lookalike of an all-Latin id, by accident or on purpose.
_LATIN_LOOKALIKES = frozenset({"CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"})


#: Cyrillic and Greek letters that print as Latin ones. Unicode's confusables.txt is not in the standard library;
#: these are the ones a Cyrillic or Greek keyboard layout (or a homoglyph trick) puts into a Latin word.
_AS_LATIN = str.maketrans("аеорсухіјѕԁАВЕКМНОРСТХοανρτιΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
                          "aeopcyxijsdABEKMHOPCTXoavptiABEZHIKMNOPTYX")


def _skeleton(text: str) -> str:
    """``text`` with the lookalike letters of :data:`_AS_LATIN` read as the Latin ones they print as."""
    return unicodedata.normalize("NFKC", text).translate(_AS_LATIN)


def mixed_script(text: Any) -> str:
    """For text whose letters are Latin mixed with a script that looks like it, a note naming the first
    such letter ('U+0430 CYRILLIC SMALL LETTER A'); else ''. The standard library has no table of
    confusable characters (Unicode's confusables.txt); mixing scripts inside one id is what such lookalikes
    do, and an id written wholly in one script is left alone."""
    if not isinstance(text, str) or text.isascii():
        return ""
    scripts = {unicodedata.name(ch, "").split(" ", 1)[0]: ch for ch in unicodedata.normalize("NFKC", text)
               if ch.isalpha()}
    odd = [ch for script, ch in scripts.items() if script in _LATIN_LOOKALIKES]
    if "LATIN" not in scripts or not odd:
        return ""
    return f"U+{ord(odd[0]):04X} {unicodedata.name(odd[0])}"


def loc_text(loc: Iterable[str | int]) -> str:
    """A location as written in messages: ``flows[3].to``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
