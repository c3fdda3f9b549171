"""A control in front of a component guards it only from what passes through: a checked signature speaks
of the signed file, a guardrail in front of an app covers the ways people reach it, and a lookup fed only
over trusted flows from our own material is no way in that a filter must see."""

from __future__ import annotations

import pytest

from advmatrix.threatmodel import System
from advmatrix.threatmodel._placement import needs_answers
from advmatrix.threatmodel.predict import predict
from advmatrix.threatmodel.report import build as build_report
from advmatrix.threatmodel.report import report_markdown


def system(components, flows=()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


def held(s: System) -> dict[tuple[str, str, str], str | None]:
    """(component, technique, mitigation) -> where it is in place (None: missing)."""
    return {(f.component, f.technique_id, m.id): m.in_place_at for f in predict(s).findings for m in f.mitigations}


def test_a_signed_model_in_front_verifies_no_other_models_weights():
    # an OCR model whose file is checked before loading feeds a vendor's hosted LLM: the check is of the OCR
    # model's file, not of the LLM's supply chain
    s = system([{"id": "people", "kind": "external", "actor": "user"},
                {"id": "portal", "kind": "service", "audience": "public", "authentication": "oauth",
                 "returns": "labels"},
                {"id": "ocr", "kind": "model", "task": "generation", "modality": "image", "outputs": ["text"],
                 "trained_by": "vendor", "source": "vendor", "artifact_format": "onnx", "signed": True},
                {"id": "app", "kind": "llm-app", "system_prompt": True},
                {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "vendor",
                 "source": "vendor-api", "artifact_format": "hosted"}],
               [{"from": "people", "to": "portal"}, {"from": "portal", "to": "ocr"}, {"from": "ocr", "to": "app"},
                {"from": "app", "to": "llm"}, {"from": "llm", "to": "app"}])
    got = held(s)
    assert got[("ocr", "AML.T0010", "AML.M0014")] == "ocr"
    # and the vendor's hosted LLM has no file here to check at all: neither check is advised for it (listing
    # one on it is refused at load), rather than shown as missing forever
    llm = {k: v for k, v in got.items() if k[0] == "llm" and k[2] in ("AML.M0014", "AML.M0013")}
    assert not llm, llm
    assert ("llm", "AML.T0010") in {k[:2] for k in got}


def test_a_hub_that_scans_what_it_hands_out_checks_the_files_that_come_through_it():
    s = system([{"id": "hub", "kind": "external", "actor": "vendor", "controls": ["AML.M0016"]},
                {"id": "m", "kind": "model", "task": "generation", "modality": "text", "trained_by": "open-source",
                 "source": "huggingface", "artifact_format": "pickle"}],
               [{"from": "hub", "to": "m"}])
    assert held(s)[("m", "AML.T0011.000", "AML.M0016")] == "hub"
    # the same scan held by a model is a scan of that model's own file
    s = system([{"id": "scanned", "kind": "model", "task": "classification", "controls": ["AML.M0016"]},
                *s.model_dump(mode="json", exclude_none=True)["components"][1:]], [{"from": "scanned", "to": "m"}])
    assert held(s)[("m", "AML.T0011.000", "AML.M0016")] is None


def tutor(*, lookup_flow_trusted: bool) -> System:
    return system([{"id": "children", "kind": "external", "actor": "user"},
                   {"id": "web", "kind": "service", "audience": "public", "authentication": "oauth",
                    "returns": "text"},
                   {"id": "moderation", "kind": "model", "task": "classification", "modality": "text",
                    "controls": ["AML.M0020"]},
                   {"id": "tutor", "kind": "llm-app", "system_prompt": True, "tools": ["search"]},
                   {"id": "search", "kind": "tool", "side_effects": "read", "source": "first-party",
                    "sensitive": False},
                   {"id": "lessons", "kind": "retrieval-store", "writers": "internal", "sources": ["collected"]}],
                  [{"from": "children", "to": "web"}, {"from": "web", "to": "moderation"},
                   {"from": "moderation", "to": "tutor"}, {"from": "tutor", "to": "web"},
                   {"from": "web", "to": "children"},
                   {"from": "lessons", "to": "search", "trusted": lookup_flow_trusted}])


def test_a_guardrail_in_front_covers_an_app_whose_lookup_reads_only_trusted_material():
    got = held(tutor(lookup_flow_trusted=True))
    direct = got[("tutor", "AML.T0051.000", "AML.M0020")]
    assert direct == "moderation"
    # the same lookup over a flow not said trusted is a way in the guardrail does not see: for what the tutor
    # is steered to do by what it reads (tool use), not for what a child types, which every message brings
    # past the guardrail
    untrusted = held(tutor(lookup_flow_trusted=False))
    assert untrusted[("tutor", "AML.T0053", "AML.M0020")] is None
    assert untrusted[("tutor", "AML.T0051.000", "AML.M0020")] == "moderation"


def drone(camera_fed_by: str) -> System:
    return system([{"id": "scene", "kind": "external", "actor": camera_fed_by},
                   {"id": "camera", "kind": "service", "audience": "internal", "authentication": "none",
                    "returns": "none"},
                   {"id": "detector", "kind": "model", "task": "detection", "modality": "image", "trained_by": "us"},
                   {"id": "autopilot", "kind": "service", "audience": "internal", "returns": "none"}],
                  [{"from": "scene", "to": "camera"}, {"from": "camera", "to": "detector"},
                   {"from": "detector", "to": "autopilot"}])


def test_a_camera_feed_only_the_scene_sends_to_is_no_place_for_query_controls():
    query_controls = {"AML.M0004", "AML.M0002"}
    got = {k[2] for k in held(drone("other")) if k[0] == "detector"}
    assert not query_controls & got
    # a camera people point things at through an app (actor user) is queried through it; it answers
    # nothing, so there are queries to limit but no outputs to blur
    user = {k[2] for k in held(drone("user")) if k[0] == "detector"}
    assert "AML.M0004" in user and "AML.M0002" not in user


def test_a_signature_checks_a_file_after_signing_not_what_the_weights_learned():
    s = system([{"id": "m", "kind": "model", "task": "classification", "trained_by": "open-source",
                 "source": "huggingface", "artifact_format": "torch", "signed": True},
                {"id": "scraped", "kind": "dataset", "source": "scraped", "writers": "public",
                 "used_for": ["fine-tuning"]}],
               [{"from": "scraped", "to": "m"}])
    got = held(s)
    assert got[("m", "AML.T0018.001", "AML.M0013")] == "m"  # a layer added to the signed file is caught
    # poisoned weights are signed as they are: the signature is there, and stops nothing (not "could add")
    poisoning = next(f for f in predict(s).findings if f.technique_id == "AML.T0018.000")
    signing = next(m for m in poisoning.mitigations if m.id == "AML.M0013")
    assert signing.in_place and not signing.prevents and "signed as they are" in signing.idle
    assert not poisoning.mitigated


def test_a_checked_signature_stops_no_code_its_publisher_put_in_the_file():
    s = system([{"id": "m", "kind": "model", "task": "classification", "artifact_format": "pickle", "signed": True,
                 "source": "huggingface", "trained_by": "open-source"}])
    findings = {f.technique_id: f for f in predict(s).findings}
    # a file from a hub runs its publisher's code on load however well its signature is checked: the check
    # is held (shown in place), but it clears neither finding
    for technique in ("AML.T0011", "AML.T0011.000"):
        check = next(m for m in findings[technique].mitigations if m.id == "AML.M0014")
        assert check.in_place and not check.prevents and not findings[technique].mitigated
    scanned = predict(system([{**s.components[0].model_dump(mode="json", exclude_none=True),
                               "controls": ["AML.M0016"]}]))
    assert next(f for f in scanned.findings if f.technique_id == "AML.T0011.000").mitigated  # a scan still does
    # nor a backdoor its publisher trained into the weights: on a hub anyone may be that publisher, and the
    # hash only proves the file is theirs
    for technique in ("AML.T0010", "AML.T0010.003"):
        check = next(m for m in findings[technique].mitigations if m.id == "AML.M0014")
        assert check.in_place and not check.prevents and not findings[technique].mitigated
    # nor malware its publisher embedded in the file (audit Q: `--fail-on` cleared it on a hub pickle)
    check = next(m for m in findings["AML.T0018.002"].mitigations if m.id == "AML.M0013")
    assert check.in_place and not check.prevents and "publisher made" in check.idle
    # while a change made to our copy after the download is still caught
    check = next(m for m in findings["AML.T0018"].mitigations if m.id == "AML.M0013")
    assert check.in_place and check.prevents


def test_validating_a_model_stops_neither_the_crafting_of_inputs_against_it_nor_a_planted_trigger():
    s = system([{"id": "api", "kind": "service", "audience": "public", "returns": "scores"},
                {"id": "m", "kind": "model", "task": "classification", "modality": "tabular", "trained_by": "us",
                 "controls": ["AML.M0008"]},
                {"id": "feed", "kind": "dataset", "writers": "public", "used_for": ["training"]}],
               [{"from": "api", "to": "m"}, {"from": "feed", "to": "m"}])
    findings = {f.technique_id: f for f in predict(s).findings if f.component == "m"}
    crafting = [t for t in ("AML.T0043", "AML.T0043.001", "AML.T0043.002", "AML.T0043.003") if t in findings]
    assert crafting
    for technique in crafting:
        check = next(m for m in findings[technique].mitigations if m.id == "AML.M0008")
        assert check.in_place and not check.prevents and not findings[technique].mitigated, technique
    # a backdoor or a targeted poison is made to pass a validation set: five blind audits said so of the
    # release gates they drew (a benchmark, a golden set, a terminology suite)
    for technique in ("AML.T0043.004", "AML.T0020", "AML.T0018.000"):
        check = next(m for m in findings[technique].mitigations if m.id == "AML.M0008")
        assert check.in_place and not check.prevents and "made to pass" in check.idle, technique
        assert not findings[technique].mitigated


def test_limiting_a_models_release_is_advice_for_the_model_we_released_not_a_hub_download():
    hub = {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "open-source",
           "source": "huggingface", "artifact_format": "safetensors", "fine_tuned": False}
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "text"}, hub],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "llm"}])
    advised = {m.id for f in predict(s).findings for m in f.mitigations}
    assert "AML.M0001" not in advised
    tuned = system([*s.components[:2], {**hub, "fine_tuned": True}], s.flows)
    assert "AML.M0001" in {m.id for f in predict(tuned).findings for m in f.mitigations}


def test_a_control_written_where_no_finding_counts_it_is_said_once(cli, tmp_path):
    (tmp_path / "s.yaml").write_text("""name: t
components:
  - {id: partners, kind: external, actor: partner}
  - {id: api, kind: service, audience: partner, authentication: oauth, returns: text}
  - {id: analyst, kind: llm-app, tools: [run-sql], controls: [AML.M0020]}
  - {id: run-sql, kind: tool, side_effects: read, controls: [AML.M0027]}
flows:
  - {from: partners, to: api}
  - {from: api, to: analyst}
  - {from: analyst, to: api}
""")
    r = cli("threatmodel", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"))
    assert r.code == 0, r.err
    idle = [line for line in r.err.splitlines() if "no finding counts it there" in line]
    # the agent's permissions written on its tool: said, at the tool's line, naming where they are needed
    assert len(idle) == 1 and "s.yaml:6: component 'run-sql' lists AML.M0027" in idle[0], r.err
    assert "needs it on analyst" in idle[0]
    # written in block style, the warning names the line of the controls themselves
    (tmp_path / "b.yaml").write_text((tmp_path / "s.yaml").read_text().replace(
        "  - {id: run-sql, kind: tool, side_effects: read, controls: [AML.M0027]}\n",
        "  - id: run-sql\n    kind: tool\n    side_effects: read\n    controls: [AML.M0027]\n"))
    r = cli("threatmodel", str(tmp_path / "b.yaml"), "--paths", "0")
    assert "b.yaml:9: component 'run-sql' lists AML.M0027" in r.err, r.err


def test_poisoning_a_model_through_its_data_is_stopped_where_the_data_are_checked():
    s = system([{"id": "labels", "kind": "dataset", "writers": "public", "used_for": ["training"],
                 "controls": ["AML.M0007", "AML.M0025"]},
                {"id": "clf", "kind": "model", "task": "classification", "trained_by": "us"}],
               [{"from": "labels", "to": "clf"}])
    got = held(s)
    for mid in ("AML.M0007", "AML.M0025"):
        assert got[("clf", "AML.T0018.000", mid)] == "labels"
        assert got[("clf", "AML.T0020", mid)] == "labels"


def test_query_controls_go_where_outsiders_queries_come_in_not_on_an_internal_batch_job():
    s = system([{"id": "pool", "kind": "dataset", "writers": "internal", "used_for": ["evaluation"]},
                {"id": "selector", "kind": "service", "audience": "internal", "returns": "scores"},
                {"id": "teams", "kind": "external", "actor": "user"},
                {"id": "classify", "kind": "service", "audience": "public", "returns": "scores"},
                {"id": "clf", "kind": "model", "task": "classification", "modality": "image"}],
               [{"from": "pool", "to": "selector", "trusted": True}, {"from": "selector", "to": "clf"},
                {"from": "teams", "to": "classify"}, {"from": "classify", "to": "clf"}])
    places = {(k[1], k[2]): next(m.component for f in predict(s).findings if f.component == "clf"
                                 and f.technique_id == k[1] for m in f.mitigations if m.id == k[2])
              for k in held(s) if k[0] == "clf" and k[2] in ("AML.M0004", "AML.M0002")}
    assert places and set(places.values()) == {"classify"}, places


def test_outputs_are_blurred_only_where_a_service_hands_some_back():
    def scribe(returns):
        return system([{"id": "patients", "kind": "external", "actor": "user"},
                       {"id": "recorder", "kind": "service", "audience": "public", "returns": returns},
                       {"id": "stt", "kind": "model", "task": "speech-recognition", "modality": "audio"}],
                      [{"from": "patients", "to": "recorder"}, {"from": "recorder", "to": "stt"}])
    offered = {k[2] for k in held(scribe("none")) if k[0] == "stt"}
    assert "AML.M0002" not in offered and "AML.M0004" in offered  # a limit on queries still fits
    assert "AML.M0002" in {k[2] for k in held(scribe("text")) if k[0] == "stt"}


@pytest.mark.parametrize(("actor", "refused"), [("internet", True), ("user", True), (None, True),
                                                ("vendor", False), ("partner", False)])
def test_only_a_partner_or_a_vendor_runs_controls_outside_the_system(actor, refused):
    from advmatrix.errors import FormatError
    from advmatrix.threatmodel import load_system_text

    who = f", actor: {actor}" if actor else ""
    text = ("name: t\ncomponents:\n"
            f"  - {{id: outside, kind: external{who}, controls: [AML.M0004]}}\n"
            "  - {id: api, kind: service, audience: public}\n")
    if not refused:
        assert load_system_text(text, "s.yaml").component("outside").controls == ("AML.M0004",)
        return
    with pytest.raises(FormatError, match=r"s\.yaml:3: components\[0\]\.controls: an outside party that is not a "
                                          r"partner or a vendor .* runs none of your controls \(AML\.M0004\)"):
        load_system_text(text, "s.yaml")


def test_a_guardrail_still_guards_what_it_hands_on_over_a_trusted_flow():
    s = system([{"id": "people", "kind": "external", "actor": "user"},
                {"id": "web", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "guard", "kind": "model", "task": "classification", "controls": ["AML.M0020"]},
                {"id": "bot", "kind": "llm-app", "system_prompt": True}],
               [{"from": "people", "to": "web"}, {"from": "web", "to": "guard"},
                {"from": "guard", "to": "bot", "trusted": True}, {"from": "bot", "to": "web"}])
    assert held(s)[("bot", "AML.T0062", "AML.M0020")] == "guard"


@pytest.mark.parametrize("spelling", [{"rate_limited": True}, {"controls": ["AML.M0004"]}])
def test_an_adversarys_finding_counts_a_control_however_the_component_states_it(spelling):
    # rate_limited: true is documented as AML.M0004 in place: it must count wherever an adversary's finding
    # looks for it, as the same control in `controls` does
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "authentication": "api-key",
                 "returns": "labels", **spelling},
                {"id": "m", "kind": "model", "task": "classification", "modality": "image"},
                {"id": "attacker", "kind": "adversary", "actor": "criminal", "goals": ["disrupt"],
                 "access": ["query"]}],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}])
    got = held(s)
    assert got[("attacker", "AML.T0029", "AML.M0004")] == "api"


def test_a_models_own_file_check_stops_no_adversarys_delivery_of_other_files():
    # the exception that stays: a model's checked signature speaks of its own file, in either spelling
    for spelling in ({"signed": True}, {"controls": ["AML.M0014"]}):
        s = system([{"id": "m", "kind": "model", "task": "classification", "modality": "image",
                     "artifact_format": "pickle", **spelling},
                    {"id": "attacker", "kind": "adversary", "actor": "criminal", "goals": ["disrupt"],
                     "access": ["supply-chain"]}])
        on_attacker = {k: v for k, v in held(s).items() if k[0] == "attacker" and k[2] == "AML.M0014"}
        assert all(v is None for v in on_attacker.values()), (spelling, on_attacker)


def test_a_model_that_is_a_control_guards_what_lies_behind_it_not_itself():
    # a deepfake detector lists AML.M0034 as the docs say (it is that control): evading the detector is not
    # stopped by the detector, while the face matcher behind it is shielded by it
    s = system([{"id": "media", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "partner", "authentication": "api-key",
                 "returns": "scores"},
                {"id": "detector", "kind": "model", "task": "classification", "modality": "image",
                 "controls": ["AML.M0034"]},
                {"id": "matcher", "kind": "model", "task": "embedding", "modality": "image",
                 "properties": {"verifies_identity": True}}],
               [{"from": "media", "to": "api"}, {"from": "api", "to": "detector"},
                {"from": "detector", "to": "matcher"}])
    got = held(s)
    assert got[("detector", "AML.T0015", "AML.M0034")] is None
    assert got[("matcher", "AML.T0015", "AML.M0034")] == "detector"


def test_a_model_fed_only_its_training_data_is_no_way_around_the_api_in_front():
    # a voice encoder trained on uploaded samples feeds the generator: no query starts at the encoder, so the
    # rate limit and the logging on the one API every query passes are in place for the generator
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "authentication": "api-key",
                 "returns": "audio", "rate_limited": True, "controls": ["AML.M0024"]},
                {"id": "enc", "kind": "model", "task": "embedding", "modality": "audio", "trained_by": "us"},
                {"id": "gen", "kind": "model", "task": "generation", "modality": "text", "outputs": ["audio"],
                 "trained_by": "us"},
                {"id": "samples", "kind": "dataset", "source": "user-submitted", "writers": "public",
                 "used_for": ["training"]}],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "gen"}, {"from": "gen", "to": "api"},
                {"from": "api", "to": "users"}, {"from": "api", "to": "samples"}, {"from": "samples", "to": "enc"},
                {"from": "enc", "to": "gen"}])
    got = held(s)
    assert got[("gen", "AML.T0024.002", "AML.M0004")] == "api"
    assert got[("gen", "AML.T0024.002", "AML.M0024")] == "api"


def test_an_adversarys_query_limit_goes_where_queries_reach_a_model_not_on_a_service_its_verdicts_go_to():
    # an insider who would flood a line-stopping anomaly detector: a query limit on the service that only
    # receives the detector's verdicts throttles nothing the detector is sent
    parts = [{"id": "sensors", "kind": "service", "audience": "internal", "authentication": "mtls", "returns": "none"},
             {"id": "model", "kind": "model", "task": "anomaly-detection", "modality": "tabular", "trained_by": "us"},
             {"id": "line-stop", "kind": "service", "audience": "internal", "authentication": "mtls",
              "returns": "labels", "controls": ["AML.M0004"]},
             {"id": "saboteur", "kind": "adversary", "actor": "insider", "goals": ["disrupt"], "access": ["network"]}]
    flows = [{"from": "sensors", "to": "model", "trusted": True}, {"from": "model", "to": "line-stop"}]
    advice = {(f.technique_id, m.id): m for f in predict(system(parts, flows)).findings
              if f.component == "saboteur" for m in f.mitigations}
    limit = advice[("AML.T0029", "AML.M0004")]
    assert (limit.component, limit.in_place) == ("sensors", False)


@pytest.mark.parametrize(("where", "advised"), [({}, False), ({"on_device": True}, True), ({"edge": True}, True)])
def test_serving_from_the_cloud_is_advised_only_for_a_model_that_is_shipped(where, advised):
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "m", "kind": "model", "task": "classification", "modality": "image", "trained_by": "us",
                 "artifact_format": "onnx", "properties": where}],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}])
    offered = {k[1] for k in held(s) if k[0] == "m" and k[2] == "AML.M0017"}
    assert bool(offered) is advised, offered


def test_multi_modal_sensors_are_not_advised_for_a_generator_whose_outputs_only_train_a_voice_model():
    # a text-to-speech model's callers upload voice samples that train an audio encoder: the encoder senses
    # audio, but it is reached through training data, not behind the generator at inference time
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "audio"},
                {"id": "gen", "kind": "model", "task": "generation", "modality": "text", "outputs": ["audio"],
                 "trained_by": "us"},
                {"id": "samples", "kind": "dataset", "source": "user-submitted", "writers": "public",
                 "used_for": ["training"]},
                {"id": "enc", "kind": "model", "task": "embedding", "modality": "audio", "trained_by": "us"}],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "gen"}, {"from": "gen", "to": "api"},
                {"from": "api", "to": "users"}, {"from": "api", "to": "samples"}, {"from": "samples", "to": "enc"},
                {"from": "enc", "to": "gen"}])
    assert not {k for k in held(s) if k[0] == "gen" and k[2] == "AML.M0009"}


def test_getting_past_a_deepfake_detector_means_generating_deepfakes():
    def detector(controls):
        return system([{"id": "media", "kind": "external", "actor": "user"},
                       {"id": "api", "kind": "service", "audience": "partner", "returns": "scores"},
                       {"id": "detector", "kind": "model", "task": "classification", "modality": "multimodal",
                        "controls": controls}],
                      [{"from": "media", "to": "api"}, {"from": "api", "to": "detector"}])
    assert "AML.T0088" in {k[1] for k in held(detector(["AML.M0034"])) if k[0] == "detector"}
    assert not [f for f in predict(detector([])).findings if f.technique_id == "AML.T0088"]


@pytest.mark.parametrize("deliverer", [
    {"id": "hub", "kind": "external", "actor": "vendor", "controls": ["AML.M0016"]},
    {"id": "registry", "kind": "service", "audience": "internal", "returns": "none", "controls": ["AML.M0016"]}])
def test_a_hub_or_registry_checks_the_file_it_delivers_though_queries_reach_the_model_another_way(deliverer):
    # users' queries through the API carry no weights: they are no way around the scan of the file
    s = system([deliverer, {"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "m", "kind": "model", "task": "generation", "modality": "text", "trained_by": "open-source",
                 "source": "huggingface", "artifact_format": "pickle"}],
               [{"from": deliverer["id"], "to": "m"}, {"from": "users", "to": "api"}, {"from": "api", "to": "m"}])
    assert held(s)[("m", "AML.T0011.000", "AML.M0016")] == deliverer["id"]
    # a second, unchecked delivery leaves the file unchecked
    other = {"id": "mirror", "kind": "external", "actor": "partner"}
    s = system([deliverer, other, *s.model_dump(mode="json", exclude_none=True)["components"][1:]],
               [{"from": deliverer["id"], "to": "m"}, {"from": "mirror", "to": "m"}, {"from": "users", "to": "api"},
                {"from": "api", "to": "m"}])
    assert held(s)[("m", "AML.T0011.000", "AML.M0016")] is None


def test_an_update_service_that_pushes_weights_is_no_way_to_query_a_drones_own_camera_model():
    s = system([{"id": "world", "kind": "external", "actor": "other"},
                {"id": "camera-feed", "kind": "service", "audience": "internal", "returns": "none"},
                {"id": "detector", "kind": "model", "task": "detection", "modality": "image", "trained_by": "us",
                 "properties": {"edge": True}},
                {"id": "fleet-ota", "kind": "service", "audience": "internal", "authentication": "mtls",
                 "returns": "none"}],
               [{"from": "world", "to": "camera-feed"}, {"from": "camera-feed", "to": "detector"},
                {"from": "fleet-ota", "to": "detector"}])
    assert not {k for k in held(s) if k[0] == "detector" and k[2] == "AML.M0004"}


def test_a_voice_matcher_with_liveness_built_in_counts_it_for_itself():
    s = system([{"id": "callers", "kind": "external", "actor": "user"},
                {"id": "ivr", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "voice-id", "kind": "model", "task": "embedding", "modality": "audio",
                 "controls": ["AML.M0034"], "properties": {"verifies_identity": True}}],
               [{"from": "callers", "to": "ivr"}, {"from": "ivr", "to": "voice-id"}])
    assert held(s)[("voice-id", "AML.T0015", "AML.M0034")] == "voice-id"


def test_deepfake_detection_and_sensors_go_where_media_is_read_not_on_a_model_reading_transcripts():
    s = system([{"id": "callers", "kind": "external", "actor": "user"},
                {"id": "ivr", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "asr", "kind": "model", "task": "speech-recognition", "modality": "audio", "outputs": ["text"]},
                {"id": "intent", "kind": "model", "task": "classification", "modality": "text"}],
               [{"from": "callers", "to": "ivr"}, {"from": "ivr", "to": "asr"}, {"from": "asr", "to": "intent"}])
    offered = {(k[0], k[2]) for k in held(s)}
    assert ("asr", "AML.M0034") in offered or ("asr", "AML.M0009") in offered
    assert not {("intent", "AML.M0034"), ("intent", "AML.M0009")} & offered


def test_limiting_what_is_published_is_advised_only_for_a_model_we_made():
    def model(**facts):
        return system([{"id": "users", "kind": "external", "actor": "user"},
                       {"id": "api", "kind": "service", "audience": "public", "returns": "text"},
                       {"id": "m", "kind": "model", "task": "generation", "modality": "text", **facts}],
                      [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"}])
    vendor = predict(model(trained_by="vendor", source="vendor-api", artifact_format="hosted"))
    research = [f for f in vendor.findings if f.component == "m" and f.technique_id == "AML.T0000"]
    assert research and not any(m.id == "AML.M0000" for m in research[0].mitigations)
    # what we say about our own product is still ours to limit
    assert any(m.id == "AML.M0000" for f in vendor.findings if f.component == "api" for m in f.mitigations)


@pytest.mark.parametrize(("props", "faked"), [
    ({"physical": True}, False),  # it sees only the scene in front of its own camera
    ({"edge": True}, False),
    ({"physical": True, "verifies_identity": True}, True),  # a face shown on a screen is still checked
    ({"physical": False}, True),  # photos people send it: a generated one is one more upload
])
def test_an_impersonator_has_no_digital_fake_to_feed_a_camera_that_checks_no_identity(props, faked):
    s = system([{"id": "floor", "kind": "external", "actor": "other"},
                {"id": "vision", "kind": "model", "task": "detection", "modality": "image", "properties": props},
                {"id": "thief", "kind": "adversary", "actor": "criminal", "goals": ["fraud", "impersonate"],
                 "access": ["physical", "query"]}],
               [{"from": "floor", "to": "vision"}])
    assert ("vision" in {f.component for f in predict(s).findings if f.technique_id == "AML.T0088"}) is faked


@pytest.mark.parametrize(("behind_generator", "faked"), [(True, False), (False, True)])
def test_an_impersonator_fakes_media_for_a_model_outsiders_send_it_to_not_a_filter_of_our_own_images(
        behind_generator, faked):
    gen = [{"id": "gen", "kind": "model", "task": "generation", "modality": "text", "outputs": ["image"]}]
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "filter", "kind": "model", "task": "classification", "modality": "image"},
                {"id": "abuser", "kind": "adversary", "actor": "criminal", "goals": ["impersonate"],
                 "access": ["query"]}, *(gen if behind_generator else [])],
               [{"from": "users", "to": "api"},
                *([{"from": "api", "to": "gen"}, {"from": "gen", "to": "filter"}] if behind_generator
                  else [{"from": "api", "to": "filter"}])])
    got = [r for f in predict(s).findings if f.component == "filter" and f.technique_id == "AML.T0088"
           for r in f.reasons]
    assert any("abuser can fake" in r for r in got) is faked, got


@pytest.mark.parametrize(("filtered", "held_at"), [(True, "nsfw"), (False, None)])
def test_a_guardrail_after_a_generator_checks_everything_it_writes(filtered, held_at):
    # a text-to-image API whose every image passes an NSFW classifier before it leaves: jailbreaking the
    # generator gets nothing out unchecked
    comps = [{"id": "users", "kind": "external", "actor": "user"},
             {"id": "api", "kind": "service", "audience": "public", "returns": "text"},
             {"id": "gen", "kind": "model", "task": "generation", "modality": "text", "outputs": ["image"]},
             {"id": "nsfw", "kind": "model", "task": "classification", "modality": "image",
              "controls": ["AML.M0020"]}]
    flows = [{"from": "users", "to": "api"}, {"from": "api", "to": "gen"}, {"from": "gen", "to": "nsfw"},
             {"from": "nsfw", "to": "api"}]
    if not filtered:  # a second way out, around the filter
        flows.append({"from": "gen", "to": "api"})
    assert held(system(comps, flows))[("gen", "AML.T0054", "AML.M0020")] == held_at


def test_outputs_are_not_blurred_for_a_model_whose_app_answers_no_one():
    s = system([{"id": "people", "kind": "external", "actor": "user"},
                {"id": "upload", "kind": "service", "audience": "public", "authentication": "oauth", "returns": "none"},
                {"id": "app", "kind": "llm-app", "memory": "none"},
                {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "vendor",
                 "source": "vendor-api", "artifact_format": "hosted"}],
               [{"from": "people", "to": "upload"}, {"from": "upload", "to": "app"}, {"from": "app", "to": "llm"},
                {"from": "llm", "to": "app"}])
    assert not {k for k in held(s) if k[2] == "AML.M0002"}


def test_a_query_limit_written_on_the_data_set_a_model_learns_from_is_said_to_count_for_nothing(cli, tmp_path):
    (tmp_path / "s.yaml").write_text("""name: t
components:
  - {id: users, kind: external, actor: user}
  - {id: api, kind: service, audience: public, returns: labels}
  - {id: clf, kind: model, task: classification, modality: image, trained_by: us}
  - id: ds
    kind: dataset
    used_for: [training]
    controls: [AML.M0004]
flows:
  - {from: users, to: api}
  - {from: api, to: clf}
  - {from: ds, to: clf}
""")
    r = cli("threatmodel", str(tmp_path / "s.yaml"), "--paths", "0")
    assert r.code == 0, r.err
    assert "s.yaml:9: component 'ds' lists AML.M0004 in controls, but no finding counts it there" in r.err, r.err
    assert "needs it on api (and " in r.err and " more findings like it)" in r.err, r.err


def test_an_update_service_is_no_place_for_query_controls_of_a_model_people_talk_to_directly():
    # an in-car speech model hears the occupants directly; the over-the-air service only pushes its weights
    s = system([{"id": "occupants", "kind": "external", "actor": "user"},
                {"id": "asr", "kind": "model", "task": "speech-recognition", "modality": "audio", "outputs": ["text"],
                 "trained_by": "us", "properties": {"edge": True}},
                {"id": "ota", "kind": "service", "audience": "internal", "authentication": "mtls", "returns": "none"}],
               [{"from": "occupants", "to": "asr"}, {"from": "ota", "to": "asr"}])
    placed = {(f.technique_id, m.id): m.component for f in predict(s).findings for m in f.mitigations}
    assert ("AML.T0043", "AML.M0004") in placed
    assert not {k for k, where in placed.items() if where == "ota"}, placed


def test_a_client_on_the_attackers_own_machine_is_no_place_to_limit_queries_to_a_model_there():
    # an antivirus agent and its classifier both run on the endpoint: a quota in software the attacker holds
    s = system([{"id": "user", "kind": "external", "actor": "user"},
                {"id": "agent", "kind": "service", "audience": "public", "returns": "labels", "open_signup": True,
                 "properties": {"on_device": True}},
                {"id": "clf", "kind": "model", "task": "classification", "modality": "tabular",
                 "properties": {"on_device": True}}],
               [{"from": "user", "to": "agent"}, {"from": "agent", "to": "clf"}, {"from": "clf", "to": "agent"},
                {"from": "agent", "to": "user"}])
    offered = {(f.component, m.id, m.component) for f in predict(s).findings for m in f.mitigations}
    assert not {o for o in offered if o[0] == "clf" and o[1] in ("AML.M0004", "AML.M0002")}, offered
    # nor does a CDN that only pushes the model file to the app bring one
    cdn = {"id": "cdn", "kind": "service", "audience": "public", "returns": "none"}
    s = system([*s.model_dump(mode="json", exclude_none=True)["components"], cdn],
               [*s.model_dump(mode="json", exclude_none=True, by_alias=True)["flows"], {"from": "cdn", "to": "agent"}])
    offered = {(f.component, m.id, m.component) for f in predict(s).findings for m in f.mitigations}
    assert not {o for o in offered if o[0] == "clf" and o[1] in ("AML.M0004", "AML.M0002")}, offered


@pytest.mark.parametrize("both", [True, False])
def test_an_adversarys_theft_is_not_all_clear_while_a_part_it_would_steal_lacks_the_control(both):
    # access control at rest on one of two sensitive data sets stops no theft of the other
    def data(i, guarded):
        return {"id": f"d{i}", "kind": "dataset", "sensitive": True, "used_for": "training",
                **({"controls": ["AML.M0005"]} if guarded else {})}
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "scores"},
                {"id": "m", "kind": "model", "task": "classification", "modality": "tabular", "trained_by": "us",
                 "artifact_format": "onnx", "controls": ["AML.M0005"]},
                data(1, True), data(2, both),
                {"id": "thief", "kind": "adversary", "actor": "criminal", "goals": ["steal-data"],
                 "access": ["network"]}],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"},
                {"from": "d1", "to": "m"}, {"from": "d2", "to": "m"}])
    got = predict(s)
    system_lacks = {f.component for f in got.findings if f.component != "thief"
                    for m in f.mitigations if m.id == "AML.M0005" and not m.in_place}
    theft = [m for f in got.findings if f.component == "thief" for m in f.mitigations if m.id == "AML.M0005"]
    assert theft, "the adversary's finding advises access control at rest"
    assert (system_lacks == set()) is both
    assert all(m.in_place is both for m in theft), theft
    if not both:
        assert {m.component for m in theft} <= system_lacks


def test_a_public_cdn_that_only_pushes_the_model_file_takes_no_floods_chaff_or_bills():
    s = system([{"id": "people", "kind": "external", "actor": "user"},
                {"id": "app", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "clf", "kind": "model", "task": "classification", "modality": "image"},
                {"id": "cdn", "kind": "service", "audience": "public", "authentication": "none", "returns": "none"}],
               [{"from": "people", "to": "app"}, {"from": "app", "to": "clf"}, {"from": "clf", "to": "app"},
                {"from": "cdn", "to": "app", "data": "model file"}])
    on = {(f.component, f.technique_id) for f in predict(s).findings}
    assert {("app", "AML.T0029"), ("app", "AML.T0046")} <= on  # the API people send images to
    assert not {t for c, t in on if c == "cdn"} & {"AML.T0029", "AML.T0034", "AML.T0034.000", "AML.T0046"}, on


def test_a_control_held_where_it_was_advised_is_advised_on_the_way_in_that_lacks_it():
    # the storefront rate-limits; the scraper that feeds the model from rivals' pages beside it does not
    s = system([{"id": "shoppers", "kind": "external", "actor": "user"},
                {"id": "rivals", "kind": "external", "actor": "internet"},
                {"id": "store", "kind": "service", "audience": "public", "returns": "scores", "rate_limited": True},
                {"id": "scraper", "kind": "service", "audience": "internal", "returns": "none"},
                {"id": "pricing", "kind": "model", "task": "regression", "modality": "tabular", "trained_by": "us"}],
               [{"from": "shoppers", "to": "store"}, {"from": "store", "to": "pricing"},
                {"from": "pricing", "to": "store"}, {"from": "rivals", "to": "scraper"},
                {"from": "scraper", "to": "pricing"}])
    limits = {f.technique_id: m for f in predict(s).findings if f.component == "pricing" for m in f.mitigations
              if m.id == "AML.M0004"}
    crafted = {t: m for t, m in limits.items() if not needs_answers(t)}
    assert crafted and all(not m.in_place and m.component == "scraper" for m in crafted.values()), crafted
    # but the scraper hands the rivals no answer: against copying the model from its replies, the limit holds
    answered = {t: m for t, m in limits.items() if needs_answers(t)}
    assert answered and all(m.in_place_at == "store" for m in answered.values()), answered


def test_sanitising_training_data_goes_on_the_training_set_not_the_documents_a_model_ranks():
    # a ranker reads the day's applications and learns from the applicant-tracking history
    s = system([{"id": "applicants", "kind": "external", "actor": "user"},
                {"id": "applications", "kind": "dataset", "used_for": "retrieval", "writers": "public"},
                {"id": "site", "kind": "service", "audience": "public", "returns": "none"},
                {"id": "history", "kind": "dataset", "used_for": "training", "writers": "internal"},
                {"id": "ranker", "kind": "model", "task": "ranking", "modality": "text", "source": "huggingface",
                 "fine_tuned": True}],  # a hub's model, poisoned there or by what it is tuned on
               [{"from": "applicants", "to": "site"}, {"from": "site", "to": "applications"},
                {"from": "applications", "to": "ranker"}, {"from": "history", "to": "ranker"}])
    placed = {m.component for f in predict(s).findings if f.component == "ranker"
              for m in f.mitigations if m.id in ("AML.M0007", "AML.M0025")}
    assert placed == {"history"}, placed
    # and held there, it is in place
    held = System.model_validate({**s.model_dump(mode="json", exclude_none=True, by_alias=True), "components": [
        {**c, "controls": ["AML.M0007"]} if c["id"] == "history" else c
        for c in s.model_dump(mode="json", exclude_none=True, by_alias=True)["components"]]})
    sanitised = [m for f in predict(held).findings if f.component == "ranker" for m in f.mitigations
                 if m.id == "AML.M0007"]
    assert sanitised and all(m.in_place and m.in_place_at == "history" for m in sanitised), sanitised


def test_a_query_limit_written_on_the_store_an_agent_reads_is_said_to_count_for_nothing(cli, tmp_path):
    (tmp_path / "s.yaml").write_text("""\
name: hr
components:
  - {id: staff, kind: external, actor: user}
  - {id: portal, kind: service, audience: internal, authentication: oauth, returns: text}
  - {id: bot, kind: llm-app, system_prompt: true, tools: [lookup]}
  - {id: lookup, kind: tool, side_effects: read}
  - id: policies
    kind: retrieval-store
    writers: internal
    controls: [AML.M0004]
flows:
  - {from: staff, to: portal}
  - {from: portal, to: bot}
  - {from: bot, to: portal}
  - {from: policies, to: bot}
""")
    r = cli("threatmodel", str(tmp_path / "s.yaml"), "--paths", "0")
    assert r.code == 0, r.err
    assert "s.yaml:10: component 'policies' lists AML.M0004 in controls, but no finding counts it there" in r.err, r.err


def test_a_malicious_link_in_a_reply_is_not_answered_with_checks_of_model_files():
    s = system([{"id": "u", "kind": "external", "actor": "user"},
                {"id": "app", "kind": "llm-app", "renders_markdown": True}],
               [{"from": "u", "to": "app"}, {"from": "app", "to": "u"}])
    advised = {m for (c, t, m) in held(s) if (c, t) == ("app", "AML.T0011.003")}
    assert advised == {"AML.M0018"}  # people taught to doubt links; nothing that checks a file they never load


def test_work_on_weights_in_hand_is_not_answered_with_query_controls():
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "scores", "rate_limited": True},
                {"id": "m", "kind": "model", "task": "classification", "modality": "image", "trained_by": "us",
                 "base_model": "resnet-50", "source": "huggingface", "fine_tuned": True}],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"}])
    got = held(s)
    # white-box optimisation and a downloaded stand-in ask our model nothing: a query limit does not stop them
    for technique in ("AML.T0043.000", "AML.T0005.002"):
        assert not {m for (c, t, m) in got if (c, t) == ("m", technique)} & {"AML.M0004", "AML.M0002"}
    assert got[("m", "AML.T0005.001", "AML.M0004")] == "api"  # copying it through its replies does


def test_a_models_training_data_controls_go_on_the_data_it_learns_from_not_another_models():
    # one API asks two models; the stored attempts retrain the liveness model only
    s = system([{"id": "applicants", "kind": "external", "actor": "user"},
                {"id": "kyc-api", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "liveness", "kind": "model", "task": "classification", "modality": "image", "trained_by": "us"},
                {"id": "face-match", "kind": "model", "task": "classification", "modality": "image",
                 "trained_by": "open-source", "source": "huggingface"},
                {"id": "attempts", "kind": "dataset", "source": "user-submitted", "writers": "public",
                 "used_for": ["fine-tuning"]}],
               [{"from": "applicants", "to": "kyc-api"}, {"from": "kyc-api", "to": "applicants"},
                *({"from": "kyc-api", "to": m} for m in ("liveness", "face-match")),
                *({"from": m, "to": "kyc-api"} for m in ("liveness", "face-match")),
                {"from": "kyc-api", "to": "attempts"}, {"from": "attempts", "to": "liveness"}])
    placed = {(f.component, f.technique_id, m.id): m.component for f in predict(s).findings for m in f.mitigations}
    assert placed[("liveness", "AML.T0018.000", "AML.M0007")] == "attempts"
    # the hub model learned nothing from the attempts: its own training, drawn nowhere, is where to look
    assert placed[("face-match", "AML.T0018.000", "AML.M0007")] == "face-match"


def test_deepfake_detection_in_a_verification_pipeline_stops_no_lure_sent_to_people():
    s = system([{"id": "applicants", "kind": "external", "actor": "user"},
                {"id": "kyc-api", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "liveness", "kind": "model", "task": "classification", "modality": "image", "trained_by": "us",
                 "properties": {"verifies_identity": True}, "controls": ["AML.M0034"]},
                {"id": "ring", "kind": "adversary", "actor": "criminal", "goals": ["impersonate", "fraud"],
                 "access": ["query"]}],
               [{"from": "applicants", "to": "kyc-api"}, {"from": "kyc-api", "to": "liveness"},
                {"from": "liveness", "to": "kyc-api"}, {"from": "kyc-api", "to": "applicants"}])
    got = held(s)
    phishing = {t for (c, t, m) in got if c == "ring" and m == "AML.M0034" and t.startswith("AML.T0052")}
    assert phishing and all(got[("ring", t, "AML.M0034")] is None for t in phishing)
    assert got[("liveness", "AML.T0088", "AML.M0034")] == "liveness"  # the fakes it is shown are its to catch


def test_a_deepfake_detector_is_not_told_to_borrow_one_from_the_model_beside_it():
    # one API asks a liveness model (the deepfake detector) and a face matcher
    s = system([{"id": "applicants", "kind": "external", "actor": "user"},
                {"id": "kyc-api", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "liveness", "kind": "model", "task": "classification", "modality": "image",
                 "controls": ["AML.M0034"]},
                {"id": "face-match", "kind": "model", "task": "embedding", "modality": "image",
                 "properties": {"verifies_identity": True}}],
               [{"from": "applicants", "to": "kyc-api"}, {"from": "kyc-api", "to": "applicants"},
                *({"from": "kyc-api", "to": m} for m in ("liveness", "face-match")),
                *({"from": m, "to": "kyc-api"} for m in ("liveness", "face-match"))])
    placed = {(f.component, f.technique_id, m.id): m.component for f in predict(s).findings for m in f.mitigations}
    assert placed[("liveness", "AML.T0015", "AML.M0034")] == "liveness"


def test_an_endpoint_that_answers_nothing_is_no_way_around_the_query_limit():
    # sellers post listing features straight to the ranker through a portal that hands nothing back
    s = system([{"id": "shoppers", "kind": "external", "actor": "user"},
                {"id": "website", "kind": "service", "audience": "public", "returns": "scores", "rate_limited": True},
                {"id": "sellers", "kind": "external", "actor": "partner"},
                {"id": "portal", "kind": "service", "audience": "partner", "returns": "none"},
                {"id": "ranker", "kind": "model", "task": "ranking", "modality": "tabular", "trained_by": "us"}],
               [{"from": "shoppers", "to": "website"}, {"from": "website", "to": "ranker"},
                {"from": "ranker", "to": "website"}, {"from": "website", "to": "shoppers"},
                {"from": "sellers", "to": "portal"}, {"from": "portal", "to": "ranker"}])
    got = held(s)
    assert got[("ranker", "AML.T0024.002", "AML.M0004")] == "website"


def test_a_limit_held_on_each_api_is_said_held_where_it_is_placed():
    s = system([{"id": "shoppers", "kind": "external", "actor": "user"},
                {"id": "affiliates", "kind": "external", "actor": "partner"},
                {"id": "website", "kind": "service", "audience": "public", "returns": "labels", "rate_limited": True},
                {"id": "partner-api", "kind": "service", "audience": "partner", "returns": "scores",
                 "rate_limited": True},
                {"id": "ranker", "kind": "model", "task": "ranking", "modality": "tabular", "trained_by": "us"}],
               [{"from": "shoppers", "to": "website"}, {"from": "website", "to": "ranker"},
                {"from": "ranker", "to": "website"}, {"from": "website", "to": "shoppers"},
                {"from": "affiliates", "to": "partner-api"}, {"from": "partner-api", "to": "ranker"},
                {"from": "ranker", "to": "partner-api"}, {"from": "partner-api", "to": "affiliates"}])
    limits = {f.technique_id: m for f in predict(s).findings if f.component == "ranker" for m in f.mitigations
              if m.id == "AML.M0004"}
    # leaking through scores names the partner API alone: its own limit is the one in place there
    assert limits["AML.T0024"].component == "partner-api"
    assert all(m.in_place and m.in_place_at == m.component for m in limits.values()), limits


def test_controls_around_a_vendors_hosted_model_go_in_our_app_that_calls_it():
    s = system([{"id": "staff", "kind": "external", "actor": "user"},
                {"id": "app", "kind": "llm-app", "system_prompt": True},
                {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "vendor",
                 "source": "vendor-api", "artifact_format": "hosted"}],
               [{"from": "staff", "to": "app"}, {"from": "app", "to": "staff"}, {"from": "app", "to": "llm"},
                {"from": "llm", "to": "app"}])
    placed = {(f.component, m.id): m.component for f in predict(s).findings for m in f.mitigations}
    around = {k: v for k, v in placed.items() if k[0] == "llm" and k[1] in ("AML.M0020", "AML.M0006")}
    assert around and set(around.values()) == {"app"}, around


def test_a_vendors_hosted_model_is_not_told_to_harden_itself_or_hold_back_its_files():
    s = system([{"id": "staff", "kind": "external", "actor": "user"},
                {"id": "app", "kind": "llm-app", "system_prompt": True},
                {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "vendor",
                 "source": "vendor-api", "artifact_format": "hosted"},
                {"id": "spy", "kind": "adversary", "actor": "competitor", "goals": ["steal-model", "evade"],
                 "access": ["query"], "knowledge": "black-box"}],
               [{"from": "staff", "to": "app"}, {"from": "app", "to": "staff"}, {"from": "app", "to": "llm"},
                {"from": "llm", "to": "app"}])
    on_llm = {m for (c, _, m) in held(s) if c == "llm"}
    assert on_llm and not {"AML.M0003", "AML.M0001"} & on_llm  # the vendor's to do, not ours
    placed = {(f.component, m.id): m.component for f in predict(s).findings for m in f.mitigations}
    assert all(where == "app" for (c, m), where in placed.items() if c == "llm" and m == "AML.M0010")


def test_output_guardrails_do_not_stand_against_a_tampered_framework_or_container():
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "app", "kind": "llm-app", "controls": ["AML.M0020"]},
                {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "us",
                 "artifact_format": "safetensors", "properties": {"container_image": True}}],
               [{"from": "users", "to": "app"}, {"from": "app", "to": "users"}, {"from": "app", "to": "llm"},
                {"from": "llm", "to": "app"}])
    got = held(s)
    assert not {t for (c, t, m) in got if c == "llm" and m == "AML.M0020"} & {"AML.T0010.001", "AML.T0010.004"}


def test_a_checked_hash_of_our_copy_does_not_stop_anyone_downloading_the_public_model():
    s = system([{"id": "m", "kind": "model", "task": "classification", "modality": "image", "trained_by": "open-source",
                 "source": "huggingface", "artifact_format": "safetensors", "signed": True},
                {"id": "spy", "kind": "adversary", "actor": "criminal", "goals": ["evade"], "access": ["public"],
                 "knowledge": "gray-box"}])
    check = [m for f in predict(s).findings if f.technique_id == "AML.T0002.001" for m in f.mitigations
             if m.id == "AML.M0014"]
    assert check and all(not m.prevents for m in check)


def test_a_model_a_vendor_trained_is_not_ours_to_retrain_harden_or_clean():
    s = system([{"id": "pacs", "kind": "service", "audience": "internal", "returns": "labels"},
                {"id": "triage", "kind": "model", "task": "classification", "modality": "image",
                 "trained_by": "vendor", "source": "vendor", "artifact_format": "onnx"}],
               [{"from": "pacs", "to": "triage"}, {"from": "triage", "to": "pacs"}])
    on_model = {(t, m) for (c, t, m) in held(s) if c == "triage"}
    assert any(t == "AML.T0018.000" for t, _ in on_model)
    assert not {m for _, m in on_model} & {"AML.M0003", "AML.M0007", "AML.M0025", "AML.M0001"}, on_model


def test_no_query_control_goes_in_software_on_the_attackers_own_machine():
    # an endpoint agent on customers' PCs asks the cloud model about unknown files
    s = system([{"id": "pcs", "kind": "external", "actor": "user"},
                {"id": "agent", "kind": "service", "audience": "public", "returns": "labels",
                 "properties": {"on_device": True}},
                {"id": "reputation-api", "kind": "service", "audience": "public", "returns": "scores",
                 "rate_limited": True},
                {"id": "cloud-model", "kind": "model", "task": "classification", "modality": "tabular",
                 "trained_by": "us"}],
               [{"from": "pcs", "to": "agent"}, {"from": "agent", "to": "pcs"},
                {"from": "agent", "to": "reputation-api"}, {"from": "reputation-api", "to": "agent"},
                {"from": "reputation-api", "to": "cloud-model"}, {"from": "cloud-model", "to": "reputation-api"}])
    advice = [m for f in predict(s).findings if f.component == "cloud-model" for m in f.mitigations
              if m.id in ("AML.M0002", "AML.M0004")]
    assert advice and all(m.component == "reputation-api" and "agent" not in m.also_on for m in advice), advice


def test_query_controls_go_on_the_public_door_not_on_the_internal_endpoint_behind_the_app():
    # visitors chat through a public API; the bot calls our own model server, which only it reaches
    s = system([{"id": "visitors", "kind": "external", "actor": "user"},
                {"id": "chat-api", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "bot", "kind": "llm-app", "system_prompt": True},
                {"id": "llm-serving", "kind": "service", "audience": "internal", "returns": "text"},
                {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "us"},
                {"id": "tickets", "kind": "dataset", "used_for": ["fine-tuning"], "writers": "internal",
                 "sensitive": True}],
               [{"from": "visitors", "to": "chat-api"}, {"from": "chat-api", "to": "visitors"},
                {"from": "chat-api", "to": "bot"}, {"from": "bot", "to": "chat-api"},
                {"from": "bot", "to": "llm-serving"}, {"from": "llm-serving", "to": "bot"},
                {"from": "llm-serving", "to": "llm"}, {"from": "llm", "to": "llm-serving"},
                {"from": "tickets", "to": "llm"}])
    places = {m.component for f in predict(s).findings if f.component == "llm" for m in f.mitigations
              if m.id in ("AML.M0004", "AML.M0002")}
    assert places == {"chat-api"}, places


def test_training_data_controls_belong_to_data_preparation_whichever_finding_asks():
    s = system([{"id": "feedback", "kind": "dataset", "writers": "public", "used_for": ["training"]},
                {"id": "m", "kind": "model", "task": "classification", "modality": "text", "trained_by": "us"}],
               [{"from": "feedback", "to": "m"}])
    stages = {(f.technique_id, m.stage) for f in predict(s).findings for m in f.mitigations if m.id == "AML.M0007"}
    assert {t for t, _ in stages} >= {"AML.T0059", "AML.T0020"} and {st for _, st in stages} == {"Data Preparation"}


def test_a_guardrail_in_front_of_a_sub_agent_holds_though_an_unguarded_one_calls_the_same_model():
    # the knowledge agent reads the open forum with no guard; the billing agent is reached only through the
    # planner's guardrail. Both call one vendor endpoint, which answers each alone: the forum's text does not
    # come back through it to the billing agent.
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "chat", "kind": "service", "audience": "public", "authentication": "oauth", "returns": "text"},
                {"id": "planner", "kind": "llm-app", "tools": ["billing", "knowledge"], "controls": ["AML.M0020"]},
                {"id": "billing", "kind": "llm-app", "tools": ["refund"]},
                {"id": "knowledge", "kind": "llm-app"},
                {"id": "refund", "kind": "tool", "side_effects": "write"},
                {"id": "forum", "kind": "external", "actor": "internet"},
                {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "vendor",
                 "source": "vendor-api", "artifact_format": "hosted"}],
               [{"from": "users", "to": "chat"}, {"from": "chat", "to": "planner"}, {"from": "planner", "to": "chat"},
                {"from": "forum", "to": "knowledge"},
                *({"from": a, "to": "llm"} for a in ("planner", "billing", "knowledge")),
                *({"from": "llm", "to": a} for a in ("planner", "billing", "knowledge"))])
    assert held(s)[("billing", "AML.T0051.000", "AML.M0020")] == "planner"
    # where the forum's text does reach the billing agent unguarded, the planner's guardrail is no longer its
    fed = system(list(s.components), [*s.flows, {"from": "forum", "to": "billing"}])
    assert held(fed)[("billing", "AML.T0051.000", "AML.M0020")] is None


def test_wrapping_controls_for_a_vendors_speech_api_go_where_the_audio_passes_not_on_the_app_reading_the_text():
    s = system([{"id": "floor", "kind": "external", "actor": "user"},
                {"id": "terminal", "kind": "service", "audience": "internal", "returns": "text"},
                {"id": "asr", "kind": "model", "task": "speech-recognition", "modality": "audio",
                 "trained_by": "vendor", "source": "vendor-api", "artifact_format": "hosted"},
                {"id": "planner", "kind": "llm-app"}],
               [{"from": "floor", "to": "terminal"}, {"from": "terminal", "to": "asr"},
                {"from": "asr", "to": "planner"}, {"from": "planner", "to": "terminal"}])
    placed = {(m.id, m.component) for f in predict(s).findings
              if (f.component, f.technique_id) == ("asr", "AML.T0015") for m in f.mitigations}
    assert {("AML.M0010", "terminal"), ("AML.M0015", "terminal")} <= placed
    assert not any(where == "planner" for _, where in placed)


def test_multi_modal_sensors_are_no_advice_for_a_model_of_uploaded_images():
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "clf", "kind": "model", "task": "classification", "modality": "image", "trained_by": "us",
                 "properties": {"physical": False}}],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "clf"}])
    assert "AML.M0009" not in {m.id for f in predict(s).findings for m in f.mitigations}
    camera = system([*s.components[:2], {**s.components[2].model_dump(mode="json", exclude_none=True),
                                         "properties": {"physical": True}}], s.flows)
    assert "AML.M0009" in {m.id for f in predict(camera).findings for m in f.mitigations}


def test_a_vendors_signature_on_its_weight_file_does_not_stop_a_compromised_vendor():
    s = system([{"id": "m", "kind": "model", "task": "classification", "modality": "audio", "trained_by": "vendor",
                 "source": "vendor", "artifact_format": "onnx", "signed": True}])
    findings = {f.technique_id: f for f in predict(s).findings}
    for technique in ("AML.T0010", "AML.T0010.003"):
        check = next(m for m in findings[technique].mitigations if m.id == "AML.M0014")
        assert check.in_place and not check.prevents and not findings[technique].mitigated


def test_a_per_caller_quota_where_anyone_can_sign_up_is_held_but_stops_no_query_attack():
    """Accounts are free to open: an extractor spreads its queries over as many as it needs (AML.T0021 beside)."""
    def build(signup):
        return system([{"id": "internet", "kind": "external", "actor": "user"},
                       {"id": "api", "kind": "service", "audience": "public", "authentication": "api-key",
                        "returns": "scores", "rate_limited": True, "open_signup": signup},
                       {"id": "m", "kind": "model", "task": "classification", "modality": "tabular",
                        "trained_by": "us"}],
                      [{"from": "internet", "to": "api"}, {"from": "api", "to": "m"}])

    def quotas(s):
        return {(f.component, f.technique_id): next(m for m in f.mitigations if m.id == "AML.M0004")
                for f in predict(s).findings if any(m.id == "AML.M0004" for m in f.mitigations)}

    farmed, vetted = quotas(build(True)), quotas(build(False))
    assert ("m", "AML.T0024.002") in farmed  # theft by queries, the quota's own case
    assert all(q.in_place and not q.prevents and "anyone can open accounts on api" in q.idle for q in farmed.values())
    # and says what would (audits S, T: "none to adopt" left the user no action against the bill)
    assert all("per payment method or device, or vet sign-ups" in q.idle for q in farmed.values())
    assert all(q.in_place and q.prevents and not q.idle for q in vetted.values())
    assert quotas(build(None)) and all(q.prevents for q in quotas(build(None)).values())  # unstated: as said
    # a limit per address where callers need no account at all is no stronger than one per free account
    anonymous = build(None).model_copy(update={"components": tuple(
        c.model_copy(update={"authentication": "none"}) if c.id == "api" else c for c in build(None).components)})
    assert all(not q.prevents and "no account" in q.idle and "per payment method or device" in q.idle
               for q in quotas(anonymous).values())
    md = report_markdown(build_report(build(True)))
    assert "(held, does not stop this: anyone can open accounts on api" in md
    # field names in the reason are escaped once in Markdown, and not at all in HTML (audit Z: open\\\_signup)
    assert "(open\\_signup: false)" in md and "open\\\\" not in md
    from advmatrix.threatmodel.report import report_html
    html = report_html(build_report(build(True)))
    assert "(open_signup: false)" in html and "open\\_signup" not in html


def test_instructions_in_the_prompt_are_what_an_injection_overrides():
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "app", "kind": "llm-app", "system_prompt": True, "controls": ["AML.M0021"],
                 "tools": ["trade"], "autonomy": "autonomous"},
                {"id": "trade", "kind": "tool", "side_effects": "write", "sensitive": True}],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "app"}, {"from": "app", "to": "api"}])
    findings = {f.technique_id: f for f in predict(s).findings if f.component == "app"}
    assert "AML.T0053" in findings
    # nor what a steered app then does with its tools or its data (two more audits: a trading agent, a voicebot)
    for technique in ("AML.T0051.000", "AML.T0054", "AML.T0053", "AML.T0057"):
        if technique not in findings:
            continue
        guideline = next(m for m in findings[technique].mitigations if m.id == "AML.M0021")
        assert guideline.in_place and not guideline.prevents and "override" in guideline.idle
        assert not findings[technique].mitigated, technique
    # nor the prompt that talks it into repeating its instructions, which is one more such override (audits P,
    # R and S: credited there and idle against the injection, the guideline read as two things at once)
    leak = next(m for m in findings["AML.T0056"].mitigations if m.id == "AML.M0021")
    assert leak.in_place and not leak.prevents and "override" in leak.idle
    assert not findings["AML.T0056"].mitigated



def test_knowing_where_each_record_came_from_stops_no_poison_where_anyone_may_send_one():
    def reported(writers):
        # scraped by us (a snapshot whose hashes provenance keeps), or sent in by anyone
        return system([{"id": "reports", "kind": "dataset", "writers": writers, "used_for": ["training"],
                        "source": "scraped", "controls": ["AML.M0025"]},
                       {"id": "clf", "kind": "model", "task": "classification", "modality": "text",
                        "trained_by": "us"}],
                      [{"from": "reports", "to": "clf"}])
    for writers, stops in (("public", False), ("internal", True)):
        poisoning = [m for f in predict(reported(writers)).findings if f.technique_id == "AML.T0020"
                     for m in f.mitigations if m.id == "AML.M0025"]
        assert poisoning and all(m.in_place and m.prevents is stops for m in poisoning), writers


def test_validating_a_model_finds_no_layer_added_to_pass_it():
    # an architectural backdoor is made to keep the model's accuracy on held-out data, as a poison is
    s = system([{"id": "m", "kind": "model", "task": "segmentation", "modality": "image", "trained_by": "us",
                 "artifact_format": "onnx", "controls": ["AML.M0008"]},
                {"id": "insider", "kind": "adversary", "actor": "insider", "goals": ["manipulate"],
                 "access": ["supply-chain"]}])
    found = [m for f in predict(s).findings if f.component == "m" and f.technique_id == "AML.T0018.001"
             for m in f.mitigations if m.id == "AML.M0008"]
    assert found and all(m.in_place and not m.prevents and "validation set" in m.idle for m in found)


def test_access_control_admits_whoever_may_open_an_account_and_whoever_holds_one():
    """Who may query is checked at the door: where anyone can sign up, or callers need no account, the
    adversary is let in as any caller; an adversary that holds an account (or works inside) is let in too."""
    def build(signup, access=("query",), audience="public"):
        return system([{"id": "internet", "kind": "external", "actor": "user"},
                       {"id": "api", "kind": "service", "audience": audience, "authentication": "oauth",
                        "returns": "scores", "open_signup": signup, "controls": ["AML.M0019"]},
                       {"id": "m", "kind": "model", "task": "classification", "modality": "tabular",
                        "trained_by": "us"},
                       {"id": "fraudster", "kind": "adversary", "actor": "criminal", "goals": ["evade"],
                        "access": list(access)}],
                      [{"from": "internet", "to": "api"}, {"from": "api", "to": "m"}])

    def admits(s, component):
        return [m for f in predict(s).findings if f.component == component for m in f.mitigations
                if m.id == "AML.M0019" and m.in_place]

    open_, vetted = admits(build(True), "m"), admits(build(False), "m")
    assert open_ and all(not m.prevents and "anyone can open accounts on api" in m.idle for m in open_)
    assert vetted and all(m.prevents and not m.idle for m in vetted)
    # a vetted partner door still lets in the adversary the description says holds an account there
    member = admits(build(False, ("account",), audience="partner"), "m")
    assert member and all(not m.prevents and "fraudster holds an account" in m.idle for m in member), member


@pytest.mark.parametrize(("approver", "senders", "stops"), [
    ("requester", "public", False),  # whoever asks approves: an adversary typing to it approves its own calls
    ("staff", "public", True),  # a reviewer who did not ask
    (None, "public", True),  # unstated: as before, a person approves
    ("requester", "trusted", True)])  # our own staff over a trusted flow are not the adversary
def test_approval_by_the_one_who_asked_stops_no_adversary_who_asks(approver, senders, stops):
    app = {"id": "agent", "kind": "llm-app", "system_prompt": True, "tools": ["transfer"],
           "autonomy": "human-approval", **({"approver": approver} if approver else {})}
    s = system([{"id": "people", "kind": "external", "actor": "user"},
                {"id": "chat", "kind": "service", "audience": "public" if senders == "public" else "internal",
                 "authentication": "oauth", "returns": "text"},
                app, {"id": "transfer", "kind": "tool", "side_effects": "write", "sensitive": True}],
               [{"from": "people", "to": "chat", "trusted": senders == "trusted"}, {"from": "chat", "to": "agent"},
                {"from": "agent", "to": "chat"}, {"from": "chat", "to": "people"}])
    approvals = [m for f in predict(s).findings if f.component == "agent" and f.technique_id == "AML.T0053"
                 for m in f.mitigations if m.id == "AML.M0029"]
    assert approvals and all(m.in_place for m in approvals)
    assert all(m.prevents is stops for m in approvals), approvals
    if not stops:
        assert all("approves" in m.idle for m in approvals)


@pytest.mark.parametrize(("access", "stops"), [(["content"], True), (["query"], False), (["content", "query"], False)])
def test_approval_by_the_one_who_asked_stops_an_adversary_who_only_plants_content(access, stops):
    # the people who ask the agent approve its calls; an adversary who only writes the pages it reads asks
    # nothing, so the asker's confirmation is what stops the action their text calls for (audit X)
    s = system([{"id": "people", "kind": "external", "actor": "user"},
                {"id": "chat", "kind": "service", "audience": "public", "authentication": "oauth", "returns": "text"},
                {"id": "agent", "kind": "llm-app", "system_prompt": True, "tools": ["transfer", "web"],
                 "autonomy": "human-approval", "approver": "requester"},
                {"id": "transfer", "kind": "tool", "side_effects": "write", "sensitive": True},
                {"id": "web", "kind": "tool", "side_effects": "read", "browses": True},
                {"id": "crook", "kind": "adversary", "actor": "criminal", "goals": ["fraud"], "access": access}],
               [{"from": "people", "to": "chat"}, {"from": "chat", "to": "agent"},
                {"from": "agent", "to": "chat"}, {"from": "chat", "to": "people"}])
    approvals = [m for f in predict(s).findings if f.component == "agent" and f.technique_id == "AML.T0053"
                 for m in f.mitigations if m.id == "AML.M0029"]
    assert approvals and all(m.in_place for m in approvals)
    assert all(m.prevents is stops for m in approvals), approvals


@pytest.mark.parametrize(("per_user", "held"), [(True, True), (None, False)])
def test_a_tool_that_reads_only_the_askers_own_records_has_its_permissions_set(per_user, held):
    # a refund tool capped and bound to the asker's orders, beside an order lookup that reads only the asker's
    # own: tool permissions are set on every tool the finding names (audit K)
    lookup = {"id": "orders", "kind": "tool", "side_effects": "read", "sensitive": True,
              **({"per_user": per_user} if per_user else {})}
    s = system([{"id": "customers", "kind": "external", "actor": "user"},
                {"id": "chat", "kind": "service", "audience": "public", "authentication": "oauth", "returns": "text"},
                {"id": "bot", "kind": "llm-app", "system_prompt": True, "tools": ["orders", "refund"]},
                lookup, {"id": "refund", "kind": "tool", "side_effects": "write", "controls": ["AML.M0028"]}],
               [{"from": "customers", "to": "chat"}, {"from": "chat", "to": "bot"}, {"from": "bot", "to": "chat"},
                {"from": "chat", "to": "customers"}])
    permissions = {f.technique_id: m for f in predict(s).findings if f.component == "bot"
                   for m in f.mitigations if m.id == "AML.M0028"}
    # what it is made to do through its tools is checked where they act: the capped refund tool holds it
    assert permissions["AML.T0053"].in_place
    # what it collects through them is limited where they read: by the lookup's own scope
    assert permissions["AML.T0085.001"].in_place is held, permissions


def test_a_registry_that_signs_the_weights_it_pushes_vouches_for_no_framework_or_training_data():
    # the update service signs each release of the weights: the runtime on the drone and the imagery the model
    # learns from come by other ways (audit L)
    s = system([{"id": "ota", "kind": "service", "audience": "internal", "authentication": "mtls",
                 "returns": "none", "controls": ["AML.M0013"]},
                {"id": "imagery", "kind": "dataset", "source": "collected", "writers": "partner",
                 "used_for": ["training"]},
                {"id": "m", "kind": "model", "task": "segmentation", "modality": "image", "trained_by": "us",
                 "artifact_format": "onnx", "properties": {"edge": True}},
                {"id": "tamperer", "kind": "adversary", "actor": "criminal", "goals": ["manipulate"],
                 "access": ["supply-chain"]}],
               [{"from": "ota", "to": "m", "trusted": True}, {"from": "imagery", "to": "m"}])
    got = held(s)
    assert got.get(("m", "AML.T0018", "AML.M0013")) == "ota"  # a changed weight file fails the check
    for technique in ("AML.T0010.001", "AML.T0020"):
        assert got.get(("m", technique, "AML.M0013")) is None, technique


def test_what_we_publish_about_our_tune_does_not_hide_the_public_base_it_came_from():
    # acquiring the public base of a hub model we tuned, or using it as a proxy: limiting what we publish, or
    # what of ours we release, keeps no one from downloading it (audit L)
    tuned = system([{"id": "users", "kind": "external", "actor": "user"},
                    {"id": "api", "kind": "service", "audience": "public", "returns": "scores"},
                    {"id": "m", "kind": "model", "task": "classification", "modality": "image",
                     "trained_by": "open-source", "source": "huggingface", "fine_tuned": True,
                     "base_model": "org/vit-base", "artifact_format": "safetensors"}],
                   [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"}])
    got = held(tuned)
    assert {"AML.T0002.001", "AML.T0005.002"} <= set(predict(tuned).technique_ids)
    base = {k for k in got if k[0] == "m" and k[1] in ("AML.T0002.001", "AML.T0005.002")}
    assert not {k for k in base if k[2] in ("AML.M0000", "AML.M0001")}, base


def test_checking_what_an_acting_tool_is_asked_to_do_needs_no_check_of_the_lookup_beside_it():
    # the robots' dispatch tool validates every task it is given; the stock lookup only reads (audit N)
    s = system([{"id": "staff", "kind": "external", "actor": "user"},
                {"id": "slack", "kind": "service", "audience": "internal", "authentication": "oauth",
                 "returns": "text", "controls": ["AML.M0019"]},
                {"id": "planner", "kind": "llm-app", "system_prompt": True, "tools": ["lookup", "dispatch"],
                 "autonomy": "autonomous"},
                {"id": "lookup", "kind": "tool", "side_effects": "read"},
                {"id": "dispatch", "kind": "tool", "side_effects": "write", "controls": ["AML.M0033"]}],
               [{"from": "staff", "to": "slack"}, {"from": "slack", "to": "planner"},
                {"from": "planner", "to": "slack"}, {"from": "slack", "to": "staff"}])
    found = {(f.technique_id, m.id): m for f in predict(s).findings if f.component == "planner"
             for m in f.mitigations}
    assert found[("AML.T0053", "AML.M0033")].in_place
    # the staff a sign-in admits are the ones who type to it: access control stops none of their prompts
    typed = found.get(("AML.T0051.000", "AML.M0019"))
    assert typed is None or not typed.prevents, typed


def test_a_prompt_filter_does_not_stand_against_a_backdoored_base_model():
    # the base model came from a hub: a backdoor trained into it answers as it was made to, past a filter made
    # for prompts (audit S: --fail-on cleared the supply-chain finding on the strength of the prompt filter)
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "app", "kind": "llm-app", "controls": ["AML.M0020"]},
                {"id": "gen", "kind": "model", "task": "generation", "modality": "text", "trained_by": "open-source",
                 "source": "huggingface", "artifact_format": "safetensors", "fine_tuned": True}],
               [{"from": "users", "to": "app"}, {"from": "app", "to": "users"}, {"from": "app", "to": "gen"},
                {"from": "gen", "to": "app"}])
    backdoor = [f for f in predict(s).findings if f.technique_id == "AML.T0010.003"]
    assert backdoor and not any(m.id == "AML.M0020" for f in backdoor for m in f.mitigations)
    assert ("gen", "AML.T0010", "AML.M0020") in held(s)  # the parent, which a guardrail may catch some of, keeps it


def test_no_lock_on_weights_anyone_can_download_against_attacks_that_only_read_them():
    # an unmodified open-source face model on an edge box: its weights are the hub's to hand out, so access
    # control at rest stops no white-box work or full access (audits P, S); a model we tuned is ours to lock
    def door(**model) -> System:
        return system([{"id": "cam", "kind": "external", "actor": "other"},
                       {"id": "face", "kind": "model", "task": "classification", "modality": "image",
                        "artifact_format": "onnx", "properties": {"edge": True, "verifies_identity": True}, **model},
                       {"id": "intruder", "kind": "adversary", "actor": "criminal", "goals": ["evade"],
                        "access": ["physical"], "knowledge": "white-box"}],
                      [{"from": "cam", "to": "face"}])
    reading = ("AML.T0044", "AML.T0043.000")
    public = {(t, m) for (c, t, m) in held(door(trained_by="open-source", source="huggingface")) if c == "face"}
    assert {t for t, _ in public} & set(reading)  # found...
    assert not {(t, m) for t, m in public if t in reading and m == "AML.M0005"}  # ...with no lock to advise
    ours = {(t, m) for (c, t, m) in held(door(trained_by="open-source", source="huggingface", fine_tuned=True))
            if c == "face"}
    assert {(t, "AML.M0005") for t in reading} & ours


def test_access_control_at_rest_stops_no_poison_that_arrives_by_the_flows_that_write_the_data():
    # patients' uploads reach the summaries the model is tuned on through the drafts staff sign: the writes
    # are ours, the words are theirs (audit Z); and a model file tampered before it reached us is loaded as it came
    s = system([{"id": "patients", "kind": "external", "actor": "user"},
                {"id": "portal", "kind": "service", "audience": "public", "authentication": "oauth", "returns": "none"},
                {"id": "drafter", "kind": "llm-app", "system_prompt": True},
                {"id": "summaries", "kind": "dataset", "writers": "internal", "sensitive": True,
                 "used_for": ["fine-tuning"], "controls": ["AML.M0005"]},
                {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "open-source",
                 "source": "huggingface", "fine_tuned": True, "artifact_format": "safetensors",
                 "controls": ["AML.M0005"]}],
               [{"from": "patients", "to": "portal"}, {"from": "portal", "to": "drafter"},
                {"from": "drafter", "to": "llm"}, {"from": "llm", "to": "drafter"},
                {"from": "drafter", "to": "summaries"}, {"from": "summaries", "to": "llm"}])
    rows = {(f.technique_id, m.id): m for f in predict(s).findings if f.component == "llm" for m in f.mitigations}
    poisoned = rows[("AML.T0020", "AML.M0005")]
    assert poisoned.in_place and not poisoned.prevents and "through the flows that write it" in poisoned.idle
    supplied = rows.get(("AML.T0010.003", "AML.M0005"))
    assert supplied is None or not supplied.prevents, supplied
    # weights tampered where they are kept are still its to stop
    assert any(m.prevents for (t, mid), m in rows.items() if mid == "AML.M0005" and t in ("AML.T0018", "AML.T0044",
                                                                                          "AML.T0035", "AML.T0025"))


@pytest.mark.parametrize(("auth", "signup", "stops"), [("none", None, False), ("oauth", True, False),
                                                       ("oauth", False, True)])
def test_access_control_on_a_model_reached_only_through_doors_anyone_passes_turns_no_one_away(auth, signup, stops):
    # a WAF classifier behind a public front end with no login: advising access control on the model itself
    # escaped what the front end's own control would say (audit Y: --fail-on asked for it there)
    front = {"id": "waf", "kind": "service", "audience": "public", "authentication": auth, "returns": "labels",
             **({"open_signup": signup} if signup is not None else {})}
    s = system([{"id": "internet", "kind": "external", "actor": "internet"}, front,
                {"id": "clf", "kind": "model", "task": "classification", "modality": "text", "trained_by": "us",
                 "controls": ["AML.M0019"]}],
               [{"from": "internet", "to": "waf"}, {"from": "waf", "to": "clf"}, {"from": "clf", "to": "waf"},
                {"from": "waf", "to": "internet"}])
    rows = [m for f in predict(s).findings if f.component == "clf" and f.technique_id.startswith("AML.T0043")
            for m in f.mitigations if m.id == "AML.M0019"]
    assert rows and all(m.in_place and m.prevents is stops for m in rows), rows
    if not stops:
        assert all("waf" in m.idle for m in rows)
