"""Remediation tied to the findings: the ATLAS mitigations of the techniques that succeeded,
kept only where they fit this kind of system, ranked, each with the advmatrix gateway setting
that implements it where one exists.

Which mitigations fit (decided from the knowledge base, not from a hand-kept list):

- Each technique has a *domain* read from its OWASP mappings: predictive ML (OWASP ML Top 10
  only), generative AI (OWASP LLM Top 10 only), shared (both) or general (neither).
- A mitigation's home is where the techniques it mitigates lie. A mitigation is dropped for a
  classifier when more of its techniques are generative-only than predictive-only (Deepfake
  Detection, Generative AI Guardrails, the agent permission mitigations), and for an LLM
  application when more are predictive-only than generative-only (Model Hardening, Input
  Restoration).
- A sub-technique also gets its parent's mitigations (ATLAS often lists them on the parent only).
- A mitigation that an advmatrix response implements for this kind of target is kept whatever
  its home (AI Telemetry Logging: the gateway's alert response), since the setting exists.

Ranking, best first: techniques that succeeded unseen or before they were seen weigh 3, seen
after success 2, succeeded without detection measured 2, seen before success 1; a mitigation
scores the sum over the succeeded techniques it mitigates, +1 when advmatrix implements it, +1
when its lifecycle fits the access the attacker had (black-box or grey-box: Deployment or
Monitoring and Maintenance, where the API is; white-box: ML Model Engineering or Data
Preparation, where the model is made). Ties go by ID.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._verdicts import ProcedureVerdict

_WEIGHT = {"unseen": 3, "seen-after": 2, "succeeded": 2, "seen-before": 1}
_LIFECYCLE_FOR_ACCESS = {"black-box": {"Deployment", "Monitoring and Maintenance"},
                         "grey-box": {"Deployment", "Monitoring and Maintenance"},
                         "white-box": {"ML Model Engineering", "Data Preparation"}}


def target_kind(target: dict[str, Any]) -> str:
    """'chat' for an LLM application, else 'classifier' (from the target description stored with the run)."""
    return "chat" if "channels" in target or "tools" in target or target.get("modality") == "chat" else "classifier"


def technique_domain(technique: Any) -> str:
    """predictive, generative, shared or general, from the technique's OWASP mappings."""
    ml, llm = bool(technique.owasp_ml), bool(technique.owasp_llm)
    return "shared" if ml and llm else "predictive" if ml else "generative" if llm else "general"


def fits(mitigation: Any, kind: str, matrix: Any) -> bool:
    """Whether the mitigation's home (the techniques it mitigates) includes this kind of system."""
    domains = [technique_domain(matrix.technique(u.technique)) for u in mitigation.techniques
               if u.technique in matrix]
    predictive, generative = domains.count("predictive"), domains.count("generative")
    return generative <= predictive if kind == "classifier" else predictive <= generative


@dataclass
class Setting:
    """A gateway setting that implements a mitigation against a technique."""

    detector: str
    response: str
    yaml: str
    action: str = ""                      # the response's parameters as YAML flow mapping items
    context: tuple[str, ...] = ()         # the context the detector needs

    def as_dict(self) -> dict[str, str]:
        """As JSON data."""
        return {"detector": self.detector, "response": self.response, "yaml": self.yaml}


@dataclass
class Remedy:
    """One ranked mitigation for the techniques that succeeded."""

    id: str
    name: str
    score: int
    techniques: list[str]
    uses: list[str]
    settings: list[Setting] = field(default_factory=list)

    def config(self) -> str:
        """Every setting in one gateway configuration (YAML): what a reader pastes. One block
        per setting grew with every detector that notices the techniques."""
        if not self.settings:
            return ""
        lines = ["detectors: {" + ", ".join(f"{s.detector}: {{}}" for s in self.settings) + "}", "responses:"]
        lines += [f"  {s.detector}: {{{s.action}}}" for s in self.settings]
        needed = list(dict.fromkeys(c for s in self.settings for c in s.context))
        if needed:
            lines.append("context: {" + ", ".join(f"{c}: <{c} data>" for c in needed) + "}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """As JSON data."""
        return {"id": self.id, "name": self.name, "score": self.score, "techniques": self.techniques,
                "uses": self.uses, "settings": [s.as_dict() for s in self.settings], "config": self.config()}


def _plugins(kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Detectors and responses that work on this kind of target."""
    from ..detect import ChatDetector
    from ..plugins import registry

    chat = kind == "chat"
    detectors = {n: c for n, c in registry("detector").items() if issubclass(c, ChatDetector) == chat}
    # exchange responses (refuse, redact, ...) act on chat turns; the rest act on any request
    responses = {n: c for n, c in registry("response").items() if chat or not c.__module__.endswith(".chat")}
    return detectors, responses


def _setting(detector: Any, response: Any) -> Setting:
    default = dict(detector.response)
    action = {**default, "action": response.name} if default.get("action") == response.name else \
        {"action": response.name}
    params = ", ".join(f"{k}: {v}" for k, v in action.items())
    context = "".join(f"\ncontext: {{{c}: <{c} data>}}" for c in detector.context)
    yaml = f"detectors: {{{detector.name}: {{}}}}\nresponses: {{{detector.name}: {{{params}}}}}{context}"
    return Setting(detector.name, response.name, yaml, params, tuple(detector.context))


def settings_for(mitigation_id: str, techniques: list[str], kind: str) -> list[Setting]:
    """Gateway settings that implement the mitigation against these techniques: a detector that
    notices one of them, paired with a response that implements the mitigation."""
    detectors, responses = _plugins(kind)
    acting = [r for r in responses.values() if mitigation_id in r.mitigation_ids]
    out = []
    for d in sorted(detectors.values(), key=lambda c: c.name):
        if not set(d.technique_ids) & set(techniques):
            continue
        # the detector's own default response first: it needs no configuration beyond turning it on
        for r in sorted(acting, key=lambda r: (r.name != d.response.get("action"), r.name)):
            out.append(_setting(d, r))
            break
    return out


def remediation(assessment: Any, verdicts: list[ProcedureVerdict], matrix: Any = None) -> list[Remedy]:
    """Ranked mitigations for the techniques that succeeded (see the module docstring for the rules)."""
    from ..kb import bundled

    matrix = matrix or bundled()
    kind = target_kind(assessment.target)
    access = assessment.target.get("access", "black-box")
    weight: dict[str, int] = {}
    for v in verdicts:
        for t in v.techniques:
            if v.verdict in _WEIGHT and t in matrix:
                weight[t] = max(weight.get(t, 0), _WEIGHT[v.verdict])
    _, responses = _plugins(kind)
    implemented = {m for r in responses.values() for m in r.mitigation_ids}
    found: dict[str, Remedy] = {}
    for t in sorted(weight):
        parent = matrix.technique(t).parent
        # ATLAS often lists a sub-technique's mitigations on its parent only
        inherited = matrix.mitigations_of(parent) if parent and parent in matrix else ()
        for m, use in (*matrix.mitigations_of(t), *inherited):
            if not fits(m, kind, matrix) and m.id not in implemented:
                continue
            r = found.setdefault(m.id, Remedy(m.id, m.name, 0, [], []))
            if t not in r.techniques:
                r.techniques.append(t)
                r.score += weight[t]
                if use.use and use.use not in r.uses:
                    r.uses.append(use.use)
    for r in found.values():
        r.settings = settings_for(r.id, r.techniques, kind)
        r.score += bool(r.id in implemented) + bool(set(matrix.mitigation(r.id).lifecycle)
                                                    & _LIFECYCLE_FOR_ACCESS.get(access, set()))
    return sorted(found.values(), key=lambda r: (-r.score, r.id))
