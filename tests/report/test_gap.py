"""What the reports say about an assessment that went through the gateway: detection beside
success, verdicts, metric definitions, chance-level results, remediation, Markdown and SARIF."""

from __future__ import annotations

import json

import pytest
import yaml

from advmatrix.emulate import Assessment, Coverage, Finding
from advmatrix.gateway import GatewayConfig
from advmatrix.kb import bundled
from advmatrix.report._remediation import fits, remediation, target_kind
from advmatrix.report._verdicts import procedure_verdicts, technique_verdicts
from advmatrix.report.assessment import gap_layer_json, layer_json, report_html, report_json, write_reports
from advmatrix.report.assessment_sarif import findings_sarif
from tests.conftest import folded_sub_techniques

DIGITS = {"name": "digits-cnn", "input_shape": [1, 8, 8], "classes": [str(i) for i in range(10)],
          "output": "probabilities", "access": "black-box", "modality": "image", "input_range": [0.0, 1.0],
          "dtype": "float32"}
EVASION = ("AML.T0043.001", "AML.T0015", "AML.T0040")


def _finding(procedure, family, techniques, rate, metrics=None, queries=100, status="completed", params=None):
    return Finding(procedure, procedure.title(), family, techniques, status=status, success_rate=rate,
                   metrics=metrics or {}, queries=queries, params=params or {})


@pytest.fixture
def assessment() -> Assessment:
    findings = [
        _finding("square", "evasion", EVASION, 0.8, {"successes": 16.0, "first_success_query": 25.0}, 400),
        _finding("extraction", "extraction", ("AML.T0024.002", "AML.T0005.001", "AML.T0040", "AML.T0048.004"), 0.96,
                 {"fidelity@100": 0.85, "fidelity@200": 0.96, "fidelity": 0.96}, 250, params={"n_holdout": 50}),
        _finding("membership", "inference", ("AML.T0024.000", "AML.T0040", "AML.T0063"), 0.07,
                 {"auc": 0.49, "advantage": 0.07}, 200),
        _finding("discovery", "discovery", ("AML.T0013", "AML.T0014", "AML.T0063", "AML.T0040"), 1.0,
                 {"classes_seen": 10.0}, 64),
        _finding("inversion", "inference", ("AML.T0024.001", "AML.T0040", "AML.T0063"), None, status="skipped",
                 queries=0),
    ]
    coverage = [
        Coverage("square", EVASION, True, ["similarity-search"], 60, 400, ["degrade"], 25, False),
        Coverage("extraction", findings[1].technique_ids, True, ["prada"], 300, 250, ["throttle"]),
        Coverage("membership", findings[2].technique_ids, False, queries=200),
        Coverage("discovery", findings[3].technique_ids, True, ["volume"], 10, 64, ["throttle"]),
    ]
    return Assessment("run1", DIGITS, "2025-01-01T00:00:00", findings, "2025-01-01T00:01:00", coverage=coverage)


def _by_procedure(a):
    return {v.procedure: v for v in procedure_verdicts(a)}


def test_success_before_the_first_alert_is_succeeded_then_seen(assessment):
    v = _by_procedure(assessment)
    assert v["square"].verdict == "seen-after" and v["square"].first_success == (25, 25)
    assert v["square"].first_alert == 60 and v["square"].detectors == ["similarity-search"]
    # extraction crossed the 90 % bar at its 200-query checkpoint, after 50 hold-out queries
    assert v["extraction"].first_success == (250, 250) and v["extraction"].verdict == "seen-after"
    assert v["membership"].verdict == "failed" and v["membership"].at_chance
    assert v["discovery"].verdict == "seen-before"  # alert at 10, result only at the end (64)
    assert v["inversion"].verdict == "not-measured"


def test_an_alert_before_the_first_success_and_no_alert_at_all(assessment):
    assessment.coverage[0] = Coverage("square", EVASION, True, ["similarity-search"], 20, 400, ["degrade"], 25, True)
    assessment.coverage[1] = Coverage("extraction", assessment.findings[1].technique_ids, False, queries=250)
    v = _by_procedure(assessment)
    assert v["square"].verdict == "seen-before" and v["extraction"].verdict == "unseen"
    techniques = technique_verdicts(list(v.values()))
    assert techniques["AML.T0043.001"] == "seen-before" and techniques["AML.T0024.002"] == "unseen"


def test_an_unknown_order_assumes_the_worst_and_says_so(assessment):
    f = assessment.findings[0]
    f.metrics.pop("first_success_query")
    f.params = {"n_samples": 20}
    assessment.coverage[0] = Coverage("square", EVASION, True, ["similarity-search"], 60, 400, ["degrade"])
    v = _by_procedure(assessment)["square"]
    assert v.first_success == (21, 400) and v.verdict == "seen-after" and "order is unknown" in v.note
    assessment.coverage[0] = Coverage("square", EVASION, True, ["similarity-search"], 15, 400, ["degrade"])
    assert _by_procedure(assessment)["square"].verdict == "seen-before"  # alerted during the clean pass


def test_only_measured_techniques_are_claimed(assessment):
    data = json.loads(report_json(assessment))
    verdicts = data["summary"]["verdicts"]
    assert "AML.T0014" not in verdicts  # discovery only hints at the model family
    assert "AML.T0040" not in verdicts  # access used, not a result
    assert verdicts["AML.T0024.001"] == "not-measured"  # skipped: claims nothing
    assert verdicts["AML.T0013"] == "seen-before" and verdicts["AML.T0043.001"] == "seen-after"
    assert "AML.T0014" not in data["summary"]["techniques_tested"]


def test_json_and_html_have_detection_verdicts_and_definitions(assessment):
    data = json.loads(report_json(assessment))
    square = next(d for d in data["detection"] if d["procedure"] == "square")
    assert square["first_alert_query"] == 60 and square["first_success_query"] == 25
    assert square["verdict_words"] == "succeeded, then seen" and square["actions"] == ["degrade"]
    assert "inference" in data["definitions"]["families"]
    html = report_html(assessment)
    assert 'id="detection"' in html and "similarity-search" in html and "succeeded, then seen" in html
    assert "at chance (AUC 0.49)" in html and "7%" not in html
    assert "ROC AUC of the membership score" in html and "share of held-out inputs" in html
    assert "@page { size: A4 landscape" in html
    # the whole matrix is drawn, measured or not
    assert all(t.name.replace("'", "&#39;") in html for t in bundled().top_techniques()[:20])


def test_no_detection_section_without_the_gateway(assessment):
    assessment.coverage = None
    data = json.loads(report_json(assessment))
    assert data["detection"] is None and data["summary"]["verdicts"]["AML.T0043.001"] == "succeeded"
    assert 'id="detection"' not in report_html(assessment)


def test_remediation_for_a_digit_classifier_has_no_generative_mitigation(assessment):
    matrix = bundled()
    remedies = remediation(assessment, procedure_verdicts(assessment), matrix)
    ids = [r.id for r in remedies]
    assert "AML.M0034" not in ids  # Deepfake Detection mitigates AML.T0015 in ATLAS, yet not for digits
    generative = {m.id for m in matrix.mitigations if not fits(m, "classifier", matrix)}
    assert {"AML.M0020", "AML.M0022", "AML.M0026", "AML.M0034"} <= generative
    assert not (set(ids) & generative - {"AML.M0024"})  # telemetry logging: the gateway implements it
    assert {"AML.M0004", "AML.M0002"} <= set(ids)
    assert ids == [r.id for r in sorted(remedies, key=lambda r: (-r.score, r.id))]
    # the settings are gateway configuration for detectors that notice the technique
    throttle = next(r for r in remedies if r.id == "AML.M0004")
    assert any(s.detector == "prada" and "action: throttle" in s.yaml for s in throttle.settings)
    assert all("prompt" not in s.detector for r in remedies for s in r.settings)
    # and each mitigation's settings are one configuration the gateway loads as it stands
    for r in (r for r in remedies if r.settings):
        loaded = yaml.safe_load(r.config())
        assert set(loaded["detectors"]) == set(loaded["responses"]) == {s.detector for s in r.settings}
        config = GatewayConfig(upstream="http://127.0.0.1:9", **{k: v for k, v in loaded.items() if k != "context"})
        assert [config.responses[s.detector]["action"] for s in r.settings] == [s.response for s in r.settings]
    # membership failed (at chance): its technique is not remediated
    assert all("AML.T0024.000" not in r.techniques for r in remedies)


def test_an_llm_application_gets_generative_mitigations():
    target = {"name": "bot", "model": "m", "access": "black-box", "modality": "text", "channels": ["chat"],
              "tools": [], "input_shape": [], "input_range": [0.0, 1.0], "classes": []}
    f = _finding("injection", "injection", ("AML.T0051.000",), 0.4, {"wilson_low": 0.2, "wilson_high": 0.6,
                                                                      "first_success_query": 3.0}, 10)
    a = Assessment("run2", target, "2025-01-01", [f], coverage=[Coverage("injection", f.technique_ids, False)])
    assert target_kind(target) == "chat"
    ids = [r.id for r in remediation(a, procedure_verdicts(a))]
    assert "AML.M0020" in ids and "AML.M0003" not in ids
    assert "95 % CI 20%–60%" in report_html(a)


def test_write_reports_writes_markdown_sarif_and_gap_layer(assessment, tmp_path):
    paths = write_reports(assessment, tmp_path)
    assert {"markdown", "sarif", "gap_layer"} <= set(paths)
    md = (tmp_path / "report.md").read_text()
    assert "## Detection" in md and "| square | yes | similarity-search | 60 | 25 |" in md
    assert "at chance (AUC 0.49)" in md and "## Remediation" in md
    layer = json.loads((tmp_path / "gap-layer.json").read_text())
    scores = {t["techniqueID"]: t["score"] for t in layer["techniques"] if "score" in t}
    assert scores["AML.T0043.001"] == 2 and scores["AML.T0013"] == 1 and scores["AML.T0024.000"] == 0
    assert "AML.T0014" not in scores and len(layer["legendItems"]) == 4 and len(layer["gradient"]["colors"]) == 4
    sarif = json.loads((tmp_path / "report-findings.sarif").read_text())
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    assert sarif["version"] == "2.1.0" and set(results) == {"square", "extraction", "discovery"}
    assert results["square"]["level"] == "warning" and results["discovery"]["level"] == "note"
    assert results["square"]["properties"]["first_alert_query"] == 60


@pytest.mark.parametrize("write", [layer_json, gap_layer_json])
def test_assessment_layers_unfold_the_parents_of_scored_sub_techniques(assessment, write):
    layer = json.loads(write(assessment))
    subs = {t["techniqueID"] for t in layer["techniques"] if "score" in t and "." in t["techniqueID"][5:]}
    assert {"AML.T0043.001", "AML.T0024.002"} <= subs  # their parents are not scored
    assert folded_sub_techniques(bundled(), layer) == []


def test_sarif_marks_an_unseen_success_as_an_error(assessment):
    assessment.coverage[0] = Coverage("square", EVASION, False, queries=400)
    results = {r["ruleId"]: r for r in findings_sarif(assessment)["runs"][0]["results"]}
    assert results["square"]["level"] == "error" and "no alert" in results["square"]["message"]["text"]


def test_no_gap_layer_without_the_gateway(assessment, tmp_path):
    assessment.coverage = None
    assert "gap_layer" not in write_reports(assessment, tmp_path)
    assert not (tmp_path / "gap-layer.json").exists() and (tmp_path / "report.md").is_file()


def test_assessment_sarif_has_what_code_scanning_requires(assessment):
    from tests.report.test_sarif_common import check_rules

    check_rules(findings_sarif(assessment))
