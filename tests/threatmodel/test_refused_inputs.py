"""Inputs that must be refused, each with one line naming where, rather than read as something the
user did not write: flows keyed source/target, blank property names, an empty exposed test, a placement
on the adversary, an empty advmatrix:kind, a BOM-Link into another version of the BOM, and terminal
control sequences quoted back from a file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from advmatrix.errors import FormatError
from advmatrix.threatmodel import load_cyclonedx, load_system, load_system_text
from advmatrix.threatmodel.rules import load_rules

BOMS = Path(__file__).parents[2] / "examples" / "boms"
EXAMPLE = Path(__file__).parents[2] / "examples" / "systems" / "fraud-model.yaml"


def refused(text: str) -> str:
    with pytest.raises(FormatError) as info:
        load_system_text(text, "s.yaml")
    return str(info.value)


def test_a_flow_keyed_source_and_target_is_not_a_flow():
    said = refused("name: x\ncomponents: [{id: a, kind: external}, {id: b, kind: service, audience: public}]\n"
                   "flows: [{source: a, target: b}]\n")
    # one line each, with the names meant (the required-field lines they stand for go)
    assert said == ("s.yaml:3: flows[0].source: unknown field; did you mean 'from'?\n"
                    "s.yaml:3: flows[0].target: unknown field; did you mean 'to'?")


def test_a_blank_property_name_is_refused_at_the_mapping():
    assert refused("name: x\ncomponents:\n  - {id: m, kind: model, properties: {'': true}}\n") == \
        "s.yaml:3: components[0].properties: a name in it must not be blank"


@pytest.mark.parametrize(("when", "extra", "says"), [
    ("{kind: model, exposed: {}}", "", "'exposed' takes true, false or {untrusted: true, direct: true, replies: true,"
     " unanswered: true}"),
    ("{kind: llm-app, exposed: {direct: true, unanswered: true}}", "", "so it never holds"),
    ("{kind: model, exposed: {Direct: true}}", "", "unknown key 'Direct' in 'exposed' (did you mean 'direct'?)"),
    ("{kind: model, exposed: {direct: true, bogus: true}}", "", "unknown key 'bogus' in 'exposed'; 'exposed' takes"),
    ("{kind: model}", "    mitigations: {AML.M0015: {component: adversary}}\n",
     "a mitigation goes on a component of the system; an adversary holds no controls"),
])
def test_rule_forms_that_would_be_read_as_something_else_are_refused(tmp_path, when, extra, says):
    path = tmp_path / "mine.yaml"
    path.write_text(f"rules:\n  - id: AML.T0015\n    when: {when}\n    reason: x\n{extra}")
    with pytest.raises(FormatError) as info:
        load_rules([path], include_bundled=False)
    assert says in str(info.value) and "mine.yaml:" in str(info.value)


def bom(tmp_path, change) -> Path:
    data = json.loads((BOMS / "chatbot.bom.json").read_text())
    change(data)
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def test_an_empty_advmatrix_kind_is_refused_at_its_component(tmp_path):
    def empty(b):
        b["components"][1]["properties"].append({"name": "advmatrix:kind", "value": " "})
    with pytest.raises(FormatError) as info:
        load_cyclonedx(bom(tmp_path, empty), validate=False)
    assert f"{tmp_path / 'bom.json'}:" in str(info.value) and "component 'tickets': advmatrix:kind is empty" in \
        str(info.value)


def test_a_bom_link_into_another_version_of_this_bom_is_not_read_as_this_one(tmp_path):
    serial = "3e671687-395b-41f5-a30f-a58921a69b79"

    def link(b):
        b["serialNumber"], b["version"] = f"urn:uuid:{serial}", 1
        b["dependencies"][1]["dependsOn"] = [f"urn:cdx:{serial}/7#tickets"]
        b["components"][0]["modelCard"]["modelParameters"]["datasets"] = []  # the card would draw it too
    with pytest.warns(UserWarning, match="which no component or service has"):
        system = load_cyclonedx(bom(tmp_path, link), validate=False)
    assert ("tickets", "tuned-llm") not in {(f.source, f.target) for f in system.flows}


def test_control_sequences_quoted_from_a_file_reach_the_terminal_escaped(cli, tmp_path):
    def paint(b):
        b["components"].append({"type": "data", "bom-ref": "d\u001b[31mRED\u0000", "name": "d",
                                "properties": [{"name": "advmatrix:kind", "value": "database"}]})
    r = cli("threatmodel", bom(tmp_path, paint))
    assert r.code == 2 and "\u001b" not in r.err and "\u0000" not in r.err
    assert "component 'd\\x1b[31mRED\\x00': advmatrix:kind 'database' (did you mean 'dataset'?) must be one of" in r.err


def test_an_id_that_differs_only_in_its_encoding_says_so_in_escapes():
    said = refused("name: x\ncomponents: [{id: caf\u00e9, kind: external}, {id: b, kind: service, audience: public}]\n"
                   "flows: [{from: cafe\u0301, to: b}]\n")
    assert said == ("s.yaml:3: flows[0].from: unknown component 'cafe\u0301' (component 'caf\\xe9' differs from "
                    "'cafe\\u0301' only in case or in how its characters are encoded)")


@pytest.mark.parametrize(("head", "says"), [(b"\xff\xfe\x00\x00", "is UTF-32"), (b"\xff\xfe", "is UTF-16")])
def test_a_wide_encoding_is_named(tmp_path, head, says):
    from advmatrix.threatmodel import load_system

    path = tmp_path / "s.yaml"
    path.write_bytes(head + "name: x\n".encode("utf-32-le" if len(head) == 4 else "utf-16-le"))
    with pytest.raises(FormatError, match=f"{says}; save it as UTF-8"):
        load_system(path)


def test_a_newer_cyclonedx_version_is_called_newer_not_unable(tmp_path):
    path = bom(tmp_path, lambda b: b.update(specVersion="1.8"))
    with pytest.raises(FormatError, match=r"CycloneDX 1\.8 is newer than this reader; ML-BOMs are read as 1\.5"):
        load_cyclonedx(path)


def test_two_ids_that_differ_only_in_case_are_warned_about(cli, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\ncomponents:\n  - {id: api, kind: service, audience: public}\n"
                    "  - {id: API, kind: service, audience: public}\n")
    r = cli("threatmodel", path, "--json", "--paths", "0")
    assert r.code == 0 and "components 'api' and 'API' differ only in case" in r.err


def test_a_services_bad_kind_names_its_line(tmp_path):
    def robot(b):
        b["services"][0]["properties"] = [{"name": "advmatrix:kind", "value": "robot"}]
    with pytest.raises(FormatError) as info:
        load_cyclonedx(bom(tmp_path, robot), validate=False)
    assert str(info.value).startswith(f"{tmp_path / 'bom.json'}:") and ":" in str(info.value).split("bom.json")[1][:3]


def test_json_that_escapes_a_character_as_a_surrogate_pair_reads_as_that_character():
    # Python's json.dumps writes an emoji as "\ud83d\ude00"; YAML reads each half apart, JSON as one
    long_key = "k" * 1100 + "\\ud83d\\ude00"
    text = ('{"name": "t \\ud83d\\ude00", "components": [{"id": "m", "kind": "model", '
            f'"properties": {{"{long_key}": true}}}}]}}')
    system = load_system_text(text, "s.json")
    assert system.name == "t \N{GRINNING FACE}"
    assert next(iter(system.component("m").properties)).endswith("\N{GRINNING FACE}")
    with pytest.raises(FormatError, match=r"s.json:1: name: holds an unpaired surrogate escape"):
        load_system_text('{"name": "t \\ud83d", "components": []}', "s.json")
    with pytest.raises(FormatError, match="s.json: a key: holds an unpaired surrogate escape"):
        load_system_text(text.replace("\\ude00\": true", "\": true"), "s.json")


def test_a_bom_flow_that_cannot_be_is_named_at_the_line_of_the_component_it_names(tmp_path):
    def adversary(b):
        b["components"][1]["properties"] = [{"name": "advmatrix:kind", "value": "adversary"}]
        b["components"][0]["modelCard"]["modelParameters"]["datasets"] = []
    path = bom(tmp_path, adversary)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if '"bom-ref": "tickets"' in text)
    with pytest.raises(FormatError, match=rf"bom.json:{line}: flow tickets -> tuned-llm: from: 'tickets' is an"):
        load_cyclonedx(path, validate=False)


def test_a_binary_value_is_refused_not_decoded_into_text():
    with pytest.raises(FormatError, match=r"^s.yaml:3: components\[0\].id: a !!binary value; this file takes text"):
        load_system_text("name: x\ncomponents:\n  - id: !!binary bW9kZWw=\n    kind: model\n", "s.yaml")


def test_standard_input_is_refused_with_what_to_give_instead(cli):
    r = cli("threatmodel", "-")
    assert r.code == 2 and "SYSTEM '-': standard input is not read; give the file's path" in r.err


def test_a_json_file_that_is_not_json_gets_jsons_complaint_not_yamls(tmp_path):
    with pytest.raises(FormatError, match=r"^b.json:1: not valid JSON: JSON has no comments$"):
        load_system_text('// exported by our tool\n{"bomFormat": "CycloneDX"}\n', "b.json")
    with pytest.raises(FormatError, match=r"^s.json:2: not valid JSON: Expecting ',' delimiter"):
        load_system_text('{"name": "x",\n "components": [] "flows": []}\n', "s.json")


def test_a_tool_named_by_bom_link_is_the_tool_it_points_at(tmp_path):
    serial = "3e671687-395b-41f5-a30f-a58921a69b79"

    def link(b):
        b["serialNumber"], b["version"] = f"urn:uuid:{serial}", 1
        b["components"].append({"type": "application", "bom-ref": "search", "name": "search",
                                "properties": [{"name": "advmatrix:kind", "value": "tool"}]})
        b["components"].append({"type": "application", "bom-ref": "bot", "name": "bot", "properties": [
            {"name": "advmatrix:kind", "value": "llm-app"},
            {"name": "advmatrix:tools", "value": f"urn:cdx:{serial}/1#search"}]})
    system = load_cyclonedx(bom(tmp_path, link), validate=False)
    assert system.component("bot").tools == ("search",)


def test_an_id_mixing_latin_with_a_lookalike_script_is_warned_about_and_named_in_errors(cli, tmp_path):
    path = tmp_path / "s.yaml"
    # 'аpi' starts with CYRILLIC SMALL LETTER A; the flow, typed in Latin, names no component
    path.write_text("name: x\ncomponents:\n  - {id: users, kind: external}\n"
                    "  - {id: \u0430pi, kind: service, audience: public}\n", encoding="utf-8")
    r = cli("threatmodel", path, "--json", "--paths", "0")
    assert r.code == 0 and "advmatrix: warning: " in r.err
    assert "component '\\u0430pi' mixes Latin letters with U+0430 CYRILLIC SMALL LETTER A" in r.err
    assert f"{path}:4:" in r.err
    path.write_text(path.read_text(encoding="utf-8") + "flows: [{from: users, to: api}]\n", encoding="utf-8")
    with pytest.raises(FormatError, match="unknown component 'api'"):
        load_system(path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("to: api", "to: \u0430pi").replace("id: \u0430pi", "id: api"), encoding="utf-8")
    with pytest.raises(FormatError, match=r"mixes Latin letters with U\+0430 CYRILLIC SMALL LETTER A, which only"):
        load_system(path)
    # a name written wholly in another script is no lookalike
    path.write_text("name: x\ncomponents:\n  - {id: \u043f\u043e\u0438\u0441\u043a, kind: service, audience: public}\n",
                    encoding="utf-8")
    assert "mixes" not in cli("threatmodel", path, "--json", "--paths", "0").err


def test_a_rule_file_with_another_top_level_key_names_it(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("version: 2\nrules:\n  - id: AML.T0015\n    when: {kind: model}\n    reason: x\n")
    with pytest.raises(FormatError, match=r"mine\.yaml:1: unknown key 'version'; a rule file is a mapping"):
        load_rules([path], include_bundled=False)
    path.write_text("rule:\n  - id: AML.T0015\n")
    with pytest.raises(FormatError, match=r"unknown key 'rule' \(did you mean 'rules'\?\)"):
        load_rules([path], include_bundled=False)


@pytest.mark.parametrize(("field", "says"), [
    ("signed: 2024-01-01", "components[0].signed: must be true or false (unquoted); got 2024-01-01 (YAML read a date)"),
    ("controls: [~]", "components[0].controls[0]: expected text; the value is empty"),
    ("id: ~", "components[0].id: given empty; it is required")])
def test_a_date_or_an_empty_value_is_said_as_written_not_as_python(field, says):
    text = f"name: x\ncomponents:\n  - {{{'' if field.startswith('id') else 'id: m, '}kind: model, {field}}}\n"
    assert refused(text) == f"s.yaml:3: {says}"


def test_a_field_written_with_no_value_is_not_stated_as_if_left_out():
    from advmatrix.threatmodel import load_system_text

    s = load_system_text("name: x\ncomponents:\n  - {id: m, kind: model, signed: ~, task: ~, properties: ~}\n"
                         "  - {id: a, kind: llm-app, tools: ~}\nflows:\n", "s.yaml")
    assert s.component("m").signed is False and s.component("m").task is None
    assert s.component("a").tools == () and s.flows == ()


@pytest.mark.parametrize(("key", "line", "where", "read"), [
    ("1", 2, "1", "a number"), ("yes", 2, "True", "true or false")])
def test_a_key_yaml_reads_as_a_number_or_boolean_is_refused_at_its_line(key, line, where, read):
    said = refused(f"name: x\n{key}: y\ncomponents:\n  - {{id: m, kind: model}}\n")
    assert said == f"s.yaml:{line}: {where}: a key must be text; YAML read it as {read}: put it in quotes"


@pytest.mark.parametrize(("component", "line", "says"), [
    # nothing is loaded here to check: the vendor runs the weights
    ("  - id: triage\n    kind: model\n    trained_by: vendor\n    source: vendor-api\n"
     "    artifact_format: hosted\n    signed: true\n", 8,
     "signed: true (or AML.M0014, Verify AI Artifacts, in controls) says we check the weight file"),
    # each user's own entries are retrieved only for them
    ("  - id: memories\n    kind: retrieval-store\n    partitioned: true\n    per_user: false\n", 6,
     "per_user: false contradicts partitioned: true"),
])
def test_fields_that_contradict_each_other_are_an_error_at_the_line(tmp_path, component, line, says):
    from advmatrix.errors import FormatError
    from advmatrix.threatmodel import load_system

    path = tmp_path / "system.yaml"
    path.write_text("name: t\ncomponents:\n" + component)
    with pytest.raises(FormatError, match=rf"system\.yaml:{line}: .*{re.escape(says)}"):
        load_system(path)


def test_a_free_property_written_with_no_value_is_one_error_not_two(cli, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: t\ncomponents:\n  - id: m\n    kind: model\n    properties:\n      on_device:\n")
    r = cli("threatmodel", path)
    assert r.code == 2 and r.err.count("advmatrix: error:") == 1 and "p.yaml:6:" in r.err, r.err


def test_a_component_written_as_a_bare_word_is_expected_to_be_a_mapping(cli, tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("name: t\ncomponents:\n  - a\n")
    r = cli("threatmodel", path)
    assert r.code == 2 and "w.yaml:3: components[0]: expected a mapping; got 'a'" in r.err, r.err


def test_a_contradiction_is_reported_in_the_same_run_as_a_bad_field_of_its_component(tmp_path):
    # fixing the misspelt task would otherwise bring out the signed-but-hosted contradiction one run later
    path = tmp_path / "system.yaml"
    path.write_text("name: t\ncomponents:\n  - id: triage\n    kind: model\n    task: classificaton\n"
                    "    artifact_format: hosted\n    signed: true\n")
    with pytest.raises(FormatError) as caught:
        load_system(path)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith(f"{path}:5: components[0].task: must be one of")
    assert lines[1].startswith(f"{path}:7: components[0].signed: true (or AML.M0014"), lines
    assert len(lines) == 2


@pytest.mark.parametrize("field, value, says", [
    ("tools", "[lookup, lookup]", "components[0].tools: 'lookup' is listed twice"),
    ("controls", "[AML.M0004, AML.M0004]", "components[0].controls: 'AML.M0004' is listed twice"),
])
def test_a_value_listed_twice_is_refused_at_its_line(tmp_path, field, value, says):
    path = tmp_path / "system.yaml"
    path.write_text(f"name: t\ncomponents:\n  - id: bot\n    kind: llm-app\n    {field}: {value}\n"
                    "  - id: lookup\n    kind: tool\n    side_effects: read\n")
    with pytest.raises(FormatError, match=rf"system\.yaml:5: {re.escape(says)}$"):
        load_system(path)


def test_an_adversary_goal_listed_twice_is_refused_and_the_schema_says_each_once(cli, tmp_path):
    path = tmp_path / "system.yaml"
    path.write_text("name: t\ncomponents:\n  - id: thief\n    kind: adversary\n    goals: [steal-data, steal-data]\n")
    r = cli("threatmodel", path)
    assert r.code == 2 and "system.yaml:5: components[0].goals: 'steal-data' is listed twice" in r.err, r.err
    schema = json.loads(cli("threatmodel", "--schema").out)
    assert schema["$defs"]["AdversaryComponent"]["properties"]["goals"]["uniqueItems"] is True


def test_a_text_over_its_limit_says_how_long_it_is_and_the_limit(tmp_path):
    with pytest.raises(FormatError, match=r"^d\.yaml:2: description: 10,001 characters; at most 10,000; a "
                                          r"description summarises"):
        load_system_text("name: t\ndescription: " + "a" * 10_001 + "\ncomponents: []\n", "d.yaml")


@pytest.mark.parametrize("given", ["json,,md", "json,"])
def test_a_format_list_with_an_empty_name_is_refused(cli, given):
    r = cli("threatmodel", EXAMPLE, "--format", given)
    assert r.code == 2 and f"--format '{given}': an empty name between commas" in r.err, r.err


def test_bom_on_a_yaml_system_says_it_is_yaml_not_that_json_expected_a_value(cli):
    r = cli("threatmodel", "--bom", EXAMPLE)
    assert r.code == 2 and "--bom reads a CycloneDX BOM in JSON; this file is YAML" in r.err, r.err
    assert "Expecting value" not in r.err


def test_bom_on_an_empty_file_says_it_is_empty(cli, tmp_path):
    path = tmp_path / "blank.json"
    path.write_text("  \n")
    r = cli("threatmodel", "--bom", path)
    assert r.code == 2 and r.err.strip() == f"advmatrix: error: {path}:1: the file is empty", r.err


def test_check_validates_a_description_and_writes_nothing(cli, tmp_path, monkeypatch):
    # a user wiring an editor or a pre-commit hook wants the loader's verdict alone (audit Y: there was no
    # validate-only mode, so the auditor called the Python loader)
    monkeypatch.chdir(tmp_path)
    example = Path(__file__).parents[2] / "examples" / "systems" / "support-agent.yaml"
    good = cli("threatmodel", example, "--check")
    assert good.code == 0, good.err
    assert re.search(r"support-agent\.yaml: valid \(\d+ components, \d+ flows\)", good.out), good.out
    assert list(tmp_path.iterdir()) == []
    data = json.loads(cli("threatmodel", example, "--check", "--json").out)
    assert data["valid"] is True and data["components"] > 0 and "techniques" not in data
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncomponents:\n  - {id: m, kind: modle}\n")
    refused = cli("threatmodel", bad, "--check")
    assert refused.code == 2 and "bad.yaml:3" in refused.err and "Traceback" not in refused.err
    # what it would ignore is refused, as beside --schema: a gate must not pass as a check
    both = cli("threatmodel", example, "--check", "--fail-on", "likely")
    assert both.code == 2 and "--check" in both.err and "--fail-on" in both.err
