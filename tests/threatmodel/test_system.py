"""The system description: schema, line-numbered errors, graph questions, JSON Schema export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from advmatrix.errors import FormatError
from advmatrix.threatmodel import (
    COMPONENT_KINDS,
    LlmAppComponent,
    System,
    component_fields,
    json_schema,
    load_system,
    load_system_text,
)

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "systems").glob("*.yaml"))

GOOD = """\
name: demo
components:
  - id: users
    kind: external
  - id: api
    kind: service
    audience: public
    returns: scores
  - id: clf
    kind: model
    modality: image
    controls: [AML.M0004]
  - id: photos
    kind: dataset
    writers: internal
    used_for: training
flows:
  - {from: users, to: api}
  - {from: api, to: clf}
  - {from: photos, to: clf, trusted: true}
"""


def _error(text: str) -> str:
    with pytest.raises(FormatError) as info:
        load_system_text(text, "system.yaml")
    return str(info.value)


def test_examples_load_and_cover_every_kind():
    assert len(EXAMPLES) == 3
    kinds = {c.kind for path in EXAMPLES for c in load_system(path).components}
    assert kinds == set(COMPONENT_KINDS)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_json_schema_accepts_the_examples(path):
    jsonschema = pytest.importorskip("jsonschema")  # comes with the threatmodel extra
    jsonschema.validate(yaml.safe_load(path.read_text()), json_schema())


def test_json_schema_rejects_what_pydantic_rejects():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "components": [{"id": "a", "kind": "service", "audience": "all"}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "components": [{"id": "a", "kind": "model", "audience": "public"}]}, schema)
    for component in ({"id": "a", "kind": "model", "controls": ["M0004"]},
                      {"id": "a", "kind": "model", "controls": "x"},
                      {"id": "a", "kind": "model", "properties": {"": 1}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"name": "x", "components": [component]}, schema)
        with pytest.raises(ValueError):  # pydantic's ValidationError: the loader refuses it too
            System.model_validate({"name": "x", "components": [component]})
    jsonschema.validate({"name": "x", "components": [{"id": "a", "kind": "model", "controls": "AML.M0004",
                                                      "properties": {"team": "fraud"}}]}, schema)


def test_good_file_round_trips():
    system = load_system_text(GOOD)
    assert system.component("photos").used_for == ("training",)
    again = System.model_validate(system.model_dump(by_alias=True))
    assert again == system


def test_wrong_enum_names_line_field_and_choices():
    text = GOOD.replace("audience: public", "audience: everyone")
    assert _error(text) == (
        "system.yaml:7: components[1].audience: must be one of public, partner, internal; got 'everyone'"
    )


def test_several_errors_one_line_each_first_few_only():
    text = "name: x\ncomponents:\n" + "".join(f"  - id: s{i}\n    kind: service\n" for i in range(8))
    lines = _error(text).splitlines()
    assert lines[0] == "system.yaml:3: components[0].audience: required field missing"
    assert lines[1].startswith("system.yaml:5: components[1].audience:")
    assert len(lines) == 6 and lines[-1] == "... and 3 more problems"


def test_unknown_kind():
    msg = _error(GOOD.replace("kind: model", "kind: modle"))
    assert msg.startswith("system.yaml:10: components[2].kind: unknown component kind 'modle' (did you mean 'model'?); "
                          "must be one of model,")


def test_field_of_another_kind_is_unknown_and_says_whose_it_is():
    assert _error(GOOD.replace("modality: image", "audience: public")) == (
        "system.yaml:11: components[2].audience: a model has no such field; it is a field of service components"
    )
    assert _error(GOOD.replace("modality: image", "colour: blue")) == (
        "system.yaml:11: components[2].colour: unknown field"
    )
    assert _error(GOOD.replace("modality: image", "modalty: image")) == (
        "system.yaml:11: components[2].modalty: unknown field; did you mean 'modality'?"
    )
    assert "flows[0].dta: unknown field; did you mean 'data'?" in _error(
        "name: x\ncomponents: [{id: a, kind: external}, {id: b, kind: external}]\nflows: [{from: a, to: b, dta: q}]\n")
    assert "componets: unknown field; did you mean 'components'?" in _error(GOOD.replace("components:", "componets:"))
    # A misspelt required field is one line, not "audience missing" beside it.
    assert _error(GOOD.replace("audience: public", "audiance: public")) == (
        "system.yaml:7: components[1].audiance: unknown field; did you mean 'audience'?")
    assert "an llm-app has no such field" in _error(GOOD.replace("kind: model", "kind: llm-app")
                                                    .replace("modality: image", "task: generation"))


def test_an_unclosed_bracket_is_reported_where_the_parser_notices_it_and_where_it_opened():
    msg = _error("name: x\ncomponents:\n  - {id: a, kind: external\n  - {id: b, kind: external}\n")
    assert msg == ("system.yaml:4: not valid YAML: expected ',' or '}', but got '{' "
                   "(while parsing a flow mapping at line 3)")


def test_a_value_no_property_type_takes_is_one_problem():
    assert _error(GOOD.replace("modality: image", "properties: {b: [1, 2]}")) == (
        "system.yaml:11: components[2].properties.b: must be text, true or false, or a whole number; got [1, 2]"
    )


def test_a_scalar_where_a_list_belongs_says_list_not_tuple():
    msg = _error(GOOD.replace("controls: [AML.M0004]", "controls: 5"))
    assert "controls: expected a list; got 5" in msg and "tuple" not in msg


def test_an_id_with_a_space_says_so():
    assert "must be one word without spaces or invisible characters; got 'my clf'" in _error(
        GOOD.replace("id: clf", "id: my clf", 1))


def test_unknown_flow_endpoint_named():
    assert _error(GOOD.replace("{from: api, to: clf}", "{from: api, to: clasifier}")) == (
        "system.yaml:19: flows[1].to: unknown component 'clasifier'"
    )


def test_duplicate_id():
    assert _error(GOOD.replace("id: photos", "id: clf")).splitlines() == [
        "system.yaml:13: components[3].id: duplicate id 'clf' (also components[2])",
        "system.yaml:20: flows[2].from: unknown component 'photos'",
    ]


def test_unknown_and_misplaced_mitigation_ids():
    msg = _error(GOOD.replace("[AML.M0004]", "[AML.M0004, AML.M9999, AML.T0043]"))
    assert msg.splitlines() == [
        "system.yaml:12: components[2].controls[1]: unknown ATLAS mitigation 'AML.M9999'",
        "system.yaml:12: components[2].controls[2]: 'AML.T0043' is an ATLAS technique, not a mitigation",
    ]


def test_tool_list_must_name_tools():
    text = GOOD + "  - {from: clf, to: api}\n"
    text = text.replace("flows:", "  - id: app\n    kind: llm-app\n    tools: [clf, nope]\nflows:")
    assert _error(text).splitlines() == [
        "system.yaml:19: components[4].tools[0]: 'clf' is a model, not a tool (or an llm-app it delegates to)",
        "system.yaml:19: components[4].tools[1]: unknown component 'nope'",
    ]


def test_an_app_may_list_another_app_it_delegates_to_but_not_itself():
    text = GOOD.replace("flows:", "  - {id: planner, kind: llm-app, tools: [helper]}\n"
                                  "  - {id: helper, kind: llm-app, tools: [helper]}\nflows:")
    assert _error(text) == "system.yaml:18: components[5].tools[0]: 'helper' is the app itself"
    system = load_system_text(text.replace("tools: [helper]}\nflows", "tools: []}\nflows"))
    assert {c.id for c in system.upstream_of("planner")} == {"helper"}


def test_yaml_syntax_and_shape_errors():
    assert _error("name: x\ncomponents: [\n").startswith("system.yaml:3: not valid YAML:")
    assert _error("- just\n- a list\n").startswith("system.yaml:1: a system description is a mapping")
    assert _error("name: x\nname: y\n") == "system.yaml:2: name: key given twice"
    assert _error("") == "system.yaml:1: the file is empty"


@pytest.mark.parametrize(("text", "line", "hint"), [
    ("name: x\ncomponents:\n\t- {id: m, kind: model}\n", 3, "not tabs"),
    ("name: x\ndescription: Note: bot can refund\ncomponents: []\n", 2, "must be quoted"),
    ("name: x\ncomponents:\n  - id: m\n    kind: model\n   task: generation\n", 5, "indented differently")])
def test_a_yaml_slip_is_said_in_the_writers_terms(text, line, hint):
    # the parser names tokens ('?', <block end>) that are not in the file (newcomer walkthrough)
    said = _error(text)
    assert said.startswith(f"system.yaml:{line}: not valid YAML:") and hint in said, said


def test_missing_file_is_format_error(tmp_path):
    with pytest.raises(FormatError, match="absent.yaml: no such file"):
        load_system(tmp_path / "absent.yaml")


def test_python_construction_still_checks_references():
    with pytest.raises(ValueError, match=r"flows\[0\]\.to: unknown component 'b'"):
        System.model_validate({"name": "x", "components": [{"id": "a", "kind": "external"}],
                               "flows": [{"from": "a", "to": "b"}]})


def test_graph_questions():
    system = load_system_text(GOOD)
    assert [c.id for c in system.reachable_from("external")] == ["api", "clf"]
    assert [c.id for c in system.reachable_from(lambda c: c.get("writers") == "internal")] == ["clf"]
    assert [c.id for c in system.upstream_of("clf")] == ["users", "api", "photos"]
    assert [c.id for c in system.upstream_of("clf", untrusted_only=True)] == ["users", "api"]
    assert system.is_exposed("clf") and system.is_exposed("users")
    assert not system.is_exposed("photos")
    with pytest.raises(KeyError, match="no component 'nope'"):
        system.upstream_of("nope")


def test_internal_service_is_not_an_entry_point():
    system = load_system_text(GOOD.replace("audience: public", "audience: internal").replace(
        "  - {from: users, to: api}\n", ""))
    assert not system.is_exposed("clf")


def test_agent_tools_are_two_way_edges():
    system = load_system(next(p for p in EXAMPLES if p.stem == "support-agent"))
    upstream = {c.id for c in system.upstream_of("agent")}
    assert {"web-fetch", "help-centre-index", "customer"} <= upstream
    assert "issue-refund" in {c.id for c in system.reachable_from("external")}
    agent = system.component("agent")
    assert isinstance(agent, LlmAppComponent) and agent.system_prompt == "secret"


def test_rules_can_read_any_field_on_any_component():
    system = load_system_text(GOOD)
    assert system.component("clf").get("audience") is None
    assert system.component("api").get("audience") == "public"
    assert "audience" in component_fields("service") and "audience" not in component_fields("model")
    assert {"id", "kind", "controls", "properties", "side_effects", "memory"} <= component_fields()


def test_documented_example_loads():
    doc = (Path(__file__).parents[2] / "docs" / "threatmodel-system.md").read_text()
    blocks = [b.split("```", 1)[0] for b in doc.split("```yaml\n")[1:]]
    full = [b for b in blocks if b.startswith("name:")]
    assert full, "the documentation lost its full example"
    for block in full:
        assert load_system_text(block, "docs").is_exposed("classifier")


SINGLE_VALUES = """\
name: one
components:
  - {id: clf, kind: model, controls: AML.M0004}
  - {id: t, kind: tool}
  - {id: app, kind: llm-app, tools: t}
  - {id: d, kind: dataset, used_for: training}
  - {id: r, kind: retrieval-store, sources: scraped}
  - {id: v, kind: adversary, goals: fraud, access: query}
"""


def test_every_list_field_takes_a_single_value_as_documented():
    system = load_system_text(SINGLE_VALUES)
    got = [system.component(i).get(f) for i, f in (("clf", "controls"), ("app", "tools"), ("d", "used_for"),
                                                  ("r", "sources"), ("v", "goals"), ("v", "access"))]
    assert got == [("AML.M0004",), ("t",), ("training",), ("scraped",), ("fraud",), ("query",)]


def test_json_schema_accepts_the_single_values_the_loader_accepts():
    # An editor validating with the exported schema must not flag a file the CLI loads.
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(yaml.safe_load(SINGLE_VALUES), json_schema())


def test_the_query_limit_control_is_a_rate_limit():
    system = load_system_text("""\
name: limits
components:
  - {id: a, kind: service, audience: public, controls: [AML.M0004]}
  - {id: b, kind: service, audience: public, controls: AML.M0004}
  - {id: c, kind: service, audience: public}
  - {id: d, kind: llm-app, autonomy: autonomous, controls: [AML.M0029]}
  - {id: e, kind: model, controls: [AML.M0014]}
""")
    assert [system.component(i).rate_limited for i in "abc"] == [True, True, False]
    # an autonomous agent may still ask a person before its weightier actions
    assert system.component("d").autonomy == "autonomous" and system.component("e").signed is True


@pytest.mark.parametrize(("component", "message"), [
    ("{id: d, kind: service, audience: public, controls: [AML.M0004], rate_limited: false}",
     "rate_limited: false contradicts AML.M0004 in controls"),
    ("{id: d, kind: model, signed: false, controls: AML.M0014}", "signed: false contradicts AML.M0014 in controls"),
])
def test_a_field_that_denies_a_control_listed_beside_it_is_an_error(component, message):
    with pytest.raises(FormatError, match=rf"s.yaml:3: components\[0\].{message}"):
        load_system_text(f"name: x\ncomponents:\n  - {component}\n", "s.yaml")
    # written as a block, the line is the field's own, not the component's
    block = component.strip("{}").replace(", ", "\n    ")
    field = message.split(":")[0]
    with pytest.raises(FormatError) as caught:
        load_system_text(f"name: x\ncomponents:\n  - {block}\n", "s.yaml")
    line = 3 + [part.split(":")[0] for part in block.split("\n    ")].index(field)
    assert str(caught.value) == f"s.yaml:{line}: components[0].{message}"


@pytest.mark.parametrize("value", ['"yes"', "1", '"true"'])
def test_booleans_are_true_or_false_not_guessed(value):
    assert _error(GOOD.replace("modality: image", f"modality: image\n    signed: {value}")).endswith(
        f"components[2].signed: must be true or false (unquoted); got {yaml.safe_load(value)!r}")


def test_a_flow_to_itself_or_given_twice_is_an_error():
    assert _error(GOOD.replace("{from: api, to: clf}", "{from: clf, to: clf}")) == (
        "system.yaml:19: flows[1]: a flow from 'clf' to itself")
    twice = GOOD.replace("{from: api, to: clf}", "{from: api, to: clf}\n  - {from: api, to: clf, trusted: true}")
    assert _error(twice).endswith("flows[2]: flow api -> clf given twice (also flows[1])")


def test_a_control_character_is_one_line_with_its_line():
    assert _error("name: x\ncomponents:\n  - {id: a\x00, kind: external}\n") == (
        "system.yaml:3: not valid YAML: unacceptable character #x0000: special characters are not allowed")


def test_field_and_reference_errors_come_in_one_run():
    text = GOOD.replace("modality: image", "modality: picture").replace("{from: api, to: clf}",
                                                                        "{from: api, to: clasifier}")
    lines = _error(text).splitlines()
    assert lines == ["system.yaml:11: components[2].modality: must be one of " + lines[0].split("one of ")[1],
                     "system.yaml:19: flows[1].to: unknown component 'clasifier'"]


def test_an_id_with_an_invisible_character_says_so():
    msg = _error(GOOD.replace("id: clf", 'id: "clf\\u200b"', 1))
    assert "must be one word without spaces or invisible characters; got 'clf\\u200b'" in msg


def test_every_kind_of_invisible_character_in_an_id_is_refused_and_names_it():
    for ch in ("\u00ad", "\u2066", "\u180e", "\ufe0f", "\u3164"):
        msg = _error(GOOD.replace("id: clf", f'id: "clf{ch}"', 1).replace("to: clf", f'to: "clf{ch}"'))
        assert f"U+{ord(ch):04X} shows nothing" in msg, ch
    assert load_system_text(GOOD.replace("clf", "café")).component("café").kind == "model"


def test_a_huge_value_in_the_wrong_place_is_quoted_short():
    msg = _error(GOOD.replace("modality: image", "modality: [" + ", ".join(map(str, range(30_000))) + "]"))
    assert len(msg) < 400 and "characters)" in msg


def test_names_are_at_most_200_characters():
    assert "name: 201 characters; at most 200" in _error(GOOD.replace("name: demo", "name: " + "n" * 201, 1))


def test_json_keys_past_yamls_1024_character_limit_read_as_json_does():
    # YAML caps an implicit key at 1,024 characters; JSON does not, and a JSON system is a YAML one.
    long = "k" * 1100
    text = json.dumps({"name": "x", "components": [
        {"id": "m", "kind": "model", "properties": {long: "v", "short": 1}}], "flows": []}, indent=2)
    system = load_system_text(text, "s.json")
    assert system.component("m").properties == {long: "v", "short": 1}
    with pytest.raises(FormatError) as err:
        load_system_text(json.dumps({"name": "x", "components": [], "x" * 1100: 1}), "s.json")
    message = str(err.value)
    assert message.startswith("s.json:1: xxxx") and "(1,100 characters): unknown field" in message
    assert len(message) < 200


def test_one_problem_past_the_first_few_is_counted_in_the_singular():
    text = "name: x\ncomponents:\n" + "".join(f"  - id: s{i}\n    kind: service\n" for i in range(6))
    assert _error(text).splitlines()[-1] == "... and 1 more problem"


@pytest.mark.parametrize("value", ["!!float abc", "!!int abc", "!!timestamp abc", "!!bool maybe",
                                   "!!int \"" + "9" * 5000 + "\"", "1_" + "0" * 5000])
def test_a_value_its_tag_cannot_take_is_one_line_not_a_crash(value):
    with pytest.raises(FormatError, match=r"^s.yaml:3: not valid YAML: a value cannot be read as its type \(.+\)$"):
        load_system_text(f"name: x\ncomponents:\n  - {{id: m, kind: model, properties: {{n: {value}}}}}\n", "s.yaml")


@pytest.mark.parametrize("text", ["flows: [{from: [a], to: m}]", "flows: [{from: {x: 1}, to: m}]"])
def test_a_list_or_mapping_where_a_flow_end_belongs_is_a_schema_error(text):
    with pytest.raises(FormatError, match=r"flows\[0\]\.from: expected text; got [[{]"):
        load_system_text(f"name: x\ncomponents:\n  - {{id: m, kind: model}}\n{text}\n", "s.yaml")
    with pytest.raises(FormatError, match=r"components\[0\]\.tools\[0\]: expected text; got \[.x.\]"):
        load_system_text("name: x\ncomponents:\n  - {id: a, kind: llm-app, tools: [[x]]}\n", "s.yaml")


def test_a_huge_file_is_refused_while_it_is_read_not_after(monkeypatch):
    from advmatrix.threatmodel import _load

    monkeypatch.setattr(_load, "MAX_NODES", 1000)
    with pytest.raises(FormatError, match=r"^s.yaml: more than 1,000 YAML nodes \(about 100 components\); refusing"):
        load_system_text("name: x\nx: [" + ",".join(["a"] * 2000) + "]\n", "s.yaml")
    monkeypatch.setattr(_load, "MAX_SEPARATORS", 1000)
    with pytest.raises(FormatError, match=r"^s.yaml: more than 1,000 lines and commas; not a system description$"):
        load_system_text("name: x\nx: [" + ",".join(["a"] * 2000) + "]\n", "s.yaml")


def test_control_characters_are_refused_in_text_and_escaped_in_keys():
    with pytest.raises(FormatError) as err:
        load_system_text('name: "x\\e[31mRED"\ncomponents:\n  - {id: m, kind: model, description: "a\\u2028b"}\n',
                         "s.yaml")
    assert str(err.value).splitlines() == ["s.yaml:1: name: holds a control character (U+001B); remove it",
                                           "s.yaml:3: components[0].description: holds a control character "
                                           "(U+2028); remove it"]
    with pytest.raises(FormatError) as err:
        load_system_text('name: x\ncomponents: []\n"x\\e[2J\\nfake.yaml:1: ok": 1\n', "s.yaml")
    assert "\x1b" not in str(err.value) and len(str(err.value).splitlines()) == 1
    assert "x\\x1b[2J\\nfake.yaml:1: ok" in str(err.value)


def test_a_blank_name_is_refused():
    with pytest.raises(FormatError, match=r"^s.yaml:1: name: must not be blank$"):
        load_system_text('name: "   "\ncomponents: []\n', "s.yaml")
    with pytest.raises(FormatError, match=r"^s.yaml:3: components\[0\].name: must not be blank$"):
        load_system_text('name: x\ncomponents:\n  - {id: m, kind: model, name: " "}\n', "s.yaml")


def test_a_value_yaml_read_as_something_else_than_text_says_what_it_became():
    with pytest.raises(FormatError) as err:
        load_system_text("name: yes\ncomponents:\n  - {id: m, kind: model, description: 2024-01-01}\n", "s.yaml")
    assert str(err.value).splitlines() == [
        "s.yaml:1: name: expected text; YAML read this as a boolean (true; yes, no, on and off are booleans too): "
        "put it in quotes",
        "s.yaml:3: components[0].description: expected text; YAML read this as a date (2024-01-01): put it in quotes"]


@pytest.mark.parametrize(("source", "fmt", "says"), [
    ("vendor-api", "safetensors", "safetensors says we hold weight files, but source: vendor-api"),
    ("vendor", "hosted", "hosted says only the vendor holds the weights, but source: vendor")])
def test_who_holds_the_weights_is_said_one_way(source, fmt, says):
    with pytest.raises(FormatError) as caught:
        load_system_text(f"name: s\ncomponents:\n  - id: m\n    kind: model\n    source: {source}\n"
                         f"    artifact_format: {fmt}\n", "s.yaml")
    assert str(caught.value).startswith(f"s.yaml:6: components[0].artifact_format: {says}")


def test_a_memory_shared_beside_no_memory_is_an_error_at_its_line():
    text = "name: s\ncomponents:\n  - id: a\n    kind: llm-app\n    memory: none\n    shared_memory: {}\n"
    with pytest.raises(FormatError) as caught:
        load_system_text(text.format("true"), "s.yaml")
    assert str(caught.value) == ("s.yaml:6: components[0].shared_memory: true says how a memory is shared, "
                                 "but memory: none keeps none")
    # nothing kept is nothing shared: the two agree
    assert load_system_text(text.format("false"), "s.yaml").component("a").get("shared_memory") is False


def test_a_send_only_tool_returns_no_content_to_its_agent():
    s = load_system_text("""\
name: s
components:
  - {id: bot, kind: llm-app, tools: [mailer]}
  - {id: mailer, kind: tool, side_effects: external-communication, sends_only: true}
  - {id: templates, kind: dataset, writers: partner}
flows: [{from: templates, to: mailer}]
""")
    assert ("bot", "mailer", False) in s.edges() and ("mailer", "bot", False) not in s.edges()
    assert "templates" not in {c.id for c in s.upstream_of("bot")}
    with pytest.raises(FormatError, match=r"components\[0\].sends_only: true contradicts browses: true"):
        load_system_text("name: s\ncomponents:\n  - {id: t, kind: tool, sends_only: true, browses: true}\n")


def test_the_long_key_reader_touches_json_only_and_names_the_users_own_key():
    quoted = "q" * 1100
    flow_yaml = f"{{name: demo, description: 'see \"{quoted}\": here', components: [], flows: []}}"
    assert load_system_text(flow_yaml, "s.yaml").description == f'see "{quoted}": here'
    long = "k" * 2000
    mine = json.dumps({"name": "x", "components": [{"id": "u", "kind": "external",
                                                     "properties": {"advmatrix-long-key-0": True, long: False}}]})
    assert set(load_system_text(mine, "s.json").component("u").properties) == {"advmatrix-long-key-0", long}
    pair = f'"{long}": 1, "{long}": 2'
    twice = '{"name": "x", "components": [{"id": "u", "kind": "external", "properties": {' + pair + '}}]}'
    with pytest.raises(FormatError, match=r"properties\.kkkk.*\(2,000 characters\): key given twice$"):
        load_system_text(twice, "s.json")


def test_bidirectional_overrides_are_refused_in_text():
    with pytest.raises(FormatError, match=r"^s.yaml:1: name: holds a control character \(U\+202E\); remove it$"):
        load_system_text('name: "safe\\u202eexe.yaml"\ncomponents: []\n', "s.yaml")


@pytest.mark.parametrize("escape", ["\\uffff", "\\ufffe"])
def test_a_character_no_yaml_reader_takes_back_is_refused_in_text(escape):
    # the emitted plan and gateway configuration carry the name: their readers would refuse them
    with pytest.raises(FormatError, match=r"^s.json:1: name: holds a control character \(U\+FFF[EF]\)"):
        load_system_text('{"name": "sys' + escape + '", "components": []}', "s.json")


def test_an_outside_party_is_a_source_or_a_sink_not_a_relay():
    s = load_system_text("""\
name: r
components:
  - {id: user, kind: external}
  - {id: chat, kind: service, audience: public, returns: text}
  - {id: bot, kind: model, task: generation}
  - {id: upload, kind: service, audience: internal, returns: labels}
  - {id: clf, kind: model, task: classification}
flows: [{from: user, to: chat}, {from: chat, to: bot}, {from: bot, to: chat}, {from: chat, to: user},
        {from: user, to: upload}, {from: upload, to: clf}, {from: clf, to: upload}, {from: upload, to: user}]
""")
    assert {c.id for c in s.upstream_of("clf")} == {"user", "upload"}
    assert "chat" not in {c.id for c in s.upstream_of("clf")}
    assert "clf" not in {c.id for c in s.downstream_of("chat")}


@pytest.mark.parametrize("written", ["M0004", "aml.m0004", "AML-M0004"])
def test_a_mitigation_id_with_its_prefix_misspelt_gets_the_id_meant(written):
    text = f"name: x\ncomponents:\n  - {{id: api, kind: service, audience: public, controls: [{written}]}}\n"
    with pytest.raises(FormatError) as info:
        load_system_text(text, "s.yaml")
    assert str(info.value) == f"s.yaml:3: components[0].controls[0]: unknown ATLAS mitigation '{written}' " \
                              "(did you mean AML.M0004?)"


def test_a_comma_in_unquoted_flow_text_says_to_quote_it():
    text = ("name: x\ncomponents:\n  - {id: a, kind: external}\n  - {id: b, kind: service, audience: public}\n"
            "flows:\n  - {from: a, to: b, data: PR diff, files}\n")
    with pytest.raises(FormatError) as info:
        load_system_text(text, "s.yaml")
    assert str(info.value) == ("s.yaml:6: flows[0].files: unknown field with no value; if it was text after a "
                               "comma inside {...}, quote that text")


@pytest.mark.parametrize(("char", "name"), [("\u2028", "a line separator"), ("\x85", "a next-line character")])
def test_a_unicode_line_break_yaml_counts_and_editors_do_not_is_refused_at_its_line(char, name):
    text = f"name: x\n# caf{char} menu\ncomponents: []\n"
    with pytest.raises(FormatError) as info:
        load_system_text(text, "s.yaml")
    assert str(info.value) == f"s.yaml:2: holds U+{ord(char):04X} ({name}), which YAML reads as a line break; remove it"



@pytest.mark.parametrize("kind", ["", "    kind: yes\n", "    kind: [tool]\n"])
def test_a_tool_an_app_lists_with_no_usable_kind_is_named_at_its_line(kind):
    text = f"name: x\ncomponents:\n  - {{id: app, kind: llm-app, tools: [t]}}\n  - id: t\n{kind}"
    with pytest.raises(FormatError) as caught:
        load_system_text(text, "s.yaml")
    said = str(caught.value)
    assert said.startswith(("s.yaml:4: components[1]: a component needs a 'kind'", "s.yaml:5: components[1].kind:"))
    assert "\n" not in said


def test_an_unknown_flow_end_holding_a_line_break_is_shown_escaped_on_one_line():
    text = ('name: s\ncomponents:\n  - {id: a, kind: external}\n'
            'flows:\n  - {from: "a\\nadvmatrix: error: forged", to: a}\n')
    with pytest.raises(FormatError) as caught:
        load_system_text(text, "s.yaml")
    assert "\n" not in str(caught.value) and "unknown component 'a\\nadvmatrix: error: forged'" in str(caught.value)


def test_a_closed_field_yaml_read_as_a_boolean_says_to_quote_the_word():
    with pytest.raises(FormatError) as caught:
        load_system_text("name: s\ncomponents:\n  - {id: a, kind: service, audience: public, returns: no}\n", "s.yaml")
    assert "returns: must be one of none, labels" in str(caught.value)
    assert "got false (YAML reads yes, no, on and off as true or false: put the word in quotes)" in str(caught.value)


@pytest.mark.parametrize(("kind", "hint"), [("llm_app", "llm-app"), ("Retrieval Store", "retrieval-store"),
                                            ("modle", "model"), ("gadget", None)])
def test_a_misspelt_component_kind_gets_a_did_you_mean(kind, hint):
    with pytest.raises(FormatError) as exc:
        load_system_text(f"name: x\ncomponents:\n  - {{id: a, kind: {kind}}}\n")
    assert f"unknown component kind '{kind}'" in str(exc.value)
    assert (f"(did you mean '{hint}'?)" in str(exc.value)) if hint else "did you mean" not in str(exc.value)


def test_a_flow_or_tool_list_naming_a_slip_of_an_id_gets_a_did_you_mean():
    text = ("name: x\ncomponents:\n  - {id: assistant, kind: llm-app, tools: [web-browse]}\n"
            "  - {id: web-browse, kind: tool}\n  - {id: kb, kind: retrieval-store}\n")
    with pytest.raises(FormatError) as exc:
        load_system_text(text + "flows:\n  - {from: kb, to: asistant}\n")
    assert str(exc.value).endswith("flows[0].to: unknown component 'asistant' (did you mean 'assistant'?)")
    with pytest.raises(FormatError) as exc:
        load_system_text(text.replace("tools: [web-browse]", "tools: [web-browser]"))
    assert "unknown component 'web-browser' (did you mean 'web-browse'?)" in str(exc.value)
    with pytest.raises(FormatError) as exc:  # nothing close: no guess
        load_system_text(text + "flows:\n  - {from: kb, to: gateway}\n")
    assert "did you mean" not in str(exc.value)


@pytest.mark.parametrize(("text", "said"), [
    # CycloneDX's habit, graph tools' words for a flow's ends, and a mitigation written by name or with its name
    ("name: x\ncomponents:\n  - {id: m, type: model}\n", "'type' is not a field: write kind: model"),
    ("name: x\ncomponents:\n  - {id: m, kind: model}\n  - {id: u, kind: external}\nflows:\n"
     "  - {source: u, target: m}\n", "flows[0].source: unknown field; did you mean 'from'?\n"
     "system.yaml:6: flows[0].target: unknown field; did you mean 'to'?"),
    ("name: x\ncomponents:\n  - {id: m, kind: model, controls: [Generative AI Guardrails]}\n",
     "(did you mean AML.M0020?)"),
    ("name: x\ncomponents:\n  - {id: m, kind: model, controls: ['AML.M0020 Generative AI Guardrails']}\n",
     "(did you mean AML.M0020?)")])
def test_what_other_formats_call_a_field_gets_the_name_it_has_here(text, said):
    # one line per slip, and the name meant (newcomer walkthrough: source/target gave four lines, none of them
    # saying 'from' and 'to')
    error = _error(text)
    assert said in error and "required field missing" not in error, error


def test_an_id_refused_for_an_invisible_character_is_said_once_at_the_id():
    # a paste from a web page: the flows naming what the id shows were reported too, each suggesting the
    # invisible form as the fix (newcomer walkthrough)
    said = _error('name: x\ncomponents:\n  - {id: "bot\\u00a0", kind: llm-app}\n  - {id: u, kind: external}\n'
                  "flows:\n  - {from: u, to: bot}\n  - {from: bot, to: u}\n")
    assert said == ("system.yaml:3: components[0].id: must be one word without spaces or invisible characters; "
                    "got 'bot\\xa0'"), said


def test_a_reference_to_a_lookalike_id_names_the_letter_that_differs():
    said = _error('name: x\ncomponents:\n  - {id: "b\\u043et", kind: llm-app}\n  - {id: u, kind: external}\n'
                  "flows:\n  - {from: u, to: bot}\n")
    assert said.startswith("system.yaml:6: flows[0].to: unknown component 'bot'") and "CYRILLIC SMALL LETTER O" in said


def test_a_reference_to_a_component_whose_id_was_left_empty_points_at_it():
    said = _error("name: x\ncomponents:\n  - {id: app, kind: llm-app, tools: [refund]}\n"
                  "  - {id: u, kind: external}\n  - {id: , kind: tool, side_effects: write}\n")
    assert "components[0].tools[0]: unknown component 'refund'; components[2] has no id: is it that one?" in said
    assert "components[2].id: given empty; it is required" in said, said
