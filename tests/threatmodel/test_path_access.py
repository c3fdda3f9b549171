"""Which steps of an attack path an adversary's access opens: a way to send inputs must reach the model at
that step, and command and control through an AI service takes code already running on our machines."""

from __future__ import annotations

import pytest

from advmatrix.threatmodel.paths import walker


def walks(text: str, adversary: str):
    """The prediction for the system ``text`` describes, and the walker of the paths ``adversary`` can take."""
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel.predict import predict

    s = load_system_text(text)
    p = predict(s)
    return p, walker(s, p, adversary=s.component(adversary))


@pytest.mark.parametrize(("access", "open_to_them"), [(["account"], False), (["network"], True)])
def test_command_and_control_through_an_ai_api_needs_a_foothold_first(access, open_to_them):
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel.predict import predict

    s = load_system_text("name: t\ncomponents:\n  - {id: staff, kind: external, actor: user}\n"
                         "  - {id: ui, kind: service, audience: internal, authentication: oauth, returns: text}\n"
                         "  - {id: app, kind: llm-app}\n"
                         "  - {id: llm, kind: model, task: generation, modality: text, trained_by: vendor, "
                         "source: vendor-api, artifact_format: hosted}\n"
                         f"  - {{id: mole, kind: adversary, actor: insider, goals: [steal-data], access: {access}}}\n"
                         "flows: [{from: staff, to: ui}, {from: ui, to: app}, {from: app, to: llm},"
                         " {from: llm, to: app}, {from: app, to: ui}]\n")
    p = predict(s)
    assert "AML.T0096" in p.technique_ids
    assert (walker(s, p, adversary=s.component("mole"))(("AML.T0096",)) is not None) is open_to_them


def test_a_query_that_lands_in_a_models_training_set_is_no_way_to_query_the_model():
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel.predict import predict

    s = load_system_text("name: t\ncomponents:\n  - {id: web, kind: external, actor: internet}\n"
                         "  - {id: analysts, kind: external, actor: user}\n"
                         "  - {id: scorer, kind: service, audience: internal, authentication: mtls, returns: scores}\n"
                         "  - {id: clf, kind: model, task: classification, modality: text, trained_by: us}\n"
                         "  - {id: headlines, kind: dataset, source: scraped, writers: internal,"
                         " used_for: [training]}\n"
                         "  - {id: outsider, kind: adversary, actor: criminal, goals: [evade], access: [query]}\n"
                         "flows: [{from: web, to: headlines}, {from: headlines, to: clf}, {from: scorer, to: clf},"
                         " {from: clf, to: scorer}, {from: analysts, to: scorer}]\n")
    p = predict(s)
    walk = walker(s, p, adversary=s.component("outsider"))
    # the public headlines are theirs to gather, and lead into the model's training, not to its API
    assert walk(("AML.T0002",)) is not None
    assert walk(("AML.T0002", "AML.T0040")) is None
    # with an account on the internal API the analysts call, they can query it
    s2 = s.model_copy(update={"components": tuple(
        c.model_copy(update={"access": ("query", "account")}) if c.id == "outsider" else c for c in s.components)})
    assert walker(s2, predict(s2), adversary=s2.component("outsider"))(("AML.T0002", "AML.T0040")) is not None


@pytest.mark.parametrize(("access", "open_to_them"), [(["content"], False), (["supply-chain"], True)])
def test_a_malicious_package_needs_a_hand_in_what_we_install(access, open_to_them):
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel.predict import predict

    # an applicant who uploads a PDF does not choose the packages our server installs with the hub model
    s = load_system_text("name: t\ncomponents:\n  - {id: applicants, kind: external, actor: internet}\n"
                         "  - {id: careers, kind: service, audience: public, returns: none}\n"
                         "  - {id: app, kind: llm-app}\n"
                         "  - {id: llm, kind: model, task: generation, modality: text, trained_by: open-source, "
                         "source: huggingface, artifact_format: pickle}\n"
                         f"  - {{id: gamer, kind: adversary, actor: user, goals: [manipulate], access: {access}}}\n"
                         "flows: [{from: applicants, to: careers}, {from: careers, to: app}, {from: app, to: llm},"
                         " {from: llm, to: app}]\n")
    p = predict(s)
    assert "AML.T0011.001" in p.technique_ids
    assert (walker(s, p, adversary=s.component("gamer"))(("AML.T0011.001",)) is not None) is open_to_them


def test_a_harm_found_only_on_the_adversary_ends_a_path_and_is_no_step_on_the_way():
    from pathlib import Path

    from advmatrix.threatmodel import load_system
    from advmatrix.threatmodel.predict import predict

    s = load_system(Path(__file__).resolve().parents[2] / "examples" / "systems" / "support-agent.yaml")
    p = predict(s)
    walk = walker(s, p, adversary=s.component("refund-fraudster"))
    assert walk(("AML.T0093", "AML.T0051.001", "AML.T0053", "AML.T0048.000")) is not None
    # "they are after money" joined the planted prompt to whatever came next
    assert walk(("AML.T0093", "AML.T0048.000", "AML.T0051.001", "AML.T0053")) is None


@pytest.mark.parametrize(("used_for", "open_to_them"), [("retrieval", False), ("training", True)])
def test_a_callers_queries_poison_a_model_only_where_they_come_to_rest_in_what_it_learns_from(used_for, open_to_them):
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel.predict import predict

    # callers enrol voiceprints the verifier compares against (retrieval): templates, not training data
    s = load_system_text("name: t\ncomponents:\n  - {id: callers, kind: external, actor: user}\n"
                         "  - {id: ivr, kind: service, audience: public, returns: labels}\n"
                         f"  - {{id: prints, kind: dataset, used_for: {used_for}, writers: public}}\n"
                         "  - {id: verifier, kind: model, task: classification, modality: audio, trained_by: us,"
                         " artifact_format: onnx}\n"
                         "  - {id: fraudster, kind: adversary, actor: criminal, goals: [fraud], access: [query]}\n"
                         "flows: [{from: callers, to: ivr}, {from: ivr, to: verifier}, {from: ivr, to: prints},"
                         " {from: prints, to: verifier}]\n")
    p = predict(s)
    assert "AML.T0018" in p.technique_ids  # its weights sit in a file that can be altered
    assert (walker(s, p, adversary=s.component("fraudster"))(("AML.T0018",)) is not None) is open_to_them


@pytest.mark.parametrize(("access", "open_to_them"), [(["supply-chain"], False), (["query"], True)])
def test_evading_a_model_takes_a_way_to_show_it_inputs(access, open_to_them):
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel.predict import predict

    # a hub publisher sends the X-ray model no images: our own scanners do
    s = load_system_text("name: t\ncomponents:\n  - {id: users, kind: external, actor: user}\n"
                         "  - {id: api, kind: service, audience: public, returns: labels}\n"
                         "  - {id: cxr, kind: model, task: classification, modality: image, trained_by: us,"
                         " source: huggingface, fine_tuned: true, artifact_format: safetensors}\n"
                         f"  - {{id: adv, kind: adversary, actor: criminal, goals: [evade], access: {access}}}\n"
                         "flows: [{from: users, to: api}, {from: api, to: cxr}, {from: cxr, to: api}]\n")
    p = predict(s)
    assert "AML.T0015" in p.technique_ids
    assert (walker(s, p, adversary=s.component("adv"))(("AML.T0015",)) is not None) is open_to_them


def test_a_trigger_is_presented_only_after_a_step_plants_it_or_by_a_hand_where_one_could_be():
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel.predict import predict

    def plant(access):
        return load_system_text(
            "name: t\ncomponents:\n  - {id: users, kind: external, actor: user}\n"
            "  - {id: api, kind: service, audience: public, returns: labels}\n"
            "  - {id: photos, kind: dataset, writers: public, used_for: training}\n"
            "  - {id: det, kind: model, task: detection, modality: image, trained_by: us, artifact_format: onnx}\n"
            f"  - {{id: adv, kind: adversary, actor: criminal, goals: [evade], access: {access}}}\n"
            "flows: [{from: users, to: api}, {from: api, to: det}, {from: det, to: api}, {from: photos, to: det}]\n")
    s = plant("[content, query]")
    p = predict(s)
    assert {"AML.T0020", "AML.T0043.004", "AML.T0015"} <= set(p.technique_ids)
    walk = walker(s, p, adversary=s.component("adv"))
    assert walk(("AML.T0043.004", "AML.T0015")) is None  # nobody planted it
    assert walk(("AML.T0020", "AML.T0043.004", "AML.T0015")) is not None
    inside = plant("[insider]")
    assert walker(inside, predict(inside), adversary=inside.component("adv"))(("AML.T0043.004", "AML.T0015")) \
        is not None  # a hand where the weights are made may have planted it off the path


@pytest.mark.parametrize(("knowledge", "on_device"), [(None, False), ("white-box", False), (None, True)])
def test_white_box_optimisation_takes_the_weights_in_hand(knowledge, on_device):
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel.predict import predict

    known = f", knowledge: {knowledge}" if knowledge else ""
    # a detector on robots in the street: its weights are there for whoever takes a robot, not for every caller
    shipped = ", properties: {on_device: true}" if on_device else ", properties: {edge: true}"
    s = load_system_text(
        "name: t\ncomponents:\n  - {id: users, kind: external, actor: user}\n"
        "  - {id: api, kind: service, audience: public, returns: scores}\n"
        "  - {id: det, kind: model, task: detection, modality: image, trained_by: us, artifact_format: onnx"
        f"{shipped}}}\n"
        f"  - {{id: adv, kind: adversary, actor: criminal, goals: [evade], access: [query, physical]{known}}}\n"
        "flows: [{from: users, to: api}, {from: api, to: det}, {from: det, to: api}]\n")
    p = predict(s)
    assert {"AML.T0043.000", "AML.T0015"} <= set(p.technique_ids)
    walk = walker(s, p, adversary=s.component("adv"))
    # the gradients of a model whose weights they do not hold are no one's to follow...
    assert (walk(("AML.T0043.000", "AML.T0015")) is not None) is (knowledge == "white-box" or on_device)
    # ...until a step put the weights (or a copy taken through its answers) in their hands
    assert "AML.T0044" in p.technique_ids
    assert walk(("AML.T0044", "AML.T0043.000", "AML.T0015")) is not None


def test_a_link_someone_clicks_sends_data_out_but_gives_no_foothold():
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel.predict import predict

    # an analyst signed in to the staff UI: a link in an answer is no way onto the hosts, so text planted
    # where the agent reads it (a foothold's or a content writer's way) stays out of their reach
    s = load_system_text("""name: t
components:
  - {id: staff, kind: external, actor: user}
  - {id: ui, kind: service, audience: internal, authentication: oauth, returns: text}
  - {id: agent, kind: llm-app, tools: [sql], renders_markdown: true, autonomy: autonomous}
  - {id: sql, kind: tool, side_effects: read, sensitive: true}
  - {id: warehouse, kind: dataset, writers: public, sensitive: true, used_for: [retrieval]}
  - {id: analyst, kind: adversary, actor: insider, goals: [steal-data], access: [query, account]}
flows: [{from: staff, to: ui}, {from: ui, to: agent}, {from: agent, to: ui}, {from: warehouse, to: sql}]
""")
    p = predict(s)
    assert {"AML.T0012", "AML.T0011.003", "AML.T0051.001"} <= set(p.technique_ids)
    walk = walker(s, p, adversary=s.component("analyst"))
    assert walk(("AML.T0012", "AML.T0011.003", "AML.T0051.001", "AML.T0077")) is None
    assert walk(("AML.T0012", "AML.T0051.000")) is not None  # typing to the agent themselves, they may


def test_with_the_models_own_weights_in_hand_no_one_attacks_it_through_a_stand_in():
    """Black-box transfer and optimisation are for an adversary without the weights: after taking the model
    itself (full access, its files carried off) the next step is white-box, not a proxy (audits G and H)."""
    p, walk = walks(
        "name: t\ncomponents:\n  - {id: users, kind: external, actor: user}\n"
        "  - {id: api, kind: service, audience: public, returns: scores}\n"
        "  - {id: det, kind: model, task: detection, modality: image, trained_by: us, artifact_format: onnx,"
        " properties: {edge: true}}\n"
        "  - {id: adv, kind: adversary, actor: criminal, goals: [evade], access: [query, physical]}\n"
        "flows: [{from: users, to: api}, {from: api, to: det}, {from: det, to: api}]\n",
        "adv")
    assert {"AML.T0044", "AML.T0043.002", "AML.T0043.000", "AML.T0015"} <= set(p.technique_ids)
    assert walk(("AML.T0043.002", "AML.T0015")) is not None  # without the weights, a stand-in is the way
    assert walk(("AML.T0044", "AML.T0043.002", "AML.T0015")) is None
    assert walk(("AML.T0044", "AML.T0043.000", "AML.T0015")) is not None
    # a copy made from its answers is a stand-in: transferring from it is still black-box
    if "AML.T0024.002" in p.technique_ids:
        assert walk(("AML.T0024.002", "AML.T0043.002", "AML.T0015")) is not None


def test_harm_through_an_llm_app_or_its_tools_takes_a_step_that_steers_or_drives_it():
    """Phishing the users of a forum, then posing as someone there, moves no money through the support bot's
    refund tool: only a step that steers the bot (an injection) or drives it (its tools invoked) does
    (audit K: a refund-fraud path with no step on the bot)."""
    p, walk = walks(
        "name: t\ncomponents:\n  - {id: customers, kind: external, actor: user}\n"
        "  - {id: forum, kind: service, audience: public, authentication: oauth, open_signup: true,"
        " returns: text, relays: true}\n"
        "  - {id: chat, kind: service, audience: public, authentication: oauth, open_signup: true, returns: text}\n"
        "  - {id: bot, kind: llm-app, system_prompt: true, tools: [refund], autonomy: autonomous,"
        " properties: {financial: true}}\n"
        "  - {id: refund, kind: tool, side_effects: write, properties: {financial: true}}\n"
        "  - {id: fraudster, kind: adversary, actor: criminal, goals: [fraud], access: [query, content]}\n"
        "flows: [{from: customers, to: forum}, {from: forum, to: customers}, {from: customers, to: chat},"
        " {from: chat, to: bot}, {from: bot, to: chat}, {from: chat, to: customers}]\n",
        "fraudster")
    assert {"AML.T0052", "AML.T0048.000", "AML.T0051.000", "AML.T0053"} <= set(p.technique_ids)
    lured = walk(("AML.T0052", "AML.T0048.000"))
    assert lured is None or not {"bot", "refund"} & set(lured[-1]), lured
    steered = walk(("AML.T0051.000", "AML.T0053", "AML.T0048.000"))
    assert steered is not None and {"bot", "refund"} & set(steered[-1]), steered


@pytest.mark.parametrize(("goals", "props", "ends"), [
    ("[impersonate, fraud]", "", False),  # passing a pre-screen poses as no one and moves no money
    ("[impersonate]", ", properties: {verifies_identity: true}", True),  # a face or voice check: it does
    ("[fraud]", ", properties: {financial: true}", True),  # a fraud model's approvals move money
    ("[evade]", "", True)])
def test_evading_a_model_ends_a_path_only_for_goals_it_serves_there(goals, props, ends):
    p, walk = walks(
        "name: t\ncomponents:\n  - {id: candidates, kind: external, actor: user}\n"
        "  - {id: api, kind: service, audience: public, returns: labels}\n"
        f"  - {{id: judge, kind: model, task: classification, modality: text, trained_by: us{props}}}\n"
        f"  - {{id: scammer, kind: adversary, actor: criminal, goals: {goals}, access: [query]}}\n"
        "flows: [{from: candidates, to: api}, {from: api, to: judge}, {from: judge, to: api},"
        " {from: api, to: candidates}]\n",
        "scammer")
    assert "AML.T0015" in p.technique_ids
    assert (walk(("AML.T0043.003", "AML.T0015")) is not None) is ends
