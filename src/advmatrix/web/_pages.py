"""What the navigator's pages show beyond an object's own details: a parent technique gathers
what its sub-techniques carry, and lists are shown once per object."""

from __future__ import annotations

from typing import Any

from ..kb import Matrix


def merged_mitigations(mitigations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per mitigation, in first-seen order, with every distinct way it helps in ``uses``
    (ATLAS can list a mitigation under a technique more than once, once per use)."""
    out: dict[str, dict[str, Any]] = {}
    for m in mitigations:
        entry = out.setdefault(m["id"], {"id": m["id"], "name": m["name"], "uses": []})
        if m.get("use") and m["use"] not in entry["uses"]:
            entry["uses"].append(m["use"])
    return list(out.values())


def _gathered(own: list[dict[str, Any]], subs: list[tuple[dict[str, str], list[dict[str, Any]]]],
              key: str) -> list[dict[str, Any]]:
    """Own items first, then the sub-techniques' items not already listed, each with ``via``: the
    sub-techniques it comes from (empty for the technique's own)."""
    own_keys = {item[key] for item in own}
    out: dict[str, dict[str, Any]] = {item[key]: {**item, "via": []} for item in own}
    for sub, items in subs:
        for item in items:
            if item[key] not in own_keys:
                out.setdefault(item[key], {**item, "via": []})["via"].append(sub)
    return list(out.values())


def technique_context(matrix: Matrix, data: dict[str, Any],
                      by_technique: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    """The technique page's lists: mitigations merged, and case studies and advmatrix procedures
    of the technique and of its sub-techniques (those marked with the sub-technique they come from)."""
    subs = [{"id": s["id"], "name": s["name"]} for s in data.get("subtechniques", [])]
    sub_studies = [(s, [{"id": c.id, "name": c.name} for c in matrix.case_studies_using(s["id"])]) for s in subs]
    sub_procedures = [(s, by_technique.get(s["id"], [])) for s in subs]
    return {"mitigations": merged_mitigations(data.get("mitigations", [])),
            "case_studies": _gathered(data.get("case_studies", []), sub_studies, "id"),
            "procedures": _gathered(by_technique.get(data["id"], []), sub_procedures, "name")}
