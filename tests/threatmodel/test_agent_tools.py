"""What an agent's tools say decides its findings: who approves which actions, which tools write to people,
where a control every named tool needs is advised, and whose text reaches a victim's session."""

from __future__ import annotations

import pytest

from advmatrix.threatmodel.predict import predict

from .test_stated_facts import agent, on, system


@pytest.mark.parametrize("autonomy", ["autonomous", "human-approval", "none", None])
def test_instructions_waiting_in_fetched_pages_do_not_care_who_approves_the_agents_actions(autonomy):
    fetch = {"id": "fetch-page", "side_effects": "external-communication", "browses": True}
    got = predict(agent(fetch, app={"autonomy": autonomy} if autonomy else None))
    assert "app" in on(got, "AML.T0051.002")


def test_approval_on_every_tool_that_acts_covers_an_agent_whose_other_tool_only_reads():
    news = {"id": "news", "side_effects": "read"}
    broker = {"id": "broker", "side_effects": "external-communication", "sends_only": True,
              "properties": {"financial": True}, "controls": ["AML.M0029"]}
    got = {f.technique_id: (m.component, m.in_place) for f in predict(agent(news, broker)).for_component("app").findings
           for m in f.mitigations if m.id == "AML.M0029"}
    assert got["AML.T0053"] == ("broker", True)


@pytest.mark.parametrize(("tool", "writes_to_people"), [
    ({"id": "fetch-page", "side_effects": "external-communication", "browses": True}, False),
    ({"id": "mailer", "side_effects": "external-communication", "sends_only": True}, True),
])
def test_an_agent_is_a_social_engineer_only_through_a_tool_that_writes_to_someone(tool, writes_to_people):
    assert ("app" in on(predict(agent(tool)), "AML.T0052.000")) is writes_to_people


def test_a_control_every_named_tool_needs_is_advised_on_all_of_them_at_once():
    search = {"id": "web-search", "side_effects": "external-communication"}
    fetch = {"id": "fetch-page", "side_effects": "external-communication", "browses": True}
    got = predict(agent(search, fetch))
    seg = [m for f in got.for_component("app").findings if f.technique_id == "AML.T0053" for m in f.mitigations
           if m.id == "AML.M0032"]
    assert seg and not seg[0].in_place
    assert {seg[0].component, *seg[0].also_on} == {"web-search", "fetch-page"}
    # mended on one, it is advised on the other alone
    got = predict(agent({**search, "controls": ["AML.M0032"]}, fetch))
    seg = [m for f in got.for_component("app").findings if f.technique_id == "AML.T0053" for m in f.mitigations
           if m.id == "AML.M0032"]
    assert (seg[0].component, seg[0].also_on) == ("fetch-page", ())


@pytest.mark.parametrize(("access", "exfiltrates"), [(["account"], False), (["insider"], True)])
def test_a_rendered_link_carries_a_victims_data_only_for_one_whose_text_reaches_the_victim(access, exfiltrates):
    s = system([{"id": "staff", "kind": "external", "actor": "user"},
                {"id": "ui", "kind": "service", "audience": "internal", "authentication": "oauth", "returns": "text"},
                {"id": "assistant", "kind": "llm-app", "renders_markdown": True},
                {"id": "mole", "kind": "adversary", "actor": "insider", "goals": ["steal-data"], "access": access}],
               [{"from": "staff", "to": "ui"}, {"from": "ui", "to": "assistant"}, {"from": "assistant", "to": "ui"}])
    reasons = [r for f in predict(s).findings if f.technique_id == "AML.T0077" for r in f.reasons]
    assert any(r.startswith("mole wants data out") for r in reasons) is exfiltrates


def test_a_tool_that_writes_but_reads_what_outsiders_post_carries_their_text_into_the_prompt():
    def app(side_effects, fed):
        flows = [{"from": "me", "to": "app"}, {"from": "app", "to": "gh"}, {"from": "gh", "to": "app"}]
        if fed:
            flows.append({"from": "public", "to": "gh", "data": "issues anyone opens"})
        return system([
            {"id": "me", "kind": "external", "actor": "user"},
            {"id": "public", "kind": "external", "actor": "internet"},
            {"id": "app", "kind": "llm-app", "tools": ["gh"]},
            {"id": "gh", "kind": "tool", "side_effects": side_effects}], flows)

    def indirect(s):
        return [r for f in predict(s).findings if f.technique_id == "AML.T0051.001" for r in f.reasons]
    assert any("gh" in r for r in indirect(app("write", True)))
    assert not any("gh" in r for r in indirect(app("write", False)))  # a status comes back, nothing of outsiders'


def pr_bot(published: bool, sensitive: bool = False):
    """A review bot woken by a webhook that answers nothing, reading pull requests anyone opens and posting
    comments (to readers outside when ``published``), searching a repository index of ``sensitive`` code."""
    flows = [{"from": "contributor", "to": "hook"}, {"from": "hook", "to": "bot"},
             {"from": "contributor", "to": "read-pr"}, {"from": "index", "to": "search", "trusted": True}]
    if published:  # the comments are public: the contributor reads them too
        flows += [{"from": "post", "to": "readers"}, {"from": "post", "to": "contributor"}]
    else:  # posted where maintainers alone read them
        flows.append({"from": "post", "to": "readers"})
    return system([{"id": "contributor", "kind": "external", "actor": "user"},
                   {"id": "readers", "kind": "external", "actor": "user"},
                   {"id": "hook", "kind": "service", "audience": "public", "returns": "none"},
                   {"id": "bot", "kind": "llm-app", "system_prompt": "secret", "tools": ["read-pr", "search", "post"]},
                   {"id": "read-pr", "kind": "tool", "side_effects": "read", "sensitive": False},
                   {"id": "search", "kind": "tool", "side_effects": "read", "sensitive": sensitive},
                   {"id": "index", "kind": "retrieval-store", "writers": "internal", "sensitive": sensitive},
                   {"id": "post", "kind": "tool", "side_effects": "write", "sends_only": True}], flows)


@pytest.mark.parametrize("published", [True, False])
def test_a_bot_no_one_talks_to_leaks_its_prompt_where_what_it_writes_is_published(published):
    got = {f.technique_id: f for f in predict(pr_bot(published)).findings if f.component == "bot"}
    assert ("AML.T0056" in got) is published
    if published:
        assert "posts through post where they read" in got["AML.T0056"].reason


@pytest.mark.parametrize("sensitive", [True, False])
def test_an_app_reaching_only_data_said_not_sensitive_holds_nothing_to_read_out(sensitive):
    got = {f.technique_id for f in predict(pr_bot(True, sensitive)).findings if f.component == "bot"}
    assert ("AML.T0036" in got) is sensitive


def test_a_page_on_the_adversarys_own_site_is_no_prompt_planted_in_our_public_facing_application():
    # a shopping agent browses any retailer's site: a prompt on the attacker's own page is indirect injection,
    # not infiltration through an application of ours (ATLAS names mail, shared drives, ticketing systems;
    # audit T); a mail tool that reads the inbox outsiders write to still is such a channel
    from advmatrix.threatmodel import System
    from advmatrix.threatmodel.predict import predict

    def shop(tool: dict) -> set[str]:
        s = System.model_validate({"name": "t", "components": [
            {"id": "u", "kind": "external", "actor": "user"},
            {"id": "app", "kind": "service", "audience": "public", "returns": "text"},
            {"id": "agent", "kind": "llm-app", "tools": ["t"], "autonomy": "autonomous"},
            {"id": "t", "kind": "tool", **tool},
            {"id": "planter", "kind": "adversary", "actor": "criminal", "goals": ["manipulate", "steal-data"],
             "access": ["content"]}],
            "flows": [{"from": "u", "to": "app"}, {"from": "app", "to": "agent"}, {"from": "agent", "to": "app"}]})
        return {f.technique_id for f in predict(s).findings if f.component == "agent"}

    browser = shop({"side_effects": "external-communication", "browses": True})
    assert "AML.T0051.001" in browser and "AML.T0093" not in browser
    assert "AML.T0093" in shop({"side_effects": "external-communication", "browses": False})
