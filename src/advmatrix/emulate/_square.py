"""Square Attack (Andriushchenko et al., 2020), L-infinity, untargeted, written here because
ART's version attacks one sample at a time with framework overhead per query; this one moves
every unfinished sample one step per round, so each round is a single batched query.

Each round proposes, for every sample still correctly classified, a random square window set
to +-eps (per channel) around the original, and keeps it if the margin between the true class
and the best other class shrinks. Window size follows the paper's halving schedule.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import BudgetExhausted

_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def _fraction(p_init: float, it: int, n_iters: int) -> float:
    scaled = int(it / n_iters * 10000)
    return p_init / 2 ** sum(scaled > h for h in _HALVINGS)


def _margin(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    logp = np.log(np.clip(probs, 1e-12, 1.0))
    true = logp[np.arange(len(y)), y]
    other = logp.copy()
    other[np.arange(len(y)), y] = -np.inf
    return true - other.max(axis=1)


def square_linf(predict_proba: Callable[[np.ndarray], np.ndarray], x: np.ndarray, y: np.ndarray, eps: float,
                lo: float, hi: float, rng: np.random.Generator, max_iter: int = 1000,
                p_init: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Adversarial examples and the number of queries each sample used."""
    image = x.ndim == 4                    # (n, C, H, W); otherwise a flat feature vector
    flat = x.reshape(len(x), 1, 1, -1) if not image else x
    n, c, _h, w = flat.shape
    queries = np.zeros(n, dtype=np.int64)

    def ask(batch: np.ndarray, rows: np.ndarray) -> np.ndarray:
        queries[rows] += 1
        return _margin(predict_proba(batch.reshape(len(batch), *x.shape[1:])), y[rows])

    # Start from vertical stripes of +-eps: a strong first guess for L-infinity.
    adv = np.clip(flat + eps * rng.choice([-1.0, 1.0], size=(n, c, 1, w)), lo, hi).astype(x.dtype)
    rows = np.arange(n)
    loss = ask(adv, rows)
    try:
        _rounds(flat, adv, loss, ask, eps, lo, hi, rng, max_iter, p_init, image)
    except BudgetExhausted:
        pass  # every proposal kept so far is a valid perturbation; the caller scores them
    return adv.reshape(x.shape), queries


def _rounds(flat, adv, loss, ask, eps, lo, hi, rng, max_iter, p_init, image) -> None:
    _n, c, h, w = flat.shape
    for it in range(max_iter):
        active = np.flatnonzero(loss > 0)
        if len(active) == 0:
            break
        side = round(np.sqrt(_fraction(p_init, it, max_iter) * h * w))
        side = min(max(side, 1), h, w) if image else min(max(side * side, 1), w)
        sh, sw = (side, side) if image else (1, side)
        proposal = adv[active].copy()
        r = rng.integers(0, h - sh + 1, len(active))
        col = rng.integers(0, w - sw + 1, len(active))
        signs = eps * rng.choice([-1.0, 1.0], size=(len(active), c, 1, 1))
        for k, i in enumerate(active):
            window = flat[i, :, r[k]:r[k] + sh, col[k]:col[k] + sw]
            proposal[k, :, r[k]:r[k] + sh, col[k]:col[k] + sw] = np.clip(window + signs[k], lo, hi)
        new = ask(proposal, active)
        better = new < loss[active]
        adv[active[better]] = proposal[better]
        loss[active[better]] = new[better]
