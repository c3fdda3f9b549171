"""Infer training-data membership (AML.T0024.000) from the model's confidence."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..targets import Target
from ._base import Dataset, Finding, Procedure, example


class MembershipParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_samples: int = Field(200, ge=10, description="members and as many non-members (balanced)")
    score: str = Field("loss", pattern="^(loss|confidence|entropy)$")


def roc_auc(scores: np.ndarray, is_member: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(is_member, scores))


def advantage(scores: np.ndarray, is_member: np.ndarray) -> tuple[float, float]:
    """Best TPR - FPR over thresholds, and the threshold reaching it."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(is_member, scores)
    i = int(np.argmax(tpr - fpr))
    return float(tpr[i] - fpr[i]), float(thresholds[i])


class Membership(Procedure):
    """Decide membership from how confident the model is on a record. Evaluated on a BALANCED
    set of known members and non-members: reports ROC AUC and attacker advantage (TPR - FPR),
    never raw accuracy on an imbalanced set."""

    name = "membership"
    extras = ("attack",)  # scikit-learn's ROC metrics
    title = "Membership inference (confidence threshold)"
    family = "inference"
    technique_ids = ("AML.T0024.000", "AML.T0040", "AML.T0063")
    needs_probabilities = True
    needs = ("x_members", "x_nonmembers")
    Params = MembershipParams

    def _run(self, target: Target, data: Dataset, finding: Finding, rng: np.random.Generator) -> None:
        n = min(self.params.n_samples, len(data.x_members), len(data.x_nonmembers))
        mi = rng.choice(len(data.x_members), n, replace=False)
        ni = rng.choice(len(data.x_nonmembers), n, replace=False)
        x = np.concatenate([data.x_members[mi], data.x_nonmembers[ni]]).astype(target.info.dtype)
        y = None
        if data.y_members is not None and data.y_nonmembers is not None:
            y = np.concatenate([data.y_members[mi], data.y_nonmembers[ni]]).astype(int)
        is_member = np.r_[np.ones(n), np.zeros(n)]
        probs = target.predict_proba(x)
        eps = 1e-12
        if self.params.score == "loss" and y is not None:
            scores = np.log(probs[np.arange(len(x)), y] + eps)  # higher = lower loss = more member-like
        elif self.params.score == "entropy":
            scores = (probs * np.log(probs + eps)).sum(axis=1)
        else:
            scores = probs.max(axis=1)
        auc = roc_auc(scores, is_member)
        adv, threshold = advantage(scores, is_member)
        guesses = scores >= threshold
        finding.metrics.update({"auc": auc, "advantage": adv, "balanced_accuracy": float((guesses == is_member).mean()),
                                "n_members": float(n), "n_nonmembers": float(n)})
        finding.success_rate = adv
        finding.message = (f"ROC AUC {auc:.3f}, attacker advantage {adv:.3f} on {n} members and {n} non-members"
                           + (" (0.5 AUC = chance)" if auc < 0.55 else ""))
        for i in np.argsort(-scores)[:3]:
            note = f"score {scores[i]:.4f}, {'member' if is_member[i] else 'non-member'}"
            finding.evidence.append(example(None, int(is_member[i]), int(guesses[i]), note=note))
