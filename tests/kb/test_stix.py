"""STIX 2.1 export validates, keeps IDs stable, carries case studies, and reads back."""

from __future__ import annotations

import json
import uuid

import pytest
from stix2validator import ValidationOptions, validate_string

from advmatrix.errors import FormatError
from advmatrix.kb import atlas_yaml, stix


@pytest.fixture(scope="module")
def exported(matrix) -> str:
    return stix.dumps(matrix)


@pytest.fixture(scope="module")
def objects(exported) -> list[dict]:
    return json.loads(exported)["objects"]


def test_export_passes_stix2_validator(exported):
    results = validate_string(exported, ValidationOptions(version="2.1"))
    errors = [e.message for e in results.errors]
    assert errors == []
    assert results.is_valid


def test_object_types_and_counts(objects):
    by_type = {}
    for o in objects:
        by_type.setdefault(o["type"], []).append(o)
    assert len(by_type["x-mitre-tactic"]) == 16
    assert len(by_type["attack-pattern"]) == 170
    assert sum(o["x_mitre_is_subtechnique"] for o in by_type["attack-pattern"]) == 69
    assert len(by_type["course-of-action"]) == 35
    assert len(by_type["report"]) == 57
    assert len(by_type["x-mitre-matrix"]) == 1 and len(by_type["x-mitre-matrix"][0]["tactic_refs"]) == 16
    assert len(by_type["x-mitre-collection"]) == 1
    rels = [o["relationship_type"] for o in by_type["relationship"]]
    assert rels.count("subtechnique-of") == 69
    assert rels.count("mitigates") == 248


# Read from MITRE's own bundle: dist/stix-atlas.json in mitre-atlas/atlas-navigator-data, commit
# 6f66878 ("ATLAS 5.6.0 and ATT&CK 19.0"), the release our bundled data follows.
MITRE_IDS = {
    "AML.TA0002": "x-mitre-tactic--8d151547-7423-5bac-bc2d-a6fd02afba29",
    "AML.T0000": "attack-pattern--c02f812d-59cc-5366-b1aa-7eb05154b772",
    "AML.T0043": "attack-pattern--c9122fef-2e35-5d75-9e0a-6ae552ee208f",
    "AML.T0043.000": "attack-pattern--5f8f898d-1e29-52a7-bf95-2d420313aee8",
    "AML.M0015": "course-of-action--20c3de3a-045a-5c5d-883b-4bb074cc427e",
}
MITRE_MATRIX = "x-mitre-matrix--967c63ff-22bd-5ff8-aa59-1e1fca8dec78"
MITRE_COLLECTION = "x-mitre-collection--7a735cfc-0469-5d8b-b11f-d014be33394e"
MITRE_SUBTECHNIQUE_OF = ("AML.T0043.000", "relationship--01cdfdd5-309c-5250-b581-f107ddeb0ad2")


def _by_atlas_id(objects: list[dict]) -> dict[str, dict]:
    return {o["external_references"][0]["external_id"]: o for o in objects
            if o["type"] in ("x-mitre-tactic", "attack-pattern", "course-of-action", "report")}


def test_ids_are_the_ones_mitre_publishes(objects):
    by_atlas = _by_atlas_id(objects)
    assert {k: by_atlas[k]["id"] for k in MITRE_IDS} == MITRE_IDS
    assert [o["id"] for o in objects if o["type"] == "x-mitre-matrix"] == [MITRE_MATRIX]
    assert [o["id"] for o in objects if o["type"] == "x-mitre-collection"] == [MITRE_COLLECTION]
    sub, rel = MITRE_SUBTECHNIQUE_OF
    assert [o["id"] for o in objects if o["type"] == "relationship" and o["relationship_type"] == "subtechnique-of"
            and o["source_ref"] == by_atlas[sub]["id"]] == [rel]


def test_ids_follow_mitres_derivation_for_every_object_it_publishes(objects):
    # MITRE's namespace is the 16 bytes of "atlas.mitre.org." read as a UUID; the name is the ATLAS ID
    mitre = uuid.UUID(b"atlas.mitre.org.".hex())
    for atlas_id, o in _by_atlas_id(objects).items():
        if o["type"] != "report":  # MITRE's bundle has no case studies: ours keep our own IDs
            assert o["id"] == f"{o['type']}--{uuid.uuid5(mitre, atlas_id)}", atlas_id
    cylance = next(o for o in objects if o["type"] == "report" and o["name"].startswith("Bypassing Cylance"))
    assert cylance["id"] == f"report--{uuid.uuid5(stix.NAMESPACE, 'report:AML.CS0003')}"


def test_ids_are_deterministic_and_unique(matrix, exported, objects):
    assert stix.dumps(matrix) == exported
    assert len({o["id"] for o in objects}) == len(objects)  # MITRE's own bundle repeats some
    evasion = next(o for o in objects if o["type"] == "attack-pattern" and o["name"] == "Craft Adversarial Data")
    assert {"source_name": "mitre-atlas", "external_id": "AML.T0043",
            "url": "https://atlas.mitre.org/techniques/AML.T0043"} in evasion["external_references"]


def test_ids_survive_a_new_release(atlas_490, matrix):
    old = {o["id"] for o in json.loads(stix.dumps(atlas_yaml.load(atlas_490)))["objects"]
           if o["type"] == "attack-pattern"}
    new = {o["id"] for o in json.loads(stix.dumps(matrix))["objects"] if o["type"] == "attack-pattern"}
    assert len(old & new) == 115  # every 4.9.0 technique keeps its STIX ID in 5.6.0


def test_case_studies_are_reports_with_ordered_procedure(objects):
    report = next(o for o in objects if o["type"] == "report" and o["name"].startswith("Bypassing Cylance"))
    steps = report["x_atlas_procedure"]
    assert [s["technique"] for s in steps][:3] == ["AML.T0000", "AML.T0047", "AML.T0063"]
    assert report["published"].startswith("2019-09-07")


def test_round_trip(matrix, exported):
    again = stix.loads(exported)
    assert again == matrix
    assert again.warnings == ()


def test_mitres_matrix_reads_as_atlas_and_keeps_mitres_ids(matrix, exported):
    doc = json.loads(exported)
    xmatrix = next(o for o in doc["objects"] if o["type"] == "x-mitre-matrix")
    xmatrix["external_references"] = [{"source_name": "mitre-atlas", "url": "https://atlas.mitre.org",
                                       "external_id": "mitre-atlas"}]  # as MITRE's bundle writes it
    again = stix.loads(json.dumps(doc))
    assert again.id == "ATLAS"
    ids = {o["id"] for o in json.loads(stix.dumps(again))["objects"]}
    assert {MITRE_MATRIX, MITRE_COLLECTION, *MITRE_IDS.values()} <= ids


def test_reads_bundles_whatever_their_ids(matrix, exported):
    # Import keys on ATLAS IDs, not STIX IDs: bundles written under the earlier scheme read the same.
    doc = json.loads(exported)
    rekeyed = {o["id"]: f"{o['type']}--{uuid.uuid5(stix.NAMESPACE, o['type'] + ':' + o['id'])}"
               for o in doc["objects"]}
    text = exported
    for old, new in rekeyed.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    assert text != exported
    assert stix.loads(text) == matrix


def test_modified_before_created_is_clamped_but_kept(matrix, objects):
    odd = [t for t in matrix.techniques if t.modified and t.created and t.modified < t.created]
    assert odd, "upstream data has such objects; the test would prove nothing otherwise"
    pattern = next(o for o in objects if {"source_name": "mitre-atlas", "external_id": odd[0].id,
                                          "url": f"https://atlas.mitre.org/techniques/{odd[0].id}"}
                   in o.get("external_references", []))
    assert pattern["modified"] == pattern["created"]
    assert pattern["x_atlas_modified_date"] == odd[0].modified.isoformat()


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"type": "identity"}', "not a STIX bundle"),
    ('{"type": "bundle", "id": "bundle--1", "objects": []}', "holds no ATLAS tactics or techniques"),
])
def test_bad_bundles(text, message):
    with pytest.raises(FormatError, match=message):
        stix.loads(text, "x.json")


def test_attack_patterns_carry_the_atlas_platform(objects):
    patterns = [o for o in objects if o["type"] == "attack-pattern"]
    assert all(o["x_mitre_platforms"] == ["ATLAS"] for o in patterns)


def test_collection_lists_every_object_with_its_modified_time(matrix, objects):
    collection = objects[0]
    assert collection["type"] == "x-mitre-collection"
    assert collection["name"] == "ATLAS" and f"{matrix.name} 5.6.0" in collection["description"]
    assert collection["x_mitre_version"] == "5.6.0"
    assert collection["x_mitre_attack_spec_version"] == stix.ATTACK_SPEC_VERSION
    assert collection["spec_version"] == "2.1"
    contents = {c["object_ref"]: c["object_modified"] for c in collection["x_mitre_contents"]}
    assert len(contents) == len(collection["x_mitre_contents"]) == len(objects) - 1
    assert contents == {o["id"]: o["modified"] for o in objects[1:]}
    assert collection["created"] <= min(contents.values()) and collection["modified"] == max(contents.values())


def test_attack_cross_references_do_not_pose_as_the_objects_own_id(objects):
    adapted = [o for o in objects if o.get("x_atlas_attack_reference")]
    assert {o["type"] for o in adapted} == {"x-mitre-tactic", "attack-pattern", "course-of-action"}
    for o in adapted:
        refs = o["external_references"]
        assert refs[0]["source_name"] == "mitre-atlas" and refs[0]["external_id"].startswith("AML.")
        # ATT&CK tools read the ID of any "mitre-attack" reference (and any external_id) as the object's own
        assert [r for r in refs[1:] if "external_id" in r or r["source_name"].startswith("mitre-")] == []
        attack = o["x_atlas_attack_reference"]["id"]
        assert {"source_name": "ATT&CK", "description": f"Adapted from ATT&CK {attack}",
                "url": o["x_atlas_attack_reference"]["url"]} in refs
    t0000 = next(o for o in adapted if o["external_references"][0]["external_id"] == "AML.T0000")
    assert t0000["x_atlas_attack_reference"] == {"id": "T1596", "url": "https://attack.mitre.org/techniques/T1596/"}


def test_reads_bundles_written_with_the_earlier_attack_reference(matrix, exported):
    doc = json.loads(exported)
    for o in doc["objects"]:
        if attack := o.pop("x_atlas_attack_reference", None):
            o["external_references"] = [o["external_references"][0],
                                        {"source_name": "mitre-attack", "external_id": attack["id"],
                                         "url": attack["url"]},
                                        *(r for r in o["external_references"][1:] if r["source_name"] != "ATT&CK")]
    assert stix.loads(json.dumps(doc)) == matrix


def test_tactic_and_mitigation_references_survive(matrix, objects):
    execution = next(o for o in objects if o["type"] == "x-mitre-tactic" and o["name"] == "Execution")
    assert {"source_name": "reference", "description": "Remote System Discovery",
            "url": "https://attack.mitre.org/techniques/T1018/"} in execution["external_references"]
    assert stix.loads(stix.dumps(matrix)).tactic("AML.TA0005").references == matrix.tactic("AML.TA0005").references
