"""What a model takes in and where its weights come from decide its findings: a generator that reads
only images takes no prompt, a face matcher decides by embeddings, a checked hash of a file from a public
hub proves only who published it, a vendor's model learned nothing of ours, and an agent's tool fed only by
trusted flows carries no outsider's text."""

from __future__ import annotations

import pytest

from advmatrix.threatmodel import System
from advmatrix.threatmodel.predict import predict
from advmatrix.threatmodel.report import build, gate


def system(components, flows=()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


def found(s: System, component: str) -> set[str]:
    return {f.technique_id for f in predict(s).findings if f.component == component}


def behind_public_api(model: dict, returns: str = "labels", *extra: dict) -> System:
    return system([{"id": "people", "kind": "external", "actor": "user"},
                   {"id": "api", "kind": "service", "audience": "public", "returns": returns},
                   {"id": "m", "kind": "model", **model}, *extra],
                  [{"from": "people", "to": "api"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"},
                   {"from": "api", "to": "people"}])


PROMPTED = {"AML.T0054", "AML.T0065", "AML.T0048.002"}


def test_a_generator_that_reads_only_images_takes_no_prompt():
    ocr = found(behind_public_api({"task": "generation", "modality": "image", "outputs": ["text"]}), "m")
    assert not PROMPTED & ocr
    chat = found(behind_public_api({"task": "generation", "modality": "text"}, "text"), "m")
    assert PROMPTED <= chat
    # a text generator whose service hands back only a verdict: no public content, no replies to iterate on
    verdict = found(behind_public_api({"task": "generation", "modality": "text"}, "labels"), "m")
    assert "AML.T0054" in verdict and not {"AML.T0065", "AML.T0048.002"} & verdict


@pytest.mark.parametrize(("verifies", "evaded"), [(True, True), (False, False), (None, False)])
def test_a_face_matcher_is_evaded_like_a_classifier(verifies, evaded):
    props = {} if verifies is None else {"properties": {"verifies_identity": verifies}}
    adversary = {"id": "eve", "kind": "adversary", "goals": ["evade"], "access": ["query"]}
    s = behind_public_api({"task": "embedding", "modality": "image", **props}, "labels", adversary)
    got = predict(s)
    assert ({"AML.T0015", "AML.T0043"} <= found(s, "m")) is evaded
    assert any("eve" in r for f in got.findings if f.technique_id == "AML.T0015" for r in f.reasons) is evaded
    if evaded:
        assert got.for_component("m").findings[0].technique_id  # the matcher has findings of its own
        reasons = [r for f in got.findings if f.technique_id == "AML.T0088" for r in f.reasons]
        assert reasons == ["m checks who someone is from their face, voice or documents; generated media can pass "
                           "as that person"]


@pytest.mark.parametrize("task", ["classification", "embedding"])
def test_a_face_or_voice_matcher_is_attacked_as_any_deciding_model_is(task):
    # every evasion route of a classifier holds for a matcher: its weights in a car (white-box), a stand-in
    # matcher (transfer), the scores its API returns (black-box), an attack built for it
    props = {"properties": {"verifies_identity": True, "edge": True}}
    s = behind_public_api({"task": task, "modality": "audio", **props}, "scores")
    assert {"AML.T0043.000", "AML.T0043.001", "AML.T0043.002", "AML.T0017.000"} <= found(s, "m")


CODE_ON_LOAD = {"AML.T0011.000", "AML.T0112.001", "AML.T0018.002", "AML.T0076", "AML.T0050"}


@pytest.mark.parametrize(("where", "runs_code"), [
    ({"source": "huggingface"}, True), ({"trained_by": "open-source"}, True),
    ({"source": "vendor", "trained_by": "vendor"}, False), ({"trained_by": "us"}, False)])
def test_a_checked_hash_of_a_hub_file_proves_only_who_published_it(where, runs_code):
    s = system([{"id": "m", "kind": "model", "task": "classification", "artifact_format": "torch", "signed": True,
                 **where}])
    assert (CODE_ON_LOAD <= found(s, "m")) is runs_code
    assert bool(CODE_ON_LOAD & found(s, "m")) is runs_code
    if runs_code:  # the check is still shown held
        unsafe = next(f for f in predict(s).findings if f.technique_id == "AML.T0011.000")
        assert {m.id for m in unsafe.mitigations if m.in_place} >= {"AML.M0014"}
    unsigned = system([{"id": "m", "kind": "model", "task": "classification", "artifact_format": "torch",
                        "signed": False, **where}])
    assert CODE_ON_LOAD <= found(unsigned, "m")


def test_a_checked_weight_file_clears_no_container_image_swapped_in_its_registry():
    s = system([{"id": "m", "kind": "model", "task": "classification", "artifact_format": "onnx", "signed": True,
                 "properties": {"container_image": True}}])
    registry = next(f for f in predict(s).findings if f.technique_id == "AML.T0010.004")
    assert "AML.M0014" not in {m.id for m in registry.mitigations}
    assert "AML.T0010.004" in {f.technique_id for f in gate(build(s, k=0).prediction, "possible")}


@pytest.mark.parametrize(("model", "inferred"), [
    ({"trained_by": "vendor", "artifact_format": "hosted"}, False),
    ({"trained_by": "vendor", "fine_tuned": True}, True),  # fine-tuned on ours: our data can be tested for
    ({"trained_by": "us"}, True)])
def test_membership_of_training_data_is_ours_to_fear_only_where_we_trained(model, inferred):
    thief = {"id": "eve", "kind": "adversary", "goals": ["steal-data"], "access": ["query"]}
    s = behind_public_api({"task": "generation", "modality": "text", **model}, "text", thief)
    reasons = [r for f in predict(s).findings if f.technique_id == "AML.T0024.000" for r in f.reasons]
    assert any(r.startswith("eve wants the data m learned from") for r in reasons) is inferred


WAITING = {"AML.T0051.002", "AML.T0080.001"}


@pytest.mark.parametrize(("feed", "outsiders"), [
    ({"from": "docs", "to": "lookup", "trusted": True}, False),
    # not said trusted, but a store only our staff write from our own material: no outsider's text, as when the
    # agent reads the store itself
    ({"from": "docs", "to": "lookup"}, False),
    ({"from": "forum", "to": "lookup"}, True),  # a store the public writes, over a flow not said trusted
    (None, True)])  # fed by nothing described: what it reads is unknown
def test_a_tool_fed_only_by_trusted_flows_carries_no_outsiders_text(feed, outsiders):
    s = system([{"id": "staff", "kind": "external", "actor": "user"},
                {"id": "ui", "kind": "service", "audience": "internal", "authentication": "oauth", "returns": "text"},
                {"id": "agent", "kind": "llm-app", "tools": ["lookup"], "autonomy": "autonomous",
                 "memory": "session"},
                {"id": "lookup", "kind": "tool", "side_effects": "read", "browses": False},
                {"id": "docs", "kind": "retrieval-store", "writers": "internal", "sources": ["collected"]},
                {"id": "forum", "kind": "retrieval-store", "writers": "public"}],
               [{"from": "staff", "to": "ui"}, {"from": "ui", "to": "agent"}, {"from": "agent", "to": "ui"},
                *([feed] if feed else [])])
    got = predict(s)
    assert (WAITING <= found(s, "agent")) is outsiders
    assert bool(WAITING & found(s, "agent")) is outsiders
    hidden = [r for f in got.findings if f.technique_id == "AML.T0068" for r in f.reasons]
    assert any("hidden text or metadata" in r for r in hidden) is outsiders


@pytest.mark.parametrize(("store", "waits"), [({"writers": "internal", "sources": ["collected"]}, False),
                                              ({"writers": "public"}, True), ({}, True)])
def test_instructions_wait_in_stored_content_only_where_outsiders_could_put_them(store, waits):
    s = system([{"id": "staff", "kind": "external", "actor": "user"},
                {"id": "ui", "kind": "service", "audience": "internal", "authentication": "oauth", "returns": "text"},
                {"id": "app", "kind": "llm-app"}, {"id": "kb", "kind": "retrieval-store", **store}],
               [{"from": "staff", "to": "ui"}, {"from": "ui", "to": "app"}, {"from": "kb", "to": "app"}])
    assert ("AML.T0094" in found(s, "app")) is waits


@pytest.mark.parametrize(("trusted", "poisoned"), [(False, True), (True, False)])
def test_a_model_retrained_on_logged_public_traffic_can_be_poisoned_through_it(trusted, poisoned):
    s = system([{"id": "visitors", "kind": "external", "actor": "internet"},
                {"id": "clicks", "kind": "service", "audience": "public", "returns": "none"},
                {"id": "m", "kind": "model", "task": "classification", "trained_by": "us"},
                {"id": "logs", "kind": "dataset", "source": "collected", "writers": "internal",
                 "used_for": ["training"]}],
               [{"from": "visitors", "to": "clicks"}, {"from": "clicks", "to": "m"},
                {"from": "clicks", "to": "logs", "trusted": trusted}, {"from": "logs", "to": "m"}])
    assert ("AML.T0020" in found(s, "m")) is poisoned
    if poisoned:
        assert [f.reason for f in predict(s).findings if f.technique_id == "AML.T0020"] == [
            "m learns from logs, data that parties outside the system can write or shape"]


def test_query_limits_go_only_where_queries_come_in():
    def advised(s: System, tid: str) -> dict[str, str]:
        finding = next(f for f in predict(s).findings if f.technique_id == tid and f.component == "m")
        return {m.id: m.component for m in finding.mitigations}

    camera = [{"id": "road", "kind": "external", "actor": "other"},
              {"id": "m", "kind": "model", "task": "detection", "modality": "image", "trained_by": "us"},
              {"id": "uploader", "kind": "service", "audience": "internal", "returns": "none"},
              {"id": "clips", "kind": "dataset", "writers": "internal", "used_for": ["training"]}]
    flows = [{"from": "road", "to": "m"}, {"from": "road", "to": "uploader"}, {"from": "uploader", "to": "clips"},
             {"from": "clips", "to": "m"}]
    # a camera on the road sends no queries, and the clip uploader carries training data, not queries
    for tid in ("AML.T0043", "AML.T0042"):
        assert not {"AML.M0004", "AML.M0002"} & set(advised(system(camera, flows), tid))
    api = {"id": "api", "kind": "service", "audience": "public", "returns": "scores"}
    queried = system([*camera, {"id": "people", "kind": "external", "actor": "user"}, api],
                     [*flows, {"from": "people", "to": "api"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"}])
    assert advised(queried, "AML.T0043.001")["AML.M0004"] == "api"


def test_a_query_limit_does_not_clear_a_planted_trigger():
    s = system([{"id": "people", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "scores", "controls": ["AML.M0004"]},
                {"id": "m", "kind": "model", "task": "classification", "trained_by": "open-source"}],
               [{"from": "people", "to": "api"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"}])
    trigger = next(f for f in predict(s).findings if f.technique_id == "AML.T0043.004")
    assert not {"AML.M0004", "AML.M0002"} & {m.id for m in trigger.mitigations}
    crafted = next(f for f in predict(s).findings if f.technique_id == "AML.T0043.001")
    assert "AML.M0004" in {m.id for m in crafted.mitigations if m.in_place}


@pytest.mark.parametrize(("verifies", "probed"), [(True, True), (None, False)])
def test_a_voice_matcher_whose_verdict_callers_hear_can_be_probed_and_tried_out(verifies, probed):
    props = {} if verifies is None else {"properties": {"verifies_identity": verifies}}
    got = found(behind_public_api({"task": "embedding", "modality": "audio", **props}, "labels"), "m")
    assert ({"AML.T0042", "AML.T0043.003"} <= got) is probed


def test_a_model_we_trained_and_keep_on_a_hub_is_ours_to_maintain():
    ours = {"task": "generation", "modality": "text", "trained_by": "us", "source": "huggingface"}
    got = found(behind_public_api(ours, "text"), "m")
    assert not {"AML.T0109", "AML.T0111"} & got
    assert "AML.T0010.003" in got  # the hub account can still be taken over and the files swapped
    tuned = found(behind_public_api({**ours, "trained_by": "open-source", "fine_tuned": True}, "text"), "m")
    assert {"AML.T0109", "AML.T0111"} <= tuned


@pytest.mark.parametrize(("modality", "outputs", "injected"), [
    ("multimodal", ["text"], True), ("text", ["text"], True), ("text", None, True),
    ("image", ["text"], False),  # an image captioner takes no prompt
    ("text", ["image"], False)])  # a diffusion model has no instructions to set aside (it can still be jailbroken)
def test_a_generator_served_with_no_app_in_front_takes_instructions_where_it_takes_a_prompt(modality, outputs,
                                                                                            injected):
    # a vision-language API: the service is the application, and what users type (or write into an image) is
    # read as instructions, as it is argued with for a jailbreak
    model = {"task": "generation", "modality": modality, **({"outputs": outputs} if outputs else {})}
    got = found(behind_public_api(model, "text"), "m")
    assert ({"AML.T0051", "AML.T0051.000"} <= got) is injected, got
    assert ("AML.T0054" in got) is (modality != "image")


@pytest.mark.parametrize(("weights", "ours_to_lose"), [
    ({"trained_by": "vendor", "source": "vendor", "artifact_format": "safetensors"}, True),  # delivered files we run
    ({"trained_by": "vendor", "source": "vendor-api", "artifact_format": "hosted"}, False),  # vendor-held
    ({"trained_by": "open-source", "source": "huggingface", "artifact_format": "safetensors"}, False),  # public anyway
])
def test_weight_files_a_vendor_delivers_sit_on_our_servers_for_an_intruder_to_take(weights, ours_to_lose):
    got = found(behind_public_api({"task": "classification", "modality": "image", **weights}), "m")
    for tid in ("AML.T0007", "AML.T0025", "AML.T0035"):
        assert (tid in got) is ours_to_lose, tid


def test_a_mirrored_open_source_model_is_not_said_to_be_downloaded_from_a_hub():
    s = behind_public_api({"task": "classification", "modality": "text", "trained_by": "open-source",
                           "source": "internal", "artifact_format": "safetensors"})
    reasons = [r for f in predict(s).findings if f.component == "m" and f.technique_id in ("AML.T0058", "AML.T0010.003")
               for r in f.reasons]
    assert len(reasons) == 2 and not any("downloaded from a public hub" in r or "loaded from outside" in r
                                         for r in reasons), reasons
    assert all("source: internal" in r for r in reasons)


@pytest.mark.parametrize(("fmt", "runtime"), [("onnx", True), ("safetensors", True), ("gguf", True), ("joblib", True),
                                              ("hosted", False)])
def test_a_model_we_run_depends_on_third_party_ai_software_whatever_its_format(fmt, runtime):
    model = {"task": "classification", "modality": "tabular", "trained_by": "us", "source": "internal",
             "artifact_format": fmt}
    if fmt == "hosted":
        model.update(trained_by="vendor", source="vendor-api")
    assert ("AML.T0010.001" in found(behind_public_api(model), "m")) is runtime


def test_a_generator_behind_an_endpoint_that_answers_nothing_is_not_talked_to():
    # mail summarised by a hosted LLM: no one converses with it through a gateway that answers nothing
    got = found(behind_public_api({"task": "generation", "modality": "text", "trained_by": "vendor",
                                   "source": "vendor-api", "artifact_format": "hosted"}, "none"), "m")
    assert not {"AML.T0051.000", "AML.T0054"} & got, got


@pytest.mark.parametrize(("facts", "runs_code"), [
    ({"source": "huggingface", "trained_by": "open-source"}, True),
    ({"source": "internal", "trained_by": "us", "signed": True}, False)])
def test_a_gguf_files_chat_template_can_run_code_in_a_loader_as_a_pickle_can(facts, runs_code):
    got = found(behind_public_api({"task": "generation", "modality": "text", "artifact_format": "gguf", **facts},
                                  "text"), "m")
    assert ("AML.T0011.000" in got) is runs_code


@pytest.mark.parametrize(("facts", "reason"), [
    ({"trained_by": "open-source"}, "m is maintained by someone else who can change it after we trusted it"),
    ({"trained_by": "open-source", "fine_tuned": True, "base_model": "vit-base"},
     "m is tuned from a base model (vit-base) someone else maintains, who can change it before we pull it again"),
    ({"trained_by": "us", "fine_tuned": True, "base_model": "whisper-small"},
     "m is tuned from a base model (whisper-small) someone else maintains, who can change it before we pull it again"),
    ({"trained_by": "us", "fine_tuned": False}, None),  # ours, kept on a hub: its account is another finding's
])
def test_a_rug_pull_is_of_what_someone_else_maintains_not_of_the_model_we_tuned(facts, reason):
    s = behind_public_api({"task": "classification", "modality": "image", "source": "huggingface", **facts})
    got = [r for f in predict(s).findings if f.component == "m" and f.technique_id == "AML.T0109" for r in f.reasons]
    assert got == ([reason] if reason else [])


@pytest.mark.parametrize(("fields", "pulled_again"), [
    ({"trained_by": "open-source"}, True),  # used as published: a new revision is what we load next
    ({"trained_by": "open-source", "fine_tuned": True}, True),  # tuned from it: its base is pulled again to retune
    ({"trained_by": "us", "fine_tuned": True}, True),
    ({"trained_by": "us"}, False)])
def test_a_model_from_a_hub_changes_under_us_only_through_what_we_pull_again(fields, pulled_again):
    s = system([{"id": "m", "kind": "model", "task": "generation", "modality": "text", "source": "huggingface",
                 "base_model": "an open model", **fields}])
    reasons = [r for f in predict(s).findings if f.technique_id == "AML.T0109" for r in f.reasons]
    assert bool(reasons) is pulled_again
    if fields.get("fine_tuned"):
        assert all("tuned from a base model" in r for r in reasons), reasons


def test_an_update_feed_that_pushes_weights_is_no_public_product_to_read_about():
    s = system([{"id": "cdn", "kind": "service", "audience": "public", "returns": "none"},
                {"id": "m", "kind": "model", "task": "classification", "modality": "tabular", "trained_by": "us",
                 "properties": {"on_device": True}}],
               [{"from": "cdn", "to": "m", "trusted": True}])
    assert "AML.T0003" not in found(s, "cdn")
