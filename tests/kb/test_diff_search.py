"""Diffing matrices and ranked search."""

from __future__ import annotations

from advmatrix.kb import atlas_yaml, diff, search


def test_diff_of_releases(atlas_490, matrix):
    old = atlas_yaml.load(atlas_490)
    d = diff(old, matrix)
    added = {c.id for c in d.added}
    assert "AML.TA0015" in added and "AML.T0080" in added and "AML.CS0056" in added
    assert not d.removed
    renamed = {c.id: (c.old_name, c.new_name) for c in d.renamed}
    assert renamed == {"AML.T0053": ("LLM Plugin Compromise", "AI Agent Tool Invocation")}
    assert any(c.id == "AML.T0000" and "description" in c.fields for c in d.changed)
    assert "added:" in d.to_text() and d.as_dict()["new_version"] == "5.6.0"


def test_diff_detects_rename_and_removal(matrix):
    from dataclasses import replace
    techniques = tuple(t.model_copy(update={"name": "Renamed"}) if t.id == "AML.T0043" else t
                       for t in matrix.techniques if t.id != "AML.T0000.000")
    other = replace(matrix, techniques=techniques, version="x")
    d = diff(matrix, other)
    assert [(c.id, c.old_name, c.new_name) for c in d.renamed] == [("AML.T0043", "Craft Adversarial Data", "Renamed")]
    assert [c.id for c in d.removed] == ["AML.T0000.000"]
    assert diff(matrix, matrix).empty


def test_reordered_lifecycle_or_category_is_not_a_change(matrix):
    from dataclasses import replace

    def edit(update):
        return replace(matrix, mitigations=tuple(m.model_copy(update=update(m)) if m.id == "AML.M0005" else m
                                                 for m in matrix.mitigations))

    m0005 = matrix.mitigation("AML.M0005")
    assert len(m0005.lifecycle) > 1
    assert diff(matrix, edit(lambda m: {"lifecycle": m.lifecycle[::-1], "category": m.category[::-1]})).empty
    changed = diff(matrix, edit(lambda m: {"lifecycle": m.lifecycle[1:]})).changed
    assert [(c.id, c.fields) for c in changed] == [("AML.M0005", ("lifecycle",))]


def test_search_ranks_names_and_ids_first(matrix):
    assert search(matrix, "AML.T0043")[0].object.id == "AML.T0043"
    assert search(matrix, "prompt injection")[0].object.id == "AML.T0051"
    assert search(matrix, "model extraction")[0].object.id == "AML.T0024.002"
    assert search(matrix, "membership inference")[0].object.id == "AML.T0024.000"
    assert {h.object.kind for h in search(matrix, "poison", kinds={"mitigation"})} == {"mitigation"}
    assert search(matrix, "   ") == []
    assert search(matrix, "zzzqqq") == []
