"""The rules honour what a description states: a fact said outright (a store only staff write, a tool
that only sends, a service that answers nothing) rules out the techniques it contradicts, whoever the
adversary is, while leaving it unstated keeps them possible."""

from __future__ import annotations

import pytest

from advmatrix.threatmodel import System
from advmatrix.threatmodel.predict import predict

ADVERSARY = {"id": "mallory", "kind": "adversary", "actor": "criminal", "goals": ["manipulate", "steal-data"],
             "access": ["content", "query"]}


def system(components, flows=()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


def on(prediction, tid):
    return {f.component for f in prediction.findings if f.technique_id == tid}


def rag(store: dict, flow_trusted: bool = True) -> System:
    return system([{"id": "u", "kind": "external", "actor": "user"},
                   {"id": "chat", "kind": "service", "audience": "public", "returns": "text"},
                   {"id": "app", "kind": "llm-app"}, {"id": "kb", "kind": "retrieval-store", **store},
                   {"id": "llm", "kind": "model", "task": "generation"}, ADVERSARY],
                  [{"from": "u", "to": "chat"}, {"from": "chat", "to": "app"},
                   {"from": "kb", "to": "app", "trusted": flow_trusted},
                   {"from": "app", "to": "llm"}, {"from": "llm", "to": "app"}, {"from": "app", "to": "chat"},
                   {"from": "chat", "to": "u"}])


@pytest.mark.parametrize(("store", "planted"), [
    ({"writers": "internal", "sources": ["collected"]}, False),
    ({"writers": "internal", "sources": ["scraped"]}, True),  # our crawler writes what the web says
    ({"writers": "public"}, True),
    ({}, True),  # unstated: maybe
])
def test_an_adversary_who_places_content_cannot_place_it_in_a_store_only_staff_write(store, planted):
    got = predict(rag(store, flow_trusted=False))
    for tid in ("AML.T0070", "AML.T0066"):
        assert (on(got, tid) == {"kb"}) is planted, tid
    assert ("app" in on(got, "AML.T0071")) is planted
    reasons = [r for f in got.findings if f.technique_id in ("AML.T0051", "AML.T0051.001", "AML.T0093")
               for r in f.reasons]
    assert any("kb" in r for r in reasons) is planted


def agent(*tools: dict, app: dict | None = None) -> System:
    return system([{"id": "u", "kind": "external", "actor": "user"},
                   {"id": "chat", "kind": "service", "audience": "public", "returns": "text"},
                   {"id": "app", "kind": "llm-app", "tools": [t["id"] for t in tools], **(app or {})},
                   *({"kind": "tool", **t} for t in tools)],
                  [{"from": "u", "to": "chat"}, {"from": "chat", "to": "app"}, {"from": "app", "to": "chat"},
                   {"from": "chat", "to": "u"}])


def test_an_agent_that_changes_things_may_cost_money_and_says_how_to_settle_it():
    push = {"id": "git-push", "side_effects": "write", "sends_only": True}
    maybe = [f for f in predict(agent(push)).findings if f.technique_id == "AML.T0048.000"]
    assert [f.component for f in maybe] == ["app"]
    assert "where that moves money or assets (say so with properties.financial)" in maybe[0].reason
    said = predict(agent(push, app={"properties": {"financial": True}}))
    assert [f.reason for f in said.findings if f.technique_id == "AML.T0048.000"] == [
        "app can move money or assets when it is abused"]
    for ruled_out in (agent(push, app={"properties": {"financial": False}}),
                      agent({**push, "properties": {"financial": False}})):
        assert "AML.T0048.000" not in predict(ruled_out).technique_ids


def test_an_app_calling_a_tool_that_moves_money_is_named_with_that_tool_not_hedged_over_the_others():
    pay = {"id": "grocery-order", "side_effects": "external-communication", "properties": {"financial": True}}
    lamp = {"id": "lamp", "side_effects": "write", "sends_only": True}
    reasons = [f.reason for f in predict(agent(pay, lamp)).findings
               if f.technique_id == "AML.T0048.000" and f.component == "app"]
    assert reasons == ["app can move money or assets through grocery-order when it is steered"]


def test_a_tool_that_acts_in_the_physical_world_brings_harm_not_data_theft():
    lock = {"id": "door-lock", "side_effects": "write", "sends_only": True, "hosted": True}
    plain, physical = predict(agent(lock)), predict(agent({**lock, "properties": {"physical": True}}))
    for tid in ("AML.T0086", "AML.T0101", "AML.T0061"):
        assert "app" in on(plain, tid) and "app" not in on(physical, tid), tid
    harm = [f.reason for f in physical.findings if f.technique_id == "AML.T0048.003"]
    assert "app acts in the physical world through door-lock; steered, it can hurt people or damage property" in harm


def test_a_safety_critical_model_brings_user_harm_whoever_its_users_are():
    triage = {"id": "triage", "kind": "model", "task": "classification", "modality": "image", "trained_by": "us"}
    flows = [{"from": "scans", "to": "triage"}, {"from": "triage", "to": "worklist"}]
    parts = [{"id": "scans", "kind": "external"},
             {"id": "worklist", "kind": "service", "audience": "internal", "returns": "labels"}]
    assert "AML.T0048.003" not in predict(system([*parts, triage], flows)).technique_ids
    safety = predict(system([*parts, {**triage, "properties": {"safety_critical": True}}], flows))
    assert on(safety, "AML.T0048.003") == {"triage"}


@pytest.mark.parametrize("trusted", [False, True])
def test_inputs_from_a_party_we_trust_are_not_the_adversarys_to_probe_or_try_out(trusted):
    # our own scanners feed the model; nothing of its verdict goes back to whoever makes the inputs
    s = system([{"id": "scanners", "kind": "external", "actor": "other"},
                {"id": "m", "kind": "model", "task": "classification", "modality": "image", "trained_by": "us"},
                {"id": "worklist", "kind": "service", "audience": "internal", "returns": "labels"}],
               [{"from": "scanners", "to": "m", "trusted": trusted}, {"from": "m", "to": "worklist"}])
    found = {f.technique_id for f in predict(s).for_component("m").findings}
    assert bool(found & {"AML.T0042", "AML.T0043.003"}) is not trusted


@pytest.mark.parametrize(("task", "fakes"), [("speech-recognition", False), ("classification", True)])
def test_generated_media_is_a_threat_to_a_model_that_decides_on_it_not_to_a_transcriber(task, fakes):
    s = system([{"id": "u", "kind": "external"},
                {"id": "svc", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "voice", "kind": "model", "task": task, "modality": "audio", "artifact_format": "hosted",
                 "source": "vendor-api", "trained_by": "vendor"},
                {"id": "crook", "kind": "adversary", "actor": "criminal", "goals": ["fraud"], "access": ["query"]}],
               [{"from": "u", "to": "svc"}, {"from": "svc", "to": "voice"}, {"from": "voice", "to": "svc"},
                {"from": "svc", "to": "u"}])
    assert ("voice" in on(predict(s), "AML.T0088")) is fakes


def test_a_sub_agent_that_only_writes_to_a_store_does_not_retrieve_from_it():
    # planner delegates to researcher (which files notes) and writer (which searches them): only writer
    # retrieves; researcher hears of the store only through planner's words
    s = system([{"id": "u", "kind": "external", "actor": "user"},
                {"id": "planner", "kind": "llm-app", "tools": ["researcher", "writer"]},
                {"id": "researcher", "kind": "llm-app", "tools": ["notes-writer"]},
                {"id": "writer", "kind": "llm-app", "tools": ["notes-search"]},
                {"id": "store", "kind": "retrieval-store", "sources": ["scraped"], "writers": "internal",
                 "sensitive": True},
                {"id": "notes-writer", "kind": "tool", "side_effects": "write", "sends_only": True},
                {"id": "notes-search", "kind": "tool", "side_effects": "read", "sensitive": True}],
               [{"from": "u", "to": "planner"}, {"from": "planner", "to": "u"},
                {"from": "notes-writer", "to": "store"}, {"from": "store", "to": "notes-search"}])
    got = predict(s)
    for tid in ("AML.T0071", "AML.T0082", "AML.T0067.000", "AML.T0057", "AML.T0085.000"):
        assert on(got, tid) == {"writer"}, tid
    # planted instructions still travel through the answers, to every app they reach
    assert {"planner", "researcher", "writer"} <= on(got, "AML.T0051.001")


@pytest.mark.parametrize(("source", "public_base"), [("vendor", False), ("other", True)])
def test_weights_a_vendor_delivers_are_no_published_model_to_download_as_a_proxy(source, public_base):
    m = {"id": "m", "kind": "model", "task": "classification", "modality": "image", "source": source,
         "artifact_format": "onnx", "base_model": "acme-net", "fine_tuned": True}
    got = predict(system([{"id": "u", "kind": "external"}, m], [{"from": "u", "to": "m"}]))
    assert ("m" in on(got, "AML.T0005.002")) is public_base
    assert ("m" in on(got, "AML.T0010.003")) is (source == "vendor")  # a supplier to compromise


@pytest.mark.parametrize(("hosted", "installs"), [(None, True), (True, False)])
def test_a_tool_that_runs_agent_written_code_can_install_a_malicious_package(hosted, installs):
    sandbox = {"id": "sandbox", "side_effects": "code-execution", "source": "first-party",
               **({"hosted": hosted} if hosted is not None else {})}
    assert ("sandbox" in on(predict(agent(sandbox)), "AML.T0011.001")) is installs


@pytest.mark.parametrize(("modality", "outputs", "fakes"), [
    ("multimodal", None, True), ("multimodal", ["text"], False), ("text", ["image"], True), ("text", None, False)])
def test_what_a_generator_produces_not_what_it_reads_decides_whether_it_can_fake_people(modality, outputs, fakes):
    gen = {"id": "gen", "kind": "model", "task": "generation", "modality": modality,
           **({"outputs": outputs} if outputs else {})}
    got = predict(system([{"id": "u", "kind": "external"}, gen], [{"from": "u", "to": "gen"}]))
    for tid in ("AML.T0088", "AML.T0052.001", "AML.T0073"):
        assert ("gen" in on(got, tid)) is fakes, tid


def test_an_app_does_not_retrieve_a_store_another_caller_of_its_model_reads():
    # the app and an internal service share one LLM endpoint; only the service reads the store
    s = system([{"id": "u", "kind": "external", "actor": "user"}, {"id": "app", "kind": "llm-app"},
                {"id": "llm", "kind": "model", "task": "generation", "source": "vendor-api"},
                {"id": "svc", "kind": "service", "audience": "internal", "returns": "text"},
                {"id": "kb", "kind": "retrieval-store", "sources": ["scraped"], "writers": "public",
                 "sensitive": True}],
               [{"from": "u", "to": "app"}, {"from": "app", "to": "u"}, {"from": "app", "to": "llm"},
                {"from": "llm", "to": "app"}, {"from": "kb", "to": "svc"}, {"from": "svc", "to": "llm"},
                {"from": "llm", "to": "svc"}])
    got = predict(s)
    for tid in ("AML.T0071", "AML.T0057", "AML.T0067.000", "AML.T0085.000", "AML.T0084.000"):
        assert "app" not in on(got, tid), tid


def test_a_field_of_one_component_holds_no_control_against_an_adversary_or_another_technique():
    # a signed classifier and a phisher: the signature on the classifier's weights stops no attachment a
    # user opens, and code signing of the weights is no signed framework
    clf = {"id": "clf", "kind": "model", "task": "classification", "modality": "text", "trained_by": "us",
           "artifact_format": "pickle", "signed": True, "source": "huggingface", "base_model": "bert"}
    s = system([{"id": "mail", "kind": "external"}, clf,
                {"id": "phisher", "kind": "adversary", "actor": "criminal", "goals": ["compromise"],
                 "access": ["content"]}], [{"from": "mail", "to": "clf"}])
    got = predict(s)
    advice = {(f.component, f.technique_id, m.id): m.in_place for f in got.findings for m in f.mitigations}
    assert advice[("phisher", "AML.T0011", "AML.M0014")] is False
    assert advice[("clf", "AML.T0010.001", "AML.M0013")] is False
    assert advice[("clf", "AML.T0018", "AML.M0013")] is True
    listed = system([*s.model_dump(by_alias=True)["components"][:1],
                     {**clf, "controls": ["AML.M0014"]}, *s.model_dump(by_alias=True)["components"][2:]],
                    [{"from": "mail", "to": "clf"}])
    held = {(f.component, f.technique_id, m.id): m.in_place for f in predict(listed).findings for m in f.mitigations}
    # listed rather than implied by `signed`, the model's check is still of its own file: the spelling decides nothing
    assert held[("phisher", "AML.T0011", "AML.M0014")] is False


def test_mail_through_a_gateway_that_answers_nothing_is_indirect_injection_not_direct():
    s = system([{"id": "senders", "kind": "external", "actor": "internet"},
                {"id": "gateway", "kind": "service", "audience": "public", "authentication": "none", "returns": "none"},
                {"id": "summariser", "kind": "llm-app", "memory": "none"},
                {"id": "staff", "kind": "external", "actor": "user"},
                {"id": "phisher", "kind": "adversary", "actor": "criminal", "goals": ["steal-data", "compromise"],
                 "access": ["query", "content"]}],
               [{"from": "senders", "to": "gateway"}, {"from": "gateway", "to": "summariser"},
                {"from": "summariser", "to": "staff"}])
    got = predict(s)
    assert "summariser" in on(got, "AML.T0051.001") and "summariser" not in on(got, "AML.T0051.000")
    # nothing for it to leak: no memory, no instructions, nothing it reads
    assert "summariser" not in on(got, "AML.T0057")


def test_an_adversarys_wishes_bring_only_what_the_system_allows():
    llm = {"id": "llm", "kind": "model", "task": "generation", "source": "vendor-api"}
    clf = {"id": "clf", "kind": "model", "task": "classification", "trained_by": "us", "artifact_format": "onnx",
           "properties": {"on_device": True}}
    svc = {"id": "page", "kind": "service", "audience": "public", "authentication": "none", "returns": "scores"}
    crook = {"id": "crook", "kind": "adversary", "actor": "criminal", "goals": ["evade", "fraud"],
             "access": ["query"]}
    got = predict(system([{"id": "u", "kind": "external"}, svc, llm, clf, crook],
                         [{"from": "u", "to": "page"}, {"from": "page", "to": "clf"}, {"from": "page", "to": "llm"}]))
    assert "llm" not in on(got, "AML.T0015") | on(got, "AML.T0043")  # a generator makes no decision to evade
    assert "clf" in on(got, "AML.T0015")
    assert "crook" not in on(got, "AML.T0021")  # no sign-up anywhere: no account to open
    assert "clf" not in on(got, "AML.T0007")    # shipped to phones: not an intruder's find on our systems


@pytest.mark.parametrize(("via_tool", "forged"), [(False, True), (True, False)])
def test_chat_history_is_forged_through_the_apps_own_unauthenticated_chat_not_a_desk_a_tool_reads(via_tool, forged):
    desk = {"id": "desk", "kind": "service", "audience": "public", "authentication": "none", "returns": "text"}
    app = {"id": "app", "kind": "llm-app", "memory": "session", **({"tools": ["jira"]} if via_tool else {})}
    parts = [{"id": "u", "kind": "external"}, desk, app]
    if via_tool:
        parts.append({"id": "jira", "kind": "tool", "side_effects": "read"})
        flows = [{"from": "u", "to": "desk"}, {"from": "desk", "to": "jira"}]
    else:
        flows = [{"from": "u", "to": "desk"}, {"from": "desk", "to": "app"}, {"from": "app", "to": "desk"}]
    assert ("app" in on(predict(system(parts, flows)), "AML.T0092")) is forged


@pytest.mark.parametrize(("memory", "joined"), [("none", False), ("session", True)])
def test_a_stateless_sub_agent_two_planners_share_does_not_join_them(memory, joined):
    # a public helpdesk and an internal ops agent both delegate to one research sub-agent; only ops runs
    # code. Keeping nothing between calls, the sub-agent answers each its own (as a shared model does),
    # even after a round trip through its own search tool.
    s = system([{"id": "customer", "kind": "external"},
                {"id": "help-api", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "helpdesk", "kind": "llm-app", "tools": ["researcher"], "memory": "none"},
                {"id": "staff", "kind": "external"}, {"id": "ops", "kind": "llm-app", "tools": ["researcher", "shell"],
                                                      "memory": "none"},
                {"id": "researcher", "kind": "llm-app", "tools": ["search"], "memory": memory},
                {"id": "search", "kind": "tool", "side_effects": "read"},
                {"id": "shell", "kind": "tool", "side_effects": "code-execution"}],
               [{"from": "customer", "to": "help-api"}, {"from": "help-api", "to": "helpdesk"},
                {"from": "helpdesk", "to": "help-api"}, {"from": "help-api", "to": "customer"},
                {"from": "staff", "to": "ops", "trusted": True}, {"from": "ops", "to": "staff"}])
    assert ("customer" in {c.id for c in s.upstream_of("ops")}) is joined
    assert ("ops" in on(predict(s), "AML.T0051.000")) is joined


def test_a_generator_that_makes_images_from_text_is_found_to_make_fakes_but_not_told_to_detect_them():
    # every image it makes is synthetic: detecting fakes is for whoever is shown them (blind audit G reversed
    # an earlier reading that offered it here)
    gen = {"id": "t2i", "kind": "model", "task": "generation", "modality": "text", "outputs": ["image"]}
    got = predict(system([{"id": "u", "kind": "external"}, gen], [{"from": "u", "to": "t2i"}]))
    fake = next(f for f in got.findings if f.technique_id == "AML.T0088")
    assert "AML.M0034" not in {m.id for m in fake.mitigations}


def test_segmenting_the_tool_an_agent_reads_through_counts_for_data_collection():
    got = predict(agent({"id": "lookup", "side_effects": "read", "controls": ["AML.M0032"]}))
    collect = next(f for f in got.for_component("app").findings if f.technique_id == "AML.T0085.001")
    assert next(m for m in collect.mitigations if m.id == "AML.M0032").in_place


def test_an_app_behind_an_endpoint_that_answers_nothing_is_no_chat_for_the_uploader():
    # public CV upload, no authentication, answers nothing; the screener's notes go to HR only
    s = system([{"id": "applicant", "kind": "external", "actor": "user"},
                {"id": "upload", "kind": "service", "audience": "public", "authentication": "none", "returns": "none"},
                {"id": "screener", "kind": "llm-app", "memory": "session", "system_prompt": True},
                {"id": "hr", "kind": "external", "actor": "user"}],
               [{"from": "applicant", "to": "upload"}, {"from": "upload", "to": "screener"},
                {"from": "screener", "to": "hr"}])
    got = predict(s)
    for tid in ("AML.T0056", "AML.T0065", "AML.T0062", "AML.T0092", "AML.T0051.000"):
        assert "screener" not in on(got, tid), tid
    assert "screener" in on(got, "AML.T0051.001")  # what they upload still reaches its prompt


@pytest.mark.parametrize(("tool", "collects", "harvests"), [
    ({"id": "crm", "side_effects": "read"}, True, True),
    ({"id": "weather", "side_effects": "read", "sensitive": False}, False, False),
    ({"id": "mailer", "side_effects": "write", "sends_only": True}, False, False),
    # a lookup of the asker's own rows (their orders): whoever steers the app searches only what they may
    # already see, and an injected victim's own records are rows of one kind, not a store of secrets
    ({"id": "orders", "side_effects": "read", "per_user": True}, False, False),
])
def test_data_and_credentials_are_taken_only_through_tools_that_return_something_worth_it(tool, collects, harvests):
    got = predict(agent(tool))
    assert ("app" in on(got, "AML.T0085.001")) is collects
    assert ("app" in on(got, "AML.T0098")) is harvests
    # nor for an adversary who came for credentials or a foothold
    thief = {"id": "thief", "kind": "adversary", "goals": ["steal-data", "compromise"], "access": ["query"]}
    with_thief = agent(tool).model_copy(update={"components": (*agent(tool).components, System.model_validate(
        {"name": "x", "components": [thief]}).components[0])})
    assert ("app" in on(predict(with_thief), "AML.T0098")) is harvests


def test_a_tool_fed_straight_by_a_public_service_brings_back_what_outsiders_wrote():
    s = system([{"id": "contributor", "kind": "external", "actor": "internet"},
                {"id": "forge", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "agent", "kind": "llm-app", "tools": ["read-pr"]},
                {"id": "read-pr", "kind": "tool", "side_effects": "read", "browses": False}],
               [{"from": "contributor", "to": "forge"}, {"from": "forge", "to": "read-pr"}])
    assert on(predict(s), "AML.T0099") == {"read-pr"}
    trusted = s.model_copy(update={"flows": [s.flows[0], s.flows[1].model_copy(update={"trusted": True})]})
    assert on(predict(trusted), "AML.T0099") == set()


@pytest.mark.parametrize(("returns", "answers"), [("none", False), ("labels", True), (None, True)])
def test_an_upload_endpoint_that_answers_nothing_gives_no_inference_access_or_copies(returns, answers):
    s = system([{"id": "applicants", "kind": "external", "actor": "internet"},
                {"id": "portal", "kind": "service", "audience": "public",
                 **({"returns": returns} if returns else {})},
                {"id": "screener", "kind": "model", "task": "classification", "trained_by": "us"}],
               [{"from": "applicants", "to": "portal"}, {"from": "portal", "to": "screener"}])
    got = predict(s)
    for tid in ("AML.T0040", "AML.T0024.002"):
        assert (on(got, tid) == {"screener"}) is answers, tid


def test_a_model_does_not_learn_from_the_training_sets_of_another_model_behind_the_same_service():
    s = system([{"id": "internet", "kind": "external"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "scores"},
                {"id": "model-a", "kind": "model", "task": "classification"},
                {"id": "model-b", "kind": "model", "task": "classification"},
                {"id": "uploads", "kind": "dataset", "writers": "public", "used_for": ["training"],
                 "controls": ["AML.M0007"]},
                {"id": "scraped", "kind": "dataset", "writers": "public", "used_for": ["training"]}],
               [{"from": "internet", "to": "api"}, {"from": "api", "to": "model-a"}, {"from": "api", "to": "model-b"},
                {"from": "model-a", "to": "api"}, {"from": "model-b", "to": "api"}, {"from": "api", "to": "internet"},
                {"from": "uploads", "to": "model-a"}, {"from": "scraped", "to": "model-b"}])
    assert [c.id for c in s.upstream_of("model-a")] == ["internet", "api", "model-b", "uploads"]
    assert [c.id for c in s.downstream_of("scraped")] == ["internet", "api", "model-b"]
    poisoning = next(f for f in predict(s).for_component("model-a").findings if f.technique_id == "AML.T0020")
    assert "scraped" not in poisoning.reason
    sanitised = next(m for m in poisoning.mitigations if m.id == "AML.M0007")
    assert (sanitised.component, sanitised.in_place) == ("uploads", True)


@pytest.mark.parametrize(("on_shell", "on_push", "on_app", "held"), [
    (True, False, False, False), (True, True, False, True), (False, False, True, True)])
def test_segmentation_is_held_by_every_tool_the_finding_names_or_by_the_agent(on_shell, on_push, on_app, held):
    seg = ["AML.M0032"]
    s = agent({"id": "shell", "side_effects": "code-execution", "controls": seg if on_shell else []},
              {"id": "push", "side_effects": "write", "sends_only": True, "controls": seg if on_push else []},
              app={"controls": seg if on_app else []})
    finding = next(f for f in predict(s).for_component("app").findings if f.technique_id == "AML.T0053")
    advice = next(m for m in finding.mitigations if m.id == "AML.M0032")
    assert advice.in_place is held
    assert held or advice.component == ("push" if on_shell else "shell")


def test_advice_goes_on_the_tool_the_reason_names_not_on_one_another_leaf_matched():
    # Exfiltration through a tool: the reason names the mail tool it sends through; the browsing tool that
    # brings untrusted text in also matched a leaf of the rule, but segmenting it does not stop the leak.
    s = system([{"id": "web", "kind": "external"}, {"id": "users", "kind": "external", "actor": "user"},
                {"id": "chat", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "agent", "kind": "llm-app", "tools": ["search", "mailer"]},
                {"id": "search", "kind": "tool", "side_effects": "read", "browses": True},
                {"id": "mailer", "kind": "tool", "side_effects": "external-communication", "sends_only": True}],
               [{"from": "users", "to": "chat"}, {"from": "chat", "to": "agent"}, {"from": "agent", "to": "chat"},
                {"from": "chat", "to": "users"}, {"from": "web", "to": "search"}])
    leak = next(f for f in predict(s).for_component("agent").findings if f.technique_id == "AML.T0086")
    assert "mailer" in leak.reason and "search" not in leak.reason
    assert next(m for m in leak.mitigations if m.id == "AML.M0032").component == "mailer"


@pytest.mark.parametrize("checked", [False, True])
def test_training_data_checked_on_the_way_in_brings_no_poisoning_of_any_kind(checked):
    # Appeals the public writes become training data; marked trusted (two reviewers agree on each), no
    # poisoning technique may stay behind that poisoning itself (AML.T0020) left.
    s = system([{"id": "internet", "kind": "external"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "clf", "kind": "model", "task": "classification", "modality": "text", "trained_by": "us"},
                {"id": "appeals", "kind": "dataset", "source": "user-submitted", "writers": "public",
                 "used_for": ["training"]}],
               [{"from": "internet", "to": "api"}, {"from": "api", "to": "clf"}, {"from": "clf", "to": "api"},
                {"from": "api", "to": "internet"}, {"from": "internet", "to": "appeals"},
                {"from": "appeals", "to": "clf", "trusted": checked}])
    found = {f.technique_id for f in predict(s).for_component("clf").findings}
    poisoning = {"AML.T0020", "AML.T0043.004", "AML.T0018.000"}
    assert (found & poisoning) == (set() if checked else poisoning)
    # the erosion rule for a model that learns from public data goes too; the one for inputs stays
    erosion = [f for f in predict(s).for_component("clf").findings if f.technique_id == "AML.T0031"]
    assert any("each training on it" in r for f in erosion for r in f.reasons) is not checked


@pytest.mark.parametrize("behind", ["cloud", "worklist"])
def test_a_service_the_models_answers_only_go_on_to_neither_holds_nor_gets_its_query_controls(behind):
    # An on-device model reporting to a rate-limited cloud API, or a scanner model whose verdicts go to an
    # internal worklist: the adversary's queries never pass that service, so its limit guards nothing.
    s = system([{"id": "user", "kind": "external"},
                {"id": "kws", "kind": "model", "task": "classification", "modality": "audio", "trained_by": "us"},
                {"id": behind, "kind": "service", "audience": "internal", "returns": "labels", "rate_limited": True,
                 "controls": ["AML.M0015", "AML.M0002"]},
                {"id": "staff", "kind": "external", "actor": "user"}],
               [{"from": "user", "to": "kws"}, {"from": "kws", "to": behind}, {"from": behind, "to": "staff"}])
    findings = {f.technique_id: f for f in predict(s).for_component("kws").findings}
    checked = 0
    for tid in ("AML.T0015", "AML.T0043", "AML.T0042"):
        for m in findings[tid].mitigations:
            if m.id in ("AML.M0004", "AML.M0015", "AML.M0002"):
                assert (m.component, m.in_place) == ("kws", False), (tid, m)
                checked += 1
    assert checked >= 5


@pytest.mark.parametrize(("modality", "physical", "offered"), [
    ("text", None, False), ("tabular", True, True), ("image", None, True), (None, None, True)])
def test_multi_modal_sensors_are_offered_only_for_a_model_that_senses_the_world(modality, physical, offered):
    clf = {"id": "clf", "kind": "model", "task": "classification", **({"modality": modality} if modality else {}),
           **({"properties": {"physical": physical}} if physical else {})}
    s = system([{"id": "u", "kind": "external"}, {"id": "api", "kind": "service", "audience": "public"}, clf],
               [{"from": "u", "to": "api"}, {"from": "api", "to": "clf"}])
    evasion = next(f for f in predict(s).for_component("clf").findings if f.technique_id == "AML.T0015")
    assert ("AML.M0009" in {m.id for m in evasion.mitigations}) is offered


def test_a_store_only_staff_write_is_no_injection_source_even_over_an_unmarked_flow():
    for store, named in (({"writers": "internal", "sources": ["collected"]}, False), ({"writers": "public"}, True)):
        got = predict(rag(store, flow_trusted=False))
        reasons = [r for f in got.findings if f.technique_id == "AML.T0051" for r in f.reasons]
        assert any("kb" in r for r in reasons) is named, store


def test_two_agents_on_one_llm_endpoint_do_not_read_each_others_tools_or_documents():
    s = system([{"id": "staff", "kind": "external"}, {"id": "web", "kind": "external", "actor": "internet"},
                {"id": "planner", "kind": "llm-app", "tools": ["exec"]},
                {"id": "browser", "kind": "llm-app", "tools": ["fetch"]},
                {"id": "exec", "kind": "tool", "side_effects": "code-execution"},
                {"id": "fetch", "kind": "tool", "side_effects": "external-communication", "browses": True},
                {"id": "llm", "kind": "model", "task": "generation"}],
               [{"from": "staff", "to": "planner"}, {"from": "planner", "to": "staff"},
                {"from": "planner", "to": "llm"}, {"from": "llm", "to": "planner"},
                {"from": "browser", "to": "llm"}, {"from": "llm", "to": "browser"}, {"from": "web", "to": "fetch"}])
    assert "exec" not in {c.id for c in s.downstream_of("browser")}
    assert "fetch" not in {c.id for c in s.upstream_of("planner")}
    assert {c.id for c in s.upstream_of("llm")} >= {"planner", "browser", "fetch", "exec"}  # the model sees both
    got = predict(s)
    assert "browser" not in on(got, "AML.T0112.000") and "planner" in on(got, "AML.T0112.000")


def test_a_sub_agent_does_not_call_the_tools_of_the_planner_its_summaries_go_to():
    s = system([{"id": "staff", "kind": "external"}, {"id": "web", "kind": "external", "actor": "internet"},
                {"id": "planner", "kind": "llm-app", "tools": ["delegate", "exec"]},
                {"id": "browser", "kind": "llm-app", "tools": ["fetch"]},
                {"id": "delegate", "kind": "tool", "side_effects": "read"},
                {"id": "exec", "kind": "tool", "side_effects": "code-execution"},
                {"id": "fetch", "kind": "tool", "side_effects": "external-communication", "browses": True}],
               [{"from": "staff", "to": "planner"}, {"from": "planner", "to": "staff"},
                {"from": "delegate", "to": "browser"}, {"from": "browser", "to": "delegate"},
                {"from": "web", "to": "fetch"}])
    got = predict(s)
    steer = {f.component: f.reason for f in got.findings if f.technique_id == "AML.T0053"}
    assert "(delegate, exec)" in steer["planner"] and "(fetch)" in steer["browser"]
    assert "browser" not in on(got, "AML.T0112.000") | on(got, "AML.T0083")
    # what the sub-agent read still reaches the planner: an injection source for it
    assert "planner" in on(got, "AML.T0051.001")


def test_an_upload_endpoint_serves_no_ai_results_to_harm_or_use():
    s = system([{"id": "clients", "kind": "external"},
                {"id": "portal", "kind": "service", "audience": "partner", "returns": "none"},
                {"id": "store", "kind": "retrieval-store", "writers": "partner"},
                {"id": "app", "kind": "llm-app"}, {"id": "llm", "kind": "model", "task": "generation"}],
               [{"from": "clients", "to": "portal"}, {"from": "portal", "to": "store"}, {"from": "store", "to": "app"},
                {"from": "app", "to": "llm"}, {"from": "llm", "to": "app"}])
    got = predict(s)
    for tid in ("AML.T0047", "AML.T0048", "AML.T0048.003"):
        assert "portal" not in on(got, tid), tid
    answering = s.model_copy(update={"components": tuple(
        c.model_copy(update={"returns": "text"}) if c.id == "portal" else c for c in s.components)})
    assert "portal" in on(predict(answering), "AML.T0047")


@pytest.mark.parametrize(("trusted", "poisoned"), [(True, False), (False, True)])
def test_training_data_over_a_trusted_flow_is_not_an_outsiders_to_shape(trusted, poisoned):
    s = system([{"id": "images", "kind": "dataset", "source": "vendor", "writers": "internal",
                 "used_for": ["training"]}, {"id": "gen", "kind": "model", "task": "generation"}],
               [{"from": "images", "to": "gen", "trusted": trusted}])
    assert ("gen" in on(predict(s), "AML.T0020")) is poisoned


def test_a_signed_model_can_still_be_manipulated_and_holds_code_signing():
    s = system([{"id": "m", "kind": "model", "artifact_format": "onnx", "signed": True}])
    finding = next(f for f in predict(s).findings if f.technique_id == "AML.T0018")
    assert {m.id: m.in_place for m in finding.mitigations}["AML.M0013"] is True


@pytest.mark.parametrize(("extra", "forged"), [({}, False), ({"properties": {"on_device": True}}, True)])
def test_forging_chat_history_needs_the_chat_client_within_reach(extra, forged):
    s = system([{"id": "u", "kind": "external"}, {"id": "chat", "kind": "service", "audience": "public",
                                                   "authentication": "oauth", "returns": "text"},
                {"id": "app", "kind": "llm-app", "memory": "persistent", **extra}],
               [{"from": "u", "to": "chat"}, {"from": "chat", "to": "app"}, {"from": "app", "to": "chat"}])
    assert ("app" in on(predict(s), "AML.T0092")) is forged
    open_chat = s.model_copy(update={"components": tuple(
        c.model_copy(update={"authentication": "none"}) if c.id == "chat" else c for c in s.components)})
    assert "app" in on(predict(open_chat), "AML.T0092")


def test_an_adversary_wears_down_only_a_model_that_keeps_learning():
    hosted = [{"id": "llm", "kind": "model", "task": "generation", "trained_by": "vendor"},
              {**ADVERSARY, "goals": ["manipulate"]}]
    assert "llm" not in on(predict(system(hosted)), "AML.T0031")
    learning = system([*hosted, {"id": "feedback", "kind": "dataset", "used_for": ["fine-tuning"]}],
                      [{"from": "feedback", "to": "llm"}])
    assert "llm" in on(predict(learning), "AML.T0031")


def test_a_generator_behind_a_guard_model_is_still_reached_through_it():
    s = system([{"id": "internet", "kind": "external"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "images"},
                {"id": "guard", "kind": "model", "task": "classification", "modality": "text"},
                {"id": "gen", "kind": "model", "task": "generation", "trained_by": "us"}],
               [{"from": "internet", "to": "api"}, {"from": "api", "to": "guard"}, {"from": "guard", "to": "gen"},
                {"from": "gen", "to": "guard"}, {"from": "guard", "to": "api"}, {"from": "api", "to": "internet"}])
    assert {c.id for c in s.upstream_of("gen")} >= {"internet", "api", "guard"}
    got = predict(s)
    assert "gen" in on(got, "AML.T0054") and "gen" in on(got, "AML.T0024.002")


def test_query_controls_go_on_a_service_that_answers_not_on_a_weights_registry():
    from advmatrix.threatmodel import load_system_text

    s = load_system_text("""
name: lab
components:
  - {id: floor, kind: external}
  - {id: registry, kind: service, audience: internal, returns: none}   # pushes weights, answers nothing
  - {id: gate, kind: service, audience: public, returns: labels}
  - {id: det, kind: model, task: detection, modality: image}
flows: [{from: registry, to: det}, {from: floor, to: gate}, {from: gate, to: det}, {from: det, to: gate}]
""")
    evasion = next(f for f in predict(s).for_component("det").findings if f.technique_id == "AML.T0043")
    assert {m.id: m.component for m in evasion.mitigations}["AML.M0004"] == "gate"


@pytest.mark.parametrize(("shared", "leaks"), [(None, True), (True, True), (False, False)])
def test_memory_each_user_keeps_to_themselves_does_not_leak_between_users(shared, leaks):
    app = {"memory": "persistent", **({"shared_memory": shared} if shared is not None else {})}
    got = predict(agent(app=app))
    reasons = [r for f in got.findings if f.technique_id == "AML.T0057" for r in f.reasons]
    assert any("one user's words can resurface for another" in r for r in reasons) is leaks


@pytest.mark.parametrize(("hosted", "installs"), [(None, True), (False, True), (True, False)])
def test_a_hosted_third_party_tool_installs_no_code_here(hosted, installs):
    tool = {"id": "search", "side_effects": "read", "source": "third-party",
            **({"hosted": hosted} if hosted is not None else {})}
    got = predict(agent(tool))
    for tid in ("AML.T0011", "AML.T0011.001"):
        assert ("search" in on(got, tid)) is installs, tid
    assert "search" in on(got, "AML.T0010.005")  # its publisher still decides what it does


def test_a_model_on_our_own_edge_hardware_can_be_taken_but_is_in_no_app_store():
    s = system([{"id": "floor", "kind": "external"},
                {"id": "det", "kind": "model", "task": "detection", "modality": "image", "trained_by": "us",
                 "properties": {"edge": True, "physical": True}}], [{"from": "floor", "to": "det"}])
    got = predict(s)
    for tid in ("AML.T0044", "AML.T0043.000", "AML.T0010.000"):
        assert "det" in on(got, tid), tid
    assert "det" not in on(got, "AML.T0004")


@pytest.mark.parametrize(("app", "access", "leaks"), [
    ({"system_prompt": True, "memory": "session"}, ["query"], False),  # its instructions: prompt extraction
    # a victim's session, reached by planted text, with a way out (an image that loads from the adversary's server)
    ({"system_prompt": True, "memory": "session", "renders_markdown": True}, ["query", "content"], True),
    # repeated back to the victim alone, it reaches no adversary
    ({"system_prompt": True, "memory": "session"}, ["query", "content"], False),
    ({"memory": "persistent", "shared_memory": False}, ["query"], False),
    ({"memory": "persistent"}, ["query"], True),  # other users' words, unless said per-user
])
def test_an_adversary_leaks_through_the_app_only_what_others_put_there(app, access, leaks):
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "chat", "kind": "service", "audience": "public", "authentication": "none", "returns": "text"},
                {"id": "bot", "kind": "llm-app", **app},
                {"id": "thief", "kind": "adversary", "actor": "criminal", "goals": ["steal-data"], "access": access}],
               [{"from": "users", "to": "chat"}, {"from": "chat", "to": "bot"}, {"from": "bot", "to": "chat"}])
    got = predict(s)
    reasons = [r for f in got.findings if f.technique_id == "AML.T0057" and f.component == "bot" for r in f.reasons]
    assert any(r.startswith(("thief wants data bot can see", "thief can plant text")) for r in reasons) is leaks
    if app.get("system_prompt"):
        assert "bot" in on(got, "AML.T0056")  # the instructions are still someone's target


def test_an_adversary_leaks_nothing_through_a_tool_that_only_sends():
    post = {"id": "post-comment", "side_effects": "write", "sends_only": True}
    thief = {"id": "thief", "kind": "adversary", "actor": "criminal", "goals": ["steal-data"], "access": ["query"]}

    def leaks(tool: dict) -> bool:
        s = agent(tool)
        s = s.model_copy(update={"components": (*s.components, System.model_validate(
            {"name": "x", "components": [thief]}).components[0])})
        return any(r.startswith("thief wants data app can see")
                   for f in predict(s).findings if f.technique_id == "AML.T0057" for r in f.reasons)
    assert not leaks(post)
    assert leaks({k: v for k, v in post.items() if k != "sends_only"})  # a writer may read what it edits


def test_approval_asked_for_one_tool_counts_only_for_findings_of_that_tool_alone():
    browser = {"id": "browser", "side_effects": "external-communication", "browses": True}
    pay = {"id": "pay", "side_effects": "external-communication", "properties": {"financial": True},
           "controls": ["AML.M0029"]}

    def approval(s: System) -> dict[str, tuple[str, bool]]:
        return {f.technique_id: (m.component, m.in_place) for f in predict(s).for_component("app").findings
                for m in f.mitigations if m.id == "AML.M0029"}

    # payments wait for a person, page loads do not: data sent out through the browser is not stopped
    got = approval(agent(browser, pay))
    assert got["AML.T0086"] == ("browser", False) and got["AML.T0053"] == ("browser", False)
    # both tools approved: in place, at a tool
    both = approval(agent({**browser, "controls": ["AML.M0029"]}, pay))
    assert both["AML.T0086"] == ("browser", True)
    # the agent's own approval of every action covers every tool, as before
    whole = approval(agent(browser, {k: v for k, v in pay.items() if k != "controls"},
                           app={"autonomy": "human-approval"}))
    assert whole["AML.T0086"] == ("app", True)


@pytest.mark.parametrize(("access", "theirs"), [(["query"], False), (["query", "insider"], True)])
def test_white_box_through_the_copy_on_devices_does_not_hand_over_the_model_on_our_servers(access, theirs):
    s = system([{"id": "agents", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "scores"},
                {"id": "edge", "kind": "model", "task": "classification",
                 "trained_by": "us", "properties": {"on_device": True}},
                {"id": "cloud", "kind": "model", "task": "classification", "trained_by": "us",
                 "artifact_format": "joblib"},
                {"id": "author", "kind": "adversary", "actor": "criminal", "goals": ["evade"],
                 "knowledge": "white-box", "access": access}],
               [{"from": "agents", "to": "api"}, {"from": "api", "to": "cloud"}, {"from": "agents", "to": "edge"}])
    got = predict(s)
    held = {f.component for f in got.findings if f.technique_id == "AML.T0044"
            and any(r.startswith("author holds") for r in f.reasons)}
    assert "edge" in held and ("cloud" in held) is theirs
    # and so for optimising inputs against their copy
    copied = {f.component for f in got.findings if f.technique_id == "AML.T0043.000"
              and any(r.startswith("author can") for r in f.reasons)}
    assert "edge" in copied and ("cloud" in copied) is theirs


def test_no_query_limit_is_advised_for_a_model_queried_on_the_attackers_own_copy():
    def at_the_api(front: bool) -> set[str]:
        comps = [{"id": "agents", "kind": "external", "actor": "user"},
                 {"id": "scan", "kind": "model", "task": "classification", "trained_by": "us",
                  "properties": {"on_device": True}}]
        comps += [{"id": "api", "kind": "service", "audience": "public", "returns": "scores"}] if front else []
        flows = [{"from": "agents", "to": "api"}, {"from": "api", "to": "scan"}] if front else \
            [{"from": "agents", "to": "scan"}]
        return {m.id for f in predict(system(comps, flows)).for_component("scan").findings for m in f.mitigations
                if m.id in ("AML.M0004", "AML.M0002", "AML.M0024")}
    assert at_the_api(front=False) == set()
    assert at_the_api(front=True)  # a cloud API in front can still limit and coarsen what comes back


def test_weights_a_vendor_delivers_and_records_an_insider_keeps_can_be_tampered_with():
    s = system([{"id": "door", "kind": "external", "actor": "user"},
                {"id": "face", "kind": "model", "task": "classification", "modality": "image", "trained_by": "vendor",
                 "source": "vendor", "artifact_format": "onnx", "properties": {"on_device": True}},
                {"id": "gallery", "kind": "dataset", "used_for": "retrieval", "writers": "internal"},
                {"id": "hr", "kind": "adversary", "actor": "insider", "goals": ["impersonate"],
                 "access": ["insider"]}],
               [{"from": "door", "to": "face"}, {"from": "gallery", "to": "face"}])
    got = predict(s)
    assert "face" in on(got, "AML.T0018.000")  # a backdoor in delivered weights runs here as it came
    assert any(r == "hr can change gallery's records from inside"
               for f in got.findings if f.technique_id == "AML.T0059" for r in f.reasons)
    outsider = system([{"id": "gallery", "kind": "dataset", "used_for": "retrieval", "writers": "internal"},
                       {"id": "hr", "kind": "adversary", "actor": "criminal", "goals": ["impersonate"],
                        "access": ["physical"]}], [])
    assert "gallery" not in on(predict(outsider), "AML.T0059")


def test_tool_data_poisoning_needs_an_agent_that_reads_the_tool():
    relay = {"id": "relay", "kind": "tool", "side_effects": "external-communication"}
    alone = system([{"id": "door", "kind": "external", "actor": "internet"}, relay], [{"from": "door", "to": "relay"}])
    assert "relay" not in on(predict(alone), "AML.T0099")
    assert "relay" in on(predict(agent({k: v for k, v in relay.items() if k != "kind"})), "AML.T0099")


def test_a_tool_from_a_contracted_provider_is_a_supplier_not_a_marketplace_plug_in():
    pay = {"id": "pay", "side_effects": "external-communication", "hosted": True}
    published = {"AML.T0011.002", "AML.T0104", "AML.T0109", "AML.T0110", "AML.T0074"}
    vendor = predict(agent({**pay, "source": "vendor"}))
    market = predict(agent({**pay, "source": "third-party"}))
    assert "pay" in on(vendor, "AML.T0010") and "pay" in on(vendor, "AML.T0010.005")
    assert not {t for t in published if "pay" in on(vendor, t)}
    assert {t for t in published if "pay" in on(market, t)} == published
    # nothing of a hosted tool is here to verify
    assert not {m.id for f in vendor.for_component("pay").findings for m in f.mitigations} & {"AML.M0014", "AML.M0013"}


def test_explanations_give_a_caller_all_that_scores_give():
    def found(returns: str) -> set[str]:
        s = system([{"id": "u", "kind": "external", "actor": "user"},
                    {"id": "api", "kind": "service", "audience": "public", "returns": returns},
                    {"id": "credit", "kind": "model", "task": "classification", "modality": "tabular",
                     "trained_by": "us"}],
                   [{"from": "u", "to": "api"}, {"from": "api", "to": "credit"}, {"from": "credit", "to": "api"}])
        return set(predict(s).technique_ids)
    assert found("scores") - found("labels")  # the richer output adds something...
    assert found("scores") <= found("explanations")  # ...and reasons beside scores lose none of it


@pytest.mark.parametrize(("trimmed", "leaks"), [(None, True), (False, True), (True, False)])
def test_a_store_that_trims_results_to_the_askers_rights_leaks_nothing_between_users(trimmed, leaks):
    store = {"id": "wiki", "kind": "retrieval-store", "writers": "internal", "sensitive": True,
             **({"per_user": trimmed} if trimmed is not None else {})}
    s = system([{"id": "u", "kind": "external", "actor": "user"},
                {"id": "chat", "kind": "service", "audience": "internal", "returns": "text"},
                {"id": "app", "kind": "llm-app", "memory": "none"}, store],
               [{"from": "u", "to": "chat"}, {"from": "chat", "to": "app"}, {"from": "wiki", "to": "app"}])
    got = predict(s)
    assert ("app" in on(got, "AML.T0057")) is leaks
    assert "app" in on(got, "AML.T0051.001") or "app" in on(got, "AML.T0051")  # planted text still reaches it


def test_a_data_set_read_only_through_a_store_that_trims_results_leaks_nothing_between_users():
    comps = [{"id": "u", "kind": "external", "actor": "user"},
             {"id": "chat", "kind": "service", "audience": "internal", "returns": "text"},
             {"id": "app", "kind": "llm-app", "memory": "none"},
             {"id": "wiki", "kind": "dataset", "sensitive": True, "used_for": "retrieval", "writers": "internal"},
             {"id": "index", "kind": "retrieval-store", "writers": "internal", "sensitive": True, "per_user": True},
             {"id": "nosy", "kind": "adversary", "actor": "insider", "goals": ["steal-data"],
              "access": ["query", "account"]}]
    flows = [{"from": "u", "to": "chat"}, {"from": "chat", "to": "app"}, {"from": "wiki", "to": "index"},
             {"from": "index", "to": "app"}]
    assert "app" not in on(predict(system(comps, flows)), "AML.T0057")
    # a set the model is trained on is in its weights, whoever asks
    trained = [{**c, "used_for": ["retrieval", "training"]} if c["id"] == "wiki" else c for c in comps]
    trained.append({"id": "llm", "kind": "model", "task": "generation"})
    assert "app" in on(predict(system(trained, [*flows, {"from": "wiki", "to": "llm"}, {"from": "llm", "to": "app"},
                                                 {"from": "app", "to": "llm"}])), "AML.T0057")


def test_a_victims_conversation_leaks_only_where_people_talk_to_the_app_and_names_who_plants():
    base = [{"id": "forge", "kind": "external", "actor": "internet"},
            {"id": "hook", "kind": "service", "audience": "public", "authentication": "none", "returns": "none"},
            {"id": "bot", "kind": "llm-app", "memory": "session"},
            {"id": "planter", "kind": "adversary", "actor": "criminal", "goals": ["steal-data"], "access": ["content"]},
            {"id": "asker", "kind": "adversary", "actor": "user", "goals": ["steal-data"], "access": ["query"]}]
    fed = [{"from": "forge", "to": "hook"}, {"from": "hook", "to": "bot"}]
    reasons = [r for f in predict(system(base, fed)).findings if f.technique_id == "AML.T0057" for r in f.reasons]
    assert not reasons  # a webhook-fed bot keeps no one's private words
    chat = [*base, {"id": "people", "kind": "external", "actor": "user"},
            {"id": "ui", "kind": "service", "audience": "public", "returns": "text"}]
    talked = [*fed, {"from": "people", "to": "ui"}, {"from": "ui", "to": "bot"}, {"from": "bot", "to": "ui"}]
    reasons = [r for f in predict(system(chat, talked)).findings if f.technique_id == "AML.T0057" for r in f.reasons]
    assert not reasons  # what the bot repeats goes back to the victim alone
    chat[2] = {**chat[2], "renders_markdown": True}  # an image in the answer loads from the planter's server
    reasons = [r for f in predict(system(chat, talked)).findings if f.technique_id == "AML.T0057" for r in f.reasons]
    assert "planter can plant text that makes bot repeat what its users told it" in reasons
    assert not any(r.startswith(("asker", "planter, asker")) for r in reasons)


def test_an_adversary_with_an_account_queries_a_staff_api_as_outsiders_query_a_public_one():
    comps = [{"id": "analysts", "kind": "external", "actor": "user"},
             {"id": "explain", "kind": "service", "audience": "internal", "returns": "explanations"},
             {"id": "fraud", "kind": "model", "task": "classification", "modality": "tabular", "trained_by": "us"},
             {"id": "rogue", "kind": "adversary", "actor": "insider", "goals": ["evade", "steal-model"],
              "access": ["account"]}]
    flows = [{"from": "analysts", "to": "explain"}, {"from": "explain", "to": "fraud"},
             {"from": "fraud", "to": "explain"}]
    got = predict(system(comps, flows))
    for tid in ("AML.T0043.001", "AML.T0024.002"):
        assert any("rogue" in r and "explain" in r and "their own account" in r
                   for f in got.findings if f.technique_id == tid for r in f.reasons)
    outsider = [c if c["id"] != "rogue" else {**c, "actor": "criminal", "access": ["query"]} for c in comps]
    assert not any("their own account" in r for f in predict(system(outsider, flows)).findings for r in f.reasons)


def test_a_public_chat_reaches_a_back_office_app_on_the_same_llm_endpoint_only_through_what_it_stores():
    def both(shared: bool) -> System:
        llm2 = "llm" if shared else "llm2"
        return system([{"id": "customers", "kind": "external", "actor": "user"},
                       {"id": "chat-api", "kind": "service", "audience": "public", "returns": "text"},
                       {"id": "chatbot", "kind": "llm-app", "system_prompt": True},
                       {"id": "llm", "kind": "model", "task": "generation"},
                       {"id": "llm2", "kind": "model", "task": "generation"},
                       {"id": "tickets", "kind": "dataset", "writers": "public", "used_for": ["retrieval"]},
                       {"id": "summariser", "kind": "llm-app", "system_prompt": True},
                       {"id": "staff", "kind": "external", "actor": "user"},
                       {"id": "desk", "kind": "service", "audience": "internal", "authentication": "oauth",
                        "returns": "text"}],
                      [{"from": "customers", "to": "chat-api"}, {"from": "chat-api", "to": "chatbot"},
                       {"from": "chatbot", "to": "chat-api"}, {"from": "chatbot", "to": "llm"},
                       {"from": "llm", "to": "chatbot"}, {"from": "chatbot", "to": "tickets"},
                       {"from": "tickets", "to": "summariser"}, {"from": "summariser", "to": llm2},
                       {"from": llm2, "to": "summariser"}, {"from": "summariser", "to": "desk"},
                       {"from": "desk", "to": "staff"}])
    for shared in (True, False):
        got = predict(both(shared))
        # what customers type rests in the tickets before the summariser reads it: indirect, not direct
        assert "summariser" in on(got, "AML.T0051.001")
        assert "summariser" not in on(got, "AML.T0051.000") | on(got, "AML.T0065") | on(got, "AML.T0056")
        assert "chatbot" in on(got, "AML.T0051.000")


@pytest.mark.parametrize(("returns", "talked_to"), [("none", False), ("text", True)])
def test_an_app_behind_an_upload_endpoint_is_read_from_not_talked_to(returns, talked_to):
    got = predict(system([{"id": "candidates", "kind": "external", "actor": "internet"},
                          {"id": "portal", "kind": "service", "audience": "public", "returns": returns},
                          {"id": "screener", "kind": "llm-app", "system_prompt": True}],
                         [{"from": "candidates", "to": "portal"}, {"from": "portal", "to": "screener"},
                          *([{"from": "screener", "to": "portal"}] if talked_to else [])]))
    jailbreaks = [r for f in got.findings if f.technique_id == "AML.T0054" for r in f.reasons]
    # argued with where talked to; otherwise only planted in what it reads (audit W; ATLAS's incidents)
    assert any("can talk to" in r for r in jailbreaks) is talked_to
    assert talked_to or jailbreaks == ["screener reads text others write (candidates, portal); a jailbreak planted "
                                       "there argues its safety rules away when it is read"], jailbreaks
    obfuscated = [r for f in got.findings if f.technique_id == "AML.T0068" for r in f.reasons]
    assert any("accepts prompts from" in r for r in obfuscated) is talked_to
    assert "screener" in on(got, "AML.T0051")  # what the CVs say still reaches its prompt


@pytest.mark.parametrize(("approver", "flooded"), [("staff", True), (None, True), ("requester", False)])
def test_junk_requests_flood_no_one_with_approvals_but_the_sender_where_the_asker_approves(approver, flooded):
    app = {"autonomy": "human-approval", **({"approver": approver} if approver else {})}
    got = predict(agent({"id": "refund", "side_effects": "write"}, app=app))
    assert ("app" in on(got, "AML.T0046")) is flooded


@pytest.mark.parametrize(("props", "copied"), [({}, True), ({"on_device": True}, False), ({"published": True}, False)])
def test_no_one_copies_a_model_from_its_answers_whose_weights_ship_to_every_phone(props, copied):
    # a keyboard's next-word model inside the app: whoever wants it unpacks the app (AML.T0044), no answers
    # need collecting to train a copy (audit S)
    thief = {"id": "rival", "kind": "adversary", "actor": "competitor", "goals": ["steal-model"], "access": ["query"]}
    s = system([{"id": "u", "kind": "external", "actor": "user"},
                {"id": "kbd", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "m", "kind": "model", "task": "other", "modality": "text", "trained_by": "us",
                 "properties": props}, thief],
               [{"from": "u", "to": "kbd"}, {"from": "kbd", "to": "m"}, {"from": "m", "to": "kbd"}])
    got = predict(s)
    for tid in ("AML.T0024.002", "AML.T0005.001"):
        assert ("m" in on(got, tid)) is copied, tid


@pytest.mark.parametrize(("trusted", "planted"), [(True, False), (False, True), (None, True)])
def test_documents_said_trusted_on_every_way_into_the_app_are_no_planted_store(trusted, planted):
    # a repository maintainers merge outside contributions into, read by a coding agent: marked trusted on
    # its way in, it is what injection already leaves out (audit P); undrawn, the store keeps its findings
    s = system([{"id": "u", "kind": "external", "actor": "user"},
                {"id": "chat", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "app", "kind": "llm-app"},
                {"id": "repo", "kind": "retrieval-store", "sources": ["collected", "user-submitted"],
                 "writers": "internal"}],
               [{"from": "u", "to": "chat"}, {"from": "chat", "to": "app"}, {"from": "app", "to": "chat"},
                *([{"from": "repo", "to": "app", "trusted": trusted}] if trusted is not None else [])])
    got = predict(s)
    for tid in ("AML.T0070", "AML.T0066"):
        assert (on(got, tid) == {"repo"}) is planted, tid
    if trusted is not None:
        assert ("app" in on(got, "AML.T0071")) is planted


def test_a_lookup_of_the_askers_own_mailbox_still_gives_an_injection_in_its_mail_the_victims_mail():
    # mail anyone sends lands, through the gateway, in the mailbox the assistant searches for its user: an
    # instruction hidden in one acts as that user, so per-user scoping hands over exactly the victim's mail,
    # credentials in it included (audit P); rows the asker alone writes (their own orders) stay left out
    def assistant(mail: bool) -> System:
        comps = [{"id": "staff", "kind": "external", "actor": "user"},
                 {"id": "chat", "kind": "service", "audience": "internal", "authentication": "oauth",
                  "returns": "text"},
                 {"id": "app", "kind": "llm-app", "tools": ["search"], "autonomy": "autonomous"},
                 {"id": "search", "kind": "tool", "side_effects": "read", "per_user": True, "sensitive": True},
                 {"id": "box", "kind": "retrieval-store", "per_user": True, "sensitive": True}]
        flows = [{"from": "staff", "to": "chat"}, {"from": "chat", "to": "app"}, {"from": "app", "to": "chat"},
                 {"from": "box", "to": "search"}]
        if mail:
            comps += [{"id": "senders", "kind": "external", "actor": "internet"},
                      {"id": "mx", "kind": "service", "audience": "public", "authentication": "none",
                       "returns": "none"}]
            flows += [{"from": "senders", "to": "mx"}, {"from": "mx", "to": "box"}]
            comps[4]["writers"] = "public"
        return system(comps, flows)

    for mail in (True, False):
        got = predict(assistant(mail))
        assert ("app" in on(got, "AML.T0098")) is mail, mail
        if mail:  # gathering the victim's mail: the scoping that hands it over is no tool permission that stops it
            collect = next(f for f in got.findings if f.component == "app" and f.technique_id == "AML.T0085.001")
            scoped = next(m for m in collect.mitigations if m.id == "AML.M0028")
            assert not scoped.in_place and not collect.mitigated, scoped
