"""Navigator layers: build from scores, write, read back; bad layers are refused clearly."""

from __future__ import annotations

import json

import pytest

from advmatrix.errors import FormatError, UnknownObjectError
from advmatrix.kb import build_layer, layer
from advmatrix.kb._ids import tactic_shortname
from tests.conftest import folded_sub_techniques


def test_build_layer_scores_every_tactic_cell(matrix):
    built = build_layer(matrix, {"AML.T0015": 0.9, "AML.T0043.001": 0.4}, name="evasion",
                        comments={"AML.T0015": "works"}, legend={"high": "#ff0000"},
                        metadata={"run": "42"}, technique_metadata={"AML.T0015": {"queries": 120}})
    data = json.loads(built.to_json())
    assert data["domain"] == "atlas-atlas"
    cells = {(t["techniqueID"], t["tactic"]): t for t in data["techniques"]}
    # Evade AI Model sits under three tactics; each cell is scored
    assert {tac for tid, tac in cells if tid == "AML.T0015"} == {"initial-access", "defense-evasion", "impact"}
    assert cells[("AML.T0043.001", "ai-attack-staging")]["score"] == 0.4
    assert cells[("AML.T0015", "impact")]["comment"] == "works"
    assert cells[("AML.T0015", "impact")]["metadata"] == [{"name": "queries", "value": "120"}]
    assert data["gradient"]["minValue"] == 0.4 and data["gradient"]["maxValue"] == 0.9
    assert data["legendItems"] == [{"label": "high", "color": "#ff0000"}]
    assert {"name": "run", "value": "42"} in data["metadata"]
    # AML.T0043.001 is scored and AML.T0043 is not: the Navigator must open its parent unfolded.
    assert data["layout"]["expandedSubtechniques"] == "annotated"
    assert folded_sub_techniques(matrix, data) == []


def test_declares_the_versions_the_hosted_atlas_navigator_reads(matrix):
    # The hosted ATLAS Navigator (4.7.1) alerts on any versions.layer but "4.3"; ATT&CK Navigator
    # 4.9+ reads 4.3 with a passing note.
    data = json.loads(build_layer(matrix, {"AML.T0015": 1}, name="x").to_json())
    assert data["versions"] == {"layer": "4.3", "navigator": "4.7.1"}
    assert layer.Layer(name="y").versions == data["versions"]


def test_an_unscored_parent_gets_an_unfolded_entry_under_each_of_its_tactics(matrix):
    built = build_layer(matrix, {"AML.T0043.001": 0.4}, name="x")
    data = json.loads(built.to_json())
    sub = {t["tactic"] for t in data["techniques"] if t["techniqueID"] == "AML.T0043.001"}
    parent = [t for t in data["techniques"] if t["techniqueID"] == "AML.T0043"]
    assert {t["tactic"] for t in parent} == sub == {tactic_shortname(t.name) for t in matrix.tactics_of("AML.T0043")}
    assert len(parent) == len(sub)
    # unfolded, and nothing else: no score, colour or comment the Navigator would draw
    assert all(t["showSubtechniques"] and "score" not in t and not t["color"] and not t["comment"] for t in parent)
    assert built.scores() == {"AML.T0043.001": 0.4}


def test_a_scored_parent_is_unfolded_and_kept_once(matrix):
    data = json.loads(build_layer(matrix, {"AML.T0051": 1, "AML.T0051.000": 2, "AML.T0015": 1},
                                  name="x").to_json())
    parent = [t for t in data["techniques"] if t["techniqueID"] == "AML.T0051"]
    assert len(parent) == len(matrix.tactics_of("AML.T0051"))
    assert all(t["showSubtechniques"] and t["score"] == 1 for t in parent)
    # a technique with no annotated sub-technique stays folded
    assert not any(t["showSubtechniques"] for t in data["techniques"] if t["techniqueID"] != "AML.T0051")


@pytest.mark.parametrize("make", [layer.case_study_layer, layer.maturity_layer])
def test_matrix_layers_fold_no_scored_sub_technique(matrix, make):
    data = json.loads(make(matrix).to_json())
    assert any("." in t["techniqueID"][5:] for t in data["techniques"])  # there are scored sub-techniques
    assert folded_sub_techniques(matrix, data) == []


def test_write_and_read_back(matrix, tmp_path):
    built = build_layer(matrix, {"AML.T0024.002": 1.0}, name="extraction")
    path = tmp_path / "l.json"
    path.write_text(built.to_json())
    again = layer.load(path)
    assert again.scores() == {"AML.T0024.002": 1.0}
    assert again == built


@pytest.mark.parametrize("version", ["4.3", "4.4", "4.5"])
def test_reads_layers_from_other_tools(version):
    foreign = {"name": "x", "domain": "atlas-atlas", "versions": {"layer": version},
               "techniques": [{"techniqueID": "AML.T0051", "score": "", "color": "#fff"},
                              {"techniqueID": "AML.T0054", "score": 3, "customField": 1}],
               "tacticRowBackground": "#ddd"}
    got = layer.loads(json.dumps([foreign]))
    assert got.scores() == {"AML.T0054": 3}
    assert got.versions["layer"] == version  # a layer read keeps what it declares


def test_unknown_technique_is_refused(matrix):
    with pytest.raises(UnknownObjectError, match="AML.T9999"):
        build_layer(matrix, {"AML.T9999": 1}, name="x")


@pytest.mark.parametrize("text, message", [
    ("[]", "empty list"), ("3", "must be a JSON object"),
    ('{"techniques": []}', "field 'name'"), ('{"name": "x", "techniques": [{"score": 1}]}', "techniqueID"),
])
def test_bad_layers(text, message):
    with pytest.raises(FormatError, match=message):
        layer.loads(text)


def test_case_study_layer_counts_use(matrix):
    built = layer.case_study_layer(matrix)
    scores = built.scores()
    assert scores["AML.T0051.001"] == len(matrix.case_studies_using("AML.T0051.001")) > 10
    assert "AML.T0000.000" not in scores  # never used by a case study
