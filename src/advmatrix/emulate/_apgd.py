"""Auto-PGD (Croce & Hein, 2020), L-infinity, written here for the ``robustness`` procedure.

PGD with a fixed step either overshoots (large step) or crawls (small step); APGD starts with a
step of 2*eps and halves it, per sample, at checkpoints where progress has stalled, jumping back
to the best point found so far. A momentum term (weight 0.25) smooths the iterates. Losses:
cross-entropy, the difference-of-logits ratio (DLR, invariant to logit scale, so saturated
softmax outputs cannot hide the gradient) and its targeted variant against one chosen class.

Everything runs on the module's device; inputs are moved there once per batch, and results come
back to NumPy once per call. Random starts are drawn on the CPU from a seeded generator, so the
same seed gives the same attack on any device.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from ._device import batch_size as pick_batch
from ._device import module_device, to_device, to_numpy

Loss = Literal["ce", "dlr", "dlr-targeted"]
_MOMENTUM = 0.75      # weight of the new step; the rest carries the previous move
_RHO = 0.75           # fraction of steps since the last checkpoint that must have raised the loss


def checkpoints(n_iter: int) -> list[int]:
    """Iterations at which the step size may be halved: the paper's growing intervals (22% of
    the run first, then shrinking by 3% down to no less than 6%)."""
    marks, prev, cur = [], 0.0, 0.22
    while cur <= 1.0:
        marks.append(math.ceil(cur * n_iter))
        prev, cur = cur, cur + max(cur - prev - 0.03, 0.06)
    return sorted({m for m in marks if 0 < m < n_iter})


def _loss(logits, y, target_class, kind: Loss):
    import torch

    if kind == "ce":
        return torch.nn.functional.cross_entropy(logits, y, reduction="none")
    ranked, _ = logits.sort(dim=1, descending=True)
    true = logits.gather(1, y[:, None])[:, 0]
    if kind == "dlr":
        # best other class: the top logit unless that is the true one, then the runner-up
        other = torch.where(ranked[:, 0] == true, ranked[:, 1], ranked[:, 0])
        return -(true - other) / (ranked[:, 0] - ranked[:, 2] + 1e-12)
    chosen = logits.gather(1, target_class[:, None])[:, 0]
    return -(true - chosen) / (ranked[:, 0] - 0.5 * (ranked[:, 2] + ranked[:, 3]) + 1e-12)


def _attack_batch(module, x, y, target_class, eps: float, lo: float, hi: float, kind: Loss, n_iter: int,
                  start, charge: Callable[[int], None]):
    """One APGD run from ``start``; returns (adversarial points, fooled mask). An adversarial
    point is kept from the first iterate that the model misclassifies, and from then on it is
    neither moved nor evaluated: each gradient is a counted query, and the rest of the batch
    evolves exactly as it would with the point still in it."""
    import torch

    n = len(x)
    low, high = (x - eps).clamp(lo, hi), (x + eps).clamp(lo, hi)

    def evaluate(z, rows):
        z = z.detach().requires_grad_(True)
        logits = module(z)
        loss = _loss(logits, y[rows], None if target_class is None else target_class[rows], kind)
        (grad,) = torch.autograd.grad(loss.sum(), z)
        charge(len(rows))
        return loss.detach(), grad, logits.detach().argmax(1) != y[rows]

    everyone = torch.arange(n, device=x.device)
    marks = set(checkpoints(n_iter))
    step = torch.full((n,) + (1,) * (x.dim() - 1), 2.0 * eps, device=x.device, dtype=x.dtype)
    cur = torch.minimum(torch.maximum(start, low), high)
    loss, grad, fooled = evaluate(cur, everyone)
    found = cur.clone()
    best_x, best_grad, best_loss = cur.clone(), grad.clone(), loss.clone()
    prev = cur.clone()
    raised = torch.zeros(n, device=x.device)
    since, step_at_mark, best_at_mark = 0, step.clone(), best_loss.clone()
    for k in range(n_iter):
        if k in marks:
            # halve where too few steps raised the loss, or where the last halving found nothing
            stalled = raised < _RHO * since
            unchanged = (step_at_mark.flatten() == step.flatten()) & (best_at_mark == best_loss)
            halve = stalled | unchanged
            step_at_mark, best_at_mark = step.clone(), best_loss.clone()
            step[halve] /= 2.0
            cur[halve], grad[halve] = best_x[halve], best_grad[halve]
            raised.zero_()
            since = 0
        rows = torch.nonzero(~fooled).flatten()
        if len(rows) == 0:
            break
        weight = 1.0 if k == 0 else _MOMENTUM
        here, lo_r, hi_r = cur[rows], low[rows], high[rows]
        z = torch.minimum(torch.maximum(here + step[rows] * grad[rows].sign(), lo_r), hi_r)
        nxt = here + weight * (z - here) + (1.0 - weight) * (here - prev[rows])
        nxt = torch.minimum(torch.maximum(nxt, lo_r), hi_r)
        prev[rows], cur[rows] = here, nxt
        new_loss, new_grad, now_fooled = evaluate(nxt, rows)
        grad[rows] = new_grad
        found[rows[now_fooled]] = nxt[now_fooled]
        fooled[rows] = now_fooled
        raised[rows] += (new_loss > loss[rows]).float()
        since += 1
        better = new_loss > best_loss[rows]
        up = rows[better]
        best_x[up], best_grad[up], best_loss[up] = nxt[better], new_grad[better], new_loss[better]
        loss[rows] = new_loss
    return found, fooled


def apgd(module: Any, x: np.ndarray, y: np.ndarray, eps: float, lo: float, hi: float, *, loss: Loss = "ce",
         n_iter: int = 100, restarts: int = 1, n_targets: int = 3, batch_size: int | None = None, seed: int = 0,
         charge: Callable[[int], None] = lambda n: None) -> tuple[np.ndarray, np.ndarray]:
    """Adversarial versions of ``x`` and a mask of the points APGD made the model misclassify.

    ``loss="dlr-targeted"`` runs one attack per target class (the ``n_targets`` highest-scoring
    wrong classes of each clean point, best first), each with ``restarts`` random starts; the
    others run ``restarts`` starts. A point leaves the run once fooled. ``charge(n)`` is called
    for every ``n`` gradient evaluations (the procedure counts them as queries).
    """
    import torch

    device = module_device(module)
    batch_size = pick_batch(module, x[0], device, batch_size) if len(x) else 1
    gen = torch.Generator().manual_seed(int(seed))
    adv, fooled = x.copy(), np.zeros(len(x), dtype=bool)
    for i in range(0, len(x), batch_size):
        xb = to_device(x[i:i + batch_size], device)
        yb = to_device(np.asarray(y[i:i + batch_size], dtype=np.int64), device)
        with torch.no_grad():
            clean_logits = module(xb)
        n_classes = clean_logits.shape[1]
        ranked = clean_logits.argsort(dim=1, descending=True)
        # wrong classes in the order the model already leans towards them
        wrong = ranked[ranked != yb[:, None]].view(len(yb), n_classes - 1)
        runs = [None] if loss != "dlr-targeted" else [wrong[:, t] for t in range(min(n_targets, n_classes - 1))]
        out, done = xb.clone(), torch.zeros(len(xb), dtype=torch.bool, device=device)
        for target_class in runs:
            for _ in range(restarts):
                live = torch.nonzero(~done).flatten()
                if len(live) == 0:
                    break
                noise = (torch.rand(xb[live].shape, generator=gen) * 2 - 1).to(device=device, dtype=xb.dtype)
                tc = None if target_class is None else target_class[live]
                with torch.enable_grad():
                    found, hit = _attack_batch(module, xb[live], yb[live], tc, eps, lo, hi, loss, n_iter,
                                               xb[live] + eps * noise, charge)
                out[live[hit]] = found[hit]
                done[live[hit]] = True
        adv[i:i + len(xb)] = to_numpy(out)
        fooled[i:i + len(xb)] = to_numpy(done)
    return adv, fooled
