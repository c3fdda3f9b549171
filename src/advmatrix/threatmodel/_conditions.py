"""Rule conditions: the tree a rule's ``when:`` becomes, and how it is matched against one component
of a system (field tests and the graph leaves over its flows). Parsed and checked by
:mod:`._rulecheck`; see :mod:`.rules` for the file format.

Conditions (no code is evaluated):

- ``all: [...]``, ``any: [...]``, ``not: {...}`` combine conditions; a mapping with several keys means all.
- A field leaf ``<field>: value`` reads the component's field (``properties.<name>`` reads a free
  property). A scalar must be equal; a list means "one of"; for list fields (``used_for``,
  ``sources``, ``tools``, ``controls``, ``outputs``) a scalar means "contains" and a list "contains one of".
  Operators: ``{in: [...]}``, ``{not_in: [...]}``, ``{set: true|false}`` (stated / not stated or empty).
- Graph leaves, each over the flows of :meth:`System.edges`:
  ``exposed: true|false`` (reached while it runs from a public service or an external component;
  content that only reaches a model as training data does not count; ``{direct: true}`` not through a
  store, a tool or an endpoint that answers nothing, ``{replies: true}`` nor through a service that
  answers with a verdict, so the sender reads the component's answers; for an LLM app, an outside party
  whose answers are drawn going only to others is not among them: ``{unanswered: true}`` names those),
  ``upstream: {selector}`` / ``reachable_from: {selector}`` (content flows into this component,
  directly or not, from a component the selector matches), ``downstream: {selector}`` (content
  flows from this component to one the selector matches), ``fed_by: {selector}`` (a flow goes straight
  from a component the selector matches into this one, nothing between), ``feeds: {selector}`` (a flow
  goes straight from this one into a match: a data set a tool reads feeds the tool, not the app it answers),
  ``uses: {selector}`` (one of an
  LLM app's own tools, those its ``tools`` list names, matches; ``kind: llm-app`` selects the sub-agents
  the list names instead). A selector is itself a condition. One
  that names only services, models or apps walks the inference-time flows: a training set is
  reached but not passed through.
  ``adversary: {selector}`` holds when any ``adversary`` component of the system matches the selector
  (``adversary: {goals: fraud, access: physical}``): adversaries are not on the flows, so it does not
  depend on the component the rule is matched on. Add ``reaches: true`` to ask as well that the
  adversary can reach the component with the access the selector names (all its access when it names
  none; see :func:`._reach.adversary_reach`): an outsider who can only query reaches a model through a
  public service, not through staff's internal API.
  ``present: {selector}`` holds when any component of the system, wherever it is, matches
  (``present: {kind: service, not: {open_signup: false}}``).
  Add ``untrusted: true`` inside the mapping (``exposed: {untrusted: true}``) to follow only flows
  not marked ``trusted``; without it every flow counts. Add ``own: true`` to ``upstream`` or
  ``reachable_from`` to leave out what reaches an LLM app only through another LLM app's answers (what
  it retrieves itself, not what a sub-agent retrieved for its planner).

Reason placeholders: ``{component}`` (display name), ``{id}``, ``{kind}``, any component field
(``{returns}``, ``{properties.tier}``; list values are joined with commas, an unstated value reads
"unstated"), and for the graph leaves the rule uses the
names of the components they matched: ``{exposed}`` (the entry points), ``{upstream}``,
``{reachable_from}``, ``{downstream}``, ``{fed_by}``, ``{feeds}``, ``{uses}``, ``{adversary}``, ``{present}``, and
``{via}`` (the components the last matching flow leaf found; ``adversary`` and ``present`` are not ones). Under
``any:`` every branch that holds adds its names, so a reason names each source that matched. An unknown
placeholder fails the load.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._direct import direct_entries, passed_to, unanswered
from ._facts import ADVERSARIES, MATCHED, MOST_NAMED, merge_ids, merge_names, names_of, note_matched
from ._reach import adversary_access, adversary_reach
from .system import Component, System, is_entry, is_training_data

__all__ = ["COMBINATORS", "GRAPH_LEAVES", "OPERATORS", "Condition", "kind_test", "read_field"]

COMBINATORS = ("all", "any", "not")
#: ``adversary`` and ``present`` ask about the whole system, not the flows: they hold wherever the rule is matched.
GRAPH_LEAVES = ("exposed", "upstream", "reachable_from", "downstream", "fed_by", "feeds", "uses", "adversary",
                "present")
OPERATORS = ("in", "not_in", "set")


@dataclass(frozen=True)
class Condition:
    """One node of a rule's condition tree: ``op`` is all/any/not, a field name, or a graph leaf."""

    op: str
    value: Any = None
    children: tuple[Condition, ...] = ()
    untrusted: bool = False
    #: ``upstream``/``reachable_from`` only: not through another LLM app (what this app reads itself).
    own: bool = False
    #: ``adversary`` only: the matched adversary must reach this component (see :meth:`_adversary`).
    reaches: bool = False

    def __repr__(self) -> str:
        # By hand: a rule's learned weight is keyed by a digest of this text, so a field added here must
        # not show while unset, or every rule would lose its weight.
        text = (f"Condition(op={self.op!r}, value={self.value!r}, children={self.children!r}, "
                f"untrusted={self.untrusted!r}, own={self.own!r})")
        return text if not self.reaches else text[:-1] + ", reaches=True)"

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
                        merge = merge_ids if key.startswith(MATCHED) else merge_names
                        facts[key] = merge(facts[key], names) if key in facts else names
            return held
        if self.op == "not":
            # Facts gathered under a negation describe what is absent: they must not leak into reasons.
            return not self.children[0].match(system, comp, {})
        if self.op == "exposed":
            return self._exposed(system, comp, facts) == bool(self.value)
        if self.op in ("upstream", "reachable_from", "downstream"):
            return self._graph(system, comp, facts)
        if self.op == "fed_by":
            # One flow, no hop: a tool that queries a public store, not every tool of the agent that does.
            return self._among(system, comp, facts, system.flows_into(self.untrusted).get(comp.id, ()))
        if self.op == "feeds":
            return self._among(system, comp, facts, system.flows_out(self.untrusted).get(comp.id, ()))
        if self.op == "uses":
            # The app's own tools, as its list names them: not those of another app its answers reach, nor
            # a tool its output is merely sent to (a sub-agent returning a summary through its caller's tool).
            return self._among(system, comp, facts, comp.get("tools") or ())
        if self.op == "adversary":
            return self._adversary(system, comp, facts)
        if self.op == "present":
            return self._present(system, comp, facts)
        return _match_value(read_field(comp, self.op), self.value)

    def _exposed(self, system: System, comp: Component, facts: dict[str, str]) -> bool:
        # Exposure is what can reach the component while it runs; content that only reaches a model as
        # training data (a partner's uploads) is for the rules that ask about its datasets.
        # keyed by whether the component is an entry itself: what-if probes change its audience
        key = ("exposed-names", comp.id, self.untrusted, is_entry(comp))
        names = system.memo(key, lambda: _entry_names(system, comp, self.untrusted))
        if names is None:
            return False
        if self.value in ("direct", "replies", "unanswered"):
            # only those whose messages reach it straight, not through a store or a tool; for ``replies``
            # not through a service that hands back only a verdict either (labels, scores): they get its answers;
            # for ``unanswered`` the outside parties whose words so reach an LLM app that answers only others
            direct = (unanswered(system, comp, self.untrusted) if self.value == "unanswered" else
                      direct_entries(system, comp, self.untrusted, self.value == "replies")) - {comp.id}
            if not direct:
                return False
            names = names_of(system.component(i) for i in sorted(direct, key=system.positions().__getitem__))
        if self.value:
            facts["exposed"] = facts["via"] = names
        return True

    def _graph(self, system: System, comp: Component, facts: dict[str, str]) -> bool:
        selector = self.children[0]
        # Which components the selector matches is the same for every rule and component that asks:
        # computed once per system, then the smaller side is walked (a long chain of flows made this
        # quadratic in the flows times the rules). Matching none, there is nothing to walk for: a walk
        # kept per component was most of a long chain's memory.
        matching = system.memo(("selector", id(selector)), lambda: (selector, frozenset(
            c.id for c in system.components if selector.match(system, c, {}))))[1]
        if not matching or matching == {comp.id}:
            return False
        # A service, model or app on the far side of a training set does not query or serve this
        # component: a partner's upload portal is a way to poison the model, not to ask it.
        inputs = _serving_kinds(selector) and not is_training_data(comp) and system.inputs_apart()
        reach = None if self.own else system.walk_bits(comp.id, forward=self.op == "downstream",
                                                         untrusted_only=self.untrusted, inputs_only=inputs)
        if reach is not None:
            found, total = _found_in(system, selector, matching, comp, reach, self.op == "downstream")
        else:
            found, total = self._found(system, comp, matching, inputs)
        if found:
            facts[self.op] = facts["via"] = names_of(found, total)
            note_matched(facts, found, self.op)
        return bool(found)

    def _found(self, system: System, comp: Component, matching: frozenset[str],
               inputs: bool) -> tuple[list[Component], int]:
        """What the walk from ``comp`` finds that the selector matches: those a reason names, and how many."""
        if self.op == "downstream":
            others = system.downstream_of(comp, untrusted_only=self.untrusted, inputs_only=inputs)
        elif self.own:
            others = _own_upstream(system, comp, self.untrusted)
        else:
            others = system.upstream_of(comp, untrusted_only=self.untrusted, inputs_only=inputs)
        if len(others) <= len(matching) or self.own:
            found = [c for c in others if c.id in matching and c.id != comp.id]
            total = len(found)
        else:
            near = system.memo(("ids", self.op, comp.id, self.untrusted, inputs),
                               lambda: frozenset(c.id for c in others))
            ids = matching & near - {comp.id}
            # a reason names the first few: sorting thousands of ids per rule was most of a big system's time
            total = len(ids)
            found = [system.component(i) for i in heapq.nsmallest(MOST_NAMED, ids, key=system.positions().__getitem__)]
        return found, total

    def _among(self, system: System, comp: Component, facts: dict[str, str], ids: Iterable[str]) -> bool:
        """Whether one of ``ids`` (one flow away, or the app's own tools) matches the selector; no walk."""
        selector = self.children[0]
        found = [system.component(i) for i in dict.fromkeys(ids)
                 if i != comp.id and selector.match(system, system.component(i), {})]
        if found:
            facts[self.op] = facts["via"] = names_of(found)
            note_matched(facts, found, self.op)
        return bool(found)

    def _adversary(self, system: System, comp: Component, facts: dict[str, str]) -> bool:
        # The adversary stands outside the flows: any one the system names, the matched component included.
        selector = self.children[0]
        found = [c for c in system.of_kind("adversary") if selector.match(system, c, {})]
        if self.reaches:
            # The system's exposure is who can reach it, not whether this adversary can: an outsider with
            # queries only does not come in through a staff API that outside analysts use.
            found = [c for c in found if _within_reach(system, c, comp, selector)]
        if found:
            facts["adversary"] = names_of(found)  # not {via}: that names where content comes from
            facts[ADVERSARIES] = merge_ids(facts.get(ADVERSARIES, ""), "\x1f".join(c.id for c in found))
        return bool(found)

    def _present(self, system: System, comp: Component, facts: dict[str, str]) -> bool:
        # A fact of the whole system, flows or not: an adversary's own accounts depend on whether any
        # service lets strangers sign up, and the adversary is on no flow to ask that along.
        selector = self.children[0]
        ids = system.memo(("selector", id(selector)), lambda: (selector, frozenset(
            c.id for c in system.components if selector.match(system, c, {}))))[1]
        if ids:
            found = heapq.nsmallest(MOST_NAMED, ids, key=system.positions().__getitem__)
            facts["present"] = names_of([system.component(i) for i in found], len(ids))
        return bool(ids)


def _within_reach(system: System, adversary: Component, comp: Component, selector: Condition) -> bool:
    """Whether ``comp`` is within ``adversary``'s reach by the access kinds ``selector`` asks of it (its
    whole access when the selector names none): the access that lets it act as the rule says."""
    # the access it is asked for at the top (one under 'not' or 'any' does not say which it acts by)
    tests = selector.children if selector.op == "all" else (selector,)
    named = {a for leaf in tests if leaf.op == "access" and not isinstance(leaf.value, Mapping)
             for a in (leaf.value if isinstance(leaf.value, list) else [leaf.value])}
    access = adversary_access(system, adversary)
    reach = adversary_reach(system, adversary, access & named if named else None)
    return reach is None or comp.id in reach


def _found_in(system: System, selector: Condition, matching: frozenset[str], comp: Component, reach: int,
              forward: bool) -> tuple[list[Component], int]:
    """:meth:`Condition._found` from the walk's bit set (:meth:`System.walk_bits`): an AND with the
    selector's, a count, and only the components a reason names made into a list."""
    mask = system.memo(("selector-bits", id(selector)), lambda: (selector, system.bits_of(matching)))[1]
    mine = 1 << system.position(comp.id)
    hits = reach & mask & ~mine
    # as the walks answer: all that match when the walk found no more than the selector matches, else the
    # first few (upstream_of leaves the component itself out, downstream_of keeps it when a loop returns)
    if (reach if forward else reach & ~mine).bit_count() <= len(matching):
        found = list(system.at(hits))
        return found, len(found)
    return list(system.at(hits, MOST_NAMED)), hits.bit_count()


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
    up = system.walk_bits(comp.id, forward=False, untrusted_only=untrusted, inputs_only=True)
    if up is not None:  # the few entry points among thousands upstream, without listing those
        mask = system.memo("entry-bits", lambda: system.bits_of(c.id for c in system.components if is_entry(c)))
        entries = [c for c in (comp, *system.at(up & mask & ~(1 << system.position(comp.id)))) if is_entry(c)]
    else:
        entries = [c for c in (comp, *system.upstream_of(comp, untrusted_only=untrusted, inputs_only=True))
                   if is_entry(c)]
    direct = passed_to(system, comp, untrusted)  # answered or not: their words reach it
    return names_of([c for c in entries if c.id in direct] or entries)



def _own_upstream(system: System, comp: Component, untrusted: bool) -> tuple[Component, ...]:
    """What flows into ``comp`` by its own flows and tools, not through another LLM app: a sub-agent that
    only writes notes does not retrieve what its planner's other sub-agent reads back (that reaches it as
    the planner's words). Outside parties start content but relay none, as in every walk."""
    def compute() -> tuple[Component, ...]:
        back = system.flows_into(untrusted)
        outside = system.outside()
        seen, todo = {comp.id: None}, [comp.id]
        while todo:
            for n in back.get(todo.pop(), ()):
                if n not in seen:
                    seen[n] = None
                    if n not in outside and system.component(n).kind != "llm-app":
                        todo.append(n)
        seen.pop(comp.id)
        # and only what the system's own walk finds upstream at all: a model two callers share answers
        # each its own, and a model learns from no other model's training sets
        found = {c.id for c in system.upstream_of(comp, untrusted_only=untrusted)}
        return tuple(sorted((system.component(i) for i in seen if i in found), key=lambda c: system.positions()[c.id]))
    return system.memo(("own-upstream", comp.id, untrusted), compute)


def read_field(comp: Component, name: str) -> Any:
    """A component field, or ``properties.<name>`` a free property (``None`` when unstated)."""
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
