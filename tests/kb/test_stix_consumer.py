"""mitreattack-python, the library ATT&CK consumers use, reads our STIX bundle as it reads MITRE's.

Every query that answers on MITRE's own ATLAS bundle answers on ours; the tactic and matrix
queries fail on both (mitreattack-python builds those objects as STIX 2.0, which wants random
UUIDs, and both bundles use name-based ones), so they are not asked. Skipped without mitreattack.
"""

from __future__ import annotations

import pytest

from advmatrix.kb import stix

pytest.importorskip("mitreattack")
from mitreattack.stix20 import MitreAttackData


@pytest.fixture(scope="module")
def data(matrix, tmp_path_factory) -> MitreAttackData:
    path = tmp_path_factory.mktemp("stix") / "atlas.json"
    path.write_text(stix.dumps(matrix), encoding="utf-8")
    return MitreAttackData(str(path))


def test_techniques_and_platform(data, matrix):
    assert len(data.get_techniques()) == len(matrix.techniques) == 170
    assert len(data.get_subtechniques()) == 69
    assert len(data.get_techniques_by_platform("ATLAS")) == 170


def test_lookup_by_atlas_id_returns_our_object(data, matrix):
    for kind, stix_type in (("techniques", "attack-pattern"), ("mitigations", "course-of-action")):
        for obj in getattr(matrix, kind):
            found = data.get_object_by_attack_id(obj.id, stix_type)
            assert found is not None and found.name == obj.name, obj.id


def test_attack_ids_never_resolve_to_atlas_objects(data, matrix):
    adapted = [(o.attack_reference.id, stix_type)
               for kind, stix_type in (("techniques", "attack-pattern"), ("mitigations", "course-of-action"),
                                       ("tactics", "x-mitre-tactic"))
               for o in getattr(matrix, kind) if o.attack_reference]
    assert ("T1596", "attack-pattern") in adapted and len(adapted) > 40
    assert [a for a in adapted if data.get_object_by_attack_id(*a) is not None] == []
    technique = data.get_object_by_attack_id("AML.T0000", "attack-pattern")
    assert data.get_attack_id(technique.id) is None  # its own ID is an ATLAS one, not an ATT&CK one


def test_mitigations_and_mitigates_relationships(data, matrix):
    assert len(data.get_mitigations()) == 35
    mitigated = data.get_all_techniques_mitigated_by_all_mitigations()
    assert sum(len(v) for v in mitigated.values()) == sum(len(m.techniques) for m in matrix.mitigations)
    m0000 = data.get_object_by_attack_id("AML.M0000", "course-of-action")
    names = {t["object"].name for t in data.get_techniques_mitigated_by_mitigation(m0000.id)}
    assert names == {matrix.technique(u.technique).name for u in matrix.mitigation("AML.M0000").techniques}
    t0000 = data.get_object_by_attack_id("AML.T0000", "attack-pattern")
    assert [m["object"].name for m in data.get_mitigations_mitigating_technique(t0000.id)] == [
        m.name for m in matrix.mitigations if any(u.technique == "AML.T0000" for u in m.techniques)]


def test_subtechnique_relationships(data):
    parent = data.get_object_by_attack_id("AML.T0000", "attack-pattern")
    child = data.get_object_by_attack_id("AML.T0000.000", "attack-pattern")
    assert len(data.get_subtechniques_of_technique(parent.id)) == 3
    assert [p["object"].id for p in data.get_parent_technique_of_subtechnique(child.id)] == [parent.id]
    assert sum(len(v) for v in data.get_all_subtechniques_of_all_techniques().values()) == 69


def test_search_by_name_and_content(data):
    assert [t.name for t in data.get_objects_by_name("LLM Jailbreak", "attack-pattern")] == ["LLM Jailbreak"]
    assert data.get_objects_by_content("jailbreak", "attack-pattern")
