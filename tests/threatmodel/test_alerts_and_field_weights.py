"""Models whose detections people must clear, and models whose weights sit on boxes in the field: what an
adversary does to each that the description's other fields do not say outright (audits V and X)."""

from __future__ import annotations

import pytest

from advmatrix.threatmodel import System
from advmatrix.threatmodel.predict import predict


def system(components, flows=()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


def found(s: System, component: str) -> set[str]:
    return {f.technique_id for f in predict(s).findings if f.component == component}


def alarms(access: list[str], goals: list[str], to_people: bool = True) -> System:
    """Sensors feed an anomaly model on an internal server; its alarms go to a console operators clear."""
    return system([{"id": "plant", "kind": "external", "actor": "internet"},
                   {"id": "historian", "kind": "service", "audience": "internal", "returns": "none"},
                   {"id": "detector", "kind": "model", "task": "anomaly-detection", "modality": "tabular",
                    "trained_by": "us"},
                   {"id": "console", "kind": "service", "audience": "internal", "returns": "labels"},
                   {"id": "operators", "kind": "external", "actor": "user"},
                   {"id": "intruder", "kind": "adversary", "actor": "criminal", "goals": goals, "access": access}],
                  [{"from": "plant", "to": "historian"}, {"from": "historian", "to": "detector"},
                   *([{"from": "detector", "to": "console"}, {"from": "console", "to": "operators"}]
                     if to_people else [{"from": "detector", "to": "historian"}])])


@pytest.mark.parametrize(("access", "goals", "to_people", "chaff"), [
    (["network"], ["disrupt"], True, True),  # an intruder who wants the operators blind floods them
    (["network"], ["evade"], True, True),  # or hides the real alarm among false ones
    (["network"], ["steal-data"], True, False),  # a thief wants no alarms at all
    (["network"], ["disrupt"], False, False),  # alarms no person clears bury nothing
    (["public"], ["disrupt"], True, False)])  # and one who cannot feed it inputs raises none
def test_an_adversary_who_can_feed_a_detector_whose_alarms_people_clear_can_bury_them_in_chaff(
        access, goals, to_people, chaff):
    # ATLAS's own words: junk that raises the detections analysts must clear (audits V and X: a toll plaza's
    # review queue, a plant's alarm console)
    assert ("AML.T0046" in found(alarms(access, goals, to_people), "detector")) is chaff


def field_model(**props) -> System:
    return system([{"id": "road", "kind": "external", "actor": "internet"},
                   {"id": "reader", "kind": "model", "task": "text-recognition", "modality": "image",
                    "trained_by": "us", "properties": {"physical": True, **props}},
                   {"id": "registry", "kind": "service", "audience": "internal", "authentication": "mtls",
                    "returns": "none"},
                   {"id": "billing", "kind": "service", "audience": "internal", "returns": "none"}],
                  [{"from": "road", "to": "reader"}, {"from": "registry", "to": "reader"},
                   {"from": "reader", "to": "billing"}])


@pytest.mark.parametrize(("props", "files"), [({"edge": True}, True), ({"on_device": True}, True), ({}, False)])
def test_weights_that_run_on_boxes_in_the_field_are_files_that_can_be_altered(props, files):
    # a plate reader's weights pushed over the air to roadside boxes sit in files there, whatever their format
    # (audit V: tampering was predicted only once artifact_format was stated)
    assert ("AML.T0018" in found(field_model(**props), "reader")) is files


@pytest.mark.parametrize(("task", "faked"), [("regression", True), ("classification", True), ("segmentation", False)])
def test_a_fraudster_can_fake_the_photos_a_model_prices_a_claim_from(task, faked):
    # a damage estimate from uploaded photos decides a payout as a fraud check does (audit V: generated damage
    # photos were predicted only once the estimator was redrawn as a classifier)
    s = system([{"id": "customers", "kind": "external", "actor": "user"},
                {"id": "portal", "kind": "service", "audience": "public", "authentication": "oauth",
                 "returns": "scores"},
                {"id": "damage", "kind": "model", "task": task, "modality": "image", "trained_by": "us",
                 "properties": {"physical": False}},
                {"id": "fraudster", "kind": "adversary", "actor": "criminal", "goals": ["fraud"], "access": ["query"]}],
               [{"from": "customers", "to": "portal"}, {"from": "portal", "to": "damage"},
                {"from": "damage", "to": "portal"}, {"from": "portal", "to": "customers"}])
    assert ("AML.T0088" in found(s, "damage")) is faked
