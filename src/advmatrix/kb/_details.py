"""One object with everything related to it, as plain data for any interface to render."""

from __future__ import annotations

from typing import Any

from ._matrix import Matrix
from ._models import (
    OWASP_LLM_TOP10,
    OWASP_ML_TOP10,
    CaseStudy,
    Mitigation,
    Tactic,
    Technique,
)


def _brief(obj: Any) -> dict[str, str]:
    return {"id": obj.id, "name": obj.name}


def rmf_functions(matrix: Matrix, technique: Technique) -> tuple[str, ...]:
    """NIST AI RMF functions of a technique: its own mapping, else its tactics' mappings."""
    if technique.nist_ai_rmf:
        return technique.nist_ai_rmf
    seen: dict[str, None] = {}
    for tactic in matrix.tactics_of(technique.id):
        seen.update(dict.fromkeys(tactic.nist_ai_rmf))
    return tuple(seen)


def details(matrix: Matrix, object_id: str) -> dict[str, Any]:
    """Everything about one object as JSON-ready data: the object, and what it links to (a
    tactic's techniques, a technique's mitigations and case studies, ...)."""
    obj = matrix.get(object_id)
    data: dict[str, Any] = obj.model_dump(mode="json")
    if isinstance(obj, Tactic):
        data["techniques"] = [_brief(t) for t in matrix.techniques_of_tactic(obj.id)]
    elif isinstance(obj, Technique):
        data["tactics"] = [_brief(t) for t in matrix.tactics_of(obj.id)]
        data["parent"] = _brief(matrix.technique(obj.parent)) if obj.parent else None
        data["subtechniques"] = [_brief(t) for t in matrix.subtechniques_of(obj.id)]
        data["mitigations"] = [{**_brief(m), "use": use.use} for m, use in matrix.mitigations_of(obj.id)]
        data["case_studies"] = [_brief(c) for c in matrix.case_studies_using(obj.id)]
        data["owasp_ml"] = [{"id": x, "name": OWASP_ML_TOP10[x]} for x in obj.owasp_ml]
        data["owasp_llm"] = [{"id": x, "name": OWASP_LLM_TOP10[x]} for x in obj.owasp_llm]
        data["nist_ai_rmf"] = list(rmf_functions(matrix, obj))
    elif isinstance(obj, Mitigation):
        names = {t.id: t.name for t in matrix.techniques}
        data["techniques"] = [{"id": u.technique, "name": names.get(u.technique, "?"), "use": u.use}
                              for u in obj.techniques]
    elif isinstance(obj, CaseStudy):
        names = {o.id: o.name for o in (*matrix.tactics, *matrix.techniques)}
        data["procedure"] = [{**s.model_dump(), "tactic_name": names.get(s.tactic, "?"),
                              "technique_name": names.get(s.technique, "?")} for s in obj.procedure]
    return data
