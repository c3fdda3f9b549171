"""Rule corrections from the twenty-fourth session's blind audits: who can actually put something in front
of a component decides its findings. A vendor's API an agent calls is no third-party AI software; a prompt
published through a tool leaks only to someone who planted the request; weights shipped to phones leak their
training data whatever the app's screen shows; an app outsiders reach straight is theirs to flood; and an
adversary's own access (the supply chain, a foothold inside) opens the steps it names."""

from __future__ import annotations

from .test_rules import bundled_hits, system

USERS = {"id": "users", "kind": "external", "actor": "user"}
CHAT = {"id": "chat", "kind": "service", "audience": "public", "authentication": "oauth", "returns": "text"}


def test_a_vendors_api_an_agent_calls_is_no_third_party_ai_software():
    def agent(source):
        return system([USERS, CHAT, {"id": "billing", "kind": "llm-app", "tools": ["refund"]},
                       {"id": "refund", "kind": "tool", "side_effects": "write", "source": source}],
                      [{"from": "users", "to": "chat"}, {"from": "chat", "to": "billing"},
                       {"from": "billing", "to": "chat"}])
    assert ("billing", "AML.T0010.001") not in bundled_hits(agent("vendor"))  # a payment API we integrated
    assert ("refund", "AML.T0010") in bundled_hits(agent("vendor"))  # its supplier is still our attack surface
    for plug_in in ("third-party", "mcp"):
        assert ("billing", "AML.T0010.001") in bundled_hits(agent(plug_in))


def test_a_prompt_posted_through_a_tool_leaks_only_to_a_reader_who_planted_the_request():
    # applicants upload résumés; recruiters read the shortlist and write the job descriptions over a trusted flow
    def screener(recruiters_trusted):
        return system([
            {"id": "applicants", "kind": "external", "actor": "internet"},
            {"id": "recruiters", "kind": "external", "actor": "user"},
            {"id": "inbox", "kind": "dataset", "source": "user-submitted", "writers": "public",
             "used_for": "retrieval"},
            {"id": "jobs", "kind": "dataset", "writers": "internal", "used_for": "retrieval"},
            {"id": "app", "kind": "llm-app", "system_prompt": True, "tools": ["shortlist"]},
            {"id": "shortlist", "kind": "tool", "side_effects": "write", "sends_only": True},
            {"id": "hr", "kind": "dataset", "writers": "internal"}],
            [{"from": "applicants", "to": "inbox"}, {"from": "inbox", "to": "app"},
             {"from": "recruiters", "to": "jobs", "trusted": recruiters_trusted}, {"from": "jobs", "to": "app"},
             {"from": "shortlist", "to": "hr"}, {"from": "hr", "to": "recruiters"}])
    assert ("app", "AML.T0056") not in bundled_hits(screener(True))
    # a reader whose own text reaches the app unchecked can plant the request and read the answer
    assert ("app", "AML.T0056") in bundled_hits(screener(False))


def test_weights_shipped_to_phones_leak_their_training_data_whatever_the_app_shows():
    def keyboard(on_device):
        return system([USERS,
                       {"id": "app", "kind": "service", "audience": "public", "returns": "labels",
                        "properties": {"on_device": on_device}},
                       {"id": "lm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "us",
                        "artifact_format": "onnx", "properties": {"on_device": on_device}},
                       {"id": "typed", "kind": "dataset", "sensitive": True, "used_for": "training"}],
                      [{"from": "users", "to": "app"}, {"from": "app", "to": "lm"}, {"from": "typed", "to": "lm"}])
    shipped = bundled_hits(keyboard(True))
    assert {("lm", "AML.T0024.000"), ("lm", "AML.T0024.001")} <= shipped
    # on our servers behind an API that shows only the top words, the labels alone carry too little
    assert not {("lm", "AML.T0024.000"), ("lm", "AML.T0024.001")} & bundled_hits(keyboard(False))


def test_an_llm_app_outsiders_reach_straight_is_theirs_to_flood_and_bill():
    def ci(trusted):
        return system([{"id": "contributors", "kind": "external", "actor": "internet"},
                       {"id": "reviewer", "kind": "llm-app"},
                       {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "vendor",
                        "source": "vendor-api", "artifact_format": "hosted"}],
                      [{"from": "contributors", "to": "reviewer", "trusted": trusted},
                       {"from": "reviewer", "to": "llm"}, {"from": "llm", "to": "reviewer"}])
    assert {("reviewer", "AML.T0029"), ("reviewer", "AML.T0034")} <= bundled_hits(ci(False))
    assert not {("reviewer", "AML.T0029"), ("reviewer", "AML.T0034")} & bundled_hits(ci(True))


def _hospital(access, goals):
    return system([
        {"id": "scanner", "kind": "external", "actor": "other"},
        {"id": "pacs", "kind": "service", "audience": "internal", "returns": "labels"},
        {"id": "cxr", "kind": "model", "task": "classification", "modality": "image", "trained_by": "us",
         "fine_tuned": True, "base_model": "open/vit", "source": "huggingface", "artifact_format": "torch"},
        {"id": "adv", "kind": "adversary", "actor": "insider", "access": access, "goals": goals}],
        [{"from": "scanner", "to": "pacs", "trusted": True}, {"from": "pacs", "to": "cxr"}])


def test_an_adversary_in_the_supply_chain_can_compromise_the_weights_we_load():
    assert ("cxr", "AML.T0010.003") in bundled_hits(_hospital(["supply-chain"], ["manipulate"]))
    hosted = system([{"id": "llm", "kind": "model", "task": "generation", "trained_by": "vendor",
                      "source": "vendor-api", "artifact_format": "hosted"},
                     {"id": "adv", "kind": "adversary", "access": "supply-chain", "goals": "manipulate"}])
    # a vendor's model we only call loads no weight file of ours (the system's own T0010.003 rule says so too)
    assert ("llm", "AML.T0010.003") not in bundled_hits(hosted)


def test_an_insider_can_alter_the_weights_and_present_a_trigger_an_outsider_cannot():
    inside = bundled_hits(_hospital(["insider", "network"], ["manipulate"]))
    assert {("cxr", "AML.T0018"), ("cxr", "AML.T0043.004")} <= inside
    # an adversary who only publishes models sends the scanner nothing
    outside = bundled_hits(_hospital(["supply-chain"], ["manipulate"]))
    assert ("cxr", "AML.T0043.004") not in outside


def test_a_service_that_pushes_our_own_model_file_to_phones_takes_no_queries():
    # the new global model goes out through a public CDN to the keyboard model on each phone
    s = system([USERS,
                {"id": "keyboard", "kind": "service", "audience": "public", "returns": "labels",
                 "properties": {"on_device": True}},
                {"id": "phone-lm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "us",
                 "artifact_format": "onnx", "properties": {"on_device": True}},
                {"id": "global-lm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "us",
                 "artifact_format": "onnx"},
                {"id": "cdn", "kind": "service", "audience": "public", "authentication": "none", "returns": "none"}],
               [{"from": "users", "to": "keyboard"}, {"from": "keyboard", "to": "phone-lm"},
                {"from": "global-lm", "to": "cdn"}, {"from": "cdn", "to": "phone-lm"}])
    hits = bundled_hits(s)
    assert not {("cdn", "AML.T0029"), ("cdn", "AML.T0034"), ("cdn", "AML.T0034.000"), ("cdn", "AML.T0046"),
                ("cdn", "AML.T0003")} & hits
    from advmatrix.threatmodel.predict import predict
    placed = {(f.technique_id, m.id, m.component) for f in predict(s).findings if f.component == "phone-lm"
              for m in f.mitigations}
    assert not any(where == "cdn" for _, _, where in placed)  # no query limit on what nobody queries through
    # an upload endpoint that outsiders feed is another matter: what they send there costs us
    uploads = system([*s.components, {"id": "clients", "kind": "external", "actor": "internet"}],
                     [*s.flows, {"from": "clients", "to": "cdn"}])
    assert ("cdn", "AML.T0034.000") in bundled_hits(uploads)


def test_a_model_publisher_poisons_only_the_data_that_comes_through_the_supply_chain():
    from advmatrix.threatmodel.predict import predict

    def clinic(label_source):
        return system([
            {"id": "radiologists", "kind": "external", "actor": "user"},
            {"id": "labels", "kind": "dataset", "used_for": "fine-tuning", "writers": "internal",
             **({"source": label_source} if label_source else {})},
            {"id": "cxr", "kind": "model", "task": "classification", "modality": "image", "trained_by": "us",
             "fine_tuned": True, "source": "huggingface", "artifact_format": "torch"},
            {"id": "publisher", "kind": "adversary", "actor": "criminal", "access": "supply-chain",
             "goals": ["manipulate"]}],
            [{"from": "radiologists", "to": "labels"}, {"from": "labels", "to": "cxr"}])

    def theirs(s):
        return {f.technique_id for f in predict(s).findings if f.component == "cxr"
                and any("publisher" in r for r in f.reasons)}
    # our radiologists' labels: the publisher writes none of them, nor sends the model inputs
    assert not {"AML.T0020", "AML.T0031"} & theirs(clinic(None))
    # a public data set we fine-tune on is theirs to poison
    assert {"AML.T0020", "AML.T0031"} <= theirs(clinic("public"))


def test_staff_over_a_trusted_flow_do_not_argue_with_jailbreak_or_extract_the_prompt_of_their_assistant():
    def soc(trusted):
        return system([{"id": "analysts", "kind": "external", "actor": "user"},
                       {"id": "ui", "kind": "service", "audience": "internal", "authentication": "oauth",
                        "returns": "text"},
                       {"id": "assistant", "kind": "llm-app", "system_prompt": True}],
                      [{"from": "analysts", "to": "ui", "trusted": trusted}, {"from": "ui", "to": "assistant"},
                       {"from": "assistant", "to": "ui"}, {"from": "ui", "to": "analysts"}])
    chat = {"AML.T0051.000", "AML.T0054", "AML.T0065", "AML.T0068", "AML.T0056"}
    assert chat <= {t for c, t in bundled_hits(soc(False)) if c == "assistant"}
    assert not chat & {t for c, t in bundled_hits(soc(True)) if c == "assistant"}


def test_a_model_behind_another_in_one_pipeline_answers_the_same_queries():
    # the prompt filter passes what the public API sends on to the generator
    s = system([USERS, {"id": "api", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "filter", "kind": "model", "task": "classification", "modality": "text", "trained_by": "us"},
                {"id": "gen", "kind": "model", "task": "generation", "modality": "text", "outputs": "image",
                 "trained_by": "us"}],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "filter"}, {"from": "filter", "to": "gen"},
                {"from": "gen", "to": "api"}])
    assert {("filter", "AML.T0040"), ("gen", "AML.T0040")} <= bundled_hits(s)


def test_a_store_an_outsiders_content_is_drawn_flowing_into_is_theirs_to_poison_whatever_its_writers_say():
    # opposing counsel's filings reach the firm's document store through the document system's intake
    def firm(actor):
        return system([{"id": "lawyers", "kind": "external", "actor": "user"},
                       {"id": "counsel", "kind": "external", "actor": actor},
                       {"id": "dms", "kind": "dataset", "writers": "internal", "sensitive": True},
                       {"id": "docs", "kind": "retrieval-store", "writers": "internal"},
                       {"id": "assistant", "kind": "llm-app"}],
                      [{"from": "counsel", "to": "dms"}, {"from": "dms", "to": "docs"},
                       {"from": "docs", "to": "assistant"}, {"from": "lawyers", "to": "assistant"},
                       {"from": "assistant", "to": "lawyers"}])
    planted = {("docs", "AML.T0070"), ("docs", "AML.T0066"), ("assistant", "AML.T0071"), ("assistant", "AML.T0067.000")}
    assert planted <= bundled_hits(firm("other"))
    # the firm's own users writing through the app are its memory's concern, not outsiders planting documents
    assert not planted & bundled_hits(firm("user"))


def test_an_llm_that_decides_drawn_as_an_app_over_a_deciding_model_gets_injection_and_evasion_alike():
    # the documented way to draw a prompt-safety filter or a résumé scorer: both halves of its threats
    s = system([USERS, {"id": "api", "kind": "service", "audience": "public", "authentication": "api-key",
                        "returns": "labels"},
                {"id": "filter", "kind": "llm-app", "system_prompt": True},
                {"id": "llm", "kind": "model", "task": "classification", "modality": "text", "trained_by": "vendor",
                 "source": "vendor-api", "artifact_format": "hosted"}],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "filter"}, {"from": "filter", "to": "llm"},
                {"from": "llm", "to": "filter"}, {"from": "filter", "to": "api"}])
    hits = bundled_hits(s)
    assert {("filter", "AML.T0051.000"), ("filter", "AML.T0054"), ("llm", "AML.T0015"), ("llm", "AML.T0043")} <= hits
