"""predict(): techniques per component, reasons, mitigations in place or missing, the examples."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from advmatrix.errors import FormatError
from advmatrix.kb import bundled
from advmatrix.threatmodel import System, load_system
from advmatrix.threatmodel.predict import Weights, bundled_weights, learn_weights, predict, rule_key
from advmatrix.threatmodel.rules import bundled_rules, load_rules

EXAMPLES = Path(__file__).parents[2] / "examples" / "systems"


def system(components, flows=()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


API = [{"id": "users", "kind": "external"},
       {"id": "api", "kind": "service", "audience": "public", "returns": "scores", "controls": ["AML.M0004"]},
       {"id": "m", "kind": "model", "task": "classification", "trained_by": "us"}]
FLOWS = [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}]


def test_mitigations_placed_in_place_and_missing(tmp_path):
    (tmp_path / "r.yaml").write_text(textwrap.dedent("""\
        rules:
          - id: AML.T0024.002
            when: {kind: model, exposed: true}
            reason: "{component} reached from {exposed}"
            mitigations:
              AML.M0004: {component: service, stage: Monitoring and Maintenance}
        """))
    p = predict(system(API, FLOWS), load_rules([tmp_path], include_bundled=False))
    (f,) = p.for_component("m").findings
    assert f.reason == "m reached from users, api"
    # its own mitigations and its parent's (a parent's hold for its sub-techniques)
    linked = {m.id for m, _ in bundled().mitigations_of("AML.T0024.002")}
    linked |= {m.id for m, _ in bundled().mitigations_of("AML.T0024")}
    advice = {a.id: a for a in f.mitigations}
    assert set(advice) == linked
    assert advice["AML.M0004"].component == "api" and advice["AML.M0004"].stage == "Monitoring and Maintenance"
    assert advice["AML.M0004"].in_place and advice["AML.M0004"].in_place_at == "api"
    # unplaced: output obfuscation acts at the API in front; the rest stay on the component itself
    assert not advice["AML.M0002"].in_place and advice["AML.M0002"].component == "api"
    assert not advice["AML.M0024"].in_place and advice["AML.M0024"].component == "m"
    assert {a.id for a in f.missing} == linked - {"AML.M0004"}


def test_a_service_that_says_rate_limited_holds_the_query_limit():
    said = [API[0], {k: v for k, v in API[1].items() if k != "controls"} | {"rate_limited": True}, API[2]]
    f = next(f for f in predict(system(said, FLOWS)).for_component("m").findings
             if f.technique_id == "AML.T0024.002")
    limit = next(a for a in f.mitigations if a.id == "AML.M0004")
    assert limit.in_place and limit.in_place_at == "api"
    unsaid = [API[0], {k: v for k, v in API[1].items() if k != "controls"}, API[2]]
    f = next(f for f in predict(system(unsaid, FLOWS)).for_component("m").findings
             if f.technique_id == "AML.T0024.002")
    assert not next(a for a in f.mitigations if a.id == "AML.M0004").in_place


def test_a_store_nothing_feeds_is_no_way_around_a_query_limit_but_is_around_an_input_filter():
    comps = [{"id": "users", "kind": "external", "actor": "user"},
             {"id": "api", "kind": "service", "audience": "public", "returns": "text",
              "controls": ["AML.M0004", "AML.M0020"]},
             {"id": "docs", "kind": "retrieval-store"},
             # an agent acts through its tool before any answer is checked on the way out
             {"id": "agent", "kind": "llm-app", "tools": ["mailer"]},
             {"id": "mailer", "kind": "tool", "side_effects": "external-communication", "sends_only": True},
             {"id": "llm", "kind": "model", "task": "generation", "trained_by": "vendor"}]
    flows = [{"from": "users", "to": "api"}, {"from": "api", "to": "agent"}, {"from": "docs", "to": "agent"},
             {"from": "agent", "to": "llm"}, {"from": "llm", "to": "agent"}, {"from": "agent", "to": "api"},
             {"from": "api", "to": "users"}]
    advice = {(f.technique_id, a.id): a for f in predict(system(comps, flows)).for_component("agent").findings
              for a in f.mitigations}
    limits = [a for (_, mid), a in advice.items() if mid == "AML.M0004"]
    assert limits and all(a.in_place and a.in_place_at == "api" for a in limits)
    filters = {t: a for (t, mid), a in advice.items() if mid == "AML.M0020"}
    typed = {"AML.T0051.000", "AML.T0054", "AML.T0056"}
    assert filters and not any(a.in_place for t, a in filters.items() if t not in typed), \
        "retrieved content never passes the API's filter"
    # what a user types comes only by the API, whatever the agent also retrieves
    assert all(a.in_place_at == "api" for t, a in filters.items() if t in typed)


def test_control_on_the_component_itself_counts():
    comps = [*API[:2], {**API[2], "controls": ["AML.M0002"]}]
    f = next(f for f in predict(system(comps, FLOWS)).for_component("m").findings
             if f.technique_id == "AML.T0024.002")
    assert {a.id for a in f.mitigations if a.in_place} == {"AML.M0002", "AML.M0004"}


def test_not_exposed_model_gets_no_api_techniques():
    p = predict(system(API, [{"from": "users", "to": "api"}]))
    assert p.components_for("AML.T0024.002") == ()
    assert p.components_for("AML.T0049") == ("api",)


def test_deterministic_and_serialisable():
    s = load_system(EXAMPLES / "support-agent.yaml")
    a, b = predict(s), predict(s)
    assert a == b and a.as_dict() == b.as_dict()
    assert [c.component for c in a.components] == [c.id for c in s.components]
    assert set(a.likely_technique_ids) <= set(a.technique_ids)
    assert a.as_dict()["components"][2]["findings"][0]["mitigations"][0]["stage"]


def test_support_agent_predicts_llm_rag_and_tool_techniques():
    p = predict(load_system(EXAMPLES / "support-agent.yaml"))
    agent = {f.technique_id: f for f in p.for_component("agent").findings}
    for tid in ("AML.T0051.000", "AML.T0051.001", "AML.T0054", "AML.T0056", "AML.T0053", "AML.T0086",
                "AML.T0071", "AML.T0080.000", "AML.T0077"):
        assert tid in agent, tid
    assert "help-centre-index" in agent["AML.T0051.001"].reason
    assert p.components_for("AML.T0070") == ("help-centre-index",)
    assert "web-fetch" in p.components_for("AML.T0110")
    guard = {a.id: a for a in agent["AML.T0053"].mitigations}
    assert guard["AML.M0029"].in_place and not guard["AML.M0030"].in_place


def test_image_api_predicts_evasion_and_extraction():
    p = predict(load_system(EXAMPLES / "image-classification-api.yaml"))
    clf = {f.technique_id for f in p.for_component("classifier").findings}
    assert {"AML.T0015", "AML.T0043", "AML.T0043.001", "AML.T0024.002", "AML.T0005", "AML.T0040",
            "AML.T0020"} <= clf
    assert not any(t.startswith("AML.T0051") for t in p.technique_ids)


def test_fraud_model_internal_is_not_exposed():
    p = predict(load_system(EXAMPLES / "fraud-model.yaml"))
    assert "AML.T0024.002" not in p.technique_ids and "AML.T0049" not in p.technique_ids
    assert "AML.T0020" in p.technique_ids


def test_training_data_uploads_do_not_let_the_uploader_query_the_model():
    # The partner bank writes training cases; it never sees a verdict, so verifying or hand-probing
    # attacks is not open to it (the reasons once said "gives a verdict that partner-bank can observe").
    system = load_system(EXAMPLES / "fraud-model.yaml")
    assert system.is_exposed("fraud-model") and not system.is_exposed("fraud-model", inputs_only=True)
    model = {f.technique_id: f for f in predict(system).for_component("fraud-model").findings}
    assert not {"AML.T0042", "AML.T0043.003"} & set(model)
    assert "AML.T0020" in {f.technique_id for f in predict(system).findings}  # poisoning stays
    assert not any("partner-bank can observe" in r for f in model.values() for r in f.reasons)


# -- scores, ranking and the cut -------------------------------------------------------------------

TWO_RULES = """\
rules:
  - id: AML.T0024.002
    when: {kind: model, exposed: true}
    reason: "{component} is reachable"
  - id: AML.T0020
    when: {kind: model}
    reason: "{component} is trained"
"""


def _two_rules(tmp_path):
    (tmp_path / "r.yaml").write_text(TWO_RULES)
    return load_rules([tmp_path], include_bundled=False)


def test_scores_are_probabilities_and_ranking_is_deterministic():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        p = predict(load_system(path))
        assert set(dict(p.ranked())) == set(p.technique_ids), path.name
        assert all(0.0 <= s <= 1.0 for _, s in p.ranked())
        assert all(0.0 <= f.score <= 1.0 for f in p.findings)
        keys = [(-s, t) for t, s in p.ranked()]
        assert keys == sorted(keys)
        assert predict(load_system(path)).ranked() == p.ranked()
        # A finding's score is its own component's; the technique's combines every component, so it is no lower.
        assert all(f.score <= p.score(f.technique_id) + 1e-9 for f in p.findings)


def test_cut_respects_k_and_threshold():
    s = load_system(EXAMPLES / "support-agent.yaml")
    full = predict(s, weights=Weights(k=1000))
    assert len(full.technique_ids) > 5
    p = predict(s, weights=Weights(k=3))
    assert p.likely_technique_ids == tuple(t for t, _ in p.ranked(3))
    assert p.top_technique_ids(4) == tuple(t for t, _ in p.ranked()[:4])
    assert {f.technique_id for f in p.findings if f.tier == "likely"} == set(p.likely_technique_ids)
    ranked = full.ranked()
    mid = ranked[len(ranked) // 2][1]
    cut = predict(s, weights=Weights(k=1000, threshold=mid)).likely_technique_ids
    assert cut and all(full.score(t) >= mid for t in cut)
    assert len(cut) < len(ranked)
    assert predict(s).as_dict()["likely_techniques"] == list(predict(s).likely_technique_ids)
    assert len(predict(s).likely_technique_ids) <= bundled_weights().k


def test_strong_record_ranks_above_weak(tmp_path):
    rules = _two_rules(tmp_path)
    reach, trained = rules.rules
    # AML.T0024.002's rule fired five times and was used every time; AML.T0020's fired five times, never used.
    table = learn_weights([((reach, trained), {"AML.T0024.002"})] * 5, rules)
    assert table["rules"][rule_key(reach)]["p"] > 0.7 > 0.2 > table["rules"][rule_key(trained)]["p"]
    p = predict(system(API, FLOWS), rules, Weights.from_dict(table))
    assert [t for t, _ in p.ranked()] == ["AML.T0024.002", "AML.T0020"]
    # The reverse record reverses the order: nothing but the learned table decides it.
    table = learn_weights([((reach, trained), {"AML.T0020"})] * 5, rules)
    p = predict(system(API, FLOWS), rules, Weights.from_dict(table))
    assert [t for t, _ in p.ranked()] == ["AML.T0020", "AML.T0024.002"]


def test_rule_without_record_gets_its_technique_prior(tmp_path):
    (reach, _) = _two_rules(tmp_path).rules
    w = Weights(techniques={"AML.T0024.002": 0.42}, themes={"r": 0.1})
    assert w.rule_score(reach) == 0.42
    assert Weights(themes={"r": 0.1}).rule_score(reach) == 0.1
    assert Weights().rule_score(reach) == Weights().default


def test_bundled_weights_cover_the_bundled_rules():
    w = bundled_weights()
    keys = [rule_key(r) for r in bundled_rules()]
    # Editing a rule's condition makes it new (its prior applies) until `bench/threatmodel_validate.py --learn`.
    assert sum(k in w.rules for k in keys) >= 0.8 * len(keys), "regenerate _weights.yaml with --learn"
    assert all(0.0 <= v <= 1.0 for v in (*w.rules.values(), *w.techniques.values(), *w.themes.values()))
    assert 1 <= w.k <= 25


def test_malformed_weights_fail_with_the_file_named():
    with pytest.raises(FormatError, match="w.yaml"):
        Weights.from_dict({"rules": {"x": {"fires": 1}}}, "w.yaml")
    with pytest.raises(FormatError, match="w.yaml"):
        Weights.from_dict(["not", "a", "mapping"], "w.yaml")


def test_a_parents_mitigation_in_place_clears_its_sub_techniques():
    # ATLAS links guardrails (AML.M0020) to prompt injection, not to its direct or indirect kind.
    s = System.model_validate({"name": "g", "components": [
        {"id": "user", "kind": "external", "actor": "user"},
        {"id": "chat", "kind": "service", "audience": "public", "authentication": "oauth", "returns": "text"},
        {"id": "bot", "kind": "llm-app", "system_prompt": True, "controls": ["AML.M0020"]}],
        "flows": [{"from": "user", "to": "chat"}, {"from": "chat", "to": "bot"}]})
    assert "AML.M0020" not in {m.id for m, _ in bundled().mitigations_of("AML.T0051.000")}
    f = next(f for f in predict(s).for_component("bot").findings if f.technique_id == "AML.T0051.000")
    held = {m.id: m for m in f.mitigations}["AML.M0020"]
    assert held.in_place and held.in_place_at == "bot"


def test_fields_that_say_a_control_is_in_place_hold_it():
    s = System.model_validate({"name": "h", "components": [
        {"id": "user", "kind": "external", "actor": "user"},
        {"id": "chat", "kind": "service", "audience": "public", "authentication": "oauth", "returns": "text"},
        {"id": "bot", "kind": "llm-app", "tools": ["refund"], "autonomy": "human-approval"},
        {"id": "refund", "kind": "tool", "side_effects": "write", "source": "first-party"},
        {"id": "m", "kind": "model", "task": "classification", "trained_by": "open-source", "source": "huggingface",
         "artifact_format": "pickle", "signed": True}],
        "flows": [{"from": "user", "to": "chat"}, {"from": "chat", "to": "bot"}]})
    held = {(f.component, f.technique_id, m.id): m.in_place_at for f in predict(s).findings for m in f.mitigations}
    assert held[("bot", "AML.T0053", "AML.M0029")] == "bot"
    assert held[("m", "AML.T0010.003", "AML.M0014")] == "m"
    unsigned = s.model_copy(update={"components": (*s.components[:4], s.components[4].model_copy(
        update={"signed": False}))})
    held = {(f.component, f.technique_id, m.id): m.in_place_at for f in predict(unsigned).findings
            for m in f.mitigations}
    # held, the check is shown (idle: the hash proves only the publisher's file); missing, it is no advice
    assert ("m", "AML.T0010.003", "AML.M0014") not in held


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_a_mitigation_for_a_kind_goes_on_the_component_the_reason_names_whatever_the_file_order(order):
    datasets = [{"id": "ours", "kind": "dataset", "writers": "internal", "used_for": "training",
                 "controls": ["AML.M0025", "AML.M0007"]},
                {"id": "theirs", "kind": "dataset", "writers": "partner", "used_for": "training"}]
    s = System.model_validate({"name": "p", "components": [
        {"id": "partner", "kind": "external", "actor": "partner"}, *(datasets[i] for i in order),
        {"id": "clf", "kind": "model", "task": "classification"}],
        "flows": [{"from": "partner", "to": "theirs"}, {"from": "ours", "to": "clf", "trusted": True},
                  {"from": "theirs", "to": "clf"}]})
    f = next(f for f in predict(s).for_component("clf").findings if f.technique_id == "AML.T0020")
    assert "theirs" in f.reason and "ours" not in f.reason
    advice = {m.id: m for m in f.mitigations}
    assert advice["AML.M0007"].component == "theirs"
    assert not advice["AML.M0007"].in_place and "AML.M0007" in {m.id for m in f.missing}
    # tracing where records came from names the partner as the sender of every one: no advice there
    assert "AML.M0025" not in advice


@pytest.mark.parametrize(("feed", "expected"), [
    ([{"from": "crm", "to": "lookup", "trusted": True}], set()),
    # a set only our staff write from our own material is no outsider's, read through a tool or not
    ([{"from": "crm", "to": "lookup"}], set()),
    ([{"from": "tickets", "to": "lookup"}], {"AML.T0051.001", "AML.T0093"}),  # customers write tickets
    ([], {"AML.T0051.001"}),  # where the tool reads from is unstated: it may carry outsiders' text
])
def test_a_read_tool_fed_only_by_trusted_flows_carries_no_outsiders_text(feed, expected):
    s = System.model_validate({"name": "t", "components": [
        {"id": "user", "kind": "external", "actor": "user"},
        {"id": "chat", "kind": "service", "audience": "public", "authentication": "oauth", "returns": "text"},
        {"id": "bot", "kind": "llm-app", "tools": ["lookup"]},
        {"id": "lookup", "kind": "tool", "side_effects": "read", "source": "first-party", "browses": False},
        {"id": "crm", "kind": "dataset", "source": "collected", "writers": "internal", "used_for": "retrieval"},
        {"id": "tickets", "kind": "dataset", "source": "user-submitted", "writers": "public", "used_for": "retrieval"}],
        "flows": [{"from": "user", "to": "chat"}, {"from": "chat", "to": "bot"}, *feed]})
    assert set(predict(s).technique_ids) & {"AML.T0051.001", "AML.T0093"} == expected


def test_an_app_on_the_users_device_gets_no_internet_server_findings():
    s = System.model_validate({"name": "d", "components": [
        {"id": "user", "kind": "external", "actor": "user"},
        {"id": "app", "kind": "service", "audience": "public", "authentication": "none", "returns": "labels",
         "properties": {"on_device": True, "mobile_app": True}},
        {"id": "m", "kind": "model", "task": "classification", "modality": "image", "trained_by": "us",
         "properties": {"on_device": True}}],
        "flows": [{"from": "user", "to": "app"}, {"from": "app", "to": "m"}]})
    found = set(predict(s).technique_ids)
    server = {"AML.T0049", "AML.T0006", "AML.T0029", "AML.T0034", "AML.T0034.000", "AML.T0046", "AML.T0040"}
    assert not found & server and {"AML.T0044", "AML.T0043.000", "AML.T0004"} <= found
    served = s.model_copy(update={"components": (s.components[0], s.components[1].model_copy(
        update={"properties": {}}), s.components[2].model_copy(update={"properties": {}}))})
    assert {"AML.T0049", "AML.T0040"} <= set(predict(served).technique_ids)


def test_generative_ai_and_deepfake_controls_are_offered_only_where_they_can_apply():
    image = System.model_validate({"name": "i", "components": [
        {"id": "m", "kind": "model", "task": "classification", "modality": "image", "trained_by": "open-source",
         "source": "huggingface"},
        {"id": "photos", "kind": "dataset", "source": "scraped", "used_for": "training"}],
        "flows": [{"from": "photos", "to": "m"}]})
    offered = {m.id for f in predict(image).findings for m in f.mitigations}
    assert offered and not offered & {"AML.M0020", "AML.M0021", "AML.M0022"}
    chat = System.model_validate({"name": "c", "components": [
        {"id": "user", "kind": "external", "actor": "user"},
        {"id": "api", "kind": "service", "audience": "public", "authentication": "none", "returns": "text"},
        {"id": "bot", "kind": "llm-app"},
        {"id": "llm", "kind": "model", "task": "generation", "modality": "text"}],
        "flows": [{"from": "user", "to": "api"}, {"from": "api", "to": "bot"}, {"from": "bot", "to": "llm"}]})
    offered = {m.id for f in predict(chat).findings for m in f.mitigations}
    assert "AML.M0020" in offered and "AML.M0034" not in offered


@pytest.mark.parametrize(("sends_only", "expected"), [
    (True, set()), (None, {"AML.T0051.001", "AML.T0093", "AML.T0098", "AML.T0099"})])
def test_a_send_only_tool_carries_no_outside_text_to_the_agent(sends_only, expected):
    tool = {"id": "send-email", "kind": "tool", "side_effects": "external-communication", "browses": False,
            "source": "first-party", **({"sends_only": sends_only} if sends_only is not None else {})}
    s = System.model_validate({"name": "t", "components": [
        {"id": "user", "kind": "external", "actor": "user"},
        {"id": "chat", "kind": "service", "audience": "public", "authentication": "oauth", "returns": "text"},
        {"id": "bot", "kind": "llm-app", "tools": ["send-email"]}, tool],
        "flows": [{"from": "user", "to": "chat"}, {"from": "chat", "to": "bot"}]})
    assert set(predict(s).technique_ids) & {"AML.T0051.001", "AML.T0093", "AML.T0098", "AML.T0099"} == expected


def test_inference_api_access_needs_a_service_in_front_of_the_model_not_an_llm_app():
    s = System.model_validate({"name": "c", "components": [
        {"id": "user", "kind": "external", "actor": "user"},
        {"id": "api", "kind": "service", "audience": "public", "authentication": "none", "returns": "text"},
        {"id": "bot", "kind": "llm-app"},
        {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "vendor"}],
        "flows": [{"from": "user", "to": "api"}, {"from": "api", "to": "bot"}, {"from": "bot", "to": "llm"}]})
    found = set(predict(s).technique_ids)
    assert "AML.T0040" not in found and "AML.T0047" in found  # those who talk to the app use the product
    extra = s.flows[0].model_copy(update={"source": "api", "target": "llm"})
    direct = s.model_copy(update={"flows": (*s.flows, extra)})
    assert "AML.T0040" in set(predict(direct).technique_ids)


@pytest.mark.parametrize(("recipients", "relayed"), [(False, False), (True, True)])
def test_a_chat_answering_the_one_who_asked_is_no_phishing_relay(recipients, relayed):
    comps = [{"id": "customer", "kind": "external", "actor": "user"},
             {"id": "chat", "kind": "service", "audience": "public", "authentication": "none", "returns": "text"},
             {"id": "bot", "kind": "llm-app"}]
    flows = [{"from": "customer", "to": "chat"}, {"from": "chat", "to": "bot"}, {"from": "bot", "to": "chat"},
             {"from": "chat", "to": "customer"}]
    if recipients:  # people who only receive what the service passes on
        comps.append({"id": "readers", "kind": "external", "actor": "user"})
        flows.append({"from": "chat", "to": "readers"})
    s = System.model_validate({"name": "r", "components": comps, "flows": flows})
    on_chat = {f.technique_id for f in predict(s).for_component("chat").findings}
    assert ({"AML.T0052", "AML.T0073"} <= on_chat) is relayed
    assert not ({"AML.T0052", "AML.T0073"} & on_chat) or relayed


@pytest.mark.parametrize(("open_signup", "fires"), [(None, True), (True, True), (False, False)])
def test_opening_accounts_needs_a_sign_up_that_is_not_closed(open_signup, fires):
    api = {"id": "api", "kind": "service", "audience": "public", "authentication": "oauth", "returns": "text",
           **({"open_signup": open_signup} if open_signup is not None else {})}
    s = System.model_validate({"name": "o", "components": [{"id": "u", "kind": "external"}, api],
                               "flows": [{"from": "u", "to": "api"}]})
    assert ("AML.T0021" in predict(s).technique_ids) is fires


def test_a_mitigation_for_two_named_components_is_in_place_only_when_both_hold_it():
    s = System.model_validate({"name": "p", "components": [
        {"id": "partner", "kind": "external", "actor": "partner"},
        {"id": "a", "kind": "dataset", "writers": "partner", "used_for": "training",
         "controls": ["AML.M0025", "AML.M0007"]},
        {"id": "b", "kind": "dataset", "writers": "public", "used_for": "training"},
        {"id": "clf", "kind": "model", "task": "classification"}],
        "flows": [{"from": "partner", "to": "a"}, {"from": "a", "to": "clf"}, {"from": "b", "to": "clf"}]})
    f = next(f for f in predict(s).for_component("clf").findings if f.technique_id == "AML.T0020")
    advice = {m.id: m for m in f.mitigations}
    assert not advice["AML.M0007"].in_place and advice["AML.M0007"].component == "b"


def test_a_rate_limit_on_the_only_query_path_holds_though_a_crawler_feeds_the_store():
    s = System.model_validate({"name": "m1", "components": [
        {"id": "u", "kind": "external"}, {"id": "web", "kind": "external"},
        {"id": "chat", "kind": "service", "audience": "public", "returns": "text", "rate_limited": True},
        {"id": "crawler", "kind": "service", "audience": "internal"},
        {"id": "store", "kind": "retrieval-store", "sources": ["scraped"]}, {"id": "app", "kind": "llm-app"},
        {"id": "llm", "kind": "model", "task": "generation"}],
        "flows": [{"from": "u", "to": "chat"}, {"from": "chat", "to": "app"}, {"from": "app", "to": "chat"},
                  {"from": "web", "to": "crawler"}, {"from": "crawler", "to": "store"}, {"from": "store", "to": "app"},
                  {"from": "app", "to": "llm"}, {"from": "llm", "to": "app"}]})
    limits = [m for f in predict(s).findings for m in f.mitigations if m.id == "AML.M0004"]
    assert limits and all(m.in_place and m.in_place_at == "chat" for m in limits)


def test_a_property_said_false_vetoes_the_techniques_it_would_bring():
    s = System.model_validate({"name": "f", "components": [
        {"id": "app", "kind": "llm-app", "tools": ["notes"], "properties": {"financial": False}},
        {"id": "notes", "kind": "tool", "side_effects": "write", "source": "first-party"},
        {"id": "det", "kind": "model", "task": "detection", "modality": "image", "properties": {"physical": False}}]})
    found = {(f.component, f.technique_id) for f in predict(s).findings}
    assert not found & {("app", "AML.T0048.000"), ("det", "AML.T0041"), ("det", "AML.T0008.003")}


def test_supply_chain_hardware_and_software_do_not_take_the_artifact_check_from_their_parent():
    s = System.model_validate({"name": "h", "components": [
        {"id": "m", "kind": "model", "task": "classification", "trained_by": "open-source", "source": "huggingface",
         "artifact_format": "safetensors", "signed": True, "fine_tuned": True, "properties": {"on_device": True}}]})
    advice = {(f.technique_id, m.id): m for f in predict(s).findings for m in f.mitigations}
    assert ("AML.T0010.000", "AML.M0014") not in advice and ("AML.T0010.001", "AML.M0014") not in advice
    assert advice[("AML.T0010.003", "AML.M0014")].in_place  # the model's own supply chain: it fits
    found = set(predict(s).technique_ids)
    assert "AML.T0025" not in found  # on users' devices: no intrusion needed
    served = s.model_copy(update={"components": (s.components[0].model_copy(update={"properties": {}}),)})
    assert {"AML.T0025", "AML.T0035"} <= set(predict(served).technique_ids)  # fine-tuned here: ours to lose


def test_raw_outputs_are_discoverable_only_where_outsiders_see_the_scores():
    comps = [{"id": "user", "kind": "external"},
             {"id": "upload", "kind": "service", "audience": "public", "returns": "labels"},
             {"id": "mod-api", "kind": "service", "audience": "internal", "returns": "scores"},
             {"id": "clf", "kind": "model", "task": "classification", "modality": "image"}]
    flows = [{"from": "user", "to": "upload"}, {"from": "upload", "to": "mod-api"}, {"from": "mod-api", "to": "clf"}]
    assert "AML.T0063" not in predict(System.model_validate({"name": "i", "components": comps, "flows": flows})
                                      ).technique_ids
    comps[2] = {**comps[2], "audience": "partner"}
    assert "AML.T0063" in predict(System.model_validate({"name": "p", "components": comps, "flows": flows})
                                  ).technique_ids


def test_direct_injection_needs_someone_whose_messages_reach_the_app_straight():
    comps = [{"id": "stranger", "kind": "external", "actor": "internet"},
             {"id": "app", "kind": "llm-app", "tools": ["calendar"]},
             {"id": "calendar", "kind": "tool", "side_effects": "read", "source": "mcp"}]
    flows = [{"from": "stranger", "to": "calendar", "data": "meeting invitations"}]
    s = System.model_validate({"name": "d", "components": comps, "flows": flows})
    found = set(predict(s).technique_ids)
    assert "AML.T0051.000" not in found and "AML.T0051.001" in found  # invitations arrive through a tool
    chat = System.model_validate({"name": "c", "components": [
        *comps, {"id": "user", "kind": "external", "actor": "user"},
        {"id": "chat", "kind": "service", "audience": "public", "returns": "text"}],
        "flows": [*flows, {"from": "user", "to": "chat"}, {"from": "chat", "to": "app"}]})
    f = next(f for f in predict(chat).findings if f.technique_id == "AML.T0051.000")
    assert "stranger" not in f.reason and "user" in f.reason


@pytest.mark.parametrize(("component", "leaks"), [
    ({"id": "weather", "kind": "tool", "side_effects": "read", "sensitive": False}, False),
    ({"id": "weather", "kind": "tool", "side_effects": "read"}, True),
    ({"id": "pdfs", "kind": "retrieval-store", "sources": ["user-submitted"], "sensitive": True}, True),
    ({"id": "pdfs", "kind": "retrieval-store", "sources": ["user-submitted"]}, False),
])
def test_data_leakage_follows_what_is_said_about_a_store_or_tools_data(component, leaks):
    app = {"id": "app", "kind": "llm-app", **({"tools": ["weather"]} if component["kind"] == "tool" else {})}
    flows = [{"from": "pdfs", "to": "app"}] if component["kind"] == "retrieval-store" else []
    s = System.model_validate({"name": "l", "components": [app, component], "flows": flows})
    assert ("AML.T0057" in predict(s).technique_ids) is leaks
