"""Who talks to an LLM app and who only passes it content: a party whose words reach the app but who hears
nothing back (a counterparty whose draft a lawyer uploads, a candidate whose answers a recruiter reads the
score of) is the author of content it reads, an indirect injection, not a user typing to it; it can neither
iterate on a prompt nor approve what the app does. (Blind audits C, I and L: an essay grader, a video
interview scorer, a contract-review assistant.)"""

from __future__ import annotations

import pytest

from advmatrix.threatmodel import System
from advmatrix.threatmodel.predict import predict


def system(components, flows=()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


def found(s: System, component: str) -> dict[str, list[str]]:
    return {f.technique_id: f.reasons for f in predict(s).findings if f.component == component}


def review(*, answered: bool) -> System:
    """Lawyers (trusted) type to the assistant through the portal; the counterparty's draft comes in through
    it too; the portal hands the review to the lawyers, and (``answered``) to the counterparty as well."""
    flows = [{"from": "lawyers", "to": "portal", "trusted": True}, {"from": "counterparty", "to": "portal"},
             {"from": "portal", "to": "assistant"}, {"from": "assistant", "to": "portal"},
             {"from": "portal", "to": "lawyers"}, {"from": "assistant", "to": "llm"},
             {"from": "llm", "to": "assistant"}]
    if answered:
        flows.append({"from": "portal", "to": "counterparty"})
    return system([{"id": "lawyers", "kind": "external", "actor": "user"},
                   {"id": "counterparty", "kind": "external", "actor": "partner"},
                   {"id": "portal", "kind": "service", "audience": "internal", "authentication": "oauth",
                    "returns": "text"},
                   {"id": "assistant", "kind": "llm-app", "system_prompt": "secret", "tools": ["send-email"],
                    "autonomy": "human-approval", "approver": "requester"},
                   {"id": "send-email", "kind": "tool", "side_effects": "external-communication",
                    "sends_only": True, "readers": "public"},
                   {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "vendor",
                    "source": "vendor-api", "artifact_format": "hosted"}],
                  [*flows, {"from": "send-email", "to": "counterparty"}])


def test_a_draft_written_by_a_counterparty_who_hears_nothing_back_is_indirect_injection():
    got = found(review(answered=False), "assistant")
    assert "AML.T0051.001" in got and any("counterparty" in r for r in got["AML.T0051.001"]), got.keys()
    # typed to it by no one untrusted: no direct injection or crafting by iteration, and a jailbreak only as
    # planted in the draft it reads (audit W; ATLAS's incidents take one after an indirect injection)
    assert not {"AML.T0051.000", "AML.T0065"} & set(got), set(got)
    assert all("planted there" in r for r in got.get("AML.T0054", [])), got.get("AML.T0054")
    assert "AML.T0051" in got  # the parent names whose words reach it, answered or not


def test_a_counterparty_answered_by_the_portal_talks_to_the_app():
    got = found(review(answered=True), "assistant")
    assert {"AML.T0051.000", "AML.T0054"} <= set(got), set(got)


def test_the_lawyers_approval_counts_where_no_outsider_asks():
    def approval(s):
        return [m for f in predict(s).findings if f.component == "assistant" and f.technique_id == "AML.T0053"
                for m in f.mitigations if m.id == "AML.M0029"]
    quiet, asked = approval(review(answered=False)), approval(review(answered=True))
    assert quiet and all(m.in_place and m.prevents for m in quiet), quiet
    assert asked and all(m.in_place and not m.prevents for m in asked), asked


@pytest.mark.parametrize("drawn_back", [True, False])
def test_a_public_chat_is_still_typed_to_whether_or_not_its_answers_are_drawn(drawn_back):
    flows = [{"from": "users", "to": "api"}, {"from": "api", "to": "bot"}]
    if drawn_back:
        flows += [{"from": "bot", "to": "api"}, {"from": "api", "to": "users"}]
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "bot", "kind": "llm-app", "system_prompt": True}], flows)
    got = found(s, "bot")
    assert {"AML.T0051.000", "AML.T0054"} <= set(got)
    assert "AML.T0051.001" not in got


def test_a_reason_does_not_say_the_app_answers_a_party_it_only_reads():
    s = review(answered=False)
    store = {"id": "matters", "kind": "retrieval-store", "writers": "internal", "sensitive": True}
    s = system([*(c.model_dump(exclude_none=True, by_alias=True) for c in s.components), store],
               [*(f.model_dump(exclude_none=True, by_alias=True) for f in s.flows),
                {"from": "matters", "to": "assistant", "trusted": True}])
    got = found(s, "assistant")
    reasons = [r for tid in ("AML.T0085", "AML.T0085.000") for r in got.get(tid, [])]
    assert reasons and any("counterparty" in r for r in reasons), got.keys()
    assert not any("answers" in r for r in reasons), reasons


def test_signing_in_at_the_portal_stops_no_injection_in_a_draft_whose_author_never_signs_in():
    # the lawyers sign in; the counterparty's draft comes in with them (audit U: the portal's sign-in was
    # counted as stopping the injection in the document, and --fail-on passed)
    s = review(answered=False)
    s = s.model_copy(update={"components": tuple(
        c.model_copy(update={"controls": ("AML.M0019",)}) if c.id == "portal" else c for c in s.components)})
    injected = next(f for f in predict(s).findings if f.component == "assistant" and f.technique_id == "AML.T0051.001")
    assert "AML.M0019" not in {m.id for m in injected.mitigations}
