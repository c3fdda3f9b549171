"""STIX 2.1 bundles: export with the ``stix2`` library, import from plain JSON.

Shape follows the ATT&CK/ATLAS convention so existing tools read it: ``x-mitre-tactic`` and
``x-mitre-matrix`` objects, ``attack-pattern`` for techniques (sub-techniques carry
``x_mitre_is_subtechnique`` and a ``subtechnique-of`` relationship), ``course-of-action`` with
``mitigates`` relationships, and ATLAS IDs in ``external_references`` under ``mitre-atlas``.
Case studies, which the upstream STIX omits, become ``report`` objects whose ordered procedure
rides in ``x_atlas_procedure``. As in MITRE's own ATLAS bundle, attack-patterns carry
``x_mitre_platforms: ["ATLAS"]`` and one ``x-mitre-collection`` object lists every object with
its modified time (what ATT&CK Workbench and collection indexes read).

An object's first external reference is its own ATLAS ID. The ATT&CK object it adapts is named
in ``x_atlas_attack_reference`` and linked by a reference without an ``external_id`` under a
source name other than ``mitre-attack``: ATT&CK tools take any ``mitre-attack`` reference's
``external_id`` as the object's own ID (mitreattack-python's ``get_object_by_attack_id('T1596')``
would return AML.T0000). Bundles written before this rule are still read.

STIX IDs are the ones MITRE's own ATLAS bundle gives (see ``atlas_stix_id``), so loading both
bundles into one store (OpenCTI, ATT&CK Workbench) merges the objects instead of doubling them.
Every ID is a UUIDv5 of ATLAS IDs, so an object keeps its STIX ID across exports and releases;
tools that key on STIX IDs see updates, not new objects.

Import reads JSON directly: building ``stix2`` objects validates every property again and costs
about two orders of magnitude more time than reading the dictionaries, for no gain here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import FormatError
from ._ids import atlas_url, tactic_shortname
from ._io import build, read_text
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

# MITRE's namespace for ATLAS STIX IDs: the 16 bytes of "atlas.mitre.org." taken as a UUID
# (tools/generate_stix.py in mitre-atlas/atlas-navigator-data, which writes dist/stix-atlas.json).
ATLAS_NAMESPACE = uuid.UUID(bytes=b"atlas.mitre.org.")
# Our namespace, for objects MITRE's bundle does not hold, so they never pass for MITRE's. Fixed:
# changing it would re-key those objects, which is exactly what must not happen.
NAMESPACE = uuid.UUID("6d3f6a0e-4d8e-5b7a-9c1e-a75a0f2b8c31")
KILL_CHAIN = "mitre-atlas"
SOURCE = "mitre-atlas"
# Source name of the link to an adapted ATT&CK object; deliberately not "mitre-attack" (see above).
ATTACK_XREF = "ATT&CK"
PLATFORMS = ["ATLAS"]  # MITRE's ATLAS bundle uses this one platform; layers and queries rely on it
# The ATT&CK data-model version whose collection object this follows (as MITRE's ATLAS bundle).
ATTACK_SPEC_VERSION = "2.1.0"
# STIX requires timestamps on every object; undated upstream objects get this one and a flag.
UNDATED = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def atlas_stix_id(stix_type: str, name: str) -> str:
    """The ID MITRE's ATLAS bundle gives an object: UUIDv5 of ``name`` in ``ATLAS_NAMESPACE``.

    MITRE names a tactic, technique, sub-technique or mitigation by its ATLAS ID alone (the type
    is not part of the name), the matrix and the collection "ATLAS-matrix" and "ATLAS-collection",
    and a sub-technique's link "<sub-technique ATLAS ID>-subtechnique-of-<parent's STIX ID>".
    """
    return f"{stix_type}--{uuid.uuid5(ATLAS_NAMESPACE, name)}"


def stix_id(stix_type: str, key: str) -> str:
    """Our own ID for an object MITRE's ATLAS bundle does not hold: UUIDv5 of type and key."""
    return f"{stix_type}--{uuid.uuid5(NAMESPACE, f'{stix_type}:{key}')}"


def _ts(day: dt.date | None) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else UNDATED


def _refs(object_id: str, attack: AttackReference | None,
          references: tuple[Reference, ...] = ()) -> list[dict]:
    out = [{"source_name": SOURCE, "external_id": object_id, "url": atlas_url(object_id)}]
    if attack:
        xref = {"source_name": ATTACK_XREF, "description": f"Adapted from ATT&CK {attack.id}"}
        if attack.url:
            xref["url"] = attack.url
        out.append(xref)
    for r in references:
        ref = {"source_name": "reference"}
        if r.title:
            ref["description"] = r.title
        if r.url:
            ref["url"] = r.url
        out.append(ref)
    return out


def _attack_ext(attack: AttackReference | None) -> dict:
    return {"x_atlas_attack_reference": attack.model_dump()} if attack else {}


def _dated(created: dt.date | None, modified: dt.date | None) -> dict:
    out: dict[str, Any] = {"created": _ts(created), "modified": _ts(modified or created)}
    if created and modified and modified < created:
        # Upstream has a few objects modified "before" they were created; STIX forbids that, so
        # the timestamp is clamped and the real date kept beside it.
        out["modified"] = out["created"]
        out["x_atlas_modified_date"] = modified.isoformat()
    if created is None:
        out["x_atlas_undated"] = True
    if modified is None and created is not None:
        out["x_atlas_unmodified"] = True
    return out


@lru_cache(maxsize=1)
def _custom_types() -> tuple[type, type, type]:
    """Register the ATT&CK-style custom object types with stix2 (once per process)."""
    import stix2
    from stix2.properties import DictionaryProperty, ListProperty, ReferenceProperty, StringProperty

    @stix2.v21.CustomObject("x-mitre-tactic", [
        ("name", StringProperty(required=True)),
        ("description", StringProperty()),
        ("x_mitre_shortname", StringProperty(required=True)),
    ])
    class XTactic:
        pass

    @stix2.v21.CustomObject("x-mitre-matrix", [
        ("name", StringProperty(required=True)),
        ("description", StringProperty()),
        ("tactic_refs", ListProperty(ReferenceProperty(valid_types="x-mitre-tactic",
                                                       spec_version="2.1"), required=True)),
    ])
    class XMatrix:
        pass

    @stix2.v21.CustomObject("x-mitre-collection", [
        ("name", StringProperty(required=True)),
        ("description", StringProperty()),
        ("x_mitre_version", StringProperty(required=True)),
        ("x_mitre_attack_spec_version", StringProperty(required=True)),
        ("x_mitre_contents", ListProperty(DictionaryProperty(), required=True)),
    ])
    class XCollection:
        pass

    return XTactic, XMatrix, XCollection


def to_bundle(matrix: Matrix) -> Any:
    """The matrix as a ``stix2.v21.Bundle``."""
    import stix2  # deferred: importing stix2 costs more than the rest of the package

    XTactic, XMatrix, XCollection = _custom_types()
    objects: list[Any] = []
    tactic_ids: dict[str, str] = {}
    shortnames: dict[str, str] = {}
    for t in matrix.tactics:
        sid = tactic_ids[t.id] = atlas_stix_id("x-mitre-tactic", t.id)
        shortnames[t.id] = tactic_shortname(t.name)
        extra = {"x_advmatrix_nist_ai_rmf": list(t.nist_ai_rmf)} if t.nist_ai_rmf else {}
        objects.append(XTactic(id=sid, name=t.name, description=t.description,
                               x_mitre_shortname=shortnames[t.id],
                               external_references=_refs(t.id, t.attack_reference, t.references),
                               allow_custom=True, **_dated(t.created, t.modified), **extra,
                               **_attack_ext(t.attack_reference)))
    matrix_id = atlas_stix_id("x-mitre-matrix", f"{matrix.id}-matrix")  # "ATLAS-matrix" for ATLAS
    objects.append(XMatrix(
        id=matrix_id, name=matrix.name or matrix.id,
        description=f"{matrix.name} {matrix.version}",
        tactic_refs=[tactic_ids[t.id] for t in matrix.tactics],
        external_references=[{"source_name": SOURCE, "external_id": matrix.id,
                              "url": "https://atlas.mitre.org/matrices/ATLAS"}],
        created=UNDATED, modified=UNDATED, allow_custom=True,
        x_atlas_version=matrix.version,
    ))

    pattern_ids: dict[str, str] = {}
    relationships: list[Any] = []
    for t in matrix.techniques:
        sid = pattern_ids[t.id] = atlas_stix_id("attack-pattern", t.id)
        owner = t if t.parent is None else next(
            (p for p in matrix.techniques if p.id == t.parent), t)
        phases = [{"kill_chain_name": KILL_CHAIN, "phase_name": shortnames[ta]}
                  for ta in owner.tactics if ta in shortnames]
        extra: dict[str, Any] = {"x_mitre_is_subtechnique": t.parent is not None,
                                 "x_mitre_platforms": PLATFORMS, "x_mitre_domains": ["atlas-atlas"],
                                 **_attack_ext(t.attack_reference)}
        if t.maturity:
            extra["x_atlas_maturity"] = t.maturity
        for key, value in (("x_advmatrix_owasp_ml", t.owasp_ml), ("x_advmatrix_owasp_llm", t.owasp_llm),
                           ("x_advmatrix_nist_ai_rmf", t.nist_ai_rmf)):
            if value:
                extra[key] = list(value)
        if t.parent is None and t.tactics != tuple(ta for ta in t.tactics if ta in shortnames):
            extra["x_atlas_tactics"] = list(t.tactics)  # keep links to tactics this matrix lacks
        objects.append(stix2.v21.AttackPattern(
            id=sid, name=t.name, description=t.description,
            kill_chain_phases=phases or None,
            external_references=_refs(t.id, t.attack_reference, t.references),
            allow_custom=True, **_dated(t.created, t.modified), **extra))
    for t in matrix.techniques:
        if t.parent and t.parent in pattern_ids:
            relationships.append(stix2.v21.Relationship(
                id=atlas_stix_id("relationship", f"{t.id}-subtechnique-of-{pattern_ids[t.parent]}"),
                relationship_type="subtechnique-of", source_ref=pattern_ids[t.id],
                target_ref=pattern_ids[t.parent], created=_ts(t.created), modified=_ts(t.modified),
                allow_custom=True))

    for m in matrix.mitigations:
        sid = atlas_stix_id("course-of-action", m.id)
        extra = {k: list(v) for k, v in (("x_atlas_lifecycle", m.lifecycle),
                                           ("x_atlas_category", m.category)) if v}
        extra.update(_attack_ext(m.attack_reference))
        objects.append(stix2.v21.CourseOfAction(
            id=sid, name=m.name, description=m.description,
            external_references=_refs(m.id, m.attack_reference, m.references),
            allow_custom=True, **_dated(m.created, m.modified), **extra))
        seen: dict[str, int] = {}
        for use in m.techniques:
            if use.technique not in pattern_ids:
                continue
            n = seen[use.technique] = seen.get(use.technique, -1) + 1
            # Not MITRE's ID: MITRE names a "mitigates" link by the mitigation's ID and the prose of
            # the use, which gives one ID to several links (246 links share 166 IDs in its 5.6.0
            # bundle), changes whenever the wording does, and could never match for our data,
            # whose prose is our own. Ours is keyed on the two ATLAS IDs.
            key = f"mitigates:{m.id}:{use.technique}" + (f":{n}" if n else "")
            relationships.append(stix2.v21.Relationship(
                id=stix_id("relationship", key), relationship_type="mitigates",
                source_ref=sid, target_ref=pattern_ids[use.technique],
                description=use.use or None, created=_ts(m.created), modified=_ts(m.modified)))

    # Case studies are not in MITRE's bundle, so their reports keep IDs of our own.
    for cs in matrix.case_studies:
        refs = list(dict.fromkeys(pattern_ids[s.technique] for s in cs.procedure
                                  if s.technique in pattern_ids))
        extra = {"x_atlas_incident_date_granularity": cs.incident_date_granularity,
                 "x_atlas_procedure": [s.model_dump() for s in cs.procedure],
                 "x_atlas_target": cs.target, "x_atlas_actor": cs.actor}
        if cs.case_study_type:
            extra["x_atlas_case_study_type"] = cs.case_study_type
        if cs.reporter is not None:
            extra["x_atlas_reporter"] = cs.reporter
        when = _ts(cs.incident_date)
        objects.append(stix2.v21.Report(
            id=stix_id("report", cs.id), name=cs.name, description=cs.summary,
            report_types=["attack-pattern", "threat-report"], published=when,
            object_refs=refs or [matrix_id],
            external_references=_refs(cs.id, None, cs.references),
            created=when, modified=when, allow_custom=True, **extra))

    objects += relationships
    objects.insert(0, _collection(XCollection, matrix, objects))
    # Our own ID, from the contents: MITRE gives every release's bundle the same one ("ATLAS-bundle"),
    # but a bundle is a transient envelope that stores do not keep, and one ID per content says more.
    digest = hashlib.sha256("\n".join(str(o.id) for o in objects).encode()
                            + matrix.version.encode()).hexdigest()
    return stix2.v21.Bundle(objects=objects, id=f"bundle--{uuid.uuid5(NAMESPACE, digest)}",
                            allow_custom=True)


def _collection(XCollection: type, matrix: Matrix, objects: list[Any]) -> Any:
    """The ``x-mitre-collection`` naming every object and the version of it this bundle holds.

    Its own timestamps are the earliest and latest of its contents, not the time of export, so
    exporting the same matrix twice gives the same bundle.
    """
    contents = [{"object_ref": str(o.id), "object_modified": o.modified} for o in objects]
    return XCollection(
        id=atlas_stix_id("x-mitre-collection", f"{matrix.id}-collection"),
        name=matrix.id,  # "ATLAS", as MITRE names it
        description=f"{matrix.name or matrix.id} {matrix.version}: tactics, techniques, mitigations "
                    "and case studies",
        x_mitre_version=matrix.version, x_mitre_attack_spec_version=ATTACK_SPEC_VERSION,
        x_mitre_contents=contents,
        external_references=[{"source_name": SOURCE, "external_id": matrix.id,
                              "url": "https://atlas.mitre.org/"}],
        created=min(o.created for o in objects), modified=max(o.modified for o in objects),
        allow_custom=True,
    )


def dumps(matrix: Matrix) -> str:
    # stix2's own pretty printer reorders keys in quadratic time (over a minute for ATLAS);
    # indenting its compact output with json gives the same document in a fraction of a second.
    return json.dumps(json.loads(to_bundle(matrix).serialize()), indent=2, ensure_ascii=False) + "\n"


# -- import ------------------------------------------------------------------------------------
def _atlas_id(obj: dict) -> str | None:
    for ref in obj.get("external_references") or ():
        if ref.get("source_name") == SOURCE and ref.get("external_id"):
            return str(ref["external_id"])
    return None


def _day(obj: dict, key: str, undated_flag: str) -> dt.date | None:
    if obj.get(undated_flag):
        return None
    value = obj.get("x_atlas_modified_date") if key == "modified" else None
    value = value or obj.get(key)
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).date() if value else None
    except ValueError:
        raise FormatError(f"{obj.get('id')}: '{key}' is not a timestamp: {value!r}") from None


def _ext(obj: dict) -> tuple[AttackReference | None, tuple[Reference, ...]]:
    own = obj.get("x_atlas_attack_reference")
    attack = (AttackReference(id=str(own["id"]), url=str(own.get("url") or ""))
              if isinstance(own, dict) and own.get("id") else None)
    refs = []
    for ref in obj.get("external_references") or ():
        source = ref.get("source_name")
        if source == SOURCE or (source == ATTACK_XREF and own):
            continue
        if source == "mitre-attack" and attack is None and ref.get("external_id"):
            # the form advmatrix wrote before ATTACK_XREF: still read, never written
            attack = AttackReference(id=ref["external_id"], url=ref.get("url", ""))
        else:
            title = ref.get("description") or ("" if source == "reference" else source or "")
            refs.append(Reference(title=title, url=ref.get("url", "")))
    return attack, tuple(refs)


def loads(text: str, source: str = "<string>") -> Matrix:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    if not isinstance(doc, dict) or doc.get("type") != "bundle" or not isinstance(doc.get("objects"), list):
        raise FormatError(f"{source}: not a STIX bundle: expected an object with type 'bundle' and an 'objects' list")
    warnings: list[str] = []
    by_type: dict[str, list[dict]] = {}
    for obj in doc["objects"]:
        if isinstance(obj, dict) and not obj.get("revoked") and not obj.get("x_mitre_deprecated"):
            by_type.setdefault(str(obj.get("type")), []).append(obj)

    tactic_by_short: dict[str, str] = {}
    tactic_by_stix: dict[str, Tactic] = {}
    for obj in by_type.get("x-mitre-tactic", ()):
        tid = _atlas_id(obj)
        if not tid:
            continue
        attack, refs = _ext(obj)
        tactic = build(Tactic, {
            "id": tid, "name": obj.get("name"), "description": obj.get("description") or obj.get("name"),
            "attack_reference": attack, "created": _day(obj, "created", "x_atlas_undated"),
            "modified": _day(obj, "modified", "x_atlas_unmodified") if not obj.get("x_atlas_unmodified") else None,
            "nist_ai_rmf": obj.get("x_advmatrix_nist_ai_rmf", ()), "references": refs,
        }, source)
        tactic_by_stix[obj["id"]] = tactic
        tactic_by_short[obj.get("x_mitre_shortname") or tactic_shortname(tactic.name)] = tactic.id
    matrices = [m for m in by_type.get("x-mitre-matrix", ()) if m.get("tactic_refs")]
    version = "unknown"
    if matrices:
        order = [tactic_by_stix[r] for r in matrices[0]["tactic_refs"] if r in tactic_by_stix]
        order += [t for t in tactic_by_stix.values() if t not in order]
        version = str(matrices[0].get("x_atlas_version") or matrices[0].get("x_mitre_version") or version)
    else:
        order = list(tactic_by_stix.values())

    rels = by_type.get("relationship", ())
    parent_of = {r.get("source_ref"): r.get("target_ref") for r in rels
                 if r.get("relationship_type") == "subtechnique-of"}
    atlas_of_stix: dict[str, str] = {}
    for obj in by_type.get("attack-pattern", ()):
        if (aid := _atlas_id(obj)):
            atlas_of_stix[obj["id"]] = aid
    techniques: list[Technique] = []
    for obj in by_type.get("attack-pattern", ()):
        tid = atlas_of_stix.get(obj["id"])
        if not tid:
            continue
        parent_stix = parent_of.get(obj["id"])
        parent = atlas_of_stix.get(parent_stix) if parent_stix else None
        if parent is None and obj.get("x_mitre_is_subtechnique") and "." in tid[6:]:
            parent = tid.rsplit(".", 1)[0]
            warnings.append(f"{tid}: no subtechnique-of relationship; parent taken from the ID")
        tactics: tuple[str, ...] = ()
        if parent is None:
            tactics = tuple(obj.get("x_atlas_tactics") or ())
            if not tactics:
                phases = [p.get("phase_name") for p in obj.get("kill_chain_phases") or ()
                          if p.get("kill_chain_name") in (KILL_CHAIN, "mitre-attack", "atlas")]
                tactics = tuple(tactic_by_short[p] for p in phases if p in tactic_by_short)
                unknown = [p for p in phases if p not in tactic_by_short]
                if unknown:
                    warnings.append(f"{tid}: unknown kill chain phase(s) {', '.join(unknown)}")
        attack, refs = _ext(obj)
        techniques.append(build(Technique, {
            "id": tid, "name": obj.get("name"), "description": obj.get("description") or obj.get("name"),
            "tactics": tactics, "parent": parent, "maturity": obj.get("x_atlas_maturity"),
            "created": _day(obj, "created", "x_atlas_undated"),
            "modified": None if obj.get("x_atlas_unmodified") else _day(obj, "modified", "x_atlas_undated"),
            "attack_reference": attack, "references": refs,
            "owasp_ml": obj.get("x_advmatrix_owasp_ml", ()), "owasp_llm": obj.get("x_advmatrix_owasp_llm", ()),
            "nist_ai_rmf": obj.get("x_advmatrix_nist_ai_rmf", ()),
        }, source))

    uses: dict[str, list[MitigationUse]] = {}
    for r in rels:
        if r.get("relationship_type") == "mitigates" and r.get("target_ref") in atlas_of_stix:
            uses.setdefault(r.get("source_ref"), []).append(
                MitigationUse(technique=atlas_of_stix[r["target_ref"]], use=r.get("description") or ""))
    mitigations = []
    for obj in by_type.get("course-of-action", ()):
        mid = _atlas_id(obj)
        if not mid:
            continue
        attack, refs = _ext(obj)
        mitigations.append(build(Mitigation, {
            "id": mid, "name": obj.get("name"), "description": obj.get("description") or obj.get("name"),
            "techniques": uses.get(obj["id"], []), "lifecycle": obj.get("x_atlas_lifecycle", ()),
            "category": obj.get("x_atlas_category", ()),
            "created": _day(obj, "created", "x_atlas_undated"),
            "modified": None if obj.get("x_atlas_unmodified") else _day(obj, "modified", "x_atlas_undated"),
            "attack_reference": attack, "references": refs,
        }, source))

    cases = []
    for obj in by_type.get("report", ()):
        cid = _atlas_id(obj)
        if not cid or "x_atlas_procedure" not in obj:
            continue
        _, refs = _ext(obj)
        cases.append(build(CaseStudy, {
            "id": cid, "name": obj.get("name"), "summary": obj.get("description") or obj.get("name"),
            "incident_date": _day(obj, "published", "x_atlas_undated"),
            "incident_date_granularity": obj.get("x_atlas_incident_date_granularity", "DATE"),
            "procedure": [ProcedureStep.model_validate(s) for s in obj["x_atlas_procedure"]],
            "target": obj.get("x_atlas_target", ""), "actor": obj.get("x_atlas_actor", ""),
            "case_study_type": obj.get("x_atlas_case_study_type"), "reporter": obj.get("x_atlas_reporter"),
            "references": refs,
        }, source))

    if not order and not techniques:
        raise FormatError(f"{source}: the bundle holds no ATLAS tactics or techniques "
                          "(objects with a 'mitre-atlas' external reference)")
    matrix_obj = matrices[0] if matrices else {}
    matrix_id = _atlas_id(matrix_obj)
    if matrix_id in (None, SOURCE):
        # MITRE's matrix carries the source name as its external_id (for the Navigator's links),
        # not an ID: that matrix is ATLAS, and reading it so keeps its STIX ID on export.
        matrix_id = "ATLAS"
    matrix = Matrix(
        id=matrix_id,
        name=matrix_obj.get("name") or "Adversarial Threat Landscape for AI Systems",
        version=version, tactics=tuple(order), techniques=tuple(techniques),
        mitigations=tuple(mitigations), case_studies=tuple(cases), source=source,
    )
    object.__setattr__(matrix, "warnings", tuple(warnings + [str(p) for p in check_matrix(matrix)]))
    return matrix


def load(path: str | Path) -> Matrix:
    return loads(read_text(path), str(path))
