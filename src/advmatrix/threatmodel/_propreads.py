"""What rules read of the free properties (``properties.<name>``): which names, compared with values of
which types, on which component kinds. The description checks (:mod:`.gaps`) and the user-rule
warning (:func:`property_type_notes`) both ask it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ._conditions import GRAPH_LEAVES, Condition, kind_test
from ._words import nearest
from .system import COMPONENT_KINDS

if TYPE_CHECKING:
    from .rules import Rule

__all__ = ["flat_values", "property_kinds", "property_reads", "property_type_notes"]


def flat_values(value: Any) -> Iterator[Any]:
    """The values a field test names (inside ``in``/``not_in`` lists too); ``set`` names none."""
    if isinstance(value, Mapping):
        for op, arg in value.items():
            if op != "set":
                yield from flat_values(arg)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from flat_values(v)
    else:
        yield value


def property_reads(rules: Iterable[Rule]) -> dict[str, set[type]]:
    """Each free property the rules read, at any depth, with the types of the values they compare it with."""
    wanted: dict[str, set[type]] = {}
    for rule in rules:
        for leaf in rule.when.all_leaves():
            if leaf.op.startswith("properties."):
                wanted.setdefault(leaf.op.split(".", 1)[1], set()).update(type(v) for v in flat_values(leaf.value))
    return wanted


def property_kinds(rules: Iterable[Rule]) -> dict[str, frozenset[str] | None]:
    """Each free property the rules read, with the component kinds they read it on (``None``: any kind,
    where a condition reading it does not say which kind): a property set on another kind changes nothing."""
    every = frozenset(COMPONENT_KINDS)
    out: dict[str, frozenset[str] | None] = {}

    def narrowed(cond: Condition, kinds: frozenset[str]) -> frozenset[str]:
        if cond.op == "kind":
            op, named = kind_test(cond.value)
            return kinds & frozenset(named) if op == "in" else kinds - frozenset(named) if op == "not_in" else kinds
        if cond.op == "all":
            for child in cond.children:
                kinds = narrowed(child, kinds)
            return kinds
        if cond.op == "any":
            return frozenset().union(*(narrowed(child, kinds) for child in cond.children))
        return kinds  # under not, or a graph leaf: says nothing of this component's kind

    def walk(cond: Condition, kinds: frozenset[str]) -> None:
        if cond.op.startswith("properties."):
            name = cond.op.split(".", 1)[1]
            before = out.get(name, frozenset())
            out[name] = None if kinds == every or before is None else before | kinds
        inner = every if cond.op in GRAPH_LEAVES else narrowed(cond, kinds) if cond.op == "all" else kinds
        for child in cond.children:
            walk(child, inner)
    for rule in rules:
        walk(rule.when, every)
    return out


def property_type_notes(rules: Iterable[Rule], bundled: Iterable[Rule]) -> list[str]:
    """A note for each rule of a user's that compares a free property the bundled rules read with values
    of another type: descriptions follow the bundled rules, so it would never match."""
    bundled = list(bundled)
    theirs = property_reads(bundled)
    ours = {id(r) for r in bundled}
    said = {bool: "true/false", str: "text", int: "a number"}

    def words(types: set[type]) -> str:
        return ", ".join(sorted(said.get(t, t.__name__) for t in types))
    out = []
    for r in rules:
        if id(r) in ours:
            continue
        for name, types in property_reads([r]).items():
            if name in theirs and types and not types & theirs[name]:
                out.append(f"{r.source}:{r.line}: rule {r.technique_id} compares properties.{name} with "
                           f"{words(types)}, but the bundled rules (and so descriptions) use {words(theirs[name])}; "
                           "it may never match")
            elif name not in theirs and (near := nearest(name, sorted(theirs), cutoff=0.8)):
                # a new free property is the user's to name, but one letter off a known one is a slip that
                # makes the rule match nothing the descriptions say
                out.append(f"{r.source}:{r.line}: rule {r.technique_id} reads properties.{name}, which no bundled "
                           f"rule reads (did you mean properties.{near}?)")
    return out
