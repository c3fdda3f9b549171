"""What a component id, a mitigation id and a text field may hold, and the one-or-many list type.

Two ids that print the same ("api" and "api" with a soft hyphen, a zero-width space or a direction
mark in it) would make "unknown component 'api'" name one that seems to exist. The JSON Schema keeps
the plain pattern (:data:`ID_PATTERN`, which editors understand); the loader also refuses format
and control characters of every kind, which a portable pattern cannot list.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Union

from pydantic import AfterValidator, BeforeValidator, Field

__all__ = ["ID_PATTERN", "ComponentId", "MitigationId", "control_in", "one_or_many"]

#: No white space and the common invisible marks (kept short: JSON Schema regexes lack \p{Cf}).
ID_PATTERN = r"^[^\s\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]+$"
#: Characters that show nothing: format and control characters, fillers, variation selectors.
_INVISIBLE = frozenset({"Cf", "Cc", "Co", "Cn"})
_FILLERS = frozenset("\u034f\u115f\u1160\u3164\uffa0")


def _visible(value: str) -> str:
    for ch in value:
        if (unicodedata.category(ch) in _INVISIBLE or ch in _FILLERS
                or "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef"):
            raise ValueError(f"must be one word without spaces or invisible characters; got {value!r} "
                             f"(U+{ord(ch):04X} shows nothing)")
    return value


#: The type of a component id (the pattern goes into the JSON Schema; the check runs in the loader).
ComponentId = Annotated[str, AfterValidator(_visible)]


#: Characters no description text needs and a terminal or a YAML reader acts on: C0 and C1 controls
#: (an escape sequence recolours or clears the console) other than tab and line breaks, and the Unicode
#: line separators (a YAML file written from the name would break at them), and the bidirectional
#: overrides and isolates, which make a name display as something else ("safe\u202eexe.yaml"); also
#: the non-characters U+FFFE and U+FFFF and lone surrogates, which no YAML reader takes back (a plan or
#: gateway configuration written from the name could not be read).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                      "\ud800-\udfff\ufffe\uffff]")


def control_in(value: Any) -> str | None:
    """The first control character in a text value (or in the texts of a list or mapping), or None."""
    texts = [value] if isinstance(value, str) else [*value] if isinstance(value, tuple) else \
        [x for kv in value.items() for x in kv] if isinstance(value, dict) else []
    for text in texts:
        found = _CONTROL.search(text) if isinstance(text, str) else None
        if found:
            return found.group()
    return None


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _once(values: tuple[Any, ...]) -> tuple[Any, ...]:
    # A repeat changes nothing the rules read, but it is how a pasted line or a slip for another value
    # (two 'insider' where 'network' was meant) shows: said, not folded away.
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(value)
    return values


def one_or_many(item: Any) -> Any:
    """A tuple of ``item`` that also takes a single value (``controls: AML.M0004``), as the documentation
    promises; the JSON Schema says so too (``item`` or an array of them, each once), so editors accept what
    the loader does. A value listed twice is an error."""
    return Annotated[tuple[item, ...], BeforeValidator(_listify, json_schema_input_type=Union[item, list[item]]),
                     AfterValidator(_once), Field(json_schema_extra={"uniqueItems": True})]


def _known_mitigation(value: str) -> str:
    from ..kb import bundled

    matrix = bundled()
    if value in matrix:
        kind = type(matrix.get(value)).__name__.lower()
        if kind != "mitigation":
            raise ValueError(f"'{value}' is an ATLAS {kind}, not a mitigation")
        return value
    # 'M0004', 'aml.m0004', 'AML-M0004': the number is there, the spelling of the prefix is not
    digits = re.fullmatch(r"(?:aml[.\-_ ]?)?m(\d{4})", value.strip(), re.IGNORECASE)
    meant = f"AML.M{digits.group(1)}" if digits else None
    # 'AML.M0020 Generative AI Guardrails' (the ID with its name) or the name alone, as ATLAS lists them
    lead = re.match(r"\s*(AML\.M\d{4})\b", value)
    if lead and lead.group(1) in matrix:
        meant = lead.group(1)
    by_name = {m.name.casefold(): m.id for m in matrix.mitigations}
    meant = meant or by_name.get(value.strip().casefold())
    if meant and meant in matrix:
        raise ValueError(f"unknown ATLAS mitigation '{value}' (did you mean {meant}?)")
    raise ValueError(f"unknown ATLAS mitigation '{value}'")


class _MitigationSchema:
    """The JSON Schema of a mitigation ID: the IDs the loader accepts, so an editor completes them and a
    schema check refuses what the loader refuses (``M0004``); read from the knowledge base when the
    schema is built, not when this module is imported."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        from ..kb import bundled

        return {"type": "string", "enum": sorted(m.id for m in bundled().mitigations)}


MitigationId = Annotated[str, AfterValidator(_known_mitigation), _MitigationSchema()]
