"""Controls for a model that makes media or speaks, and for one fed only by our own hands: deepfake detection
and sensors go where media is read, not on the generator whose every output is synthetic; people are trained
where our own users are the ones a lure reaches; a query limit goes where an adversary's queries can pass.
(Blind audit G: a text-to-speech API with voice cloning, an ultrasound scanner's on-board model.)"""

from __future__ import annotations

from advmatrix.threatmodel import System
from advmatrix.threatmodel.predict import predict


def system(components, flows=()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


def offered(s: System) -> dict[tuple[str, str, str], str]:
    """(component, technique, mitigation) -> the component it is advised on (or held at)."""
    return {(f.component, f.technique_id, m.id): m.component for f in predict(s).findings for m in f.mitigations}


def tts(**verifier) -> System:
    """A public text-to-speech API: a text moderation classifier screens what is spoken, a speaker check reads
    the uploaded consent recording, the generator speaks the text in the cloned voice."""
    return system([{"id": "internet", "kind": "external", "actor": "internet"},
                   {"id": "api", "kind": "service", "audience": "public", "authentication": "api-key",
                    "open_signup": True, "returns": "audio"},
                   {"id": "moderation", "kind": "model", "task": "classification", "modality": "text",
                    "trained_by": "us"},
                   {"id": "consent", "kind": "model", "task": "embedding", "modality": "audio",
                    "trained_by": "vendor", "properties": {"verifies_identity": True}, **verifier},
                   {"id": "voice", "kind": "model", "task": "generation", "modality": "text", "outputs": ["audio"],
                    "trained_by": "us"},
                   {"id": "cloner", "kind": "adversary", "actor": "criminal", "goals": ["impersonate", "fraud"],
                    "access": ["query", "public"]}],
                  [{"from": "internet", "to": "api"}, {"from": "api", "to": "moderation"},
                   {"from": "moderation", "to": "api"}, {"from": "api", "to": "consent"},
                   {"from": "consent", "to": "api"}, {"from": "api", "to": "voice"}, {"from": "voice", "to": "api"},
                   {"from": "api", "to": "internet"}])


def test_deepfake_detection_is_not_advised_on_the_generator_whose_every_output_is_synthetic():
    s = tts()
    assert ("voice", "AML.T0088") in {(f.component, f.technique_id) for f in predict(s).findings}  # it makes them
    got = offered(s)
    assert not {k for k in got if k[0] == "voice" and k[2] in ("AML.M0034", "AML.M0009")}, got
    # the consent check reads the uploaded audio: the fakes it is shown are its to catch
    assert got[("consent", "AML.T0015", "AML.M0034")] == "consent"


def test_a_text_classifier_is_not_told_to_detect_deepfakes_because_its_verdicts_go_to_an_api_that_also_takes_audio():
    got = offered(tts())
    assert ("moderation", "AML.T0015", "AML.M0003") in got
    assert not {k for k in got if k[0] == "moderation" and k[2] in ("AML.M0034", "AML.M0009")}, got


def test_the_victims_of_a_cloned_voice_are_not_ours_to_train():
    # the lures go where the adversary carries the audio, to people nothing here reaches
    got = offered(tts())
    assert not {k for k in got if k[0] == "voice" and k[2] == "AML.M0018"}, got


def test_user_training_stays_for_a_generator_whose_outputs_our_platform_hands_to_other_people():
    s = system([{"id": "members", "kind": "external", "actor": "user"},
                {"id": "feed", "kind": "service", "audience": "public", "returns": "text", "relays": True},
                {"id": "avatar", "kind": "model", "task": "generation", "modality": "text", "outputs": ["image"],
                 "trained_by": "us"}],
               [{"from": "members", "to": "feed"}, {"from": "feed", "to": "avatar"}, {"from": "avatar", "to": "feed"},
                {"from": "feed", "to": "members"}])
    got = offered(s)
    assert {k for k in got if k[0] == "avatar" and k[2] == "AML.M0018" and k[1].startswith("AML.T0052")}, got


def test_a_probe_only_our_sonographer_drives_is_no_place_for_a_query_limit():
    def scanner(trusted):
        return system([{"id": "sonographer", "kind": "external", "actor": "user"},
                       {"id": "transducer", "kind": "service", "audience": "internal", "authentication": "none",
                        "returns": "none"},
                       {"id": "seg", "kind": "model", "task": "segmentation", "modality": "image",
                        "outputs": ["image"], "trained_by": "us", "properties": {"edge": True}},
                       {"id": "attacker", "kind": "adversary", "actor": "nation-state", "goals": ["disrupt"],
                        "access": ["supply-chain"]}],
                      [{"from": "sonographer", "to": "transducer", "trusted": trusted},
                       {"from": "transducer", "to": "seg", "trusted": trusted}])
    assert not {k for k in offered(scanner(True)) if k[2] == "AML.M0004"}, offered(scanner(True))
    # whose probe anyone may hold is a way in as before
    assert {k for k in offered(scanner(False)) if k[2] == "AML.M0004" and k[0] == "seg"}


def test_alignment_goes_on_the_model_an_app_prompts_not_the_voice_that_reads_its_answers_aloud():
    s = system([{"id": "callers", "kind": "external", "actor": "user"},
                {"id": "line", "kind": "service", "audience": "public", "authentication": "none", "returns": "audio"},
                {"id": "agent", "kind": "llm-app", "system_prompt": True},
                {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "vendor",
                 "source": "vendor-api", "artifact_format": "hosted", "fine_tuned": True},
                {"id": "tts", "kind": "model", "task": "generation", "modality": "text", "outputs": ["audio"],
                 "trained_by": "vendor", "source": "vendor-api", "artifact_format": "hosted"}],
               [{"from": "callers", "to": "line"}, {"from": "line", "to": "agent"}, {"from": "agent", "to": "llm"},
                {"from": "llm", "to": "agent"}, {"from": "agent", "to": "tts"}, {"from": "tts", "to": "line"},
                {"from": "line", "to": "callers"}])
    aligned = [m for f in predict(s).findings if f.component == "agent" for m in f.mitigations
               if m.id == "AML.M0022"]
    assert aligned and all(m.component == "llm" and "tts" not in m.also_on for m in aligned), aligned


def test_no_query_limit_against_an_outsider_whose_content_staff_pass_on_and_who_hears_nothing_back():
    # journalists upload what was posted on social media; the verdicts go to the journalists: the poster sends
    # content, not queries, and reads no answer (audit L)
    def desk(answered):
        flows = [{"from": "journalists", "to": "portal", "trusted": True}, {"from": "social", "to": "portal"},
                 {"from": "portal", "to": "detector"}, {"from": "detector", "to": "portal"},
                 {"from": "portal", "to": "journalists"}]
        return system([{"id": "journalists", "kind": "external", "actor": "user"},
                       {"id": "social", "kind": "external", "actor": "internet"},
                       {"id": "portal", "kind": "service", "audience": "internal", "authentication": "oauth",
                        "returns": "scores"},
                       {"id": "detector", "kind": "model", "task": "classification", "modality": "image",
                        "trained_by": "us"}],
                      [*flows, *([{"from": "portal", "to": "social"}] if answered else [])])
    assert not {k for k in offered(desk(False)) if k[2] in ("AML.M0004", "AML.M0002")}, offered(desk(False))
    assert {k for k in offered(desk(True)) if k[2] == "AML.M0004"}


def test_deepfake_detection_is_no_answer_to_evading_a_model_that_checks_no_identity():
    # a speech recogniser, a ship detector, a landing-zone segmenter: an adversarial input is not a fake of
    # anyone (audits G, L and O); a face or voice matcher is fooled by fakes
    def reader(**facts):
        return system([{"id": "users", "kind": "external", "actor": "user"},
                       {"id": "api", "kind": "service", "audience": "public", "returns": "labels"},
                       {"id": "m", "kind": "model", "task": "classification", "modality": "audio", "trained_by": "us",
                        **facts}],
                      [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"},
                       {"from": "api", "to": "users"}])
    plain = {k for k in offered(reader()) if k[0] == "m" and k[2] == "AML.M0034"}
    assert not plain, plain
    matcher = {k for k in offered(reader(properties={"verifies_identity": True})) if k[2] == "AML.M0034"}
    assert ("m", "AML.T0015", "AML.M0034") in matcher


def test_deepfake_detection_is_no_answer_to_phishing_in_an_apps_text_replies():
    # an agent whose replies turn into phishing writes text: there is no fake to detect in it (audits J and M);
    # one that speaks through a voice model it calls may fake a voice
    def agent(voice):
        comps = [{"id": "users", "kind": "external", "actor": "user"},
                 {"id": "web", "kind": "service", "audience": "public", "returns": "text"},
                 {"id": "ocr", "kind": "model", "task": "text-recognition", "modality": "image", "outputs": ["text"]},
                 {"id": "bot", "kind": "llm-app", "system_prompt": True, "renders_markdown": True}]
        flows = [{"from": "users", "to": "web"}, {"from": "web", "to": "ocr"}, {"from": "ocr", "to": "web"},
                 {"from": "web", "to": "bot"}, {"from": "bot", "to": "web"}, {"from": "web", "to": "users"}]
        if voice:
            comps.append({"id": "voice", "kind": "model", "task": "generation", "modality": "text",
                          "outputs": ["audio"]})
            flows += [{"from": "bot", "to": "voice"}, {"from": "voice", "to": "web"}]
        return system(comps, flows)
    got = offered(agent(False))
    assert ("bot", "AML.T0052", "AML.M0018") in got  # the finding stands, with training its readers
    assert not {k for k in got if k[0] == "bot" and k[1].startswith("AML.T0052") and k[2] == "AML.M0034"}
    assert ("bot", "AML.T0052", "AML.M0034") in offered(agent(True))


def test_alignment_is_not_advised_on_a_vendors_model_we_use_as_it_came():
    # a support chat over a vendor's hosted LLM: aligning that model is the vendor's work, not a control we can
    # adopt (audits P, Q, T); tuned by us, it is ours again
    def chat(**llm) -> System:
        return system([{"id": "users", "kind": "external", "actor": "user"},
                       {"id": "api", "kind": "service", "audience": "public", "returns": "text"},
                       {"id": "bot", "kind": "llm-app", "system_prompt": True},
                       {"id": "llm", "kind": "model", "task": "generation", "modality": "text", **llm}],
                      [{"from": "users", "to": "api"}, {"from": "api", "to": "bot"}, {"from": "bot", "to": "api"},
                       {"from": "bot", "to": "llm"}, {"from": "llm", "to": "bot"}])

    vendor = {"trained_by": "vendor", "source": "vendor-api", "artifact_format": "hosted"}
    assert not [k for k in offered(chat(**vendor)) if k[2] == "AML.M0022"]
    tuned = {k: v for k, v in offered(chat(**vendor, fine_tuned=True)).items() if k[2] == "AML.M0022"}
    assert tuned and set(tuned.values()) == {"llm"}
    assert {v for k, v in offered(chat(trained_by="us")).items() if k[2] == "AML.M0022"} == {"llm"}
