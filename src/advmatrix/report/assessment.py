"""Reports of an assessment: report.json, a self-contained HTML page, and a Navigator layer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .._files import write_atomic
from ._png import as_image, data_uri


def summary(assessment: Any) -> dict[str, Any]:
    """Counts and extremes of an assessment: procedures run and skipped, queries, techniques, worst success."""
    done = [f for f in assessment.findings if f.status != "skipped"]
    return {
        "procedures_run": len(done),
        "procedures_skipped": len(assessment.findings) - len(done),
        "queries": sum(f.queries for f in assessment.findings),
        "techniques_tested": sorted({t for f in done for t in f.technique_ids}),
        "worst": max((f.success_rate for f in done if f.success_rate is not None), default=None),
    }


def report_json(assessment: Any) -> str:
    """The assessment and its summary as indented JSON."""
    return json.dumps({**assessment.as_dict(), "summary": summary(assessment)}, indent=2, default=str) + "\n"


def layer_json(assessment: Any) -> str:
    """A Navigator layer scored by the best success rate per technique."""
    from ..kb import build_layer, bundled

    matrix = bundled()
    scores = {t: s for t, s in assessment.scores().items() if t in matrix}
    comments = {}
    for f in assessment.findings:
        for t in f.technique_ids:
            if t in scores and f.success_rate is not None:
                comments[t] = (comments.get(t, "") + f"{f.procedure}: {f.success_rate:.0%}; ").strip()
    layer = build_layer(matrix, scores, name=f"advmatrix assessment {assessment.id}: {assessment.target['name']}",
                        description="Score = best success rate of the procedures that emulate the technique.",
                        comments=comments, legend={"failed": "#ffffff", "succeeded": "#ff6666"},
                        metadata={"run": assessment.id, "target": assessment.target["name"],
                                  "access": assessment.target["access"]},
                        min_value=0, max_value=1)
    return layer.to_json() + "\n"


def _heatmap(assessment: Any) -> list[dict[str, Any]]:
    """Tactic columns with the techniques that were tested, coloured by success."""
    from ..kb import bundled

    scores = assessment.scores()
    columns = []
    for tactic, techniques in bundled().columns():
        cells = []
        for t, subs in techniques:
            tested = {s.id: (s.name, scores[s.id]) for s in (t, *subs) if s.id in scores}
            if tested:
                cells.append({"id": t.id, "name": t.name, "score": max(v for _, v in tested.values()),
                              "subs": [{"id": i, "name": n, "score": v} for i, (n, v) in tested.items() if i != t.id]})
        if cells:
            columns.append({"id": tactic.id, "name": tactic.name, "cells": cells})
    return columns


def report_html(assessment: Any) -> str:
    """The self-contained HTML report: summary, heatmap, findings with evidence, mitigations."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("advmatrix.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    target = assessment.target
    shape = tuple(target["input_shape"])
    lo, hi = target["input_range"]
    images = target.get("modality") == "image"
    scale = max(1, 96 // max(shape[-1], 1)) if images else 1
    findings = []
    for f in assessment.findings:
        evidence = []
        for e in f.evidence:
            pictures = {}
            if images:
                for key in ("input", "adversarial"):
                    value = getattr(e, key)
                    img = as_image(value, shape) if value is not None else None
                    if img is not None:
                        pictures[key] = data_uri(img, lo, hi, scale)
            evidence.append({"e": e, "pictures": pictures})
        findings.append({"f": f, "evidence": evidence})
    return env.get_template("assessment.html.j2").render(
        a=assessment, target=target, summary=summary(assessment), findings=findings,
        columns=_heatmap(assessment), colour=_colour)


def _colour(score: float | None) -> str:
    from ..kb.layer import DEFAULT_GRADIENT, gradient

    return "#eeeeee" if score is None else gradient(DEFAULT_GRADIENT, 0.0, 1.0)(score)


def write_reports(assessment: Any, out_dir: str | Path) -> dict[str, str]:
    """Write report.json, report.html and layer.json into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "html": out / "report.html", "layer": out / "layer.json"}
    write_atomic(paths["json"], report_json(assessment))
    write_atomic(paths["html"], report_html(assessment))
    write_atomic(paths["layer"], layer_json(assessment))
    return {k: str(v) for k, v in paths.items()}


def coverage_comments(coverage: list) -> dict[str, str]:
    """Per technique, which procedures the gateway noticed, by what and when, and which it missed."""
    comments: dict[str, str] = {}
    for c in coverage:
        for t in c.technique_ids:
            seen = f"first alert after {c.queries_to_detection} queries (by {', '.join(c.detectors)})"
            if getattr(c, "before_success", None) is not None:
                seen += ", before the attack first succeeded" if c.before_success else \
                    f", after the attack first succeeded (at {c.first_success_query})"
            note = f"{c.procedure}: " + (seen if c.detected else "not detected")
            comments[t] = (comments.get(t, "") + note + "; ").strip()
    return comments


def detection_layer(matrix, scores: dict[str, float], *, name: str, comments: dict[str, str] | None = None,
                    run_id: str | None = None):
    """Navigator layer of detection coverage: 1 where the gateway noticed a procedure emulating
    the technique, 0 where every such procedure went unnoticed."""
    from ..kb import build_layer

    return build_layer(matrix, {t: s for t, s in scores.items() if t in matrix}, name=name,
                       description="1 = the gateway noticed a procedure emulating the technique",
                       comments=comments, legend={"not detected": "#ffffff", "detected": "#66b266"},
                       gradient=("#ffffff", "#66b266"), min_value=0, max_value=1,
                       metadata={"run": run_id} if run_id else None)


def write_coverage(coverage: list, assessment: Any, out_dir: str | Path) -> dict[str, str]:
    """coverage.json (per procedure: detected, by what, after how many queries) and its layer."""
    from ..emulate import coverage_scores
    from ..kb import bundled

    out = Path(out_dir)
    layer = detection_layer(bundled(), coverage_scores(coverage), comments=coverage_comments(coverage),
                            name=f"advmatrix detection coverage {assessment.id}", run_id=assessment.id)
    paths = {"coverage": out / "coverage.json", "coverage_layer": out / "coverage-layer.json"}
    write_atomic(paths["coverage"], json.dumps([c.as_dict() for c in coverage], indent=2) + "\n")
    write_atomic(paths["coverage_layer"], layer.to_json() + "\n")
    return {k: str(v) for k, v in paths.items()}
