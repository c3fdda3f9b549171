"""Validating parsed ``system.yaml`` as a :class:`System`, so that every mistake is reported as
``file:line: field: what is wrong``: pydantic's errors in the file's words, at the lines :mod:`._load` kept.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import FormatError
from ._ids import ID_PATTERN
from ._load import MAX_PROBLEMS, Loc, Located, _path, read_text, read_yaml
from ._words import a_kind, nearest
from ._words import more as more_
from .system import COMPONENT_CLASSES, COMPONENT_KINDS, DEFER_REFERENCES, System, component_fields, reference_problems

__all__ = [
    "capped",
    "format_problems",
    "load_system",
    "load_system_text",
    "merge_capped",
    "system_from_located",
    "validation_problems",
    "without_empty_fields",
]


def _clean_loc(loc: Loc) -> Loc:
    # A discriminated union puts the chosen kind into the location (components.2.service.audience);
    # the file has no such level, so drop it.
    out = list(loc)
    for i in range(len(out) - 2):
        if out[i] == "components" and isinstance(out[i + 1], int) and out[i + 2] in COMPONENT_KINDS:
            del out[i + 2]
            break
    return tuple(out)


def _component_kind(raw: Loc) -> str | None:
    """The kind tag pydantic put in the location of a component's field, if any."""
    for i in range(len(raw) - 2):
        if raw[i] == "components" and isinstance(raw[i + 1], int) and raw[i + 2] in COMPONENT_KINDS:
            return str(raw[i + 2])
    return None


def _shown(value: Any, most: int = 120) -> str:
    """``repr(value)``, cut in the middle past ``most`` characters: a 30,000-item list given where one
    word belongs made a 200 KB error line."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"{value.isoformat()} (YAML read a date)"
    text = repr(value)
    return text if len(text) <= most else f"{text[:most - 30]} … {text[-20:]} ({len(text):,} characters)"


#: What other formats call a flow's ends (graph tools, CycloneDX dataflows) and a component's kind.
_FLOW_SYNONYMS = {"source": "from", "src": "from", "target": "to", "dst": "to", "dest": "to", "destination": "to"}
_KIND_SYNONYMS = ("type", "component_type", "class")


def _message(err: dict[str, Any], raw: Loc = ()) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "literal_error":
        expected = ctx.get("expected", "").replace("' or '", "', '").replace("'", "")
        got = err["input"]
        # returns: no, autonomy: off: YAML 1.1 read the word as a boolean, which no closed list holds
        said = (f"{str(got).lower()} (YAML reads yes, no, on and off as true or false: put the word in quotes)"
                if isinstance(got, bool) and "true" not in expected.split(", ") else _shown(got))
        return f"must be one of {expected}; got {said}"
    if kind == "union_tag_invalid" and isinstance(err.get("input"), dict) and err["input"].get("kind") in (None, ""):
        # 'kind:' or 'kind: ~' left empty (pydantic hands the tag over as the text 'None')
        return f"given empty; it is required (one of {', '.join(COMPONENT_KINDS)})"
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        # llm_app, LLM-App: the separator or the case slipped
        near = nearest(tag.lower().replace("_", "-").replace(" ", "-"), COMPONENT_KINDS, cutoff=0.8)
        hint = f" (did you mean '{near}'?)" if near else ""
        return f"unknown component kind {ctx.get('tag')!r}{hint}; must be one of {', '.join(COMPONENT_KINDS)}"
    if kind == "union_tag_not_found":
        said = next((k for k in _KIND_SYNONYMS if isinstance(err.get("input"), dict) and k in err["input"]), None)
        also = f" ('{said}' is not a field: write kind: {err['input'][said]})" if said else ""
        return f"a component needs a 'kind': one of {', '.join(COMPONENT_KINDS)}{also}"
    if kind == "missing":
        return "required field missing"
    if kind == "bool_type":
        # Strict: a quoted "yes", 1 or "true" is a mistake worth naming, not a truth to guess.
        return f"must be true or false (unquoted); got {_shown(err['input'])}"
    if kind == "extra_forbidden":
        component = _component_kind(raw)
        owners = [k for k in COMPONENT_KINDS if raw and raw[-1] in component_fields(k)] if component else []
        if owners:
            return f"{a_kind(component)} has no such field; it is a field of {' and '.join(owners)} components"
        if component:
            choices = sorted(component_fields(component))
        elif raw and raw[0] == "flows":
            choices = ["from", "to", "data", "trusted"]
        else:
            choices = ["name", "description", "components", "flows"] if len(raw) == 1 else []
        near = nearest(str(raw[-1]), choices) if raw else None
        if raw and raw[0] == "flows" and not component:
            near = near or _FLOW_SYNONYMS.get(str(raw[-1]).lower())
        if near:
            return f"unknown field; did you mean '{near}'?"
        if err.get("input") is None:
            # {data: PR diff, files}: in a {...} mapping a comma ends the text, and 'files' reads as a key
            return "unknown field with no value; if it was text after a comma inside {...}, quote that text"
        return "unknown field"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == r"\S":
        return "must not be blank"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == ID_PATTERN:
        return f"must be one word without spaces or invisible characters; got {_shown(err['input'])}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind == "string_type":
        got = err["input"]
        # YAML reads yes/no/on/off as booleans and 2024-01-01 as a date: say what it became
        read = (f"a boolean ({str(got).lower()}; yes, no, on and off are booleans too)" if isinstance(got, bool)
                else f"a date ({got.isoformat()})" if hasattr(got, "isoformat")
                else f"a number ({_shown(got)})" if isinstance(got, (int, float)) else None)
        if got is None:
            return "expected text; the value is empty"
        return f"expected text; YAML read this as {read}: put it in quotes" if read else \
            f"expected text; got {_shown(got)}"
    if kind == "string_too_long":
        # pydantic's "string should have at most N characters" names no length, so the cut is a guess
        field = str(raw[-1]) if raw else "text"
        long = "; a description summarises: keep the rest in a document it names" if field == "description" else ""
        return f"{len(err['input']):,} characters; at most {ctx.get('max_length', 0):,}{long}"
    if kind in ("tuple_type", "list_type"):  # pydantic says "a valid tuple": the file has lists
        return f"expected a list; got {_shown(err['input'])}"
    if kind in ("dict_type", "mapping_type", "model_type", "model_attributes_type"):
        return f"expected a mapping; got {_shown(err['input'])}"
    return err["msg"][0].lower() + err["msg"][1:]


def format_problems(problems: list[tuple[Loc, str]], located: Located) -> str:
    """One line per problem, ``file:line: field: message``, the first :data:`MAX_PROBLEMS` of them."""
    out = []
    for loc, msg in problems[:MAX_PROBLEMS]:
        line = located.line(loc)
        where = f"{located.source}:{line}" if line else located.source
        out.append(f"{where}: {_path(loc)}: {msg}" if loc else f"{where}: {msg}")
    return "\n".join(capped(out, len(problems)))


def merge_capped(*groups: list[str]) -> list[str]:
    """Several capped lists of problems (see :func:`capped`) as one: the named problems first, then how many
    more there are in all, so that the count is the last line and no problem follows it."""
    named, hidden = [], 0
    for group in groups:
        for line in group:
            m = _MORE.fullmatch(line)
            if m:
                hidden += int(m.group(1))
            else:
                named.append(line)
    return capped(named, len(named) + hidden)


_MORE = re.compile(r"\.\.\. and (\d+) more problems?")


def capped(lines: list[str], total: int | None = None) -> list[str]:
    """The first :data:`MAX_PROBLEMS` of ``lines``, then how many more there are (of ``total``, when the
    list was cut already): an error names a few problems and counts the rest."""
    total = len(lines) if total is None else total
    rest = [f"... and {more_(total - MAX_PROBLEMS, 'problem')}"] if total > MAX_PROBLEMS else []
    return lines[:MAX_PROBLEMS] + rest


#: The member names pydantic adds to a location when no member of a union of plain types matched.
_UNION_MEMBERS = {"str": "text", "int": "a whole number", "bool": "true or false", "float": "a number"}


def validation_problems(exc: ValidationError | list[Any], prefix: Loc = ()) -> list[tuple[Loc, str]]:
    """A pydantic error (or some of its ``errors()``) as (location in the file, message) pairs; a value no
    member of a union of plain types accepts is one problem, not one per member."""
    problems: list[tuple[Loc, str]] = []
    merged: dict[Loc, list[str]] = {}
    for err in exc.errors() if isinstance(exc, ValidationError) else exc:
        raw = tuple(err["loc"])
        loc = _clean_loc(raw)
        # A tag error is reported at the component; its line is the component's 'kind' key.
        if err["type"] in ("union_tag_invalid",):
            loc = (*loc, "kind")
        # A key YAML read as a number or a boolean: the file's lines know it as text, so look it up that way.
        if err["type"] == "invalid_key" and loc:
            key = err.get("input", loc[-1])  # pydantic's location says 1 for a key YAML read as true
            problems.append(((*prefix, *loc[:-1], str(key)), "a key must be text; YAML read it as "
                             f"{'true or false' if isinstance(key, bool) else 'a number'}: put it in quotes"))
            continue
        # A field contradicting another is found by the component's validator; named at the field's line.
        if err["type"] in ("contradicts_control", "contradicts_field"):
            field = (err.get("ctx") or {})["field"]
            problems.append(((*prefix, *loc, field), err["msg"].removeprefix(f"{field}: ")))
            continue
        member = _union_member(loc[-1], err) if loc else None
        if member:
            where = (*prefix, *loc[:-1])
            if where not in merged:
                merged[where] = []
                problems.append((where, f"got {_shown(err['input'])}"))
            merged[where].append(member)
            continue
        if "[key]" in loc:
            # a mapping's key is wrong: named at the mapping, whose line the file has ('properties.[key]' is not)
            at = loc.index("[key]")
            problems.append(((*prefix, *loc[:at - 1]), f"a name in it {_message(err, raw)}"))
            continue
        problems.append(((*prefix, *loc), _message(err, raw)))
    # A misspelt required field is one mistake: its "did you mean" says it all, so the "required field
    # missing" line for the name it meant goes.
    meant = {(*loc[:-1], m.group(1)) for loc, msg in problems if loc
             and (m := re.search(r"unknown field; did you mean '([^']+)'\?$", msg))}
    problems = [(loc, msg) for loc, msg in problems if not (msg == "required field missing" and loc in meant)]
    return [(loc, f"must be {_either(merged[loc])}; {msg}" if loc in merged else msg) for loc, msg in problems]


def _union_member(last: Any, err: dict[str, Any]) -> str | None:
    """What one member of a union accepts, when ``last`` is the member's name pydantic put in the location."""
    if last in _UNION_MEMBERS:
        return _UNION_MEMBERS[last]
    if isinstance(last, str) and last.startswith("literal["):
        return (err.get("ctx") or {}).get("expected", last).replace("'", "")
    return None


def _either(options: list[str]) -> str:
    return options[0] if len(options) == 1 else ", ".join(options[:-1]) + ", or " + options[-1]


def system_from_located(located: Located) -> System:
    """Validate parsed YAML as a :class:`System`, every problem reported with its line."""
    if not isinstance(located.data, dict):
        raise FormatError(f"{located.source}:{located.line(())}: a system description is a mapping with 'name', "
                          "'components' and 'flows'")
    data = without_empty_fields(located.data)
    try:
        system = System.model_validate(data, context={DEFER_REFERENCES: True})
    except ValidationError as exc:
        # The references are checked on the raw data as well, so one run reports every problem.
        problems = [(loc, "given empty; it is required" if msg == "required field missing" and _empty_at(
            located.data, loc) else msg) for loc, msg in validation_problems(exc)] + _raw_reference_problems(data)
        problems += _skipped_checks(data, exc)
        problems.sort(key=lambda p: located.line(p[0]) or 0)
        raise FormatError(format_problems(problems, located)) from None
    problems = system.reference_problems()
    if problems:
        raise FormatError(format_problems(problems, located))
    return system


#: The errors of a component's checks across its fields (as opposed to a field's own value).
_ACROSS_FIELDS = frozenset({"contradicts_control", "contradicts_field"})


def _skipped_checks(data: dict[str, Any], exc: ValidationError) -> list[tuple[Loc, str]]:
    """The checks across a component's fields that pydantic skipped because one of its fields was bad,
    run on the fields that were good: otherwise fixing a misspelt value brings out a contradiction that
    was there all along, one run later."""
    bad: dict[int, set[str]] = {}
    for err in exc.errors():
        raw = tuple(err["loc"])
        if len(raw) >= 4 and raw[0] == "components" and isinstance(raw[1], int) and raw[2] in COMPONENT_KINDS:
            bad.setdefault(raw[1], set()).add(str(raw[3]))
    out: list[tuple[Loc, str]] = []
    for i, fields in bad.items():
        comp = data["components"][i]
        kept = {k: v for k, v in comp.items() if k not in fields}
        try:
            COMPONENT_CLASSES[comp["kind"]].model_validate(kept)
        except ValidationError as again:
            out += validation_problems([e for e in again.errors() if e["type"] in _ACROSS_FIELDS], ("components", i))
    return out


def _empty_at(data: Any, loc: Loc) -> bool:
    """Whether ``loc`` in the file's data is a key written with no value (``id: ~``)."""
    for part in loc[:-1]:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(data, dict) and bool(loc) and loc[-1] in data and data[loc[-1]] is None


def without_empty_fields(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without the fields given an empty value (``signed:``, ``tools: ~``, ``flows:``), at the top and
    in each component and flow: the docs say a field left out is "not stated" (null), so a null written out
    is the same. Only known fields: an unknown key with no value is still reported (often text after a
    comma in ``{...}``); free properties keep theirs."""
    def drop(item: Any, known: frozenset[str]) -> Any:
        return {k: v for k, v in item.items() if v is not None or k not in known} if isinstance(item, dict) else item
    out = drop(data, frozenset(System.model_fields) | {"components", "flows"})
    if isinstance(out.get("components"), list):
        out["components"] = [drop(c, component_fields(c.get("kind"))
                                  if isinstance(c, dict) and c.get("kind") in COMPONENT_KINDS else frozenset())
                             for c in out["components"]]
    if isinstance(out.get("flows"), list):
        out["flows"] = [drop(f, frozenset({"from", "to", "data", "trusted"})) for f in out["flows"]]
    return out


def _raw_reference_problems(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    comps, flows = data.get("components"), data.get("flows")
    if not isinstance(comps, list) or not isinstance(flows, (list, type(None))):
        return []
    items = [c if isinstance(c, dict) else {} for c in comps]
    # an id refused for a space or an invisible character in it (a paste from a web page) is said at the id;
    # the flows naming what it shows are meant for it, not errors of their own suggesting the invisible form
    items = [{**c, "id": _visible(c["id"])} if isinstance(c.get("id"), str) and not re.match(ID_PATTERN, c["id"])
             else c for c in items]
    ends = [(f.get("from"), f.get("to")) if isinstance(f, dict) else (None, None) for f in flows or []]
    # A flow whose ends are not text is a validation error already; do not report it twice.
    found = [p for p in reference_problems([(c.get("id"), c.get("kind"), c.get("tools") or ()) for c in items],
                                           [(a, b) for a, b in ends])
             if not (p[0][0] == "flows" and not all(isinstance(e, str) for e in ends[int(p[0][1])]))]
    # a component whose id was left empty is most likely the one a reference names: say so where it is named,
    # since the reference may come first in the file (newcomer walkthrough)
    blank = next((i for i, c in enumerate(items) if c and c.get("id") in (None, "")), None)
    if blank is not None:
        found = [(loc, f"{msg}; components[{blank}] has no id: is it that one?"
                  if msg.startswith("unknown component") else msg) for loc, msg in found]
    return found


def _visible(text: str) -> str:
    """``text`` as it shows: without spaces, invisible and non-printing characters."""
    return "".join(ch for ch in text if ch.isprintable() and not ch.isspace())


def load_system_text(text: str, source: str = "system.yaml") -> System:
    """A :class:`System` from YAML text; ``source`` names it in error messages."""
    return system_from_located(read_yaml(text, source))


def load_system(path: str | Path) -> System:
    """A :class:`System` from a ``system.yaml`` file; bad input raises one ``FormatError`` naming
    file, line and field of each problem."""
    return load_system_text(read_text(path), str(path))
