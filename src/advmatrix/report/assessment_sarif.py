"""SARIF 2.1.0 for assessment findings (report-findings.sarif), in the shape of the scanner's
log (:mod:`.sarif`): one rule per procedure, one result per attack that succeeded.

Level follows the verdict: succeeded and unseen, or succeeded without detection measured, is an
error; succeeded, then seen is a warning; seen before it succeeded is a note. Failed and
unmeasured procedures are no results (code-scanning dashboards would show them as open alerts).
Code scanning wants a file for every result: it is report.json, written beside this log (its path
from the source root, as :func:`advmatrix._sarif.location` writes it), with the target as the logical
location.
"""

from __future__ import annotations

from typing import Any

from .. import _sarif as sarif
from ._verdicts import procedure_verdicts, shown_result

_LEVEL = {"unseen": "error", "succeeded": "error", "seen-after": "warning", "seen-before": "note"}
# GitHub code scanning ranks alerts by this CVSS-like number.
_SECURITY_SEVERITY = {"unseen": "8.5", "succeeded": "8.0", "seen-after": "6.5", "seen-before": "3.5"}


def findings_sarif(assessment: Any, artifact: str = "report.json") -> dict[str, Any]:
    """The assessment's successful attacks as a SARIF 2.1.0 log."""
    findings = {f.procedure: f for f in assessment.findings}
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for v in procedure_verdicts(assessment):
        f = findings[v.procedure]
        techniques = ", ".join(v.techniques or f.technique_ids)
        rules[v.procedure] = sarif.rule(
            v.procedure, v.title, f"Procedure '{v.procedure}' ({v.family}) emulates ATLAS {techniques or '-'}.",
            f"A result of this rule means the attack emulating ATLAS {techniques} succeeded against the target. "
            "Adopt the mitigations report.md lists under Remediation, then run the assessment again.",
            help_uri="https://atlas.mitre.org/techniques/" + (v.techniques or f.technique_ids or ("",))[0],
            tags=["security", *v.techniques], severity=_SECURITY_SEVERITY.get(v.verdict, "0.0"), family=v.family)
        if v.verdict not in _LEVEL:
            continue
        seen = ("" if v.detected is None else
                f"; first alert after {v.first_alert} queries ({', '.join(v.detectors)})" if v.detected else
                "; the gateway raised no alert")
        results.append({
            "ruleId": v.procedure,
            "ruleIndex": list(rules).index(v.procedure),
            "level": _LEVEL[v.verdict],
            "message": {"text": sarif.plain(f"{v.title} against {assessment.target['name']}: {shown_result(f)} — "
                                            f"{v.words}{seen}")},
            # line 1: GitHub shows no result without a line, and report.json has none per procedure
            "locations": [{"physicalLocation": {"artifactLocation": sarif.location(artifact),
                                                "region": {"startLine": 1}},
                           "logicalLocations": [{"fullyQualifiedName": assessment.target["name"],
                                                 "kind": "module"}]}],
            "partialFingerprints": {"advmatrix/procedure-target": f"{v.procedure}:{assessment.target['name']}",
                                    "primaryLocationLineHash": sarif.line_hash(v.procedure, assessment.target["name"])},
            "properties": {"verdict": v.verdict, "technique_ids": list(v.techniques),
                           "success_rate": f.success_rate, "queries": f.queries, "run": assessment.id,
                           **({"first_alert_query": v.first_alert, "detectors": v.detectors}
                              if v.detected is not None else {})},
        })
    # The category is per target, the run id after it: one target's new run replaces its old alerts only.
    category = sarif.category_id("advmatrix", "assess", assessment.target["name"])
    return sarif.log(list(rules.values()), results, automationDetails={"id": category + assessment.id},
                     invocations=[{"executionSuccessful": all(f.status != "error" for f in assessment.findings),
                                   "toolExecutionNotifications": [
                                       {"message": {"text": f"{f.procedure}: {f.message}"}, "level": "error"}
                                       for f in assessment.findings if f.status == "error"]}])
