"""Upstream ``ATLAS.yaml``: read every released layout, write the current one.

Layouts: 3.x keeps ``tactics``/``techniques``/``mitigations`` at the top level; 4.x and 5.x
nest them under ``matrices``. Case studies are top-level in both. Field names changed between
releases and every spelling is read: ``reported-by`` (3.x, 4.0) became ``reporter``; a
mitigation's ``tags`` (4.4.0, the first with mitigations) became ``category`` in 4.4.2;
``ML-lifecycle`` (4.5.0 to 4.6.0) became ``ml-lifecycle`` in 4.7.0. Upstream slips (a link object
inside a mitigation's lifecycle list, a step whose technique is not under its tactic) become
warnings on the returned matrix, so a release with a slip can still be read.

Sources cited inside upstream descriptions become references of the object (see
``_citations``), so they survive a rewrite of the prose.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ..errors import FormatError
from ._citations import cited_references, merge_references
from ._io import build, dump_yaml, parse_yaml, read_text
from ._matrix import Matrix
from ._models import (
    AttackReference,
    CaseStudy,
    Mitigation,
    MitigationUse,
    ProcedureStep,
    Reference,
    Tactic,
    Technique,
)
from ._validate import check_matrix

# Our additions ride in one extension key so upstream tools ignore them and round trips keep them.
EXT = "x-advmatrix"
# Older spellings of a mitigation field, newest first: the first one present is read.
_LIFECYCLE_KEYS = ("ml-lifecycle", "ML-lifecycle")
_CATEGORY_KEYS = ("category", "tags")

_KNOWN = {
    "tactic": {"id", "name", "description", "object-type", "ATT&CK-reference", "created_date",
               "modified_date", "references", EXT},
    "technique": {"id", "name", "description", "object-type", "ATT&CK-reference", "tactics",
                  "subtechnique-of", "created_date", "modified_date", "maturity", "references",
                  EXT},
    "mitigation": {"id", "name", "description", "object-type", "ATT&CK-reference", "techniques",
                   *_LIFECYCLE_KEYS, *_CATEGORY_KEYS, "created_date", "modified_date", "references", EXT},
    "case-study": {"id", "name", "object-type", "summary", "incident-date",
                   "incident-date-granularity", "procedure", "target", "actor",
                   "case-study-type", "reporter", "reported-by", "references", EXT},
}


class _Reader:
    def __init__(self, source: str):
        self.source = source
        self.warnings: list[str] = []

    def warn(self, object_id: str, message: str) -> None:
        self.warnings.append(f"{object_id}: {message}" if object_id else message)

    def _unknown_keys(self, raw: dict, kind: str) -> None:
        extra = sorted(set(raw) - _KNOWN[kind])
        if extra:
            self.warn(str(raw.get("id", "?")), f"ignored unknown field(s) {', '.join(extra)}")

    @staticmethod
    def _attack(raw: dict) -> dict | None:
        ref = raw.get("ATT&CK-reference")
        if not (isinstance(ref, dict) and "id" in ref):
            return None
        return AttackReference(id=str(ref["id"]), url=str(ref.get("url", "")))

    @staticmethod
    def _refs(raw: list | None, *cited_in: Any) -> tuple[Reference, ...]:
        """The listed references, then the sources cited in the given texts."""
        listed = (Reference(title=str(r.get("title") or ""), url=str(r.get("url") or ""))
                  for r in raw or () if isinstance(r, dict))
        return merge_references(listed, *(cited_references(t) for t in cited_in if isinstance(t, str)))

    @staticmethod
    def _first(raw: dict, keys: tuple[str, ...]) -> Any:
        return next((raw[k] for k in keys if raw.get(k) is not None), None)

    def tactic(self, raw: dict) -> Tactic:
        self._unknown_keys(raw, "tactic")
        ext = raw.get(EXT) or {}
        return build(Tactic, {
            "id": raw.get("id"), "name": raw.get("name"), "description": raw.get("description"),
            "attack_reference": self._attack(raw), "created": raw.get("created_date"),
            "modified": raw.get("modified_date"), "nist_ai_rmf": ext.get("nist-ai-rmf", ()),
            "references": self._refs(raw.get("references"), raw.get("description")),
        }, self.source)

    def technique(self, raw: dict) -> Technique:
        self._unknown_keys(raw, "technique")
        ext = raw.get(EXT) or {}
        return build(Technique, {
            "id": raw.get("id"), "name": raw.get("name"), "description": raw.get("description"),
            "tactics": tuple(raw.get("tactics") or ()), "parent": raw.get("subtechnique-of"),
            "maturity": raw.get("maturity"), "created": raw.get("created_date"),
            "modified": raw.get("modified_date"), "attack_reference": self._attack(raw),
            "references": self._refs(raw.get("references"), raw.get("description")),
            "owasp_ml": ext.get("owasp-ml", ()), "owasp_llm": ext.get("owasp-llm", ()),
            "nist_ai_rmf": ext.get("nist-ai-rmf", ()),
        }, self.source)

    def mitigation(self, raw: dict) -> Mitigation:
        self._unknown_keys(raw, "mitigation")
        mid = str(raw.get("id", "?"))
        uses: list[MitigationUse] = []
        for item in raw.get("techniques") or ():
            if isinstance(item, str):
                uses.append(MitigationUse(technique=item))
            elif isinstance(item, dict) and "id" in item:
                uses.append(MitigationUse(technique=item["id"], use=str(item.get("use") or "")))
            else:
                self.warn(mid, f"ignored malformed technique link {item!r}")
        lifecycle: list[str] = []
        for item in self._first(raw, _LIFECYCLE_KEYS) or ():
            if isinstance(item, str):
                lifecycle.append(item)
            elif isinstance(item, dict) and "id" in item:
                # Known upstream slip: a technique link indented one level too far.
                self.warn(mid, f"technique link {item['id']} found inside 'ml-lifecycle'; "
                               "read as a technique link")
                if all(u.technique != item["id"] for u in uses):
                    uses.append(MitigationUse(technique=item["id"], use=str(item.get("use") or "")))
            else:
                self.warn(mid, f"ignored malformed lifecycle entry {item!r}")
        return build(Mitigation, {
            "id": raw.get("id"), "name": raw.get("name"), "description": raw.get("description"),
            "techniques": uses, "lifecycle": lifecycle,
            "category": tuple(self._first(raw, _CATEGORY_KEYS) or ()),
            "created": raw.get("created_date"), "modified": raw.get("modified_date"),
            "attack_reference": self._attack(raw),
            "references": self._refs(raw.get("references"), raw.get("description")),
        }, self.source)

    def case_study(self, raw: dict) -> CaseStudy:
        self._unknown_keys(raw, "case-study")
        steps = [ProcedureStep(tactic=s.get("tactic"), technique=s.get("technique"),
                               description=str(s.get("description") or ""))
                 if isinstance(s, dict) else s for s in raw.get("procedure") or ()]
        return build(CaseStudy, {
            "id": raw.get("id"), "name": raw.get("name"), "summary": raw.get("summary"),
            "incident_date": raw.get("incident-date"),
            "incident_date_granularity": raw.get("incident-date-granularity"),
            "procedure": steps, "target": raw.get("target") or "", "actor": raw.get("actor") or "",
            "case_study_type": raw.get("case-study-type"),
            "reporter": raw.get("reporter") or raw.get("reported-by"),
            "references": self._refs(raw.get("references"), raw.get("summary"),
                                     *(s.get("description") for s in raw.get("procedure") or ()
                                       if isinstance(s, dict))),
        }, self.source)


def _objects(doc: dict, source: str) -> tuple[dict, list[str]]:
    """The tactics/techniques/mitigations lists, whichever layout the file uses."""
    notes: list[str] = []
    if isinstance(doc.get("matrices"), list):
        merged: dict[str, list] = {"tactics": [], "techniques": [], "mitigations": []}
        seen: set[str] = set()
        if len(doc["matrices"]) > 1:
            notes.append(f"{len(doc['matrices'])} matrices found; their objects are merged")
        for matrix in doc["matrices"]:
            for key in merged:
                for obj in matrix.get(key) or ():
                    if isinstance(obj, dict) and obj.get("id") not in seen:
                        seen.add(obj.get("id"))
                        merged[key].append(obj)
        return merged, notes
    if "tactics" in doc and "techniques" in doc:
        return {k: [] if doc.get(k) is None else doc[k] for k in ("tactics", "techniques", "mitigations")}, notes
    raise FormatError(f"{source}: not an ATLAS.yaml: neither a 'matrices' list nor top-level "
                      "'tactics' and 'techniques' lists")


def _as_list(value: Any, source: str, key: str) -> list[dict]:
    if not isinstance(value, list):
        raise FormatError(f"{source}: '{key}' should be a list")
    bad = [v for v in value if not isinstance(v, dict)]
    if bad:
        raise FormatError(f"{source}: '{key}' holds a {type(bad[0]).__name__}, expected mappings")
    return value


def loads(text: str, source: str = "<string>") -> Matrix:
    doc = parse_yaml(text, source)
    if not isinstance(doc, dict):
        raise FormatError(f"{source}: not an ATLAS.yaml: the document is not a mapping")
    lists, notes = _objects(doc, source)
    reader = _Reader(source)
    reader.warnings += notes
    tactics = tuple(reader.tactic(x) for x in _as_list(lists["tactics"], source, "tactics"))
    techniques = tuple(reader.technique(x) for x in _as_list(lists["techniques"], source, "techniques"))
    mitigations = tuple(reader.mitigation(x) for x in _as_list(lists["mitigations"], source, "mitigations"))
    cases = tuple(reader.case_study(x)
                  for x in _as_list(doc.get("case-studies") or [], source, "case-studies"))
    matrix = Matrix(
        id=str(doc.get("id", "ATLAS")), name=str(doc.get("name", "")),
        version=str(doc.get("version", "unknown")), tactics=tactics, techniques=techniques,
        mitigations=mitigations, case_studies=cases, source=source,
    )
    warnings = reader.warnings + [str(p) for p in check_matrix(matrix)]
    object.__setattr__(matrix, "warnings", tuple(warnings))
    return matrix


def load(path: str | Path) -> Matrix:
    return loads(read_text(path), str(path))


# -- writing -----------------------------------------------------------------------------------
def _common(obj: Tactic | Technique | Mitigation, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": obj.id, "name": obj.name, "description": obj.description,
                           "object-type": kind}
    if obj.attack_reference:
        out["ATT&CK-reference"] = {"id": obj.attack_reference.id, "url": obj.attack_reference.url}
    return out


def _dates(out: dict, created: dt.date | None, modified: dt.date | None) -> None:
    if created:
        out["created_date"] = created
    if modified:
        out["modified_date"] = modified


def _ext(**fields: tuple) -> dict:
    return {k.replace("_", "-"): list(v) for k, v in fields.items() if v}


def to_dict(matrix: Matrix) -> dict[str, Any]:
    """The matrix in the 4.x/5.x ``matrices`` layout, with upstream key names."""
    tactics = []
    for t in matrix.tactics:
        out = _common(t, "tactic")
        if t.references:
            out["references"] = [r.model_dump() for r in t.references]
        _dates(out, t.created, t.modified)
        if ext := _ext(nist_ai_rmf=t.nist_ai_rmf):
            out[EXT] = ext
        tactics.append(out)
    techniques = []
    for t in matrix.techniques:
        out = _common(t, "technique")
        if t.parent:
            out["subtechnique-of"] = t.parent
        if t.tactics:
            out["tactics"] = list(t.tactics)
        if t.references:
            out["references"] = [r.model_dump() for r in t.references]
        _dates(out, t.created, t.modified)
        if t.maturity:
            out["maturity"] = t.maturity
        if ext := _ext(owasp_ml=t.owasp_ml, owasp_llm=t.owasp_llm, nist_ai_rmf=t.nist_ai_rmf):
            out[EXT] = ext
        techniques.append(out)
    mitigations = []
    for m in matrix.mitigations:
        out = _common(m, "mitigation")
        out["techniques"] = [{"id": u.technique, "use": u.use} for u in m.techniques]
        out["ml-lifecycle"] = list(m.lifecycle)
        out["category"] = list(m.category)
        if m.references:
            out["references"] = [r.model_dump() for r in m.references]
        _dates(out, m.created, m.modified)
        mitigations.append(out)
    cases = []
    for cs in matrix.case_studies:
        out = {"id": cs.id, "name": cs.name, "object-type": "case-study", "summary": cs.summary,
               "incident-date": cs.incident_date,
               "incident-date-granularity": cs.incident_date_granularity,
               "procedure": [s.model_dump() for s in cs.procedure]}
        if cs.reporter is not None:
            out["reporter"] = cs.reporter
        out["target"] = cs.target
        out["actor"] = cs.actor
        if cs.case_study_type:
            out["case-study-type"] = cs.case_study_type
        if cs.references:
            out["references"] = [r.model_dump() for r in cs.references]
        cases.append(out)
    return {
        "id": matrix.id, "name": matrix.name, "version": matrix.version,
        "matrices": [{"id": matrix.id, "name": f"{matrix.id} Matrix", "tactics": tactics,
                      "techniques": techniques, "mitigations": mitigations}],
        "case-studies": cases,
    }


def dumps(matrix: Matrix) -> str:
    return "---\n" + dump_yaml(to_dict(matrix))
