"""Threat rules as data: YAML files keyed by ATLAS technique ID, checked at load, matched per component.

A rule file holds ``rules:``, a list of rules::

    rules:
      - id: AML.T0024.002                  # the technique (or sub-technique) the rule predicts
        when:                              # a condition over one component (a mapping is an implicit all:)
          kind: model
          exposed: true
          upstream: {kind: service, returns: [scores, text]}
        reason: "{component} answers {via}, so its replies can train a copy"
        tier: likely                       # optional: likely (default) or possible, see TIERS
        stage: Deployment                  # optional default stage for every mitigation of the rule
        mitigations:                       # optional: where a mitigation goes, when not on the component itself
          AML.M0004: {component: service, stage: Deployment}

Conditions and their placeholders: see :mod:`._conditions`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import FormatError, quoted
from ..kb import bundled
from ._conditions import COMBINATORS, GRAPH_LEAVES, Condition, read_field
from ._load import read_text, read_yaml
from .system import Component, System

__all__ = [
    "TIERS",
    "MitigationPlacement",
    "Rule",
    "RuleSet",
    "RuleWarning",
    "bundled_rules",
    "load_rules",
    "no_precondition",
]

RULE_KEYS = frozenset({"id", "when", "reason", "mitigations", "stage", "tier"})
#: How strongly a matching rule predicts its technique: ``likely`` (adversaries routinely use it once the
#: condition holds) or ``possible`` (the condition makes it feasible, but it is seldom the route taken).
TIERS = ("likely", "possible")
PLACEMENT_KEYS = frozenset({"component", "stage"})
BUILTIN_PLACEHOLDERS = frozenset({"component", "id", "kind", "via"})
#: The lifecycle stages mitigations name in the knowledge base; a rule's ``stage`` must be one of them.
STAGES: tuple[str, ...] = tuple(dict.fromkeys(s for m in bundled().mitigations for s in m.lifecycle))
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

Loc = tuple[str | int, ...]


class RuleWarning(UserWarning):
    """A rule loads but says something the knowledge base does not back (an unlinked mitigation)."""


# -- rules ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MitigationPlacement:
    """Where a rule puts one mitigation: on a component of ``component`` kind near the match, at ``stage``."""

    component: str | None = None
    stage: str | None = None


@dataclass(frozen=True)
class Rule:
    """One loaded rule: the technique it predicts, its condition, reason template and placements."""

    technique_id: str
    when: Condition
    reason: str
    source: str
    line: int
    stage: str | None = None
    mitigations: Mapping[str, MitigationPlacement] = field(default_factory=dict)
    tier: str = "likely"

    @cached_property
    def hedged_on(self) -> tuple[str, ...]:
        """The component's own fields this rule fires only while they are unstated (``not: {properties.financial:
        {set: true}}`` beside the rest): a hedge, "where that moves money ...", which saying the field settles."""
        top = self.when.children if self.when.op == "all" else (self.when,)
        out = []
        for cond in top:
            if cond.op == "not":
                inner = cond.children[0]
                for leaf in inner.children if inner.op == "any" else (inner,):
                    if leaf.op not in COMBINATORS and leaf.op not in GRAPH_LEAVES and leaf.value == {"set": True}:
                        out.append(leaf.op)
        return tuple(dict.fromkeys(out))

    @cached_property
    def needs_adversary(self) -> bool:
        """Whether the rule can match only with an adversary of the description (an ``adversary`` leaf on
        every way it can match): its findings are that adversary's, not the system's for anyone."""
        return _needs_adversary(self.when)

    @property
    def shown_leaves(self) -> tuple[str, ...]:
        """The graph leaves (and ``via``) whose matches the reason names."""
        return tuple(dict.fromkeys(n for n in _PLACEHOLDER.findall(self.reason) if n in GRAPH_LEAVES or n == "via"))

    def facts(self, system: System, comp: Component) -> dict[str, str] | None:
        """The facts a match produced, or None when the rule does not apply to ``comp``."""
        facts: dict[str, str] = {}
        if not self.when.match(system, comp, facts):
            return None
        return facts

    def explain(self, comp: Component, facts: Mapping[str, str]) -> str:
        """The reason with its placeholders filled from the component and the matched facts."""

        def fill(m: re.Match[str]) -> str:
            name = m.group(1)
            if name == "component":
                return comp.label
            if name in ("id", "kind"):
                return str(getattr(comp, name))
            if name in facts:
                return facts[name]
            if name in GRAPH_LEAVES or name == "via":
                return "another component"
            return _show(read_field(comp, name))

        return _PLACEHOLDER.sub(fill, self.reason)


def _needs_adversary(cond: Condition) -> bool:
    if cond.op == "adversary":
        return True
    if cond.op == "all":
        return any(_needs_adversary(c) for c in cond.children)
    if cond.op == "any":
        return all(_needs_adversary(c) for c in cond.children)
    return False  # a negation, a field or another graph leaf holds without one


def _show(value: Any) -> str:
    if value is None:
        return "unstated"
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True)
class RuleSet:
    """Rules loaded from one or more files, with the warnings the load raised."""

    rules: tuple[Rule, ...]
    warnings: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def technique_ids(self) -> frozenset[str]:
        """Every technique some rule predicts."""
        return frozenset(r.technique_id for r in self.rules)


# -- loading -------------------------------------------------------------------------------------


def _load_file(path: Path, text: str, source: str) -> tuple[list[Rule], list[str]]:
    from ._rulecheck import RuleChecker  # it builds this module's Rule and Condition

    checker = RuleChecker(read_yaml(text, source))
    rules = checker.rules()
    return rules, checker.warnings


def _rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        # Files starting with '_' hold data about the rules (the no-precondition list), not rules.
        found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith("_"))
        if not found:
            raise FormatError(f"{path}: no rule files (*.yaml, *.yml) in this directory")
        # what looks like rules but is not read must be said: a rule in it would silently not apply
        skipped = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir() if p not in found and (
            p.is_dir() or p.suffix.lower() in (".yaml", ".yml")))
        if skipped:
            warnings.warn(RuleWarning(f"{path}: not read: {', '.join(skipped[:5])}"
                                      f"{' and more' if len(skipped) > 5 else ''} (rule files are *.yaml or *.yml "
                                      "directly in the directory, not starting with '_')"), stacklevel=2)
        return found
    if not path.exists():
        shown = path if str(path).isprintable() else quoted(path)  # a line break would split the error
        raise FormatError(f"{shown}: no such rule file or directory")
    return [path]


def load_rules(paths: Iterable[str | Path] = (), *, include_bundled: bool = True) -> RuleSet:
    """Rules from ``paths`` (files, or directories of ``*.yaml``), after the bundled ones unless
    ``include_bundled`` is false. Any problem raises ``FormatError`` naming file, line and rule; a
    mitigation not linked to its technique is a :class:`RuleWarning` (also kept in ``.warnings``)."""
    rules: list[Rule] = list(bundled_rules()) if include_bundled else []
    seen = {(r.technique_id, repr(r.when)): f"{r.source}:{r.line}" for r in rules}
    notes: list[str] = []
    problems: list[str] = []
    read: set[Path] = set()
    for p in paths:
        for f in _rule_files(Path(p)):
            # one file named twice (--rules dir --rules dir/file) is one set of rules: counted twice, each of its
            # rules would be a second piece of evidence and raise every score it touches
            if f.resolve() in read:
                notes.append(f"{f}: given more than once; read once")
                continue
            read.add(f.resolve())
            # Every file is read, so one run names what is wrong in each of them.
            try:
                got, said = _load_file(f, read_text(f), str(f))
            except FormatError as exc:
                problems.append(str(exc))
                continue
            notes.extend(said + ([f"{f}: holds no rules"] if not got else []))
            for rule in got:
                # the same condition for the same technique, twice, would list its finding's rule twice
                twin = seen.setdefault((rule.technique_id, repr(rule.when)), f"{rule.source}:{rule.line}")
                if twin != f"{rule.source}:{rule.line}":
                    notes.append(f"{rule.source}:{rule.line}: rule {rule.technique_id} repeats the rule at {twin}; "
                                 "used once")
                else:
                    rules.append(rule)
    if problems:
        raise FormatError("\n".join(problems))
    from ._propreads import property_type_notes

    notes += property_type_notes(rules, bundled_rules())
    for note in notes:
        warnings.warn(note, RuleWarning, stacklevel=2)
    return RuleSet(tuple(rules), tuple(notes))


def _bundled_dir() -> Any:
    return resources.files(__package__).joinpath("rules")


@cache
def bundled_rules() -> RuleSet:
    """The rules shipped with advmatrix (``threatmodel/rules/*.yaml``)."""
    rules: list[Rule] = []
    notes: list[str] = []
    for entry in sorted(_bundled_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml") and not entry.name.startswith("_"):
            got, said = _load_file(Path(entry.name), entry.read_text(encoding="utf-8"), f"rules/{entry.name}")
            rules.extend(got)
            notes.extend(said)
    return RuleSet(tuple(rules), tuple(notes))


@cache
def no_precondition() -> Mapping[str, str]:
    """Techniques no system property makes more or less likely, each with the reason it has no rule."""
    name = "_no_precondition.yaml"
    located = read_yaml(_bundled_dir().joinpath(name).read_text(encoding="utf-8"), f"rules/{name}")
    data = located.data
    if not isinstance(data, dict) or not isinstance(data.get("techniques"), dict):
        raise FormatError(f"rules/{name}: expected a mapping 'techniques' of technique ID to reason")
    matrix = bundled()
    for tid in data["techniques"]:
        if tid not in matrix:
            raise FormatError(f"rules/{name}:{located.line(('techniques', tid))}: unknown ATLAS technique '{tid}'")
    return dict(data["techniques"])
