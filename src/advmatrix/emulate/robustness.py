"""The standard strong robustness evaluation (AutoAttack-style ensemble) as one procedure.

Robust accuracy is only as trustworthy as the strongest attack tried, and any single attack
has blind spots (a saturated softmax hides the cross-entropy gradient; a masked gradient fools
every white-box attack). The ensemble the robustness field reports therefore runs, each only on
the points that are still robust: APGD on cross-entropy, APGD on the difference-of-logits ratio,
targeted APGD-DLR against the likeliest wrong classes, and the score-based Square attack as a
gradient-free check. The result is robust accuracy at eps overall and per class, as RobustBench
tables give it, and which attack broke each point.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import BudgetExhausted, CapabilityError, UsageError
from ..targets import Access, Target
from ._base import Dataset, Finding, Procedure, example

#: the ensemble, in the order it runs; names are the keys of the ``broken_by_*`` metrics
ATTACKS = ("apgd_ce", "apgd_dlr", "apgd_t", "square")


class RobustnessParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    eps: float = Field(0.3, ge=0, description="L-infinity bound, in input units (0: robust accuracy is clean accuracy)")
    n_samples: int = Field(200, ge=1, le=100_000, description="Labelled inputs evaluated")
    n_iter: int = Field(100, ge=1, le=10_000, description="APGD iterations per run")
    restarts: int = Field(1, ge=1, le=100, description="random starts of each APGD run")
    n_targets: int = Field(3, ge=0, le=1000, description="wrong classes attacked by targeted APGD (likeliest first)")
    square_iters: int = Field(1000, ge=0, le=100_000, description="Square rounds (one query per robust point each); "
                                                                  "0 skips the black-box check")
    square_p_init: float = Field(0.8, gt=0, le=1)
    batch_size: int | None = Field(None, ge=1, description="default: from free device memory (GPU), 256 (CPU)")
    n_evidence: int = Field(4, ge=0, le=50)


@dataclass
class Evaluation:
    """Per-point outcome of the ensemble: the clean prediction, the adversarial input (the
    original where nothing broke it), and the attack that broke it ("" where none did)."""

    x: np.ndarray
    y: np.ndarray
    clean_pred: np.ndarray
    adversarial: np.ndarray
    adversarial_pred: np.ndarray
    broken_by: np.ndarray
    skipped: list[str] = field(default_factory=list)   # ensemble members that could not run, with why
    stopped: str = ""                                 # why the ensemble stopped early, if it did

    @property
    def correct(self) -> np.ndarray:
        return self.clean_pred == self.y

    @property
    def robust(self) -> np.ndarray:
        return self.correct & (self.broken_by == "")


class Robustness(Procedure):
    """AutoAttack-style robustness evaluation (L-infinity): APGD with cross-entropy, APGD with
    the DLR loss, targeted APGD-DLR against the likeliest wrong classes, then the black-box
    Square attack, each on the points still robust. Reports clean and robust accuracy at eps,
    overall and per class, and how many points each attack broke. Needs the model's gradients
    (a PyTorch target); runs on the device the model is on."""

    name = "robustness"
    title = "Robustness evaluation (AutoAttack-style ensemble)"
    family = "evasion"
    technique_ids = ("AML.T0043.000", "AML.T0043.001", "AML.T0015", "AML.T0044")
    requires = Access.WHITE_BOX
    Params = RobustnessParams

    def evaluate(self, target: Target, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Evaluation:
        """Run the ensemble on (x, y). Every point reported broken was checked by querying the
        target with its adversarial input, which lies within eps of x and inside the input range."""
        from ._apgd import apgd
        from ._square import square_linf

        p = self.params
        module = getattr(target, "module", None)
        if module is None:
            raise CapabilityError(f"{target.info.name}: no differentiable module (the robustness procedure "
                                  "needs a PyTorch target)")
        lo, hi = target.info.input_range
        x = np.asarray(x, dtype=target.info.dtype)
        k, y = target.info.n_classes, np.asarray(y)
        if len(y) != len(x) or not np.array_equal(y, np.round(y)) or (len(y) and not 0 <= y.min() <= y.max() < k):
            raise UsageError(f"{target.info.name}: labels must be {len(x)} class indices in 0..{k - 1}")
        y = np.asarray(y, dtype=np.int64)
        clean = target.predict_labels(x)
        ev = Evaluation(x, y, clean, x.copy(), clean.copy(), np.full(len(x), "", dtype=object))
        if p.eps == 0:
            return ev  # nothing may change: robust accuracy is clean accuracy by definition

        def white(loss):
            return lambda xs, ys, seed: apgd(module, xs, ys, p.eps, lo, hi, loss=loss, n_iter=p.n_iter,
                                             restarts=p.restarts, n_targets=p.n_targets, batch_size=p.batch_size,
                                             seed=seed, charge=target.charge)

        def square(xs, ys, seed):
            adv, _ = square_linf(target.predict_proba, xs, ys, p.eps, lo, hi, np.random.default_rng(seed),
                                 p.square_iters, p.square_p_init)
            return adv, np.ones(len(xs), dtype=bool)  # Square's own loss is not the verdict: recheck all

        plan = [("apgd_ce", white("ce"), ""),
                ("apgd_dlr", white("dlr"), "the DLR loss needs at least 3 classes" if k < 3 else ""),
                ("apgd_t", white("dlr-targeted"), "targeted DLR needs at least 4 classes" if k < 4
                 else "n_targets is 0" if p.n_targets == 0 else ""),
                ("square", square, "square_iters is 0" if p.square_iters == 0 else "")]
        for name, run, why_not in plan:
            seed = int(rng.integers(2**31))  # drawn even when skipped, so each stage's seed is fixed
            if why_not:
                ev.skipped.append(f"{name}: {why_not}")
                continue
            live = np.flatnonzero(ev.robust)
            if len(live) == 0:
                break
            try:
                cand, hit = run(x[live], y[live], seed)
                if not hit.any():
                    continue
                cand = np.clip(np.clip(cand, x[live] - p.eps, x[live] + p.eps), lo, hi).astype(x.dtype)
                rows = live[hit]
                pred = target.predict_labels(cand[hit])
            except BudgetExhausted as exc:
                ev.stopped = f"{name}: {exc}"
                break
            broke = pred != y[rows]
            ev.adversarial[rows[broke]] = cand[hit][broke]
            ev.adversarial_pred[rows[broke]] = pred[broke]
            ev.broken_by[rows[broke]] = name
        return ev

    def _run(self, target: Target, data: Dataset, finding: Finding, rng: np.random.Generator) -> None:
        p = self.params
        x, y = data.x[: p.n_samples], np.asarray(data.y[: p.n_samples])
        ev = self.evaluate(target, x, y, rng)
        m = finding.metrics
        correct, robust = ev.correct, ev.robust
        broken = correct & ~robust
        m.update({"eps": p.eps, "n_samples": float(len(x)), "clean_accuracy": float(correct.mean()),
                  "robust_accuracy": float(robust.mean()), "seeds": float(correct.sum()),
                  "successes": float(broken.sum())})
        for name in ATTACKS:
            m[f"broken_by_{name}"] = float((ev.broken_by == name).sum())
        for c, label in enumerate(target.info.classes):
            of_class = y == c
            if of_class.any():
                m[f"n[{label}]"] = float(of_class.sum())
                m[f"clean_accuracy[{label}]"] = float(correct[of_class].mean())
                m[f"robust_accuracy[{label}]"] = float(robust[of_class].mean())
        if broken.any():
            diff = (ev.adversarial - ev.x)[broken].reshape(int(broken.sum()), -1)
            m["mean_linf"] = float(np.abs(diff).max(axis=1).mean())
        finding.success_rate = float(broken.sum() / correct.sum()) if correct.any() else 0.0
        m["success_rate"] = finding.success_rate
        notes = list(ev.skipped)
        if ev.stopped:
            finding.status = "partial"
            notes.insert(0, f"query budget spent during {ev.stopped}; robust accuracy is an upper bound")
        if not correct.any():
            notes.insert(0, "no input was classified correctly; robust accuracy is 0")
        finding.message = "; ".join(notes)
        # one example per attack that broke something, then more in order
        order = sorted(np.flatnonzero(broken), key=lambda i: (ATTACKS.index(ev.broken_by[i]), i))
        firsts = [i for n, i in enumerate(order) if n == 0 or ev.broken_by[order[n - 1]] != ev.broken_by[i]]
        for i in (firsts + [i for i in order if i not in firsts])[: p.n_evidence]:
            finding.evidence.append(example(ev.x[i], ev.y[i], ev.clean_pred[i], ev.adversarial[i],
                                            ev.adversarial_pred[i], note=f"broken by {ev.broken_by[i]}"))


__all__ = ["ATTACKS", "Evaluation", "Robustness", "RobustnessParams"]
