"""What a tool's writes reach decides the agent's findings through it: who reads what it sends
(``readers``), whether it can only add (``append_only``), whether an autonomous agent's code can reach the
network, and whether a tool that returns only a status carries anyone's text into the prompt."""

from __future__ import annotations

import pytest

from advmatrix.errors import FormatError
from advmatrix.threatmodel import System, load_system_text
from advmatrix.threatmodel.predict import predict

from .test_stated_facts import agent, on, system

THIEF = {"id": "thief", "kind": "adversary", "actor": "criminal", "goals": ["steal-data", "manipulate", "disrupt"],
         "access": ["query"]}


def extended(s: System, components=(), flows=()) -> System:
    """``s`` with more components and flows."""
    data = s.model_dump(by_alias=True, exclude_none=True)
    return System.model_validate({**data, "components": [*data["components"], *components],
                                  "flows": [*data["flows"], *flows]})


def with_thief(s: System) -> System:
    return extended(s, [THIEF])


@pytest.mark.parametrize(("readers", "sends_out"), [
    ("internal", False), ("none", False), ("partner", True), ("public", True), (None, True)])
def test_data_leaves_through_a_tool_only_where_someone_outside_reads_what_it_writes(readers, sends_out):
    tool = {"id": "ticketer", "side_effects": "write", **({"readers": readers} if readers else {})}
    got = predict(with_thief(agent(tool)))
    assert ("app" in on(got, "AML.T0086")) is sends_out
    reasons = [r for f in got.findings if f.technique_id == "AML.T0086" for r in f.reasons]
    assert any(r.startswith("thief wants data out") for r in reasons) is sends_out


@pytest.mark.parametrize(("readers", "phishes"), [("none", False), ("internal", True), ("public", True), (None, True)])
def test_an_agent_writes_to_people_only_through_a_tool_someone_reads(readers, phishes):
    tool = {"id": "payments", "side_effects": "external-communication", "browses": False,
            **({"readers": readers} if readers else {})}
    assert ("app" in on(predict(agent(tool)), "AML.T0052.000")) is phishes


@pytest.mark.parametrize(("append_only", "destroys"), [(True, False), (False, True), (None, True)])
def test_a_tool_that_only_adds_deletes_nothing(append_only, destroys):
    tool = {"id": "post-comment", "side_effects": "write",
            **({"append_only": append_only} if append_only is not None else {})}
    got = predict(with_thief(agent(tool)))
    assert ("app" in on(got, "AML.T0101")) is destroys
    reasons = [r for f in got.findings if f.technique_id == "AML.T0101" for r in f.reasons]
    assert any(r.startswith("thief wants damage done") for r in reasons) is destroys


def test_code_can_delete_anything_so_a_code_runner_is_never_append_only():
    with pytest.raises(FormatError, match=r"components\[0\]\.append_only: true contradicts side_effects: "
                                          r"code-execution"):
        load_system_text("name: s\ncomponents:\n  - {id: t, kind: tool, side_effects: code-execution, "
                         "append_only: true}\n")


@pytest.mark.parametrize(("side_effects", "remote_hand"), [
    ("code-execution", True), ("external-communication", True), ("read", False)])
def test_an_autonomous_agent_that_runs_code_can_be_an_adversarys_remote_hand(side_effects, remote_hand):
    got = predict(agent({"id": "tool", "side_effects": side_effects}, app={"autonomy": "autonomous"}))
    assert ("app" in on(got, "AML.T0108")) is remote_hand


@pytest.mark.parametrize(("fed_by_outsiders", "carries"), [(False, False), (True, True)])
def test_a_write_tool_returns_a_status_so_only_outsiders_feeding_it_plant_instructions_that_wait(
        fed_by_outsiders, carries):
    s = agent({"id": "open-ticket", "side_effects": "write"})
    if fed_by_outsiders:
        s = extended(s, flows=[{"from": "u", "to": "open-ticket"}])
    got = predict(s)
    named = [r for f in got.findings if f.technique_id in ("AML.T0051.002", "AML.T0051") for r in f.reasons
             if "open-ticket" in r]
    assert bool(named) is carries


@pytest.mark.parametrize(("model_on_device", "costs_us"), [(True, False), (False, True)])
def test_long_prompts_to_an_app_on_the_users_phone_cost_us_only_where_its_model_is_ours_to_run(
        model_on_device, costs_us):
    s = system([{"id": "u", "kind": "external", "actor": "user"},
                {"id": "app", "kind": "llm-app", "properties": {"on_device": True}},
                {"id": "llm", "kind": "model", "task": "generation",
                 **({"properties": {"on_device": True}} if model_on_device else {})},
                {"id": "api", "kind": "service", "audience": "public", "returns": "text"}],
               [{"from": "u", "to": "app"}, {"from": "app", "to": "u"},
                *([{"from": "app", "to": "llm"}, {"from": "llm", "to": "app"}] if model_on_device else
                  [{"from": "app", "to": "api"}, {"from": "api", "to": "llm"}, {"from": "llm", "to": "api"},
                   {"from": "api", "to": "app"}])])
    assert ("app" in on(predict(s), "AML.T0034.001")) is costs_us


def test_a_write_tool_that_reads_a_store_outsiders_write_brings_their_text_like_a_reading_tool():
    s = system([{"id": "u", "kind": "external", "actor": "user"},
                {"id": "chat", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "app", "kind": "llm-app", "tools": ["ticket-tool"], "memory": "session"},
                {"id": "ticket-tool", "kind": "tool", "side_effects": "write"},
                {"id": "tickets", "kind": "dataset", "writers": "public", "used_for": ["retrieval"]}],
               [{"from": "u", "to": "chat"}, {"from": "chat", "to": "app"}, {"from": "app", "to": "chat"},
                {"from": "chat", "to": "u"}, {"from": "tickets", "to": "ticket-tool"},
                {"from": "ticket-tool", "to": "tickets"}])
    got = predict(s)
    for tid in ("AML.T0051.002", "AML.T0080.001"):
        assert "app" in on(got, tid), tid


@pytest.mark.parametrize(("readers", "remote_hand"), [("none", False), ("internal", False), ("public", True)])
def test_a_channel_no_outsider_reads_is_no_remote_hand(readers, remote_hand):
    tool = {"id": "refunds", "side_effects": "external-communication", "readers": readers}
    assert ("app" in on(predict(agent(tool, app={"autonomy": "autonomous"})), "AML.T0108")) is remote_hand


def test_a_ci_runner_no_agent_calls_is_no_agent_tool_to_poison_or_imitate():
    runner = {"id": "ci", "kind": "tool", "side_effects": "code-execution", "source": "third-party"}
    s = agent({"id": "pr-tool", "side_effects": "write"}, {"id": "mcp-search", "side_effects": "read",
                                                          "source": "mcp"})
    s = extended(s, [runner], [{"from": "pr-tool", "to": "ci"}])
    got = predict(s)
    agent_tool_only = ("AML.T0110", "AML.T0011.002", "AML.T0074", "AML.T0010.005", "AML.T0104", "AML.T0111")
    for tid in agent_tool_only:
        assert "ci" not in on(got, tid), tid
        assert "mcp-search" in on(got, tid), tid  # the tool the agent does call keeps them


@pytest.mark.parametrize(("writes", "eroded"), [(True, True), (False, False)])
def test_records_an_agent_writes_through_a_tool_can_be_corrupted_by_whoever_steers_it(writes, eroded):
    tool = {"id": "record-writer", "side_effects": "write" if writes else "read"}
    s = extended(agent(tool), [{"id": "records", "kind": "dataset", "writers": "internal", "sensitive": True}],
                 [{"from": "record-writer", "to": "records"} if writes else {"from": "records", "to": "record-writer"}])
    got = predict(s)
    assert ("records" in on(got, "AML.T0059")) is eroded


def test_records_an_agent_keeps_itself_are_not_written_through_the_tools_it_also_has():
    # the agent logs each call to a transcript store; its write tools act elsewhere: the tools' results pass
    # through the agent, but the store is not written through them (audit W: the reason named a SIM-swap tool)
    tool = {"id": "swap", "side_effects": "write"}
    s = extended(agent(tool), [{"id": "transcripts", "kind": "dataset", "writers": "internal", "sensitive": True}],
                 [{"from": "app", "to": "transcripts"}])
    reasons = [r for f in predict(s).findings if f.component == "transcripts" and f.technique_id == "AML.T0059"
               for r in f.reasons]
    assert not any("swap" in r for r in reasons), reasons


@pytest.mark.parametrize(("mail_from_outside", "gathered"), [(True, True), (False, False)])
def test_a_tool_trimmed_to_its_user_still_gathers_their_data_for_whoever_plants_text_it_reads(
        mail_from_outside, gathered):
    tool = {"id": "mail-read", "side_effects": "read", "per_user": True, "sensitive": True}
    s = extended(agent(tool), [{"id": "senders", "kind": "external", "actor": "internet"}],
                 [{"from": "senders", "to": "mail-read"}] if mail_from_outside else [])
    assert ("app" in on(predict(s), "AML.T0085.001")) is gathered


@pytest.mark.parametrize("side_effects", ["read", "none"])
def test_a_tool_that_returns_what_it_reads_cannot_only_send(side_effects):
    # sends_only rules out the text a tool brings back: said of a lookup, it would hide what the lookup returns
    with pytest.raises(FormatError, match=rf"components\[0\]\.sends_only: true contradicts side_effects: "
                                          rf"{side_effects}"):
        load_system_text(f"name: s\ncomponents:\n  - {{id: t, kind: tool, side_effects: {side_effects}, "
                         "sends_only: true}\n")
