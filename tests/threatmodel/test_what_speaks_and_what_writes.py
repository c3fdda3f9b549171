"""A model that speaks text aloud follows no instructions to argue with; what an app writes copies itself on
only where someone reads it; a token is an outside party's to issue. (Blind audit G: a text-to-speech API,
a brokerage's trading assistant.)"""

from __future__ import annotations

import pytest

from advmatrix.threatmodel import System
from advmatrix.threatmodel.predict import predict


def system(components, flows=()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


def found(s: System, component: str) -> set[str]:
    return {f.technique_id for f in predict(s).findings if f.component == component}


def speaker(outputs) -> System:
    """A public API straight to a generator that reads text: a speech synthesiser, or a chat model."""
    return system([{"id": "internet", "kind": "external", "actor": "internet"},
                   {"id": "api", "kind": "service", "audience": "public", "authentication": "api-key",
                    "returns": "audio" if outputs == ["audio"] else "text"},
                   {"id": "gen", "kind": "model", "task": "generation", "modality": "text", "trained_by": "us",
                    **({"outputs": outputs} if outputs is not None else {})}],
                  [{"from": "internet", "to": "api"}, {"from": "api", "to": "gen"}, {"from": "gen", "to": "api"},
                   {"from": "api", "to": "internet"}])


@pytest.mark.parametrize(("outputs", "argued_with"), [
    (["audio"], False), (["text"], True), (None, True),
    (["image"], True),  # a diffusion model's safety tuning can be argued away, its prompt crafted
    (["text", "audio"], True)])  # a speech-in, speech-out assistant is an LLM that also speaks
def test_a_speech_synthesiser_has_no_instructions_to_jailbreak_nor_a_prompt_to_craft(outputs, argued_with):
    got = found(speaker(outputs), "gen")
    prompt = {"AML.T0054", "AML.T0065"}
    assert (prompt <= got) if argued_with else not prompt & got, prompt & got
    if outputs == ["audio"]:
        assert "AML.T0088" in got  # a voice good enough to pass as a real person's stays its finding


def trader(readers) -> System:
    return system([{"id": "customer", "kind": "external", "actor": "user"},
                   {"id": "chat", "kind": "service", "audience": "public", "authentication": "oauth",
                    "returns": "text"},
                   {"id": "assistant", "kind": "llm-app", "system_prompt": True, "memory": "session",
                    "tools": ["place-trade"]},
                   {"id": "place-trade", "kind": "tool", "side_effects": "write", "source": "first-party",
                    "sends_only": True, **({"readers": readers} if readers else {})}],
                  [{"from": "customer", "to": "chat"}, {"from": "chat", "to": "assistant"},
                   {"from": "assistant", "to": "chat"}, {"from": "chat", "to": "customer"}])


@pytest.mark.parametrize(("readers", "replicates"), [("none", False), ("public", True), (None, True)])
def test_a_prompt_copies_itself_onwards_only_through_what_someone_reads(readers, replicates):
    # an order API no person or model reads carries no prompt to its next victim
    assert ("AML.T0061" in found(trader(readers), "assistant")) is replicates


@pytest.mark.parametrize(("tool", "token"), [({"source": "first-party"}, False), ({"source": "vendor"}, True),
                                             ({"source": "mcp"}, True), ({"hosted": True}, True)])
def test_an_app_holds_access_tokens_for_the_outside_services_its_tools_call(tool, token):
    s = system([{"id": "customer", "kind": "external", "actor": "user"},
                {"id": "chat", "kind": "service", "audience": "internal", "authentication": "mtls", "returns": "text"},
                {"id": "assistant", "kind": "llm-app", "system_prompt": True, "tools": ["act"]},
                {"id": "act", "kind": "tool", "side_effects": "write", **tool}],
               [{"from": "customer", "to": "chat"}, {"from": "chat", "to": "assistant"}])
    assert ("AML.T0091.000" in found(s, "assistant")) is token


def scorer(returns) -> System:
    """A lender's credit model that partner brokers query; it answers with a score, or with attributions."""
    return system([{"id": "brokers", "kind": "external", "actor": "partner"},
                   {"id": "api", "kind": "service", "audience": "partner", "authentication": "api-key",
                    "returns": returns},
                   {"id": "credit", "kind": "model", "task": "classification", "modality": "tabular",
                    "trained_by": "us"}],
                  [{"from": "brokers", "to": "api"}, {"from": "api", "to": "credit"}, {"from": "credit", "to": "api"},
                   {"from": "api", "to": "brokers"}])


def test_explanations_show_callers_what_moves_a_decision_and_what_the_model_reads():
    # audit K: returns: explanations read exactly as returns: scores
    explained = {f.technique_id: f.reasons for f in predict(scorer("explanations")).findings
                 if f.component == "credit"}
    scored = {f.technique_id: f.reasons for f in predict(scorer("scores")).findings if f.component == "credit"}
    for technique, words in (("AML.T0063", "attributions"), ("AML.T0013", "features it weighs"),
                             ("AML.T0043.003", "which input to change")):
        assert any(words in r for r in explained[technique]), explained.get(technique)
        assert not any(words in r for r in scored.get(technique, ()))


@pytest.mark.parametrize(("where", "on_our_servers"), [({}, True), ({"edge": True}, False),
                                                       ({"on_device": True}, False)])
def test_weights_in_hardware_we_put_in_the_field_are_taken_from_it_not_from_our_servers(where, on_our_servers):
    s = system([{"id": "m", "kind": "model", "task": "detection", "modality": "image", "trained_by": "us",
                 "artifact_format": "onnx", "properties": where}])
    got = found(s, "m")
    assert ({"AML.T0025", "AML.T0007"} <= got) is on_our_servers, got
    assert on_our_servers or not {"AML.T0025", "AML.T0007"} & got


def test_weights_we_publish_are_downloaded_not_stolen():
    # audit M: a code model whose fine-tuned weights are on a public hub got theft from our servers, likely
    def model(published):
        return system([{"id": "m", "kind": "model", "task": "generation", "modality": "text", "trained_by": "us",
                        "artifact_format": "safetensors", "properties": {"published": published}}])
    assert {"AML.T0025", "AML.T0007", "AML.T0035"} <= found(model(False), "m")
    assert not {"AML.T0025", "AML.T0007", "AML.T0035"} & found(model(True), "m")
    assert "AML.T0044" in found(model(True), "m")  # full access is anyone's
