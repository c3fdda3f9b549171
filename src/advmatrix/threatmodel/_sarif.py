"""The threat model as SARIF 2.1.0, for code scanning: one rule per technique, one alert per finding, at
the component's line in the description."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _sarif as sarif
from ._markdown import advised_on
from ._words import technique_title

if TYPE_CHECKING:
    from .report import ThreatModel

#: GitHub code scanning ranks alerts by ``security-severity``: a likely technique nothing mitigates
#: yet is high, one partly mitigated or with nothing to adopt is medium, a possible one low.
_SEVERITY = {"open": "7.5", "likely": "5.0", "possible": "3.0"}


def _rule_help(technique_id: str) -> tuple[str, str]:
    """(full description, help text) of a technique for a SARIF rule, from the knowledge base."""
    from ..kb import bundled

    matrix = bundled()
    tech = matrix.technique(technique_id)
    mitigations = "; ".join(f"{m.id} {m.name}" for m, _ in matrix.mitigations_of(technique_id))
    full = f"ATLAS {technique_id} {tech.name}, predicted for a component of the system by the threat-model rules."
    text = f"{tech.description.strip()}\n\nATLAS mitigations: {mitigations or 'none known'}."
    return full, text


def findings_sarif(tm: ThreatModel) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per technique, one result per (component, technique) finding, located
    at the component's line in the source file, or in the overlay for a component only it describes
    (the file alone when the line is not known).
    Level, as :func:`gate` with ``tm.fail_on`` (``likely`` when not given): ``error`` for a finding of
    a counted tier with a mitigation to adopt that would stop it and none in place, ``warning`` for
    one of a counted tier no mitigation stops, ``note`` for any other (a tier not counted, or stopped
    by a mitigation in place)."""
    from .report import FAIL_ON  # the gate's tiers; report imports this module

    counted = FAIL_ON[tm.fail_on or "likely"]
    root = sarif.tree_of(tm.source)  # the description's own repository, wherever the command runs
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in tm.prediction.findings:
        open_ = f.tier in counted and f.preventive and not f.mitigated
        severity = _SEVERITY["open" if open_ else f.tier]
        title = technique_title(f.technique_id)
        if f.technique_id not in rules:
            full, text = _rule_help(f.technique_id)
            rules[f.technique_id] = sarif.rule(
                f.technique_id, title, full, text, help_uri=f"https://atlas.mitre.org/techniques/{f.technique_id}",
                tags=["security", "threat-model", f.technique_id], severity=severity)
        sarif.raise_severity(rules[f.technique_id], severity)
        # an alert shows only its message: name each mitigation and where it goes (often not the finding's)
        missing = "; ".join(f"{m.id} {m.name} (on {advised_on(tm, m)}; stage {m.stage})" for m in f.missing)
        path, line = tm.location(f.component)
        region = {"region": {"startLine": line}} if line else {}
        results.append({
            "ruleId": f.technique_id, "ruleIndex": list(rules).index(f.technique_id),
            # As the gate: error only where adopting a mitigation would clear it; one in place makes it a note.
            "level": "error" if open_ else "warning" if f.tier in counted and not f.mitigated else "note",
            "message": {"text": sarif.plain(f"{f.technique_id} {title} applies to {f.component}: "
                                            f"{'; '.join(f.reasons)}")
                                + (f". Missing mitigations: {missing}" if missing else
                                   ". All mitigations in place" if f.mitigations else ". ATLAS names no mitigation")
                                + ("" if f.preventive or not f.mitigations else
                                   " (none of them stops it: logs record the attack)")},
            "locations": [{"physicalLocation": {"artifactLocation": sarif.location(path, root), **region},
                           "logicalLocations": [{"fullyQualifiedName": f.component, "kind": "module"}]}],
            "partialFingerprints": {"advmatrix/component-technique": f"{f.component}:{f.technique_id}",
                                    "primaryLocationLineHash": sarif.line_hash(tm.system.name, f.component,
                                                                               f.technique_id)},
            "properties": {"tier": f.tier, "component": f.component, "rules": list(f.rules),
                           "missing_mitigations": [m.id for m in f.missing],
                           **({"score": s} if (s := getattr(f, "score", None)) is not None else {})},
        })
    results, left = sarif.capped(results)  # code scanning rejects more; the notes go first, said in the run
    return sarif.log(list(rules.values()), results, root, **({"properties": {"notes_left_out": left}} if left else {}),
                     automationDetails={"id": sarif.category_id("advmatrix", "threatmodel", tm.system.name)})
