"""Reading Square's striped start under per-query noise and a brightness/contrast jitter.

An L-inf Square search starts by pushing every vertical line of its input (a channel's column)
up or down by the whole budget, each line its own way. Sent bit for bit, that is a corner step
(``structured-search`` reads it exactly); disguised with noise and a re-mapping, no value is
exact any more, and a lone "every value moved by about one amount" reading also fits pairs of
different small inputs. The lines are what noise cannot fake: every value of a line moved the
same way, every line by the same amount, and nothing is left over but noise. What benign
clients send is not built so: a drifting video frame or a shifted retry moves a line's values
by amounts that follow its edges, and leaves lines without edges where they were.
"""

from __future__ import annotations

import numpy as np

from ._affine import fit_affine


def _masked_median(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per row, the median of ``values`` where ``mask`` holds (NaN where none does); row sorts,
    as nanmedian costs more."""
    count = mask.sum(axis=1)
    ordered = np.sort(np.where(mask, values, np.inf), axis=1)
    middle = ordered[np.arange(len(values)), np.clip((count - 1) // 2, 0, values.shape[1] - 1)]
    return np.where(count > 0, middle, np.nan)


def striped_step(picked: np.ndarray, bases: np.ndarray, lines: np.ndarray, low: float, high: float, *,
                 min_step: float, max_noise: float, snr: float = 3.0, agree: float = 0.95, tight: float = 0.8,
                 lines_ok: float = 0.75, min_lines: int = 4, unexplained: float = 0.1,
                 min_free: float = 0.25, min_values: int = 16) -> np.ndarray:
    """Per base (rows of ``bases``): whether ``picked`` is the base with each line (``lines``: a
    one-hot of each kept value's line) pushed up or down by one common step of at least
    ``min_step``, then re-mapped (a * x + b) and noised.

    Asked of the fit: at least ``min_values`` values free to move (the step not clipped) and
    ``min_free`` of the kept values (a dark input's lines pushed down hold about half of them);
    ``agree`` of them moved their line's way and ``tight`` by the step within half of it; at
    least ``min_lines`` lines holding two free values moved by the step within 40 %, and
    ``lines_ok`` of all that hold two (a dark line pushed down holds none: it tells nothing); what
    is left over (its median absolute deviation) at most ``max_noise`` and 1/``snr`` of the step,
    while a plain re-mapping of the base leaves ``unexplained`` of the values off by more than
    half the step (a brightness/contrast change fits the lines too, and is no step); the fitted
    gain short of its bounds (0.5, 1.5). Inputs too large for kept values to share lines are never
    read so.
    """
    x = bases.astype(np.float64)
    y = np.broadcast_to(picked.astype(np.float64), x.shape)
    tol = 0.02 * (high - low)
    inside = (y > low) & (y < high)
    a, b = np.ones(len(x)), np.zeros(len(x))
    step = _masked_median(np.abs(y - x), inside)
    for _ in range(3):
        move = (y - b[:, None]) / a[:, None] - x
        # per line: its way, by its mean move; a line that barely moved was pushed against the
        # bound its values sit near (a dark line pushed down stays dark, and noise decides the
        # sign of its mean)
        held = np.maximum(inside.astype(np.float64) @ lines, 1)
        mean = (np.where(inside, move, 0.0) @ lines) / held
        dark = (np.where(inside, x, 0.0) @ lines) / held < (low + high) / 2
        sign = np.where(np.abs(mean) >= 0.5 * step[:, None], np.sign(mean), np.where(dark, -1.0, 1.0))
        way = sign @ lines.T                                                       # per value
        z = np.clip(x + way * step[:, None], low, high)
        free = inside & (z > low + tol) & (z < high - tol)
        step = _masked_median(np.abs(move), free)
        a, b = fit_affine(z, y, free, gain=(0.5, 1.5))  # a jitter, not a new picture; never 0
    n_free = free.sum(axis=1)
    ok = (n_free >= max(min_values, min_free * picked.size)) & np.isfinite(step) & (step >= min_step) \
        & (np.abs(a - 1) < 0.5)  # a gain held at its bound: no jitter explains the rest
    if not ok.any():
        return ok
    move = (y - b[:, None]) / a[:, None] - x
    rest = y - a[:, None] * z - b[:, None]
    noise = 1.4826 * _masked_median(np.abs(rest - _masked_median(rest, free)[:, None]), free)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreed = (free & (np.sign(move) == way)).sum(axis=1) / n_free
        close = (free & (np.abs(np.abs(move) - step[:, None]) <= 0.5 * step[:, None])).sum(axis=1) / n_free
        held = free.astype(np.float64) @ lines                                     # free values per line
        counted = held >= 2
        per_line = (np.where(free, np.abs(move), 0.0) @ lines) / held
        on_step = counted & (np.abs(per_line / step[:, None] - 1) < 0.4)
        share = on_step.sum(axis=1) / counted.sum(axis=1)
    plain = inside & (x > low) & (x < high)
    a0, b0 = fit_affine(x, y, plain)
    off = plain & (np.abs(y - a0[:, None] * x - b0[:, None]) > 0.5 * step[:, None])
    return ok & (agreed >= agree) & (close >= tight) & (on_step.sum(axis=1) >= min_lines) \
        & (np.nan_to_num(share) >= lines_ok) & (noise <= np.minimum(step / snr, max_noise)) \
        & (off.sum(axis=1) >= unexplained * np.maximum(plain.sum(axis=1), 1))
