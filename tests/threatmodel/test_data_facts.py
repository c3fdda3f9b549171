"""What a description says of its data: a store said not sensitive holds nothing worth taking through the
app that reads it, and a data set a vendor delivers privately is not one an adversary publishes."""

from __future__ import annotations

import pytest

from advmatrix.threatmodel import System
from advmatrix.threatmodel.predict import predict


def system(components, flows=()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


def found(s: System, component: str) -> set[str]:
    return {f.technique_id for f in predict(s).findings if f.component == component}


def lessons_bot(sensitive: bool | None) -> System:
    store = {"id": "lessons", "kind": "retrieval-store", "writers": "internal", "sources": ["collected"]}
    if sensitive is not None:
        store["sensitive"] = sensitive
    return system([{"id": "kids", "kind": "external", "actor": "user"},
                   {"id": "web", "kind": "service", "audience": "public", "returns": "text"},
                   {"id": "tutor", "kind": "llm-app", "system_prompt": True}, store,
                   {"id": "thief", "kind": "adversary", "actor": "criminal", "goals": ["steal-data"],
                    "access": ["query"]}],
                  [{"from": "kids", "to": "web"}, {"from": "web", "to": "tutor"}, {"from": "lessons", "to": "tutor"},
                   {"from": "tutor", "to": "web"}, {"from": "web", "to": "kids"}])


TAKING = {"AML.T0082", "AML.T0085", "AML.T0085.000"}


@pytest.mark.parametrize(("sensitive", "taken"), [(False, False), (True, True), (None, True)])
def test_a_store_said_not_sensitive_has_nothing_worth_taking(sensitive, taken):
    got = found(lessons_bot(sensitive), "tutor")
    assert (TAKING <= got) if taken else not TAKING & got, TAKING & got


@pytest.mark.parametrize(("source", "published"), [("vendor", False), ("scraped", True), ("public", True)])
def test_an_adversary_in_the_supply_chain_publishes_only_data_that_is_published(source, published):
    s = system([{"id": "labelled", "kind": "dataset", "source": source, "used_for": ["training"]},
                {"id": "detector", "kind": "model", "task": "detection", "modality": "image", "trained_by": "us"},
                {"id": "labeller", "kind": "adversary", "actor": "criminal", "goals": ["manipulate"],
                 "access": ["supply-chain"]}],
               [{"from": "labelled", "to": "detector"}])
    assert ("AML.T0019" in found(s, "labelled")) is published


def test_a_model_that_reads_text_off_images_is_evaded_like_one_that_transcribes_speech():
    # a doctored invoice misread under the payout threshold: the OCR model decides what the document says
    s = system([{"id": "claimants", "kind": "external", "actor": "user"},
                {"id": "portal", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "ocr", "kind": "model", "task": "text-recognition", "modality": "image"}],
               [{"from": "claimants", "to": "portal"}, {"from": "portal", "to": "ocr"}])
    got = found(s, "ocr")
    assert {"AML.T0015", "AML.T0043"} <= got
    # scans people upload are not sensed from the world: no physical-environment attack unless it says so
    assert "AML.T0041" not in got


@pytest.mark.parametrize(("side_effects", "sensitive", "leaks"), [
    ("external-communication", True, True), ("external-communication", None, False), ("read", None, True)])
def test_a_plugin_that_reads_a_mailbox_leaks_through_the_app_whatever_else_it_can_do(side_effects, sensitive, leaks):
    plugin = {"id": "mail", "kind": "tool", "side_effects": side_effects, "source": "third-party"}
    if sensitive is not None:
        plugin["sensitive"] = sensitive
    s = system([{"id": "people", "kind": "external", "actor": "user"},
                {"id": "chat", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "assistant", "kind": "llm-app", "tools": ["mail"]}, plugin],
               [{"from": "people", "to": "chat"}, {"from": "chat", "to": "assistant"},
                {"from": "assistant", "to": "chat"}])
    got = {f.technique_id: f for f in predict(s).findings if f.component == "assistant"}
    for tid in ("AML.T0057", "AML.T0085.001"):
        assert (tid in got and any("mail" in r for r in got[tid].reasons)) is leaks, tid


def test_a_store_that_trims_to_the_askers_rights_gives_each_their_own():
    def bank(per_user):
        return system([{"id": "customers", "kind": "external", "actor": "user"},
                       {"id": "chat", "kind": "service", "audience": "public", "returns": "text"},
                       {"id": "bot", "kind": "llm-app"},
                       {"id": "statements", "kind": "retrieval-store", "writers": "internal", "sensitive": True,
                        "per_user": per_user}],
                      [{"from": "customers", "to": "chat"}, {"from": "chat", "to": "bot"},
                       {"from": "statements", "to": "bot"}, {"from": "bot", "to": "chat"}])
    assert "AML.T0085.000" not in found(bank(True), "bot")
    assert "AML.T0085.000" in found(bank(False), "bot")


@pytest.mark.parametrize(("physical", "sensed"), [(False, False), (None, True)])
def test_an_adversary_with_physical_access_changes_only_what_a_model_senses(physical, sensed):
    matcher = {"id": "faces", "kind": "model", "task": "classification", "modality": "image"}
    if physical is not None:
        matcher["properties"] = {"physical": physical}  # uploaded selfies, not a camera at a door
    s = system([matcher, {"id": "scammer", "kind": "adversary", "actor": "criminal", "goals": ["evade"],
                          "access": ["physical"]}])
    assert ({"AML.T0041", "AML.T0008.003"} <= found(s, "faces")) is sensed


def test_an_insiders_poisoning_is_stopped_where_the_data_are_checked():
    s = system([{"id": "outcomes", "kind": "dataset", "writers": "internal", "used_for": ["training"],
                 "controls": ["AML.M0007", "AML.M0025"]},
                {"id": "sepsis", "kind": "model", "task": "classification", "modality": "tabular", "trained_by": "us"},
                {"id": "clinician", "kind": "adversary", "actor": "insider", "goals": ["manipulate"],
                 "access": ["insider"]}],
               [{"from": "outcomes", "to": "sepsis"}])
    f = next(f for f in predict(s).findings if f.component == "sepsis" and f.technique_id == "AML.T0020")
    assert any("clinician" in r for r in f.reasons)
    assert {m.id: m.in_place_at for m in f.mitigations if m.id in ("AML.M0007", "AML.M0025")} == {
        "AML.M0007": "outcomes", "AML.M0025": "outcomes"}


@pytest.mark.parametrize(("access", "eroded"), [("insider", True), ("query", False)])
def test_someone_inside_can_wear_a_model_down_through_the_data_it_is_retrained_on(access, eroded):
    s = system([{"id": "outcomes", "kind": "dataset", "writers": "internal", "used_for": ["training"]},
                {"id": "sepsis", "kind": "model", "task": "classification", "modality": "tabular", "trained_by": "us"},
                {"id": "eve", "kind": "adversary", "actor": "insider", "goals": ["manipulate"], "access": [access]}],
               [{"from": "outcomes", "to": "sepsis"}])
    reasons = [r for f in predict(s).findings if f.technique_id == "AML.T0031" for r in f.reasons]
    assert any(r.startswith("eve can wear down sepsis") for r in reasons) is eroded, reasons


def companion(partitioned: bool | None) -> System:
    store = {"id": "memories", "kind": "retrieval-store", "sources": ["user-submitted"], "writers": "public",
             "sensitive": True}
    if partitioned is not None:
        store["partitioned"] = partitioned
    return system([{"id": "users", "kind": "external", "actor": "user"},
                   {"id": "app-api", "kind": "service", "audience": "public", "authentication": "oauth",
                    "returns": "text"},
                   {"id": "companion", "kind": "llm-app", "system_prompt": True, "memory": "persistent",
                    "shared_memory": False, "tools": ["remember"], "autonomy": "autonomous"},
                   {"id": "remember", "kind": "tool", "side_effects": "write", "source": "first-party",
                    "sends_only": True}, store,
                   {"id": "attacker", "kind": "adversary", "actor": "criminal", "goals": ["steal-data", "manipulate"],
                    "access": ["query", "content"]}],
                  [{"from": "users", "to": "app-api"}, {"from": "app-api", "to": "companion"},
                   {"from": "companion", "to": "app-api"}, {"from": "app-api", "to": "users"},
                   {"from": "companion", "to": "remember"}, {"from": "remember", "to": "memories"},
                   {"from": "memories", "to": "companion"}])


PLANTED = {"AML.T0070", "AML.T0066", "AML.T0071", "AML.T0051.001", "AML.T0064"}


def test_per_user_memory_kept_apart_carries_no_one_elses_planted_text():
    shared = {f.technique_id for f in predict(companion(None)).findings}
    apart = predict(companion(True))
    kept = {f.technique_id for f in apart.findings}
    assert PLANTED & shared and not PLANTED & kept, (PLANTED & shared, PLANTED & kept)
    # one's own memory is still theirs to poison in conversation, and nothing leaks between users
    assert "AML.T0080.000" in kept
    assert "AML.T0057" not in {f.technique_id for f in apart.findings if f.component == "companion"}
    assert companion(True).component("memories").get("per_user") is True


@pytest.mark.parametrize(("goals", "poisons"), [(["evade"], True), (["manipulate"], True), (["steal-model"], False)])
def test_an_insider_who_wants_a_trigger_to_slip_past_a_detector_later_poisons_its_training_data(goals, poisons):
    s = system([{"id": "feed", "kind": "service", "audience": "internal", "returns": "none"},
                {"id": "detector", "kind": "model", "task": "anomaly-detection", "modality": "tabular",
                 "trained_by": "us"},
                {"id": "historian", "kind": "dataset", "source": "collected", "writers": "internal",
                 "used_for": ["training"]},
                {"id": "saboteur", "kind": "adversary", "actor": "insider", "goals": goals,
                 "access": ["insider"]}],
               [{"from": "feed", "to": "detector", "trusted": True}, {"from": "historian", "to": "detector"}])
    assert ("AML.T0020" in found(s, "detector")) is poisons


def wiki_bot(access: list[str] | None) -> System:
    parts = [{"id": "staff", "kind": "external", "actor": "user"},
             {"id": "gw", "kind": "service", "audience": "internal", "authentication": "oauth", "returns": "text"},
             {"id": "bot", "kind": "llm-app", "tools": ["confluence"], "memory": "session"},
             {"id": "confluence", "kind": "tool", "side_effects": "read", "source": "first-party", "browses": False},
             {"id": "pages", "kind": "retrieval-store", "sources": ["collected"], "writers": "internal"}]
    if access:
        parts.append({"id": "rogue", "kind": "adversary", "actor": "insider", "goals": ["manipulate"],
                      "access": access})
    return system(parts, [{"from": "staff", "to": "gw"}, {"from": "gw", "to": "bot"}, {"from": "bot", "to": "gw"},
                          {"from": "gw", "to": "staff"}, {"from": "pages", "to": "confluence"}])


def test_a_wiki_only_staff_edit_carries_no_outsiders_text_but_an_insider_writes_it():
    alone = {f.technique_id: f for f in predict(wiki_bot(None)).findings}
    assert not {"AML.T0051.001", "AML.T0093", "AML.T0070", "AML.T0099"} & set(alone)
    inside = predict(wiki_bot(["insider"]))
    got = {(f.component, f.technique_id) for f in inside.findings}
    assert {("pages", "AML.T0070"), ("bot", "AML.T0051.001"), ("confluence", "AML.T0099")} <= got
    assert not any("outsiders" in r for f in inside.findings for r in f.reasons if f.technique_id == "AML.T0093")


def trials_bot(dataset: dict, trusted: bool) -> System:
    return system([{"id": "doctors", "kind": "external", "actor": "user"},
                   {"id": "ui", "kind": "service", "audience": "internal", "authentication": "oauth",
                    "returns": "text"},
                   {"id": "app", "kind": "llm-app", "tools": ["trial-search"]},
                   {"id": "trial-search", "kind": "tool", "side_effects": "read", "browses": False},
                   {"id": "trials-db", "kind": "dataset", "used_for": ["retrieval"], **dataset}],
                  [{"from": "doctors", "to": "ui"}, {"from": "ui", "to": "app"}, {"from": "app", "to": "ui"},
                   {"from": "trials-db", "to": "trial-search", "trusted": trusted}])


def test_a_data_set_said_not_sensitive_leaks_nothing_through_the_tool_that_reads_it():
    said = trials_bot({"source": "collected", "writers": "internal", "sensitive": False}, True)
    assert "AML.T0057" not in found(said, "app")
    # a data set's sensitivity defaults to false (docs): one said to hold patients' records leaks through the tool
    assert "AML.T0057" in found(trials_bot({"source": "collected", "writers": "internal", "sensitive": True}, True),
                                "app")


def test_a_tool_fed_over_a_trusted_flow_brings_back_no_outsiders_data():
    public = {"source": "public", "writers": "internal"}
    assert "AML.T0099" not in found(trials_bot(public, True), "trial-search")
    assert "AML.T0099" in found(trials_bot(public, False), "trial-search")


def test_an_upload_endpoint_that_fills_a_partitioned_store_brings_no_ones_text_to_another_tenant():
    def tenants(partitioned: bool) -> System:
        return system([{"id": "users", "kind": "external", "actor": "user"},
                       {"id": "upload", "kind": "service", "audience": "public", "authentication": "oauth",
                        "returns": "none"},
                       {"id": "ask", "kind": "service", "audience": "public", "authentication": "oauth",
                        "returns": "text"},
                       {"id": "app", "kind": "llm-app"},
                       {"id": "store", "kind": "retrieval-store", "sources": ["user-submitted"], "writers": "public",
                        "partitioned": partitioned}],
                      [{"from": "users", "to": "upload"}, {"from": "upload", "to": "store"},
                       {"from": "store", "to": "app"}, {"from": "users", "to": "ask"}, {"from": "ask", "to": "app"},
                       {"from": "app", "to": "ask"}])
    planted = {"AML.T0051.001", "AML.T0093"}
    assert planted <= found(tenants(False), "app")
    assert not planted & found(tenants(True), "app")


@pytest.mark.parametrize(("trimmed", "leaks"), [(True, False), (None, True)])
def test_a_sql_tool_with_row_level_security_hands_no_asker_anothers_rows(trimmed, leaks):
    tool = {"id": "run-sql", "kind": "tool", "side_effects": "read", "sensitive": True}
    if trimmed is not None:
        tool["per_user"] = trimmed
    s = system([{"id": "analysts", "kind": "external", "actor": "user"},
                {"id": "ui", "kind": "service", "audience": "internal", "authentication": "oauth", "returns": "text"},
                {"id": "assistant", "kind": "llm-app", "tools": ["run-sql"]}, tool,
                {"id": "warehouse", "kind": "dataset", "writers": "internal", "sensitive": True}],
               [{"from": "analysts", "to": "ui"}, {"from": "ui", "to": "assistant"}, {"from": "assistant", "to": "ui"},
                {"from": "warehouse", "to": "run-sql", "trusted": True}])
    assert ("AML.T0057" in found(s, "assistant")) is leaks
    # the warehouse itself is still worth stealing from inside
    assert "AML.T0025" in found(s, "warehouse")


@pytest.mark.parametrize("used_for", ["training", "evaluation"])
def test_a_model_s_training_or_evaluation_set_is_no_text_an_llm_app_behind_it_reads(used_for):
    # ID scans read by an OCR model whose evaluation (or training) set outsiders contribute to: those records
    # reach no prompt; what the OCR model reads at inference time does
    s = System.model_validate({"name": "t", "components": [
        {"id": "applicants", "kind": "external", "actor": "user"},
        {"id": "api", "kind": "service", "audience": "public", "returns": "labels"},
        {"id": "ocr", "kind": "model", "task": "text-recognition", "modality": "image", "outputs": ["text"]},
        {"id": "records", "kind": "dataset", "used_for": [used_for], "writers": "public", "sensitive": True},
        {"id": "summariser", "kind": "llm-app", "system_prompt": True},
        {"id": "fraud", "kind": "adversary", "actor": "criminal", "goals": ["fraud", "steal-data"],
         "access": ["content", "query"]}],
        "flows": [{"from": "applicants", "to": "api"}, {"from": "api", "to": "ocr"}, {"from": "records", "to": "ocr"},
                  {"from": "ocr", "to": "summariser"}]})
    # what a model learned may leak through an app behind it (AML.T0057); an evaluation set is not learned
    read = ("AML.T0051.001", "AML.T0093", "AML.T0051") + (("AML.T0057",) if used_for == "evaluation" else ())
    named = [r for f in predict(s).findings if f.component == "summariser" and f.technique_id in read
             for r in f.reasons]
    assert not [r for r in named if "records" in r], named


@pytest.mark.parametrize(("writers", "harvested"), [("internal", True), ("partner", True), ("public", False)])
def test_documents_staff_and_partners_write_may_hold_their_keys(writers, harvested):
    s = lessons_bot(None)
    data = s.model_dump(by_alias=True, exclude_none=True)
    for c in data["components"]:
        if c["id"] == "lessons":
            c["writers"] = writers
    assert ("AML.T0082" in found(System.model_validate(data), "tutor")) is harvested


@pytest.mark.parametrize(("component", "moves_money"), [
    ({"id": "x", "kind": "dataset", "sensitive": True}, False),
    ({"id": "x", "kind": "tool", "side_effects": "read"}, False),
    ({"id": "x", "kind": "tool", "side_effects": "write"}, True),
    ({"id": "x", "kind": "service", "audience": "internal"}, True)])
def test_only_what_acts_moves_money(component, moves_money):
    s = System.model_validate({"name": "t", "components": [{**component, "properties": {"financial": True}}]})
    assert ("AML.T0048.000" in {f.technique_id for f in predict(s).findings if f.component == "x"}) is moves_money


@pytest.mark.parametrize(("task", "leaks"), [("classification", False), ("text-recognition", True)])
def test_what_a_model_learned_leaks_through_an_app_behind_it_only_if_it_writes_text(task, leaks):
    # a phishing classifier's labelled mail, or an OCR model's scans, before an LLM that reads its output
    s = System.model_validate({"name": "t", "components": [
        {"id": "senders", "kind": "external", "actor": "internet"},
        {"id": "m", "kind": "model", "task": task, "modality": "text"},
        {"id": "labelled", "kind": "dataset", "used_for": ["training"], "writers": "internal", "sensitive": True},
        {"id": "writer", "kind": "llm-app", "system_prompt": True},
        {"id": "staff", "kind": "external", "actor": "user"}],
        "flows": [{"from": "senders", "to": "m"}, {"from": "labelled", "to": "m"}, {"from": "m", "to": "writer"},
                  {"from": "senders", "to": "writer"}, {"from": "writer", "to": "staff"}]})
    reasons = [r for f in predict(s).findings if f.component == "writer" and f.technique_id == "AML.T0057"
               for r in f.reasons]
    assert any("labelled" in r for r in reasons) is leaks


def operational_db(read_by_tool: bool) -> System:
    """A bookings database an agent reads through a lookup tool (or, for contrast, straight as retrieval)."""
    flows = [{"from": "mail", "to": "agent"}, {"from": "agent", "to": "mail"},
             {"from": "bookings", "to": "lookup" if read_by_tool else "agent"}]
    return system([{"id": "mail", "kind": "service", "audience": "public", "authentication": "none",
                    "returns": "text"},
                   {"id": "agent", "kind": "llm-app", "tools": ["lookup"]},
                   {"id": "lookup", "kind": "tool", "side_effects": "read", "sensitive": True},
                   {"id": "bookings", "kind": "dataset", "writers": "internal", "sensitive": True,
                    "used_for": ["retrieval"]}], flows)


def test_a_database_only_a_tool_reads_is_no_ai_artifact_and_no_rag_corpus():
    # the agent sees what the tool returns for a booking; no model learns from or retrieves the table itself
    assert "AML.T0035" not in found(operational_db(True), "bookings")
    assert "AML.T0082" not in found(operational_db(True), "agent")
    assert "AML.T0035" in found(operational_db(False), "bookings")
    assert "AML.T0082" in found(operational_db(False), "agent")


def test_anyone_who_can_open_the_address_a_message_comes_from_can_open_accounts():
    # mail needs no credentials, but free addresses are accounts an adversary opens by the hundred
    def gateway(signup):
        return system([{"id": "senders", "kind": "external", "actor": "internet"},
                       {"id": "mail", "kind": "service", "audience": "public", "authentication": "none",
                        "returns": "text", "open_signup": signup},
                       {"id": "agent", "kind": "llm-app"}],
                      [{"from": "senders", "to": "mail"}, {"from": "mail", "to": "agent"}])
    assert "AML.T0021" in found(gateway(True), "mail")
    assert "AML.T0021" not in found(gateway(None), "mail") | found(gateway(False), "mail")


def test_a_score_or_a_mask_can_be_gamed_by_hand_as_a_label_can():
    for task in ("regression", "segmentation"):
        s = system([{"id": "portal", "kind": "service", "audience": "public", "returns": "scores"},
                    {"id": "m", "kind": "model", "task": task, "modality": "text"}],
                   [{"from": "portal", "to": "m"}, {"from": "m", "to": "portal"}])
        assert "AML.T0043.003" in found(s, "m"), task


def test_a_signed_in_member_who_wants_to_evade_uses_the_internal_product_as_designed():
    def portal(access):
        return system([{"id": "students", "kind": "external", "actor": "user"},
                       {"id": "portal", "kind": "service", "audience": "internal", "authentication": "oauth",
                        "returns": "scores"},
                       {"id": "grader", "kind": "model", "task": "regression", "modality": "text"},
                       {"id": "cheat", "kind": "adversary", "actor": "user", "goals": ["evade"], "access": access}],
                      [{"from": "students", "to": "portal"}, {"from": "portal", "to": "grader"},
                       {"from": "grader", "to": "portal"}])
    assert "AML.T0047" in found(portal(["query", "account"]), "portal")
    assert "AML.T0047" not in found(portal(["query"]), "portal")  # no way in to a staff-only service


def test_people_who_read_a_chatbots_answers_follow_what_it_invents():
    s = system([{"id": "searchers", "kind": "external", "actor": "user"},
                {"id": "web", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "overview", "kind": "llm-app"}],
               [{"from": "searchers", "to": "web"}, {"from": "web", "to": "overview"},
                {"from": "overview", "to": "web"}, {"from": "web", "to": "searchers"}])
    assert "AML.T0060" in found(s, "overview")
    verdict = system([{**c.model_dump(mode="json", exclude_none=True),
                       **({"returns": "labels"} if c.id == "web" else {})} for c in s.components],
                     [f.model_dump(by_alias=True) for f in s.flows])
    assert "AML.T0060" not in found(verdict, "overview")  # a verdict names nothing to follow


def test_weights_we_publish_are_anyones_in_full_and_theirs_to_copy_without_asking_the_api():
    def release(published):
        props = {"properties": {"published": True}} if published else {}
        return system([{"id": "users", "kind": "external", "actor": "user"},
                       {"id": "demo", "kind": "service", "audience": "public", "returns": "scores"},
                       {"id": "m", "kind": "model", "task": "classification", "modality": "text",
                        "trained_by": "us", "artifact_format": "safetensors", **props}],
                      [{"from": "users", "to": "demo"}, {"from": "demo", "to": "m"}, {"from": "m", "to": "demo"}])
    open_weights, kept = found(release(True), "m"), found(release(False), "m")
    assert {"AML.T0044", "AML.T0043.000", "AML.T0002.001"} <= open_weights
    assert not {"AML.T0044", "AML.T0043.000", "AML.T0002.001"} & kept
    # copying it through its answers, or stealing it, takes nothing anyone may not download
    assert {"AML.T0024.002", "AML.T0048.004"} <= kept and not {"AML.T0024.002", "AML.T0048.004"} & open_weights
    advised = {m.id for f in predict(release(True)).findings for m in f.mitigations}
    assert "AML.M0001" not in advised  # releasing it is the point


@pytest.mark.parametrize("relays", [True, False, None])
def test_a_service_that_hands_senders_words_on_to_people_is_a_channel_for_phishing(relays):
    # a mail gateway: a model labels each mail, and the mail itself goes on to the mailbox whatever it says
    gateway = {"id": "gateway", "kind": "service", "audience": "public", "authentication": "none",
               "returns": "labels"}
    if relays is not None:
        gateway["relays"] = relays
    s = system([{"id": "internet", "kind": "external", "actor": "internet"}, gateway,
                {"id": "filter", "kind": "model", "task": "classification", "modality": "text"},
                {"id": "staff", "kind": "external", "actor": "user"}],
               [{"from": "internet", "to": "gateway"}, {"from": "gateway", "to": "filter"},
                {"from": "filter", "to": "gateway"}, {"from": "gateway", "to": "staff"}])
    got = found(s, "gateway")
    assert ({"AML.T0052", "AML.T0073"} <= got) is (relays is True)
    assert not {"AML.T0052", "AML.T0073"} & got or relays is True


def test_a_forum_that_says_it_relays_needs_no_reply_text_to_be_a_phishing_channel():
    base = [{"id": "members", "kind": "external", "actor": "user"},
            {"id": "site", "kind": "service", "audience": "public", "open_signup": True, "returns": "none",
             "relays": True}]
    assert "AML.T0052" in found(system(base, [{"from": "members", "to": "site"}]), "site")
    closed = [base[0], {**base[1], "open_signup": False, "authentication": "oauth"}]
    assert "AML.T0052" not in found(system(closed, [{"from": "members", "to": "site"}]), "site")


def test_published_says_nothing_of_a_model_only_its_vendor_hosts():
    s = system([{"id": "api", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "vendor",
                 "source": "vendor-api", "artifact_format": "hosted", "properties": {"published": True}}],
               [{"from": "api", "to": "llm"}])
    assert not {"AML.T0044", "AML.T0043.000", "AML.T0002.001"} & found(s, "llm")


def test_a_free_trial_open_to_anyone_on_a_partner_service_lets_anyone_open_accounts():
    def tenants(signup):
        return system([{"id": "mail-api", "kind": "service", "audience": "partner", "authentication": "api-key",
                        "returns": "labels", "open_signup": signup},
                       {"id": "clf", "kind": "model", "task": "classification", "modality": "text"}],
                      [{"from": "mail-api", "to": "clf"}])
    assert "AML.T0021" in found(tenants(True), "mail-api")
    assert "AML.T0021" not in found(tenants(None), "mail-api")  # partners are vetted unless said otherwise


@pytest.mark.parametrize("gate", [{"authentication": "none"}, {"authentication": "api-key", "open_signup": True}])
def test_a_limit_per_caller_where_callers_cost_nothing_leaves_the_bill_open(gate):
    # a public translation API with a per-address quota: every new address is a new caller
    s = system([{"id": "citizens", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "text", "rate_limited": True,
                 **gate},
                {"id": "mt", "kind": "model", "task": "translation", "modality": "text", "trained_by": "us"}],
               [{"from": "citizens", "to": "api"}, {"from": "api", "to": "mt"}, {"from": "mt", "to": "api"}])
    assert {"AML.T0034", "AML.T0034.000"} <= found(s, "api")
    vetted = system([{**c.model_dump(mode="json", exclude_none=True),
                      **({"authentication": "api-key", "open_signup": False} if c.id == "api" else {})}
                     for c in s.components], [f.model_dump(by_alias=True) for f in s.flows])
    # vetted callers under a limit: no flood of free callers (a translation still costs per request, AML.T0034)
    assert "AML.T0034.000" not in found(vetted, "api")


def test_translations_published_to_the_public_carry_planted_mistranslations_to_society():
    s = system([{"id": "citizens", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "mt", "kind": "model", "task": "translation", "modality": "text", "trained_by": "us"}],
               [{"from": "citizens", "to": "api"}, {"from": "api", "to": "mt"}, {"from": "mt", "to": "api"}])
    assert "AML.T0048.002" in found(s, "mt")


def test_a_service_relays_outsiders_words_only_where_outsiders_write_to_it():
    # a probe only our sonographer drives over a trusted flow, and a camera feed only the road sends to, hand
    # no outsider's words on to anyone: said to relay, they are no channel for phishing, and whether they do
    # is no open question (audits G and H: the 'relays' question on a probe, a car function, a telemetry sink)
    from advmatrix.threatmodel.gaps import unstated

    s = system([{"id": "sonographer", "kind": "external", "actor": "user"},
                {"id": "road", "kind": "external", "actor": "other"},
                {"id": "members", "kind": "external", "actor": "user"},
                {"id": "probe", "kind": "service", "audience": "internal", "returns": "none"},
                {"id": "camera", "kind": "service", "audience": "internal", "returns": "none"},
                {"id": "forum", "kind": "service", "audience": "public", "returns": "none", "open_signup": True},
                {"id": "seg", "kind": "model", "task": "segmentation", "modality": "image"},
                {"id": "bot", "kind": "llm-app", "system_prompt": True}],
               [{"from": "sonographer", "to": "probe", "trusted": True}, {"from": "probe", "to": "seg"},
                {"from": "road", "to": "camera"}, {"from": "camera", "to": "seg"},
                {"from": "members", "to": "forum"}, {"from": "forum", "to": "bot"}, {"from": "bot", "to": "forum"},
                {"from": "forum", "to": "members"}])
    asked = {g.component for g in unstated(s) if g.field == "relays"}
    assert "forum" in asked
    assert not {"probe", "camera"} & asked, asked
    said = s.model_copy(update={"components": tuple(
        c.model_copy(update={"relays": True, "authentication": "none"}) if c.kind == "service" else c
        for c in s.components)})
    channels = {f.component for f in predict(said).findings if f.technique_id in ("AML.T0052", "AML.T0073")}
    assert "forum" in channels and not {"probe", "camera"} & channels, channels


def test_no_question_is_asked_that_the_stated_facts_already_answer():
    # no accounts where callers need none; a door lock reads no web pages; a lookup whose only source is drawn
    # (over a trusted flow from our own library) reads that, not the web (audits J, K and L)
    from advmatrix.threatmodel.gaps import unstated

    s = system([{"id": "people", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "authentication": "none", "returns": "text"},
                {"id": "bot", "kind": "llm-app", "system_prompt": True, "tools": ["lock", "clauses", "search"]},
                {"id": "lock", "kind": "tool", "side_effects": "write", "properties": {"physical": True}},
                {"id": "clauses", "kind": "tool", "side_effects": "read"},
                {"id": "search", "kind": "tool", "side_effects": "read"},
                {"id": "library", "kind": "retrieval-store", "writers": "internal", "sources": ["collected"]}],
               [{"from": "people", "to": "api"}, {"from": "api", "to": "bot"}, {"from": "bot", "to": "api"},
                {"from": "api", "to": "people"}, {"from": "library", "to": "clauses", "trusted": True}])
    asked = {(g.component, g.field) for g in unstated(s)}
    assert ("api", "open_signup") not in asked
    assert not {("lock", "browses"), ("clauses", "browses")} & asked, asked
    assert ("search", "browses") in asked  # where nothing says what it reads, it may be the web


def test_what_an_apps_language_model_writes_is_not_asked():
    # the LLM an app prompts writes the app's text; asking whether it makes images is noise (audits L and O),
    # while a text model served straight to callers may be an image generator whose outputs were left out
    from advmatrix.threatmodel.gaps import unstated

    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "app", "kind": "llm-app", "system_prompt": True},
                {"id": "llm", "kind": "model", "task": "generation", "modality": "text"},
                {"id": "gen", "kind": "model", "task": "generation", "modality": "text"}],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "app"}, {"from": "app", "to": "api"},
                {"from": "app", "to": "llm"}, {"from": "llm", "to": "app"}, {"from": "api", "to": "gen"},
                {"from": "gen", "to": "api"}, {"from": "api", "to": "users"}])
    asked = {g.component for g in unstated(s) if g.field == "outputs"}
    assert "llm" not in asked and "gen" in asked, asked
