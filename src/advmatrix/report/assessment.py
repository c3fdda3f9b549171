"""Reports of an assessment: report.json, report.html (self-contained, prints on A4 landscape),
report.md, report-findings.sarif, and Navigator layers (success; detection coverage and the gap
between the two for runs that went through the gateway). What counts as a success, when it
happened and the verdicts are decided in :mod:`._verdicts`; remediation in :mod:`._remediation`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .._files import write_atomic
from ..kb.layer import MEASURED_NONE
from ._png import as_image, data_uri
from ._remediation import remediation, target_kind
from ._verdicts import (
    GAP_SCORES,
    METRIC_DEFINITIONS,
    SUCCESS_RULES,
    VERDICTS,
    measured_techniques,
    procedure_verdicts,
    rules_key,
    shown_result,
    technique_results,
    technique_scores,
    technique_verdicts,
)


def summary(assessment: Any) -> dict[str, Any]:
    """Counts and extremes of an assessment: procedures run and skipped, queries, techniques
    measured, worst success, and the verdict per technique."""
    done = [f for f in assessment.findings if f.status != "skipped"]
    verdicts = procedure_verdicts(assessment)
    by_technique = technique_verdicts(verdicts)
    return {
        "procedures_run": len(done),
        "procedures_skipped": len(assessment.findings) - len(done),
        "skipped": {f.procedure: f.message for f in assessment.findings if f.status == "skipped"},
        "queries": sum(f.queries for f in assessment.findings),
        "techniques_tested": sorted({t for f in done for t in measured_techniques(f)}),
        "worst": max((f.success_rate for f in done if f.success_rate is not None), default=None),
        "detection_measured": assessment.coverage is not None,
        "verdicts": by_technique,
        "verdict_counts": {k: sum(v == k for v in by_technique.values()) for k in VERDICTS
                           if any(v == k for v in by_technique.values())},
    }


def report_data(assessment: Any) -> dict[str, Any]:
    """Everything the reports show beyond the stored run: summary, per-procedure verdicts and
    detection, ranked remediation, and the definitions of the metrics and verdicts."""
    verdicts = procedure_verdicts(assessment)
    families = sorted({rules_key(f.family) for f in assessment.findings})
    return {
        "summary": summary(assessment),
        "procedures": [v.as_dict() for v in verdicts],
        "detection": None if assessment.coverage is None else
        [v.as_dict() for v in verdicts if v.detected is not None],
        "remediation": [r.as_dict() for r in remediation(assessment, verdicts)],
        "definitions": {"families": {k: SUCCESS_RULES[k] for k in families}, "metrics": METRIC_DEFINITIONS,
                        "verdicts": {k: words for k, (words, _) in VERDICTS.items()}},
    }


def report_json(assessment: Any) -> str:
    """The assessment, its summary, verdicts, detection and remediation as indented JSON."""
    return json.dumps({**assessment.as_dict(), **report_data(assessment)}, indent=2, default=str) + "\n"


def layer_json(assessment: Any) -> str:
    """A Navigator layer scored by the best success rate per technique the procedures measured."""
    from ..kb import build_layer, bundled

    matrix = bundled()
    scores = {t: s for t, s in technique_scores(assessment).items() if t in matrix}
    comments = {}
    for f in assessment.findings:
        for t in measured_techniques(f):
            if t in scores and f.success_rate is not None and f.status != "skipped":
                comments[t] = (comments.get(t, "") + f"{f.procedure}: {shown_result(f)}; ").strip()
    layer = build_layer(matrix, scores, name=f"advmatrix assessment {assessment.id}: {assessment.target['name']}",
                        description="Score = best success rate of the procedures that measure the technique.",
                        comments=comments, legend={"failed": MEASURED_NONE, "succeeded": "#ff6666"},
                        gradient=(MEASURED_NONE, "#ff6666"),
                        metadata={"run": assessment.id, "target": assessment.target["name"],
                                  "access": assessment.target["access"]},
                        min_value=0, max_value=1)
    return layer.to_json() + "\n"


def gap_layer_json(assessment: Any) -> str:
    """The gap layer: per technique, the verdict of attack against detection as a score
    (3 succeeded and unseen, 2 succeeded then seen, 1 seen before it succeeded, 0 failed)."""
    from ..kb import build_layer, bundled

    matrix = bundled()
    verdicts = procedure_verdicts(assessment)
    by_technique = {t: v for t, v in technique_verdicts(verdicts).items() if t in matrix and v in GAP_SCORES}
    comments: dict[str, str] = {}
    for v in verdicts:
        for t in v.techniques:
            if t in by_technique:
                comments[t] = (comments.get(t, "") + f"{v.procedure}: {v.words}; ").strip()
    words = {k: VERDICTS[k] for k in sorted(GAP_SCORES, key=GAP_SCORES.get)}
    layer = build_layer(matrix, {t: float(GAP_SCORES[v]) for t, v in by_technique.items()},
                        name=f"advmatrix gap {assessment.id}: {assessment.target['name']}",
                        description="Attack against detection: 3 = succeeded and unseen, 2 = succeeded, then seen, "
                                    "1 = seen before it succeeded, 0 = failed.",
                        comments=comments, legend={w: c for w, c in words.values()},
                        gradient=tuple(c for _, c in words.values()),
                        metadata={"run": assessment.id, "target": assessment.target["name"],
                                  "access": assessment.target["access"]},
                        min_value=0, max_value=3)
    return layer.to_json() + "\n"


def _heatmap(assessment: Any) -> list[dict[str, Any]]:
    """Tactic columns with every technique of the matrix; those measured carry their best
    success rate and verdict (the whole matrix is drawn so that a printed report shows it)."""
    from ..kb import bundled

    results = technique_results(assessment)
    verdicts = technique_verdicts(procedure_verdicts(assessment))

    def cell(t: Any) -> dict[str, Any]:
        return {"id": t.id, "name": t.name, "result": results.get(t.id), "verdict": verdicts.get(t.id)}

    return [{"id": tactic.id, "name": tactic.name,
             "cells": [{**cell(t), "subs": [cell(s) for s in subs if s.id in verdicts]} for t, subs in techniques]}
            for tactic, techniques in bundled().columns()]


def report_html(assessment: Any) -> str:
    """The self-contained HTML report: summary with verdicts, the whole matrix, detection,
    findings with evidence and metric definitions, ranked remediation."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("advmatrix.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    target = assessment.target
    # a chat target stored by a campaign has no input shape or range: there are no pictures to draw
    shape = tuple(target.get("input_shape") or ())
    lo, hi = target.get("input_range") or (0.0, 1.0)
    images = target.get("modality") == "image" and bool(shape)
    scale = max(1, 96 // max(shape[-1], 1)) if images else 1
    verdicts = {v.procedure: v for v in procedure_verdicts(assessment)}
    findings = []
    for f in assessment.findings:
        evidence = []
        for e in f.evidence:
            pictures = {}
            if images and shape:
                for key in ("input", "adversarial"):
                    value = getattr(e, key)
                    img = as_image(value, shape) if value is not None else None
                    if img is not None:
                        pictures[key] = data_uri(img, lo, hi, scale)
            evidence.append({"e": e, "pictures": pictures})
        findings.append({"f": f, "evidence": evidence, "v": verdicts[f.procedure], "result": shown_result(f),
                         "family_rule": SUCCESS_RULES[rules_key(f.family)],
                         "definitions": {k: METRIC_DEFINITIONS.get(k, "") for k in f.metrics}})
    data = report_data(assessment)
    return env.get_template("assessment.html.j2").render(
        a=assessment, target=target, summary=data["summary"], findings=findings, data=data,
        verdicts=VERDICTS, kind=target_kind(target), columns=_heatmap(assessment), colour=_colour,
        verdict_colour=lambda v: VERDICTS[v][1] if v else "#ffffff")


def _colour(score: float | None) -> str:
    from ..kb.layer import DEFAULT_GRADIENT, gradient

    return "#eeeeee" if score is None else gradient(DEFAULT_GRADIENT, 0.0, 1.0)(score)


def write_reports(assessment: Any, out_dir: str | Path) -> dict[str, str]:
    """Write report.json, report.html, report.md, report-findings.sarif and layer.json into
    ``out_dir`` (and gap-layer.json for runs that went through the gateway); returns their paths.
    Everything is rendered before the first file is written: a failure leaves no partial set."""
    from ._markdown import report_markdown
    from .assessment_sarif import findings_sarif

    out = Path(out_dir)
    texts = {"json": ("report.json", report_json(assessment)), "html": ("report.html", report_html(assessment)),
             "markdown": ("report.md", report_markdown(assessment)),
             # located at report.json as written here, so code scanning finds the file
             "sarif": ("report-findings.sarif",
                       json.dumps(findings_sarif(assessment, str(out / "report.json")), indent=2) + "\n"),
             "layer": ("layer.json", layer_json(assessment))}
    if assessment.coverage is not None:
        texts["gap_layer"] = ("gap-layer.json", gap_layer_json(assessment))
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.values():
        write_atomic(out / name, text)
    return {k: str(out / name) for k, (name, _) in texts.items()}


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
                       comments=comments, legend={"not detected": MEASURED_NONE, "detected": "#66b266"},
                       gradient=(MEASURED_NONE, "#66b266"), min_value=0, max_value=1,
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
