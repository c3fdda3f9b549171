"""Which ATLAS techniques apply to a system, why, and which mitigations are in place or missing.

>>> from advmatrix.threatmodel import load_system_text
>>> system = load_system_text('''
... name: demo
... components:
...   - {id: users, kind: external}
...   - {id: api, kind: service, audience: public, returns: scores}
...   - {id: clf, kind: model, task: classification, modality: image}
... flows: [{from: users, to: api}, {from: api, to: clf}, {from: clf, to: api}]''')
>>> "AML.T0043.001" in predict(system).technique_ids
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..kb import bundled
from .rules import Rule, RuleSet, bundled_rules
from .system import Component, System

__all__ = ["ComponentPrediction", "MitigationAdvice", "Prediction", "TechniqueFinding", "predict"]

#: The stage a mitigation is placed at when neither the rule nor the placement names one, if the
#: mitigation's lifecycle has it: most advice concerns a running system.
PREFERRED_STAGE = "Deployment"


@dataclass(frozen=True)
class MitigationAdvice:
    """One mitigation for one finding: where it goes and whether it is already there."""

    id: str
    name: str
    component: str
    stage: str
    in_place: bool
    in_place_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"id": self.id, "name": self.name, "component": self.component, "stage": self.stage,
                "in_place": self.in_place, "in_place_at": self.in_place_at}


@dataclass(frozen=True)
class TechniqueFinding:
    """A technique that applies to one component, with the reason(s) and the mitigations."""

    technique_id: str
    name: str
    component: str
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    mitigations: tuple[MitigationAdvice, ...]
    tier: str = "likely"

    @property
    def reason(self) -> str:
        """The first reason (the one from the first rule that matched)."""
        return self.reasons[0]

    @property
    def missing(self) -> tuple[MitigationAdvice, ...]:
        """Mitigations not yet in place."""
        return tuple(m for m in self.mitigations if not m.in_place)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"technique": self.technique_id, "name": self.name, "component": self.component,
                "tier": self.tier, "reasons": list(self.reasons), "rules": list(self.rules),
                "mitigations": [m.as_dict() for m in self.mitigations]}


@dataclass(frozen=True)
class ComponentPrediction:
    """Everything predicted for one component, in rule order."""

    component: str
    kind: str
    findings: tuple[TechniqueFinding, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"component": self.component, "kind": self.kind, "findings": [f.as_dict() for f in self.findings]}


@dataclass(frozen=True)
class Prediction:
    """The threat model of one system: per component (in the order of ``system.yaml``) its findings."""

    system: str
    components: tuple[ComponentPrediction, ...]

    @property
    def findings(self) -> tuple[TechniqueFinding, ...]:
        """Every finding of every component."""
        return tuple(f for c in self.components for f in c.findings)

    @property
    def technique_ids(self) -> tuple[str, ...]:
        """The distinct techniques predicted anywhere in the system, sorted."""
        return tuple(sorted({f.technique_id for f in self.findings}))

    @property
    def likely_technique_ids(self) -> tuple[str, ...]:
        """The techniques some ``likely`` rule predicts: the short list to act on first."""
        return tuple(sorted({f.technique_id for f in self.findings if f.tier == "likely"}))

    def for_component(self, component_id: str) -> ComponentPrediction:
        """The prediction of one component; ``KeyError`` naming it when the system has none."""
        for c in self.components:
            if c.component == component_id:
                return c
        raise KeyError(f"no component '{component_id}' in the prediction for '{self.system}'")

    def components_for(self, technique_id: str) -> tuple[str, ...]:
        """The components a technique was predicted for."""
        return tuple(f.component for f in self.findings if f.technique_id == technique_id)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"system": self.system, "techniques": list(self.technique_ids),
                "likely_techniques": list(self.likely_technique_ids),
                "components": [c.as_dict() for c in self.components]}


def _default_stage(lifecycle: tuple[str, ...]) -> str:
    if PREFERRED_STAGE in lifecycle or not lifecycle:
        return PREFERRED_STAGE
    return lifecycle[0]


def _place(system: System, comp: Component, kind: str | None) -> Component:
    """The component a mitigation meant for ``kind`` lands on: the matched one, else the nearest
    of that kind in front of it (upstream), else behind it, else the matched one after all."""
    if kind is None or comp.kind == kind:
        return comp
    for c in (*system.upstream_of(comp), *system.reachable_from(lambda x: x.id == comp.id)):
        if c.kind == kind:
            return c
    return comp


def _advice(system: System, comp: Component, rules: Iterable[Rule], technique_id: str) -> tuple[MitigationAdvice, ...]:
    matrix = bundled()
    rules = list(rules)
    placements: dict[str, Any] = {}
    for rule in rules:
        for mid, p in rule.mitigations.items():
            placements.setdefault(mid, (p, rule.stage))
    ids = list(dict.fromkeys([m.id for m, _ in matrix.mitigations_of(technique_id)] + list(placements)))
    # A control set on a component in front of this one (its content passes through it) protects it too.
    guards = [comp, *system.upstream_of(comp)]
    out = []
    for mid in ids:
        mitigation = matrix.mitigation(mid)
        placement, rule_stage = placements.get(mid, (None, rules[0].stage))
        target = _place(system, comp, placement.component if placement else None)
        stage = (placement.stage if placement else None) or rule_stage or _default_stage(mitigation.lifecycle)
        holder = next((c.id for c in (target, *guards) if mid in c.controls), None)
        out.append(MitigationAdvice(mid, mitigation.name, target.id, stage, holder is not None, holder))
    return tuple(out)


def predict(system: System, rules: RuleSet | Iterable[Rule] | None = None) -> Prediction:
    """Apply ``rules`` (the bundled ones by default) to every component of ``system``.

    Deterministic: components keep their order in the system, findings the order of the rules
    (first rule for a technique wins the position), reasons are de-duplicated in rule order.
    """
    rule_list = list(bundled_rules() if rules is None else rules)
    matrix = bundled()
    out = []
    for comp in system.components:
        hits: dict[str, list[tuple[Rule, str]]] = {}
        for rule in rule_list:
            facts = rule.facts(system, comp)
            if facts is not None:
                hits.setdefault(rule.technique_id, []).append((rule, rule.explain(comp, facts)))
        findings = []
        for tid, matched in hits.items():
            reasons = tuple(dict.fromkeys(r for _, r in matched))
            sources = tuple(dict.fromkeys(f"{r.source}:{r.line}" for r, _ in matched))
            tier = "likely" if any(r.tier == "likely" for r, _ in matched) else "possible"
            findings.append(TechniqueFinding(tid, matrix.technique(tid).name, comp.id, reasons, sources,
                                             _advice(system, comp, (r for r, _ in matched), tid), tier))
        out.append(ComponentPrediction(comp.id, comp.kind, tuple(findings)))
    return Prediction(system.name, tuple(out))
