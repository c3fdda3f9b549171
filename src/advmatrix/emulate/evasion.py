"""Craft adversarial data (AML.T0043) and evade the model with it (AML.T0015).

White-box FGSM and PGD are implemented here in PyTorch (batched, on the module itself); the
black-box attacks use ART, which has well-tested HopSkipJump and Square implementations.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import BudgetExhausted, CapabilityError
from ..targets import Access, Budget, OutputKind, Target
from ._base import Dataset, Finding, Procedure, example


class EvasionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    eps: float = Field(0.3, gt=0, description="L-infinity bound, in input units")
    n_samples: int = Field(50, ge=1, le=100_000, description="Seed inputs attacked")
    n_evidence: int = Field(4, ge=0, le=50)


class _Evasion(Procedure):
    family = "evasion"
    Params = EvasionParams

    def _run(self, target: Target, data: Dataset, finding: Finding, rng: np.random.Generator) -> None:
        p = self.params
        x, y = data.x[: p.n_samples].astype(target.info.dtype), np.asarray(data.y[: p.n_samples])
        clean = target.predict_labels(x)
        keep = clean == y
        finding.metrics["clean_accuracy"] = float(keep.mean())
        finding.metrics["seeds"] = float(keep.sum())
        finding.metrics["attacked"] = 0.0
        x, y = x[keep], y[keep]
        if len(x) == 0:
            finding.success_rate = 0.0
            finding.message = "no seed input was classified correctly; nothing to evade"
            return
        # Keep enough budget to query the results: an attack cut short must still be scored.
        attacker = target
        if target.budget.limit is not None:
            attacker = target.with_budget(Budget(limit=max(target.budget.remaining - len(x), 0)))
        try:
            adv, done = self.attack(attacker, x, y, rng)
        finally:
            if attacker is not target:
                target.budget.used += attacker.budget.used
        finding.metrics["attacked"] = float(done)
        if done < len(x):
            # the rate below is over the seeds attacked only: the rest were never tried, so the
            # run did not do what it set out to do and must not read as complete
            finding.status = "partial"
            finding.message = (f"query budget spent: {done} of {len(x)} seeds attacked; "
                               + (f"success rate over those {done}" if done else "no success rate"))
        if not done:
            return
        x, y = x[:done], y[:done]
        adv = np.clip(adv[:done], *target.info.input_range).astype(x.dtype)
        linf = np.abs(adv - x).reshape(len(x), -1).max(axis=1)
        adv_pred = target.predict_labels(adv)
        success = (adv_pred != y) & (linf <= p.eps + 1e-6)
        finding.success_rate = float(success.mean())
        finding.metrics.update({
            "success_rate": finding.success_rate, "successes": float(success.sum()),
            "mean_linf": float(linf[success].mean()) if success.any() else 0.0,
            "mean_l2": float(np.linalg.norm((adv - x).reshape(len(x), -1), axis=1)[success].mean())
            if success.any() else 0.0,
        })
        for i in np.flatnonzero(success)[: p.n_evidence]:
            finding.evidence.append(example(x[i], y[i], y[i], adv[i], adv_pred[i]))

    def attack(self, target: Target, x: np.ndarray, y: np.ndarray,
               rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """Adversarial versions of x; the int says how many samples were finished (a budget
        running out part-way keeps the finished ones)."""
        raise NotImplementedError  # pragma: no cover


class _WhiteBox(_Evasion):
    requires = Access.WHITE_BOX

    def _module(self, target: Target):
        module = getattr(target, "module", None)
        if module is None:
            raise CapabilityError(f"{target.info.name}: no differentiable module")
        return module

    def _grad_sign(self, target: Target, module, xt, yt, with_logits: bool = False):
        import torch

        xt = xt.detach().requires_grad_(True)
        logits = module(xt)
        loss = torch.nn.functional.cross_entropy(logits, yt)
        (grad,) = torch.autograd.grad(loss, xt)
        target.charge(len(xt))
        return (grad.sign(), logits.detach()) if with_logits else grad.sign()


class FGSM(_WhiteBox):
    """Fast Gradient Sign Method: one step of size eps along the sign of the loss gradient."""

    name = "fgsm"
    title = "White-box evasion (FGSM)"
    technique_ids = ("AML.T0043.000", "AML.T0015", "AML.T0044")

    def attack(self, target, x, y, rng):
        import torch

        module = self._module(target)
        lo, hi = target.info.input_range
        xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
        adv = (xt + self.params.eps * self._grad_sign(target, module, xt, yt)).clamp(lo, hi)
        return adv.detach().numpy(), len(x)


class PGDParams(EvasionParams):
    steps: int = Field(40, ge=1, le=10_000)
    step_size: float | None = Field(None, gt=0, description="default: 2.5 * eps / steps")
    random_start: bool = True
    batch_size: int = Field(256, ge=1)
    early_stop: bool = Field(True, description="stop moving a sample once it is misclassified "
                                               "(read off the forward pass each step already makes)")


class PGD(_WhiteBox):
    """Projected Gradient Descent (L-infinity): iterated gradient-sign steps projected back into
    the eps-ball, from a random start; the standard strong white-box attack."""

    name = "pgd"
    title = "White-box evasion (PGD)"
    technique_ids = ("AML.T0043.000", "AML.T0015", "AML.T0044")
    Params = PGDParams

    def attack(self, target, x, y, rng):
        import torch

        p = self.params
        module = self._module(target)
        lo, hi = target.info.input_range
        step = p.step_size or 2.5 * p.eps / p.steps
        out = np.empty_like(x)
        done = 0
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        try:
            for i in range(0, len(x), p.batch_size):
                xt = torch.from_numpy(x[i:i + p.batch_size])
                yt = torch.from_numpy(y[i:i + p.batch_size].astype(np.int64))
                adv = xt.clone()
                if p.random_start:
                    adv = (adv + torch.empty_like(adv).uniform_(-p.eps, p.eps, generator=gen)).clamp(lo, hi)
                live = torch.arange(len(xt))
                for _ in range(p.steps):
                    sign, logits = self._grad_sign(target, module, adv[live], yt[live], with_logits=True)
                    if p.early_stop:
                        moving = logits.argmax(1) == yt[live]  # the point scored this step
                        live, sign = live[moving], sign[moving]
                        if len(live) == 0:
                            break
                    moved = adv[live] + step * sign
                    adv[live] = torch.clamp(moved, xt[live] - p.eps, xt[live] + p.eps).clamp(lo, hi)
                out[i:i + len(xt)] = adv.detach().numpy()
                done = i + len(xt)
        except BudgetExhausted:
            pass
        return out, done


def _art_classifier(target: Target, neural: bool = False):
    from art.estimators.classification import (
        BlackBoxClassifier,
        BlackBoxClassifierNeuralNetwork,
    )

    k = target.info.n_classes

    def predict(batch: np.ndarray) -> np.ndarray:
        out = target.predict(batch.astype(target.info.dtype))
        return np.eye(k)[out] if target.info.output is OutputKind.LABELS else out

    # Square insists on the "neural network" flavour of ART's black-box wrapper; same queries.
    cls = BlackBoxClassifierNeuralNetwork if neural else BlackBoxClassifier
    return cls(predict, target.info.input_shape, k, clip_values=target.info.input_range)


def _per_sample(target: Target, x: np.ndarray, make_attack, neural: bool = False) -> tuple[np.ndarray, int]:
    """Run an ART attack one sample at a time so a spent budget keeps finished samples."""
    attack = make_attack(_art_classifier(target, neural))
    out = np.empty_like(x)
    done = 0
    try:
        for i in range(len(x)):
            out[i] = attack.generate(x[i:i + 1])[0]
            done = i + 1
    except BudgetExhausted:
        pass
    return out, done


class HSJParams(EvasionParams):
    n_samples: int = Field(10, ge=1, le=10_000)
    max_iter: int = Field(20, ge=1)
    max_eval: int = Field(500, ge=1)
    init_eval: int = Field(50, ge=1)
    norm: Literal["inf", "2"] = "inf"


class HopSkipJump(_Evasion):
    """HopSkipJump: a decision-based black-box attack that needs only the predicted label,
    walking along the decision boundary with estimated gradient directions (ART)."""

    name = "hopskipjump"
    title = "Black-box evasion, decision-based (HopSkipJump)"
    technique_ids = ("AML.T0043.001", "AML.T0015", "AML.T0040")
    Params = HSJParams
    extras = ("attack",)

    def attack(self, target, x, y, rng):
        from art.attacks.evasion import HopSkipJump as ArtHSJ

        p = self.params
        norm = np.inf if p.norm == "inf" else 2
        return _per_sample(target, x, lambda clf: ArtHSJ(
            clf, targeted=False, norm=norm, max_iter=p.max_iter, max_eval=p.max_eval,
            init_eval=p.init_eval, verbose=False))


class SquareParams(EvasionParams):
    n_samples: int = Field(50, ge=1, le=100_000)
    max_iter: int = Field(1000, ge=1, description="rounds; each round is one query per unfinished sample")
    p_init: float = Field(0.3, gt=0, le=1)


class Square(_Evasion):
    """Square Attack: a score-based black-box attack with random square-shaped updates,
    accepted when they shrink the true class's margin. Batched across samples: one query per
    unfinished sample per round."""

    name = "square"
    title = "Black-box evasion, score-based (Square)"
    technique_ids = ("AML.T0043.001", "AML.T0015", "AML.T0040")
    needs_probabilities = True
    Params = SquareParams

    def attack(self, target, x, y, rng):
        from ._square import square_linf

        p = self.params
        lo, hi = target.info.input_range
        adv, _ = square_linf(target.predict_proba, x, y, p.eps, lo, hi, rng, p.max_iter, p.p_init)
        return adv, len(x)
