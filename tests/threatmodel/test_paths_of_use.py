"""Findings follow how content really reaches a component: a query channel is not a training-data
upload, a chat box is not a planted document, and a control shields only what passes through it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from advmatrix.kb import bundled
from advmatrix.threatmodel import load_system, load_system_text, predict
from advmatrix.threatmodel import report as tmr
from advmatrix.threatmodel._reach import goal_serves
from advmatrix.threatmodel.paths import TransitionModel, find_paths
from advmatrix.threatmodel.system import System

from .test_rules import bundled_hits, system

UPLOAD_ONLY = [
    {"id": "partners", "kind": "external", "actor": "partner"},
    {"id": "portal", "kind": "service", "audience": "partner", "authentication": "api-key", "returns": "labels"},
    {"id": "uploads", "kind": "dataset", "used_for": "training", "writers": "partner", "source": "user-submitted"},
    {"id": "m", "kind": "model", "task": "classification", "trained_by": "us"},
    {"id": "api", "kind": "service", "audience": "internal", "returns": "scores", "controls": ["AML.M0004"]},
]
UPLOAD_FLOWS = [{"from": "partners", "to": "portal"}, {"from": "portal", "to": "uploads"},
                {"from": "uploads", "to": "m"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"}]


def test_an_upload_portal_is_a_way_to_poison_not_to_query():
    hits = bundled_hits(system(UPLOAD_ONLY, UPLOAD_FLOWS))
    for tid in ("AML.T0047", "AML.T0029", "AML.T0034"):  # serving AI results, floods, bills: not this portal
        assert ("portal", tid) not in hits, tid
    assert ("m", "AML.T0024.002") not in hits  # the partners never see an answer to copy
    assert ("m", "AML.T0020") in hits  # but they write what it learns from


def test_the_same_portal_in_front_of_the_model_is_a_query_channel():
    flows = [f for f in UPLOAD_FLOWS if f["from"] != "portal"] + [{"from": "portal", "to": "m"}]
    hits = bundled_hits(system(UPLOAD_ONLY, flows))
    assert ("portal", "AML.T0047") in hits and ("m", "AML.T0024.002") in hits


def test_a_dataset_whose_use_is_unstated_still_passes_content_on():
    comps = [dict(c) for c in UPLOAD_ONLY]
    comps[2] = {k: v for k, v in comps[2].items() if k != "used_for"}
    assert ("portal", "AML.T0047") in bundled_hits(system(comps, UPLOAD_FLOWS))


def _in_place(sys_: System, component: str, technique: str, mitigation: str) -> str | None:
    finding = next(f for f in predict(sys_).findings if f.component == component and f.technique_id == technique)
    advice = next(m for m in finding.mitigations if m.id == mitigation)
    return advice.in_place_at if advice.in_place else None


def test_a_control_shields_what_passes_through_it_only():
    # the partner calls both a rate-limited API and an open one: the limit on one does nothing for the other
    comps = [{"id": "partners", "kind": "external", "actor": "partner"},
             {"id": "limited", "kind": "service", "audience": "partner", "returns": "scores",
              "controls": ["AML.M0004"]},
             {"id": "open", "kind": "service", "audience": "partner", "returns": "scores"},
             {"id": "m1", "kind": "model", "task": "classification", "trained_by": "us"},
             {"id": "m2", "kind": "model", "task": "classification", "trained_by": "us"}]
    flows = [{"from": "partners", "to": "limited"}, {"from": "limited", "to": "m1"}, {"from": "m1", "to": "limited"},
             {"from": "limited", "to": "partners"}, {"from": "partners", "to": "open"}, {"from": "open", "to": "m2"},
             {"from": "m2", "to": "open"}]
    sys_ = system(comps, flows)
    assert _in_place(sys_, "m1", "AML.T0024.002", "AML.M0004") == "limited"
    assert _in_place(sys_, "m2", "AML.T0024.002", "AML.M0004") is None


def test_encrypting_the_training_data_does_not_protect_the_model_file():
    comps = [{"id": "data", "kind": "dataset", "used_for": "training", "sensitive": True, "controls": ["AML.M0012"]},
             {"id": "m", "kind": "model", "task": "classification", "trained_by": "us", "artifact_format": "onnx"},
             {"id": "api", "kind": "service", "audience": "public", "returns": "labels"}]
    flows = [{"from": "data", "to": "m"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"}]
    sys_ = system(comps, flows)
    finding = next(f for f in predict(sys_).findings if f.component == "m" and f.technique_id == "AML.T0048.004")
    assert not any(m.in_place_at == "data" for m in finding.mitigations)


def test_planting_prompts_needs_a_channel_besides_the_chat_box():
    chat = [{"id": "users", "kind": "external", "actor": "user"},
            {"id": "app", "kind": "llm-app", "system_prompt": True}]
    flows = [{"from": "users", "to": "app"}]
    hits = bundled_hits(system(chat, flows))
    assert ("app", "AML.T0051.000") in hits
    assert ("app", "AML.T0093") not in hits and ("app", "AML.T0051.001") not in hits
    wiki = [*chat, {"id": "wiki", "kind": "retrieval-store", "writers": "public"}]
    hits = bundled_hits(system(wiki, [*flows, {"from": "wiki", "to": "app"}]))
    assert ("app", "AML.T0093") in hits and ("app", "AML.T0051.001") in hits


def test_reasons_name_what_their_own_branch_matched():
    app = [{"id": "users", "kind": "external", "actor": "user"},
           {"id": "app", "kind": "llm-app", "memory": "persistent"}]
    pred = predict(system(app, [{"from": "users", "to": "app"}]))
    reasons = [r for f in pred.findings for r in f.reasons]
    assert reasons and not any("another component" in r for r in reasons)


def test_attack_paths_go_through_the_likely_techniques_and_name_their_components():
    example = Path(__file__).resolve().parents[2] / "examples" / "systems" / "support-agent.yaml"
    tm = tmr.build(load_system(example))
    likely = set(tm.prediction.likely_technique_ids)
    assert tm.paths and set(tm.paths[0].techniques) <= likely
    data = tm.as_dict()["paths"][0]
    assert set(data["components"]) == set(tm.paths[0].techniques)
    assert all(data["components"][t] for t in data["components"])
    assert "), on " in tmr.report_markdown(tm)


def test_query_limits_and_output_obfuscation_go_on_the_service_in_front():
    comps = [{"id": "users", "kind": "external"},
             {"id": "api", "kind": "service", "audience": "public", "returns": "scores"},
             {"id": "m", "kind": "model", "task": "classification", "trained_by": "us"}]
    flows = [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"}]
    pred = predict(system(comps, flows))
    for tid in ("AML.T0005.001", "AML.T0013"):
        finding = next(f for f in pred.findings if f.technique_id == tid)
        assert {m.id: m.component for m in finding.mitigations if m.id in ("AML.M0004", "AML.M0002")} == {
            "AML.M0004": "api", "AML.M0002": "api"}, tid


def test_a_limit_on_one_of_two_apis_in_front_of_a_model_leaves_it_open():
    comps = [{"id": "users", "kind": "external"},
             {"id": "api-a", "kind": "service", "audience": "public", "returns": "scores", "controls": ["AML.M0004"]},
             {"id": "api-b", "kind": "service", "audience": "public", "returns": "scores"},
             {"id": "m", "kind": "model", "task": "classification", "trained_by": "us"}]
    flows = [{"from": "users", "to": "api-a"}, {"from": "users", "to": "api-b"}, {"from": "api-a", "to": "m"},
             {"from": "api-b", "to": "m"}, {"from": "m", "to": "api-a"}, {"from": "m", "to": "api-b"}]
    sys_ = system(comps, flows)
    assert _in_place(sys_, "m", "AML.T0024.002", "AML.M0004") is None
    assert _in_place(sys_, "api-b", "AML.T0029", "AML.M0004") is None
    guarded = system([{**c, "controls": ["AML.M0004"]} if c["id"] == "api-b" else c for c in comps], flows)
    assert _in_place(guarded, "m", "AML.T0024.002", "AML.M0004") in ("api-a", "api-b")


def test_a_read_tool_over_internal_data_is_not_a_poisoned_tool_channel():
    comps = [{"id": "users", "kind": "external"},
             {"id": "app", "kind": "llm-app", "tools": ["lookup"]},
             {"id": "lookup", "kind": "tool", "side_effects": "read"},
             {"id": "crm", "kind": "dataset", "used_for": "retrieval", "writers": "internal"}]
    flows = [{"from": "users", "to": "app"}, {"from": "crm", "to": "lookup"}]
    assert ("lookup", "AML.T0099") not in bundled_hits(system(comps, flows))
    public = [*comps[:3], {**comps[3], "writers": "public"}]
    assert ("lookup", "AML.T0099") in bundled_hits(system(public, flows))


def test_a_reason_names_the_first_few_components_and_counts_the_rest():
    comps = [{"id": "m", "kind": "model", "task": "classification", "trained_by": "us"}]
    comps += [{"id": f"api{i:02d}", "kind": "service", "audience": "public", "returns": "scores"} for i in range(12)]
    flows = [{"from": f"api{i:02d}", "to": "m"} for i in range(12)] + [{"from": "m", "to": "api00"}]
    finding = next(f for f in predict(system(comps, flows)).findings
                   if f.component == "m" and f.technique_id == "AML.T0040")
    assert "api00, api01" in finding.reason and "and 4 more" in finding.reason and "api11" not in finding.reason


WIKI = """\
name: wiki
components:
  - {id: staff, kind: external, actor: user}
  - {id: contractors, kind: external, actor: partner}
  - {id: api, kind: service, audience: internal, authentication: oauth, returns: text}
  - {id: assistant, kind: llm-app, system_prompt: true, tools: [slack-post], autonomy: autonomous, memory: session%s}
  - {id: llm, kind: model, task: generation, modality: text, trained_by: vendor, source: vendor-api}
  - {id: wiki, kind: retrieval-store, writers: partner, sensitive: true}
  - {id: slack-post, kind: tool, side_effects: write, sends_only: true, readers: internal}
flows:
  - {from: staff, to: api}
  - {from: api, to: assistant}
  - {from: assistant, to: api}
  - {from: api, to: staff}
  - {from: assistant, to: llm}
  - {from: llm, to: assistant}
  - {from: contractors, to: wiki}
  - {from: wiki, to: assistant}
"""


def test_a_hedged_harm_is_no_attack_paths_goal_while_the_description_leaves_it_open():
    hedged = tmr.build(load_system_text(WIKI % ""))
    money = next(f for f in hedged.prediction.findings if f.technique_id == "AML.T0048.000")
    assert money.hedged_on == ("properties.financial",) and money.as_dict()["hedged_on"] == ["properties.financial"]
    assert hedged.paths and all(p.techniques[-1] != "AML.T0048.000" for p in hedged.paths)
    # said outright, the same harm is a goal like any other
    said = tmr.build(load_system_text(WIKI % ", properties: {financial: true}"))
    assert not next(f for f in said.prediction.findings if f.technique_id == "AML.T0048.000").hedged_on
    assert any(p.techniques[-1] == "AML.T0048.000" for p in said.paths)


def test_a_hedged_harm_is_still_the_goal_where_it_is_the_only_one():
    # the fraudster wants to pass as someone, and money moved through the bot is all that serves it
    tm = tmr.build(load_system_text("""\
name: bot
components:
  - {id: u, kind: external, actor: user}
  - {id: chat, kind: service, audience: internal, returns: text}
  - {id: bot, kind: llm-app, tools: [push]}
  - {id: push, kind: tool, side_effects: write, sends_only: true, readers: none, append_only: true}
  - {id: fraudster, kind: adversary, actor: criminal, goals: [impersonate], access: [account]}
flows: [{from: u, to: chat}, {from: chat, to: bot}, {from: bot, to: chat}]
"""))
    assert tm.prediction.hedged_ids == {"AML.T0048.000"}
    assert tm.paths and all(p.techniques[-1] == "AML.T0048.000" for p in tm.paths)


def test_an_adversary_is_said_to_have_no_path_only_when_a_wider_search_finds_none_either():
    # the planter's best few candidates all fail the walk on this system; a path further down does not. The
    # staff member signed in has none: a link clicked in an answer gave them a foothold until it no longer did
    s = load_system(Path(__file__).parent / "data" / "clinical-notes.yaml")
    tm = tmr.build(s, k=5)
    assert "record-planter" in {p.adversary for p in tm.paths} and tm.pathless == ("snooping-insider",)
    wide = tmr.build(s, k=60)
    assert not any(p.adversary == "snooping-insider" and goal_serves(p.techniques[-1], ["steal-data"])
                   for p in wide.paths)


def test_a_path_says_which_of_its_steps_a_control_in_place_already_stops():
    # the assistant waits for a person before its weightier actions: a path through its tools meets that
    tm = tmr.build(load_system_text((WIKI % ", properties: {financial: true}").replace(
        "autonomy: autonomous", "autonomy: human-approval")))
    # open paths are listed first, those through a step a held control stops after them
    blocked = [any(tm.step_held(p)) for p in tm.paths]
    assert tm.paths and blocked == sorted(blocked)
    steered = ("AML.T0093", "AML.T0051.001", "AML.T0053", "AML.T0048.000")
    (through,) = find_paths(TransitionModel.learn(bundled()), set(steered), {"AML.T0093"}, {"AML.T0048.000"},
                            k=1, max_len=4).paths
    assert through.techniques == steered
    shown = dataclasses.replace(tm, paths=(through,))
    assert dict(zip(through.techniques, shown.step_held(through), strict=True))["AML.T0053"] == ("AML.M0029",)
    assert shown.as_dict()["paths"][0]["held"] == {"AML.T0053": ["AML.M0029"]}
    for text in (tmr.report_markdown(shown), tmr.report_html(shown)):
        assert "stopped by AML.M0029 (in place)" in text


def test_each_adversarys_paths_run_through_its_own_short_list_not_anothers_wishes():
    tm = tmr.build(load_system(Path(__file__).parent / "data" / "two-adversaries.yaml"), k=5)
    p = tm.prediction
    # stealing the fine-tune is likely because the competitor wants it; the abuser does not
    assert "AML.T0024.002" in p.likely_for("competitor") and "AML.T0024.002" not in p.likely_for("abuser")
    only_theirs = {(f.technique_id, f.component) for f in p.findings if f.adversaries == ("competitor",)}
    assert only_theirs and not p.open_to(*next(iter(only_theirs)), "abuser")
    abuser = [path for path in tm.paths if path.adversary == "abuser"]
    assert abuser and all("AML.T0024.002" not in path.techniques for path in abuser), abuser
    for path in abuser:
        for t, on in zip(path.techniques, tm.path_components(path), strict=True):
            assert not {(t, c) for c in on} & only_theirs


def test_a_hedged_finding_is_no_step_while_the_same_harm_stands_unhedged_elsewhere():
    # the scammer's own wish for money is outright, the bot's refunds moving money is a hedge
    tm = tmr.build(load_system(Path(__file__).parent / "data" / "refund-bot.yaml"), k=8)
    hedged = {(f.technique_id, f.component) for f in tm.prediction.findings if f.hedged_on}
    assert ("AML.T0048.000", "bot") in hedged and "AML.T0048.000" not in tm.prediction.hedged_ids
    for path in tm.paths:
        for t, on in zip(path.techniques, tm.path_components(path), strict=True):
            assert not {(t, c) for c in on} & hedged, (path.adversary, path.techniques)


def test_an_adversarys_own_step_is_said_to_be_taken_by_them_not_on_them():
    # "Financial Harm, on refund-fraudster" reads as if the fraudster were the one harmed
    tm = tmr.build(load_system(Path(__file__).resolve().parents[2] / "examples" / "systems" / "support-agent.yaml"))
    steered = ("AML.T0093", "AML.T0051.001", "AML.T0053", "AML.T0048.000")
    (through,) = find_paths(TransitionModel.learn(bundled()), set(steered), {"AML.T0093"}, {"AML.T0048.000"},
                            k=1, max_len=4).paths
    walked = dataclasses.replace(through, on=(("agent",), ("agent",), ("agent",), ("refund-fraudster",)),
                                 adversary="refund-fraudster")
    shown = dataclasses.replace(tm, paths=(walked,))
    assert shown.step_places(walked) == ("on agent", "on agent", "on agent", "by refund-fraudster")
    for text in (tmr.report_markdown(shown), tmr.report_html(shown)):
        assert ", by refund-fraudster" in text and "on refund-fraudster" not in text and ", on agent" in text


def test_paths_that_end_in_other_harms_than_the_adversarys_goals_are_said_to():
    tm = tmr.build(load_system(Path(__file__).parent / "data" / "evader-off-goal.yaml"), k=5)
    assert tm.paths and all(p.adversary == "evader" for p in tm.paths)
    assert "AML.T0015" in tm.prediction.technique_ids  # found on the staff's model, out of their reach
    assert tm.pathless == ("evader",) and tm.as_dict()["pathless"] == [{"adversary": "evader", "goals": ["evade"]}]
    (line,) = tm.pathless_lines()
    assert line.endswith("serving their goals (evade); the paths shown for them end in other harms.")
    assert line in tmr.report_markdown(tm)


def test_a_tool_nothing_is_found_on_relays_between_the_agent_and_what_it_feeds():
    # the review agent's push tool (nothing found on it) hands its commit to the CI runner, which runs it
    s = load_system_text("""\
name: ci review
components:
  - {id: contributors, kind: external, actor: internet}
  - {id: prs, kind: retrieval-store, writers: public, sources: user-submitted}
  - {id: reviewer, kind: llm-app, tools: [push], autonomy: autonomous, system_prompt: true}
  - {id: push, kind: tool, side_effects: write, source: first-party, sends_only: true, readers: internal}
  - {id: runner, kind: tool, side_effects: code-execution, source: first-party}
  - {id: llm, kind: model, task: generation, modality: text, trained_by: vendor, source: vendor-api,
     artifact_format: hosted}
  - {id: outsider, kind: adversary, actor: user, goals: [compromise], access: [content]}
flows:
  - {from: contributors, to: prs}
  - {from: prs, to: reviewer}
  - {from: reviewer, to: llm}
  - {from: llm, to: reviewer}
  - {from: push, to: runner}
""")
    p = predict(s)
    assert not p.for_component("push").findings and p.for_component("runner").findings
    from advmatrix.threatmodel.paths import topology_links

    linked = topology_links(s, p)
    agent_step = next(t for t in p.technique_ids if set(p.components_for(t)) == {"reviewer"})
    runner_step = next(t for t in p.technique_ids if set(p.components_for(t)) == {"runner"})
    assert linked(agent_step, runner_step)


def test_an_adversary_whose_access_reaches_nothing_is_told_so_not_that_no_move_was_learned():
    s = load_system_text("""\
name: warehouse
components:
  - {id: floor, kind: external, actor: user}
  - {id: terminal, kind: service, audience: internal, returns: text}
  - {id: detector, kind: model, task: detection, modality: image, trained_by: us}
  - {id: rival, kind: adversary, actor: competitor, goals: [steal-model], access: [public]}
flows: [{from: floor, to: terminal}, {from: terminal, to: detector}, {from: detector, to: terminal}]
""")
    tm = tmr.build(s, k=5)
    assert tm.pathless == ("rival",)
    assert tm.pathless_lines() == ["No path found for rival: their access (public) reaches no component of the "
                                   "system, so nothing serves their goals (steal-model)."]


def test_a_caller_who_reaches_only_the_people_beside_them_is_told_that_staff_services_take_an_account():
    # students sign in to an SSO portal: 'query' is a caller of what is public, and reaches no internal service
    text = """\
name: essay
components:
  - {id: students, kind: external, actor: user}
  - {id: portal, kind: service, audience: internal, authentication: oauth, returns: scores}
  - {id: grader, kind: model, task: regression, modality: text, trained_by: us}
  - {id: cheat, kind: adversary, actor: user, goals: [evade], access: [query]}
flows: [{from: students, to: portal}, {from: portal, to: grader}, {from: grader, to: portal}]
"""
    tm = tmr.build(load_system_text(text), k=5)
    assert tm.pathless == ("cheat",)
    assert tm.pathless_lines() == [
        "No path found for cheat: their access (query) reaches no component of the system, so nothing serves "
        "their goals (evade); a caller of an internal or partner service (portal) who signs in to it has "
        "'account' access."]
    signed_in = tmr.build(load_system_text(text.replace("access: [query]", "access: [query, account]")), k=5)
    assert signed_in.pathless == () and signed_in.paths


def test_a_guardrail_stops_no_step_after_the_prompt_was_hidden_from_it():
    # a public chat behind an input/output filter: a path that obfuscates its prompt first has got past the
    # filter, so the injection after it is open (audit T: every path was drawn stopped by the filter)
    s = load_system_text("""name: x
components:
  - {id: u, kind: external, actor: user}
  - {id: chat, kind: service, audience: public, returns: text}
  - {id: bot, kind: llm-app, system_prompt: true, controls: [AML.M0020]}
flows: [{from: u, to: chat}, {from: chat, to: bot}, {from: bot, to: chat}, {from: chat, to: u}]
""")
    tm = tmr.build(s)
    model = TransitionModel.learn(bundled())
    found = set(tm.prediction.technique_ids)
    assert {"AML.T0068", "AML.T0051.000"} <= found
    (hidden,) = find_paths(model, found, {"AML.T0068"}, {"AML.T0051.000"}, k=1, max_len=2).paths
    assert hidden.techniques == ("AML.T0068", "AML.T0051.000")
    assert "AML.M0020" in tm.prediction.stopped("AML.T0051.000", ("bot",))  # met head on, the filter holds
    assert dataclasses.replace(tm, paths=(hidden,)).step_held(hidden)[1] == ()
