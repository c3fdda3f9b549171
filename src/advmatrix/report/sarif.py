"""SARIF 2.1.0 for scanner findings, ready for code-scanning upload."""

from __future__ import annotations

import os
from typing import Any

from .. import _sarif as sarif
from .._sarif import artifact_uri
from ..scan import ScanReport, Severity

_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}
# GitHub code scanning ranks alerts by this CVSS-like number.
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                      Severity.LOW: "3.0", Severity.INFO: "0.0"}


def _techniques(ids: tuple[str, ...]) -> str:
    from ..errors import UnknownObjectError
    from ..kb import bundled

    matrix = bundled()
    out = []
    for t in ids:
        try:
            out.append(f"{t} {matrix.technique(t).name}")
        except UnknownObjectError:  # a plugin's technique the bundled release lacks
            out.append(t)
    return "; ".join(out)


def _scanned(report: ScanReport) -> str:
    """What was scanned, for the category: the folder holding every file scanned, so that a new scan of
    one folder replaces that folder's alerts and not another's."""
    paths = [os.path.abspath(r.path) for r in report.files]
    if not paths:
        return "nothing"
    common = os.path.commonpath(paths)
    return artifact_uri(common if len(paths) > 1 or not os.path.isfile(common) else os.path.dirname(common))


def to_sarif(report: ScanReport, *, analysed: bool = True) -> dict[str, Any]:
    """Scanner findings as a SARIF 2.1.0 log for code-scanning dashboards."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in report.findings:
        if f.rule not in rules:
            words = f.rule.replace("-", " ")
            techniques = _techniques(f.technique_ids)
            rules[f.rule] = sarif.rule(
                f.rule, words, f"Model-file scanner rule '{f.rule}' ({words}); evidence of {techniques}.",
                f"A file this rule flags can act when a framework loads it. ATLAS: {techniques}. Load it only "
                "after review, or convert it to a format that holds data only (safetensors, ONNX).",
                help_uri="https://atlas.mitre.org/techniques/" + f.technique_ids[0],
                tags=["security", *f.technique_ids], severity=_SECURITY_SEVERITY[f.severity])
        sarif.raise_severity(rules[f.rule], _SECURITY_SEVERITY[f.severity])
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": sarif.location(f.path)}}
        if f.offset is not None and not f.member:
            # code scanning places a result by its line: a binary file's offset goes with line 1
            location["physicalLocation"]["region"] = {"startLine": 1, "byteOffset": f.offset}
        if f.member:
            location["logicalLocations"] = [{"fullyQualifiedName": f.member, "kind": "member"}]
        results.append({
            "ruleId": f.rule,
            "ruleIndex": list(rules).index(f.rule),
            "level": _LEVEL[f.severity],
            "message": {"text": sarif.plain(f.message)},
            "locations": [location],
            # Model files are binary: code scanning cannot hash their lines, so say what identifies the finding.
            "partialFingerprints": {"primaryLocationLineHash": sarif.line_hash(
                f.rule, artifact_uri(f.path), f.member or "", str(f.offset), f.construct or "")},
            "properties": {"severity": f.severity.name.lower(), "technique_ids": list(f.technique_ids),
                           "member": f.member, "offset": f.offset, "construct": f.construct},
        })
    return sarif.log(list(rules.values()), results,
                     automationDetails={"id": sarif.category_id("advmatrix", "scan", _scanned(report))},
                     # a scan that looked into nothing did not do its job, whatever it found
                     invocations=[{"executionSuccessful": not report.errors and analysed,
                                   "toolExecutionNotifications": [{"message": {"text": e}, "level": "error"}
                                                                  for e in report.errors]}])
