"""The adversary component and the rules that read it: schema errors, the adversary: leaf, the bundled
threat-actor rules, where their mitigations land, and the tier prior of the learned weights."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from advmatrix.errors import FormatError
from advmatrix.threatmodel import json_schema, load_cyclonedx, load_system, load_system_text
from advmatrix.threatmodel.predict import Weights, bundled_weights, learn_weights, predict, rule_key
from advmatrix.threatmodel.rules import load_rules

EXAMPLES = Path(__file__).parents[2] / "examples" / "systems"
DATA = Path(__file__).parent / "data"
BOMS = Path(__file__).parents[2] / "examples" / "boms"

CAMERA = """\
name: door
components:
  - {id: visitors, kind: external, actor: user}
  - {id: door-api, kind: service, audience: public, returns: labels}
  - {id: face-check, kind: model, task: classification, modality: image, trained_by: us}
flows:
  - {from: visitors, to: door-api}
  - {from: door-api, to: face-check}
  - {from: face-check, to: door-api}
"""


def with_adversary(text: str, **fields) -> str:
    body = ", ".join(f"{k}: {v}" for k, v in fields.items())
    comps = text.index("flows:")
    return text[:comps] + f"  - {{id: intruder, kind: adversary, {body}}}\n" + text[comps:]


def user_rules(tmp_path, when: str, tid: str = "AML.T0048.000", reason: str = "{adversary} wants money"):
    path = tmp_path / "mine.yaml"
    body = textwrap.indent(textwrap.dedent(when).strip(), " " * 6)
    path.write_text(f"rules:\n  - id: {tid}\n    when:\n{body}\n    reason: \"{reason}\"\n")
    return load_rules([path], include_bundled=False)


# -- schema --------------------------------------------------------------------------------------


def test_adversary_loads_with_single_values_for_lists():
    system = load_system_text(with_adversary(CAMERA, actor="criminal", goals="fraud", access="[query, physical]"))
    adv = system.component("intruder")
    assert (adv.actor, adv.goals, adv.access, adv.knowledge) == ("criminal", ("fraud",), ("query", "physical"), None)
    assert not system.is_exposed(adv)


def test_controls_on_an_adversary_are_an_error_not_a_pass():
    text = with_adversary(CAMERA, goals="fraud", controls="[AML.M0018]")
    with pytest.raises(FormatError) as info:
        load_system_text(text, "system.yaml")
    assert str(info.value) == ("system.yaml:6: components[3].controls: an adversary holds none of your controls; "
                               "list AML.M0018 on the component that applies them")


def test_unknown_goal_names_file_line_and_field():
    text = with_adversary(CAMERA, goals="[fraud, glory]")
    with pytest.raises(FormatError) as info:
        load_system_text(text, "system.yaml")
    msg = str(info.value)
    assert msg.startswith("system.yaml:6: components[3].goals[1]:") and "'glory'" in msg and "steal-model" in msg


def test_an_empty_access_list_is_an_error_not_every_way_in():
    with pytest.raises(FormatError, match=r"system.yaml:6: components\[3\].access: an empty list says nothing"):
        load_system_text(with_adversary(CAMERA, goals="evade", access="[]"), "system.yaml")


def test_a_flow_naming_an_adversary_is_an_error():
    text = with_adversary(CAMERA, actor="criminal") + "  - {from: intruder, to: door-api}\n"
    with pytest.raises(FormatError) as info:
        load_system_text(text, "system.yaml")
    assert "system.yaml:11: flows[3].from: 'intruder' is an adversary, which takes no flows" in str(info.value)


def test_json_schema_knows_the_adversary():
    defs = json_schema()["$defs"]
    assert set(defs["AdversaryComponent"]["properties"]) >= {"actor", "goals", "access", "knowledge"}


def test_an_overlay_adds_an_adversary_to_an_imported_bom(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("components:\n  - {id: spammer, kind: adversary, actor: criminal, goals: [fraud]}\n")
    system = load_cyclonedx(BOMS / "chatbot.bom.json", overlay)
    assert system.component("spammer").goals == ("fraud",)
    assert "AML.T0048.000" in predict(system).technique_ids


# -- the adversary: leaf -------------------------------------------------------------------------


def test_leaf_fires_on_any_component_only_when_an_adversary_matches(tmp_path):
    rules = user_rules(tmp_path, "kind: service\nadversary: {goals: fraud}")
    plain = load_system_text(CAMERA)
    thief = load_system_text(with_adversary(CAMERA, name="'card thief'", goals="[fraud, evade]"))
    vandal = load_system_text(with_adversary(CAMERA, goals="disrupt"))
    assert [f.component for f in predict(plain, rules).findings] == []
    assert [f.component for f in predict(vandal, rules).findings] == []
    found = predict(thief, rules).findings
    assert [(f.component, f.reason) for f in found] == [("door-api", "card thief wants money")]


@pytest.mark.parametrize(("when", "says"), [
    ("kind: model\nadversary: {kind: model}", "'adversary' selects adversary components"),
    ("kind: model\nadversary: {goals: fraud, untrusted: true}", "'adversary' takes no 'untrusted'"),
    ("kind: model\nadversary: {audience: public}", "field 'audience' does not exist on an adversary component"),
    ("kind: model\nadversary: {goals: fraud}\nknowledge: white-box", "field 'knowledge' does not exist on a model"),
    ("kind: model\npresent: {kind: service, untrusted: true}", "'present' takes no 'untrusted'"),
    ("kind: model\nuses: {side_effects: write}", "'uses' reads an LLM app's tools list, and this condition never"),
    ("kind: llm-app\nuses: {kind: model}", "'uses' selects the app's tools (and the sub-agents its tools list "
                                            "names: kind: llm-app); drop its 'kind'"),
    ("kind: llm-app\nuses: {untrusted: true}", "'uses' takes no 'untrusted'"),
    ("kind: model\npresent: {kind: service, open_signups: false}", "unknown condition key 'open_signups'"),
    ("kind: llm-app\ndownstream: {kind: tool, own: true}", "'downstream' takes no 'own'"),
    ("kind: llm-app\nupstream: {kind: tool, own: 'yes'}", "'own' takes true or false; got 'yes'"),
    ("kind: model\nadversary: {goals: fraud, reaches: 'yes'}", "'reaches' takes true or false; got 'yes'"),
    ("kind: model\nupstream: {kind: service, reaches: true}", "unknown condition key 'reaches'"),
])
def test_bad_adversary_leaf_fails_to_load_naming_the_rule(tmp_path, when, says):
    with pytest.raises(FormatError) as info:
        user_rules(tmp_path, when)
    assert "mine.yaml:" in str(info.value) and "rule AML.T0048.000" in str(info.value) and says in str(info.value)


def test_present_asks_the_whole_system_whatever_the_flows(tmp_path):
    rules = user_rules(tmp_path, "kind: adversary\npresent: {kind: service, returns: labels}",
                       reason="{component} can query {present}")
    closed = CAMERA.replace("returns: labels", "returns: text")
    found = predict(load_system_text(with_adversary(CAMERA, goals="fraud")), rules).findings
    assert [(f.component, f.reason) for f in found] == [("intruder", "intruder can query door-api")]
    assert predict(load_system_text(with_adversary(closed, goals="fraud")), rules).findings == ()


#: staff's API that outside analysts use (the analysts are trusted callers on their own flow)
ANALYSTS = """\
name: scoring
components:
  - {id: analysts, kind: external, actor: partner}
  - {id: staff-api, kind: service, audience: internal, returns: scores}
  - {id: scorer, kind: model, task: classification, modality: tabular, trained_by: us}
flows:
  - {from: analysts, to: staff-api}
  - {from: staff-api, to: scorer}
"""


@pytest.mark.parametrize(("access", "reached"), [
    ("query", False), ("account", True), ("insider", True), ("[query, account]", True)])
def test_reaches_asks_whether_the_adversary_can_act_on_the_component(tmp_path, access, reached):
    rules = user_rules(tmp_path, "kind: model\nexposed: true\nadversary: {access: [query, account, insider], "
                       "reaches: true}", tid="AML.T0024.002", reason="{adversary} can query {component}")
    found = predict(load_system_text(with_adversary(ANALYSTS, access=access)), rules).findings
    assert [(f.component, f.reason) for f in found] == ([("scorer", "intruder can query scorer")] if reached else [])


def test_reaches_uses_only_the_access_the_rule_asks_for(tmp_path):
    # an insider reaches everything, but a rule about querying weighs only the adversary's queries
    rules = user_rules(tmp_path, "kind: model\nadversary: {access: query, reaches: true}", tid="AML.T0024.002",
                       reason="{adversary} queries {component}")
    system = load_system_text(with_adversary(ANALYSTS, access="[query, insider]"))
    assert predict(system, rules).findings == ()
    public = load_system_text(with_adversary(ANALYSTS.replace("internal", "public"), access="[query, insider]"))
    assert [f.component for f in predict(public, rules).findings] == ["scorer"]


def test_an_outsider_who_only_queries_gets_nothing_through_a_staff_api():
    def adversary_reasons(access):
        got = predict(load_system_text(with_adversary(ANALYSTS, goals="[steal-model, steal-data, evade]",
                                                      access=access)))
        return sorted((f.technique_id, r) for f in got.findings for r in f.reasons if "intruder" in r)
    by_queries = {"AML.T0024.002", "AML.T0005.001", "AML.T0024.000", "AML.T0043.001"}
    assert not by_queries & {tid for tid, _ in adversary_reasons("query")}
    stolen = adversary_reasons("account")
    assert by_queries <= {tid for tid, _ in stolen}
    assert ("AML.T0024.002", "intruder wants scorer and can query it (analysts)") in stolen


# -- bundled threat-actor rules --------------------------------------------------------------------


@pytest.mark.parametrize(("signup", "opens"), [(None, True), ("true", True), ("false", False)])
def test_an_adversary_opens_accounts_only_where_some_service_lets_strangers_sign_up(signup, opens):
    text = CAMERA.replace("returns: labels", "returns: labels, authentication: api-key"
                          + (f", open_signup: {signup}" if signup else ""))
    got = predict(load_system_text(with_adversary(text, actor="criminal", goals="fraud", access="query")))
    assert ("intruder" in got.components_for("AML.T0021")) is opens
    internal = text.replace("kind: service, audience: public", "kind: service, audience: internal")
    second = internal[:internal.index("flows:")] + "  - {id: portal, kind: service, audience: partner}\n" \
        + internal[internal.index("flows:"):]
    # one service that does not say its sign-up is closed keeps the adversary's own accounts possible
    assert "intruder" in predict(load_system_text(with_adversary(second, actor="criminal", goals="fraud",
                                                                 access="query"))).components_for("AML.T0021")
    # staff accounts are not an outsider's to open, whatever the sign-up says (unstated here)
    assert internal != text
    assert "intruder" not in predict(load_system_text(with_adversary(internal, actor="criminal", goals="fraud",
                                                                     access="query"))).components_for("AML.T0021")


def test_physical_access_and_impersonation_bring_their_techniques():
    plain = predict(load_system_text(CAMERA))
    faker = predict(load_system_text(with_adversary(CAMERA, actor="criminal", goals="[impersonate, evade]",
                                                    access="[query, physical]")))
    for tid in ("AML.T0041", "AML.T0008.001", "AML.T0008.003", "AML.T0088", "AML.T0087", "AML.T0073"):
        assert tid in faker.technique_ids and tid not in plain.technique_ids, tid
    assert faker.components_for("AML.T0088") == ("face-check",)  # found on the model it fakes its way past
    assert faker.components_for("AML.T0087") == ("intruder",)  # the adversary's own preparation


def test_what_the_adversary_knows_means_by_definition():
    white = predict(load_system_text(with_adversary(CAMERA, knowledge="white-box")))
    black = predict(load_system_text(with_adversary(CAMERA, knowledge="black-box")))
    assert white.components_for("AML.T0044") == ("face-check",)
    assert "AML.T0044" not in black.technique_ids


def test_an_evader_who_sees_only_replies_tunes_inputs_by_them():
    def reasons(text, **adv):
        got = predict(load_system_text(with_adversary(text, **adv)))
        return [r for f in got.findings if f.technique_id == "AML.T0043.001" for r in f.reasons]
    said = reasons(CAMERA, goals="evade", knowledge="black-box", access="query")
    assert "intruder sees face-check only from outside and can query it through door-api, so they tune inputs by " \
           "its replies" in said
    assert not any("intruder" in r for r in reasons(CAMERA, goals="evade", knowledge="white-box", access="query"))
    internal = CAMERA.replace("audience: public", "audience: internal")
    assert not any("intruder" in r for r in reasons(internal, goals="evade", knowledge="black-box", access="query"))


def test_the_goal_raises_what_it_points_at():
    plain = load_system(EXAMPLES / "image-classification-api.yaml")
    system = plain.model_copy(update={"components": tuple(c for c in plain.components if c.kind != "adversary")})
    with_goal, without = predict(plain), predict(system)
    assert with_goal.score("AML.T0048.004") > without.score("AML.T0048.004")
    assert with_goal.score("AML.T0024.002") > without.score("AML.T0024.002")
    rank = [t for t, _ in with_goal.ranked()]
    assert rank.index("AML.T0024.002") < [t for t, _ in without.ranked()].index("AML.T0024.002")


TRAINED = """\
name: trained
components:
  - {id: m, kind: model, task: classification, modality: text, trained_by: us}
  - {id: corpus, kind: dataset, source: collected, writers: internal, used_for: [training]}
flows:
  - {from: corpus, to: m, trusted: true}
"""


@pytest.mark.parametrize(("access", "corpus", "poisons"), [
    ("[query, content]", "source: collected, writers: internal", False),  # staff keep it from our own material
    ("[supply-chain]", "source: collected, writers: internal", False),
    ("[insider]", "source: collected, writers: internal", True),         # from inside, any training set
    ("[network]", "source: collected, writers: internal", True),
    ("[content]", "source: collected, writers: public", True),
    ("[content]", "source: scraped, writers: internal", True),
    ("[supply-chain]", "source: vendor, writers: internal", True)])
def test_an_outside_adversary_poisons_only_training_data_outsiders_write_or_shape(access, corpus, poisons):
    text = with_adversary(TRAINED.replace("source: collected, writers: internal", corpus),
                          actor="hacktivist", goals="[manipulate]", access=access)
    found = {f.technique_id for f in predict(load_system_text(text)).for_component("m").findings}
    assert ("AML.T0020" in found) is poisons


def test_mitigations_of_an_adversary_finding_count_controls_anywhere():
    text = with_adversary(CAMERA, actor="criminal", goals="[impersonate]")
    text = text.replace("kind: model, task", "kind: model, controls: [AML.M0018], task")
    finding = next(f for f in predict(load_system_text(text)).findings
                   if f.component == "intruder" and any(m.id == "AML.M0018" for m in f.mitigations))
    advice = next(m for m in finding.mitigations if m.id == "AML.M0018")
    assert advice.in_place and advice.in_place_at == "face-check"


# -- the tier prior --------------------------------------------------------------------------------


def test_tier_prior_separates_rules_with_no_record_of_their_own(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text("rules:\n"
                    "  - {id: AML.T0015, when: {kind: model}, reason: r}\n"
                    "  - {id: AML.T0015, tier: possible, when: {kind: model, task: generation}, reason: r}\n"
                    "  - {id: AML.T0040, when: {kind: service}, reason: r}\n"
                    "  - {id: AML.T0047, tier: possible, when: {kind: service}, reason: r}\n")
    rules = list(load_rules([path], include_bundled=False))
    likely, possible, hit, miss = rules
    # Likely rules were right on every system, possible ones never: the tiers' rates say so.
    obs = [([hit, miss, likely], {"AML.T0040", "AML.T0015"}), ([hit, miss], {"AML.T0040"})]
    table = learn_weights(obs, rules, smoothing=4.0)
    assert table["tiers"]["likely"] > table["tiers"]["possible"]
    weights = Weights.from_dict(table)
    assert weights.rules[rule_key(likely)] > weights.rules[rule_key(possible)]  # possible never fired
    assert weights.prior("x", "AML.T0015", "likely") > weights.prior("x", "AML.T0015", "possible")
    assert weights.prior("x", "AML.T0015") == table["techniques"]["AML.T0015"]


def test_bundled_weights_carry_the_tiers():
    assert set(bundled_weights().tiers) == {"likely", "possible"}


def test_an_upload_endpoint_gives_an_adversary_no_use_of_the_product():
    def used(returns):
        text = with_adversary(CAMERA.replace("returns: labels", f"returns: {returns}"), goals="fraud", access="query")
        return "door-api" in predict(load_system_text(text)).components_for("AML.T0047")
    assert used("labels") and not used("none")


def test_an_evader_finds_nothing_to_evade_on_a_model_that_writes_unless_they_want_the_model():
    def staged(goals):
        text = with_adversary(CAMERA.replace("task: classification", "task: generation"), goals=goals,
                              knowledge="gray-box", access="query")
        got = predict(load_system_text(text))
        return {f.technique_id for f in got.findings if f.component == "face-check"
                for r in f.reasons if r.startswith("intruder")}
    assert not {"AML.T0042", "AML.T0005", "AML.T0002.000", "AML.T0043.002"} & staged("evade")
    assert {"AML.T0042", "AML.T0002.000"} <= staged("[evade, steal-model]")
    deciding = predict(load_system_text(with_adversary(CAMERA, goals="evade", knowledge="gray-box", access="query")))
    assert "AML.T0043.002" in {f.technique_id for f in deciding.findings for r in f.reasons if "intruder" in r}


def test_an_adversary_who_cannot_reach_an_app_does_not_sharpen_its_findings():
    staff_bot = """\
name: intranet
components:
  - {id: staff, kind: external, actor: user}
  - {id: intranet, kind: service, audience: internal, authentication: oauth, returns: text}
  - {id: bot, kind: llm-app, system_prompt: secret}
flows: [{from: staff, to: intranet}, {from: intranet, to: bot}, {from: bot, to: intranet}]
"""
    def sharpened(access):
        text = with_adversary(staff_bot, goals="[steal-data, misuse, compromise]", actor="criminal", access=access)
        return {f.technique_id for f in predict(load_system_text(text)).findings for r in f.reasons if "intruder" in r}
    assert not {"AML.T0056", "AML.T0065", "AML.T0068", "AML.T0102"} & sharpened("query")
    assert {"AML.T0056", "AML.T0065", "AML.T0068", "AML.T0102"} <= sharpened("account")


def test_an_outsider_wears_down_no_model_trained_only_on_what_staff_keep():
    def worn(fed_from_outside):
        text = ("name: m\ncomponents:\n"
                "  - {id: notes, kind: dataset, source: collected, writers: internal, used_for: [fine-tuning]}\n"
                "  - {id: m, kind: model, task: classification, trained_by: us}\n"
                + ("  - {id: web, kind: external, actor: internet}\n" if fed_from_outside else "")
                + "  - {id: outsider, kind: adversary, goals: [manipulate], access: [content]}\n"
                "flows: [{from: notes, to: m}" + (", {from: web, to: notes}" if fed_from_outside else "") + "]\n")
        got = predict(load_system_text(text))
        return any(r.startswith("outsider") for f in got.findings if f.technique_id == "AML.T0031" for r in f.reasons)
    assert not worn(False) and worn(True)


@pytest.mark.parametrize(("access", "goals", "model", "copied"), [
    ("[network]", "[evade]", "trained_by: us", True),
    ("[insider]", "[steal-model]", "trained_by: us", True),
    ("[query]", "[evade]", "trained_by: us", False),  # from outside, the weights on our servers are not theirs
    ("[network]", "[evade]", "trained_by: vendor, source: vendor-api, artifact_format: hosted", False),
])
def test_a_foothold_inside_copies_the_weight_files_we_keep_and_attacks_them_white_box(access, goals, model, copied):
    text = with_adversary(CAMERA.replace("trained_by: us", model), actor="nation-state", goals=goals, access=access,
                          knowledge="gray-box")
    got = {f.technique_id for f in predict(load_system_text(text)).findings if f.component == "face-check"}
    assert ("AML.T0044" in got) is copied
    assert ("AML.T0043.000" in got) is (copied and goals == "[evade]")


@pytest.mark.parametrize(("access", "goals", "chaff"), [
    ("[physical]", "[disrupt]", True), ("[physical]", "[evade]", False), ("[query]", "[disrupt]", False)])
def test_a_disruptor_in_front_of_the_cameras_floods_them_with_look_alikes(access, goals, chaff):
    # plate-like stickers before a licence-plate reader: chaff needs no API, only the sensors' field of view
    text = with_adversary(CAMERA.replace("task: classification", "task: detection").replace(
        "{id: visitors, kind: external, actor: user}", "{id: road, kind: external, actor: other}").replace(
        "from: visitors", "from: road"), actor="hacktivist", goals=goals, access=access)
    got = {f.technique_id for f in predict(load_system_text(text)).findings if f.component == "face-check"}
    assert ("AML.T0046" in got) is chaff


CONSOLE = """\
name: plant
components:
  - {id: sensors, kind: external, actor: other}
  - {id: detector, kind: model, task: anomaly-detection, modality: tabular, trained_by: us}
  - {id: hmi, kind: service, audience: internal, authentication: oauth, returns: scores}
  - {id: operators, kind: external, actor: user}
flows:
  - {from: sensors, to: detector, trusted: true}
  - {from: detector, to: hmi}
  - {from: hmi, to: operators}
"""


@pytest.mark.parametrize(("access", "checks"), [("insider", True), ("account", True), ("query", False)])
def test_an_evader_who_sees_the_decisions_where_they_sign_in_can_check_and_hand_edit_inputs(access, checks):
    got = predict(load_system_text(with_adversary(CONSOLE, actor="insider", goals="evade", access=access)))
    for tid in ("AML.T0042", "AML.T0043.003"):
        reasons = [r for f in got.findings if f.technique_id == tid for r in f.reasons]
        assert any(r.startswith("intruder sees detector's decisions") for r in reasons) is checks, tid


NOTES = """\
name: notes
components:
  - {id: doctors, kind: external, actor: user}
  - {id: web, kind: service, audience: %s, authentication: oauth, returns: text}
  - {id: app, kind: llm-app, system_prompt: true}
  - {id: llm, kind: model, task: generation, modality: text, trained_by: vendor, source: vendor-api}
  - {id: portal-messages, kind: retrieval-store, writers: public}
flows:
  - {from: doctors, to: web}
  - {from: web, to: app}
  - {from: app, to: web}
  - {from: web, to: doctors}
  - {from: app, to: llm}
  - {from: llm, to: app}
  - {from: portal-messages, to: app}
"""


@pytest.mark.parametrize(("audience", "access", "sees"), [
    ("internal", "[content]", False), ("internal", "[account]", True), ("public", "[content]", True)])
def test_an_adversary_gets_an_llms_words_for_their_own_use_only_where_they_read_them(audience, access, sees):
    # planting text in what the app reads, they never see its answers unless those are published
    text = with_adversary(NOTES % audience, actor="criminal", goals="[misuse, compromise]", access=access)
    got = {(f.component, f.technique_id) for f in predict(load_system_text(text)).findings}
    assert (("llm", "AML.T0048.002") in got) is sees
    if audience == "internal":
        assert (("app", "AML.T0102") in got) is sees  # commands for their malware: theirs only if they read them


def test_generated_content_published_to_the_internet_is_a_misusers_whoever_reads_it():
    text = with_adversary("""\
name: release
components:
  - {id: internet, kind: external, actor: internet}
  - {id: lm, kind: model, task: generation, modality: text, trained_by: us}
flows:
  - {from: lm, to: internet, data: released weights}
""", actor="researcher", goals="[misuse]", access="[public]")
    got = {(f.component, f.technique_id) for f in predict(load_system_text(text)).findings}
    assert ("lm", "AML.T0048.002") in got


@pytest.mark.parametrize(("origin", "copied"), [({"trained_by": "open-source"}, False),
                                               ({"trained_by": "open-source", "fine_tuned": True}, True),
                                               ({"trained_by": "us"}, True)])
def test_no_one_steals_by_queries_a_model_anyone_can_download_as_it_is(origin, copied):
    fields = ", ".join(f"{k}: {str(v).lower()}" for k, v in origin.items())
    text = with_adversary(CAMERA.replace("trained_by: us", fields), actor="competitor", goals="[steal-model]",
                          access="[query]")
    got = {f.technique_id for f in predict(load_system_text(text)).findings if f.component == "face-check"
           and any(r.startswith("intruder") for r in f.reasons)}
    assert bool({"AML.T0024.002", "AML.T0005.001"} & got) is copied


@pytest.mark.parametrize(("access", "by_cyber_means"), [("[query, content]", False), ("[network]", True)])
def test_data_leave_by_cyber_means_only_for_one_who_is_on_our_machines(access, by_cyber_means):
    text = with_adversary(CAMERA, actor="criminal", goals="[steal-data]", access=access)
    got = {f.technique_id for f in predict(load_system_text(text)).findings if f.component == "intruder"}
    assert ("AML.T0025" in got) is by_cyber_means


def test_a_query_passed_on_by_a_public_service_reaches_through_an_internal_one_behind_it(tmp_path):
    # an internal service is closed to outsiders as callers, not as a hop: the public API hands their
    # transaction to the mTLS scoring microservice, and the model behind it answers it
    hop = ANALYSTS.replace("  - {id: analysts, kind: external, actor: partner}\n",
                           "  - {id: analysts, kind: external, actor: partner}\n"
                           "  - {id: shoppers, kind: external, actor: user}\n"
                           "  - {id: checkout, kind: service, audience: public, returns: labels}\n"
                           ) + "  - {from: shoppers, to: checkout}\n  - {from: checkout, to: staff-api}\n"
    rules = user_rules(tmp_path, "kind: model\nadversary: {access: query, reaches: true}", tid="AML.T0024.002",
                       reason="{adversary} queries {component}")
    assert [f.component for f in predict(load_system_text(with_adversary(hop, access="query")), rules).findings] \
        == ["scorer"]
    # the staff API an outside party calls itself stays closed to them
    assert predict(load_system_text(with_adversary(ANALYSTS, access="query")), rules).findings == ()


@pytest.mark.parametrize(("access", "flooded"),
                         [(["network"], True), (["insider"], True), (["public", "query"], False)])
def test_a_crew_inside_can_flood_an_internal_job_no_outsider_reaches(access, flooded):
    # bedside monitors feed an hourly scoring job only the hospital network reaches; every alert waits on it
    s = load_system_text(textwrap.dedent(f"""
        name: ward
        components:
          - {{id: monitors, kind: service, audience: internal, authentication: none, returns: none}}
          - {{id: scoring-job, kind: service, audience: internal, returns: scores}}
          - {{id: sepsis-model, kind: model, task: classification, modality: tabular, trained_by: us}}
          - {{id: clinicians, kind: external, actor: user}}
          - {{id: crew, kind: adversary, actor: criminal, goals: [disrupt], access: {access}}}
        flows:
          - {{from: monitors, to: scoring-job, trusted: true}}
          - {{from: scoring-job, to: sepsis-model}}
          - {{from: sepsis-model, to: scoring-job}}
          - {{from: scoring-job, to: clinicians}}
        """))
    got = {f.component for f in predict(s).findings if f.technique_id == "AML.T0029"}
    assert ("scoring-job" in got) is flooded
    assert "crew" in got  # what the crew wants, wherever it lands


@pytest.mark.parametrize(("access", "lures"), [("[physical]", False), ("[physical, query]", True), ("[content]", True)])
def test_a_thief_who_only_walks_up_to_the_camera_sends_no_lures(access, lures):
    # a printed mat fools the camera; no message or look-alike site is part of that
    got = predict(load_system_text(with_adversary(CAMERA, actor="criminal", goals="[evade, fraud]", access=access)))
    for tid in ("AML.T0052", "AML.T0008.002"):
        assert ("intruder" in got.components_for(tid)) is lures, tid
