"""Extract the model (AML.T0024.002) by training a surrogate on its answers (AML.T0005.001)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import BudgetExhausted, TargetError
from ..targets import OutputKind, Target
from ._base import Dataset, Finding, Procedure


class ExtractionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checkpoints: list[int] = Field([50, 200, 800], min_length=1, description="query counts to report fidelity at")
    surrogate: str = Field("mlp", pattern="^(mlp|logistic|forest)$")
    n_holdout: int = Field(300, ge=10, description="held-out seeds used to measure fidelity")
    synthetic: bool = Field(False, description="an attacker without data: query noisy copies of 20 seeds "
                                               "(Jacobian-style augmentation) instead of a natural pool")


class Extraction(Procedure):
    """Query the model with the attacker's own unlabelled data, train a surrogate on its
    answers, and measure fidelity (agreement with the victim on held-out inputs) as the query
    budget grows."""

    name = "extraction"
    extras = ("attack",)  # scikit-learn surrogates
    title = "Model extraction (surrogate from queries)"
    family = "extraction"
    technique_ids = ("AML.T0024.002", "AML.T0005.001", "AML.T0040", "AML.T0048.004")
    needs = ("x_pool",)
    Params = ExtractionParams

    def _surrogate(self, n_classes: int):
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.neural_network import MLPClassifier

        if self.params.surrogate == "logistic":
            return LogisticRegression(max_iter=1000)
        if self.params.surrogate == "forest":
            return RandomForestClassifier(n_estimators=100, random_state=0)
        return MLPClassifier(hidden_layer_sizes=(128,), max_iter=400, random_state=0)

    def _run(self, target: Target, data: Dataset, finding: Finding, rng: np.random.Generator) -> None:
        p = self.params
        holdout = data.x[: p.n_holdout].astype(target.info.dtype)
        # The victim's answers on the hold-out are the reference, not attacker training data.
        truth = target.predict_labels(holdout)
        pool = data.x_pool.astype(target.info.dtype)
        if p.synthetic:
            lo, hi = target.info.input_range
            seeds = pool[rng.choice(len(pool), min(20, len(pool)), replace=False)]
            copies = -(-len(pool) // len(seeds))
            noise = rng.normal(0, 0.05 * (hi - lo), (len(seeds) * copies, *pool.shape[1:]))
            pool = np.clip(np.repeat(seeds, copies, axis=0) + noise, lo, hi).astype(target.info.dtype)[: len(pool)]
        order = rng.permutation(len(pool))
        labels: list[np.ndarray] = []
        asked = 0
        best = 0.0
        for n in sorted(set(p.checkpoints)):
            n = min(n, len(pool))
            if n > asked:
                try:
                    labels.append(target.predict_labels(pool[order[asked:n]]))
                except BudgetExhausted:
                    finding.message = f"budget spent after {asked} extraction queries"
                    break
                except TargetError as exc:  # keep the checkpoints already measured
                    finding.status, finding.message = "partial", f"{exc} (after {asked} extraction queries)"
                    break
                asked = n
            y = np.concatenate(labels) if labels else np.zeros(0, dtype=int)
            if len(np.unique(y)) < 2:
                finding.metrics[f"fidelity@{asked}"] = 0.0
                continue
            model = _fit(self._surrogate(target.info.n_classes), pool[order[:asked]].reshape(asked, -1), y)
            fidelity = float((model.predict(holdout.reshape(len(holdout), -1)) == truth).mean())
            finding.metrics[f"fidelity@{asked}"] = fidelity
            best = max(best, fidelity)
            if asked >= len(pool):
                break
        if data.y is not None and labels:
            finding.metrics["victim_accuracy"] = float((truth == np.asarray(data.y[: len(truth)])).mean())
        finding.metrics["fidelity"] = best
        finding.metrics["extraction_queries"] = float(asked)
        finding.success_rate = best
        finding.message = finding.message or (
            f"surrogate agrees with the victim on {best:.0%} of held-out inputs after {asked} queries"
            + ("" if target.info.output is not OutputKind.LABELS else " (labels only)"))


def _fit(model, x: np.ndarray, y: np.ndarray):
    """``model.fit(x, y)``, with Ctrl-C kept: scikit-learn's MLP catches KeyboardInterrupt, warns "Training
    interrupted by user." and returns a half-trained model, so a run stopped there went on and was
    stored as finished."""
    import warnings

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        fitted = model.fit(x, y)
    for w in said:
        if "interrupted by user" in str(w.message):
            raise KeyboardInterrupt
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)  # the others, as they were
    return fitted
