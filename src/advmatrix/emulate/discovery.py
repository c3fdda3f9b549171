"""Discover the model's ontology and family from its API (AML.T0013, AML.T0014, AML.T0063)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..targets import OutputKind, Target
from ._base import Dataset, Finding, Procedure


class DiscoveryParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_probes: int = Field(64, ge=4, le=10_000)


class Discovery(Procedure):
    """Probe the API with random and seed inputs: which classes it can output (its ontology),
    what kind of output it exposes (full probabilities, rounded, top-k, labels), and whether
    its decisions look linear or not (a hint of model family)."""

    name = "discovery"
    title = "Ontology and output discovery"
    family = "discovery"
    technique_ids = ("AML.T0013", "AML.T0014", "AML.T0063", "AML.T0040")

    Params = DiscoveryParams

    def _run(self, target: Target, data: Dataset, finding: Finding, rng: np.random.Generator) -> None:
        n = self.params.n_probes
        lo, hi = target.info.input_range
        noise = rng.uniform(lo, hi, (n // 2, *target.info.input_shape)).astype(target.info.dtype)
        seeds = data.x[: n - len(noise)].astype(target.info.dtype)
        probes = np.concatenate([noise, seeds])
        out = target.predict(probes)
        labels = out if out.ndim == 1 else out.argmax(axis=1)
        seen = sorted({int(v) for v in labels})
        finding.metrics["classes_seen"] = float(len(seen))
        finding.metrics["classes_declared"] = float(target.info.n_classes)
        if out.ndim == 2:
            nonzero = (out > 1e-9).sum(axis=1)
            decimals = max((len(f"{v:.12g}".split(".")[-1]) for v in out.reshape(-1)[:200]), default=0)
            finding.metrics["scores_per_answer"] = float(nonzero.mean())
            finding.metrics["score_decimals"] = float(decimals)
            most = nonzero.max()
            exposed = "labels" if most <= 1 else ("top-k" if most < target.info.n_classes else "scores")
            # Linear models change scores smoothly along a straight line between two inputs.
            a, b = probes[0], probes[-1]
            line = np.stack([a + t * (b - a) for t in np.linspace(0, 1, 9)]).astype(target.info.dtype)
            path = target.predict(line)
            flips = int((np.diff(path.argmax(axis=1)) != 0).sum())
            finding.metrics["decision_flips_on_line"] = float(flips)
        else:
            exposed = "labels"
        finding.metrics["exposes_full_scores"] = float(exposed == "scores")
        finding.success_rate = len(seen) / max(target.info.n_classes, 1)
        names = [target.info.classes[i] for i in seen if i < target.info.n_classes]
        finding.message = (f"{len(seen)} of {target.info.n_classes} classes reached ({', '.join(names[:12])}"
                           f"{'...' if len(names) > 12 else ''}); the API exposes {exposed}"
                           + ("" if target.info.output is not OutputKind.LOGITS else " (raw logits)"))
