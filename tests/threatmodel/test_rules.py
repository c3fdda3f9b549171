"""Rule files: what loading rejects, what each condition matches, and the coverage of the matrix."""

from __future__ import annotations

import re
import textwrap
import warnings
from pathlib import Path

import pytest
import yaml

from advmatrix.errors import FormatError
from advmatrix.kb import bundled
from advmatrix.threatmodel import System
from advmatrix.threatmodel.predict import rule_key
from advmatrix.threatmodel.rules import RuleWarning, bundled_rules, load_rules, no_precondition


def rules_from(tmp_path, text: str, name: str = "mine.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return load_rules([path], include_bundled=False)


def rule(when: str, tid: str = "AML.T0015", reason: str = "{component} matched") -> str:
    body = textwrap.indent(textwrap.dedent(when).strip(), " " * 6)
    return f"rules:\n  - id: {tid}\n    when:\n{body}\n    reason: \"{reason}\"\n"


def system(components: list[dict], flows: list[dict] = ()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


def matches(rules, sys_: System) -> list[str]:
    return [c.id for c in sys_.components for r in rules if r.facts(sys_, c) is not None]


# -- loading errors ------------------------------------------------------------------------------


def test_unknown_technique_names_file_line_rule_and_id(tmp_path):
    with pytest.raises(FormatError) as exc:
        rules_from(tmp_path, rule("kind: model", tid="AML.T9999"))
    msg = str(exc.value)
    assert "mine.yaml:2" in msg and "AML.T9999" in msg and "unknown ATLAS technique" in msg


def test_mitigation_id_is_not_a_technique(tmp_path):
    with pytest.raises(FormatError, match="unknown ATLAS technique 'AML.M0004'"):
        rules_from(tmp_path, rule("kind: model", tid="AML.M0004"))


def test_field_not_in_schema_of_kind(tmp_path):
    with pytest.raises(FormatError) as exc:
        rules_from(tmp_path, rule("kind: model\nreturns: scores"))
    assert "mine.yaml:5" in str(exc.value) and "field 'returns' does not exist on a model component" in str(exc.value)


def test_field_of_kind_narrowed_inside_all_list(tmp_path):
    with pytest.raises(FormatError, match="'audience' does not exist on a dataset"):
        rules_from(tmp_path, rule("all:\n  - kind: dataset\n  - audience: public"))


def test_unknown_condition_key(tmp_path):
    with pytest.raises(FormatError, match="unknown condition key 'colour'"):
        rules_from(tmp_path, rule("kind: model\ncolour: red"))


def test_unknown_operator_and_rule_key(tmp_path):
    with pytest.raises(FormatError, match="a field test is"):
        rules_from(tmp_path, rule("kind: model\ntask: {like: class}"))
    with pytest.raises(FormatError, match="unknown key 'severity'"):
        rules_from(tmp_path, rule("kind: model") + "    severity: high\n")


NEVER_FIRES = {
    "empty-kind-list": ("kind: []", "an empty list of kinds matches no component"),
    "kind-not-text": ("all:\n  - kind: [[model]]", "unknown component kind ['model']"),
    "set-as-text": ("kind: model\ntask: {set: 'no'}", "'set' takes true or false; got 'no'"),
    "empty-value-list": ("kind: model\ntask: []", "an empty list matches nothing"),
    "empty-in": ("kind: model\ntask: {in: []}", "an empty list matches nothing"),
    "adversary-on-a-flow": ("kind: model\nadversary: {upstream: {kind: external}}",
                            "an adversary is on no flow: its selector takes no upstream"),
    "misspelt-value": ("kind: model\ntask: classifcation", "task: 'classifcation' is not a value it can take"),
    "quoted-boolean": ("kind: model\nsigned: 'no'", "signed: 'no' is not a value it can take (true, false)"),
    "misspelt-in-selector": ("kind: model\nupstream: {kind: service, returns: [score]}",
                             "returns: 'score' is not a value it can take"),
    "unknown-control": ("kind: model\ncontrols: AML.M9999", "controls: 'AML.M9999' is not an ATLAS mitigation ID"),
    "kinds-exclude": ("all: [{kind: model}, {kind: service}]", "exclude each other"),
    "quoted-untrusted": ("kind: model\nexposed: {untrusted: 'false'}", "'exposed' takes true, false"),
    "quoted-untrusted-leaf": ("kind: model\nupstream: {kind: external, untrusted: 'false'}",
                              "'untrusted' takes true or false; got 'false'"),
}


@pytest.mark.parametrize("case", NEVER_FIRES)
def test_a_condition_that_could_never_hold_fails_the_load(tmp_path, case):
    when, message = NEVER_FIRES[case]
    with pytest.raises(FormatError) as exc:
        rules_from(tmp_path, rule(when))
    assert message in str(exc.value) and "mine.yaml:" in str(exc.value) and "\n" not in str(exc.value)


def test_a_rule_directory_without_rule_files_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not rules")
    with pytest.raises(FormatError, match="no rule files"):
        load_rules([tmp_path], include_bundled=False)


def test_bad_yaml_names_line(tmp_path):
    with pytest.raises(FormatError, match=r"mine\.yaml:4: not valid YAML"):
        rules_from(tmp_path, "rules:\n  - id: AML.T0015\n    when: {kind: model\n    reason: x\n")


def test_a_reason_indented_under_when_is_named_where_it_went(tmp_path):
    with pytest.raises(FormatError) as info:
        rules_from(tmp_path, "rules:\n  - id: AML.T0015\n    when:\n      kind: model\n      reason: x\n")
    assert str(info.value).endswith("mine.yaml:2: rule AML.T0015: 'reason' is missing (line 5 has it under 'when': "
                                    "indent it as deep as 'when')")


def test_unknown_placeholder_and_stage(tmp_path):
    with pytest.raises(FormatError, match=r"placeholder '\{colour\}'"):
        rules_from(tmp_path, rule("kind: model", reason="{colour}"))
    with pytest.raises(FormatError, match="unknown stage 'Later'"):
        rules_from(tmp_path, rule("kind: model") + "    stage: Later\n")


def test_unlinked_mitigation_warns_but_loads(tmp_path):
    text = rule("kind: model") + "    mitigations:\n      AML.M0031: {component: service}\n"
    with pytest.warns(RuleWarning, match="AML.M0031 is not linked to AML.T0015"):
        got = rules_from(tmp_path, text)
    assert len(got) == 1 and got.warnings


def test_directory_of_user_rules_adds_to_bundled(tmp_path):
    (tmp_path / "a.yaml").write_text(rule("kind: model"))
    (tmp_path / "_notes.yaml").write_text("not: [rules")
    with pytest.warns(RuleWarning, match=r"not read: _notes\.yaml"):
        got = load_rules([tmp_path])
    assert len(got) == len(bundled_rules()) + 1


# -- conditions ----------------------------------------------------------------------------------

MODEL = {"id": "m", "kind": "model", "task": "classification", "modality": "image"}


def test_field_values_lists_and_operators(tmp_path):
    s = system([MODEL, {"id": "d", "kind": "dataset", "used_for": ["training", "evaluation"]},
                {"id": "t", "kind": "tool", "side_effects": "write"}])
    assert matches(rules_from(tmp_path, rule("kind: model\ntask: [detection, classification]")), s) == ["m"]
    assert matches(rules_from(tmp_path, rule("kind: model\ntask: detection")), s) == []
    assert matches(rules_from(tmp_path, rule("used_for: training")), s) == ["d"]
    assert matches(rules_from(tmp_path, rule("side_effects: {in: [write, code-execution]}")), s) == ["t"]
    assert matches(rules_from(tmp_path, rule("kind: model\nbase_model: {set: false}")), s) == ["m"]
    assert matches(rules_from(tmp_path, rule("kind: model\nsigned: false")), s) == ["m"]


def test_combinators_and_properties(tmp_path):
    s = system([MODEL, {**MODEL, "id": "m2", "modality": "text", "properties": {"tier": "gold"}}])
    assert matches(rules_from(tmp_path, rule("kind: model\nnot: {modality: image}")), s) == ["m2"]
    text = rule("any:\n  - modality: image\n  - properties.tier: gold")
    assert matches(rules_from(tmp_path, text), s) == ["m", "m2"]


def test_bool_is_not_one(tmp_path):
    s = system([{"id": "a", "kind": "llm-app", "system_prompt": "secret"}, {"id": "b", "kind": "llm-app",
                                                                               "system_prompt": True}])
    assert matches(rules_from(tmp_path, rule("system_prompt: true")), s) == ["b"]


CHAIN = [{"id": "users", "kind": "external"},
         {"id": "api", "kind": "service", "audience": "internal", "returns": "scores"},
         MODEL,
         {"id": "d", "kind": "dataset", "writers": "public", "used_for": "training"}]


def test_graph_conditions_follow_flows(tmp_path):
    s = system(CHAIN, [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}, {"from": "d", "to": "m"}])
    assert matches(rules_from(tmp_path, rule("kind: model\nexposed: true")), s) == ["m"]
    assert matches(rules_from(tmp_path, rule("kind: model\nupstream: {kind: dataset, writers: public}")), s) == ["m"]
    assert matches(rules_from(tmp_path, rule("kind: model\nreachable_from: {kind: service}")), s) == ["m"]
    assert matches(rules_from(tmp_path, rule("kind: dataset\ndownstream: {kind: model}")), s) == ["d"]
    assert matches(rules_from(tmp_path, rule("kind: model\nupstream: {kind: tool}")), s) == []


def test_trusted_flows_are_skipped_only_when_the_rule_says_untrusted(tmp_path):
    s = system(CHAIN, [{"from": "users", "to": "api"}, {"from": "api", "to": "m", "trusted": True}])
    assert matches(rules_from(tmp_path, rule("kind: model\nexposed: true")), s) == ["m"]
    assert matches(rules_from(tmp_path, rule("kind: model\nexposed: {untrusted: true}")), s) == []
    assert matches(rules_from(tmp_path, rule("kind: model\nupstream: {kind: external, untrusted: true}")), s) == []
    assert matches(rules_from(tmp_path, rule("kind: model\nupstream: {kind: external}")), s) == ["m"]


def test_reason_filled_from_facts(tmp_path):
    s = system(CHAIN, [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}])
    text = rule("kind: model\nexposed: true\nupstream: {kind: service}",
                reason="{component} ({task}, {base_model}) reached from {exposed} via {upstream}")
    (r,) = rules_from(tmp_path, text)
    facts = r.facts(s, s.component("m"))
    assert r.explain(s.component("m"), facts) == "m (classification, unstated) reached from users via api"


def test_not_does_not_leak_facts(tmp_path):
    s = system(CHAIN, [{"from": "d", "to": "m"}])
    (r,) = rules_from(tmp_path, rule("kind: model\nupstream: {kind: dataset}\nnot: {upstream: {kind: service}}",
                                     reason="{component} {via}"))
    assert r.explain(s.component("m"), r.facts(s, s.component("m"))) == "m d"
    # with only a negated leaf, {via} could never name anything: the rule does not load
    with pytest.raises(FormatError, match="placeholder '\\{via\\}' names where content came from"):
        rules_from(tmp_path, rule("kind: model\nnot: {upstream: {kind: service}}", reason="{component} {via}"))


# -- the bundled rules ---------------------------------------------------------------------------


def test_bundled_rules_load_clean():
    assert bundled_rules().warnings == ()
    assert len(bundled_rules()) > 100


def test_every_technique_has_a_rule_or_a_reason_not_both():
    covered, exempt = bundled_rules().technique_ids, set(no_precondition())
    for t in bundled().techniques:
        assert (t.id in covered) != (t.id in exempt), t.id
    assert all(isinstance(v, str) and len(v) > 20 for v in no_precondition().values())


def test_llm_agent_and_rag_techniques_have_rules():
    covered = bundled_rules().technique_ids
    for tid in ("AML.T0051.000", "AML.T0051.001", "AML.T0054", "AML.T0056", "AML.T0070", "AML.T0053",
                "AML.T0080.000", "AML.T0110", "AML.T0086"):
        assert tid in covered


def bundled_hits(sys_: System) -> set[tuple[str, str]]:
    """(component, technique) for every bundled rule that matches."""
    return {(c.id, r.technique_id) for c in sys_.components for r in bundled_rules() if r.facts(sys_, c) is not None}


PUBLIC_CLASSIFIER = [
    {"id": "users", "kind": "external", "actor": "internet"},
    {"id": "api", "kind": "service", "audience": "public", "returns": "labels"},
    {"id": "clf", "kind": "model", "task": "classification", "trained_by": "us", "source": "internal"},
]
PUBLIC_CLASSIFIER_FLOWS = [{"from": "users", "to": "api"}, {"from": "api", "to": "clf"}, {"from": "clf", "to": "api"}]


def test_in_house_classifier_behind_public_verdicts_invites_a_stand_in():
    # Private weights do not stop evasion: public data of the same kind trains a proxy whose gradients transfer.
    hits = bundled_hits(system(PUBLIC_CLASSIFIER, PUBLIC_CLASSIFIER_FLOWS))
    for tid in ("AML.T0002.000", "AML.T0043.002", "AML.T0042"):
        assert ("clf", tid) in hits, tid
    # optimising on the stand-in is transfer; white-box optimisation needs the deployed weights themselves
    assert ("clf", "AML.T0043.000") not in hits


def test_white_box_needs_the_deployed_weights_not_their_public_ancestor():
    hub = {"id": "clf", "kind": "model", "task": "classification", "source": "huggingface"}
    assert ("clf", "AML.T0043.000") in bundled_hits(system([hub], []))
    assert ("clf", "AML.T0044") in bundled_hits(system([hub], []))
    tuned = bundled_hits(system([{**hub, "fine_tuned": True, "base_model": "vit-base"}], []))
    assert ("clf", "AML.T0043.000") not in tuned and ("clf", "AML.T0044") not in tuned
    # a vendor's base model cannot be downloaded as a stand-in
    vendor = bundled_hits(system([{"id": "m", "kind": "model", "task": "generation", "trained_by": "vendor",
                                   "source": "vendor-api", "base_model": "gpt-4o-mini"}], []))
    assert not {t for c, t in vendor if t in ("AML.T0002.001", "AML.T0005.002")}


def test_verify_attack_needs_a_decision_model_not_a_generator():
    comps = [*PUBLIC_CLASSIFIER[:2], {"id": "llm", "kind": "model", "task": "generation", "trained_by": "vendor"}]
    hits = bundled_hits(system(comps, [{"from": "users", "to": "api"}, {"from": "api", "to": "llm"}]))
    assert ("llm", "AML.T0042") not in hits and ("llm", "AML.T0043.002") not in hits


def test_stand_in_data_rule_skips_open_source_and_unexposed_models():
    open_src = [*PUBLIC_CLASSIFIER[:2], {**PUBLIC_CLASSIFIER[2], "trained_by": "open-source"}]
    assert ("clf", "AML.T0002.000") not in bundled_hits(system(open_src, PUBLIC_CLASSIFIER_FLOWS))
    assert ("clf", "AML.T0002.000") not in bundled_hits(system([PUBLIC_CLASSIFIER[2]]))


def test_code_execution_reached_from_outside_predicts_developed_capabilities():
    comps = [{"id": "users", "kind": "external", "actor": "internet"},
             {"id": "app", "kind": "llm-app", "tools": ["runner"]},
             {"id": "runner", "kind": "tool", "side_effects": "code-execution"}]
    assert ("runner", "AML.T0017") in bundled_hits(system(comps, [{"from": "users", "to": "app"},
                                                                  {"from": "app", "to": "runner"}]))
    assert ("runner", "AML.T0017") not in bundled_hits(system(comps[1:]))


def test_unauthenticated_inbound_messages_to_people_predict_phishing_and_impersonation():
    comps = [{"id": "senders", "kind": "external", "actor": "internet"},
             {"id": "mail", "kind": "service", "audience": "public", "authentication": "none"},
             {"id": "staff", "kind": "external", "actor": "user"}]
    flows = [{"from": "senders", "to": "mail"}, {"from": "mail", "to": "staff"}]
    hits = bundled_hits(system(comps, flows))
    assert {("mail", "AML.T0052"), ("mail", "AML.T0073")} <= hits
    signed_in = [comps[0], {**comps[1], "authentication": "oauth"}, comps[2]]
    assert ("mail", "AML.T0052") not in bundled_hits(system(signed_in, flows))


def test_a_reason_cannot_name_what_only_a_negation_mentions(tmp_path):
    with pytest.raises(FormatError, match=r"placeholder '\{upstream\}' names what 'upstream' matched, but"):
        rules_from(tmp_path, rule("kind: model\nnot: {upstream: {kind: service}}",
                                  reason="{component} fed by {upstream}"))
    with pytest.raises(FormatError, match=r"placeholder '\{exposed\}' names the entry points .* 'exposed: false'"):
        rules_from(tmp_path, rule("kind: model\nexposed: false", reason="{component} reached by {exposed}"))
    assert rules_from(tmp_path, rule("kind: model\nexposed: true", reason="{component} reached by {exposed}"))
    with pytest.raises(FormatError, match=r"placeholder '\{properties\.\}'"):
        rules_from(tmp_path, rule("kind: model", reason="{component} {properties.}"))


def test_empty_rules_path_is_refused_not_read_as_the_current_directory(cli):
    example = Path(__file__).resolve().parents[2] / "examples" / "systems" / "fraud-model.yaml"
    r = cli("threatmodel", example, "--rules", "")
    assert r.code == 2 and "--rules: an empty value" in r.err


def test_an_empty_out_is_refused_not_written_into_the_current_directory(cli, tmp_path, monkeypatch):
    example = Path(__file__).resolve().parents[2] / "examples" / "systems" / "fraud-model.yaml"
    monkeypatch.chdir(tmp_path)
    r = cli("threatmodel", example, "--out", "")
    assert r.code == 2 and "--out: an empty value" in r.err
    assert list(tmp_path.iterdir()) == []


def test_no_output_replaces_a_yml_rule_file_of_a_rules_directory(cli, tmp_path):
    example = Path(__file__).resolve().parents[2] / "examples" / "systems" / "fraud-model.yaml"
    rules = tmp_path / "rd"
    rules.mkdir()
    mine = rules / "mine.yml"
    mine.write_text(rule("kind: model"))
    r = cli("threatmodel", example, "--rules", rules, "--emit-assess-plan", mine)
    assert r.code == 2 and mine.read_text() == rule("kind: model")


def test_files_in_a_rules_directory_that_are_not_read_are_named(cli, tmp_path):
    example = Path(__file__).resolve().parents[2] / "examples" / "systems" / "fraud-model.yaml"
    rules = tmp_path / "rd"
    (rules / "sub").mkdir(parents=True)
    (rules / "a.yaml").write_text(rule("kind: model"))
    for name in ("_b.yaml", "b.YAML", "sub/c.yaml", "notes.txt"):
        (rules / name).write_text("rules: [oops")
    r = cli("threatmodel", example, "--rules", rules, "--json", "--paths", "0")
    assert r.code == 0
    assert f"{rules}: not read: _b.yaml, b.YAML, sub/ (rule files are *.yaml or *.yml" in r.err


def test_browsing_techniques_follow_what_a_tool_is_said_to_do():
    """Clickbait and drive-by need a tool that opens pages: a mail-only tool (browses: false) rules them
    out, a read-only fetcher that browses brings them in, and an unstated one leaves them possible."""
    def hits(**tool):
        comps = [{"id": "users", "kind": "external", "actor": "user"},
                 {"id": "app", "kind": "llm-app", "tools": ["t"]}, {"id": "t", "kind": "tool", **tool}]
        found = bundled_hits(system(comps, [{"from": "users", "to": "app"}, {"from": "app", "to": "users"}]))
        return {tid for cid, tid in found if cid == "app"} & {"AML.T0100", "AML.T0078"}

    assert hits(side_effects="external-communication", browses=False) == set()
    assert hits(side_effects="read", browses=True) == {"AML.T0100", "AML.T0078"}
    assert hits(side_effects="external-communication") == {"AML.T0100", "AML.T0078"}
    assert hits(side_effects="read") == set()


AGENT = [{"id": "users", "kind": "external", "actor": "user"},
         {"id": "docs", "kind": "retrieval-store", "writers": "public"},
         {"id": "app", "kind": "llm-app", "tools": ["lookup", "refund", "fetch"]},
         {"id": "lookup", "kind": "tool", "side_effects": "read", "source": "first-party"},
         {"id": "refund", "kind": "tool", "side_effects": "write"},
         {"id": "fetch", "kind": "tool", "side_effects": "external-communication", "browses": True}]
AGENT_FLOWS = [{"from": "users", "to": "app"}, {"from": "app", "to": "users"}, {"from": "docs", "to": "app"}]


def test_fed_by_takes_one_flow_and_no_hop(tmp_path):
    rules = rules_from(tmp_path, rule("kind: tool\nfed_by: {kind: retrieval-store}", reason="{component} <- {fed_by}"))
    via_agent = system(AGENT, AGENT_FLOWS)
    assert matches(rules, via_agent) == []
    direct = system(AGENT, [*AGENT_FLOWS, {"from": "docs", "to": "lookup"}])
    assert matches(rules, direct) == ["lookup"]
    only = next(iter(rules))
    assert only.explain(direct.component("lookup"), only.facts(direct, direct.component("lookup"))) == "lookup <- docs"


def test_feeds_takes_one_flow_out_and_no_hop(tmp_path):
    # a store read by a tool feeds the tool; its results reach the app only through the tool's own answers
    rules = rules_from(tmp_path, rule("kind: retrieval-store\nfeeds: {kind: tool}", reason="{component} -> {feeds}"))
    assert matches(rules, system(AGENT, AGENT_FLOWS)) == []
    direct = system(AGENT, [*AGENT_FLOWS, {"from": "docs", "to": "lookup"}])
    assert matches(rules, direct) == ["docs"]
    only = next(iter(rules))
    assert only.explain(direct.component("docs"), only.facts(direct, direct.component("docs"))) == "docs -> lookup"
    to_app = rules_from(tmp_path, rule("kind: retrieval-store\nfeeds: {kind: llm-app}"), name="b.yaml")
    assert matches(to_app, direct) == ["docs"]  # the flow straight to the app too
    assert matches(to_app, system(AGENT, [{"from": "docs", "to": "lookup"}])) == []


def test_tool_data_poisoning_needs_the_tool_itself_to_read_outsiders_content():
    hits = {c for c, t in bundled_hits(system(AGENT, AGENT_FLOWS)) if t == "AML.T0099"}
    assert hits == {"fetch"}, "a first-party lookup and a refund tool do not fetch the public store's pages"
    fed = system(AGENT, [*AGENT_FLOWS, {"from": "docs", "to": "lookup"}])
    assert {c for c, t in bundled_hits(fed) if t == "AML.T0099"} == {"fetch", "lookup"}


def test_a_reason_under_any_names_every_source_that_matched():
    s = system(AGENT, AGENT_FLOWS)
    rule_ = next(r for r in bundled_rules() if r.technique_id == "AML.T0051.001")
    reason = rule_.explain(s.component("app"), rule_.facts(s, s.component("app")))
    assert "docs" in reason and "fetch" in reason and "lookup" in reason
    assert "refund" not in reason, "a write tool brings no one's content back"


def test_phishing_through_a_service_needs_it_to_pass_on_text():
    comps = [{"id": "shoppers", "kind": "external", "actor": "user"},
             {"id": "checkout", "kind": "service", "audience": "public", "authentication": "none", "returns": "labels"}]
    flows = [{"from": "shoppers", "to": "checkout"}, {"from": "checkout", "to": "shoppers"}]
    assert not {t for _, t in bundled_hits(system(comps, flows))} & {"AML.T0052", "AML.T0073"}
    comps[1] = {**comps[1], "returns": "text"}
    # text back to the shopper who asked relays nothing; text passed on to people who only receive does
    assert not {t for _, t in bundled_hits(system(comps, flows))} & {"AML.T0052", "AML.T0073"}
    comps.append({"id": "recipients", "kind": "external", "actor": "user"})
    flows.append({"from": "checkout", "to": "recipients"})
    assert {("checkout", "AML.T0052"), ("checkout", "AML.T0073")} <= bundled_hits(system(comps, flows))


def test_a_vendor_hosted_models_base_model_is_not_a_published_copy():
    llm = {"id": "llm", "kind": "model", "task": "generation", "trained_by": "vendor", "source": "vendor-api",
           "artifact_format": "hosted", "base_model": "gpt-4o"}
    assert ("llm", "AML.T0002") not in bundled_hits(system([llm]))
    tuned = {**llm, "trained_by": "us", "source": "huggingface", "artifact_format": "safetensors",
             "base_model": "llama-3-8b"}
    assert ("llm", "AML.T0002") in bundled_hits(system([tuned]))


def test_one_load_names_the_first_problem_of_every_bad_rule(tmp_path):
    text = (rule("kind: modle") + rule("kind: model\ntsk: classification").removeprefix("rules:\n")
            + rule("kind: model", reason="{nope}").removeprefix("rules:\n"))
    with pytest.raises(FormatError) as exc:
        rules_from(tmp_path, text)
    lines = str(exc.value).splitlines()
    assert len(lines) == 3
    assert "unknown component kind 'modle'" in lines[0]
    assert "unknown condition key 'tsk'" in lines[1]
    assert "placeholder '{nope}'" in lines[2]


def test_a_stray_brace_in_a_reason_and_a_misspelt_key_are_named(tmp_path):
    with pytest.raises(FormatError, match=r"a '\{' or '\}' that opens or closes no placeholder"):
        rules_from(tmp_path, rule("kind: model", reason="{component} {upstream"))
    with pytest.raises(FormatError, match=r"unknown condition key 'writerz' \(did you mean 'writers'\?\)"):
        rules_from(tmp_path, rule("kind: dataset\nwriterz: public"))
    # a selector's own options too: what a flow leaf follows, whose content it is
    with pytest.raises(FormatError, match=r"unknown condition key 'untrustd' \(did you mean 'untrusted'\?\)"):
        rules_from(tmp_path, rule("kind: llm-app\nfed_by: {untrustd: true}"))


def test_one_load_names_what_is_wrong_in_every_rule_file(tmp_path):
    (tmp_path / "a.yaml").write_text(rule("kind: modle"))
    (tmp_path / "b.yaml").write_text(rule("kind: servce"))
    with pytest.raises(FormatError) as exc:
        load_rules([tmp_path / "a.yaml", tmp_path / "b.yaml"], include_bundled=False)
    lines = str(exc.value).splitlines()
    assert len(lines) == 2 and "a.yaml" in lines[0] and "'modle'" in lines[0]
    assert "b.yaml" in lines[1] and "'servce'" in lines[1]


def test_properties_read_inside_a_selector_are_checked_and_offered_like_any_other(tmp_path):
    from advmatrix.threatmodel.gaps import misspelt_properties, mistyped_properties, unstated

    rules = rules_from(tmp_path, rule("kind: model\nfed_by: {kind: dataset, properties.zz: {in: [1, 2]}}"))
    comps = [{"id": "ds", "kind": "dataset", "properties": {"zz": "1"}}, {**MODEL, "id": "m3"}]
    s = system(comps, [{"from": "ds", "to": "m3"}])
    assert [(c, n) for c, n, *_ in mistyped_properties(s, rules)] == [("ds", "zz")]
    assert misspelt_properties(system([{"id": "ds", "kind": "dataset", "properties": {"ZZ": 1}}]), rules) == \
        [("ds", "ZZ", "zz")]
    unset = system([{"id": "ds", "kind": "dataset"}, {**MODEL, "id": "m3"}], [{"from": "ds", "to": "m3"}])
    gap = next(g for g in unstated(unset, rules) if (g.component, g.field) == ("ds", "properties.zz"))
    assert gap.techniques == ("AML.T0015",) and gap.elsewhere == ("m3",)


def test_a_misspelt_rule_key_gets_a_suggestion(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text('rules:\n  - id: AML.T0015\n    whne: {kind: model}\n    reason: "x"\n')
    with pytest.raises(FormatError, match=r"r.yaml:3: rule AML.T0015: unknown key 'whne' \(did you mean 'when'\?\)"):
        load_rules([path], include_bundled=False)


@pytest.mark.parametrize("when", ["kind: tool\nside_effects: write\nnot: {side_effects: write}",
                                  "all: [{kind: tool}, {side_effects: write}, {not: {side_effects: write}}]",
                                  "kind: model\nall: [{exposed: true}, {not: {exposed: true}}]"])
def test_a_condition_beside_its_own_negation_fails_the_load(tmp_path, when):
    with pytest.raises(FormatError, match="a condition and its own 'not' must both hold: it matches nothing"):
        rules_from(tmp_path, rule(when, tid="AML.T0099"))


@pytest.mark.parametrize(("when", "extra", "message"), [
    ("kind: model\ntask: {notin: [generation]}", "",
     r"mine.yaml:5: rule AML.T0015: unknown operator 'notin' \(did you mean 'not_in'\?\)"),
    ("kind: model\npropertes.on_device: true", "",
     r"mine.yaml:5: rule AML.T0015: unknown condition key 'propertes.on_device' "
     r"\(did you mean 'properties.on_device'\?\)"),
    ("kind: model", "    mitigations:\n      AML.M0004:\n        componnet: service\n",
     r"mine.yaml:8: rule AML.T0015: unknown placement key 'componnet' \(did you mean 'component'\?\)"),
])
def test_misspelt_operators_placement_keys_and_property_prefix_get_a_suggestion(tmp_path, when, extra, message):
    with pytest.raises(FormatError, match=message):
        rules_from(tmp_path, rule(when) + extra)


@pytest.mark.parametrize("when", [
    "kind: model\ntask: classification\nall: [{task: {in: [generation]}}]",
    "kind: model\ntask: [classification, detection]\nnot: {task: [classification, detection, generation]}",
    "kind: model\ntask: {not_in: [classification]}\nall: [{task: classification}]",
    "kind: adversary\ngoals: fraud\nnot: {goals: [fraud, evade]}",
    "kind: tool\nall: [{browses: true}, {browses: {set: false}}]",
])
def test_tests_of_one_field_that_no_value_passes_together_fail_the_load(tmp_path, when):
    with pytest.raises(FormatError, match=r"mine.yaml:\d+: rule AML.T0015: no value of '\w+' passes all of its tests"):
        rules_from(tmp_path, rule(when))


@pytest.mark.parametrize("when", [
    "kind: model\ntask: [classification, detection]\nnot: {task: classification}",
    "kind: adversary\ngoals: fraud\nall: [{goals: evade}]",  # a list field: one adversary may want both
    "kind: tool\nbrowses: {set: false}\nside_effects: read",
])
def test_tests_of_one_field_that_some_value_passes_load(tmp_path, when):
    assert len(rules_from(tmp_path, rule(when))) == 1


@pytest.mark.parametrize("test", ["{in: [{a: 1}]}", "{not_in: [[1]]}"])
def test_a_list_or_mapping_inside_in_is_one_line_not_a_crash(tmp_path, test):
    with pytest.raises(FormatError, match=r"'(in|not_in)' takes a list of values"):
        rules_from(tmp_path, rule(f"kind: model\nproperties.x: {test}"))


@pytest.mark.parametrize("when", ["kind: {not_in: [adversary]}", "kind: {set: true}",
                                  "kind: model\nupstream: {kind: {not_in: [external]}}",
                                  "kind: model\nexposed: true\nnot: {exposed: {untrusted: true}}",
                                  # read from outside but not talked to: exposed, only not directly
                                  "kind: llm-app\nexposed: {untrusted: true}\nnot: {exposed: {replies: true}}",
                                  "kind: llm-app\nexposed: true\nnot: {exposed: {direct: true}}"])
def test_kind_operators_load(tmp_path, when):
    assert len(rules_from(tmp_path, rule(when))) == 1


@pytest.mark.parametrize(("when", "message"), [
    ("kind: model\nnot: {kind: [model]}", "the kinds this condition asks for exclude each other"),
    # a field of one kind beside a test that rules that kind out, however the test is written
    ("not: {kind: model}\ntask: classification", "field 'task' does not exist on an adversary/dataset/external"),
    ("any: [{kind: model}, {kind: dataset}]\naudience: public", "field 'audience' does not exist on a dataset/model"),
    ("kind: model\ntask: classification\nnot: {task: {set: true}}", "no value of 'task' passes"),
    ("kind: model\nall: [{exposed: true}, {exposed: false}]", "'exposed' asked both ways"),
    ("kind: model\nall: [{properties.x: true}, {properties.x: false}]", "no value of 'properties.x' passes"),
    ("kind: adversary\nupstream: {kind: service}", "an adversary is on no flow"),
    ("kind: adversary\nexposed: true", "an adversary is on no flow"),
    ("kind: model\nfed_by: {kind: adversary}", "an adversary is on no flow"),
    ("kind: {not_in: [model, service, dataset, llm-app, retrieval-store, tool, external, adversary]}",
     "exclude each other"),
    # each field on one of the kinds, but none of them has both
    ("kind: [model, service]\naudience: public\ntask: classification",
     "no component kind (model/service) has all of audience, task"),
])
def test_conditions_that_never_hold_fail_the_load(tmp_path, when, message):
    with pytest.raises(FormatError, match=re.escape(message)):
        rules_from(tmp_path, rule(when))


@pytest.mark.parametrize(("when", "reason", "message"), [
    ("kind: model", "{component} via {via}", "placeholder '{via}' names where content came from"),
    ("kind: model", "{component} is {audience}", "placeholder '{audience}' is a field no model component has"),
    # a field only tools have says the rule matches tools, whatever kind it does not name
    ("side_effects: write", "{task} here", "placeholder '{task}' is a field no tool component has"),
    # megabytes of reason stalled every report's rendering
    ("kind: model", "A" * 2_001, "'reason' is 2,001 characters; a reason is a sentence (at most 2,000)"),
])
def test_placeholders_the_rule_can_never_fill_fail_the_load(tmp_path, when, reason, message):
    with pytest.raises(FormatError, match=re.escape(message)):
        rules_from(tmp_path, rule(when, reason=reason))


def test_a_field_asked_to_be_unstated_narrows_no_kind(tmp_path):
    # 'outputs' unstated holds on every kind without it too, so '{audience}' can still be filled
    assert rules_from(tmp_path, rule("outputs: {set: false}", reason="{component} is {audience}"))


def test_a_rule_given_twice_is_used_once_and_an_empty_file_is_named(tmp_path):
    one = tmp_path / "a.yaml"
    one.write_text(rule("kind: model"))
    (tmp_path / "b.yaml").write_text(rule("kind: model"))
    (tmp_path / "c.yaml").write_text("rules: []\n")
    with pytest.warns(RuleWarning) as said:
        rules = load_rules([tmp_path], include_bundled=False)
    assert len(rules) == 1
    notes = [str(w.message) for w in said]
    assert any("b.yaml:2: rule AML.T0015 repeats the rule at" in n and "a.yaml:2; used once" in n for n in notes)
    assert any(n.endswith("c.yaml: holds no rules") for n in notes)
    # the same file named twice, or inside a directory also named, is read once: its rules count once
    for paths in ([one, one], [tmp_path, one]):
        with pytest.warns(RuleWarning) as said:
            assert len(load_rules(paths, include_bundled=False)) == 1
        assert any(str(w.message).endswith("a.yaml: given more than once; read once") for w in said)


@pytest.mark.parametrize(("when", "says"), [
    ('kind: model\nproperties.on_device: "true"',
     r"compares properties.on_device with text, but the bundled rules .* use true/false; it may never match"),
    ("kind: model\nproperties.on_devce: true",
     r"reads properties.on_devce, which no bundled rule reads \(did you mean properties.on_device\?\)"),
])
def test_a_user_rule_reading_a_bundled_property_otherwise_than_the_bundled_rules_is_warned(tmp_path, when, says):
    path = tmp_path / "mine.yaml"
    path.write_text(rule(when))
    with pytest.warns(RuleWarning, match=says):
        load_rules([path])


def test_true_is_not_1_and_a_property_of_the_users_own_is_not_asked_about(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(rule("kind: model\nproperties.regulated: true"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuleWarning)
        load_rules([path])
    (one,) = rules_from(tmp_path, rule("kind: model\nproperties.on_device: 1"))
    s = system([{**MODEL, "properties": {"on_device": True}}])
    assert one.facts(s, s.components[0]) is None  # 1 is not true


@pytest.mark.parametrize("selector", ["{kind: {not_in: [external]}}", "{kind: {in: [service]}}", "{kind: {set: true}}"])
def test_a_kind_operator_inside_a_graph_selector_loads_and_matches(tmp_path, selector):
    (r,) = rules_from(tmp_path, rule(f"kind: model\nupstream: {selector}"))
    s = system(CHAIN, [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}])
    assert r.facts(s, s.component("m")) is not None


def test_a_mapping_where_a_selector_names_a_kind_is_one_line_not_a_crash(tmp_path):
    with pytest.raises(FormatError, match=r"unknown component kind \{'a': 1\}"):
        rules_from(tmp_path, rule("kind: model\nupstream: {kind: [{a: 1}]}"))


@pytest.mark.parametrize(("when", "message"), [
    ("kind: model\nbase_model: 5", "base_model: 5 can never equal it: it holds text"),
    ("name: true", "name: true can never equal it: it holds text"),
    ("kind: model\ntask: null", "task: null is no value to compare with; to ask that it is not stated, write"),
])
def test_a_value_of_a_type_the_field_never_holds_fails_the_load(tmp_path, when, message):
    with pytest.raises(FormatError, match=re.escape(message)):
        rules_from(tmp_path, rule(when))


@pytest.mark.parametrize("given", ["false", "''", "[]", "{AML.M0015: []}", "{AML.M0015: false}"])
def test_mitigations_that_are_no_mapping_fail_the_load_instead_of_reading_as_none(tmp_path, given):
    with pytest.raises(FormatError, match="'mitigations' maps mitigation IDs|a placement has only"):
        rules_from(tmp_path, rule("kind: model") + f"    mitigations: {given}\n")
    # nothing after an ID places it by default, and an empty mapping lists none
    assert rules_from(tmp_path, rule("kind: model") + "    mitigations: {AML.M0015: }\n")
    assert rules_from(tmp_path, rule("kind: model") + "    mitigations: {}\n")


def test_uses_may_select_the_sub_agents_an_apps_tools_list_names(tmp_path):
    from advmatrix.threatmodel.predict import fired_rules

    rules = rules_from(tmp_path, rule("kind: llm-app\nuses: {kind: llm-app}", reason="{component} delegates to {uses}"))
    s = system([{"id": "planner", "kind": "llm-app", "tools": ["helper", "search"]},
                {"id": "helper", "kind": "llm-app"}, {"id": "search", "kind": "tool"}])
    assert [(c.id, reason) for c, _, reason in fired_rules(s, rules)] == [("planner", "planner delegates to helper")]


def test_past_five_bad_rules_the_count_names_its_file_and_a_tier_is_quoted_as_written(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("rules:\n" + "".join(f"  - id: AML.T999{i}\n    when: {{kind: model}}\n    reason: x\n"
                                         for i in range(7)))
    with pytest.raises(FormatError) as info:
        load_rules([path], include_bundled=False)
    assert str(info.value).splitlines()[-1] == f"{path}: ... and 2 more bad rules"
    path.write_text("rules:\n  - id: AML.T0015\n    when: {kind: model}\n    reason: x\n    tier: 2020-01-01\n")
    with pytest.raises(FormatError, match="unknown tier '2020-01-01'; must be one of"):
        load_rules([path], include_bundled=False)



def test_the_bundled_tiers_are_the_blind_reviewers_and_every_rule_was_reviewed():
    # The tiers are ranking evidence; hand-adjusting them while looking at the tuning half's misses made the
    # even half overstate them (bench/RESULTS.md, twenty-first session), so the rule files must say what the
    # two blind reviews said: likely where both did.
    reviews = yaml.safe_load((Path(__file__).parents[2] / "bench" / "data" / "rule_tiers.yaml").read_text())
    unreviewed, differ = [], []
    for rule in bundled_rules():
        key = rule_key(rule).rsplit("/", 1)[-1]
        got = reviews.get(key)
        if got is None:
            unreviewed.append(f"{rule.source}:{rule.line}")
        elif rule.tier != ("likely" if got["a"] == got["b"] == "likely" else "possible"):
            differ.append(f"{rule.source}:{rule.line} {rule.tier}")
    assert not differ, differ
    assert not unreviewed, (f"rules with no blind review of their tier (new or changed; have them reviewed: "
                            f"python bench/rule_tiers.py pending DIR): {unreviewed}")
