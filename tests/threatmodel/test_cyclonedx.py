"""The CycloneDX ML-BOM importer, on the CycloneDX project's own ML-BOM examples and on our own."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from advmatrix.errors import FormatError
from advmatrix.threatmodel import (
    DatasetComponent,
    ModelComponent,
    ServiceComponent,
    System,
    load_cyclonedx,
    load_system_text,
    predict,
)
from advmatrix.threatmodel.cyclonedx import bom_to_dict

DATA = Path(__file__).parent / "data"
BOMS = Path(__file__).parents[2] / "examples" / "boms"
REAL = DATA / "cyclonedx"


def test_real_model_card_with_datasets():
    system = load_cyclonedx(REAL / "model-card-with-dataset.bom.json")
    assert system.name == "support-triage-service"
    model = system.component("component-support-ticket-classifier")
    assert isinstance(model, ModelComponent)
    assert (model.task, model.modality) == ("classification", "text")
    train = system.component("component-support-ticket-training-data")
    evaluation = system.component("component-support-ticket-evaluation-data")
    assert isinstance(train, DatasetComponent) and train.used_for == ("training",)
    assert evaluation.used_for == ("evaluation",) and not train.sensitive  # classified "internal"
    # dependsOn: the service calls the model (requests in, answers back), the model was built from the data
    service_id = "component-support-triage-service"
    assert {c.id for c in system.upstream_of(model)} == {train.id, evaluation.id, service_id}
    assert {c.id for c in system.upstream_of(model, inputs_only=True)} >= {service_id}
    assert [c.id for c in system.reachable_from("dataset")] == ["component-support-triage-service", model.id]
    service = system.component("component-support-triage-service")
    assert isinstance(service, ServiceComponent) and service.audience == "internal"
    assert service.properties["assumed"] == "audience"


def test_real_foundation_model_from_a_vendor():
    system = load_cyclonedx(REAL / "foundation-model.bom.json")
    assert [(c.id, c.kind, c.get("trained_by")) for c in system.components] == [("gpt-4o", "model", "vendor")]
    assert system.flows == ()


def test_real_bom_that_is_not_json_says_where():
    with pytest.raises(FormatError, match=r"open-source-model\.bom\.json:9: not valid JSON"):
        load_cyclonedx(REAL / "open-source-model.bom.json")


def test_real_bom_that_is_not_an_ml_bom():
    with pytest.raises(FormatError) as info:
        load_cyclonedx(REAL / "cbom-algorithm.bom.json")
    assert str(info.value).endswith("a CycloneDX BOM, but not an ML-BOM: no component of type machine-learning-model")


def test_real_bom_too_old_for_ml():
    with pytest.raises(FormatError, match=r"CycloneDX 1\.4 cannot describe ML models"):
        load_cyclonedx(REAL / "saasbom-1.4.bom.json")


def test_json_that_is_not_cyclonedx(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"spdxVersion": "SPDX-2.3"}))
    with pytest.raises(FormatError, match=r'other\.json: not a CycloneDX BOM \(no "bomFormat": "CycloneDX"\)'):
        load_cyclonedx(path)


def test_schema_violation_is_reported(tmp_path):
    bom = json.loads((REAL / "foundation-model.bom.json").read_text())
    bom["components"][0]["type"] = "machine-learning-model"
    bom["components"][0]["modelCard"] = {"modelParameters": {"task": 42}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bom))
    with pytest.raises(FormatError, match=r"bad\.json:1: does not follow the CycloneDX 1\.6 schema"):
        load_cyclonedx(path)
    assert load_cyclonedx(path, validate=False).components[0].kind == "model"


def test_missing_validator_warns_and_imports(monkeypatch):
    monkeypatch.setitem(sys.modules, "cyclonedx.validation.json", None)
    with pytest.warns(UserWarning, match="not checked against the CycloneDX schema"):
        system = load_cyclonedx(REAL / "foundation-model.bom.json")
    assert system.components[0].id == "gpt-4o"


def test_properties_pedigree_services_and_dependencies():
    system = load_cyclonedx(BOMS / "chatbot.bom.json")
    model = system.component("tuned-llm")
    assert (model.base_model, model.source, model.trained_by, model.fine_tuned) == (
        "Mistral-7B-v0.1", "huggingface", "open-source", True)
    assert (model.artifact_format, model.task) == ("safetensors", "generation")
    assert model.properties == {"owner": "ml-platform"}  # vendor:other is not ours, so it is dropped
    bot = system.component("helpdesk-bot")
    assert bot.kind == "llm-app" and bot.memory == "session" and bot.renders_markdown is True
    assert bot.controls == ("AML.M0020", "AML.M0024")
    api = system.component("chat-api")
    assert (api.audience, api.authentication) == ("public", "none")  # x-trust-boundary, authenticated: false
    data = system.component("tickets")
    assert (data.sensitive, data.writers, data.source) == (True, "public", "user-submitted")
    assert "pkg:pypi/torch@2.3.0" not in {c.id for c in system.components}  # libraries are left out
    assert system.is_exposed(bot)


def test_overlay_adds_what_the_bom_lacks():
    system = load_cyclonedx(BOMS / "chatbot.bom.json", BOMS / "chatbot-overlay.yaml")
    bot = system.component("helpdesk-bot")
    assert bot.tools == ("send-email",) and bot.autonomy == "autonomous"
    assert bot.memory == "session"  # kept from the BOM
    assert bot.controls == ("AML.M0020", "AML.M0024", "AML.M0029")
    assert system.component("send-email").kind == "tool"
    assert system.description.startswith("Help-desk bot imported")
    assert [c.id for c in system.upstream_of("chat-api")][:1] == ["helpdesk-bot"]
    assert {"users", "chat-api", "tuned-llm", "tickets", "send-email"} == {c.id for c in system.upstream_of(bot)}
    assert "send-email" in {c.id for c in system.reachable_from("external")}


def test_overlay_errors_name_the_overlay_line():
    with pytest.raises(FormatError) as info:
        load_cyclonedx(BOMS / "chatbot.bom.json", DATA / "bad-overlay.yaml")
    assert str(info.value) == (
        f"{DATA / 'bad-overlay.yaml'}:3: component 'chat-api': audience: must be one of public, partner, internal; "
        "got 'everyone'"
    )


def chatbot_service_saying(tmp_path, name: str, value: str) -> Path:
    """The chatbot example BOM with its service's one advmatrix property ``name`` set to ``value``."""
    bom = json.loads((BOMS / "chatbot.bom.json").read_text())
    bom["services"][0]["properties"] = [{"name": f"advmatrix:{name}", "value": value}]
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(bom))
    return path


@pytest.mark.parametrize(("name", "value", "said"), [
    ("audience", "world", r"bom\.json:1: component 'chat-api': audience: must be one of public"),
    # controls[1], as the system.yaml loader says it, not controls.1 (newcomer walkthrough)
    ("controls", "AML.M0004, AML.M9999", r"component 'chat-api': controls\[1\]: unknown ATLAS mitigation 'AML.M9999'"),
    # and a misspelt kind gets the kind meant, as in system.yaml
    ("kind", "llm-ap", r"advmatrix:kind 'llm-ap' \(did you mean 'llm-app'\?\) must be one of")])
def test_a_bad_advmatrix_property_names_the_component_as_system_yaml_would(tmp_path, name, value, said):
    with pytest.raises(FormatError, match=said):
        load_cyclonedx(chatbot_service_saying(tmp_path, name, value))


def test_a_bad_kind_in_a_bom_is_said_with_the_other_problems_in_file_order(tmp_path):
    # one run names every problem, as for a system.yaml (newcomer walkthrough: a misspelt kind hid a bad
    # control on another component until it was fixed)
    bom = json.loads((BOMS / "chatbot.bom.json").read_text())
    bom["services"][0]["properties"] = [{"name": "advmatrix:kind", "value": "llm-ap"}]
    bom["components"][0].setdefault("properties", []).append({"name": "advmatrix:controls", "value": "AML.M9999"})
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(bom, indent=2))
    with pytest.raises(FormatError) as info:
        load_cyclonedx(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 2, lines
    assert "tuned-llm': controls[0]: unknown ATLAS mitigation 'AML.M9999'" in lines[0]
    assert "service 'chat-api': advmatrix:kind 'llm-ap' (did you mean 'llm-app'?)" in lines[1]


def test_bom_round_trips_through_system_yaml():
    system = load_cyclonedx(BOMS / "chatbot.bom.json", BOMS / "chatbot-overlay.yaml")
    text = yaml.safe_dump(system.model_dump(mode="json", by_alias=True, exclude_defaults=True), sort_keys=False)
    assert load_system_text(text) == system
    assert System.model_validate(bom_to_dict(json.loads((REAL / "foundation-model.bom.json").read_text())))


def test_errors_in_what_only_the_overlay_adds_name_its_line(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("components:\n  - id: newthing\n    kind: service\nflows:\n  - {from: users, to: chat-api}\n")
    with pytest.raises(FormatError) as info:
        load_cyclonedx(BOMS / "chatbot.bom.json", overlay)
    assert str(info.value) == f"{overlay}:2: component 'newthing': audience: required field missing"
    overlay.write_text("components:\n  - {id: newthing, kind: service, audience: public}\n"
                       "flows:\n  - {from: ghost, to: chat-api}\n")
    with pytest.raises(FormatError) as info:
        load_cyclonedx(BOMS / "chatbot.bom.json", overlay)
    assert str(info.value) == f"{overlay}:4: flow ghost -> chat-api: from: unknown component 'ghost'"


def test_the_documented_overlay_completes_the_chatbot_bom(tmp_path):
    doc = (Path(__file__).parents[2] / "docs" / "threatmodel-system.md").read_text()
    block = next(b.split("```", 1)[0] for b in doc.split("```yaml\n")[1:] if "bom-ref in the BOM" in b)
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(block)
    system = load_cyclonedx(BOMS / "chatbot.bom.json", overlay)
    assert system.component("send-email").kind == "tool" and system.is_exposed("helpdesk-bot")


BAD_OVERLAYS = {
    "flow-without-to": ("flows:\n  - {from: users}\n", ":2: flows[0]: a flow is a mapping with 'from' and 'to'"),
    "flow-as-text": ("flows:\n  - users -> chat-api\n", ":2: flows[0]: a flow is a mapping"),
    "flows-as-mapping": ("flows: {a: b}\n", ":1: flows: expected a list"),
    "id-as-list": ("components:\n  - {id: [a, b], kind: tool}\n", ":2: components[0]: needs an 'id'"),
    "controls-as-number": ("components:\n  - id: helpdesk-bot\n    controls: 5\n",
                           ":3: component 'helpdesk-bot': controls"),
    "properties-as-list": ("components:\n  - id: tuned-llm\n    properties: [a, b]\n",
                           ":3: component 'tuned-llm': properties"),
    "name-as-number": ("name: 5\n", ":1: name: expected text; YAML read this as a number (5): put it in quotes"),
    "unknown-top-level": ("colour: blue\n", ":1: colour: unknown field"),
    # each had ended in a traceback (an unhashable kind or control)
    "kind-as-list": ("components:\n  - id: helpdesk-bot\n    kind: [llm-app]\n",
                     ":3: components[0].kind: must be one of model,"),
    "control-as-list": ("components:\n  - id: helpdesk-bot\n    controls: [[AML.M0029]]\n",
                        ":3: components[0].controls[0]: expected an ATLAS mitigation ID"),
    "control-as-mapping": ("components:\n  - id: helpdesk-bot\n    controls: [{id: AML.M0029}]\n",
                           ":3: components[0].controls[0]: expected an ATLAS mitigation ID"),
}


@pytest.mark.parametrize("case", BAD_OVERLAYS)
def test_a_malformed_overlay_is_one_line_at_its_own_line(case, tmp_path):
    text, expected = BAD_OVERLAYS[case]
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(text)
    with pytest.raises(FormatError) as info:
        load_cyclonedx(BOMS / "chatbot.bom.json", overlay)
    assert str(info.value).startswith(f"{overlay}{expected}") and "\n" not in str(info.value)


def test_a_single_control_in_an_overlay_is_one_control(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("components:\n  - {id: helpdesk-bot, controls: AML.M0029}\n")
    bot = load_cyclonedx(BOMS / "chatbot.bom.json", overlay).component("helpdesk-bot")
    assert bot.controls == ("AML.M0020", "AML.M0024", "AML.M0029")


def test_a_bom_ref_given_twice_or_a_bad_service_kind_is_refused(tmp_path):
    bom = json.loads((BOMS / "chatbot.bom.json").read_text())
    twice = {**bom, "components": [*bom["components"], dict(bom["components"][0])]}
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(twice))
    with pytest.raises(FormatError, match="bom-ref 'tuned-llm' names two components"):
        load_cyclonedx(path, validate=False)
    robot = {**bom, "services": [{**bom["services"][0], "properties": [{"name": "advmatrix:kind", "value": "robot"}]}]}
    path.write_text(json.dumps(robot))
    with pytest.raises(FormatError, match="service 'chat-api': advmatrix:kind 'robot' must be one of"):
        load_cyclonedx(path, validate=False)


def test_a_schema_violation_is_one_line_saying_where(tmp_path):
    pytest.importorskip("cyclonedx")
    bom = json.loads((BOMS / "chatbot.bom.json").read_text())
    path = tmp_path / "bom.json"
    path.write_text(json.dumps({**bom, "metadata": [1, 2]}))
    with pytest.raises(FormatError) as info:
        load_cyclonedx(path)
    assert str(info.value) == (f"{path}:1: does not follow the CycloneDX {bom['specVersion']} schema at metadata: "
                               "[1, 2] is not of type 'object'")


def test_an_overlay_flow_on_an_imported_pair_completes_it(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("flows:\n  - {from: tuned-llm, to: helpdesk-bot, trusted: true}\n")
    system = load_cyclonedx(BOMS / "chatbot.bom.json", overlay)
    flow = next(f for f in system.flows if (f.source, f.target) == ("tuned-llm", "helpdesk-bot"))
    assert flow.trusted and sum((f.source, f.target) == ("tuned-llm", "helpdesk-bot") for f in system.flows) == 1
    overlay.write_text("flows:\n  - {from: tuned-llm, to: helpdesk-bot, colour: red}\n")
    with pytest.raises(FormatError, match=r"overlay.yaml:2: flow tuned-llm -> helpdesk-bot: colour: unknown field"):
        load_cyclonedx(BOMS / "chatbot.bom.json", overlay)


def test_cli_says_the_bom_was_not_validated_in_one_plain_line(monkeypatch, cli):
    monkeypatch.setitem(sys.modules, "cyclonedx.validation.json", None)
    for args in ((), ("--json",)):
        r = cli("threatmodel", REAL / "foundation-model.bom.json", *args)
        assert r.code == 0, r.err
        assert "warning: " in r.err and "not checked against the CycloneDX schema" in r.err
        assert "UserWarning" not in r.err and "load_cyclonedx" not in r.err


def _chatbot(tmp_path, change, name="bom.json", prefix=b""):
    bom = json.loads((BOMS / "chatbot.bom.json").read_text())
    change(bom)
    path = tmp_path / name
    path.write_bytes(prefix + json.dumps(bom).encode())
    return path


def test_a_bom_saved_with_a_utf8_byte_order_mark_is_still_a_bom(tmp_path, cli):
    path = _chatbot(tmp_path, lambda b: None, prefix=b"\xef\xbb\xbf")
    r = cli("threatmodel", path, "--json")
    assert r.code == 0, r.err
    assert r.json()["system"]


@pytest.mark.parametrize(("change", "says"), [
    (lambda b: b["components"][0].__setitem__("modelCard", [1]),
     "components[0].modelCard: expected an object, got a list"),
    (lambda b: b["components"][0].__setitem__("properties", None), "not a well-formed CycloneDX BOM"),
    (lambda b: b["dependencies"][0].__setitem__("dependsOn", "tuned-llm"),
     "dependencies[0].dependsOn: expected a list, got text"),
    (lambda b: b.__setitem__("services", ["svc"]), "services[0]: expected an object, got text"),
    (lambda b: b["services"][0].__setitem__("data", "x"), "services[0].data: expected a list, got text"),
    (lambda b: b["components"][0].__setitem__("properties", {"advmatrix:kind": "model"}),
     "components[0].properties: expected a list, got an object"),
    (lambda b: b["services"][0].__setitem__("x-trust-boundary", "yes"),
     "services[0].x-trust-boundary: expected true or false, got text"),
    (lambda b: b["services"][0].__setitem__("authenticated", "false"),
     "services[0].authenticated: expected true or false, got text"),
    (lambda b: b["services"][0].__setitem__("provider", "Acme Corp"),
     "services[0].provider: expected an object, got text"),
    (lambda b: b["components"][0].__setitem__("bom-ref", 5), "components[0].bom-ref: expected text, got a number"),
    (lambda b: b["components"][0]["modelCard"]["modelParameters"].__setitem__("inputs", {"format": "text"}),
     "components[0].modelCard.modelParameters.inputs: expected a list, got an object"),
    (lambda b: b["dependencies"][0].__setitem__("dependsOn", [None]), "dependencies[0].dependsOn[0]: expected text"),
])
def test_shapes_the_schema_check_would_catch_are_one_line_without_it(monkeypatch, tmp_path, cli, change, says):
    monkeypatch.setitem(sys.modules, "cyclonedx.validation.json", None)
    r = cli("threatmodel", _chatbot(tmp_path, change))
    assert r.code == 2 and says in r.err and "Traceback" not in r.err


def test_a_huge_number_or_deep_nesting_is_one_line(tmp_path, cli):
    big = tmp_path / "big.json"
    big.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": ' + "1" * 5000 + "}")
    r = cli("threatmodel", big)
    assert r.code == 2 and "Traceback" not in r.err and "big.json" in r.err

    def nest(b):
        node = b["components"][0]
        for i in range(300):
            child = {"type": "library", "name": f"n{i}", "bom-ref": f"n{i}"}
            node["components"] = [child]
            node = child
    r = cli("threatmodel", _chatbot(tmp_path, nest, "deep.json"))
    assert r.code == 2 and "nested too deeply" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize(("overlay", "says"), [
    ("components:\n  - {id: tuned-llm, signed: true}\n  - {id: tuned-llm, signed: false}\n",
     ":3: components[1].id: 'tuned-llm' is given twice in the overlay"),
    ("flows:\n  - {from: tickets, to: tuned-llm, trusted: true}\n  - {from: tickets, to: tuned-llm, trusted: false}\n",
     ":3: flows[1]: a flow tickets -> tuned-llm is given twice in the overlay"),
])
def test_an_overlay_that_says_two_things_of_one_component_or_flow_is_an_error(tmp_path, overlay, says):
    path = tmp_path / "o.yaml"
    path.write_text(overlay)
    with pytest.raises(FormatError, match=re.escape(f"{path}{says}")):
        load_cyclonedx(BOMS / "chatbot.bom.json", path)


def test_a_dependency_on_a_ref_nothing_has_is_a_warning_not_a_silent_loss(tmp_path):
    path = _chatbot(tmp_path, lambda b: b["dependencies"][0]["dependsOn"].append("Tuned-LLM"))
    with pytest.warns(UserWarning, match="name 'Tuned-LLM', which no component or service has"):
        load_cyclonedx(path)


def test_an_authenticated_bom_service_is_assumed_to_take_an_api_key(tmp_path):
    def change(b):
        b["services"][0]["authenticated"] = True
    bom = json.loads((BOMS / "chatbot.bom.json").read_text())
    path = _chatbot(tmp_path, change)
    system = load_cyclonedx(path)
    svc_id = bom["services"][0]["bom-ref"]
    svc = system.component(svc_id)
    assert svc.authentication == "api-key" and "authentication" in svc.properties["assumed"]


def test_a_lone_surrogate_in_a_bom_is_refused_with_its_json_path(tmp_path, cli):
    path = _chatbot(tmp_path, lambda b: b["components"][0].__setitem__("name", "x\ud800"))
    r = cli("threatmodel", path)
    assert r.code == 2 and "components[0].name: holds an unpaired surrogate escape" in r.err


def test_bom_free_properties_true_and_false_are_booleans_the_rules_read(tmp_path):
    def mark(bom):
        bom["components"][0]["properties"] += [{"name": "advmatrix:on_device", "value": "true"},
                                               {"name": "advmatrix:physical", "value": "False"}]
    system = load_cyclonedx(_chatbot(tmp_path, mark))
    llm = system.component("tuned-llm")
    assert llm.properties["on_device"] is True and llm.properties["physical"] is False
    assert "AML.T0044" in {f.technique_id for f in predict(system).for_component("tuned-llm").findings}


def test_a_bom_property_that_looks_like_a_field_is_kept_with_a_warning(tmp_path):
    def mark(bom):
        bom["metadata"]["component"]["properties"] += [{"name": "advmatrix:browses", "value": "true"},
                                                       {"name": "advmatrix:autonomyy", "value": "autonomous"}]
    with pytest.warns(UserWarning) as caught:
        system = load_cyclonedx(_chatbot(tmp_path, mark), validate=False)
    said = [str(w.message) for w in caught]
    # at the property's line (the BOM is written on one line here: line 1)
    assert any(m.endswith("bom.json:1: component 'helpdesk-bot': advmatrix:browses is a field of tool components, "
                          "not of an llm-app; kept as a free property") for m in said), said
    assert any("advmatrix:autonomyy is not a field of an llm-app (did you mean advmatrix:autonomy?)" in m for m in said)
    assert system.component("helpdesk-bot").properties["autonomyy"] == "autonomous"


def test_a_free_property_of_the_wrong_type_for_the_rules_is_an_error_at_its_line(cli, tmp_path):
    path = tmp_path / "pv.yaml"
    path.write_text("name: pv\ncomponents:\n  - {id: u, kind: external}\n"
                    "  - {id: clf, kind: model, task: classification, properties: {on_device: \"true\"}}\n"
                    "flows: [{from: u, to: clf}]\n")
    r = cli("threatmodel", path)
    assert r.code == 2 and r.err.strip().endswith(
        "pv.yaml:4: component 'clf': properties.on_device: the rules compare it with true or false; got 'true'")


def test_a_schema_error_and_a_mistyped_property_are_both_named_in_one_run(cli, tmp_path):
    path = tmp_path / "both.yaml"
    path.write_text("name: both\ncomponents:\n  - {id: u, kind: external}\n"
                    "  - {id: clf, kind: model, task: clasification,\n"
                    "     properties: {on_device: \"true\", owner: ml}}\n"
                    "  - {kind: model, properties: {on_device: 1}}\n")
    r = cli("threatmodel", path)
    lines = r.err.strip().splitlines()
    assert r.code == 2 and "both.yaml:4: components[1].task: must be one of" in lines[0]
    assert lines[-1].endswith("both.yaml:5: component 'clf': properties.on_device: the rules compare it with true "
                              "or false; got 'true'")
    assert "owner" not in r.err and "Traceback" not in r.err


def test_more_mistyped_properties_than_a_screen_holds_say_how_many_more(cli, tmp_path):
    comps = "".join(f"  - {{id: m{i}, kind: model, properties: {{on_device: 'yes'}}}}\n" for i in range(8))
    path = tmp_path / "many.yaml"
    path.write_text(f"name: many\ncomponents:\n{comps}")
    r = cli("threatmodel", path)
    assert r.code == 2 and r.err.strip().endswith("... and 3 more problems")
    assert r.err.count("properties.on_device") == 5


def test_a_free_property_on_a_kind_the_rules_do_not_read_it_on_warns(cli, tmp_path):
    path = tmp_path / "kinds.yaml"
    path.write_text("name: x\ncomponents:\n  - {id: app, kind: llm-app, tools: [sh]}\n"
                    "  - {id: sh, kind: tool, side_effects: code-execution, properties: {on_device: true}}\n"
                    "  - {id: m, kind: model, properties: {on_device: true, financial: true}}\n"
                    "  - {id: d, kind: dataset, properties: {on_device: true}}\n")
    r = cli("threatmodel", path, "--json")
    assert r.code == 0
    assert (f"{path}:4: component 'sh' (tool): properties.on_device is read by the rules only on dataset, llm-app, "
            "model or service components; here it changes nothing") in r.err
    assert r.err.count("changes nothing") == 1  # financial is read on any kind; m and d are read
    # a property the overlay sets is named at its line in the overlay, not in the BOM
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("components:\n  - id: extra\n    kind: dataset\n    properties: {edge: true}\n")
    r = cli("threatmodel", BOMS / "chatbot.bom.json", "--overlay", overlay, "--paths", "0")
    assert f"{overlay}:4: component 'extra' (dataset): properties.edge is read by the rules only on model" in r.err
    # written in block style, the property has a line of its own, and that is the line named
    path.write_text("name: x\ncomponents:\n  - id: s\n    kind: tool\n    side_effects: read\n    properties:\n"
                    "      on_device: true\n")
    r = cli("threatmodel", path, "--paths", "0")
    assert f"{path}:7: component 's' (tool): properties.on_device is read by the rules only on" in r.err


def test_a_free_property_that_nearly_names_one_the_rules_read_warns(cli, tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("name: x\ncomponents:\n  - {id: u, kind: external}\n"
                    "  - {id: m, kind: model, properties: {on_devise: true, egde: true, owner: ml}}\n")
    r = cli("threatmodel", path, "--json")
    assert r.code == 0
    assert "component 'm': properties.on_devise is read by no rule (did you mean on_device?)" in r.err
    # two letters swapped, which a ratio of common letters scores low in a short word
    assert "component 'm': properties.egde is read by no rule (did you mean edge?)" in r.err
    assert "owner" not in r.err


def test_a_bad_bom_property_value_names_the_propertys_line_and_a_hint_a_bom_can_follow(tmp_path):
    def mark(bom):
        bom["components"][0]["properties"].append({"name": "advmatrix:signed", "value": "yes"})
    path = _chatbot(tmp_path, mark)
    text = json.dumps(json.loads(path.read_text()), indent=2)
    path.write_text(text)
    with pytest.raises(FormatError) as exc:
        load_cyclonedx(path, validate=False)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if '"value": "yes"' in x)
    assert str(exc.value) == f"{path}:{line}: component 'tuned-llm': signed: must be \"true\" or \"false\"; got 'yes'"


def test_the_wrong_type_error_points_at_the_propertys_own_line(cli, tmp_path):
    path = tmp_path / "pv2.yaml"
    path.write_text("name: pv\ncomponents:\n  - {id: u, kind: external}\n  - id: clf\n    kind: model\n"
                    "    properties:\n      owner: ml\n      on_device: \"true\"\nflows: [{from: u, to: clf}]\n")
    r = cli("threatmodel", path)
    assert r.code == 2 and "pv2.yaml:8: component 'clf': properties.on_device:" in r.err


def _edited(tmp_path, old, new, name="bom.json"):
    """The chatbot BOM's own text with ``old`` replaced by ``new`` (once), and the line ``new`` is on."""
    text = (BOMS / "chatbot.bom.json").read_text()
    assert old in text
    text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text)
    return path, text[:text.index(new)].count("\n") + 1


@pytest.mark.parametrize(("old", "new", "says"), [
    ('"authenticated": false', '"authenticated": true, "authenticated": false', "services[0].authenticated"),
    ('"bom-ref": "tuned-llm",', '"bom-ref": "tuned-llm", "bom-ref": "other-llm",', "components[0].bom-ref"),
    ('"version": 1,', '"version": 1, "components": [], "version": 2,', "version"),
])
def test_a_json_key_given_twice_is_an_error_at_its_line(tmp_path, cli, old, new, says):
    path, line = _edited(tmp_path, old, new)
    r = cli("threatmodel", path)
    assert r.code == 2 and "Traceback" not in r.err
    assert f"{path}:{line}: {says}: key given twice in one object" in r.err


def test_a_bom_ref_given_to_a_nested_component_too_names_both_lines(tmp_path):
    inner = '"components": [{"type": "machine-learning-model", "bom-ref": "tuned-llm", "name": "inner"}],\n'
    path, line = _edited(tmp_path, '"modelCard"', inner + '      "modelCard"')
    first = (BOMS / "chatbot.bom.json").read_text().split("\n").index('      "bom-ref": "tuned-llm",') + 1
    with pytest.raises(FormatError) as exc:
        load_cyclonedx(path, validate=False)
    assert str(exc.value) == f"{path}:{line}: bom-ref 'tuned-llm' names two components (the first at line {first})"


def test_an_advmatrix_property_given_twice_is_an_error_with_two_values_a_warning_with_one(tmp_path):
    twice = '{"name": "advmatrix:artifact_format", "value": "safetensors"},\n'
    path, _ = _edited(tmp_path, twice, twice + twice.replace("safetensors", "pickle"))
    # at the second of the two, the one to keep or drop
    line = next(i for i, x in enumerate(path.read_text().split("\n"), 1) if '"value": "pickle"' in x)
    with pytest.raises(FormatError) as exc:
        load_cyclonedx(path, validate=False)
    assert str(exc.value) == (f"{path}:{line}: component 'tuned-llm': advmatrix:artifact_format is given twice, "
                              "as 'safetensors' and 'pickle'; keep the one you mean")
    path, _ = _edited(tmp_path, twice, twice + twice)
    with pytest.warns(UserWarning, match="'tuned-llm': advmatrix:artifact_format is given twice \\(both 'safetensors'"):
        assert load_cyclonedx(path, validate=False).component("tuned-llm").artifact_format == "safetensors"
    # booleans are read without case: 'true' and 'TRUE' agree
    flag = '{"name": "advmatrix:signed", "value": "true"},\n'
    path, _ = _edited(tmp_path, twice, flag + flag.replace("true", "TRUE"))
    with pytest.warns(UserWarning, match="advmatrix:signed is given twice"):
        assert load_cyclonedx(path, validate=False).component("tuned-llm").signed is True


def test_a_model_card_dataset_nothing_has_is_a_warning_as_for_a_dependency(tmp_path):
    path, _ = _edited(tmp_path, '"datasets": [{"ref": "tickets"}]', '"datasets": [{"ref": "ticket"}]')
    line = (BOMS / "chatbot.bom.json").read_text().split("\n").index('      "bom-ref": "tuned-llm",') + 1
    with pytest.warns(UserWarning) as caught:
        system = load_cyclonedx(path, validate=False)
    assert f"{path}:{line}: component 'tuned-llm': its model card names dataset 'ticket', which no component or " \
        "service has; that reference is left out" in [str(w.message) for w in caught]
    assert system.component("tickets").used_for == ()


def _with_properties(tmp_path, properties: dict[str, str]):
    """The chatbot BOM with ``properties`` added to its first component: the system and the warnings."""
    def mark(bom):
        bom["components"][0]["properties"] += [{"name": k, "value": v} for k, v in properties.items()]
    with pytest.warns(UserWarning) as caught:
        system = load_cyclonedx(_chatbot(tmp_path, mark), validate=False)
    return system, caught


def test_advmatrix_id_or_properties_warns_what_it_does_not_that_it_is_no_field(tmp_path):
    system, caught = _with_properties(tmp_path, {"advmatrix:id": "x", "advmatrix:properties": "y"})
    said = [str(w.message) for w in caught]
    assert not [m for m in said if "is a field of" in m]
    assert any(m.endswith("component 'tuned-llm': advmatrix:id does not set the id, which is the bom-ref (the name "
                          "when there is none); kept as a free property named 'id'") for m in said)
    assert any("advmatrix:properties is not needed: any advmatrix: name that is not a field is a free property "
               "already; kept as a free property named 'properties'" in m for m in said)
    assert system.component("tuned-llm").properties["id"] == "x"


def test_an_xml_bom_is_told_to_export_json(tmp_path, cli):
    path = tmp_path / "bom.xml"
    path.write_text('\n<?xml version="1.0"?>\n<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"/>\n')
    for args in ((path, "--bom"), (path,)):  # told without --bom too: the namespace says what it is
        r = cli("threatmodel", *args)
        assert r.code == 2 and r.err.strip().endswith(
            f"{path}:2: XML, not JSON: the XML form of CycloneDX is not read; export the BOM as JSON (the CycloneDX "
            "tools convert one form into the other)")


@pytest.mark.parametrize(("overlay", "near"), [
    ("components:\n  - id: helpdesk-bott\n    autonomy: autonomous\n", "helpdesk-bot"),
    ("components:\n  - id: Tuned-LLM\n    task: classification\n", "tuned-llm"),
])
def test_an_overlay_id_close_to_a_bom_id_is_an_error_without_a_kind(tmp_path, overlay, near):
    path = tmp_path / "o.yaml"
    path.write_text(overlay)
    cid = overlay.split()[3]
    with pytest.raises(FormatError) as exc:
        load_cyclonedx(BOMS / "chatbot.bom.json", path)
    assert str(exc.value) == f"{path}:2: components[0].id: '{cid}' is not in the BOM (did you mean '{near}'?)"


def test_an_overlay_id_close_to_a_bom_id_with_a_kind_is_added_with_a_warning(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text("components:\n  - id: users\n    kind: external\n  - id: helpdesk-bott\n    kind: llm-app\n")
    with pytest.warns(UserWarning) as caught:
        system = load_cyclonedx(BOMS / "chatbot.bom.json", path)
    assert [str(w.message) for w in caught if "not in the BOM" in str(w.message)] == [
        f"{path}:4: components[1].id: 'helpdesk-bott' is not in the BOM (did you mean 'helpdesk-bot'?); added as a "
        "new component"]  # 'users' is far from every BOM id: adding it is what an overlay is for
    assert system.component("helpdesk-bott").kind == "llm-app"


@pytest.mark.parametrize(("kind", "says"), [
    ("service", "component 'tuned-llm': audience: required field missing (the overlay makes the BOM's model at "
                "{bom}:{line} a service)"),
    ("adversary", "flow tickets -> tuned-llm: to: 'tuned-llm' is an adversary, which takes no flows: say what it can "
                  "reach with its 'access' (the flow is the BOM's; the overlay makes the BOM's model at {bom}:{line} "
                  "an adversary)"),
])
def test_errors_an_overlays_new_kind_causes_name_the_overlay_line_and_the_bom_line(tmp_path, kind, says):
    path = tmp_path / "o.yaml"
    path.write_text(f"components:\n  - id: tuned-llm\n    kind: {kind}\n")
    bom = BOMS / "chatbot.bom.json"
    line = bom.read_text().split("\n").index('      "bom-ref": "tuned-llm",') + 1
    with pytest.raises(FormatError) as exc:
        load_cyclonedx(bom, path)
    assert f"{path}:3: {says.format(bom=bom, line=line)}" in str(exc.value).splitlines()


def test_a_property_in_the_wrong_case_of_the_namespace_or_with_no_field_name_warns(tmp_path):
    system, caught = _with_properties(tmp_path, {"ADVMATRIX:audience": "public", "advmatrix:": "x"})
    said = [str(w.message).split(": ", 1)[1] for w in caught]
    assert "component 'tuned-llm': property 'ADVMATRIX:audience' is not read; the namespace is 'advmatrix:' (did " \
        "you mean advmatrix:audience?)" in said
    assert "component 'tuned-llm': property 'advmatrix:' names no field after 'advmatrix:'; not read" in said
    assert "" not in system.component("tuned-llm").properties


def test_an_overlay_giving_a_component_a_kind_makes_its_bom_properties_fields_of_that_kind(tmp_path):
    def mailer(bom):
        bom["components"].append({"type": "application", "bom-ref": "mailer", "name": "mailer", "properties": [
            {"name": "advmatrix:sends_only", "value": "true"},
            {"name": "advmatrix:side_effects", "value": "external-communication"}]})
    overlay = tmp_path / "o.yaml"
    overlay.write_text("components:\n  - {id: helpdesk-bot, kind: llm-app, tools: [mailer]}\n"
                       "  - {id: mailer, kind: tool}\n")
    with pytest.warns(UserWarning):  # the BOM alone makes it a service, where these are no fields
        system = load_cyclonedx(_chatbot(tmp_path, mailer), overlay, validate=False)
    tool = system.component("mailer")
    assert tool.kind == "tool" and tool.sends_only is True and tool.side_effects == "external-communication"
    assert "sends_only" not in tool.properties


def test_a_model_card_task_advmatrix_does_not_read_is_warned_not_silently_other(tmp_path):
    bom = json.loads((BOMS / "chatbot.bom.json").read_text())
    cards = [c for c in bom["components"] if c.get("modelCard", {}).get("modelParameters", {}).get("task")]
    cards[0]["modelCard"]["modelParameters"]["task"] = "text-generaton"
    path = tmp_path / "typo.bom.json"
    path.write_text(json.dumps(bom))
    with pytest.warns(UserWarning, match="model card task 'text-generaton' is none advmatrix reads"):
        system = load_cyclonedx(path)
    assert system.component(cards[0]["bom-ref"]).get("task") == "other"


def test_an_overlay_field_written_with_no_value_is_not_stated(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("components:\n  - {id: tuned-llm, signed: ~, fine_tuned: ~}\n")
    model = load_cyclonedx(BOMS / "chatbot.bom.json", overlay).component("tuned-llm")
    assert model.signed is False


def test_an_overlay_name_with_no_value_is_not_stated_and_a_number_id_is_told_to_be_quoted(tmp_path):
    blank = tmp_path / "blank.yaml"
    blank.write_text("name:\ncomponents: []\n")
    assert load_cyclonedx(BOMS / "chatbot.bom.json", blank).name == load_cyclonedx(BOMS / "chatbot.bom.json").name
    number = tmp_path / "number.yaml"
    number.write_text("components:\n  - id: 123\n    kind: external\n")
    with pytest.raises(FormatError, match=r"number\.yaml:2: .*YAML read this as 123: put it in quotes"):
        load_cyclonedx(BOMS / "chatbot.bom.json", number)


def test_a_lone_surrogate_or_a_huge_number_in_a_bom_is_named_at_its_line(tmp_path, cli):
    text = json.dumps(json.loads((BOMS / "chatbot.bom.json").read_text()), indent=2)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if '"helpdesk-bot"' in x)
    path = tmp_path / "s.json"
    path.write_text(text.replace('"helpdesk-bot"', '"help\\ud800desk"', 1))
    r = cli("threatmodel", path)
    assert r.code == 2 and f"s.json:{line}: " in r.err and "unpaired surrogate" in r.err, r.err
    path.write_text(text.replace('"specVersion": "1.6"', '"specVersion": "1.6",\n  "n": 1' + "0" * 5000, 1))
    r = cli("threatmodel", path)
    assert r.code == 2 and "s.json:4: not readable JSON" in r.err, r.err


def test_schema_errors_and_a_mistyped_property_past_the_cap_are_counted_last(cli, tmp_path):
    # five schema errors fill the screen; the property's problem is counted, not printed after the count
    comps = "".join(f"  - {{id: s{i}, kind: service, audience: everyone{i}}}\n" for i in range(7))
    path = tmp_path / "capped.yaml"
    path.write_text(f"name: x\ncomponents:\n{comps}  - {{id: m, kind: model, properties: {{on_device: maybe}}}}\n")
    r = cli("threatmodel", path)
    lines = r.err.strip().splitlines()
    assert r.code == 2 and lines[-1].endswith("... and 3 more problems"), lines
    assert sum("audience" in line for line in lines) == 5


def test_a_missing_overlay_is_named_before_anything_about_the_file_it_completes(cli, tmp_path):
    system = Path(__file__).parents[2] / "examples" / "systems" / "fraud-model.yaml"
    r = cli("threatmodel", system, "--overlay", tmp_path / "nope.yaml")
    assert r.code == 2 and r.err.strip().endswith("nope.yaml: no such file"), r.err
