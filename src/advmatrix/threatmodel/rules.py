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

Conditions (no code is evaluated):

- ``all: [...]``, ``any: [...]``, ``not: {...}`` combine conditions; a mapping with several keys means all.
- A field leaf ``<field>: value`` reads the component's field (``properties.<name>`` reads a free
  property). A scalar must be equal; a list means "one of"; for list fields (``used_for``,
  ``sources``, ``tools``, ``controls``) a scalar means "contains" and a list "contains one of".
  Operators: ``{in: [...]}``, ``{not_in: [...]}``, ``{set: true|false}`` (stated / not stated or empty).
- Graph leaves, each over the flows of :meth:`System.edges`:
  ``exposed: true|false`` (reached while it runs from a public service or an external component;
  content that only reaches a model as training data does not count),
  ``upstream: {selector}`` / ``reachable_from: {selector}`` (content flows into this component,
  directly or not, from a component the selector matches), ``downstream: {selector}`` (content
  flows from this component to one the selector matches), ``fed_by: {selector}`` (a flow goes straight
  from a component the selector matches into this one, nothing between). A selector is itself a condition. One
  that names only services, models or apps walks the inference-time flows: a training set is
  reached but not passed through.
  ``adversary: {selector}`` holds when any ``adversary`` component of the system matches the selector
  (``adversary: {goals: fraud, access: physical}``): adversaries are not on the flows, so it does not
  depend on the component the rule is matched on.
  Add ``untrusted: true`` inside the mapping (``exposed: {untrusted: true}``) to follow only flows
  not marked ``trusted``; without it every flow counts.

Reason placeholders: ``{component}`` (display name), ``{id}``, ``{kind}``, any component field
(``{returns}``, ``{properties.tier}``; list values are joined with commas, an unstated value reads
"unstated"), and for the graph leaves the rule uses the
names of the components they matched: ``{exposed}`` (the entry points), ``{upstream}``,
``{reachable_from}``, ``{downstream}``, ``{fed_by}``, ``{adversary}``, and ``{via}`` (the components the
last matching flow leaf found; ``adversary`` is not one). Under ``any:`` every branch that holds adds
its names, so a reason names each source that matched. An unknown placeholder fails the load.
"""

from __future__ import annotations

import heapq
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import FormatError
from ..kb import bundled
from ._facts import MATCHED, MOST_NAMED, merge_ids, merge_names, names_of, note_matched
from ._load import read_text, read_yaml
from .system import Component, ServiceComponent, System, is_training_data

__all__ = [
    "TIERS",
    "Condition",
    "MitigationPlacement",
    "Rule",
    "RuleSet",
    "RuleWarning",
    "bundled_rules",
    "flows_back",
    "load_rules",
    "no_precondition",
]

COMBINATORS = ("all", "any", "not")
GRAPH_LEAVES = ("exposed", "upstream", "reachable_from", "downstream", "fed_by", "adversary")
OPERATORS = ("in", "not_in", "set")
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


# -- conditions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One node of a rule's condition tree: ``op`` is all/any/not, a field name, or a graph leaf."""

    op: str
    value: Any = None
    children: tuple[Condition, ...] = ()
    untrusted: bool = False

    def leaves(self) -> Iterator[Condition]:
        """Every field test on the component itself (not in selectors, which read other components)."""
        if self.op in COMBINATORS:
            for child in self.children:
                yield from child.leaves()
        elif self.op not in GRAPH_LEAVES:
            yield self

    def all_leaves(self) -> Iterator[Condition]:
        """Every field test at any depth, those in selectors (on other components) included."""
        if self.op in COMBINATORS or self.op in GRAPH_LEAVES:
            for child in self.children:
                yield from child.all_leaves()
        else:
            yield self

    def fields(self) -> Iterator[str]:
        """Every component field this condition reads on the component itself (not in selectors)."""
        return (leaf.op for leaf in self.leaves())

    def graph_leaves(self) -> Iterator[str]:
        """The graph leaves used at this level (selectors excluded)."""
        if self.op in COMBINATORS:
            for child in self.children:
                yield from child.graph_leaves()
        elif self.op in GRAPH_LEAVES:
            yield self.op

    def match(self, system: System, comp: Component, facts: dict[str, str]) -> bool:
        """Whether ``comp`` satisfies the condition; graph leaves record what they found in ``facts``."""
        if self.op == "all":
            return all(c.match(system, comp, facts) for c in self.children)
        if self.op == "any":
            # Every branch that holds, not the first: a reason should name each source that matched
            # (a store and a browsing tool), and a branch that fails must leave no facts behind.
            held = False
            for c in self.children:
                mine: dict[str, str] = {}
                if c.match(system, comp, mine):
                    held = True
                    for key, names in mine.items():
                        facts[key] = (names if key not in facts else merge_ids(facts[key], names) if key == MATCHED
                                      else merge_names(facts[key], names))
            return held
        if self.op == "not":
            # Facts gathered under a negation describe what is absent: they must not leak into reasons.
            return not self.children[0].match(system, comp, {})
        if self.op == "exposed":
            return self._exposed(system, comp, facts) == bool(self.value)
        if self.op in ("upstream", "reachable_from", "downstream"):
            return self._graph(system, comp, facts)
        if self.op == "fed_by":
            return self._fed_by(system, comp, facts)
        if self.op == "adversary":
            return self._adversary(system, comp, facts)
        return _match_value(_read(comp, self.op), self.value)

    def _exposed(self, system: System, comp: Component, facts: dict[str, str]) -> bool:
        # Exposure is what can reach the component while it runs; content that only reaches a model as
        # training data (a partner's uploads) is for the rules that ask about its datasets.
        # keyed by whether the component is an entry itself: what-if probes change its audience
        key = ("exposed-names", comp.id, self.untrusted, _is_entry(comp))
        names = system.memo(key, lambda: _entry_names(system, comp, self.untrusted))
        if names is None:
            return False
        if self.value == "direct":
            # only those whose messages reach it straight, not through a store or a tool
            direct = _direct_entries(system, comp, self.untrusted) - {comp.id}
            if not direct:
                return False
            names = names_of(system.component(i) for i in sorted(direct, key=system.positions().__getitem__))
        if self.value:
            facts["exposed"] = facts["via"] = names
        return True

    def _graph(self, system: System, comp: Component, facts: dict[str, str]) -> bool:
        selector = self.children[0]
        # A service, model or app on the far side of a training set does not query or serve this
        # component: a partner's upload portal is a way to poison the model, not to ask it.
        inputs = _serving_kinds(selector) and not is_training_data(comp) and system.has_training_data()
        if self.op == "downstream":
            others = system.downstream_of(comp, untrusted_only=self.untrusted, inputs_only=inputs)
        else:
            others = system.upstream_of(comp, untrusted_only=self.untrusted, inputs_only=inputs)
        # Which components the selector matches is the same for every rule and component that asks:
        # computed once per system, then the smaller side is walked (a long chain of flows made this
        # quadratic in the flows times the rules).
        matching = system.memo(("selector", id(selector)), lambda: (selector, frozenset(
            c.id for c in system.components if selector.match(system, c, {}))))[1]
        if len(others) <= len(matching):
            found = [c for c in others if c.id in matching and c.id != comp.id]
            total = len(found)
        else:
            near = system.memo(("ids", self.op, comp.id, self.untrusted, inputs),
                               lambda: frozenset(c.id for c in others))
            ids = matching & near - {comp.id}
            # a reason names the first few: sorting thousands of ids per rule was most of a big system's time
            total = len(ids)
            found = [system.component(i) for i in heapq.nsmallest(MOST_NAMED, ids, key=system.positions().__getitem__)]
        if found:
            facts[self.op] = facts["via"] = names_of(found, total)
            note_matched(facts, found)
        return bool(found)

    def _fed_by(self, system: System, comp: Component, facts: dict[str, str]) -> bool:
        # One flow, no hop: a tool that queries a public store, not every tool of the agent that does.
        selector = self.children[0]
        found = [system.component(i) for i in dict.fromkeys(flows_back(system, self.untrusted).get(comp.id, ()))
                 if i != comp.id and selector.match(system, system.component(i), {})]
        if found:
            facts["fed_by"] = facts["via"] = names_of(found)
            note_matched(facts, found)
        return bool(found)

    def _adversary(self, system: System, comp: Component, facts: dict[str, str]) -> bool:
        # The adversary stands outside the flows: any one the system names, the matched component included.
        selector = self.children[0]
        found = [c for c in system.of_kind("adversary") if selector.match(system, c, {})]
        if found:
            facts["adversary"] = names_of(found)  # not {via}: that names where content comes from
        return bool(found)


#: the kinds a query travels through at inference time
_SERVING = frozenset({"service", "model", "llm-app"})


def kind_test(value: Any) -> tuple[str, list[Any]]:
    """A ``kind`` test as (operator, kinds): ``model``, ``[model, service]`` and ``{in: [...]}`` are
    ``in``; ``{not_in: [...]}`` and ``{set: true}`` keep their operator."""
    if isinstance(value, Mapping) and len(value) == 1:
        op, arg = next(iter(value.items()))
        return op, arg if isinstance(arg, list) else [arg]
    return "in", value if isinstance(value, list) else [value]


def _serving_kinds(selector: Condition) -> bool:
    """Whether ``selector`` can only match components that serve or answer queries (its ``kind``)."""
    tests = [kind_test(leaf.value) for leaf in selector.leaves() if leaf.op == "kind"]
    # only an 'in' names its kinds; not_in and set leave any kind possible
    return bool(tests) and all(op == "in" and set(kinds) <= _SERVING for op, kinds in tests)


def _entry_names(system: System, comp: Component, untrusted: bool) -> str | None:
    """The entry points that reach ``comp`` while it runs, as a reason names them; None when none does.
    Who talks to it is named, not who wrote a page it later retrieves (the rules about stores and tools
    name those); only when every entry point is behind a store are they all named."""
    if not system.is_exposed(comp, untrusted_only=untrusted, inputs_only=True):
        return None
    entries = [c for c in (comp, *system.upstream_of(comp, untrusted_only=untrusted, inputs_only=True))
               if _is_entry(c)]
    direct = _direct_entries(system, comp, untrusted)
    return names_of([c for c in entries if c.id in direct] or entries)


#: content that rests in these before it reaches a component was stored, not sent to it
STORES = frozenset({"dataset", "retrieval-store", "tool"})


def flows_back(system: System, untrusted: bool = False) -> dict[str, list[str]]:
    """For each component, the components with a flow into it (with ``untrusted``, trusted flows left
    out); built once per system and shared by every backward walk."""
    def reverse() -> dict[str, list[str]]:
        back: dict[str, list[str]] = {}
        for a, b, trusted in system.edges():
            if not (untrusted and trusted):
                back.setdefault(b, []).append(a)
        return back
    return system.memo(("flows-back", untrusted), reverse)


def _direct_entries(system: System, comp: Component, untrusted: bool) -> frozenset[str]:
    """The entry points whose content reaches ``comp`` without resting in a store or a tool on the way."""
    def compute() -> frozenset[str]:
        back = flows_back(system, untrusted)
        seen, todo = {comp.id}, [comp.id]
        while todo:
            for n in back.get(todo.pop(), ()):
                if n not in seen:
                    seen.add(n)
                    if system.component(n).kind not in STORES:
                        todo.append(n)
        return frozenset(i for i in seen if _is_entry(system.component(i)))
    return system.memo(("direct-entries", comp.id, untrusted), compute)


def _is_entry(comp: Component) -> bool:
    return comp.kind == "external" or (isinstance(comp, ServiceComponent) and comp.audience == "public")


def _read(comp: Component, name: str) -> Any:
    if name.startswith("properties."):
        return comp.properties.get(name.split(".", 1)[1])
    return comp.get(name)


def _match_value(actual: Any, expected: Any) -> bool:
    if isinstance(expected, Mapping):
        op, arg = next(iter(expected.items()))
        if op == "set":
            stated = actual is not None and actual != () and actual != ""
            return stated == bool(arg)
        hit = _match_value(actual, list(arg))
        return hit if op == "in" else (actual is not None and not hit)
    if isinstance(actual, tuple):
        wanted = expected if isinstance(expected, list) else [expected]
        return any(v in actual for v in wanted)
    if isinstance(expected, list):
        return any(_equal(actual, v) for v in expected)
    return _equal(actual, expected)


def _equal(actual: Any, expected: Any) -> bool:
    # bool is an int in Python: keep true distinct from 1 (either way round) so that 'system_prompt: true'
    # is not 'secret' and a rule's 'properties.on_device: 1' does not match true.
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    return actual == expected


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
            return _show(_read(comp, name))

        return _PLACEHOLDER.sub(fill, self.reason)


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
        return found
    if not path.exists():
        raise FormatError(f"{path}: no such rule file or directory")
    return [path]


def load_rules(paths: Iterable[str | Path] = (), *, include_bundled: bool = True) -> RuleSet:
    """Rules from ``paths`` (files, or directories of ``*.yaml``), after the bundled ones unless
    ``include_bundled`` is false. Any problem raises ``FormatError`` naming file, line and rule; a
    mitigation not linked to its technique is a :class:`RuleWarning` (also kept in ``.warnings``)."""
    rules: list[Rule] = list(bundled_rules()) if include_bundled else []
    seen = {(r.technique_id, repr(r.when)): f"{r.source}:{r.line}" for r in rules}
    notes: list[str] = []
    problems: list[str] = []
    for p in paths:
        for f in _rule_files(Path(p)):
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
    from ._rulecheck import property_type_notes

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
