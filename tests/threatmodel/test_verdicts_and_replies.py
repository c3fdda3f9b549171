"""Who reads a component's words: a portal that hands back only a verdict (approved, referred) lets no one
iterate on an LLM's answers or coax its prompt out, publishes nothing generated, and a dashboard of flagged
calls delivers no caller's message to the people who read it."""

from __future__ import annotations

import pytest

from advmatrix.threatmodel import System
from advmatrix.threatmodel.predict import predict


def system(components, flows=()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


def found(s: System, component: str) -> set[str]:
    return {f.technique_id for f in predict(s).findings if f.component == component}


def claims(returns: str) -> System:
    """Claimants upload documents; an LLM app extracts fields a rule decides on; the portal returns ``returns``."""
    return system([{"id": "claimants", "kind": "external", "actor": "user"},
                   {"id": "portal", "kind": "service", "audience": "public", "authentication": "oauth",
                    "returns": returns},
                   {"id": "extractor", "kind": "llm-app", "system_prompt": True},
                   {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "vendor",
                    "source": "vendor-api", "artifact_format": "hosted"},
                   {"id": "decide", "kind": "service", "audience": "internal", "returns": "labels"},
                   {"id": "fraudster", "kind": "adversary", "actor": "criminal", "goals": ["fraud", "steal-data"],
                    "access": ["query", "content"]}],
                  [{"from": "claimants", "to": "portal"}, {"from": "portal", "to": "extractor"},
                   {"from": "extractor", "to": "llm"}, {"from": "llm", "to": "extractor"},
                   {"from": "extractor", "to": "decide"}, {"from": "decide", "to": "portal"},
                   {"from": "portal", "to": "claimants"}])


#: Prompt extraction, iterating on prompts, probing for inventions, asking it about itself: each needs its words.
NEED_REPLIES = {"AML.T0056", "AML.T0065", "AML.T0062", "AML.T0069"}


@pytest.mark.parametrize("verdict", ["labels", "scores"])
def test_an_app_behind_a_portal_that_returns_a_verdict_cannot_be_talked_into_anything_visible(verdict):
    got = found(claims(verdict), "extractor")
    assert not NEED_REPLIES & got, NEED_REPLIES & got
    assert "AML.T0051.000" in got  # the uploaded text still goes straight into its prompt
    assert NEED_REPLIES <= found(claims("text"), "extractor")


def test_a_portal_that_returns_a_verdict_publishes_nothing_generated():
    assert "AML.T0048.001" not in found(claims("labels"), "portal")
    assert "AML.T0048.001" in found(claims("text"), "portal")


def call_centre(dashboard_returns: str) -> System:
    """Anyone can phone in; transcripts are classified and a dashboard shows supervisors what it returns."""
    return system([{"id": "callers", "kind": "external", "actor": "internet"},
                   {"id": "phone", "kind": "service", "audience": "public", "authentication": "none",
                    "returns": "text"},
                   {"id": "stt", "kind": "model", "task": "speech-recognition", "modality": "audio"},
                   {"id": "sentiment", "kind": "model", "task": "classification", "modality": "text"},
                   {"id": "dashboard", "kind": "service", "audience": "internal", "returns": dashboard_returns},
                   {"id": "supervisors", "kind": "external", "actor": "user"}],
                  [{"from": "callers", "to": "phone"}, {"from": "phone", "to": "stt"},
                   {"from": "stt", "to": "sentiment"}, {"from": "sentiment", "to": "dashboard"},
                   {"from": "dashboard", "to": "supervisors"}])


def test_people_who_see_only_a_verdict_get_no_callers_message():
    assert not {"AML.T0052", "AML.T0073"} & found(call_centre("labels"), "phone")
    assert {"AML.T0052", "AML.T0073"} <= found(call_centre("text"), "phone")


@pytest.mark.parametrize(("task", "leaks"), [("classification", False), ("generation", True), (None, True)])
def test_a_moderation_classifier_in_front_of_a_chatbot_does_not_reply_with_the_bots_text(task, leaks):
    s = system([{"id": "kids", "kind": "external", "actor": "user"},
                {"id": "web", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "moderation", "kind": "model", "modality": "text", **({"task": task} if task else {})},
                {"id": "tutor", "kind": "llm-app"}],
               [{"from": "kids", "to": "web"}, {"from": "web", "to": "moderation"},
                {"from": "moderation", "to": "tutor"}, {"from": "tutor", "to": "web"}, {"from": "web", "to": "kids"}])
    assert ("AML.T0024" in found(s, "moderation")) is leaks


@pytest.mark.parametrize(("made", "leaks"), [
    ({"trained_by": "vendor", "source": "vendor-api"}, False),  # what it learnt is the vendor's, not ours
    ({"trained_by": "open-source", "source": "huggingface"}, False),  # anyone can download what it learnt
    ({"trained_by": "vendor", "source": "vendor-api", "fine_tuned": True}, True),  # our tuning data is in it
    ({"trained_by": "us"}, True),
    ({}, True),
])
def test_a_model_we_did_not_train_leaks_none_of_our_training_data_through_its_replies(made, leaks):
    s = system([{"id": "shoppers", "kind": "external", "actor": "user"},
                {"id": "web", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "writer", "kind": "model", "task": "generation", "modality": "text", **made}],
               [{"from": "shoppers", "to": "web"}, {"from": "web", "to": "writer"}, {"from": "writer", "to": "web"}])
    assert ("AML.T0024" in found(s, "writer")) is leaks


@pytest.mark.parametrize(("returns", "billed"), [("none", False), ("text", True)])
def test_a_download_page_does_no_ai_work_an_adversary_could_bill_us_for(returns, billed):
    s = system([{"id": "hub", "kind": "service", "audience": "public", "returns": returns},
                {"id": "m", "kind": "model", "task": "generation", "modality": "text"},
                {"id": "abuser", "kind": "adversary", "actor": "criminal", "goals": ["misuse"], "access": ["public"]}],
               [{"from": "m", "to": "hub"}] if returns == "none" else [{"from": "hub", "to": "m"}])
    assert ("AML.T0034" in found(s, "hub")) is billed


def test_an_adversary_who_wants_data_out_can_send_it_through_a_shell():
    s = system([{"id": "ops", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "agent", "kind": "llm-app", "tools": ["shell"]},
                {"id": "shell", "kind": "tool", "side_effects": "code-execution"},
                {"id": "thief", "kind": "adversary", "actor": "criminal", "goals": ["steal-data"],
                 "access": ["query"]}],
               [{"from": "ops", "to": "agent"}, {"from": "agent", "to": "ops"}])
    reasons = [r for f in predict(s).findings if f.technique_id == "AML.T0086" for r in f.reasons]
    assert any("thief wants data out" in r and "shell" in r for r in reasons), reasons


def test_an_adversary_who_would_put_an_assistants_abilities_to_their_own_use_wants_its_tools():
    s = system([{"id": "speaker", "kind": "service", "audience": "public", "returns": "audio"},
                {"id": "assistant", "kind": "llm-app", "tools": ["lock"]},
                {"id": "lock", "kind": "tool", "side_effects": "write", "properties": {"physical": True}},
                {"id": "burglar", "kind": "adversary", "actor": "criminal", "goals": ["misuse"],
                 "access": ["query"]}],
               [{"from": "speaker", "to": "assistant"}, {"from": "assistant", "to": "speaker"}])
    reasons = [r for f in predict(s).findings if f.technique_id == "AML.T0053" for r in f.reasons]
    assert any(r.startswith("burglar wants assistant to act for them") for r in reasons), reasons


@pytest.mark.parametrize(("access", "customer"), [("physical", False), ("account", True)])
def test_an_adversary_who_can_only_change_the_scene_does_not_use_the_product(access, customer):
    s = system([{"id": "partners", "kind": "external", "actor": "partner"},
                {"id": "api", "kind": "service", "audience": "partner", "authentication": "oauth",
                 "returns": "scores"},
                {"id": "change", "kind": "model", "task": "segmentation", "modality": "image"},
                {"id": "concealer", "kind": "adversary", "actor": "nation-state", "goals": ["evade"],
                 "access": [access]}],
               [{"from": "partners", "to": "api"}, {"from": "api", "to": "change"}, {"from": "change", "to": "api"},
                {"from": "api", "to": "partners"}])
    reasons = [r for f in predict(s).findings if f.technique_id == "AML.T0047" for r in f.reasons]
    assert any(r.startswith("concealer reaches the model") for r in reasons) is customer


@pytest.mark.parametrize(("through_store", "spent"), [(True, False), (False, True)])
def test_an_upload_endpoint_spends_the_ai_work_only_where_it_feeds_the_model_itself(through_store, spent):
    uploads = [{"id": "upload", "kind": "service", "audience": "public", "authentication": "api-key",
                "returns": "none", "rate_limited": False},
               {"id": "app", "kind": "llm-app"}, {"id": "llm", "kind": "model", "task": "generation"},
               {"id": "docs", "kind": "retrieval-store", "writers": "public"}]
    flows = ([{"from": "upload", "to": "docs"}, {"from": "docs", "to": "app"}] if through_store else
             [{"from": "upload", "to": "app"}]) + [{"from": "app", "to": "llm"}, {"from": "llm", "to": "app"}]
    got = found(system(uploads, flows), "upload")
    work = {"AML.T0029", "AML.T0034", "AML.T0034.000", "AML.T0091.000"}
    assert (work <= got) if spent else not work & got, work & got


@pytest.mark.parametrize(("returns", "infiltrated"), [("none", True), ("text", False)])
def test_mail_an_agent_acts_on_is_a_way_to_plant_prompts_ahead_of_time(returns, infiltrated):
    s = system([{"id": "internet", "kind": "external", "actor": "internet"},
                {"id": "inbound-mail", "kind": "service", "audience": "public", "returns": returns},
                {"id": "responder", "kind": "llm-app", "autonomy": "autonomous"}],
               [{"from": "internet", "to": "inbound-mail"}, {"from": "inbound-mail", "to": "responder"}])
    got = found(s, "responder")
    assert ("AML.T0093" in got) is infiltrated
    assert ("AML.T0051.001" in got) is infiltrated  # indirect, as the same mail is


def news(site: dict, *, feed_trusted: bool) -> System:
    """An LLM app summarises scraped pages and posts the summaries to a public site; readers only read."""
    return system([{"id": "web", "kind": "external", "actor": "internet"},
                   {"id": "scraped", "kind": "retrieval-store", "sources": ["scraped"]},
                   {"id": "summariser", "kind": "llm-app"},
                   {"id": "llm", "kind": "model", "task": "generation", "modality": "text"},
                   {"id": "site", "kind": "service", "audience": "public", "returns": "text", **site},
                   {"id": "readers", "kind": "external", "actor": "user"}],
                  [{"from": "web", "to": "scraped"}, {"from": "scraped", "to": "summariser"},
                   {"from": "summariser", "to": "llm"}, {"from": "llm", "to": "summariser"},
                   {"from": "summariser", "to": "site", "trusted": feed_trusted}, {"from": "site", "to": "readers"}])


def test_a_site_that_publishes_what_an_llm_wrote_publishes_it_under_our_name():
    s = news({"authentication": "none"}, feed_trusted=True)
    assert {"AML.T0048.001", "AML.T0048.003"} <= found(s, "site")
    assert "AML.T0048.002" in found(s, "llm")


@pytest.mark.parametrize(("site", "trusted", "channel"), [
    ({"authentication": "none"}, True, False),  # only our own summaries come in: no one's messages to pass on
    ({"authentication": "none"}, False, True),
    ({"authentication": "oauth", "open_signup": True}, False, True),  # anyone can sign up and post
    ({"authentication": "oauth", "open_signup": False}, False, False)])
def test_a_public_site_is_a_phishing_channel_only_where_outsiders_post_through_it(site, trusted, channel):
    got = found(news(site, feed_trusted=trusted), "site")
    assert ({"AML.T0052", "AML.T0073"} <= got) is channel, got & {"AML.T0052", "AML.T0073"}


def test_an_adversary_bills_us_through_an_endpoint_that_answers_nothing_only_where_it_feeds_the_model():
    def scanner(through_store):
        flows = ([{"from": "upload", "to": "files"}, {"from": "files", "to": "m"}] if through_store else
                 [{"from": "upload", "to": "m"}])
        return system([{"id": "upload", "kind": "service", "audience": "public", "returns": "none"},
                       {"id": "files", "kind": "retrieval-store", "writers": "public"},
                       {"id": "m", "kind": "model", "task": "classification"},
                       {"id": "abuser", "kind": "adversary", "actor": "criminal", "goals": ["disrupt"],
                        "access": ["query"]}], flows)
    def billed(s):
        return any("abuser can make the owner pay" in r for f in predict(s).findings
                   if f.technique_id == "AML.T0034" for r in f.reasons)
    assert billed(scanner(False)) and not billed(scanner(True))


@pytest.mark.parametrize(("sender", "chaff"), [("internet", True), ("user", False)])
def test_chaff_buries_a_detectors_alerts_where_the_internet_feeds_it_even_through_an_internal_collector(sender, chaff):
    s = System.model_validate({"name": "t", "components": [
        {"id": "outside", "kind": "external", "actor": sender},
        {"id": "collector", "kind": "service", "audience": "internal", "authentication": "mtls", "returns": "none"},
        {"id": "nids", "kind": "model", "task": "classification", "modality": "tabular", "trained_by": "us"}],
        "flows": [{"from": "outside", "to": "collector"}, {"from": "collector", "to": "nids"}]})
    assert any(f.technique_id == "AML.T0046" and f.component == "collector" for f in predict(s).findings) is chaff


def test_the_template_and_keyword_reasons_claim_no_tools_or_fetched_context_an_app_lacks():
    s = System.model_validate({"name": "t", "components": [
        {"id": "users", "kind": "external", "actor": "user"},
        {"id": "chat", "kind": "service", "audience": "public", "returns": "text"},
        {"id": "app", "kind": "llm-app", "system_prompt": True}],
        "flows": [{"from": "users", "to": "chat"}, {"from": "chat", "to": "app"}, {"from": "app", "to": "chat"}]})
    reasons = [r for f in predict(s).findings if f.technique_id.startswith("AML.T0069") for r in f.reasons]
    assert reasons and not any("fetched context" in r or "tool names are" in r or "names the tools" in r
                               for r in reasons), reasons


@pytest.mark.parametrize(("authentication", "signup"), [("none", None), ("oauth", True)])
def test_a_channel_to_people_says_how_anyone_gets_to_send_on_it(authentication, signup):
    s = system([{"id": "senders", "kind": "external", "actor": "internet"},
                {"id": "board", "kind": "service", "audience": "public", "authentication": authentication,
                 "returns": "text", **({"open_signup": signup} if signup is not None else {})},
                {"id": "readers", "kind": "external", "actor": "user"}],
               [{"from": "senders", "to": "board"}, {"from": "board", "to": "readers"}])
    reasons = [r for f in predict(s).findings if f.technique_id == "AML.T0073" for r in f.reasons]
    assert reasons and "unauthenticated" not in reasons[0]
    assert f"authentication: {authentication}, open sign-up: {'yes' if signup else 'unstated'}" in reasons[0]


def forum(readers: bool = True, screened: bool = True) -> System:
    """Uploads pass a moderation classifier; the accepted ones go on a forum that answers nothing itself."""
    return system([{"id": "uploaders", "kind": "external", "actor": "user"},
                   {"id": "upload-api", "kind": "service", "audience": "public", "returns": "labels"},
                   {"id": "moderation", "kind": "model", "task": "classification", "modality": "image"},
                   {"id": "forum", "kind": "service", "audience": "public", "returns": "none"},
                   *([{"id": "readers", "kind": "external", "actor": "user"}] if readers else [])],
                  [{"from": "uploaders", "to": "upload-api"},
                   *([{"from": "upload-api", "to": "moderation"}, {"from": "moderation", "to": "upload-api"}]
                     if screened else []),
                   {"from": "upload-api", "to": "uploaders"}, {"from": "upload-api", "to": "forum"},
                   *([{"from": "forum", "to": "readers"}] if readers else [])])


@pytest.mark.parametrize(("readers", "screened", "harmed"), [(True, True, True), (False, True, False),
                                                            (True, False, False)])
def test_what_slips_past_a_moderation_model_harms_those_it_is_published_to(readers, screened, harmed):
    got = predict(forum(readers, screened))
    assert ("AML.T0048.003" in {f.technique_id for f in got.findings if f.component == "forum"}) is harmed
    # and what slips past shows under our name, where people read it
    assert ("AML.T0048.001" in {f.technique_id for f in got.findings if f.component == "forum"}) is harmed
    if harmed:
        reason = next(f for f in got.findings if f.component == "forum" and f.technique_id == "AML.T0048.003").reason
        assert "readers" in reason and "moderation" in reason
