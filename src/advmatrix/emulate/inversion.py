"""Invert the model (AML.T0024.001): reconstruct what each class looks like from the model alone."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import BudgetExhausted
from ..targets import Budget, Target
from ._base import Dataset, Finding, Procedure, example


class InversionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: int = Field(100, ge=1, le=10_000)
    samples_per_step: int = Field(20, ge=2, le=1000, description="queries per gradient estimate (black-box)")
    sigma: float = Field(0.1, gt=0, description="probe scale for gradient estimates")
    step_size: float = Field(0.05, gt=0)
    classes: list[int] | None = Field(None, description="classes to invert (default: all)")


class Inversion(Procedure):
    """Gradient ascent on the model's confidence for one class, starting from a blank input:
    with white-box access on the true gradient, otherwise on gradients estimated from queries
    (NES). Success: the reconstruction of a class resembles that class's real data more than
    any other class's (checked against the red team's labelled seeds)."""

    name = "inversion"
    title = "Model inversion (class reconstruction)"
    family = "inference"
    technique_ids = ("AML.T0024.001", "AML.T0040", "AML.T0063")
    needs_probabilities = True
    Params = InversionParams

    def _gradient(self, target: Target, x: np.ndarray, cls: int, rng: np.random.Generator) -> np.ndarray:
        module = getattr(target, "module", None)
        if module is not None:
            import torch

            xt = torch.from_numpy(x[None].astype(np.float32)).requires_grad_(True)
            logp = torch.log_softmax(module(xt), dim=1)[0, cls]
            (g,) = torch.autograd.grad(logp, xt)
            target.charge(1)
            return g.numpy()[0]
        p = self.params
        half = p.samples_per_step // 2
        noise = rng.standard_normal((half, *x.shape)).astype(x.dtype)
        probes = np.concatenate([x + p.sigma * noise, x - p.sigma * noise])
        lo, hi = target.info.input_range
        logp = np.log(np.clip(target.predict_proba(np.clip(probes, lo, hi))[:, cls], 1e-12, 1))
        weights = (logp[:half] - logp[half:])[:, None]
        return (weights * noise.reshape(half, -1)).sum(axis=0).reshape(x.shape) / (2 * half * p.sigma)

    def _run(self, target: Target, data: Dataset, finding: Finding, rng: np.random.Generator) -> None:
        p = self.params
        lo, hi = target.info.input_range
        k = target.info.n_classes
        classes = p.classes if p.classes is not None else list(range(k))
        shape = target.info.input_shape
        steps = self._affordable_steps(target, len(classes))
        finding.metrics["steps_per_class"] = float(steps)
        # the reconstructions are scored with one query each at the end: keep those queries
        # aside, or a budget spent on the last class leaves nothing to score any class with
        attacker = target
        if target.budget.limit is not None:
            attacker = target.with_budget(Budget(limit=max(target.budget.remaining - len(classes), 0)))
        recon: dict[int, np.ndarray] = {}
        try:
            for cls in classes:
                x = np.full(shape, (lo + hi) / 2, dtype=target.info.dtype)
                for _ in range(steps):
                    g = self._gradient(attacker, x, cls, rng)
                    x = np.clip(x + p.step_size * np.sign(g), lo, hi).astype(target.info.dtype)
                recon[cls] = x
        except BudgetExhausted:
            finding.status = "partial"
            finding.message = f"budget spent after {len(recon)} of {len(classes)} classes"
        finally:
            if attacker is not target:
                target.budget.used += attacker.budget.used
        if not recon:
            return
        confidence = target.predict_proba(np.stack(list(recon.values())))
        hits = [confidence[i, c] for i, c in enumerate(recon)]
        finding.metrics["mean_confidence"] = float(np.mean(hits))
        # Identifiability: is each reconstruction nearest (by correlation) to its own class's
        # mean real input? Chance is 1/k.
        y = np.asarray(data.y)
        means = {c: data.x[y == c].reshape(int((y == c).sum()), -1).mean(axis=0) for c in range(k) if (y == c).any()}
        correct = 0
        for c, x in recon.items():
            flat = x.reshape(-1)
            scores = {m: np.corrcoef(flat, mu)[0, 1] if flat.std() > 0 else 0.0 for m, mu in means.items()}
            best = max(scores, key=scores.get)
            correct += best == c
            finding.evidence.append(example(means.get(c), c, int(confidence[list(recon).index(c)].argmax()), x,
                                            best, note=f"reconstruction of class {c}; nearest real class {best}"))
        finding.metrics["identified_classes"] = float(correct)
        finding.metrics["classes_inverted"] = float(len(recon))
        finding.success_rate = correct / len(recon)
        finding.message = finding.message or (f"{correct} of {len(recon)} class reconstructions resemble their own "
                                              f"class most (chance: {1 / k:.0%})")
        if steps < p.steps:
            finding.message += f"; {steps} of {p.steps} steps per class, as the query budget allows"

    def _affordable_steps(self, target: Target, n_classes: int) -> int:
        """Steps per class that let every class be inverted and scored within the budget (at
        most ``steps``, at least one): spending the whole budget on the first classes would
        leave the others, and the result, undone."""
        p = self.params
        if target.budget.limit is None:
            return p.steps
        per_step = 1 if getattr(target, "module", None) is not None else 2 * (p.samples_per_step // 2)
        spare = target.budget.remaining - n_classes
        return max(1, min(p.steps, spare // (per_step * n_classes)))
