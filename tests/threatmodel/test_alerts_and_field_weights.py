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


@pytest.mark.parametrize(("writers", "jailbreak"), [("public", True), ("internal", False)])
def test_a_jailbreak_can_be_planted_in_what_an_app_reads_as_well_as_typed_to_it(writers, jailbreak):
    # a nightly summariser no one talks to still reads reviews anyone writes: the text that steers it can argue
    # its safety rules away too (audit W; ATLAS's incidents take a jailbreak after an indirect injection)
    s = system([{"id": "shoppers", "kind": "external", "actor": "user"},
                {"id": "reviews", "kind": "retrieval-store", "writers": writers,
                 "sources": ["user-submitted" if writers == "public" else "collected"]},
                {"id": "summariser", "kind": "llm-app", "system_prompt": True},
                {"id": "page", "kind": "service", "audience": "public", "authentication": "none", "returns": "text"},
                {"id": "visitors", "kind": "external", "actor": "user"}],
               [{"from": "shoppers", "to": "reviews", "trusted": writers != "public"},
                {"from": "reviews", "to": "summariser"}, {"from": "summariser", "to": "page"},
                {"from": "page", "to": "visitors"}])
    assert ("AML.T0054" in found(s, "summariser")) is jailbreak


def desktop_agent(on_device: bool, access: list[str] | None = None) -> System:
    extra = [{"id": "thief", "kind": "adversary", "actor": "criminal", "goals": ["steal-data"], "access": access}] \
        if access else []
    return system([{"id": "user", "kind": "external", "actor": "user"},
                   {"id": "assistant", "kind": "llm-app", "system_prompt": True, "tools": ["tickets"],
                    **({"properties": {"on_device": True}} if on_device else {})},
                   {"id": "tickets", "kind": "tool", "side_effects": "write", "source": "vendor"},
                   {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "vendor",
                    "source": "vendor-api", "artifact_format": "hosted"}, *extra],
                  [{"from": "user", "to": "assistant", "trusted": True}, {"from": "assistant", "to": "llm"},
                   {"from": "llm", "to": "assistant"}, {"from": "assistant", "to": "user"}])


@pytest.mark.parametrize(("on_device", "access", "keys"), [
    (True, None, True),  # every copy of an app on people's devices holds the keys it calls its tools with
    (False, ["network"], True),  # a foothold where the agent runs reads its configuration
    (False, ["query"], False),
    (False, None, False)])
def test_an_agents_keys_are_read_from_its_configuration_where_someone_holds_a_copy_or_a_foothold(
        on_device, access, keys):
    # audits V (a browser extension shipping a vendor key) and X (a cost agent's cloud credentials)
    assert ("AML.T0083" in found(desktop_agent(on_device, access), "assistant")) is keys


@pytest.mark.parametrize(("audience", "relays", "harm"), [("public", True, True), ("internal", True, False),
                                                          ("public", False, False)])
def test_a_ranking_that_decides_what_a_public_feed_shows_can_push_chosen_content_to_everyone(audience, relays, harm):
    # a video feed's recommender ranks what creators upload for every viewer (audit Z: societal harm was
    # predicted for no component of a public, open-sign-up feed)
    s = system([{"id": "creators", "kind": "external", "actor": "user"},
                {"id": "uploads", "kind": "service", "audience": "public", "returns": "none", "relays": True},
                {"id": "videos", "kind": "dataset", "writers": "public", "source": "user-submitted",
                 "used_for": ["training"]},
                {"id": "ranker", "kind": "model", "task": "ranking", "modality": "tabular", "trained_by": "us"},
                {"id": "feed", "kind": "service", "audience": audience, "returns": "labels", "relays": relays},
                {"id": "viewers", "kind": "external", "actor": "user"}],
               [{"from": "creators", "to": "uploads"}, {"from": "uploads", "to": "videos"},
                {"from": "videos", "to": "ranker"}, {"from": "ranker", "to": "feed"},
                {"from": "feed", "to": "viewers"}])
    assert ("AML.T0048.002" in found(s, "ranker")) is harm


def test_a_jailbreak_planted_in_a_store_is_said_beside_the_typed_one_where_both_reach_the_app():
    # a public chat over a store the public writes: one who only plants reviews jailbreaks it too, and the
    # finding says so (audits X, Z: a planter's path took the jailbreak whose only reason was typing)
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "chat", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "bot", "kind": "llm-app", "system_prompt": True},
                {"id": "reviews", "kind": "retrieval-store", "writers": "public", "sources": ["user-submitted"]}],
               [{"from": "users", "to": "chat"}, {"from": "chat", "to": "bot"}, {"from": "bot", "to": "chat"},
                {"from": "chat", "to": "users"}, {"from": "reviews", "to": "bot"}])
    reasons = [r for f in predict(s).findings if f.component == "bot" and f.technique_id == "AML.T0054"
               for r in f.reasons]
    assert any("can talk to" in r for r in reasons) and any("planted there" in r for r in reasons), reasons
