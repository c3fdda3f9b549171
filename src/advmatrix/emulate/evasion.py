"""Craft adversarial data (AML.T0043) and evade the model with it (AML.T0015).

White-box FGSM and PGD are implemented here in PyTorch (batched, on the module itself, on the
device the module lives on: CPU, CUDA or MPS); the black-box attacks use ART, which has
well-tested HopSkipJump and Square implementations.
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
    """Base of the gradient attacks: they run on the target module's device (see ``_device``),
    move each batch there once, and bring results back to NumPy once."""

    requires = Access.WHITE_BOX

    def _module(self, target: Target):
        module = getattr(target, "module", None)
        if module is None:
            raise CapabilityError(f"{target.info.name}: no differentiable module")
        return module

    def _precision(self) -> str:
        return getattr(self.params, "precision", "fp32")

    def _grad_sign(self, target: Target, module, xt, yt, with_logits: bool = False):
        """Sign of the cross-entropy gradient at ``xt`` (on the module's device), charged as
        ``len(xt)`` queries; with ``with_logits`` also the logits that forward pass gave."""
        import torch

        precision = self._precision()
        xt = xt.detach().requires_grad_(True)
        if precision == "fp32":  # the common case, kept free of per-step overhead
            logits = module(xt)
            loss = torch.nn.functional.cross_entropy(logits, yt)
        else:
            from ._device import LOSS_SCALE, autocast

            with autocast(str(xt.device), precision):  # type: ignore[arg-type]
                logits = module(xt)
            # the loss in fp32 whatever the forward ran in; scaled so fp16 gradients keep their sign
            loss = torch.nn.functional.cross_entropy(logits.float(), yt) * LOSS_SCALE[precision]
        (grad,) = torch.autograd.grad(loss, xt)
        target.charge(len(xt))
        return (grad.sign(), logits.detach()) if with_logits else grad.sign()


class FGSMParams(EvasionParams):
    precision: Literal["fp32", "bf16", "fp16"] = Field(
        "fp32", description="forward pass precision (bf16/fp16 autocast; fp16 on CUDA only); results are "
                            "scored in full precision")
    batch_size: int | None = Field(None, ge=1, description="default: from free GPU memory; 256 on the CPU")


class FGSM(_WhiteBox):
    """Fast Gradient Sign Method: one step of size eps along the sign of the loss gradient."""

    name = "fgsm"
    title = "White-box evasion (FGSM)"
    technique_ids = ("AML.T0043.000", "AML.T0015", "AML.T0044")
    Params = FGSMParams

    def attack(self, target, x, y, rng):
        from ._device import batch_size, module_device, to_device

        p = self.params
        module = self._module(target)
        device = module_device(module)
        lo, hi = target.info.input_range
        size = batch_size(module, x[0], device, p.batch_size)
        parts, done = [], 0
        try:
            for i in range(0, len(x), size):
                xt = to_device(x[i:i + size], device)
                yt = to_device(y[i:i + size].astype(np.int64), device)
                parts.append((xt + p.eps * self._grad_sign(target, module, xt, yt)).clamp(lo, hi).detach())
                done = i + len(xt)
        except BudgetExhausted:
            pass
        return _gather(parts, x), done


class PGDParams(FGSMParams):
    steps: int = Field(40, ge=1, le=10_000)
    step_size: float | None = Field(None, gt=0, description="default: 2.5 * eps / steps")
    random_start: bool = True
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

        from ._device import batch_size, module_device, to_device

        p = self.params
        module = self._module(target)
        device = module_device(module)
        lo, hi = target.info.input_range
        step = p.step_size or 2.5 * p.eps / p.steps
        size = batch_size(module, x[0], device, p.batch_size)
        parts, done = [], 0
        # the random start is drawn on the CPU so a seed gives the same attack on every device
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        try:
            for i in range(0, len(x), size):
                x0 = torch.from_numpy(x[i:i + size])
                start = x0 + torch.empty_like(x0).uniform_(-p.eps, p.eps, generator=gen) if p.random_start else x0
                xt, adv = to_device(x0, device), to_device(start.clamp(lo, hi), device)
                yt = to_device(y[i:i + size].astype(np.int64), device)
                low, high = (xt - p.eps).clamp_(min=lo), (xt + p.eps).clamp_(max=hi)
                live = torch.arange(len(xt), device=device)
                for _ in range(p.steps):
                    sign, logits = self._grad_sign(target, module, adv[live], yt[live], with_logits=True)
                    if p.early_stop:
                        moving = logits.argmax(1) == yt[live]  # the point scored this step
                        live, sign = live[moving], sign[moving]
                        if len(live) == 0:
                            break
                    adv[live] = torch.minimum(torch.maximum(adv[live] + step * sign, low[live]), high[live])
                parts.append(adv.detach())
                done = i + len(xt)
        except BudgetExhausted:
            pass
        return _gather(parts, x), done


def _gather(parts: list, x: np.ndarray) -> np.ndarray:
    """The finished batches (tensors on the device) as one NumPy array shaped like ``x``, copied
    back once; rows never attacked keep ``x``."""
    from ._device import to_numpy

    out = x.copy()
    if parts:
        import torch

        done = to_numpy(torch.cat(parts))
        out[:len(done)] = done
    return out


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
