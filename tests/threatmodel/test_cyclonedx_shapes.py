"""ML-BOM shapes CycloneDX allows that the importer must read, not drop: nested services, BOM-Links
into the same BOM, data sets a model card describes in place, several pedigree ancestors, a model
supplied by the BOM's own organisation, and flows to parties only the overlay describes."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

from advmatrix.errors import FormatError
from advmatrix.threatmodel import load_cyclonedx, predict

BOMS = Path(__file__).parents[2] / "examples" / "boms"
SERIAL = "3e671687-395b-41f5-a30f-a58921a69b79"


def chatbot(tmp_path, change) -> Path:
    bom = json.loads((BOMS / "chatbot.bom.json").read_text())
    change(bom)
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(bom))
    return path


def quietly(*args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        system = load_cyclonedx(*args, validate=False)
    return system, [str(w.message) for w in caught]


def flows(system):
    return {(f.source, f.target) for f in system.flows}


def test_a_service_nested_in_another_is_read_with_its_flows(tmp_path):
    def nest(bom):
        inner = {"bom-ref": "admin-api", "name": "admin API", "x-trust-boundary": True,
                 "data": [{"flow": "inbound", "classification": "prompts", "source": ["helpdesk-bot"],
                           "destination": ["helpdesk-bot"]}]}
        bom["services"][0]["services"] = [inner]
    system, said = quietly(chatbot(tmp_path, nest))
    api = system.component("admin-api")
    assert (api.kind, api.audience) == ("service", "public")
    assert {("helpdesk-bot", "admin-api"), ("admin-api", "helpdesk-bot")} <= flows(system)
    assert not said


def test_a_bom_link_into_this_bom_names_the_component_it_points_at(tmp_path):
    def link(bom):
        bom["serialNumber"] = f"urn:uuid:{SERIAL}"
        bom["dependencies"][1]["dependsOn"] = [f"urn:cdx:{SERIAL}/1#tickets"]
        bom["services"][0]["data"][0]["source"] = [f"urn:cdx:{SERIAL}/1#helpdesk-bot"]
    system, said = quietly(chatbot(tmp_path, link))
    assert {("tickets", "tuned-llm"), ("helpdesk-bot", "chat-api")} <= flows(system)
    assert not said
    other = "urn:cdx:00000000-0000-0000-0000-000000000000/1#tickets"  # another BOM's: not ours to read
    def elsewhere(bom):
        bom["dependencies"][1]["dependsOn"] = [other]
        bom["components"][0]["modelCard"]["modelParameters"]["datasets"] = []  # the card would draw it too
    system, said = quietly(chatbot(tmp_path, elsewhere))
    assert ("tickets", "tuned-llm") not in flows(system) and any(other in m for m in said)


def test_a_data_set_the_model_card_describes_in_place_becomes_a_component(tmp_path):
    def inline(bom):
        bom["components"][0]["modelCard"]["modelParameters"]["datasets"].append(
            {"type": "dataset", "name": "Scraped forum posts", "classification": "confidential"})
    system, _ = quietly(chatbot(tmp_path, inline))
    data = system.component("Scraped-forum-posts")
    assert (data.kind, data.used_for, data.sensitive) == ("dataset", ("training",), True)
    assert ("Scraped-forum-posts", "tuned-llm") in flows(system)


@pytest.mark.parametrize(("formats", "outputs"), [
    (["string"], ("text",)), (["image/png", "text/plain"], ("image", "text")), ([], None)])
def test_what_the_model_card_says_a_model_produces_becomes_its_outputs(tmp_path, formats, outputs):
    def produce(bom):
        bom["components"][0]["modelCard"]["modelParameters"]["outputs"] = [{"format": f} for f in formats]
    system, _ = quietly(chatbot(tmp_path, produce))
    assert system.component("tuned-llm").outputs == outputs


@pytest.mark.parametrize("order", [1, -1])
def test_a_hub_ancestor_is_the_base_model_wherever_the_pedigree_lists_it(tmp_path, order):
    def ancestors(bom):
        hub = bom["components"][0]["pedigree"]["ancestors"][0]
        mine = {"type": "machine-learning-model", "name": "helpdesk-llm-v1"}
        bom["components"][0]["pedigree"]["ancestors"] = [mine, hub][::order]
    llm = quietly(chatbot(tmp_path, ancestors))[0].component("tuned-llm")
    assert (llm.base_model, llm.source, llm.trained_by) == ("Mistral-7B-v0.1", "huggingface", "open-source")


@pytest.mark.parametrize(("maker", "trained_by"), [("Acme", "us"), ("acme ", "us"), ("Other Corp", "vendor")])
def test_a_model_our_own_organisation_supplies_is_ours_and_the_guess_is_listed(tmp_path, maker, trained_by):
    def supplied(bom):
        bom["metadata"]["supplier"] = {"name": "Acme"}
        del bom["components"][0]["pedigree"]
        bom["components"][0]["supplier"] = {"name": maker}
    llm = quietly(chatbot(tmp_path, supplied))[0].component("tuned-llm")
    assert llm.trained_by == trained_by and "trained_by" in llm.properties["assumed"]


def test_bom_flows_to_a_party_only_the_overlay_describes_are_kept(tmp_path):
    def partner(bom):
        bom["services"][0]["data"].append({"flow": "inbound", "classification": "referrals",
                                           "source": ["broker"], "destination": ["nobody"]})
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("components:\n  - {id: broker, kind: external, actor: partner}\n")
    system, said = quietly(chatbot(tmp_path, partner), overlay)
    assert ("broker", "chat-api") in flows(system)
    assert said == [f"{tmp_path / 'bom.json'}:1: dependencies or data flows name 'nobody', which no component or "
                    f"service has; those flows are left out (nor does {overlay})"]
    alone, said = quietly(chatbot(tmp_path, partner))
    assert ("broker", "chat-api") not in flows(alone) and "'broker', 'nobody'" in said[0]


def test_two_components_named_alike_without_bom_refs_are_told_to_get_one(tmp_path):
    from advmatrix.errors import FormatError

    def twins(bom):
        for name in ("scorer", "scorer"):
            bom["components"].append({"type": "machine-learning-model", "name": name})
    with pytest.raises(FormatError) as info:
        quietly(chatbot(tmp_path, twins))
    assert str(info.value) == (f"{tmp_path / 'bom.json'}: two components without a bom-ref have the name 'scorer', "
                               "which is their id; give each a bom-ref")


def test_inline_data_sets_without_a_name_twice_or_under_the_models_ref_are_not_lost(tmp_path):
    from advmatrix.errors import FormatError

    def cards(datasets):
        def change(bom):
            bom["components"][0]["modelCard"]["modelParameters"]["datasets"] = datasets
        return change
    nameless = quietly(chatbot(tmp_path, cards([{"type": "dataset", "classification": "confidential",
                                                 "contents": {"url": "https://example.com/x"}}])))[0]
    data = nameless.component("tuned-llm-dataset-1")
    assert data.sensitive and ("tuned-llm-dataset-1", "tuned-llm") in flows(nameless)
    twice = quietly(chatbot(tmp_path, cards([{"type": "dataset", "name": "x"},
                                             {"type": "dataset", "name": "x", "classification": "secret"}])))[0]
    assert twice.component("x").sensitive
    with pytest.raises(FormatError, match="a data set with bom-ref .tuned-llm., which is the model"):
        quietly(chatbot(tmp_path, cards([{"type": "dataset", "bom-ref": "tuned-llm", "name": "x"}])))


def test_a_long_bom_is_checked_against_the_schema_in_parts_and_errors_point_into_the_whole(tmp_path, monkeypatch):
    from advmatrix.errors import FormatError
    from advmatrix.threatmodel import _bomcheck

    monkeypatch.setattr(_bomcheck, "SCHEMA_PART", 5)

    def grow(bom):
        bom["components"] += [{"type": "data", "bom-ref": f"d{i}", "name": f"d{i}"} for i in range(10)]
    assert load_cyclonedx(chatbot(tmp_path, grow)).component("d9").kind == "dataset"

    def spoil(bom):
        grow(bom)
        bom["components"][12]["colour"] = "red"
    with pytest.raises(FormatError, match=r"does not follow the CycloneDX 1\.6 schema at components/12: .*'colour'"):
        load_cyclonedx(chatbot(tmp_path, spoil))


def test_a_data_set_the_model_card_references_flows_into_the_model_dependencies_or_not(tmp_path):
    def no_dependency(bom):
        bom["dependencies"][1]["dependsOn"] = []
    system, said = quietly(chatbot(tmp_path, no_dependency))
    assert ("tickets", "tuned-llm") in flows(system) and not said

    def card_names_a_service(bom):
        bom["components"][0]["modelCard"]["modelParameters"]["datasets"] = [{"ref": "chat-api"}]
    system, said = quietly(chatbot(tmp_path, card_names_a_service))
    assert ("chat-api", "tuned-llm") not in flows(system)
    assert any("names 'chat-api' as a data set, but it is a service" in m for m in said)


def test_an_inline_data_set_never_merges_into_another_component(tmp_path):
    def cards(datasets):
        def change(bom):
            bom["components"][0]["modelCard"]["modelParameters"]["datasets"] = datasets
        return change
    # named like the service, or like each other by punctuation alone: each stays a data set of its own
    system, _ = quietly(chatbot(tmp_path, cards([{"type": "dataset", "name": "chat-api"},
                                                 {"type": "dataset", "name": "!!!", "classification": "public"},
                                                 {"type": "dataset", "name": "???", "classification": "secret"}])))
    assert system.component("chat-api").kind == "service"
    made = [c for c in system.components if c.kind == "dataset" and c.id != "tickets"]
    assert sorted(c.id for c in made) == ["chat-api-inline", "tuned-llm-dataset-2", "tuned-llm-dataset-3"]
    assert all((c.id, "tuned-llm") in flows(system) for c in made)
    # the same data set in the card twice, by its own bom-ref, is one data set
    twice, _ = quietly(chatbot(tmp_path, cards([{"type": "dataset", "bom-ref": "logs", "name": "logs"}] * 2)))
    assert [c.id for c in twice.components if c.kind == "dataset" and c.id != "tickets"] == ["logs"]
    # a bom-ref another component has would make the data set that component
    with pytest.raises(FormatError, match="data set with bom-ref 'tickets', which another component has"):
        quietly(chatbot(tmp_path, cards([{"type": "dataset", "bom-ref": "tickets", "name": "other"}])))


@pytest.mark.parametrize(("task", "ours", "modality", "outputs"), [
    ("text-to-image", "generation", "text", ("image",)), ("image-text-to-text", "generation", "multimodal", ("text",)),
    ("text-to-speech", "generation", "text", ("audio",)),
    ("automatic-speech-recognition", "speech-recognition", "audio", None),
    ("document-ocr", "text-recognition", "image", None)])
def test_a_hugging_face_x_to_y_task_reads_x_and_makes_y(tmp_path, task, ours, modality, outputs):
    def card(bom):
        params = bom["components"][0]["modelCard"]["modelParameters"]
        params["task"] = task
        params.pop("inputs", None)
        params.pop("outputs", None)
        if ours == "text-recognition":
            params["inputs"] = [{"format": "image"}]
    system, _ = quietly(chatbot(tmp_path, card))
    model = system.component("tuned-llm")
    assert (model.task, model.modality, model.outputs) == (ours, modality, outputs)


def test_another_companys_api_we_call_is_no_public_entry_and_every_audience_read_is_assumed(tmp_path):
    def vendor(bom):
        bom["metadata"]["manufacturer"] = {"name": "Example Help Ltd"}
        bom["services"].append({"bom-ref": "vendor-llm-api", "name": "vendor chat completions",
                                "provider": {"name": "Some Model Vendor"}, "x-trust-boundary": True,
                                "data": [{"flow": "outbound", "classification": "prompts",
                                          "source": ["helpdesk-bot"], "destination": ["helpdesk-bot"]}]})
    system, said = quietly(chatbot(tmp_path, vendor))
    assert not said
    api, ours = system.component("vendor-llm-api"), system.component("chat-api")
    assert api.audience == "internal" and "audience" in api.properties["assumed"]
    assert ours.audience == "public" and "audience" in ours.properties["assumed"]
    # the way in is our own chat API, not the vendor's endpoint
    found = {f.technique_id for f in predict(system).findings if f.component == "vendor-llm-api"}
    assert "AML.T0049" not in found


def test_a_dependency_on_a_service_that_lists_its_data_flows_adds_none_against_them(tmp_path):
    def collector(bom):
        bom["services"].append({"bom-ref": "events", "name": "event collector",
                                "data": [{"flow": "inbound", "classification": "clicks", "source": ["helpdesk-bot"],
                                          "destination": ["tickets"]}]})
        bom["dependencies"].append({"ref": "tuned-llm", "dependsOn": ["events"]})
    system, said = quietly(chatbot(tmp_path, collector))
    assert {("helpdesk-bot", "events"), ("events", "tickets")} <= flows(system)
    assert not {("events", "tuned-llm"), ("tuned-llm", "events")} & flows(system)


@pytest.mark.parametrize(("fmt", "modality", "warned"), [
    ("application/x-parquet", "tabular", False), ("text/csv", "tabular", False), ("image/png", "image", False),
    ("application/x-msdownload", None, True)])
def test_a_model_cards_input_format_is_read_or_said_to_be_unread(tmp_path, fmt, modality, warned):
    def card(bom):
        params = bom["components"][0]["modelCard"]["modelParameters"]
        params["task"] = "classification"
        params["inputs"] = [{"format": fmt}]
    system, said = quietly(chatbot(tmp_path, card))
    assert system.component("tuned-llm").modality == modality
    assert any(f"input format {fmt} is none advmatrix reads" in w for w in said) is warned, said


def test_an_unread_input_format_is_said_even_when_the_task_gives_the_modality(tmp_path):
    def card(bom):
        params = bom["components"][0]["modelCard"]["modelParameters"]
        params["task"] = "text-generation"
        params["inputs"] = [{"format": "application/x-weird"}]
    system, said = quietly(chatbot(tmp_path, card))
    assert system.component("tuned-llm").modality == "text"
    assert any("input format application/x-weird is none advmatrix reads" in w
               and "modality read from the task (text)" in w for w in said), said



def lines_of(path, needle):
    """Indent the BOM at ``path`` one key per line, as exporters write it; the line holding ``needle``."""
    path.write_text(json.dumps(json.loads(path.read_text()), indent=2))
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_a_schema_violation_names_the_line_of_the_field_at_fault(tmp_path):
    pytest.importorskip("cyclonedx")

    def spoil(bom):
        bom["components"].append({"type": "data", "bom-ref": "d", "name": "d",
                                  "data": [{"type": "dataset", "name": "x", "sensitiveData": "yes"}]})
    path = chatbot(tmp_path, spoil)
    wanted = lines_of(path, '"sensitiveData"')
    with pytest.raises(FormatError) as info:
        load_cyclonedx(path)
    assert str(info.value).startswith(f"{path}:{wanted}: does not follow the CycloneDX 1.6 schema at components/")
    assert str(info.value).endswith("/data/0/sensitiveData: 'yes' is not of type 'array'")


def test_an_unknown_key_is_named_at_its_own_line_in_the_whole_of_a_bom_checked_in_parts(tmp_path, monkeypatch):
    pytest.importorskip("cyclonedx")
    from advmatrix.threatmodel import _bomcheck

    monkeypatch.setattr(_bomcheck, "SCHEMA_PART", 5)

    def spoil(bom):
        bom["components"] += [{"type": "data", "bom-ref": f"d{i}", "name": f"d{i}"} for i in range(10)]
        bom["components"][12]["colour"] = "red"
    path = chatbot(tmp_path, spoil)
    wanted = lines_of(path, '"colour"')
    with pytest.raises(FormatError) as info:
        load_cyclonedx(path)
    assert str(info.value).startswith(f"{path}:{wanted}: does not follow the CycloneDX 1.6 schema at components/12: ")


def test_a_base_models_namespace_stays_part_of_its_name(tmp_path):
    def namespaced(bom):
        bom["components"][0]["pedigree"]["ancestors"][0]["group"] = "mistralai"
    llm = quietly(chatbot(tmp_path, namespaced))[0].component("tuned-llm")
    assert llm.base_model == "mistralai/Mistral-7B-v0.1"


def test_a_bad_value_an_advmatrix_property_sets_is_named_at_the_propertys_line(tmp_path):
    def spoil(bom):
        bom["components"][0].setdefault("properties", []).append(
            {"name": "advmatrix:fine_tuned", "value": "perhaps"})
    path = chatbot(tmp_path, spoil)
    wanted = lines_of(path, '"perhaps"')
    with pytest.raises(FormatError) as info:
        load_cyclonedx(path)
    assert str(info.value).startswith(f"{path}:{wanted}: component 'tuned-llm': fine_tuned: "), str(info.value)


def test_free_properties_and_kinds_set_in_a_bom_are_named_at_their_own_lines(tmp_path, cli):
    def typo(bom):
        bom["components"][0]["properties"].append({"name": "advmatrix:on_devce", "value": "true"})
    path = chatbot(tmp_path, typo)
    wanted = lines_of(path, '"advmatrix:on_devce"') + 1  # its value's line
    r = cli("threatmodel", path, "--paths", "0")
    assert f"{path}:{wanted}: component 'tuned-llm': properties.on_devce is read by no rule" in r.err

    def wrong(bom):
        bom["components"][0]["properties"].append({"name": "advmatrix:on_device", "value": "yes"})
    path = chatbot(tmp_path, wrong)
    wanted = lines_of(path, '"yes"')
    r = cli("threatmodel", path, "--paths", "0")
    assert r.code == 2 and r.err.startswith(f"advmatrix: error: {path}:{wanted}: component 'tuned-llm': "
                                            "properties.on_device"), r.err

    def kind(bom):
        bom["components"][0]["properties"].append({"name": "advmatrix:kind", "value": "modle"})
    path = chatbot(tmp_path, kind)
    wanted = lines_of(path, '"modle"')
    with pytest.raises(FormatError, match=rf"^{re.escape(str(path))}:{wanted}: component 'tuned-llm': advmatrix:kind"):
        load_cyclonedx(path, validate=False)


def test_a_bom_ref_two_library_components_share_is_refused_as_a_models_would_be(tmp_path):
    def libraries(bom):
        bom["components"] += [{"type": "library", "bom-ref": "libA", "name": "a"},
                              {"type": "library", "bom-ref": "libA", "name": "b"}]
    with pytest.raises(FormatError, match=r"bom-ref 'libA' names two components"):
        load_cyclonedx(chatbot(tmp_path, libraries), validate=False)


def test_warnings_about_a_boms_properties_and_model_card_name_their_lines(tmp_path):
    def mark(bom):
        tickets = next(c for c in bom["components"] if c.get("bom-ref") == "tickets")
        tickets["properties"].append({"name": "advmatrix:writer", "value": "public"})
        bom["components"][0]["modelCard"]["modelParameters"]["inputs"] = [{"format": "foo/bar"}]
    path = chatbot(tmp_path, mark)
    prop = lines_of(path, '"advmatrix:writer"') + 1
    comp = lines_of(path, '"bom-ref": "tuned-llm"')
    with pytest.warns(UserWarning) as caught:
        load_cyclonedx(path, validate=False)
    said = [str(w.message) for w in caught]
    assert any(m.startswith(f"{path}:{prop}: component 'tickets': advmatrix:writer") for m in said), said
    assert any(m.startswith(f"{path}:{comp}: component 'tuned-llm': model card input format foo/bar") for m in said), \
        said


def test_a_dependency_given_twice_is_named_at_the_second(tmp_path):
    pytest.importorskip("cyclonedx")

    def twice(bom):
        bom["dependencies"].append(dict(bom["dependencies"][0]))
    path = chatbot(tmp_path, twice)
    path.write_text(json.dumps(json.loads(path.read_text()), indent=2))
    text = path.read_text().splitlines()
    first = next(i for i, x in enumerate(text, 1) if '"dependencies"' in x)
    # each dependency opens with a line '{' of its own; the copy is the last of them
    opening = [i for i, x in enumerate(text, 1) if i > first and x.strip() == "{"]
    second = opening[len(json.loads("\n".join(text))["dependencies"]) - 1]
    with pytest.raises(FormatError, match=rf":{second}: does not follow the CycloneDX 1\.6 schema at dependencies"):
        load_cyclonedx(path)


def test_a_dependency_naming_nothing_is_warned_about_at_its_line(tmp_path):
    def ghost(bom):
        bom["dependencies"][0]["dependsOn"].append("ghost")
    path = chatbot(tmp_path, ghost)
    wanted = lines_of(path, '"ghost"')
    with pytest.warns(UserWarning, match=rf"bom\.json:{wanted}: dependencies or data flows name 'ghost'"):
        load_cyclonedx(path, validate=False)


def test_a_data_set_two_model_cards_reference_flows_into_both_models(tmp_path):
    def second_model(bom):
        twin = json.loads(json.dumps(bom["components"][0]))
        twin["bom-ref"], twin["name"] = "tuned-llm-2", "second model"
        bom["components"].append(twin)
    system, said = quietly(chatbot(tmp_path, second_model))
    assert {("tickets", "tuned-llm"), ("tickets", "tuned-llm-2")} <= flows(system)
    assert not said


def test_a_service_whose_data_says_it_only_receives_does_not_call_the_model_it_depends_on(tmp_path):
    # a matcher that receives a model's reads (data[] inbound from it) and depends on it sends it no queries
    def matcher(bom):
        bom["services"].append({"bom-ref": "matcher", "name": "hotlist matcher",
                                "data": [{"flow": "inbound", "classification": "reads", "source": ["tuned-llm"]}]})
        bom["dependencies"].append({"ref": "matcher", "dependsOn": ["tuned-llm"]})
    system, said = quietly(chatbot(tmp_path, matcher))
    assert ("tuned-llm", "matcher") in flows(system)
    assert ("matcher", "tuned-llm") not in flows(system)
    # a service that lists no data[] still calls what it depends on, as before
    assert ("helpdesk-bot", "tuned-llm") in flows(system)


def test_a_flow_from_a_device_the_bom_lists_is_kept_when_the_overlay_adds_it(tmp_path):
    # CycloneDX has 'device' components (a CT scanner) the import leaves out; the overlay draws the scanner
    def scanner(bom):
        bom["components"].append({"type": "device", "bom-ref": "ct-scanner", "name": "CT scanner"})
        bom["services"][0]["data"].append({"flow": "inbound", "classification": "scans", "source": ["ct-scanner"]})
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("components:\n  - {id: ct-scanner, kind: external, actor: other}\n")
    path = chatbot(tmp_path, scanner)
    system, said = quietly(path, overlay)
    assert ("ct-scanner", "chat-api") in flows(system)
    assert not [m for m in said if "ct-scanner" in m]
    # without the overlay it is left out quietly, as a library dependency is
    system, said = quietly(path)
    assert "ct-scanner" not in {c.id for c in system.components} and not [m for m in said if "ct-scanner" in m]
