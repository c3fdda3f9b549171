"""A server's answer to an app on people's devices is no way in to that device: the server's other callers
get their own answers. A keyboard app with a cloud fallback is not queried by the cloud API's public
users, who cannot flood its phone model, type prompts into it or copy its weights through that API; what
the cloud model writes still reaches the app (its lineage stays)."""

from __future__ import annotations

from advmatrix.threatmodel import System
from advmatrix.threatmodel.predict import predict


def keyboard(*, device_calls: bool = True, extra_components=(), extra_flows=()) -> System:
    """A keyboard app and its model on the phone, with an opt-in fallback to a public cloud API."""
    flows = [
        {"from": "phone-user", "to": "keyboard"}, {"from": "keyboard", "to": "phone-user"},
        {"from": "keyboard", "to": "device-llm"}, {"from": "device-llm", "to": "keyboard"},
        {"from": "cloud-api", "to": "cloud-llm"}, {"from": "cloud-llm", "to": "cloud-api"},
        {"from": "cloud-api", "to": "keyboard"},
        *([{"from": "keyboard", "to": "cloud-api"}] if device_calls else []),
        *extra_flows]
    return System.model_validate({"name": "keyboard", "components": [
        {"id": "phone-user", "kind": "external", "actor": "user"},
        {"id": "keyboard", "kind": "llm-app", "system_prompt": True, "properties": {"on_device": True}},
        {"id": "device-llm", "kind": "model", "task": "generation", "modality": "text", "outputs": ["text"],
         "trained_by": "us", "properties": {"on_device": True}},
        {"id": "cloud-api", "kind": "service", "audience": "public", "authentication": "api-key",
         "returns": "text", "open_signup": True},
        {"id": "cloud-llm", "kind": "model", "task": "generation", "modality": "text", "outputs": ["text"],
         "trained_by": "vendor", "source": "vendor-api"},
        *extra_components], "flows": flows})


def reasons(got, technique: str, component: str) -> list[str]:
    return [r for f in got.findings if f.technique_id == technique and f.component == component for r in f.reasons]


def test_the_cloud_api_answers_the_device_and_is_no_way_into_it():
    s = keyboard()
    assert "cloud-api" not in [c.id for c in s.upstream_of("device-llm", inputs_only=True)]
    assert "cloud-api" in [c.id for c in s.upstream_of("device-llm")]  # its words still reach the phone
    got = predict(s)
    typed = reasons(got, "AML.T0051.000", "keyboard")
    assert typed and all("cloud-api" not in r for r in typed)
    assert all("cloud-api" not in r for r in reasons(got, "AML.T0054", "keyboard"))
    flood = reasons(got, "AML.T0029", "cloud-api")
    assert flood and all("cloud-llm" in r and "device-llm" not in r and "keyboard" not in r for r in flood)
    assert all("through cloud-api" not in r for f in got.findings if f.component == "device-llm"
               for r in f.reasons)


def test_a_server_that_pushes_to_the_device_unasked_is_a_way_in():
    # no call from the device: what the server sends is its own, whoever wrote to it
    got = predict(keyboard(device_calls=False))
    assert any("cloud-api" in r for r in reasons(got, "AML.T0051.000", "keyboard"))


def test_others_drawn_writing_through_the_server_still_reach_the_device():
    # a relay: other people's messages pass the server on their way to the phone
    got = predict(keyboard(extra_components=[{"id": "other-people", "kind": "external", "actor": "internet"}],
                           extra_flows=[{"from": "other-people", "to": "cloud-api"}]))
    assert any("other-people" in r for r in reasons(got, "AML.T0051", "keyboard"))


def test_others_answered_by_the_server_do_not_reach_the_device():
    # drawn calling the API and answered by it: they get their own answers, as the phone does
    got = predict(keyboard(extra_components=[{"id": "other-people", "kind": "external", "actor": "internet"}],
                           extra_flows=[{"from": "other-people", "to": "cloud-api"},
                                        {"from": "cloud-api", "to": "other-people"}]))
    assert all("other-people" not in r for r in reasons(got, "AML.T0051", "keyboard"))


def test_the_cloud_apis_query_controls_guard_the_cloud_model_not_the_phones():
    got = predict(keyboard())
    placed = {(f.component, m.id, m.component) for f in got.findings for m in f.mitigations}
    # the phone's model is asked on the phone; only the app's calls off the device pass the cloud API
    assert not [p for p in placed if p[0] == "device-llm" and p[2] == "cloud-api"]
    # (a per-caller quota there would stop nothing, anyone may sign up: blurring its outputs goes there)
    assert ("cloud-llm", "AML.M0002", "cloud-api") in placed


def test_an_apps_costly_calls_are_limited_at_the_api_it_calls_not_on_the_phone():
    # the keyboard's model work off the device is spent behind the cloud API: its limit is the one that counts
    s = keyboard()
    data = s.model_dump(by_alias=True, exclude_none=True)
    for c in data["components"]:
        if c["id"] == "cloud-api":
            c["rate_limited"] = True
    got = predict(System.model_validate(data))
    costly = next(f for f in got.findings if f.component == "keyboard" and f.technique_id == "AML.T0034.001")
    limit = next(m for m in costly.mitigations if m.id == "AML.M0004")
    assert limit.component == "cloud-api" and limit.in_place_at == "cloud-api"


def test_an_llm_app_shipped_to_peoples_machines_can_be_unpacked_from_its_store():
    got = predict(keyboard())
    assert "AML.T0004" in {f.technique_id for f in got.findings if f.component == "keyboard"}
