"""Label-only evasion written here: a batched ray search (RayS) under an L-infinity bound.

It needs nothing but the predicted label, so it runs against label-only APIs and, on targets
that do return scores, reads only their argmax: the scores never steer it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..targets import Target
from .evasion import EvasionParams, _Evasion


class RaySParams(EvasionParams):
    max_queries: int = Field(1000, ge=1, description="queries allowed per sample")
    tol: float = Field(0.1, gt=0, le=1, description="radius precision of the binary search, as a fraction of eps")
    init: Literal["ones", "random"] = Field("ones", description="first direction: all +1, or random signs")
    batch_size: int = Field(256, ge=1, description="samples searched together (one query each per round)")


class RayS(_Evasion):
    """RayS: a decision-based (label-only) black-box attack that searches sign directions for the
    nearest decision boundary under an L-infinity bound, flipping ever smaller blocks of signs and
    bisecting the boundary radius; a sample stops once it is misclassified within eps. Batched:
    one query per unfinished sample per round."""

    name = "rays"
    title = "Black-box evasion, decision-based (RayS)"
    technique_ids = ("AML.T0043.001", "AML.T0015", "AML.T0040")
    Params = RaySParams

    def attack(self, target: Target, x: np.ndarray, y: np.ndarray,
               rng: np.random.Generator) -> tuple[np.ndarray, int]:
        from ._rays import rays_linf

        p = self.params
        lo, hi = target.info.input_range
        out = x.copy()
        done = 0
        for i in range(0, len(x), p.batch_size):
            xb, yb = x[i:i + p.batch_size], y[i:i + p.batch_size]
            adv, queries, radius = rays_linf(target.predict_labels, xb, yb, p.eps, lo, hi, rng,
                                             p.max_queries, p.tol, p.init)
            out[i:i + len(xb)] = adv
            finished = (radius <= p.eps) | (queries >= p.max_queries)
            if finished.all():
                done = i + len(xb)
                continue
            # only a spent query budget stops the search short: keep the samples finished in
            # order, so the rate is over samples the attack was allowed to complete
            done = i + int(np.argmin(finished))
            break
        return out, done


__all__ = ["RayS", "RaySParams"]
