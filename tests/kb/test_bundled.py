"""The bundled knowledge base: complete, consistent, and its lookups."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from advmatrix.errors import KnowledgeBaseError, SchemaError, UnknownObjectError
from advmatrix.kb import OWASP_LLM_TOP10, OWASP_ML_TOP10, check_matrix, load_data_dir
from advmatrix.kb._bundled import DATA_DIR


def test_counts_match_atlas_5_6_0(matrix):
    assert matrix.stats().as_dict() == {
        "version": "5.6.0", "tactics": 16, "techniques": 101, "subtechniques": 69,
        "mitigations": 35, "case_studies": 57, "procedure_steps": 449,
    }


def test_bundled_data_has_no_consistency_problem(matrix):
    assert check_matrix(matrix) == []


def test_every_object_has_text(matrix):
    for obj in matrix.iter_objects():
        text = getattr(obj, "description", None) or obj.summary
        assert len(text) > 40, obj.id
    assert all(step.description for cs in matrix.case_studies for step in cs.procedure)


def test_lookups(matrix):
    staging = matrix.techniques_of_tactic("AML.TA0001")
    assert "AML.T0043" in {t.id for t in staging}
    assert all(t.parent is None for t in staging)
    subs = [t.id for t in matrix.subtechniques_of("AML.T0043")]
    assert subs == ["AML.T0043.000", "AML.T0043.001", "AML.T0043.002", "AML.T0043.003", "AML.T0043.004"]
    assert [t.id for t in matrix.tactics_of("AML.T0043.001")] == ["AML.TA0001"]
    mitigations = {m.id for m, _ in matrix.mitigations_of("AML.T0043.001")}
    assert {"AML.M0002", "AML.M0004", "AML.M0015", "AML.M0019"} <= mitigations
    assert "AML.CS0001" in {c.id for c in matrix.case_studies_using("AML.T0043.001")}


def test_ids_are_found_however_users_type_them(matrix):
    assert matrix.get("aml.t0043").id == "AML.T0043"
    assert matrix.get("T0043").id == "AML.T0043"
    with pytest.raises(UnknownObjectError, match="did you mean AML.T0043"):
        matrix.get("AML.T0043x")
    with pytest.raises(UnknownObjectError, match="it is a tactic"):
        matrix.technique("AML.TA0001")


def test_mappings_use_known_codes(matrix):
    mapped_ml = {c for t in matrix.techniques for c in t.owasp_ml}
    mapped_llm = {c for t in matrix.techniques for c in t.owasp_llm}
    assert mapped_ml <= set(OWASP_ML_TOP10) and len(mapped_ml) >= 9
    assert mapped_llm <= set(OWASP_LLM_TOP10) and len(mapped_llm) == 10
    assert all(t.nist_ai_rmf for t in matrix.tactics)
    assert matrix.technique("AML.T0051").owasp_llm[0] == "LLM01"
    assert "ML05" in matrix.technique("AML.T0024.002").owasp_ml


@pytest.fixture
def data_copy(tmp_path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def test_schema_error_names_file_object_and_field(data_copy):
    path = data_copy / "techniques.yaml"
    path.write_text(path.read_text().replace("maturity: realized", "maturity: rumoured", 1))
    with pytest.raises(SchemaError) as exc:
        load_data_dir(data_copy)
    message = str(exc.value)
    assert "techniques.yaml" in message and "field 'maturity'" in message
    assert exc.value.object_id.startswith("AML.T")


def test_broken_reference_in_our_data_is_an_error(data_copy):
    path = data_copy / "case_studies" / "AML.CS0000.yaml"
    path.write_text(path.read_text().replace("technique: AML.T0042", "technique: AML.T0999", 1))
    with pytest.raises(KnowledgeBaseError, match=r"AML.CS0000: field 'procedure\[5\]': unknown technique AML.T0999"):
        load_data_dir(data_copy)


def test_step_under_the_wrong_tactic_is_an_error(data_copy):
    path = data_copy / "case_studies" / "AML.CS0000.yaml"
    text = path.read_text()
    # step 6 (Evade AI Model) moved under Reconnaissance, a tactic the technique is not in
    head, tail = text.rsplit("- tactic: ", 1)
    path.write_text(head + "- tactic: AML.TA0002" + tail[tail.index("\n"):])
    with pytest.raises(KnowledgeBaseError, match="does not belong to tactic AML.TA0002"):
        load_data_dir(data_copy)


def test_case_study_file_name_must_match_its_id(data_copy):
    src = data_copy / "case_studies" / "AML.CS0001.yaml"
    src.rename(data_copy / "case_studies" / "AML.CS9999.yaml")
    with pytest.raises(SchemaError, match="file name does not match ID AML.CS0001"):
        load_data_dir(data_copy)
