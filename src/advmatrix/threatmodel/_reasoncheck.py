"""Checking a rule's reason as it loads: every placeholder it uses must be one the rule can fill.

Split from :mod:`._rulecheck`, which checks the rest of the rule and calls :func:`reason_problem`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._conditions import GRAPH_LEAVES, Condition
from .rules import _PLACEHOLDER, BUILTIN_PLACEHOLDERS
from .system import component_fields

__all__ = ["MAX_REASON", "reason_problem"]

#: The longest reason a rule may give, in characters (the bundled ones are under 300).
MAX_REASON = 2_000


def reason_problem(reason: object, when: Condition, kinds: Iterable[str]) -> str | None:
    """What is wrong with ``reason`` for a rule whose condition is ``when`` and which can match components
    of ``kinds``, or None. Any field may be shown (an unstated one reads "unstated"), graph facts only where
    the rule has the leaf: a leaf under ``not`` matches nothing it could name, a field of no kind the rule
    can match would always read "unstated", and ``{via}`` needs a leaf that finds where content comes from."""
    if not isinstance(reason, str) or not reason.strip():
        return "'reason' must be non-empty text"
    if len(reason) > MAX_REASON:  # a reason is a sentence; megabytes of one stalled every report
        return f"'reason' is {len(reason):,} characters; a reason is a sentence (at most {MAX_REASON:,})"
    kinds = frozenset(kinds)
    named = set(_named_leaves(when))
    fields = set().union(*(component_fields(k) for k in kinds))
    known = (BUILTIN_PLACEHOLDERS - ({"via"} if not named - {"adversary", "present"} else set())) | named | fields
    if "{" in _PLACEHOLDER.sub("", reason) or "}" in _PLACEHOLDER.sub("", reason):
        # An unclosed brace would be printed as it is, in every reason the rule writes.
        return "a '{' or '}' that opens or closes no placeholder"
    for ph in _PLACEHOLDER.findall(reason):
        if ph == "exposed" and ph not in known and any(
                leaf.op == "exposed" and not leaf.value for leaf in _leaves_of(when)):
            return ("placeholder '{exposed}' names the entry points that reach the component, but this rule asks "
                    "'exposed: false', where there are none")
        if ph in GRAPH_LEAVES and ph not in known and ph in set(when.graph_leaves()):
            return (f"placeholder '{{{ph}}}' names what '{ph}' matched, but this rule tests it only under 'not', "
                    "where it matches nothing")
        if ph == "via" and ph not in known:
            return ("placeholder '{via}' names where content came from, but this rule has no exposed, upstream, "
                    "downstream, reachable_from, fed_by, feeds or uses to find it")
        if ph in component_fields() and ph not in known:
            return (f"placeholder '{{{ph}}}' is a field no {'/'.join(sorted(kinds))} component has: it would "
                    "always read 'unstated'")
        if ph not in known and not (ph.startswith("properties.") and ph != "properties."):
            return (f"placeholder '{{{ph}}}' is neither a component field nor a graph leaf of this rule; see the "
                    "placeholders in advmatrix.threatmodel.rules")
    return None


def _leaves_of(cond: Condition) -> list[Condition]:
    """The graph-leaf conditions at this level and under all/any/not (selectors excluded)."""
    if cond.op in ("all", "any", "not"):
        return [leaf for child in cond.children for leaf in _leaves_of(child)]
    return [cond] if cond.op in GRAPH_LEAVES else []


def _named_leaves(cond: Condition) -> list[str]:
    """The graph leaves whose matches a reason can name: those not under a ``not``."""
    if cond.op == "not":
        return []
    if cond.op in ("all", "any"):
        return [leaf for child in cond.children for leaf in _named_leaves(child)]
    # 'exposed: false' holds where nothing reaches the component: there is no entry point to name
    return [cond.op] if cond.op in GRAPH_LEAVES and not (cond.op == "exposed" and not cond.value) else []
