"""predict(): techniques per component, reasons, mitigations in place or missing, the examples."""

from __future__ import annotations

import textwrap
from pathlib import Path

from advmatrix.kb import bundled
from advmatrix.threatmodel import System, load_system
from advmatrix.threatmodel.predict import predict
from advmatrix.threatmodel.rules import load_rules

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
    linked = {m.id for m, _ in bundled().mitigations_of("AML.T0024.002")}
    advice = {a.id: a for a in f.mitigations}
    assert set(advice) == linked
    assert advice["AML.M0004"].component == "api" and advice["AML.M0004"].stage == "Monitoring and Maintenance"
    assert advice["AML.M0004"].in_place and advice["AML.M0004"].in_place_at == "api"
    assert not advice["AML.M0002"].in_place and advice["AML.M0002"].component == "m"
    assert {a.id for a in f.missing} == linked - {"AML.M0004"}


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
