"""The ranking model: P(technique used | what the rules found), a logistic regression over five features.

Public through :mod:`advmatrix.threatmodel.predict` (``Weights.ranker``).

Why a model over features and not one estimate per rule: most rules fire on a handful of case
studies, too few for a record of their own; per-rule estimates smoothed toward priors ranked the even
half's held-out case studies at recall 0.725 (k = 25), this model, with six numbers in all, at 0.757
(both leave-one-out, the features of each training case study computed without it; 0.750 on the rules
as corrected in the nineteenth session). A rule a user writes is scored by the same features from its
first use.

In the fitted table the number of rules carries the score, the tier adds to it, specificity adds
little once they are known (its weight is held at zero or above) and the rate a little more. A training
case study's rate is computed without it, so a technique only that case study used looks unused, as a
technique new to ATLAS will. The bundled rules' tiers were set by two reviewers blind to the case studies
(twenty-first session); the tiers set before, adjusted with the tuning half's misses in view, had won the
tier a weight four times as large and the rate a negative one, and the held-out half's recall with them
(0.56 to 0.61) was what the tuning half gives with no tiers at all (0.64).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .rules import Rule

__all__ = ["FEATURES", "MORE_IS_MORE", "Ranker", "evidence", "fit_ranker", "specificity"]

#: The features, in the order of the fitted coefficients:
#: ``rate`` log share of the case studies that used the technique (smoothed: an unused one is not impossible);
#: ``rules`` log(1 + distinct rules that found it); ``specificity`` of its most specific rule (0 to 3);
#: ``likely`` 1 when a rule's author called it likely; ``sub`` 1 for a sub-technique.
FEATURES = ("rate", "rules", "specificity", "likely", "sub")
#: The features that are evidence for the technique: their weights are held at zero or above.
MORE_IS_MORE = frozenset({"rules", "specificity", "likely"})


def specificity(rule: Rule) -> int:
    """How much a rule asks of a component beyond its kind, 0 to 3: graph leaves and extra field conditions."""
    fields = [f for f in rule.when.fields() if f != "kind"]
    return min(3, len(list(rule.when.graph_leaves())) + max(0, len(fields) - 1))


def evidence(fired: Iterable[Rule], used: Mapping[str, int], cases: int) -> dict[str, tuple[float, ...]]:
    """Each technique's feature values (in :data:`FEATURES` order) from the rules that found it (a rule
    counted once) and ``used``, how many of ``cases`` case studies used each technique."""
    by_tid: dict[str, dict[int, Rule]] = {}
    for rule in fired:
        by_tid.setdefault(rule.technique_id, {}).setdefault(id(rule), rule)
    out = {}
    for tid, rules in by_tid.items():
        out[tid] = (math.log((used.get(tid, 0) + 0.5) / (cases + 1)),
                    math.log1p(len(rules)),
                    float(max(specificity(r) for r in rules.values())),
                    float(any(r.tier == "likely" for r in rules.values())),
                    float(tid.count(".") == 2))
    return out


@dataclass(frozen=True)
class Ranker:
    """A fitted model: ``intercept`` and ``coef`` (per feature, on the raw feature values) with the counts
    behind ``rate``: ``used`` (case studies that used each technique) of ``cases``."""

    intercept: float
    coef: Mapping[str, float]
    used: Mapping[str, int] = field(default_factory=dict)
    cases: int = 0

    def scores(self, fired: Iterable[Rule]) -> dict[str, float]:
        """P(used) of each technique the rules in ``fired`` predict."""
        w = [self.coef.get(name, 0.0) for name in FEATURES]
        out = {}
        for tid, x in evidence(fired, self.used, self.cases).items():
            z = self.intercept + sum(a * b for a, b in zip(w, x, strict=True))
            out[tid] = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
        return out

    def as_dict(self) -> dict[str, Any]:
        """Plain data as the weights file holds it (``used`` sorted, zero counts left out)."""
        return {"intercept": round(self.intercept, 6), "coef": {k: round(float(self.coef[k]), 6) for k in FEATURES},
                "cases": self.cases, "used": {t: n for t, n in sorted(self.used.items()) if n}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ranker:
        """The inverse of :meth:`as_dict`; ``KeyError``/``ValueError``/``TypeError`` when malformed."""
        coef = {str(k): float(v) for k, v in data["coef"].items()}
        unknown = set(coef) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown ranker feature {sorted(unknown)[0]!r}")
        return cls(float(data["intercept"]), coef, {str(k): int(v) for k, v in (data.get("used") or {}).items()},
                   int(data["cases"]))


def fit_ranker(observations: Iterable[tuple[Iterable[Rule], Iterable[str]]], c: float = 0.3) -> Ranker:
    """Fit the model on ``observations`` (per system: the rules that fired, the techniques used against it)
    with L2 strength 1/``c`` on standardised features.

    A training system's ``rate`` is computed without that system, as it will be for a system the model has
    not seen; otherwise a technique's own use would inflate its rate and the model would lean on it.
    Needs scikit-learn (the ``sklearn`` extra); scoring does not.
    """
    try:
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise ImportError("fitting the threat ranking model needs scikit-learn: pip install 'advmatrix[sklearn]'"
                          ) from None
    obs = [(list(fired), set(used)) for fired, used in observations]
    used_all = Counter(t for _, used in obs for t in used)
    rows, labels = [], []
    for fired, used in obs:
        without = {t: n - (t in used) for t, n in used_all.items()}
        for tid, x in evidence(fired, without, len(obs) - 1).items():
            rows.append(x)
            labels.append(tid in used)
    if len(set(labels)) < 2:
        raise ValueError("fitting the ranking model needs systems where a predicted technique was used and one "
                         "where it was not")
    x = np.array(rows, dtype=float)
    scaler = StandardScaler().fit(x)
    z = scaler.transform(x)
    # More evidence must never lower a score (docs/threatmodel-system.md): a feature of MORE_IS_MORE whose
    # weight comes out negative is left out and the rest refitted, until none is (scikit-learn's logistic
    # regression takes no bounds on its weights, and this active set is all such a bound would do here).
    kept = list(range(len(FEATURES)))
    while True:
        model = LogisticRegression(C=c, max_iter=5000).fit(z[:, kept], labels)
        wrong = [i for i, w in zip(kept, model.coef_[0], strict=True) if FEATURES[i] in MORE_IS_MORE and w < 0]
        if not wrong:
            break
        kept = [i for i in kept if i not in wrong]
    standard = np.zeros(len(FEATURES))
    standard[kept] = model.coef_[0]
    # Fold the standardisation into the coefficients so that scoring needs neither numpy nor the scaler.
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    coef = standard / scale
    intercept = float(model.intercept_[0] - float(np.sum(coef * scaler.mean_)))
    return Ranker(intercept, dict(zip(FEATURES, (float(v) for v in coef), strict=True)), dict(used_all), len(obs))
