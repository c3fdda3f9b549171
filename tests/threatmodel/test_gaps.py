"""What a description leaves open: unstated fields that rules read, and values a BOM import assumed."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from advmatrix.threatmodel import load_system_text, predict
from advmatrix.threatmodel import report as tmr
from advmatrix.threatmodel.gaps import assumed, unstated

DATA = Path(__file__).parent / "data"
DEMO = """\
name: demo
components:
  - {id: users, kind: external}
  - {id: api, kind: service, audience: public, returns: scores}
  - {id: clf, kind: model, modality: image%s}
flows: [{from: users, to: api}, {from: api, to: clf}, {from: clf, to: api}]
"""


def test_a_model_without_a_task_is_told_what_evasion_it_misses():
    silent = load_system_text(DEMO % "")
    assert "AML.T0015" not in predict(silent).technique_ids
    gap = next(g for g in unstated(silent) if g.field == "task")
    assert gap.component == "clf" and {"AML.T0015", "AML.T0043.001"} <= set(gap.techniques)
    # What the gap promised is what stating the field gives.
    stated = load_system_text(DEMO % ", task: classification")
    assert "AML.T0015" in predict(stated).technique_ids
    assert all(g.field != "task" for g in unstated(stated))


def test_gaps_name_only_techniques_not_already_predicted():
    system = load_system_text(DEMO % "")
    have = {f.technique_id for f in predict(system).for_component("clf").findings}
    for gap in unstated(system):
        if gap.component == "clf":
            assert not have & set(gap.techniques), gap


def test_a_bom_import_says_what_it_assumed():
    system = tmr.load_input(DATA / "cyclonedx" / "model-card-with-dataset.bom.json")
    service = "component-support-triage-service"
    assert {(a.component, a.field): a.value for a in assumed(system)} == {(service, "audience"): "internal"}
    tm = tmr.build(system, k=0)
    assert any(f"{service}: 'audience' was assumed to be 'internal'" in line for line in tmr.gap_lines(tm))
    # inferred from what the BOM says, not claimed to be unsaid (a trust boundary is said)
    assert not any("does not say" in line for line in tmr.gap_lines(tm))
    assert json.loads(tmr.report_json(tm))["assumed"] == [
        {"component": service, "field": "audience", "value": "internal"}]
    assert "## What the description leaves open" in tmr.report_markdown(tm)
    assert "What the description leaves open" in tmr.report_html(tm)


def test_the_cli_prints_what_is_open_and_tells_the_two_kinds_of_none_apart(cli, tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(DEMO % "")
    r = cli("threatmodel", path)
    assert r.code == 0 and "open: clf: 'task' is not stated" in r.out.replace("\n", " ")
    data = json.loads(cli("threatmodel", path, "--json").out)
    assert any(g["component"] == "clf" and g["field"] == "task" for g in data["unstated"])


def test_a_model_trained_from_scratch_is_not_asked_for_its_base_model():
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel.gaps import unstated

    text = ("name: d\ncomponents: [{id: users, kind: external}, {id: clf, kind: model, task: classification, "
            "trained_by: %s}]\nflows: [{from: users, to: clf}, {from: clf, to: users}]")
    ours = {g.field for g in unstated(load_system_text(text % "us")) if g.component == "clf"}
    assert "base_model" not in ours
    hub = {g.field for g in unstated(load_system_text(text % "open-source")) if g.component == "clf"}
    assert "base_model" in hub


def test_free_properties_the_rules_read_are_listed_after_the_fields_and_folded_on_the_console(cli, tmp_path):
    system = load_system_text(DEMO % "")
    gaps = unstated(system)
    on_device = next(g for g in gaps if g.component == "clf" and g.field == "properties.on_device")
    assert "AML.T0044" in on_device.techniques
    # What it promises is what setting it gives.
    assert "AML.T0044" in predict(load_system_text(DEMO % ", properties: {on_device: true}")).technique_ids
    fields = [g.field.startswith("properties.") for g in gaps]
    assert fields == sorted(fields), "free properties come after every schema field"
    assert not any(g.component == "users" and g.field.startswith("properties.") for g in gaps)
    said = load_system_text(DEMO % ", properties: {on_device: false}")
    assert not any(g.component == "clf" and g.field == "properties.on_device" for g in unstated(said))
    full = tmr.gap_lines(tmr.build(system, k=0))
    assert any(line.startswith("clf: 'properties.on_device' is unset; where it holds, setting it could add")
               for line in full)
    path = tmp_path / "demo.yaml"
    path.write_text(DEMO % "")
    out = cli("threatmodel", path).out.replace("\n", " ")
    assert "free properties the rules read, unset on some components (read as no there):" in out
    assert re.search(r"on_device \([^)]*clf", out), out  # named with the components it is unset on
    assert "'properties.on_device' is unset" not in out


def test_an_overlay_settles_what_the_bom_import_assumed(tmp_path):
    bom = DATA / "cyclonedx" / "model-card-with-dataset.bom.json"
    service = "component-support-triage-service"
    stated = tmp_path / "stated.yaml"
    stated.write_text(f"components:\n  - {{id: {service}, audience: public}}\n")
    assert assumed(tmr.load_input(bom, stated)) == ()
    rekinded = tmp_path / "rekinded.yaml"
    rekinded.write_text(f"components:\n  - {{id: {service}, kind: llm-app}}\n")
    system = tmr.load_input(bom, rekinded)
    assert system.component(service).kind == "llm-app" and assumed(system) == ()
    assert not any("'audience' was assumed" in line for line in tmr.gap_lines(tmr.build(system, k=0)))


def test_a_free_property_a_users_rule_reads_is_listed_too(tmp_path):
    from advmatrix.threatmodel.rules import load_rules

    (tmp_path / "mine.yaml").write_text("rules:\n  - id: AML.T0088\n"
                                        "    when: {kind: model, properties.no_liveness: true}\n"
                                        "    reason: \"{component} does not check liveness\"\n")
    rules = load_rules([tmp_path], include_bundled=False)
    gaps = unstated(load_system_text(DEMO % ""), rules)
    assert [(g.component, g.field, g.techniques) for g in gaps] == [("clf", "properties.no_liveness", ("AML.T0088",))]


def test_a_vendor_hosted_model_is_not_asked_whether_it_ships_to_devices():
    hosted = load_system_text(DEMO % ", trained_by: vendor, artifact_format: hosted")
    fields = {g.field for g in unstated(hosted) if g.component == "clf"}
    assert not fields & {"properties.on_device", "properties.mobile_app", "properties.container_image"}
    assert "properties.physical" in fields


def test_properties_other_fields_already_answer_are_not_asked_for():
    def asked(extra: str, modality: str = "image") -> set[str]:
        text = DEMO.replace("modality: image", f"modality: {modality}") % extra
        return {g.field for g in unstated(load_system_text(text)) if g.component == "clf"}

    # weights only a vendor holds run on no hardware of ours; a text model senses and checks no one
    assert not asked(", source: vendor-api, artifact_format: hosted", "text") & {
        "properties.edge", "properties.on_device", "properties.physical", "properties.verifies_identity"}
    assert "properties.physical" not in asked("", "tabular")
    assert "properties.verifies_identity" in asked("", "tabular")
    # field hardware of ours is not users' devices, and the other way round
    assert "properties.on_device" not in asked(", properties: {edge: true}")
    assert "properties.edge" not in asked(", properties: {on_device: true}")
    assert {"properties.edge", "properties.on_device", "properties.physical"} <= asked("")


def test_a_tools_unstated_field_counts_what_it_would_add_to_its_app():
    system = load_system_text("""\
name: rb
components:
  - {id: u, kind: external}
  - {id: app, kind: llm-app, tools: [t], autonomy: autonomous, memory: none, system_prompt: true}
  - {id: t, kind: tool, side_effects: read, source: first-party}
flows: [{from: u, to: app}]
""")
    gap = next(g for g in unstated(system) if (g.component, g.field) == ("t", "browses"))
    assert {"AML.T0100", "AML.T0078", "AML.T0099"} <= set(gap.techniques) and gap.elsewhere == ("app",)
    # What it promised is what stating it gives, on the app.
    said = load_system_text(system.model_dump_json(by_alias=True).replace('"browses":null', '"browses":true'))
    assert {"AML.T0100", "AML.T0078"} <= {f.technique_id for f in predict(said).for_component("app").findings}
    line = next(x for x in tmr.gap_lines(tmr.build(system, k=0)) if x.startswith("t: 'browses'"))
    assert line.endswith("(some for app).")


def test_a_generator_that_does_not_say_what_it_produces_is_asked():
    gen = load_system_text("name: g\ncomponents:\n  - {id: u, kind: external}\n"
                           "  - {id: m, kind: model, task: generation, modality: text}\nflows: [{from: u, to: m}]\n")
    gap = next(g for g in unstated(gen) if g.component == "m" and g.field == "outputs")
    assert "AML.T0088" in gap.techniques


def test_a_hedged_finding_says_which_unset_field_would_rule_it_out():
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel import report as tmr

    text = """name: bot
components:
  - {id: u, kind: external, actor: user}
  - {id: chat, kind: service, audience: public, returns: text}
  - {id: bot, kind: llm-app, tools: [push]}
  - {id: push, kind: tool, side_effects: write, sends_only: true}
flows: [{from: u, to: chat}, {from: chat, to: bot}, {from: bot, to: chat}]
"""
    s = load_system_text(text)
    gap = next(g for g in unstated(s) if g.component == "bot" and g.field == "properties.financial")
    assert gap.removes == ("AML.T0048.000",) and "AML.T0048.000" in predict(s).technique_ids
    # and it is true: saying so removes exactly that
    said = load_system_text(text.replace("tools: [push]}", "tools: [push], properties: {financial: false}}"))
    assert "AML.T0048.000" not in predict(said).technique_ids
    assert not any(g.field == "properties.financial" for g in unstated(said) if g.component == "bot")
    lines = tmr.gap_lines(tmr.build(s, k=0), most=5)
    assert any("would rule out" in line and "bot properties.financial (AML.T0048.000)" in line for line in lines)
    # an app whose tool moves money moves money: it is not asked whether it does (audit W: the open list
    # offered financial: false on a phone agent that swaps SIMs, and saying so dropped its financial harm)
    pays = load_system_text(text.replace("sends_only: true}", "sends_only: true, properties: {financial: true}}"))
    assert "bot" in predict(pays).components_for("AML.T0048.000")
    assert not any(g.field == "properties.financial" for g in unstated(pays) if g.component == "bot")


def test_what_is_left_open_is_the_same_whatever_the_hash_seed():
    import os
    import subprocess
    import sys

    # a generated system with enough neighbours that the probes of them run out of budget
    system = Path(__file__).parent / "data" / "many-neighbours.yaml"
    said = []
    for seed in ("1", "6"):
        done = subprocess.run([sys.executable, "-m", "advmatrix", "threatmodel", str(system), "--json", "--paths", "0"],
                              capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        said.append(json.loads(done.stdout)["unstated"])
    assert said[0] == said[1] and said[0]


def test_a_model_we_trained_from_scratch_is_not_asked_where_its_weights_come_from():
    text = ("name: x\ncomponents:\n  - {id: m, kind: model, task: classification, trained_by: us}\n"
            "  - {id: h, kind: model, task: classification, trained_by: open-source}\n")
    asked = {(g.component, g.field) for g in unstated(load_system_text(text))}
    assert ("m", "source") not in asked and ("m", "base_model") not in asked
    assert ("h", "source") in asked  # a published model may come from a hub or elsewhere


def test_an_app_without_tools_is_not_asked_how_freely_it_acts():
    text = """name: t
components:
  - {id: u, kind: external, actor: user}
  - {id: chat, kind: service, audience: public, returns: text}
  - {id: app, kind: llm-app, system_prompt: true%s}
  - {id: lookup, kind: tool, side_effects: write}
flows:
  - {from: u, to: chat}
  - {from: chat, to: app}
"""
    assert all(g.field != "autonomy" for g in unstated(load_system_text(text % "")) if g.component == "app")
    # with a tool to act through, how freely it acts decides findings
    assert any(g.field == "autonomy" for g in unstated(load_system_text(text % ", tools: [lookup]"))
               if g.component == "app")


def test_the_console_says_how_many_assumptions_it_leaves_out():
    system = tmr.load_input(DATA / "cyclonedx" / "model-card-with-dataset.bom.json")
    tm = tmr.build(system, k=0)
    many = dataclasses.replace(tm, assumptions=tm.assumptions * 7)
    lines = tmr.gap_lines(many, most=5)
    assert sum("was assumed to be" in line for line in lines) == 5
    assert "... and 2 more values the BOM import assumed" in lines[-1]


def test_a_tools_unstated_field_says_what_stating_it_would_rule_out_on_its_app():
    text = """\
name: desk
components:
  - {id: u, kind: external, actor: user}
  - {id: chat, kind: service, audience: public, returns: text}
  - {id: app, kind: llm-app, tools: [ticketer]}
  - {id: ticketer, kind: tool, side_effects: write}
  - {id: thief, kind: adversary, actor: criminal, goals: [steal-data, disrupt], access: [query]}
flows: [{from: u, to: chat}, {from: chat, to: app}, {from: app, to: chat}, {from: chat, to: u}]
"""
    s = load_system_text(text)
    gaps = {g.field: g for g in unstated(s) if g.component == "ticketer"}
    assert "AML.T0086" in gaps["readers"].removes and gaps["readers"].removed_from == ("app",)
    assert "AML.T0101" in gaps["append_only"].removes and gaps["append_only"].removed_from == ("app",)
    # and it is true: stating who reads it, or that it only adds, rules those out on the app
    for said, gone in (("readers: internal", "AML.T0086"), ("append_only: true", "AML.T0101")):
        told = load_system_text(text.replace("side_effects: write}", f"side_effects: write, {said}}}"))
        assert gone in {f.technique_id for f in predict(s).for_component("app").findings}
        assert gone not in {f.technique_id for f in predict(told).for_component("app").findings}
    line = next(x for x in tmr.gap_lines(tmr.build(s, k=0)) if x.startswith("ticketer: 'readers'"))
    assert "could rule out" in line and "AML.T0086" in line and line.endswith("(for app).")


def test_a_code_runner_is_not_asked_whether_it_only_adds():
    # append_only beside code execution is an error: the open list must not suggest it
    s = load_system_text("""\
name: lab
components:
  - {id: u, kind: external, actor: user}
  - {id: app, kind: llm-app, tools: [python]}
  - {id: python, kind: tool, side_effects: code-execution}
  - {id: vandal, kind: adversary, actor: criminal, goals: [disrupt], access: [query]}
flows: [{from: u, to: app}, {from: app, to: u}]
""")
    assert not [g for g in unstated(s) if (g.component, g.field) == ("python", "append_only")]


def test_a_model_said_not_fine_tuned_with_a_fine_tuning_set_flowing_in_is_warned(cli, tmp_path):
    (tmp_path / "s.yaml").write_text("""\
name: t
components:
  - {id: tuning, kind: dataset, used_for: [fine-tuning], writers: internal}
  - id: m
    kind: model
    task: classification
    fine_tuned: false
flows: [{from: tuning, to: m}]
""")
    r = cli("threatmodel", str(tmp_path / "s.yaml"), "--paths", "0")
    assert r.code == 0, r.err
    assert (f"{tmp_path / 's.yaml'}:4: component 'm' says fine_tuned: false, yet tuning (used for fine-tuning) "
            "flows into it; say which holds") in r.err, r.err


def test_the_open_list_does_not_ask_a_reading_tool_whether_it_acts_in_the_world():
    s = load_system_text("""\
name: lab
components:
  - {id: staff, kind: external, actor: user}
  - {id: hub, kind: service, audience: internal, returns: text}
  - {id: app, kind: llm-app, tools: [page-read, door]}
  - {id: page-read, kind: tool, side_effects: read}
  - {id: door, kind: tool, side_effects: external-communication}
flows: [{from: staff, to: hub}, {from: hub, to: app}, {from: app, to: hub}, {from: hub, to: staff}]
""")
    asked = {(g.component, g.field) for g in unstated(s)}
    # a tool that only reads moves nothing in the world, and returns what it reads (it cannot only send)
    assert not {("page-read", "properties.physical"), ("page-read", "sends_only")} & asked
    assert ("door", "properties.physical") in asked  # one that acts may well


@pytest.mark.parametrize(("said", "unasked", "asked"), [
    # browses: true beside sends_only: true is refused: the hint would ask for what cannot be stated
    ("sends_only: true", ("refund", "browses"), ("lookup", "browses")),
    # and the other way round (audit V: a form-filling tool that opens pages was told sends_only: true would
    # rule out AML.T0099, and the loader then refused it)
    ("browses: true", ("refund", "sends_only"), None)])
def test_a_tool_is_not_asked_for_a_value_that_would_contradict_what_it_says(said, unasked, asked):
    s = load_system_text(f"""\
name: refunds
components:
  - {{id: users, kind: external, actor: user}}
  - {{id: chat, kind: service, audience: public, returns: text}}
  - {{id: app, kind: llm-app, tools: [refund, lookup]}}
  - {{id: refund, kind: tool, side_effects: write, {said}}}
  - {{id: lookup, kind: tool, side_effects: read}}
flows: [{{from: users, to: chat}}, {{from: chat, to: app}}, {{from: app, to: chat}}, {{from: chat, to: users}}]
""")
    got = {(g.component, g.field) for g in unstated(s)}
    assert unasked not in got
    assert asked is None or asked in got  # one that hands content back may well browse


def test_a_field_whose_rules_fire_until_it_is_said_true_is_open_with_the_value_that_rules_them_out():
    # a third-party tool with nothing said of where it runs keeps its install-time findings; saying it is hosted
    # (a remote API: no code of it here) rules them out, and the hint must say true, not false
    s = load_system_text("""\
name: shop
components:
  - {id: users, kind: external, actor: user}
  - {id: chat, kind: service, audience: public, returns: text}
  - {id: app, kind: llm-app, tools: [refund]}
  - {id: refund, kind: tool, side_effects: write, source: third-party, sends_only: true}
flows: [{from: users, to: chat}, {from: chat, to: app}, {from: app, to: chat}, {from: chat, to: users}]
""")
    gap = next(g for g in unstated(s) if (g.component, g.field) == ("refund", "hosted"))
    assert gap.removed_by is True and "AML.T0011.001" in gap.removes
    assert gap.as_dict()["removed_by"] is True
    from advmatrix.threatmodel import report as tmr

    text = tmr.report_markdown(tmr.build(s, k=0))
    assert "refund: 'hosted' is not stated; saying it is true, where that holds, would rule out" in text


def test_the_report_gives_each_unset_free_property_one_line_naming_every_component_it_is_unset_on():
    # one line per component buried the few that matter (audit N: 29 of 31 lines of an X-ray triage system)
    system = load_system_text(DEMO % "")
    lines = [line for line in tmr.gap_lines(tmr.build(system, k=0)) if "'properties.financial'" in line]
    assert len(lines) == 1 and lines[0].startswith("api, clf: 'properties.financial' is unset"), lines


def test_a_true_or_false_field_that_rules_findings_out_next_door_says_which_value_does():
    # a lookup that reads the catalogue: saying it reads nothing sensitive rules out credential searches on its
    # app; the hint names the value (audit Y: "stating which value holds" read as its JSON removed_by: false,
    # the wrong one); a field of many values still asks which holds
    from advmatrix.threatmodel import report as tmr

    s = load_system_text("""\
name: kb
components:
  - {id: pupils, kind: external, actor: user}
  - {id: supplier, kind: external, actor: vendor}
  - {id: chat, kind: service, audience: public, authentication: api-key, returns: text}
  - {id: tutor, kind: llm-app, tools: [search], system_prompt: true}
  - {id: search, kind: tool, side_effects: read, source: first-party}
  - {id: catalogue, kind: dataset, writers: partner, used_for: [retrieval]}
flows: [{from: pupils, to: chat}, {from: chat, to: tutor}, {from: tutor, to: chat}, {from: chat, to: pupils},
        {from: supplier, to: catalogue}, {from: catalogue, to: search}]
""")
    gap = next(g for g in unstated(s) if (g.component, g.field) == ("search", "sensitive"))
    assert gap.removed_from == ("tutor",) and "AML.T0098" in gap.removes and gap.removed_by is False
    said = load_system_text(s.model_dump_json(by_alias=True).replace('"sensitive":null', '"sensitive":false', 1))
    assert "AML.T0098" not in {f.technique_id for f in predict(said).for_component("tutor").findings}
    lines = tmr.gap_lines(tmr.build(s, k=0))
    assert any(x.startswith("search: 'sensitive' is not stated; saying it is false, where that holds, would rule out")
               and x.endswith("(for tutor).") for x in lines), lines


def test_an_app_said_not_to_move_money_while_its_tool_does_is_warned_of_at_its_line():
    from advmatrix.threatmodel import report as tmr

    text = """name: bot
components:
  - {id: u, kind: external, actor: user}
  - {id: chat, kind: service, audience: public, returns: text}
  - {id: bot, kind: llm-app, tools: [refund], properties: {financial: false}}
  - {id: refund, kind: tool, side_effects: write, properties: {financial: true}}
flows: [{from: u, to: chat}, {from: chat, to: bot}, {from: bot, to: chat}]
"""
    s = load_system_text(text)
    # (the newcomer walkthrough: saying false dropped the app's financial harm without a word)
    said = tmr.description_warnings(s, None, "s.yaml", {"bot": 5})
    (line,) = [w for w in said if "financial" in w]
    assert line.startswith("s.yaml:5") and "refund says financial: true" in line and "say which holds" in line


def test_a_tool_with_nothing_drawn_into_it_is_asked_where_what_it_returns_comes_from():
    # an order lookup with no source drawn is read as returning outsiders' text: the open list says so and what
    # drawing a trusted source would rule out on its app (audit W, newcomer walkthrough: nothing pointed at it)
    from advmatrix.threatmodel import report as tmr

    text = """name: shop
components:
  - {id: u, kind: external, actor: user}
  - {id: chat, kind: service, audience: public, returns: text}
  - {id: bot, kind: llm-app, tools: [orders]}
  - {id: orders, kind: tool, side_effects: read, source: first-party, per_user: true}
flows: [{from: u, to: chat}, {from: chat, to: bot}, {from: bot, to: chat}, {from: chat, to: u}]
"""
    s = load_system_text(text)
    gap = next(g for g in unstated(s) if (g.component, g.field) == ("orders", "flows in"))
    assert gap.removed_from == ("bot",) and "AML.T0051.001" in gap.removes and gap.removed_by is None
    # a tool that browses reads the web: outside by what it is, nothing to draw
    browsing = load_system_text(text.replace("source: first-party, per_user: true", "browses: true"))
    assert not any(g.field == "flows in" for g in unstated(browsing))
    drawn = load_system_text(text.replace("flows: [", "flows: [{from: db, to: orders, trusted: true}, ").replace(
        "flows:", "  - {id: db, kind: dataset, writers: internal}\nflows:", 1))
    assert not set(gap.removes) & {f.technique_id for f in predict(drawn).for_component("bot").findings}
    assert not any(g.field == "flows in" for g in unstated(drawn))
    line = next(x for x in tmr.gap_lines(tmr.build(s, k=0)) if x.startswith("orders: nothing"))
    assert line.startswith("orders: nothing is drawn flowing into it, so what it returns is read as written by "
                           "outsiders; drawing its source (a flow marked trusted where only we write it) could rule "
                           "out"), line
    assert line.endswith("(for bot).")


def test_a_control_no_finding_names_is_said_to_be_credited_for_nothing():
    # provenance and sanitising on a RAG store whose poisoning ATLAS gives no mitigation for: accepted without a
    # word, they read as counted (audit Z)
    import warnings

    from advmatrix.threatmodel import report as tmr

    s = load_system_text("""name: rag
components:
  - {id: u, kind: external, actor: user}
  - {id: chat, kind: service, audience: internal, returns: text}
  - {id: bot, kind: llm-app, system_prompt: true}
  - {id: store, kind: retrieval-store, writers: public, sources: [user-submitted], controls: [AML.M0025, AML.M0024]}
flows: [{from: u, to: chat}, {from: chat, to: bot}, {from: bot, to: chat}, {from: store, to: bot}]
""")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tmr.build(s, k=0, source="s.yaml", lines={"store": 6})
    said = [str(w.message) for w in caught if "credited for nothing" in str(w.message)]
    assert said and all("store" in w for w in said)
    assert any("AML.M0025" in w for w in said), said


def test_approval_on_an_app_with_no_tools_is_said_to_change_nothing():
    # a physician signs every drafted summary; the drafter calls no tools: its autonomy was accepted and read
    # for nothing (audit Z)
    from advmatrix.threatmodel import report as tmr

    text = """name: drafts
components:
  - {id: u, kind: external, actor: user}
  - {id: chat, kind: service, audience: internal, returns: text}
  - {id: drafter, kind: llm-app, system_prompt: true, autonomy: human-approval}
flows: [{from: u, to: chat}, {from: chat, to: drafter}, {from: drafter, to: chat}]
"""
    said = [w for w in tmr.description_warnings(load_system_text(text), None, "s.yaml", {"drafter": 5})
            if "human-approval" in w]
    assert len(said) == 1 and said[0].startswith("s.yaml:5") and "calls no tools" in said[0], said
    tooled = text.replace("autonomy: human-approval}", "autonomy: human-approval, tools: [send]}\n"
                          "  - {id: send, kind: tool, side_effects: write}")
    assert not [w for w in tmr.description_warnings(load_system_text(tooled), None, "s.yaml") if "human-approval" in w]
