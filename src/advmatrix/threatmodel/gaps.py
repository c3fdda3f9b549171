"""What a system description leaves open, and what the prediction would gain if it said it.

A field left out is "not stated", and a rule that asks for a stated value does not fire: a model
without ``task`` gets no evasion findings at all. Staying silent about that would read as "evasion
does not apply", so the threat model lists each unstated field that some rule reads, with the
techniques that stating it could add (found by trying the values the field can take), and each
value a BOM import assumed. Free properties the rules read (``properties.on_device``...) are listed
too, after the fields, on the system's own components only. A field that rules read on *other*
components (a tool's ``browses``, read by the rules of the LLM app that calls it) is also tried on the
components next to it, on systems small enough for that.

>>> from advmatrix.threatmodel import load_system_text
>>> system = load_system_text("name: d\\ncomponents: [{id: users, kind: external}, {id: clf, kind: model}]\\n"
...                           "flows: [{from: users, to: clf}, {from: clf, to: users}]")
>>> gap = next(g for g in unstated(system) if g.field == "task")
>>> gap.component, "AML.T0015" in gap.techniques
('clf', True)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._conditions import GRAPH_LEAVES, Condition
from ._placement import FILE_CHECKS
from ._propchecks import (
    check_property_types,
    field_where,
    misplaced_properties,
    misspelt_properties,
    mistyped_properties,
    property_where,
    raw_property_problems,
)
from ._propreads import flat_values
from ._rulecheck import closed_values
from .predict import Prediction, bundled_weights
from .rules import Rule, RuleSet, bundled_rules
from .system import Component, System

__all__ = [
    "Assumption",
    "Gap",
    "assumed",
    "check_property_types",
    "field_where",
    "idle_controls",
    "misplaced_properties",
    "misspelt_properties",
    "mistyped_properties",
    "property_where",
    "raw_property_problems",
    "unstated",
]

#: A free-text field is tried with this value: it matches rules that only ask that the field be stated.
_STATED = "<stated>"


@dataclass(frozen=True)
class Gap:
    """A field ``component`` leaves unstated that rules read, and the techniques stating it could add
    (likeliest first)."""

    component: str
    field: str
    techniques: tuple[str, ...]
    #: Other components some of those techniques would be predicted for (a tool's field decides what its
    #: LLM app is exposed to).
    elsewhere: tuple[str, ...] = ()
    #: Techniques predicted now that saying it false would rule out (a hedge: financial harm while
    #: ``properties.financial`` is unset), or some value of it, on the components next to it (a tool's ``readers``).
    removes: tuple[str, ...] = ()
    #: Other components some of ``removes`` are predicted for (the app whose tool it is).
    removed_from: tuple[str, ...] = ()
    #: The value that, stated, rules ``removes`` out: on the component itself false for a hedge, true for a
    #: field whose rules fire until it is said (a tool's ``hosted``); next door, the one true/false value that
    #: does, or None where it takes a value of a field of many (a tool's ``readers``).
    removed_by: bool | None = False

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"component": self.component, "field": self.field, "techniques": list(self.techniques),
                "elsewhere": list(self.elsewhere), "removes": list(self.removes),
                "removed_from": list(self.removed_from), "removed_by": self.removed_by}


@dataclass(frozen=True)
class Assumption:
    """A value the BOM import assumed because the BOM did not give it."""

    component: str
    field: str
    value: str

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"component": self.component, "field": self.field, "value": self.value}


def _type_values(comp: Component, name: str) -> list[Any] | None:
    """The values a field's type allows when it is closed (a Literal, a bool), else None."""
    return closed_values(type(comp), name)


def _moot(system: System, comp: Component, name: str) -> bool:
    """Whether other stated fields already answer ``name`` (no value is left to state): a model trained here
    from scratch has no base model; a vendor-hosted one is not shipped, run on our hardware or in our images;
    field hardware is not users' devices; a text model senses nothing physical and checks no face or voice, and
    one an app prompts (or a translator) writes text; a service that asks for no account has no sign-up; a tool
    that moves things in the world, or whose only source is drawn over trusted flows, reads no web pages."""
    if name == "open_signup" and comp.get("authentication") == "none":
        return True
    if name == "properties.financial" and comp.kind == "llm-app" and any(
            system.component(t).properties.get("financial") is True for t in comp.get("tools") or ()):
        return True  # an app whose tool moves money moves money (audit W: false was offered, and dropped the harm)
    if name == "outputs" and comp.kind == "model" and comp.get("modality") == "text" and (
            comp.get("task") == "translation" or (comp.get("task") == "generation" and any(
                system.component(a).kind == "llm-app" for a in system.flows_into().get(comp.id, ())))):
        return True  # the language model an app prompts writes the app's text (audits L and O)
    if name == "browses" and comp.kind == "tool":
        # (the app's own calls to it aside: they carry its arguments, not pages)
        drawn = [a for a in system.flows_into().get(comp.id, ()) if system.component(a).kind != "llm-app"]
        untrusted = [a for a in system.flows_into(untrusted=True).get(comp.id, ()) if a in drawn]
        if comp.properties.get("physical") is True or (drawn and not untrusted):
            return True
    if name in ("base_model", "source") and comp.kind == "model":
        # trained here from scratch: no base model, and its weights come from us (a hub or a vendor as
        # its source would contradict trained_by, not complete it)
        return comp.get("trained_by") == "us" and not comp.get("fine_tuned")
    if name in ("properties.on_device", "properties.edge", "properties.mobile_app", "properties.container_image"):
        if comp.get("artifact_format") == "hosted" and (comp.get("trained_by") == "vendor"
                                                        or comp.get("source") == "vendor-api"):
            return True
    other = {"properties.on_device": "edge", "properties.edge": "on_device"}.get(name)
    if other and comp.properties.get(other) is True:
        return True
    if name == "properties.physical" and comp.kind == "tool" and comp.get("side_effects") in ("read", "none"):
        return True  # a tool that only reads moves nothing in the world
    # refused as contradictions: code can delete anything, a lookup returns content, and a tool that hands
    # nothing back reads no page into the app
    if (name, comp.get("side_effects")) in (("append_only", "code-execution"), ("sends_only", "read"),
                                            ("sends_only", "none")) or (name == "browses" and comp.get("sends_only")) \
            or (name == "sends_only" and comp.get("browses")):
        return True
    if comp.kind == "model" and name in ("properties.physical", "properties.verifies_identity"):
        return comp.get("modality") in (("text", "tabular") if name == "properties.physical" else ("text",))
    return False


#: Kinds that describe outsiders: their free properties are not ours to state.
_OUTSIDE = ("external", "adversary")


def _said(comp: Component, name: str) -> bool:
    """Whether ``name`` is stated, or cannot be (a field of another kind)."""
    if name.startswith("properties."):
        return comp.properties.get(name.split(".", 1)[1]) is not None
    return name not in type(comp).model_fields or comp.get(name) is not None


def _with(comp: Component, name: str, value: Any) -> Component:
    if name.startswith("properties."):
        return comp.model_copy(update={"properties": {**comp.properties, name.split(".", 1)[1]: value}})
    return comp.model_copy(update={name: value})


#: Systems up to this many components also get what a field changes for the components next to it,
#: within this many probes (each a copy of the system whose graph is walked afresh).
REMOTE_LIMIT = 300
REMOTE_PROBES = 400
#: ... and within this many rule evaluations on those copies (about 1-2 ms each on a dense system).
REMOTE_WORK = 8_000


#: The open question of a tool nothing is drawn flowing into: not a field to state, a flow to draw.
UNDRAWN_SOURCE = "flows in"


#: How many tools a description's open list probes with a source drawn in (each probe a copy of the system).
SOURCE_PROBES = 20


def _undrawn_source(system: System, tool: Component, by_technique: Mapping[str, list[Rule]], have: Any,
                    rates: Mapping[str, float], spent: list[int]) -> list[Gap]:
    """For a tool returning content that nothing but its apps flows into (read as outsiders' text, as the
    docs say an unstated source is), the findings on its apps that a trusted source of ours drawn into it
    would rule out. A tool that browses reads the web; one that only sends returns no content."""
    from .system import Flow

    if tool.get("browses") is True or tool.get("sends_only") is True or tool.get("side_effects") == "none":
        return []
    if any(system.component(a).kind != "llm-app" for a in system.flows_into().get(tool.id, ())):
        return []
    apps = [c for c in system.of_kind("llm-app") if tool.id in (c.get("tools") or ())]
    if not apps:
        return []
    spent[0] += 1
    ours = next(f"{tool.id}-source{n or ''}" for n in range(len(system.components) + 1)
                if f"{tool.id}-source{n or ''}" not in system.positions())
    source = System.model_validate({"name": "probe", "components": [{"id": ours, "kind": "dataset",
                                                                     "writers": "internal"}]}).components[0]
    probe = system.model_copy(update={"components": (*system.components, source),
                                      "flows": (*system.flows, Flow.model_validate(
                                          {"from": ours, "to": tool.id, "trusted": True}))})
    gone = {(a.id, t) for a in apps for t in have(a)
            if not any(r.facts(probe, probe.component(a.id)) is not None for r in by_technique[t])}
    if not gone:
        return []
    removes = tuple(sorted({t for _, t in gone}, key=lambda t: (-rates.get(t, 0.0), t)))
    return [Gap(tool.id, UNDRAWN_SOURCE, (), (), removes, tuple(sorted({a for a, _ in gone}, key=system.position)),
                None)]


def _selector_fields(cond: Condition) -> set[str]:
    """The fields a condition reads on other components: those inside its graph leaves' selectors."""
    out: set[str] = set()
    for child in cond.children:
        if cond.op in GRAPH_LEAVES:
            out.update(leaf.op for leaf in child.leaves())
        out |= _selector_fields(child)
    return out


def _neighbours(system: System) -> dict[str, tuple[str, ...]]:
    """For each component, the components a flow (or a tool list) joins it to, either way."""
    out: dict[str, dict[str, None]] = {}
    for a, b, _ in system.edges():
        out.setdefault(a, {})[b] = None
        out.setdefault(b, {})[a] = None
    return {k: tuple(v) for k, v in out.items()}


def _candidates(comp: Component, name: str, rules: list[Rule]) -> list[Any]:
    closed = _type_values(comp, name)
    if closed is not None:
        return closed
    said = [v for r in rules for leaf in r.when.all_leaves() if leaf.op == name for v in flat_values(leaf.value)]
    return list(dict.fromkeys([*said, _STATED]))


def unstated(system: System, rules: RuleSet | Iterable[Rule] | None = None, *,
             predicted: Mapping[str, Iterable[str]] | None = None) -> tuple[Gap, ...]:
    """For each component, each field it leaves unstated that a rule reads, with the techniques that
    would be predicted for it under some value of that field and are not predicted now (``predicted``:
    per component id, the techniques a prediction with the same rules already found, saving the work)."""
    rule_list = list(bundled_rules() if rules is None else rules)
    rates = bundled_weights().techniques
    reads: dict[str, list[Rule]] = {}
    remote: dict[str, list[Rule]] = {}
    # sorted, not a set's order: the probes below share a budget, so the order fields are probed in
    # decides which are, and a set's order changed with Python's hash seed from one run to the next
    for rule in rule_list:
        for name in sorted({leaf.op for leaf in rule.when.leaves()} - {"kind"}):
            reads.setdefault(name, []).append(rule)
        for name in sorted(_selector_fields(rule.when) - {"kind"}):
            remote.setdefault(name, []).append(rule)
    by_technique: dict[str, list[Rule]] = {}
    negated: dict[str, list[Rule]] = {}  # the rules a field said false could stop: they read it under a 'not'
    for rule in rule_list:
        by_technique.setdefault(rule.technique_id, []).append(rule)
        for name in _under_not(rule.when):
            negated.setdefault(name, []).append(rule)
    haves: dict[str, set[str]] = {}

    def have(comp: Component) -> set[str]:
        if comp.id not in haves:
            haves[comp.id] = (set(predicted.get(comp.id, ())) if predicted is not None
                              else {r.technique_id for r in rule_list if r.facts(system, comp) is not None})
        return haves[comp.id]

    # What a field changes for its neighbours is probed on small systems only: each probe is a new
    # system whose graph is walked afresh, too slow for thousands of components.
    near = _neighbours(system) if len(system.components) <= REMOTE_LIMIT else {}
    probes: dict[tuple[Any, ...], list[tuple[str, str]]] = {}
    work = [0]  # rule evaluations spent on probes: a store feeding 150 apps costs 150 per trial value
    sources = [0]  # tools probed with a source drawn into them
    out: list[Gap] = []
    free: list[Gap] = []
    for comp in system.components:
        found: list[Gap] = []
        for name in dict.fromkeys([*reads, *(remote if comp.id in near else ())]):
            if _said(comp, name) or _moot(system, comp, name) or (
                    name.startswith("properties.") and comp.kind in _OUTSIDE):
                continue
            pending = [r for r in reads.get(name, ()) if r.technique_id not in have(comp)]
            others = [(system.component(i), r) for i in near.get(comp.id, ()) for r in remote.get(name, ())
                      if r.technique_id not in have(system.component(i))]
            # and what a value of it might take from the neighbours: only a closed field has one to state
            held = sorted({(i, r.technique_id) for i in near.get(comp.id, ()) for r in remote.get(name, ())
                           if r.technique_id in have(system.component(i))}) if _type_values(comp, name) else []
            gained: set[str] = set()
            where: set[str] = set()
            lost: set[tuple[str, str]] = set()
            losing: set[Any] = set()  # the values that rule findings out next door
            for value in (_candidates(comp, name, [*pending, *(r for _, r in others)])
                          if pending or others or held else ()):
                probe = _with(comp, name, value)
                for rule in pending:
                    if rule.technique_id not in gained and rule.facts(system, probe) is not None:
                        gained.add(rule.technique_id)
                if others or held:
                    # Alike components next to the same ones gain alike (a hundred tools of one app).
                    key = (comp.kind, repr(comp.model_dump(exclude={"id", "name", "description"})),
                           near[comp.id], name, repr(value))
                    cost = len(others) + sum(len(by_technique[t]) for _, t in held)
                    if key not in probes and len(probes) < REMOTE_PROBES and work[0] + cost <= REMOTE_WORK:
                        work[0] += cost
                        probed = system.model_copy(update={"components": [probe if c.id == comp.id else c
                                                                          for c in system.components]})
                        probes[key] = ([(other.id, rule.technique_id) for other, rule in others
                                        if rule.facts(probed, probed.component(other.id)) is not None],
                                       [(i, t) for i, t in held if not any(
                                           r.facts(probed, probed.component(i)) is not None for r in by_technique[t])])
                    adds, drops = probes.get(key, ((), ()))
                    for other_id, tid in adds:
                        gained.add(tid)
                        where.add(other_id)
                    lost.update(drops)
                    if drops:
                        losing.add(value)
            by, removed = _ruled_out(system, comp, name, negated.get(name, ()), by_technique, have(comp))
            if lost and not removed:
                # next door alone: the one true/false value that does it, else None (say which value holds)
                by = next(iter(losing)) if len(losing) == 1 and isinstance(next(iter(losing)), bool) else None
            removed |= {t for _, t in lost}
            if gained or removed:
                # Likeliest first (the learned rate of each technique), so a short list shows what matters.
                found.append(Gap(comp.id, name, tuple(sorted(gained, key=lambda t: (-rates.get(t, 0.0), t))),
                                 tuple(sorted(where, key=system.position)),
                                 tuple(sorted(removed, key=lambda t: (-rates.get(t, 0.0), t))),
                                 tuple(sorted({i for i, _ in lost}, key=system.position)), by))
        # The field that would change most first: that is the one worth stating.
        found.sort(key=lambda g: (-len(g.techniques), -len(g.removes), g.field))
        if comp.kind == "tool" and len(system.components) <= REMOTE_LIMIT and sources[0] < SOURCE_PROBES:
            found += _undrawn_source(system, comp, by_technique, have, rates, sources)
        out += [g for g in found if not g.field.startswith("properties.")]
        free += [g for g in found if g.field.startswith("properties.")]
    # Free properties after every schema field: unset means "no" for them, so they are hints to check
    # rather than gaps, and a short list should show the gaps first.
    return tuple(out + free)


def _under_not(cond: Condition, negated: bool = False) -> set[str]:
    """The component's own fields a condition reads inside a ``not`` (``not: {properties.financial: {set:
    true}}``): only those can turn a match off when said false, since unstated already reads as not true."""
    if cond.op in GRAPH_LEAVES:
        return set()
    if cond.op in ("all", "any", "not"):
        return set().union(*(_under_not(c, negated or cond.op == "not") for c in cond.children))
    return {cond.op} if negated else set()


def _ruled_out(system: System, comp: Component, name: str, readers: Iterable[Rule],
               by_technique: Mapping[str, list[Rule]], have: set[str]) -> tuple[bool, set[str]]:
    """The value of ``name`` and the techniques predicted for ``comp`` that saying it would rule out: a
    true/false field or free property, unstated, that a rule reading it fires through (a hedge: "where that
    moves money ..."), and no rule finds the technique on ``comp`` once it is false; or, for a field (unset
    free properties read as no already), once it is true (``hosted``: no code of the tool's installed here)."""
    if not (name.startswith("properties.") or _type_values(comp, name) == [True, False]):
        return False, set()
    firing = {r.technique_id for r in readers if r.technique_id in have and r.facts(system, comp) is not None}
    for value in (False,) if name.startswith("properties.") else (False, True):
        probe = _with(comp, name, value)
        gone = {t for t in firing if not any(r.facts(system, probe) is not None for r in by_technique[t])}
        if gone:
            return value, gone
    return False, set()


def assumed(system: System) -> tuple[Assumption, ...]:
    """The values a CycloneDX import filled in itself (listed in a component's ``properties.assumed``)."""
    out = []
    for comp in system.components:
        for name in filter(None, (n.strip() for n in str(comp.properties.get("assumed", "")).split(","))):
            out.append(Assumption(comp.id, name, str(comp.get(name))))
    return tuple(out)


def idle_controls(system: System, prediction: Prediction) -> list[tuple[str, str, str, int]]:
    """Each control a component lists that counts for none of the findings while a finding there or next to
    it advises it elsewhere (an agent's permissions written on its tool, approvals on one of its two tools, a
    query limit written on the data set a model learns from rather than on the API in front): (component
    listing it, mitigation, the first such finding as "technique on component needs it on target", how many
    in all), in the order of the components. Said so that a control written in the wrong place is not read
    as held; a control that simply concerns no finding is not one."""
    apps = {c.id: set(c.get("tools") or ()) for c in system.components if c.kind == "llm-app"}
    near: dict[str, set[str]] = {}  # one flow away, either way
    for a, b, _ in system.edges():
        near.setdefault(a, set()).add(b)
        near.setdefault(b, set()).add(a)
    listed = {(c.id, m) for c in system.components for m in c.controls}
    # counted anywhere, it is where it belongs for that finding: only one that counts nowhere is idle
    listed -= {(m.in_place_at, m.id) for f in prediction.findings for m in f.mitigations if m.in_place}
    by_mid: dict[str, list[str]] = {}
    for cid, mid in listed:
        by_mid.setdefault(mid, []).append(cid)
    first: dict[tuple[str, str], str] = {}
    count: dict[tuple[str, str], int] = {}
    if not by_mid:
        return []
    for f in prediction.findings:
        # an app's tools, or the components one flow from the finding's, and the finding's own
        around = apps.get(f.component, set()) | near.get(f.component, set())
        for m in f.mitigations:
            if m.in_place:
                continue
            for cid in by_mid.get(m.id, ()):
                mid = m.id
                if mid in FILE_CHECKS and system.component(cid).kind == "model":
                    continue  # a model's own file check is about its own file, not misplaced for another's
                if cid != m.component and (cid in around or cid == f.component):
                    first.setdefault((cid, mid), f"{f.technique_id} on {f.component} needs it on {m.component}")
                    count[(cid, mid)] = count.get((cid, mid), 0) + 1
    order = {c.id: i for i, c in enumerate(system.components)}
    return [(cid, mid, first[(cid, mid)], count[(cid, mid)])
            for cid, mid in sorted(first, key=lambda key: (order[key[0]], key[1]))]


def unused_controls(system: System, prediction: Prediction) -> list[tuple[str, str]]:
    """Each (component, mitigation) a component lists that no finding of the system names at all, held or
    missing: ATLAS links it to no technique predicted here (provenance on a RAG store, whose poisoning ATLAS
    gives no mitigation), or it would stop none of them (alignment of a vendor's model as it came), so it is
    credited for nothing. Said, since a control accepted without a word reads
    as counted (audit Z); :func:`idle_controls` covers one that a finding names but counts elsewhere. Controls
    a field stands for (``rate_limited``, ``signed``) are the field's, not listed."""
    named = {m.id for f in prediction.findings for m in f.mitigations}
    return [(c.id, m) for c in system.components if c.kind != "adversary" for m in c.controls if m not in named]
