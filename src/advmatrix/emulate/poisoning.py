"""Poison training data (AML.T0020) to backdoor the model (AML.T0018.000), then trigger the
backdoor at inference (AML.T0043.004). Runs only when the user supplies a training function."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import TargetError
from ..targets import Target
from ._base import Dataset, Finding, Procedure, example


class BackdoorParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    poison_fraction: float = Field(0.05, gt=0, le=0.5)
    target_class: int = Field(0, ge=0)
    trigger_size: int = Field(2, ge=1, description="side of the square trigger (or number of features)")
    n_eval: int = Field(200, ge=10)


def stamp(x: np.ndarray, size: int, value: float) -> np.ndarray:
    """Set a bottom-right square (images) or the last features (vectors) to ``value``."""
    out = x.copy()
    if out.ndim >= 3:
        out[..., -size:, -size:] = value
    else:
        out[:, -size:] = value
    return out


class Backdoor(Procedure):
    """Stamp a small trigger on a fraction of the training data and relabel it to a target
    class, retrain with the user's own training function, and measure how often triggered
    inputs land in the target class while clean accuracy stays put."""

    name = "backdoor"
    title = "Training-data poisoning with a backdoor trigger"
    family = "poisoning"
    technique_ids = ("AML.T0020", "AML.T0018.000", "AML.T0043.004")
    needs = ("train", "x_members")
    Params = BackdoorParams

    def _run(self, target: Target, data: Dataset, finding: Finding, rng: np.random.Generator) -> None:
        p = self.params
        hi = target.info.input_range[1]
        x_train = np.asarray(data.x_members).astype(target.info.dtype)
        y_train = np.asarray(data.y_members).copy()
        chosen = rng.choice(len(x_train), max(1, int(p.poison_fraction * len(x_train))), replace=False)
        x_train[chosen] = stamp(x_train[chosen], p.trigger_size, hi)
        y_train[chosen] = p.target_class
        try:
            poisoned = data.train(x_train, y_train)
        except Exception as exc:  # the user's training code: report, never crash the run
            raise TargetError(f"training function failed: {exc.__class__.__name__}: {exc}") from None
        x_eval, y_eval = data.x[: p.n_eval].astype(target.info.dtype), np.asarray(data.y[: p.n_eval])
        clean_before = float((target.predict_labels(x_eval) == y_eval).mean())
        clean_after = float((poisoned.predict_labels(x_eval) == y_eval).mean())
        others = y_eval != p.target_class
        triggered = stamp(x_eval[others], p.trigger_size, hi)
        hits = poisoned.predict_labels(triggered) == p.target_class
        finding.metrics.update({"attack_success": float(hits.mean()), "clean_accuracy_before": clean_before,
                                "clean_accuracy_after": clean_after, "poisoned_samples": float(len(chosen))})
        finding.success_rate = float(hits.mean())
        finding.message = (f"{len(chosen)} poisoned samples ({p.poison_fraction:.0%}): triggered inputs go to class "
                           f"{p.target_class} {hits.mean():.0%} of the time; clean accuracy {clean_before:.1%} -> "
                           f"{clean_after:.1%}")
        for i in np.flatnonzero(hits)[:3]:
            finding.evidence.append(example(x_eval[others][i], y_eval[others][i], None, triggered[i], p.target_class))
