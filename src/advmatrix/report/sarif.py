"""SARIF 2.1.0 for scanner findings, ready for code-scanning upload."""

from __future__ import annotations

import json
import os
import re
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
    one folder replaces that folder's alerts and not another's; the servers' names when only live
    servers were scanned."""
    paths = [os.path.abspath(r.path) for r in report.files if not sarif.is_endpoint(r.path)]
    if not paths:
        servers = sorted({r.path for r in report.files})
        return "servers " + " ".join(servers) if servers else "nothing"
    common = os.path.commonpath(paths)
    return artifact_uri(common if len(paths) > 1 or not os.path.isfile(common) else os.path.dirname(common))


_QUOTED = re.compile(r"'([^']+)'")


def _lines(path: str) -> tuple[str, ...] | None:
    """The lines of a text file (a JSON listing or agent config), None for a binary or unreadable one."""
    try:
        if os.path.getsize(path) > 16 * 2**20:
            return None
        with open(path, encoding="utf-8") as fh:
            return tuple(fh)
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _start_line(path: str, construct: str, read: dict[str, tuple[str, ...] | None]) -> int:
    """The line of a text file where the construct a finding names (``server 'w' env 'API_KEY'``) is
    written: each quoted name found as a JSON string, the next one after the last; line 1 when the file
    is binary or a name is not found. GitHub code scanning shows a result only with a line."""
    # read once per log (a config has many findings), never kept past it: the file may change between scans
    if path not in read:
        read[path] = _lines(path)
    lines = read[path]
    if not lines:
        return 1
    at = 0
    for name in _QUOTED.findall(construct):
        token = json.dumps(name)
        hit = next((i for i in range(at, len(lines)) if token in lines[i]), None)
        if hit is None:  # YAML writes most names bare: a whole word then
            bare = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])")
            hit = next((i for i in range(at, len(lines)) if bare.search(lines[i])), None)
        if hit is None:
            break
        at = hit
    return at + 1


def to_sarif(report: ScanReport, *, analysed: bool = True, least: Severity = Severity.LOW) -> dict[str, Any]:
    """Scanner findings at ``least`` severity or above (the table's default leaves informational facts out,
    and a fact is no alert to dismiss) as a SARIF 2.1.0 log for code-scanning dashboards.

    A rule is reported once per severity its results have (``pickle-global/critical``): GitHub ranks an
    alert by its rule's ``security-severity``, so one rule for every severity ranked a medium finding as
    critical whenever a critical one was in the same scan."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    read: dict[str, tuple[str, ...] | None] = {}
    for f in report.findings:
        if f.severity < least:
            continue
        rule_id = f"{f.rule}/{f.severity.name.lower()}"
        if rule_id not in rules:
            words = f.rule.replace("-", " ")
            techniques = _techniques(f.technique_ids)
            rules[rule_id] = sarif.rule(
                rule_id, f"{words} ({f.severity.name.lower()})",
                f"Model-file scanner rule '{f.rule}' ({words}); evidence of {techniques}.",
                f"A file this rule flags can act when a framework loads it. ATLAS: {techniques}. Load it only "
                "after review, or convert it to a format that holds data only (safetensors, ONNX).",
                help_uri="https://atlas.mitre.org/techniques/" + f.technique_ids[0],
                tags=["security", *f.technique_ids], severity=_SECURITY_SEVERITY[f.severity])
        if sarif.is_endpoint(f.path):
            place = sarif.endpoint_location(f.path)
            region: dict[str, Any] = {"startLine": 1}
        else:
            place = sarif.location(f.path)
            if f.offset is not None and not f.member:
                # GitHub places a result only by its line, and reads no byte offset: a binary file's
                # offset goes with line 1 (the offset is in the result's properties as well)
                region = {"startLine": 1, "byteOffset": f.offset}
            else:
                region = {"startLine": 1 if f.member else _start_line(f.path, f.construct, read)}
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": place, "region": region}}
        if f.member:
            location["logicalLocations"] = [{"fullyQualifiedName": f.member, "kind": "member"}]
        results.append({
            "ruleId": rule_id,
            "ruleIndex": list(rules).index(rule_id),
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
