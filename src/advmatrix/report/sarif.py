"""SARIF 2.1.0 for scanner findings, ready for code-scanning upload."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..scan import ScanReport, Severity

_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}
# GitHub code scanning ranks alerts by this CVSS-like number.
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                      Severity.LOW: "3.0", Severity.INFO: "0.0"}


def _uri(path: str) -> str:
    """A SARIF artifact URI: URLs (a live MCP server) as they are, labels such as
    ``mcp-stdio:<command>`` percent-encoded, files as relative paths or file URIs."""
    if re.match(r"^https?://", path):
        return path
    if re.match(r"^[a-z][a-z0-9+.-]*:", path) and not re.match(r"^[A-Za-z]:[\\/]", path):
        return quote(path, safe=":/@!$&'()*+,;=-._~")
    p = Path(path)
    return p.as_posix() if not p.is_absolute() else p.as_uri()


def to_sarif(report: ScanReport) -> dict[str, Any]:
    """Scanner findings as a SARIF 2.1.0 log for code-scanning dashboards."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in report.findings:
        if f.rule not in rules:
            rules[f.rule] = {
                "id": f.rule,
                "name": "".join(w.capitalize() for w in f.rule.split("-")),
                "shortDescription": {"text": f.rule.replace("-", " ")},
                "helpUri": "https://atlas.mitre.org/techniques/" + f.technique_ids[0],
                "properties": {"tags": ["security", *f.technique_ids],
                               "security-severity": _SECURITY_SEVERITY[f.severity]},
            }
        elif float(rules[f.rule]["properties"]["security-severity"]) < float(_SECURITY_SEVERITY[f.severity]):
            rules[f.rule]["properties"]["security-severity"] = _SECURITY_SEVERITY[f.severity]
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": _uri(f.path)}}}
        if f.offset is not None and not f.member:
            location["physicalLocation"]["region"] = {"byteOffset": f.offset}
        if f.member:
            location["logicalLocations"] = [{"fullyQualifiedName": f.member, "kind": "member"}]
        results.append({
            "ruleId": f.rule,
            "ruleIndex": list(rules).index(f.rule),
            "level": _LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [location],
            "properties": {"severity": f.severity.name.lower(), "technique_ids": list(f.technique_ids),
                           "member": f.member, "offset": f.offset, "construct": f.construct},
        })
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "advmatrix", "version": __version__,
                                "informationUri": "https://atlas.mitre.org",
                                "rules": list(rules.values())}},
            "results": results,
            "invocations": [{"executionSuccessful": not report.errors,
                             "toolExecutionNotifications": [{"message": {"text": e}, "level": "error"}
                                                            for e in report.errors]}],
        }],
    }
