"""``advmatrix assess TARGET --plan FILE``: the plan ``advmatrix threatmodel --emit-assess-plan``
writes for each example system, run against real local targets (the digits CNN over KServe v2,
the local LLM application over the OpenAI-compatible API); bad plans are one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from advmatrix.errors import FormatError, UsageError
from advmatrix.threatmodel.plan import PLAN_VERSION, read_plan, run_plan

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "examples" / "systems").glob("*.yaml"))
BOGUS_TARGET = "kserve+http://127.0.0.1:9/none"  # never reached: the plan is refused first


@pytest.fixture(scope="module")
def llm_app(tmp_path_factory):
    """The local LLM application (naive profile) on loopback, as a target .yaml."""
    from advmatrix.serving import make_llm_app, running_server
    from advmatrix.serving.llm_target import llm_app_description

    with running_server(make_llm_app("naive")) as url:
        prompt = httpx.get(url + "/admin/info").json()["system_prompt"]
        path = tmp_path_factory.mktemp("app") / "app.yaml"
        path.write_text(yaml.safe_dump(llm_app_description(url, system_prompt=prompt)))
        yield path


def _emit(cli, system: Path, path: Path) -> Path:
    r = cli("threatmodel", system, "--emit-assess-plan", path, "--paths", "0", "--json")
    assert r.code == 0, r.err
    return path


@pytest.mark.parametrize("system", EXAMPLES, ids=lambda p: p.stem)
def test_emitted_plan_runs_with_assess_plan(cli, system, upstream, llm_app, tmp_path):
    plan = read_plan(_emit(cli, system, tmp_path / "plan.yaml"))
    assert plan.system == yaml.safe_load(system.read_text())["name"] and plan.assessments
    targets = {"classifier": f"kserve+{upstream}/digits", "chat": llm_app}
    budgets = {"classifier": 400, "chat": 40}  # enough for several black-box procedures to query
    for kind, procedures in plan.assessments.items():
        db = tmp_path / f"{kind}.db"
        r = cli("assess", targets[kind], "--plan", tmp_path / "plan.yaml", "--budget", budgets[kind],
                "--out", tmp_path / kind, "--db", db, "--json")
        assert r.code == 0, r.err
        findings = r.json()["findings"]
        # exactly the plan's procedures for this kind, in its order: the other kind's are not run
        assert [f["procedure"] for f in findings] == list(procedures)
        errors = [(f["procedure"], f["message"]) for f in findings if f["status"] == "error"]
        assert not errors, errors
        assert sum(f["status"] in ("completed", "partial") and f["queries"] > 0 for f in findings) >= 3, findings
        assert (tmp_path / kind / "report.json").is_file() and db.is_file()


def test_param_overrides_the_plan_and_the_plan_is_its_own_procedures(cli, llm_app, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\nassessments:\n  - kind: chat\n    procedures:\n"
                    "      direct-injection: {max_payloads: 2}\n      prompt-extraction:\n")
    r = cli("assess", llm_app, "--plan", plan, "--param", "direct-injection.max_payloads=3",
            "--out", tmp_path / "o", "--db", tmp_path / "r.db", "--json")
    assert r.code == 0, r.err
    findings = {f["procedure"]: f for f in r.json()["findings"]}
    assert list(findings) == ["direct-injection", "prompt-extraction"]
    assert findings["direct-injection"]["params"]["max_payloads"] == 3
    r = cli("assess", llm_app, "--plan", plan, "--procedures", "jailbreak", "--db", tmp_path / "x.db")
    assert r.code == 2 and "--plan and --procedures" in r.err and len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "x.db").exists()


def test_plan_without_an_assessment_for_the_targets_kind(cli, llm_app, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("assessments:\n  - kind: classifier\n    procedures: {square: {}}\n")
    r = cli("assess", llm_app, "--plan", plan, "--out", tmp_path / "o", "--db", tmp_path / "r.db")
    assert r.code == 2, r.err
    assert "plan.yaml: the plan has no assessment for an LLM application target" in r.err
    assert "has: classifier" in r.err and "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "r.db").exists() and not (tmp_path / "o").exists()


def test_run_plan_in_process_with_a_mock_target(tmp_path):
    from advmatrix.targets import ChatInfo, MockChatTarget

    path = tmp_path / "plan.json"  # JSON is YAML: a plan written by a program reads the same
    path.write_text(json.dumps({"version": PLAN_VERSION, "assessments": [
        {"kind": "classifier", "procedures": {"square": {}}},
        {"kind": "chat", "procedures": {"direct-injection": {"max_payloads": 2}, "prompt-extraction": None}}]}))
    target = MockChatTarget(lambda messages, tools: "I can only help with orders.", ChatInfo("mock app"))
    result = run_plan(target, path, budget=12)
    assert [f.procedure for f in result.assessment.findings] == ["direct-injection", "prompt-extraction"]
    assert result.assessment.findings[0].params["max_payloads"] == 2
    with pytest.raises(UsageError, match="not both"):
        run_plan(target, path, procedures=["square"])
    # a setting for a procedure of the other kind of target is refused, not added and skipped
    with pytest.raises(UsageError, match=r"--param square\..*: square tests a classifier, not an LLM application"):
        run_plan(target, path, params={"square": {"max_queries": 10}}, budget=12)


# -- bad plans: one line naming the file (and the line and field), exit 2, nothing written ---------

BAD = {
    "not-a-mapping": ("- kind: chat\n", r"plan.yaml:1: an assess plan is a mapping"),
    "wrong-version": ("version: 2\nassessments: []\n", r"plan.yaml:1: version: plan version 2 is not supported"),
    "no-assessments": ("version: 1\nsystem: x\n", r"plan.yaml:1: expected a list 'assessments'"),
    "unknown-procedure": ("assessments:\n  - kind: chat\n    procedures:\n      nope: {}\n",
                          r"plan.yaml:4: assessments\[0\]\.procedures\.nope: no such procedure installed"),
    "procedure-of-other-kind": ("assessments:\n  - kind: chat\n    procedures:\n      square: {}\n",
                                r"plan.yaml:4: assessments\[0\]\.procedures\.square: tests a classifier, "
                                r"not an LLM application"),
    "unknown-kind": ("assessments:\n  - kind: robot\n    procedures: {square: {}}\n",
                     r"plan.yaml:2: assessments\[0\]\.kind: must be one of classifier, chat; got 'robot'"),
    "params-not-mapping": ("assessments:\n  - kind: classifier\n    procedures:\n      square: [1, 2]\n",
                           r"plan.yaml:4: assessments\[0\]\.procedures\.square: parameters must be a mapping"),
    "kind-twice": ("assessments:\n  - {kind: chat, procedures: {jailbreak: {}}}\n"
                   "  - {kind: chat, procedures: {jailbreak: {}}}\n",
                   r"plan.yaml:3: assessments\[1\]\.kind: a second assessment for kind 'chat'"),
    "not-yaml": ("assessments: [\n", r"plan.yaml:2: not valid YAML"),
    "unknown-parameter": ("assessments:\n  - kind: chat\n    procedures:\n      jailbreak:\n"
                          "        max_payloads: 2\n        max_payloadz: 3\n",
                          r"plan.yaml:6: assessments\[0\]\.procedures\.jailbreak\.max_payloadz: "
                          r"unknown parameter 'max_payloadz'"),
    # checked with the plan, before the target is opened
    "unknown-obfuscation": ("assessments:\n  - kind: chat\n    procedures:\n      jailbreak: {obfuscations: [bogus]}\n",
                            r"plan.yaml:4: .*unknown obfuscation 'bogus'"),
    # a file's true is no count and '4' no number: they were taken as 1 and 4
    "bool-for-count": ("assessments:\n  - kind: chat\n    procedures:\n      jailbreak: {max_payloads: true}\n",
                       r"plan.yaml:4: assessments\[0\]\.procedures\.jailbreak.*max_payloads.*valid integer"),
    "text-for-count": ("assessments:\n  - kind: chat\n    procedures:\n      jailbreak: {max_payloads: '4'}\n",
                       r"plan.yaml:4: assessments\[0\]\.procedures\.jailbreak.*max_payloads.*valid integer"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_plan_is_one_line_and_exit_2(cli, name, tmp_path):
    text, pattern = BAD[name]
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    r = cli("assess", BOGUS_TARGET, "--plan", plan, "--out", tmp_path / "o", "--db", tmp_path / "r.db")
    assert r.code == 2, (r.out, r.err)
    assert r.err.startswith("advmatrix: error:") and len(r.err.strip().splitlines()) == 1, r.err
    assert "Traceback" not in r.err
    import re

    assert re.search(pattern, r.err), r.err
    assert not (tmp_path / "r.db").exists() and not (tmp_path / "o").exists()
    with pytest.raises(FormatError):
        read_plan(plan)


def test_missing_plan_file_is_one_line_and_exit_2(cli, tmp_path):
    r = cli("assess", BOGUS_TARGET, "--plan", tmp_path / "nowhere.yaml", "--db", tmp_path / "r.db")
    assert r.code == 2 and "nowhere.yaml: no such plan file" in r.err and len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "r.db").exists()


def test_a_plan_that_is_a_pipe_or_a_device_is_refused_not_read_for_ever(tmp_path):
    import os

    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero"):
        with pytest.raises(FormatError, match="not a regular file"):
            read_plan(path)


def test_plan_written_before_versions_reads_as_version_1(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("assessments:\n  - kind: classifier\n    procedures: {square: {}, fgsm: {eps: 0.1}}\n")
    plan = read_plan(path)
    assert plan.procedures_for("classifier") == {"square": {}, "fgsm": {"eps": 0.1}}
    with pytest.raises(UsageError, match="no assessment for an LLM application target"):
        plan.procedures_for("chat")


def test_a_text_classifier_gets_no_numeric_attacks_and_backdoor_says_it_needs_training(cli, tmp_path):
    def plan_for(modality: str) -> str:
        system = tmp_path / f"{modality}.yaml"
        system.write_text("name: screen\ncomponents:\n  - {id: u, kind: external}\n"
                          "  - {id: api, kind: service, audience: public, returns: scores}\n"
                          f"  - {{id: clf, kind: model, task: classification, modality: {modality}}}\n"
                          "  - {id: cvs, kind: dataset, writers: public, used_for: [training]}\n"
                          "flows: [{from: u, to: api}, {from: api, to: clf}, {from: cvs, to: clf}]\n")
        return _emit(cli, system, tmp_path / f"{modality}-plan.yaml").read_text()
    text = plan_for("text")
    assert yaml.safe_load(text)["assessments"] == []
    assert "the classifier procedures perturb numeric inputs" in text
    image = plan_for("image")
    procedures = yaml.safe_load(image)["assessments"][0]["procedures"]
    assert {"pgd", "backdoor"} <= set(procedures)
    assert "(needs train, x_members in the data set: --train)" in image


def test_check_says_what_a_plan_would_run_for_each_kind_and_opens_no_target(cli, tmp_path):
    plan = _emit(cli, ROOT / "examples" / "systems" / "support-agent.yaml", tmp_path / "plan.yaml")
    r = cli("assess", "--plan", plan, "--check", "--json", "--param", "jailbreak.max_payloads=2")
    assert r.code == 0, r.err
    would = json.loads(r.out)["would_run"]
    assert would["chat"]["jailbreak"]["max_payloads"] == 2
    assert set(would["chat"]) == set(read_plan(plan).procedures_for("chat")) | {"jailbreak"}
    # a bad setting is the same one line it is at run time; nothing was stored or written
    bad = cli("assess", "--plan", plan, "--check", "--param", "jailbreak.max_payloads=0")
    assert bad.code == 2 and "--param jailbreak.max_payloads" in bad.err and len(bad.err.strip().splitlines()) == 1
    assert cli("assess", "--check").code == 2
    missing = cli("assess")
    assert missing.code == 2 and "TARGET is missing" in missing.err
    assert not list(tmp_path.glob("*.db")) and not (tmp_path / "advmatrix-report").exists()


def test_check_refuses_the_gates_and_targets_a_run_would_refuse(cli, tmp_path):
    plan = _emit(cli, ROOT / "examples" / "systems" / "support-agent.yaml", tmp_path / "plan.yaml")
    for args, says in ((["--fail-on", "bogus"], "expected SELECTOR.METRIC OP NUMBER"),
                       (["--fail-on", "evasion.success>0"], "no procedure of the plan matches 'evasion'"),
                       (["nosuch+proto://x"], "not a target URI")):
        r = cli("assess", *args, "--plan", plan, "--check")
        assert r.code == 2 and says in r.err, (args, r.err)
    assert cli("assess", "--plan", plan, "--check", "--fail-on", "injection.success>0.5").code == 0
    # a --param for a kind of target the plan has no assessment for is refused, as a run refuses it
    other = cli("assess", "--plan", plan, "--check", "--param", "square.n_samples=5")
    assert other.code == 2 and "square tests a classifier, and the plan has no assessment for one" in other.err


def test_an_llm_served_as_a_model_behind_a_chat_api_gets_the_chat_procedures(cli, tmp_path):
    system = tmp_path / "llm.yaml"
    system.write_text("name: chat\ncomponents:\n  - {id: u, kind: external, actor: user}\n"
                      "  - {id: api, kind: service, audience: public, returns: text}\n"
                      "  - {id: llm, kind: model, task: generation, modality: text}\n"
                      "flows: [{from: u, to: api}, {from: api, to: llm}, {from: llm, to: api}]\n")
    plan = yaml.safe_load(_emit(cli, system, tmp_path / "plan.yaml").read_text())
    chat = [a for a in plan["assessments"] if a["kind"] == "chat"]
    assert chat and {"direct-injection", "jailbreak"} <= set(chat[0]["procedures"])


def test_the_practice_app_prints_its_own_target_description(cli):
    # a newcomer had to guess the /admin routes and write the tool schemas to run a plan's RAG and tool steps
    from advmatrix.serving import LlmApplication
    from advmatrix.serving.llm_target import llm_app_description

    r = cli("serve-llm-app", "--print-target", "--port", "8123", "--profile", "hardened", "--seed", "3")
    assert r.code == 0, r.err
    target = yaml.safe_load(r.out)
    prompt = LlmApplication("hardened", 3).info()["system_prompt"]  # grey box: prompt extraction is judged
    assert target == {k: v for k, v in llm_app_description("http://127.0.0.1:8123", system_prompt=prompt).items()
                      if v is not None}
    assert target["plant"]["retrieved_document"]["url"] == "http://127.0.0.1:8123/admin/documents"
    # through a gateway: the chat goes there, content is still planted at the app; a key is named, not printed
    r = cli("serve-llm-app", "--print-target", "--port", "8123", "--via", "http://127.0.0.1:8100/",
            "--api-key", "topsecret")
    target = yaml.safe_load(r.out)
    assert target["url"] == "http://127.0.0.1:8100/v1" and target["api_key"] == "${ADVMATRIX_LLM_APP_KEY}"
    assert target["plant"]["web_page"]["url"] == "http://127.0.0.1:8123/admin/pages" and "topsecret" not in r.out
    r = cli("serve-llm-app", "--via", "http://127.0.0.1:8100")
    assert r.code == 2 and "--via goes with --print-target" in r.err
    r = cli("serve-llm-app", "--print-target", "--port", "0")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "--port" in r.err


def test_the_plan_says_which_procedure_runs_only_with_a_parameter_it_cannot_give(cli, tmp_path):
    plan = _emit(cli, ROOT / "examples" / "systems" / "support-agent.yaml", tmp_path / "plan.yaml").read_text()
    comment = next(line for line in plan.splitlines() if line.strip().startswith("# harmful-content:"))
    assert "skipped without --param harmful-content.judge=..." in comment
    assert not any("skipped without" in line for line in plan.splitlines() if "# direct-injection:" in line)


def test_a_plan_parameter_one_slip_from_a_real_one_is_named_with_what_the_procedure_takes(cli, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("assessments:\n  - kind: chat\n    procedures:\n      direct-injection: {max_payload: 2}\n")
    r = cli("assess", BOGUS_TARGET, "--plan", plan, "--db", tmp_path / "r.db")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r.err
    assert "unknown parameter 'max_payload' (did you mean 'max_payloads'? it takes " in r.err


def test_check_says_which_procedure_would_be_skipped_for_want_of_a_parameter(cli, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("assessments:\n  - kind: chat\n    procedures:\n      harmful-content:\n      jailbreak:\n")
    r = cli("assess", "--plan", plan, "--check", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["would_skip"] == {"chat": {"harmful-content": ["judge"]}}
    r = cli("assess", "--plan", plan, "--check")
    assert "harmful-content would be skipped without --param harmful-content.judge=..." in r.out
    judged = cli("assess", "--plan", plan, "--check", "--json", "--param",
                 "harmful-content.judge={protocol: openai, url: 'http://127.0.0.1:9/v1'}")
    assert judged.code == 0, judged.err
    assert json.loads(judged.out)["would_skip"] == {}
