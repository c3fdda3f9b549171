"""Which ATLAS techniques apply to a system, why, and which mitigations are in place or missing.

Every predicted technique gets a score, an estimate of P(technique used | what the rules found), from
a model learned on the even-numbered ATLAS case studies (``rules/_weights.yaml``, written by
``bench/threatmodel_validate.py --learn``): a logistic regression over how often case studies use the
technique, how many rules found it, how specific the most specific of them is, whether a rule's author
called it likely, and whether it is a sub-technique (:mod:`._ranker`). ``Prediction.ranked()`` sorts by
it, and the default cut (``likely_technique_ids``, and a finding's ``tier``) keeps the best ``k``
techniques scoring at least the table's threshold.

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

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from importlib import resources
from typing import Any

from ..errors import FormatError
from ..kb import bundled
from ._advice import MitigationAdvice, advice
from ._facts import ADVERSARIES, matched_ids
from ._load import read_yaml
from ._ranker import Ranker, fit_ranker, specificity
from .rules import Rule, RuleSet, bundled_rules
from .system import Component, System

__all__ = ["ComponentPrediction", "MitigationAdvice", "Prediction", "TechniqueFinding", "Weights", "bundled_weights",
           "fired_rules", "learn_weights", "predict", "rule_key", "rule_theme", "specificity", "technique_scores"]

WEIGHTS_FILE = "_weights.yaml"


# -- scores --------------------------------------------------------------------------------------


def rule_key(rule: Rule) -> str:
    """A rule's key in the weights table: file, technique and a digest of its condition.

    Not the line number, so that editing other rules in the file keeps the learned weight; changing the
    rule's own condition makes it a new rule, which falls back to its prior until the table is regenerated.
    """
    # Rules hold dicts, so they cannot be hashed; remember by identity, keeping the rule so the id stays its own.
    got = _KEYS.get(id(rule))
    if got is not None and got[0] is rule:
        return got[1]
    digest = hashlib.sha1(repr(rule.when).encode("utf-8")).hexdigest()[:10]
    key = f"{rule.source}|{rule.technique_id}|{digest}"
    if len(_KEYS) > 10_000:
        _KEYS.clear()
    _KEYS[id(rule)] = (rule, key)
    return key


_KEYS: dict[int, tuple[Rule, str]] = {}


def rule_theme(rule: Rule) -> str:
    """The rule's theme: the stem of the file it comes from (``evasion``, ``llm-prompt``...)."""
    return rule.source.rsplit("/", 1)[-1].removesuffix(".yaml")


@dataclass(frozen=True)
class Weights:
    """The learned table behind the scores: P(technique used | rule fired), with the priors and the cut.

    ``rules`` maps :func:`rule_key` to the smoothed estimate; a rule missing there gets :meth:`prior`: its
    technique's rate (how often the technique was used when any of its rules fired, itself smoothed toward
    the technique's base rate and the theme's rate), else its theme's rate. ``combine`` (``noisy-or`` or
    ``max``) joins the rules that predict one technique; ``bonus`` per point of :func:`specificity` is added
    once per technique; the default cut keeps the ``k`` best techniques scoring at least ``threshold``.
    """

    rules: Mapping[str, float] = field(default_factory=dict)
    themes: Mapping[str, float] = field(default_factory=dict)
    techniques: Mapping[str, float] = field(default_factory=dict)
    #: How often a rule of each tier (``likely``, ``possible``) saw its technique used when it fired.
    tiers: Mapping[str, float] = field(default_factory=dict)
    default: float = 0.2
    bonus: float = 0.01
    k: int = 25
    threshold: float = 0.0
    combine: str = "noisy-or"
    #: The ranking model; when present it scores the techniques and the per-rule estimates are a record only.
    ranker: Ranker | None = None

    def prior(self, theme: str, technique_id: str, tier: str | None = None) -> float:
        """The estimate for a rule with no record of its own: its technique's rate, else its theme's,
        averaged with its tier's rate when the table has one (the rule author's judgement as a prior)."""
        got = self.techniques.get(technique_id)
        base = got if got is not None else self.themes.get(theme, self.default)
        by_tier = self.tiers.get(tier) if tier else None
        return base if by_tier is None else (base + by_tier) / 2

    def rule_score(self, rule: Rule) -> float:
        """P(the rule's technique is used | the rule fired), from the table or the prior."""
        got = self.rules.get(rule_key(rule))
        return got if got is not None else self.prior(rule_theme(rule), rule.technique_id, rule.tier)

    @classmethod
    def from_dict(cls, data: Any, source: str = WEIGHTS_FILE) -> Weights:
        """Build from the YAML mapping ``--learn`` writes; ``FormatError`` naming ``source`` when malformed."""
        if not isinstance(data, dict):
            raise FormatError(f"{source}: expected a mapping of weights")
        try:
            rules = {str(k): float(v["p"] if isinstance(v, dict) else v) for k, v in (data.get("rules") or {}).items()}
            cut = data.get("cut") or {}
            return cls(rules=rules,
                       themes={str(k): float(v) for k, v in (data.get("themes") or {}).items()},
                       techniques={str(k): float(v) for k, v in (data.get("techniques") or {}).items()},
                       tiers={str(k): float(v) for k, v in (data.get("tiers") or {}).items()},
                       default=float(data.get("default", 0.2)), bonus=float(data.get("bonus", 0.01)),
                       k=int(cut.get("k", 25)), threshold=float(cut.get("threshold", 0.0)),
                       combine=str(data.get("combine", "noisy-or")),
                       ranker=Ranker.from_dict(data["ranker"]) if data.get("ranker") else None)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise FormatError(f"{source}: malformed weights ({exc})") from None


@cache
def bundled_weights() -> Weights:
    """The weights shipped with advmatrix, learned from the even-numbered ATLAS case studies."""
    entry = resources.files(__package__).joinpath("rules", WEIGHTS_FILE)
    if not entry.is_file():
        return Weights()
    return Weights.from_dict(read_yaml(entry.read_text(encoding="utf-8"), f"rules/{WEIGHTS_FILE}").data,
                             f"rules/{WEIGHTS_FILE}")


def _noisy_or(ps: Iterable[float]) -> float:
    miss = 1.0
    for p in ps:
        miss *= 1.0 - min(1.0, max(0.0, p))
    return 1.0 - miss


def technique_scores(fired: Iterable[Rule], weights: Weights) -> dict[str, float]:
    """Each technique's score from the rules that fired for it anywhere (a rule counted once however many
    components it fired on): the ranking model's P(used) when ``weights`` has one, else noisy-or (or max)
    of the rules' estimates plus the specificity bonus of its most specific rule, clipped to [0, 1]."""
    if weights.ranker is not None:
        return {t: round(p, 6) for t, p in weights.ranker.scores(fired).items()}
    by_tid: dict[str, dict[str, Rule]] = {}
    for rule in fired:
        by_tid.setdefault(rule.technique_id, {}).setdefault(rule_key(rule), rule)
    out = {}
    for tid, rules in by_tid.items():
        ps = [weights.rule_score(r) for r in rules.values()]
        base = max(ps) if weights.combine == "max" else _noisy_or(ps)
        bonus = weights.bonus * max(specificity(r) for r in rules.values())
        out[tid] = round(min(1.0, max(0.0, base + bonus)), 6)
    return out


def learn_weights(observations: Iterable[tuple[Iterable[Rule], Iterable[str]]], rules: Iterable[Rule], *,
                  smoothing: float = 1.0, bonus: float = 0.0, k: int = 25, threshold: float = 0.0,
                  combine: str = "noisy-or", ranker_c: float | None = None) -> dict[str, Any]:
    """The weights table (plain data, as ``_weights.yaml`` holds it) from ``observations``: for each system
    the rules that fired on it and the techniques actually used against it.

    Smoothed level by level, each toward the level above: a theme's rate (uses / fires of its rules) toward
    the overall rate; a technique's rate (used / some rule for it fired) toward the mean of its base rate
    (share of systems it was used against) and its first rule's theme rate; a tier's rate likewise; a rule's
    estimate (uses + ``smoothing`` * prior) / (fires + ``smoothing``), the prior being the mean of its
    technique's and its tier's rates. A rule counts once per system.

    Why the tier: most rules fire on a handful of systems, too few for their own record to rank them; the
    author's ``likely``/``possible`` judgement, priced by how often each tier was right, ranks them better
    (leave-one-out recall on the even half at 25 techniques: 0.65 -> 0.73).

    With ``ranker_c`` the table also holds the ranking model fitted with that strength (see
    :func:`._ranker.fit_ranker`), which then scores in place of the per-rule estimates.
    """
    obs = [({rule_key(r): r for r in fired}, set(used)) for fired, used in observations]
    rule_list = list(rules)
    n = len(obs)
    first: dict[str, str] = {}
    for r in rule_list:
        first.setdefault(r.technique_id, rule_theme(r))
    fires: Counter[str] = Counter()
    uses: Counter[str] = Counter()
    theme_fires: Counter[str] = Counter()
    theme_uses: Counter[str] = Counter()
    tier_fires: Counter[str] = Counter()
    tier_uses: Counter[str] = Counter()
    tech_fires: Counter[str] = Counter()
    tech_uses: Counter[str] = Counter()
    for fired, used in obs:
        for key, r in fired.items():
            hit = r.technique_id in used
            fires[key] += 1
            uses[key] += hit
            theme_fires[rule_theme(r)] += 1
            theme_uses[rule_theme(r)] += hit
            tier_fires[r.tier] += 1
            tier_uses[r.tier] += hit
        for t in {r.technique_id for r in fired.values()}:
            tech_fires[t] += 1
            tech_uses[t] += t in used
    default = round((sum(theme_uses.values()) + 1) / (sum(theme_fires.values()) + 2), 4)
    themes = {t: round((theme_uses[t] + 2 * default) / (theme_fires[t] + 2), 4) for t in sorted(theme_fires)}
    base = {t: (sum(t in used for _, used in obs) + 0.5) / (n + 1) for t in first}
    techniques = {t: round((tech_uses[t] + base[t] + themes.get(first[t], default)) / (tech_fires[t] + 2), 4)
                  for t in sorted(first)}
    tiers = {t: round((tier_uses[t] + 2 * default) / (tier_fires[t] + 2), 4) for t in sorted(tier_fires)}
    prior = Weights(themes=themes, techniques=techniques, tiers=tiers, default=default)
    table = {}
    for r in rule_list:
        key = rule_key(r)
        p0 = prior.prior(rule_theme(r), r.technique_id, r.tier)
        table[key] = {"fires": fires[key], "uses": uses[key],
                      "p": round((uses[key] + smoothing * p0) / (fires[key] + smoothing), 4)}
    model = {}
    if ranker_c is not None:
        model["ranker"] = {"c": ranker_c, **fit_ranker([(f.values(), u) for f, u in obs], ranker_c).as_dict()}
    return {"case_studies": n, "smoothing": smoothing, "combine": combine, "default": default, "bonus": bonus,
            "cut": {"k": k, "threshold": threshold}, "themes": themes, "tiers": tiers, "techniques": techniques,
            "rules": dict(sorted(table.items())), **model}


def _cut(scores: Mapping[str, float], k: int | None, threshold: float) -> tuple[str, ...]:
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = [tid for tid, s in ranked if s >= threshold]
    return tuple(kept if k is None else kept[:k])


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
    #: P(technique used | these rules fired on this component), see :func:`technique_scores`.
    score: float = 0.0
    #: Where every rule that found it is a hedge (:attr:`.rules.Rule.hedged_on`): the fields it waits on,
    #: true while they are unstated. Empty where a rule found it outright.
    hedged_on: tuple[str, ...] = ()
    #: Where every rule that found it asks for an adversary (:attr:`.rules.Rule.needs_adversary`), the ids of
    #: the adversaries it was found for; empty where it stands for anyone.
    adversaries: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        """The first reason (the one from the first rule that matched)."""
        return self.reasons[0]

    @property
    def missing(self) -> tuple[MitigationAdvice, ...]:
        """Mitigations not yet in place."""
        return tuple(m for m in self.mitigations if not m.in_place)

    @property
    def preventive(self) -> tuple[MitigationAdvice, ...]:
        """The mitigations that can stop this finding, not only record it."""
        return tuple(m for m in self.mitigations if m.prevents)

    @property
    def mitigated(self) -> bool:
        """Whether a mitigation that stops it is in place (a log of the attack alone is not)."""
        return any(m.in_place for m in self.preventive)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"technique": self.technique_id, "name": self.name, "component": self.component,
                "tier": self.tier, "score": self.score, "reasons": list(self.reasons), "rules": list(self.rules),
                "hedged_on": list(self.hedged_on), "adversaries": list(self.adversaries),
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
    #: (technique, score) for every technique predicted anywhere, best first; see :meth:`ranked`.
    scores: tuple[tuple[str, float], ...] = ()
    #: The default cut: at most ``k`` techniques, each scoring at least ``threshold``.
    k: int = 25
    threshold: float = 0.0
    #: Where the description names two or more adversaries, each one's short list: the default cut of the
    #: scores without the rules only another adversary matched.
    adversary_likely: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    # cached (the dataclass is frozen, its tuples too): the attack-path search asks which components
    # have a technique for each technique and adversary, and each answer had gathered every finding again
    @cached_property
    def findings(self) -> tuple[TechniqueFinding, ...]:
        """Every finding of every component."""
        return tuple(f for c in self.components for f in c.findings)

    @cached_property
    def _components_by_technique(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for f in self.findings:
            out.setdefault(f.technique_id, []).append(f.component)
        return {t: tuple(ids) for t, ids in out.items()}

    @property
    def technique_ids(self) -> tuple[str, ...]:
        """The distinct techniques predicted anywhere in the system, sorted."""
        return tuple(sorted({f.technique_id for f in self.findings}))

    @cached_property
    def hedged_ids(self) -> frozenset[str]:
        """The techniques every finding of which is a hedge (see :attr:`TechniqueFinding.hedged_on`)."""
        hedged = {f.technique_id for f in self.findings if f.hedged_on}
        return frozenset(hedged - {f.technique_id for f in self.findings if not f.hedged_on})

    def likely_for(self, adversary: str | None) -> tuple[str, ...]:
        """``adversary``'s short list (see :attr:`adversary_likely`), else the system's."""
        return self.adversary_likely.get(adversary or "", self.likely_technique_ids)

    def stopped(self, technique_id: str, components: Iterable[str], passed: Iterable[str] = ()) -> tuple[str, ...]:
        """The controls in place that stop ``technique_id`` on every one of ``components`` (a path step), or
        () where one of them lacks any; ``passed``: controls an earlier step got past, which stop nothing here."""
        found = [f for c in components if (f := self._finding_at.get((technique_id, c))) is not None]
        held = [[m.id for m in f.preventive if m.in_place and m.id not in passed] for f in found]
        return tuple(dict.fromkeys(x for h in held for x in h)) if held and all(held) else ()

    @cached_property
    def _finding_at(self) -> dict[tuple[str, str], TechniqueFinding]:
        return {(f.technique_id, f.component): f for f in self.findings}

    @cached_property
    def _hedges(self) -> frozenset[tuple[str, str]]:
        return frozenset((f.technique_id, f.component) for f in self.findings if f.hedged_on)

    def hedged(self, technique_id: str, component: str) -> bool:
        """Whether the finding of ``technique_id`` on ``component`` is a hedge (:attr:`TechniqueFinding.hedged_on`)."""
        return (technique_id, component) in self._hedges

    @cached_property
    def _found_for(self) -> dict[tuple[str, str], tuple[str, ...]]:
        return {(f.technique_id, f.component): f.adversaries for f in self.findings}

    def open_to(self, technique_id: str, component: str, adversary: str) -> bool:
        """Whether ``adversary`` can take the finding of ``technique_id`` on ``component``: it stands for
        anyone, or was found for this adversary."""
        found = self._found_for.get((technique_id, component), ())
        return not found or adversary in found

    @property
    def likely_technique_ids(self) -> tuple[str, ...]:
        """The short list to act on first, best first: the default cut of :meth:`ranked`."""
        return self.top_technique_ids(self.k, self.threshold)

    def ranked(self, k: int | None = None) -> tuple[tuple[str, float], ...]:
        """(technique, score) pairs, highest score first (ties by ID); the first ``k`` when given."""
        return self.scores if k is None else self.scores[:k]

    def top_technique_ids(self, k: int | None = 25, threshold: float = 0.0) -> tuple[str, ...]:
        """The IDs of the best ``k`` techniques (all when None) that score at least ``threshold``."""
        return _cut(dict(self.scores), k, threshold)

    def score(self, technique_id: str) -> float:
        """A technique's score, 0.0 when nothing predicts it."""
        return dict(self.scores).get(technique_id, 0.0)

    def for_component(self, component_id: str) -> ComponentPrediction:
        """The prediction of one component; ``KeyError`` naming it when the system has none."""
        for c in self.components:
            if c.component == component_id:
                return c
        raise KeyError(f"no component '{component_id}' in the prediction for '{self.system}'")

    def components_for(self, technique_id: str) -> tuple[str, ...]:
        """The components a technique was predicted for."""
        return self._components_by_technique.get(technique_id, ())

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"system": self.system, "techniques": list(self.technique_ids),
                "likely_techniques": list(self.likely_technique_ids),
                "ranked": [{"technique": t, "score": s} for t, s in self.scores],
                "components": [c.as_dict() for c in self.components]}


def fired_rules(system: System, rules: RuleSet | Iterable[Rule] | None = None) -> list[tuple[Component, Rule, str]]:
    """(component, rule, reason) for every rule that matches a component, in component then rule order."""
    return [(comp, rule, reason) for comp, rule, reason, _, _ in _fired(system, rules)]


def _fired(system: System, rules: RuleSet | Iterable[Rule] | None,
           ) -> list[tuple[Component, Rule, str, tuple[str, ...]]]:
    """As :func:`fired_rules`, with the ids of the components each match's graph leaves found."""
    rule_list = list(bundled_rules() if rules is None else rules)
    out = []
    for comp in system.components:
        for rule in rule_list:
            facts = rule.facts(system, comp)
            if facts is not None:
                out.append((comp, rule, rule.explain(comp, facts), matched_ids(facts, rule.shown_leaves),
                            tuple(i for i in facts.get(ADVERSARIES, "").split("\x1f") if i)))
    return out


def predict(system: System, rules: RuleSet | Iterable[Rule] | None = None,
            weights: Weights | None = None) -> Prediction:
    """Apply ``rules`` (the bundled ones by default) to every component of ``system`` and score what they
    predict with ``weights`` (the bundled table by default).

    Deterministic: components keep their order in the system, findings the order of the rules
    (first rule for a technique wins the position), reasons are de-duplicated in rule order. A finding's
    ``tier`` is ``likely`` when its technique is in the default cut, else ``possible``; the rules' own
    ``tier`` no longer decides it.
    """
    weights = bundled_weights() if weights is None else weights
    matrix = bundled()
    fired = _fired(system, rules)
    scores = technique_scores((r for _, r, _, _, _ in fired), weights)
    ranked = tuple(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])))
    cut = set(_cut(scores, weights.k, weights.threshold))
    # each adversary's own short list, for its attack paths: another's wishes do not raise what it would do
    adversaries = [a.id for a in system.of_kind("adversary")]
    adversary_likely = {a: _cut(technique_scores((r for _, r, _, _, found in fired
                                                  if not (r.needs_adversary and a not in found)), weights),
                                weights.k, weights.threshold) for a in adversaries} if len(adversaries) > 1 else {}
    by_component: dict[int, list[tuple[Rule, str, tuple[str, ...], tuple[str, ...]]]] = {}
    for c, rule, reason, ids, found in fired:
        by_component.setdefault(id(c), []).append((rule, reason, ids, found))
    out = []
    for comp in system.components:
        hits: dict[str, list[tuple[Rule, str, tuple[str, ...], tuple[str, ...]]]] = {}
        for hit in by_component.get(id(comp), ()):
            hits.setdefault(hit[0].technique_id, []).append(hit)
        findings = []
        for tid, matched in hits.items():
            reasons = tuple(dict.fromkeys(r for _, r, _, _ in matched))
            sources = tuple(dict.fromkeys(f"{r.source}:{r.line}" for r, _, _, _ in matched))
            tier = "likely" if tid in cut else "possible"
            score = technique_scores((r for r, _, _, _ in matched), weights)[tid]
            named = frozenset(i for _, _, ids, _ in matched for i in ids)
            hedges = [r.hedged_on for r, _, _, _ in matched]
            hedged_on = tuple(dict.fromkeys(f for h in hedges for f in h)) if all(hedges) else ()
            found_for = tuple(a for a in adversaries if any(a in found for _, _, _, found in matched)) \
                if all(r.needs_adversary for r, _, _, _ in matched) else ()
            findings.append(TechniqueFinding(tid, matrix.technique(tid).name, comp.id, reasons, sources,
                                             advice(system, comp, [r for r, _, _, _ in matched], tid, named),
                                             tier, score, hedged_on, found_for))
        out.append(ComponentPrediction(comp.id, comp.kind, tuple(findings)))
    return Prediction(system.name, _open_where_the_system_lacks_it(out), ranked, weights.k, weights.threshold,
                      adversary_likely)


def _open_where_the_system_lacks_it(components: list[ComponentPrediction]) -> tuple[ComponentPrediction, ...]:
    """An adversary's finding counts a control held anywhere in the system (see :func:`._placement.holder`),
    but not while a finding of the same technique on a part of the system still lacks it: access control
    on one data set at rest does not stop the theft of another. Such a control is shown missing where the
    system's findings need it."""
    lacking: dict[tuple[str, str], list[str]] = {}
    for cp in components:
        if cp.kind != "adversary":
            for f in cp.findings:
                for m in f.mitigations:
                    if not m.in_place:
                        lacking.setdefault((f.technique_id, m.id), []).extend((m.component, *m.also_on))
    out = []
    for cp in components:
        if cp.kind == "adversary":
            cp = replace(cp, findings=tuple(replace(f, mitigations=tuple(
                replace(m, component=where[0], in_place=False, in_place_at=None, also_on=tuple(where[1:]))
                if m.in_place and (where := list(dict.fromkeys(lacking.get((f.technique_id, m.id), ()))))
                else m for m in f.mitigations)) for f in cp.findings))
        out.append(cp)
    return tuple(out)
