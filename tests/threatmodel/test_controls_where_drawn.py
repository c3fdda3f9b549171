"""Controls where an architect draws them: on the tool an agent calls, on the registry a model's weights
rest in; and controls not advised where they have nothing to act on (approval for tools that only read)."""

from __future__ import annotations

from advmatrix.threatmodel import System, load_system_text
from advmatrix.threatmodel.predict import predict
from advmatrix.threatmodel.report import build


def system(components, flows=()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


def mitigations(s: System, component: str, technique: str) -> dict:
    f = next(f for f in predict(s).findings if f.component == component and f.technique_id == technique)
    return {m.id: m for m in f.mitigations}


AGENT = [{"id": "staff", "kind": "external", "actor": "user"},
         {"id": "ui", "kind": "service", "audience": "internal", "authentication": "oauth", "returns": "text"},
         {"id": "assistant", "kind": "llm-app", "tools": ["sql", "chart"], "autonomy": "autonomous"},
         {"id": "sql", "kind": "tool", "side_effects": "read", "sensitive": True},
         {"id": "chart", "kind": "tool", "side_effects": "none"},
         {"id": "warehouse", "kind": "dataset", "writers": "public", "sensitive": True, "used_for": ["retrieval"]}]
AGENT_FLOWS = [{"from": "staff", "to": "ui"}, {"from": "ui", "to": "assistant"}, {"from": "assistant", "to": "ui"},
               {"from": "warehouse", "to": "sql"}]


def test_approving_actions_is_not_advised_for_an_agent_whose_tools_only_read():
    advised = {m for f in predict(system(AGENT, AGENT_FLOWS)).findings if f.component == "assistant"
               for m in (x.id for x in f.mitigations)}
    assert "AML.M0029" not in advised
    acting = [{**c, "side_effects": "write"} if c["id"] == "sql" else c for c in AGENT]
    assert "AML.M0029" in {m.id for f in predict(system(acting, AGENT_FLOWS)).findings for m in f.mitigations}
    # nor tool controls for an app that calls no tools at all
    bare = [{**c, "tools": []} if c["id"] == "assistant" else c for c in AGENT if c["kind"] != "tool"]
    advised = {m.id for f in predict(system(bare, AGENT_FLOWS[:3])).findings for m in f.mitigations}
    assert not advised & {"AML.M0028", "AML.M0029", "AML.M0030"}


def test_validating_a_tools_inputs_and_outputs_counts_where_it_is_drawn_on_the_tools():
    validated = [{**c, "controls": ["AML.M0033"]} if c["kind"] == "tool" else c for c in AGENT]
    s = system(validated, AGENT_FLOWS)
    held = {(f.component, f.technique_id): m for f in predict(s).findings for m in f.mitigations
            if m.id == "AML.M0033" and f.component == "assistant"}
    assert held and all(m.in_place for m in held.values() if m.component in ("sql", "chart")), held
    assert any(m.in_place for m in held.values())
    # on one tool only: advised on the other, where a finding names both
    one = [{**c, "controls": ["AML.M0033"]} if c["id"] == "sql" else c for c in AGENT]
    missing = [m for f in predict(system(one, AGENT_FLOWS)).findings for m in f.mitigations
               if m.id == "AML.M0033" and not m.in_place]
    assert all(m.component != "sql" for m in missing)


REGISTRY = """name: ota
components:
  - {id: street, kind: external, actor: other}
  - {id: camera, kind: service, audience: internal, authentication: none, returns: none}
  - {id: detector, kind: model, task: detection, modality: image, trained_by: us, artifact_format: onnx}
  - {id: registry, kind: service, audience: internal, authentication: mtls, returns: none, controls: [AML.M0005]}
  - {id: intruder, kind: adversary, actor: criminal, goals: [steal-model], access: [network]}
flows:
  - {from: street, to: camera}
  - {from: camera, to: detector}
  - {from: registry, to: detector, data: model packages}
"""


def test_access_control_at_rest_on_the_registry_that_delivers_the_weights_counts_for_the_model(recwarn):
    s = load_system_text(REGISTRY)
    at_rest = [m for f in predict(s).findings if f.component == "detector" for m in f.mitigations
               if m.id == "AML.M0005" and f.technique_id in ("AML.T0044", "AML.T0025", "AML.T0035", "AML.T0018")]
    assert at_rest and all(m.in_place and m.in_place_at == "registry" for m in at_rest)
    build(s)
    assert not [w for w in recwarn if "AML.M0005" in str(w.message)]
    # a second way the weights come (a copy on a share no one guards) leaves it missing
    shared = load_system_text(REGISTRY.replace("flows:", "  - {id: share, kind: service, audience: internal, "
                                                         "returns: none}\nflows:")
                              + "  - {from: share, to: detector}\n")
    assert any(not m.in_place for f in predict(shared).findings if f.component == "detector"
               for m in f.mitigations if m.id == "AML.M0005")


def chat(model: dict, app_controls=()) -> System:
    return system([{"id": "users", "kind": "external", "actor": "user"},
                   {"id": "api", "kind": "service", "audience": "public", "authentication": "none", "returns": "text"},
                   {"id": "app", "kind": "llm-app", "system_prompt": True, "controls": list(app_controls)},
                   {"id": "llm", "kind": "model", "task": "generation", "modality": "text", **model}],
                  [{"from": "users", "to": "api"}, {"from": "api", "to": "app"}, {"from": "app", "to": "llm"},
                   {"from": "llm", "to": "app"}, {"from": "app", "to": "api"}])


def test_alignment_is_advised_on_the_model_the_app_calls_and_counts_there(recwarn):
    ours = {"trained_by": "us", "fine_tuned": True, "artifact_format": "safetensors"}
    jailbreak = mitigations(chat(ours), "app", "AML.T0054")
    assert jailbreak["AML.M0022"].component == "llm" and not jailbreak["AML.M0022"].in_place
    aligned = chat({**ours, "controls": ["AML.M0022"]})
    held = mitigations(aligned, "app", "AML.T0054")["AML.M0022"]
    assert held.in_place and held.in_place_at == "llm"
    build(aligned)
    assert not [w for w in recwarn if "AML.M0022" in str(w.message)]


def test_a_vendors_hosted_model_takes_no_access_control_at_rest_and_access_goes_where_it_is_called():
    hosted = chat({"trained_by": "vendor", "source": "vendor-api", "artifact_format": "hosted"})
    advised = {(f.technique_id, m.id): m.component for f in predict(hosted).findings if f.component == "llm"
               for m in f.mitigations}
    assert not [k for k in advised if k[1] == "AML.M0005"]  # we hold no weights of theirs at rest
    assert all(where != "llm" for (_, mid), where in advised.items() if mid == "AML.M0019")


def test_training_people_against_an_adversarys_phishing_is_advised_for_the_people_it_reaches(cli, tmp_path):
    text = """name: dating
components:
  - {id: members, kind: external, actor: user}
  - {id: messaging, kind: service, audience: public, authentication: oauth, open_signup: true, returns: text}
  - {id: flagger, kind: llm-app}
  - {id: ring, kind: adversary, actor: criminal, goals: [fraud, impersonate], access: [query]}
flows: [{from: members, to: messaging}, {from: messaging, to: flagger}, {from: flagger, to: messaging}]
"""
    s = load_system_text(text)
    phishing = next(f for f in predict(s).findings if f.component == "ring" and f.technique_id == "AML.T0052")
    training = next(m for m in phishing.mitigations if m.id == "AML.M0018")
    # on the service the members use: people hold no controls in a description, so it is listed there
    assert training.component == "messaging" and not training.in_place
    (tmp_path / "s.yaml").write_text(text)
    out = " ".join(cli("threatmodel", str(tmp_path / "s.yaml")).out.split())
    assert "AML.M0018 on messaging" in out
    trained = load_system_text(text.replace("open_signup: true,", "open_signup: true, controls: [AML.M0018],"))
    phishing = next(f for f in predict(trained).findings if f.component == "ring" and f.technique_id == "AML.T0052")
    assert next(m for m in phishing.mitigations if m.id == "AML.M0018").in_place


def test_alignment_goes_on_the_model_the_app_prompts_not_the_speech_model_that_feeds_it():
    s = system([{"id": "room", "kind": "external", "actor": "user"},
                {"id": "mic", "kind": "service", "audience": "internal", "returns": "text"},
                {"id": "asr", "kind": "model", "task": "speech-recognition", "modality": "audio", "trained_by": "us"},
                {"id": "scribe", "kind": "llm-app", "system_prompt": True},
                {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "us"}],
               [{"from": "room", "to": "mic"}, {"from": "mic", "to": "asr"}, {"from": "asr", "to": "scribe"},
                {"from": "scribe", "to": "llm"}, {"from": "llm", "to": "scribe"}, {"from": "scribe", "to": "mic"}])
    where = {m.component for f in predict(s).findings if f.component == "scribe" for m in f.mitigations
             if m.id == "AML.M0022"}
    assert where == {"llm"}


MARKETPLACE = """name: coders
components:
  - {id: devs, kind: external, actor: user}
  - {id: ide, kind: service, audience: internal, authentication: oauth, returns: text}
  - {id: agent, kind: llm-app, tools: [jira, shell], autonomy: autonomous}
  - {id: jira, kind: tool, side_effects: write, source: mcp, hosted: false, controls: [AML.M0014]}
  - {id: shell, kind: tool, side_effects: code-execution, source: first-party, hosted: false}
flows: [{from: devs, to: ide}, {from: ide, to: agent}, {from: agent, to: ide}]
"""


def test_a_pinned_hash_on_a_marketplace_tool_vouches_only_for_its_publisher_and_checks_no_other_tool():
    s = load_system_text(MARKETPLACE)
    findings = predict(s).findings
    pinned = [(f.technique_id, m) for f in findings if f.component == "jira" for m in f.mitigations
              if m.id == "AML.M0014" and f.technique_id in ("AML.T0010.005", "AML.T0011.002", "AML.T0011.001")]
    assert pinned and all(m.in_place and not m.prevents and "publisher" in m.idle for _, m in pinned)
    # what the shell installs by name is checked by nothing pinned on the issue tracker's package
    installs = [m for f in findings if f.component == "shell" and f.technique_id == "AML.T0011.001"
                for m in f.mitigations if m.id == "AML.M0014"]
    assert installs and not any(m.in_place for m in installs)


def test_no_one_signs_in_to_a_model_only_the_street_feeds_so_access_control_does_not_guard_its_inputs():
    s = load_system_text(REGISTRY.replace("access: [network]", "access: [physical]"))
    crafted = {f.technique_id: {m.id for m in f.mitigations} for f in predict(s).findings
               if f.component == "detector" and f.technique_id.startswith(("AML.T0043", "AML.T0042"))}
    assert crafted and not any("AML.M0019" in ms for ms in crafted.values())
    # the weights on our servers are still access control's to guard
    taken = {m.id for f in predict(s).findings if f.component == "detector" and f.technique_id == "AML.T0044"
             for m in f.mitigations} if "AML.T0044" in predict(s).technique_ids else {"AML.M0019"}
    assert "AML.M0019" in taken or "AML.M0005" in taken
    # a public API in front: callers to authenticate
    queried = load_system_text(REGISTRY.replace("  - {from: street, to: camera}\n",
                                                "  - {from: street, to: camera}\n  - {from: users, to: api}\n"
                                                "  - {from: api, to: detector}\n").replace(
        "flows:", "  - {id: users, kind: external, actor: user}\n  - {id: api, kind: service, audience: public, "
                  "returns: labels}\nflows:", 1))
    assert any("AML.M0019" in {m.id for m in f.mitigations} for f in predict(queried).findings
               if f.component == "detector" and f.technique_id.startswith("AML.T0043"))


def test_holding_back_our_tuned_model_keeps_no_one_from_downloading_the_public_base_it_came_from():
    s = system([{"id": "api", "kind": "service", "audience": "public", "returns": "labels"},
                {"id": "clf", "kind": "model", "task": "classification", "modality": "text",
                 "trained_by": "open-source", "source": "huggingface", "base_model": "distilroberta-base",
                 "fine_tuned": True, "artifact_format": "safetensors"}],
               [{"from": "api", "to": "clf"}])
    findings = {f.technique_id: {m.id for m in f.mitigations} for f in predict(s).findings if f.component == "clf"}
    assert "AML.T0002.001" in findings and "AML.M0001" not in findings["AML.T0002.001"]
    assert any("AML.M0001" in ms for t, ms in findings.items() if t != "AML.T0002.001")  # our tune is still ours


def test_the_registrys_access_control_guards_only_the_weights_resting_there_not_a_copy_in_the_field():
    s = load_system_text(REGISTRY.replace("trained_by: us, artifact_format: onnx}",
                                          "trained_by: us, artifact_format: onnx, properties: {edge: true}}"))
    on_the_car = [m for f in predict(s).findings if f.component == "detector" for m in f.mitigations
                  if m.id == "AML.M0005"]
    assert on_the_car and not any(m.in_place for m in on_the_car)  # every car's unit holds the weights too
    # on our servers: theft of the weights is guarded where they rest, checking an attack or poisoning is not
    served = {f.technique_id: m for f in predict(load_system_text(REGISTRY)).findings if f.component == "detector"
              for m in f.mitigations if m.id == "AML.M0005"}
    assert served["AML.T0044"].in_place if "AML.T0044" in served else served["AML.T0025"].in_place
    assert not any(m.in_place for t, m in served.items() if t in ("AML.T0042", "AML.T0020"))


COPILOT = """name: copilot
components:
  - {id: employee, kind: external, actor: user}
  - {id: sender, kind: external, actor: internet}
  - {id: ui, kind: service, audience: internal, authentication: oauth, returns: text}
  - {id: guard, kind: model, task: classification, modality: text, controls: [AML.M0020]}
  - {id: copilot, kind: llm-app, system_prompt: true, renders_markdown: true}
  - {id: index, kind: retrieval-store, writers: public, sensitive: true}
flows:
  - {from: employee, to: ui}
  - {from: ui, to: guard}
  - {from: guard, to: copilot}
  - {from: sender, to: index}
  - {from: index, to: copilot}
  - {from: copilot, to: ui}
"""


def test_a_guard_on_the_only_way_questions_come_counts_against_what_is_typed_not_what_is_retrieved():
    findings = {f.technique_id: {m.id: m for m in f.mitigations} for f in predict(load_system_text(COPILOT)).findings
                if f.component == "copilot"}
    typed = [t for t in ("AML.T0051.000", "AML.T0054") if t in findings and "AML.M0020" in findings[t]]
    assert typed and all(findings[t]["AML.M0020"].in_place_at == "guard" for t in typed)
    # mail in the index never passes the guard: indirect injection is not screened
    assert not findings["AML.T0051.001"]["AML.M0020"].in_place


def test_no_output_to_blur_for_candidates_whose_portal_answers_nothing_though_recruiters_read_scores():
    s = system([{"id": "candidate", "kind": "external", "actor": "user"},
                {"id": "portal", "kind": "service", "audience": "public", "authentication": "api-key",
                 "returns": "none"},
                {"id": "scorer", "kind": "llm-app"},
                {"id": "llm", "kind": "model", "task": "ranking", "modality": "text", "outputs": ["text"]},
                {"id": "dashboard", "kind": "service", "audience": "internal", "returns": "text"},
                {"id": "recruiter", "kind": "external", "actor": "user"}],
               [{"from": "candidate", "to": "portal"}, {"from": "portal", "to": "scorer"},
                {"from": "scorer", "to": "llm"}, {"from": "llm", "to": "scorer"}, {"from": "scorer", "to": "dashboard"},
                {"from": "dashboard", "to": "recruiter"}])
    blurred = [(f.technique_id, m.component) for f in predict(s).findings if f.component == "llm"
               for m in f.mitigations if m.id == "AML.M0002"]
    assert not blurred


def test_guarding_our_tuned_model_keeps_no_one_from_using_the_public_base_as_a_ready_made_stand_in():
    # access control on our copy, in production or at rest, keeps no one from downloading the hub's base to
    # build their stand-in from (audit V: advised, and required by --fail-on, on a claims photo model)
    s = system([{"id": "api", "kind": "service", "audience": "public", "returns": "scores"},
                {"id": "damage", "kind": "model", "task": "regression", "modality": "image",
                 "trained_by": "us", "source": "huggingface", "base_model": "vit-base", "fine_tuned": True}],
               [{"from": "api", "to": "damage"}])
    findings = {f.technique_id: {m.id for m in f.mitigations} for f in predict(s).findings if f.component == "damage"}
    assert "AML.T0005.002" in findings
    assert not {"AML.M0019", "AML.M0005"} & findings["AML.T0005.002"], findings["AML.T0005.002"]
    assert any({"AML.M0019", "AML.M0005"} & ms for t, ms in findings.items() if t not in ("AML.T0005.002",
                                                                                       "AML.T0002.001"))


def test_training_people_against_loading_a_poisoned_model_file_goes_where_those_people_work():
    # data scientists load hub models in a notebook service: user training was advised "on" the model file
    # (audit Y); it goes on the service they use, as for an adversary's lure
    s = system([{"id": "scientists", "kind": "external", "actor": "user"},
                {"id": "notebooks", "kind": "service", "audience": "internal", "authentication": "oauth",
                 "returns": "text"},
                {"id": "base", "kind": "model", "task": "classification", "modality": "text",
                 "trained_by": "open-source", "source": "huggingface", "artifact_format": "pickle"}],
               [{"from": "scientists", "to": "notebooks"}, {"from": "notebooks", "to": "base"},
                {"from": "base", "to": "notebooks"}])
    taught = {(f.technique_id, m.component) for f in predict(s).findings if f.component == "base"
              for m in f.mitigations if m.id == "AML.M0018"}
    assert taught and all(where == "notebooks" for _, where in taught), taught


def test_guardrails_against_a_compromised_supply_go_on_the_app_not_on_a_data_set_or_a_mailbox():
    # guardrails screen what a generative app reads and writes: advised "on" a supplier's catalogue (audit Y)
    # or on a mailbox that answers nothing in front of an embedder (audit Z), they screen nothing
    s = system([{"id": "staff", "kind": "external", "actor": "user"},
                {"id": "supplier", "kind": "external", "actor": "vendor"},
                {"id": "mailbox", "kind": "service", "audience": "public", "authentication": "none", "returns": "none"},
                {"id": "embedder", "kind": "model", "task": "embedding", "modality": "text", "trained_by": "vendor",
                 "source": "vendor-api", "artifact_format": "hosted"},
                {"id": "catalogue", "kind": "dataset", "source": "vendor", "writers": "partner",
                 "used_for": ["retrieval"]},
                {"id": "store", "kind": "retrieval-store", "writers": "public", "sources": ["user-submitted"]},
                {"id": "chat", "kind": "service", "audience": "internal", "returns": "text"},
                {"id": "bot", "kind": "llm-app", "system_prompt": True}],
               [{"from": "supplier", "to": "catalogue"}, {"from": "catalogue", "to": "bot"},
                {"from": "supplier", "to": "mailbox"}, {"from": "mailbox", "to": "embedder"},
                {"from": "embedder", "to": "store"}, {"from": "store", "to": "bot"},
                {"from": "staff", "to": "chat"}, {"from": "chat", "to": "bot"}, {"from": "bot", "to": "chat"}])
    guard = {(f.component, f.technique_id): m.component for f in predict(s).findings for m in f.mitigations
             if m.id == "AML.M0020" and f.component in ("catalogue", "embedder")}
    assert guard and set(guard.values()) == {"bot"}, guard
