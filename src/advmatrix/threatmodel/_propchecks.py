"""Free properties checked against the rules that read them (a mistyped, misspelt or misplaced property reads
as "no" without a word), and where a component's field is written in its file, for the lines warnings name.

Public through :mod:`advmatrix.threatmodel.gaps`, which answers the other half of "what the description does
not say".
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import FormatError
from ._load import Located, read_text, read_yaml
from ._propreads import property_kinds, property_reads
from ._validate import capped
from ._words import nearest
from .rules import Rule, RuleSet, bundled_rules
from .system import System

__all__ = ["check_property_types", "field_where", "misplaced_properties", "misspelt_properties",
           "mistyped_properties", "property_where", "raw_property_problems"]

_TYPE_WORDS = {bool: "true or false", int: "a whole number", str: "text"}


def mistyped_properties(system: System,
                        rules: RuleSet | Iterable[Rule] | None = None) -> list[tuple[str, str, Any, str]]:
    """(component id, property, value, what the rules compare it with) for each free property set to a
    value of a type no rule compares it with: ``on_device: "true"`` (text) where the rules ask for ``true``.
    A rule would silently read it as not holding, and the property would not be listed as open either,
    since it is stated."""
    return _wrong_types(((c.id, c.properties) for c in system.components), rules)


def _wrong_types(properties: Iterable[tuple[Any, Mapping[Any, Any]]],
                 rules: RuleSet | Iterable[Rule] | None) -> list[tuple[str, str, Any, str]]:
    wanted = _property_reads(rules)
    out = []
    for cid, props in properties:
        for name, value in props.items():
            types = wanted.get(name) if isinstance(name, str) else None
            if types and type(value) not in types:
                out.append((cid, name, value, " or ".join(sorted(_TYPE_WORDS.get(t, t.__name__) for t in types))))
    return out


def raw_property_problems(located: Located, rules: RuleSet | Iterable[Rule] | None) -> list[str]:
    """What :func:`check_property_types` would say of a ``system.yaml`` read but not yet valid, so that a
    file with a schema error and a mistyped property gets both in one run: the free properties of every
    component item that has an id, each at its own line."""
    items = located.data.get("components") if isinstance(located.data, dict) else None
    found = [(i, item) for i, item in enumerate(items if isinstance(items, list) else [])
             if isinstance(item, dict) and isinstance(item.get("id"), str) and isinstance(item.get("properties"), dict)]
    index = {item["id"]: i for i, item in found}
    out = []
    for cid, name, value, expected in _wrong_types(((item["id"], item["properties"]) for _, item in found), rules):
        if value is None:
            continue  # written with no value: the schema's own message says so, one line is enough
        line = located.lines.get(("components", index[cid], "properties", name))
        out.append(f"{located.source}{f':{line}' if line else ''}: {_type_problem(cid, name, value, expected)}")
    return capped(out)


def _type_problem(cid: str, name: str, value: Any, expected: str) -> str:
    return f"component '{cid}': properties.{name}: the rules compare it with {expected}; got {_as_written(value)}"


def _property_reads(rules: RuleSet | Iterable[Rule] | None) -> dict[str, set[type]]:
    return property_reads(bundled_rules() if rules is None else rules)


def misspelt_properties(system: System, rules: RuleSet | Iterable[Rule] | None = None) -> list[tuple[str, str, str]]:
    """(component id, property, the property the rules read that it nearly is) for free properties no rule
    reads that look like one a rule does read (``on_devise`` for ``on_device``): a typo reads as "no"."""
    read = sorted(_property_reads(rules))
    # Compared without case and separators: On_Device and on-device are the same slip as on_devise.
    folded = {re.sub(r"[^a-z0-9]", "", r.lower()): r for r in read}
    out = []
    for comp in system.components:
        for name in comp.properties:
            if name in read:
                continue
            key = re.sub(r"[^a-z0-9]", "", name.lower())
            near = folded.get(key) or nearest(name, read, cutoff=0.8)
            if near:
                out.append((comp.id, name, near))
    return out


def misplaced_properties(system: System, rules: RuleSet | Iterable[Rule] | None = None
                         ) -> list[tuple[str, str, tuple[str, ...]]]:
    """(component id, property, the kinds the rules read it on) for free properties set on a kind no rule
    reads them on (``on_device`` on a tool): stated, they still change nothing."""
    where = property_kinds(bundled_rules() if rules is None else rules)
    return [(c.id, name, tuple(sorted(kinds))) for c in system.components for name in c.properties
            if (kinds := where.get(name)) is not None and c.kind not in kinds]


def check_property_types(system: System, rules: RuleSet | Iterable[Rule] | None, source: str,
                         lines: Mapping[str, int] | None = None, overlay: str | None = None,
                         overlay_lines: Mapping[str, int] | None = None) -> None:
    """``FormatError`` naming each free property of a type no rule compares it with (see
    :func:`mistyped_properties`), at the property's own line where a YAML file gives it (the overlay
    first: what it sets wins), else at its component's line in ``source`` or the overlay."""
    wrong = mistyped_properties(system, rules)
    if not wrong:
        return
    raise FormatError("\n".join(capped([
        f"{property_where(cid, name, source, lines, overlay, overlay_lines)}: "
        f"{_type_problem(cid, name, value, expected)}" for cid, name, value, expected in wrong])))


def property_where(cid: str, name: str, source: str, lines: Mapping[str, int] | None = None,
                   overlay: str | None = None, overlay_lines: Mapping[str, int] | None = None) -> str:
    """``file:line`` of free property ``name`` of component ``cid`` (see :func:`field_where`)."""
    return field_where(cid, f"properties.{name}", source, lines, overlay, overlay_lines)


def field_where(cid: str, field: str, source: str, lines: Mapping[str, int] | None = None,
                overlay: str | None = None, overlay_lines: Mapping[str, int] | None = None) -> str:
    """``file:line`` of ``field`` (``controls``, ``properties.<name>``) of component ``cid``: its own line where
    the file gives it (the overlay first: what it sets wins; in a BOM, its ``advmatrix:`` property), else its
    component's line (``lines``, ``overlay_lines``: see ``report.component_lines``), else the file alone."""
    for path in (overlay, source):
        line = _field_line(path, cid, field) if path else None
        if line:
            return f"{path}:{line}"
    if cid in (lines or {}):
        return f"{source}:{lines[cid]}"
    return f"{overlay}:{overlay_lines[cid]}" if overlay and cid in (overlay_lines or {}) else source


def _as_written(value: object) -> str:
    """A property value as the file wrote it: YAML turns 2024-01-01 into a date, which repr shows as Python."""
    return f"{value.isoformat()} (a date: quote it)" if hasattr(value, "isoformat") else repr(value)


def _field_line(path: str, cid: str, field: str) -> int | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _field_index(path, stat.st_mtime_ns, stat.st_size).get((cid, field))


@functools.lru_cache(maxsize=8)
def _field_index(path: str, mtime_ns: int, size: int) -> dict[tuple[str, str], int]:
    """(component id, field) -> line for a ``system.yaml``, an overlay or a BOM (its ``advmatrix:`` properties,
    each a field or, as ``properties.<name>``, a free property): read once per version of the file, not once
    per warning (each warning had parsed the whole file again)."""
    try:
        text = read_text(path)
        located = read_yaml(text, path)
    except (FormatError, OSError):
        return {}
    if isinstance(located.data, dict) and located.data.get("bomFormat") == "CycloneDX":
        from ._bomcheck import property_lines

        out = {}
        for (cid, name), lines in property_lines(text, path).items():
            out[(cid, name)] = out[(cid, f"properties.{name}")] = lines[0]
        return out
    items = located.data.get("components") if isinstance(located.data, dict) else None
    index = {}
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            index.setdefault(item["id"], i)
    # by component: its fields and its free properties (the dotted name the warnings use)
    out = {}
    by_position = {i: c for c, i in index.items()}
    for loc, line in located.lines.items():
        if len(loc) in (3, 4) and loc[0] == "components" and loc[1] in by_position and isinstance(loc[2], str):
            if len(loc) == 3:
                out[(by_position[loc[1]], loc[2])] = line
            elif loc[2] == "properties" and isinstance(loc[3], str):
                out[(by_position[loc[1]], f"properties.{loc[3]}")] = line
    return out
