"""Every LLM procedure against the local LLM application's three profiles, over the real
OpenAI-compatible protocol: what works on the naive application, what the keyword filter lets
through (obfuscation, framing), and what the hardened one holds against."""

from __future__ import annotations

import httpx
import pytest

from advmatrix.emulate import assess, get
from advmatrix.serving import make_llm_app, running_server
from advmatrix.serving.llm_target import llm_app_description
from advmatrix.targets import open_target

PROFILES = ("naive", "filtered", "hardened")


@pytest.fixture(scope="module")
def apps():
    with running_server(make_llm_app("naive")) as naive, running_server(make_llm_app("filtered")) as filtered, \
            running_server(make_llm_app("hardened")) as hardened:
        yield {"naive": naive, "filtered": filtered, "hardened": hardened}


def _target(url: str):
    prompt = httpx.get(url + "/admin/info").json()["system_prompt"]
    return open_target(llm_app_description(url, system_prompt=prompt))


def _rate(apps, profile: str, name: str, **params) -> float:
    httpx.post(apps[profile] + "/admin/reset")
    with _target(apps[profile]) as t:
        f = get(name)(**params).run(t, None)
    assert f.status == "completed", (name, profile, f.message)
    return f.success_rate


# procedures whose success the naive application shows and the hardened one never does
FALLS_AND_HOLDS = ["direct-injection", "indirect-injection", "prompt-extraction", "data-leakage",
                   "rendering-exfiltration", "tool-abuse", "jailbreak", "self-replication", "triggered-injection",
                   "cost-harvesting", "agent-discovery", "cs-conversation-exfiltration", "cs-tool-exfiltration",
                   "cs-rag-worm", "agent-resource-consumption", "special-tokens"]


@pytest.mark.parametrize("name", FALLS_AND_HOLDS)
def test_naive_falls_and_hardened_holds(apps, name):
    assert _rate(apps, "naive", name, max_payloads=6) > 0
    assert _rate(apps, "hardened", name, max_payloads=6) == 0


def test_the_filter_stops_plain_attacks_but_not_obfuscated_or_framed_ones(apps):
    plain = _rate(apps, "filtered", "direct-injection", max_payloads=8)
    obfuscated = _rate(apps, "filtered", "obfuscated-injection", max_payloads=8)
    framed = _rate(apps, "filtered", "jailbreak", max_payloads=8)
    assert plain <= 0.2 and obfuscated >= 0.5 and framed >= 0.5
    assert _rate(apps, "naive", "direct-injection", max_payloads=8) > plain


def test_the_template_shows_its_end_of_turn_token_on_both_weaker_profiles(apps):
    """The naive and filtered applications build a ChatML prompt from unescaped user text: only
    ChatML's end-of-turn token cuts their repetition, so one family of six is found."""
    for profile in ("naive", "filtered"):
        httpx.post(apps[profile] + "/admin/reset")
        with _target(apps[profile]) as t:
            f = get("special-tokens")().run(t, None)
        assert f.success_rate == pytest.approx(1 / 6), profile
        assert any("<|im_end|> ends the turn" in e.note for e in f.evidence)
        assert not any("<|eot_id|> ends the turn" in e.note for e in f.evidence)


def test_a_false_rag_entry_works_even_on_the_hardened_application(apps):
    """Hardening against instructions in content does not stop a false fact in the store: the
    application answers from its documents, and the attacker wrote one."""
    assert _rate(apps, "hardened", "rag-poisoning") > 0


def test_assess_over_the_cli_engine_stores_transcripts_and_gates(apps, tmp_path):
    desc = llm_app_description(apps["naive"])
    result = assess(desc, procedures={"direct-injection": {}, "square": {}}, store=tmp_path / "r.db",
                    out_dir=tmp_path / "out", fail_on=["injection.success>0.5"])
    by = {f.procedure: f for f in result.assessment.findings}
    assert by["square"].status == "skipped" and "needs a classifier" in by["square"].message
    assert by["direct-injection"].success_rate > 0.5 and result.failed
    html = (tmp_path / "out" / "report.html").read_text()
    assert 'class="transcript"' in html and "AML.T0051.000" in html
    assert result.assessment.target["channels"] == desc["channels"]


def test_cli_sets_procedure_parameters(apps, cli, tmp_path):
    import yaml

    target = tmp_path / "app.yaml"
    target.write_text(yaml.safe_dump(llm_app_description(apps["filtered"])))
    common = ["assess", target, "--out", tmp_path / "o", "--db", tmp_path / "r.db", "--json"]
    r = cli(*common, "--param", "direct-injection.obfuscations=[base64]", "--param", "direct-injection.max_payloads=4")
    assert r.code == 0, r.err
    (finding,) = r.json()["findings"]
    assert finding["params"]["obfuscations"] == ["base64"] and "uplift_base64" in finding["metrics"]
    bad = cli(*common, "--param", "direct-injection.obfuscations")
    assert bad.code == 2 and "expected PROCEDURE.KEY=VALUE" in bad.err
    typo = cli(*common, "--param", "direct-injection.obfuscation=[base64]")
    assert typo.code == 2 and "parameter 'obfuscation'" in typo.err
