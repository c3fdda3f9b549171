"""Alerts as ECS documents: the fields SIEMs read, and the way back to typed alerts."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advmatrix.errors import FormatError
from advmatrix.kb import bundled
from advmatrix.report.ecs import SEVERITY_SCORES, from_ecs, timestamp, to_ecs
from advmatrix.store import SEVERITIES, Alert


def alert(**fields) -> Alert:
    values = {"detector": "similarity-search", "technique_ids": ("AML.T0043.001", "AML.T0042"), "client": "key:ab12",
              "severity": "high", "message": "near-duplicate queries", "evidence": {"matches": 12, "window": [0.5, 1]},
              "time": 1_714_564_800.123, "query_count": 42, "action": "degrade", "mitigation_ids": ("AML.M0002",)}
    return Alert(**{**values, **fields})


def test_fields_and_types():
    doc = to_ecs(alert(id=7))
    json.dumps(doc)  # plain JSON all the way down
    assert doc["@timestamp"] == "2024-05-01T12:00:00.123Z"
    assert doc["message"] == "near-duplicate queries"
    assert doc["event"] == {"kind": "alert", "category": ["intrusion_detection"], "type": ["info"],
                            "module": "advmatrix", "dataset": "advmatrix.gateway", "severity": 73, "id": "7"}
    assert doc["rule"] == {"id": "advmatrix.detector.similarity-search", "ruleset": "advmatrix",
                           "name": "Black-box attack search (near-duplicate queries)"}  # the detector's title
    matrix = bundled()
    assert doc["threat"] == {"framework": "MITRE ATLAS", "technique": {
        "id": ["AML.T0043", "AML.T0042"],  # the sub-technique's parent, in its place
        "name": [matrix.technique("AML.T0043").name, matrix.technique("AML.T0042").name],
        "reference": ["https://atlas.mitre.org/techniques/AML.T0043", "https://atlas.mitre.org/techniques/AML.T0042"],
        "subtechnique": {"id": ["AML.T0043.001"], "name": [matrix.technique("AML.T0043.001").name],
                         "reference": ["https://atlas.mitre.org/techniques/AML.T0043.001"]}}}
    assert doc["user"] == {"id": "key:ab12"}
    assert doc["advmatrix"] == {"detector": "similarity-search", "severity": "high", "action": "degrade",
                                "mitigation_ids": ["AML.M0002"], "query_count": 42,
                                "evidence": {"matches": 12, "window": [0.5, 1]},
                                "technique_ids": ["AML.T0043.001", "AML.T0042"], "id": 7}
    assert doc["ecs"]["version"].startswith("8.")


def test_severity_is_a_number_and_unknown_ids_keep_their_id():
    assert {s: to_ecs(alert(severity=s))["event"]["severity"] for s in SEVERITIES} == {
        "low": 21, "medium": 47, "high": 73, "critical": 99}
    doc = to_ecs(alert(technique_ids=("AML.T0043", "AML.T9999"), detector="mine"), title="My own detector")
    assert doc["threat"]["technique"]["id"] == ["AML.T0043", "AML.T9999"]
    assert doc["threat"]["technique"]["name"][1] == "" and doc["threat"]["technique"]["reference"][1] == ""
    assert doc["rule"]["name"] == "My own detector"
    assert to_ecs(alert(detector="not-installed"))["rule"]["name"] == "not-installed"
    assert "id" not in to_ecs(alert())["event"]  # no store ID yet


def test_subtechniques_go_in_the_ecs_subtechnique_fields_with_their_parent_among_techniques():
    doc = to_ecs(alert(technique_ids=("AML.T0051", "AML.T0051.000")))
    assert doc["threat"]["technique"] == {
        "id": ["AML.T0051"], "name": ["LLM Prompt Injection"],
        "reference": ["https://atlas.mitre.org/techniques/AML.T0051"],
        "subtechnique": {"id": ["AML.T0051.000"], "name": ["Direct"],
                         "reference": ["https://atlas.mitre.org/techniques/AML.T0051.000"]}}
    # a sub-technique alone still lists its parent (a SIEM rule on the parent matches); each list
    # holds an ID once, in the alert's order, with its name and reference at the same place
    technique = to_ecs(alert(technique_ids=("AML.T0051.001", "AML.T0024.002", "AML.T0051.000", "AML.T0051")))[
        "threat"]["technique"]
    assert (technique["id"], technique["name"]) == (["AML.T0051", "AML.T0024"],
                                                    ["LLM Prompt Injection", "Exfiltration via AI Inference API"])
    sub = technique["subtechnique"]
    assert (sub["id"], sub["name"]) == (["AML.T0051.001", "AML.T0024.002", "AML.T0051.000"],
                                        ["Indirect", "Extract AI Model", "Direct"])
    assert sub["reference"] == ["https://atlas.mitre.org/techniques/" + t for t in sub["id"]]
    # a sub-technique this knowledge base does not know (a newer ATLAS) is one by its ID
    technique = to_ecs(alert(technique_ids=("AML.T0043.999",)))["threat"]["technique"]
    assert technique["id"] == ["AML.T0043"] and technique["name"] == ["Craft Adversarial Data"]
    assert technique["subtechnique"] == {"id": ["AML.T0043.999"], "name": [""], "reference": [""]}
    assert "subtechnique" not in to_ecs(alert(technique_ids=("AML.T0042", "mine.x1.2")))["threat"]["technique"]


@pytest.mark.parametrize("ids", [("AML.T0051", "AML.T0051.000"), ("AML.T0051.000",), ("AML.T0051.000", "AML.T0051"),
                                 ("AML.T0043.001", "AML.T0042"), ("AML.T0042",), ()])
def test_from_ecs_reads_new_and_old_documents_alike(ids):
    a = alert(technique_ids=ids)
    new = to_ecs(a)
    assert from_ecs(new).technique_ids == ids
    # as versions before sub-techniques had fields of their own wrote it: every ID among the techniques
    old = json.loads(json.dumps(new))
    del old["advmatrix"]["technique_ids"]
    old["threat"]["technique"] = {"id": list(ids), "name": [bundled().technique(t).name for t in ids],
                                  "reference": ["https://atlas.mitre.org/techniques/" + t for t in ids]}
    assert from_ecs(old).technique_ids == ids
    # another writer's document with the ECS fields only: each sub-technique after its parent
    del new["advmatrix"]["technique_ids"]
    back = from_ecs(new).technique_ids
    assert set(back) == set(ids) | {t.rsplit(".", 1)[0] for t in ids if t.count(".") == 2}
    assert all(back.index(t.rsplit(".", 1)[0]) < back.index(t) for t in ids if t.count(".") == 2)


def test_from_ecs_takes_a_single_technique_id_as_ecs_allows():
    doc = to_ecs(alert(technique_ids=("AML.T0042",)))
    del doc["advmatrix"]["technique_ids"]
    doc["threat"]["technique"]["id"] = "AML.T0042"
    assert from_ecs(doc).technique_ids == ("AML.T0042",)


@pytest.mark.parametrize("epoch, text", [(0.0, "1970-01-01T00:00:00.000Z"), (0.9996, "1970-01-01T00:00:01.000Z"),
                                         (1_714_564_800.0004, "2024-05-01T12:00:00.000Z")])
def test_timestamp_is_utc_milliseconds_z(epoch, text):
    assert timestamp(epoch) == text
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", to_ecs(alert(time=epoch))["@timestamp"])


def test_round_trip():
    for a in (alert(id=12), alert(id=12, uid="5d41402a-bc4b-4a76-b971-9d911017c592"), alert(uid="u-1"), alert()):
        assert from_ecs(to_ecs(a)) == a
        doc = to_ecs(a)
        assert to_ecs(from_ecs(json.loads(json.dumps(doc)))) == doc


def test_event_id_is_the_alerts_own_id_and_the_row_number_is_ours():
    doc = to_ecs(alert(id=12, uid="5d41402a-bc4b-4a76-b971-9d911017c592"))
    assert doc["event"]["id"] == "5d41402a-bc4b-4a76-b971-9d911017c592" and doc["advmatrix"]["id"] == 12
    # before the row is written (the JSONL line, the webhook): the same event.id, no row number yet
    doc = to_ecs(alert(uid="5d41402a-bc4b-4a76-b971-9d911017c592"))
    assert doc["event"]["id"] == "5d41402a-bc4b-4a76-b971-9d911017c592" and "id" not in doc["advmatrix"]
    # a row stored by a version that gave alerts no ID of their own: its number, as that version did
    assert to_ecs(alert(id=12))["event"]["id"] == "12"
    old = to_ecs(alert(id=12))
    del old["advmatrix"]["id"]  # an older version's document: the row number was event.id
    assert (from_ecs(old).id, from_ecs(old).uid) == (12, None)


@given(time=st.floats(0, 4_000_000_000), severity=st.sampled_from(SEVERITIES), queries=st.integers(0, 10**9),
       ids=st.lists(st.sampled_from(["AML.T0043", "AML.T0024.002", "AML.T0029", "AML.T9999"]), max_size=3))
def test_round_trip_keeps_every_field_to_the_millisecond(time, severity, queries, ids):
    a = alert(time=time, severity=severity, query_count=queries, technique_ids=tuple(ids))
    back = from_ecs(to_ecs(a))
    assert abs(back.time - a.time) <= 0.0005 + 1e-6
    assert back == Alert(**{**vars(a), "time": back.time})
    assert to_ecs(back) == to_ecs(a)


def test_from_ecs_reads_other_writers_and_refuses_what_is_not_an_alert():
    doc = to_ecs(alert())
    del doc["advmatrix"]["severity"], doc["advmatrix"]["detector"]  # only standard fields left
    back = from_ecs(doc)
    assert back.severity == "high" and back.detector == "similarity-search"
    doc["@timestamp"] = "2024-05-01T14:00:00.5+02:00"
    assert from_ecs(doc).time == 1_714_564_800.5
    for bad in ([], {"message": "x"}, {**doc, "@timestamp": "yesterday"}):
        with pytest.raises(FormatError):
            from_ecs(bad)
    assert SEVERITY_SCORES["critical"] == 99
