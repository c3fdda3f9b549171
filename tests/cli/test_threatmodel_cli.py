"""``advmatrix threatmodel``: the outputs it writes, its --json, its exit codes, its bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from advmatrix.threatmodel import load_system
from advmatrix.threatmodel import report as tmr

ROOT = Path(__file__).parents[2]
AGENT = ROOT / "examples" / "systems" / "support-agent.yaml"
DATA = ROOT / "tests" / "threatmodel" / "data"
BOMS = ROOT / "examples" / "boms"

SAFE = """\
name: safe
components:
  - {id: notes, kind: dataset, source: collected, writers: internal}
"""


def test_writes_every_format_and_both_emitted_files(cli, tmp_path):
    out = tmp_path / "out"
    r = cli("threatmodel", AGENT, "--out", out, "--emit-assess-plan", tmp_path / "plan.yaml",
            "--emit-monitor-config", tmp_path / "gw.yaml", "--paths", "2")
    assert r.code == 0, r.err
    assert sorted(p.name for p in out.iterdir()) == sorted(tmr.FORMATS.values())  # no temporary files left
    data = json.loads((out / "threatmodel.json").read_text())
    assert data["system"] == "support-agent" and len(data["paths"]) == 2
    assert tmr.read_assess_plan(tmp_path / "plan.yaml")
    assert "upstream:" in (tmp_path / "gw.yaml").read_text()
    assert "support-agent" in r.out and "threatmodel.sarif" in r.out


def test_emitted_files_may_go_into_the_out_directory_the_run_creates(cli, tmp_path):
    out = tmp_path / "new" / "dir"
    r = cli("threatmodel", AGENT, "--out", out, "--emit-assess-plan", out / "plan.yaml",
            "--emit-monitor-config", out / "gw.yaml", "--paths", "0")
    assert r.code == 0, r.err
    assert {"plan.yaml", "gw.yaml", *tmr.FORMATS.values()} == {p.name for p in out.iterdir()}


def test_a_bad_emit_destination_does_not_leave_the_new_out_directory_behind(cli, tmp_path):
    r = cli("threatmodel", AGENT, "--out", tmp_path / "new", "--emit-assess-plan", tmp_path / "nodir" / "plan.yaml")
    assert r.code == 2 and "does not exist" in r.err
    assert not (tmp_path / "new").exists()


def test_a_write_that_fails_part_way_leaves_no_new_out_directory_behind(cli, tmp_path):
    r = cli("threatmodel", AGENT, "--out", tmp_path / "new", "--emit-assess-plan", "/dev/full")
    assert r.code == 2 and "/dev/full: cannot write" in r.err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("twice", [("--fail-on", "likely", "--fail-on", "possible"),
                                   ("--overlay", "a.yaml", "--overlay=b.yaml"), ("-o", "x1", "--out", "x2")])
def test_an_option_that_takes_one_value_given_twice_is_refused(cli, tmp_path, twice):
    r = cli("threatmodel", AGENT, *twice)
    assert r.code == 2 and "given 2 times; give it once" in r.err and not (tmp_path / "x1").exists()
    # help asked for is shown, whatever else the line holds
    r = cli("threatmodel", AGENT, *twice, "--help")
    assert r.code == 0 and "Usage: advmatrix threatmodel" in " ".join(r.out.split()) and not r.err


def test_an_emit_destination_that_is_a_directory_leaves_nothing_behind(cli, tmp_path):
    out = tmp_path / "od"
    r = cli("threatmodel", AGENT, "--out", out, "--emit-assess-plan", out)
    assert r.code == 2 and "is the --out directory; the assess plan needs a file name" in r.err
    assert not out.exists()
    (tmp_path / "taken").mkdir()
    r = cli("threatmodel", AGENT, "--out", tmp_path / "od2", "--emit-monitor-config", tmp_path / "od2" / "x",
            "--emit-assess-plan", tmp_path / "taken")
    assert r.code == 2 and not (tmp_path / "od2").exists()


def test_an_emit_destination_ending_in_a_slash_is_refused_not_written_as_a_file(cli, tmp_path):
    r = cli("threatmodel", AGENT, "--emit-assess-plan", f"{tmp_path / 'plans'}/")
    assert r.code == 2 and "--emit-assess-plan needs a file name" in r.err
    assert not (tmp_path / "plans").exists()


def test_more_paths_than_an_analyst_reads_is_a_usage_error(cli):
    r = cli("threatmodel", AGENT, "--paths", "101")
    assert r.code == 2 and "0<=x<=100" in r.err


def test_format_selects_outputs(cli, tmp_path):
    r = cli("threatmodel", AGENT, "--out", tmp_path, "--format", "layer,sarif", "--paths", "0")
    assert r.code == 0, r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["threatmodel-layer.json", "threatmodel.sarif"]
    assert "earlier run" not in r.err


def test_a_format_may_be_spelt_out(cli, tmp_path):
    r = cli("threatmodel", AGENT, "--out", tmp_path, "--format", "markdown,navigator", "--paths", "0")
    assert r.code == 0, r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["threatmodel-layer.json", "threatmodel.md"]


def test_reports_left_from_an_earlier_run_are_named_not_deleted(cli, tmp_path):
    assert cli("threatmodel", AGENT, "--out", tmp_path, "--paths", "0").code == 0
    r = cli("threatmodel", AGENT, "--out", tmp_path, "--format", "md", "--paths", "0")
    assert r.code == 0, r.err
    (line,) = [ln for ln in r.err.splitlines() if "earlier run" in ln]
    assert line.startswith("advmatrix: warning: ") and "threatmodel.html" in line and "threatmodel.md" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(tmr.FORMATS.values())


def test_json_matches_the_engine(cli):
    r = cli("threatmodel", AGENT, "--json", "--paths", "1")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["techniques"] == list(tmr.predict(load_system(AGENT)).technique_ids)
    assert len(data["paths"]) == 1 and data["written"] == {}


def test_bom_detected_by_content_with_overlay(cli, tmp_path):
    r = cli("threatmodel", BOMS / "chatbot.bom.json", "--overlay", BOMS / "chatbot-overlay.yaml", "--json",
            "--format", "sarif", "--out", tmp_path)
    assert r.code == 0, r.err
    assert {c["component"] for c in json.loads(r.out)["components"]} >= {"tuned-llm", "send-email"}
    sarif = json.loads((tmp_path / "threatmodel.sarif").read_text())
    assert any("region" in res["locations"][0]["physicalLocation"] for res in sarif["runs"][0]["results"])


def test_fail_on_likely_exits_one_when_an_unmitigated_likely_technique_is_predicted(cli, tmp_path):
    r = cli("threatmodel", AGENT, "--fail-on", "likely", "--json", "--paths", "0")
    assert r.code == 1
    failing = json.loads(r.out)["failing"]
    assert failing and all(f["tier"] == "likely" and not any(m["in_place"] for m in f["mitigations"])
                           for f in failing)
    safe = tmp_path / "safe.yaml"
    safe.write_text(SAFE)
    expected = 1 if tmr.gate(tmr.predict(load_system(safe)), "likely") else 0
    assert cli("threatmodel", safe, "--fail-on", "likely", "--paths", "0").code == expected == 0


def test_fail_on_passes_once_every_mitigable_finding_has_a_control(cli, tmp_path):
    # The support agent with its fraudster: put in place the first missing mitigation of each failing
    # finding, on the component it is advised for, until nothing fails; findings ATLAS names no
    # mitigation for (account sign-up, prompt crafting) are listed in the JSON but must not block.
    system = load_system(AGENT)
    for _ in range(5):
        failing = tmr.gate(tmr.predict(system), "likely")
        if not failing:
            break
        add: dict[str, set[str]] = {}
        kinds = {c.id: c.kind for c in system.components}
        for f in failing:
            # an adversary holds no controls: its own findings are countered wherever the system holds one
            first = next(m for m in f.missing if m.prevents)  # a held log would clear nothing
            where = next(c.id for c in system.components if c.kind == "llm-app") \
                if kinds[first.component] == "adversary" else first.component
            add.setdefault(where, set()).add(first.id)
        system = system.model_copy(update={"components": tuple(
            c.model_copy(update={"controls": tuple(sorted(set(c.controls) | add.get(c.id, set())))})
            for c in system.components)})
    assert not tmr.gate(tmr.predict(system), "likely")
    path = tmp_path / "guarded.json"
    path.write_text(json.dumps(system.model_dump(mode="json", by_alias=True, exclude_defaults=True)))
    r = cli("threatmodel", path, "--fail-on", "likely", "--json", "--paths", "0")
    assert r.code == 0, r.err
    got = json.loads(r.out)
    assert got["failing"] == [] and got["unmitigable"]
    assert all(not m["prevents"] for f in got["unmitigable"] for m in f["mitigations"])
    text = cli("threatmodel", path, "--fail-on", "likely", "--paths", "0")
    assert text.code == 0 and "have no mitigation in ATLAS or the rules that stops them and do not count" in text.err
    n_ids = len({f["technique"] for f in got["unmitigable"]})
    assert f"finding(s) of {n_ids} technique(s)" in text.err


def test_help_documents_exit_codes(cli):
    r = cli("threatmodel", "--help")
    assert r.code == 0 and "Exit codes" in r.out and "--emit-assess-plan" in r.out


@pytest.mark.parametrize("text, args, message", [
    ("name: x\ncomponents:\n  - {id: a, kind: modle}\n", (),
     r"system.yaml:3: components\[0\]\.kind: unknown component kind"),
    ("name: x\ncomponents:\n  - {id: a, kind: service, audience: everyone}\n", (),
     r"system.yaml:3: components\[0\]\.audience: must be one of"),
    (SAFE, ("--format", "pdf"), r"--format 'pdf': must be one of"),
    (SAFE, ("--fail-on", "certain"), r"--fail-on must be one of likely, possible"),
    (SAFE, ("--rules", "{tmp}/missing.yaml"), r"missing.yaml: no such rule file"),
    (SAFE, ("--overlay", "{tmp}/system.yaml"), r"overlay completes a CycloneDX BOM"),
    ('{"bomFormat": "CycloneDX", "specVersion": "1.4"}', ("--out", "{tmp}/o"), r"CycloneDX 1.4 cannot describe ML"),
])
def test_bad_input_is_one_line_exit_two_and_no_files(cli, tmp_path, text, args, message):
    system = tmp_path / "system.yaml"
    system.write_text(text)
    r = cli("threatmodel", system, *[a.format(tmp=tmp_path) for a in args])
    assert r.code == 2 and re.search(message, r.err), r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, message", [
    (("--out", "{tmp}/o"), r"o/threatmodel.sarif: is a directory"),
    (("--out", "{tmp}/o", "-f", "json", "--emit-assess-plan", "{tmp}/nodir/plan.yaml"),
     r"nodir/plan.yaml: directory .* does not exist"),
    (("--out", "{tmp}/o", "-f", "md", "--emit-monitor-config", "{tmp}/o"),
     r"/o: is the --out directory; the monitor config needs a file name"),
    (("--format", ",,"), r"--format names no format"),
])
def test_a_bad_destination_leaves_no_file_written(cli, tmp_path, args, message):
    system = tmp_path / "system.yaml"
    system.write_text(SAFE)
    (tmp_path / "o" / "threatmodel.sarif").mkdir(parents=True)
    r = cli("threatmodel", system, *[a.format(tmp=tmp_path) for a in args])
    assert r.code == 2 and re.search(message, r.err), r.err
    assert len(r.err.strip().splitlines()) == 1 and ".tmp" not in r.err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["threatmodel.sarif"]


def test_a_description_without_components_says_so(cli, tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("name: x\ncomponents: []\n")
    r = cli("threatmodel", path, "--json")
    assert r.code == 0 and json.loads(r.out)["techniques"] == []
    assert "the description has no components, so nothing can be predicted" in r.err


def test_the_keys_json_adds_are_documented(cli, tmp_path):
    from tests.threatmodel.test_outputs import _documented_keys

    r = cli("threatmodel", AGENT, "--json", "--fail-on", "likely", "--paths", "0")
    added = set(r.json()) - _documented_keys()["top"]
    assert added == _documented_keys()["Added by --json"] == {"written", "fail_on", "failing", "unmitigable"}


def test_schema_prints_the_json_schema_and_a_missing_system_is_one_line(cli):
    r = cli("threatmodel", "--schema")
    assert r.code == 0
    schema = json.loads(r.out)
    assert schema["$schema"].endswith("2020-12/schema") and "components" in schema["properties"]
    bare = cli("threatmodel")
    assert bare.code == 2 and "SYSTEM is missing" in bare.err and "Traceback" not in bare.err
    # whatever is given beside it would be ignored: a misspelt gate must not pass
    mixed = cli("threatmodel", "--schema", "--fail-on", "bogus")
    assert mixed.code == 2 and "--schema prints the JSON Schema and takes nothing else (got --fail-on)" in mixed.err


def test_sigterm_while_writing_leaves_no_half_made_out_directory(cli, tmp_path, monkeypatch):
    import contextlib
    import os
    import signal

    from advmatrix.threatmodel import report

    real = report.atomic_path
    calls = []

    @contextlib.contextmanager
    def terminated_midway(path):
        calls.append(path)
        with real(path) as tmp:
            if len(calls) == 2:  # one file's temporary copy written, the next one begun
                os.kill(os.getpid(), signal.SIGTERM)
            yield tmp

    monkeypatch.setattr(report, "atomic_path", terminated_midway)
    before = signal.getsignal(signal.SIGTERM)
    out = tmp_path / "out"
    r = cli("threatmodel", AGENT, "--out", out, "--format", "all", "--paths", "0")
    assert r.code == 143 and r.err.strip() == "advmatrix: terminated", r.err
    assert not out.exists() and len(calls) == 2
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is the command's only


@pytest.mark.parametrize(("args", "shown"), [
    (["--fail-on", "likely\nadvmatrix: error: forged"], "(got 'likely\\nadvmatrix: error: forged')"),
    (["--format", "json\nX"], "--format 'json\\nX'"),
    (["--rules", "nofile\nX"], "'nofile\\nX': no such rule file"),
])
def test_a_value_with_a_line_break_stays_on_the_errors_one_line(cli, args, shown):
    r = cli("threatmodel", AGENT, *args)
    assert r.code == 2 and shown in r.err and len(r.err.strip().splitlines()) == 1, r.err


@pytest.mark.parametrize("args", [["--paths", "101"], ["--fromat", "json"], ["--paths"]])
def test_a_usage_error_is_one_line_not_a_box(cli, args):
    r = cli("threatmodel", AGENT, *args)
    assert r.code == 2 and r.err.startswith("advmatrix: error: ") and len(r.err.strip().splitlines()) == 1, r.err
    assert "--help" in r.err and "╭" not in r.err


def test_command_line_values_with_line_breaks_cannot_forge_error_lines(cli):
    forged = "x\nadvmatrix: error: forged"
    for args in (["kb", "show", forged], ["kb", "show", "a", forged], ["threatmodel", forged],
                 ["assess", "openai+http://127.0.0.1:9/v1", "--param", f"direct-injection.{forged}=1"]):
        r = cli(*args)
        assert r.code in (2, 3) and len(r.err.strip().splitlines()) == 1, (args, r.err)
        assert "x\\nadvmatrix: error: forged" in r.err


def test_every_line_of_a_many_problem_error_is_an_error_line(cli, tmp_path):
    two = tmp_path / "two.yaml"
    two.write_text("name: s\ncomponents:\n  - {id: a, kind: model, task: bogus}\n"
                   "  - {id: b, kind: service, audience: all}\n")
    r = cli("threatmodel", two)
    lines = r.err.strip().splitlines()
    assert r.code == 2 and len(lines) == 2 and all(line.startswith("advmatrix: error: ") for line in lines)


def test_ctrl_c_says_it_was_interrupted(cli, monkeypatch):
    from advmatrix.threatmodel import report

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(report, "build", interrupted)
    r = cli("threatmodel", AGENT)
    assert r.code == 130 and r.err.strip() == "advmatrix: interrupted"


def test_an_attached_short_option_given_twice_is_refused_and_help_names_the_command(cli, tmp_path):
    r = cli("threatmodel", AGENT, f"-o{tmp_path / 'a'}", f"-o{tmp_path / 'b'}")
    assert r.code == 2 and "--out given 2 times" in r.err and not (tmp_path / "b").exists()
    r = cli("assess", "--plan")
    assert r.code == 2 and "(see advmatrix assess --help)" in r.err


def test_a_gate_on_a_description_with_nothing_in_it_fails_loudly(cli, tmp_path):
    (tmp_path / "empty.yaml").write_text("name: x\n")
    r = cli("threatmodel", str(tmp_path / "empty.yaml"), "--fail-on", "likely")
    assert r.code == 2 and "--fail-on likely: the description has no components, so it gates nothing" in r.err


def test_format_names_are_not_case_sensitive_and_a_wrong_one_lists_every_spelling(cli, tmp_path):
    r = cli("threatmodel", AGENT, "--out", tmp_path, "--format", "JSON,Markdown", "--paths", "0")
    assert r.code == 0, r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["threatmodel.json", "threatmodel.md"]
    r = cli("threatmodel", AGENT, "--format", "pdf")
    assert r.code == 2 and "markdown" in r.err and "navigator" in r.err


def test_the_console_names_where_a_missing_mitigation_goes_when_not_on_the_findings_component(cli, tmp_path):
    # controls for a vendor's speech API go on the terminal the audio passes: a console reader must see that
    path = tmp_path / "robot.yaml"
    path.write_text("""\
name: robot
components:
  - {id: floor, kind: external, actor: user}
  - {id: terminal, kind: service, audience: internal, returns: text}
  - {id: asr, kind: model, task: speech-recognition, modality: audio, trained_by: vendor, source: vendor-api,
     artifact_format: hosted}
  - {id: planner, kind: llm-app}
flows: [{from: floor, to: terminal}, {from: terminal, to: asr}, {from: asr, to: planner}, {from: planner, to: terminal}]
""")
    r = cli("threatmodel", path)
    assert r.code == 0
    # the table folds long cells over lines: read the last column's text in order, row by row
    cells = [line.split("│")[4].strip() for line in r.out.splitlines() if line.count("│") == 5]
    assert "AML.M0010 on terminal" in " ".join(cells), r.out
    assert " on asr" not in " ".join(cells)  # the finding's own component goes unsaid


def test_a_plan_alone_says_nothing_of_reports_left_in_the_current_directory(cli, tmp_path, monkeypatch):
    # no report is written by a run that only emits a plan: the reports of an earlier run are not its to name
    # (newcomer walkthrough: it warned of ./threatmodel.json and advised --format all)
    monkeypatch.chdir(tmp_path)
    assert cli("threatmodel", AGENT, "--format", "json", "--paths", "0").code == 0
    r = cli("threatmodel", AGENT, "--emit-assess-plan", tmp_path / "plan.yaml", "--paths", "0")
    assert r.code == 0, r.err
    assert "earlier run" not in r.err


@pytest.mark.parametrize("option", ["--emit-assess-plan", "--emit-monitor-config"])
def test_a_plan_to_standard_output_is_refused_like_the_input_from_it(cli, tmp_path, monkeypatch, option):
    monkeypatch.chdir(tmp_path)
    r = cli("threatmodel", AGENT, option, "-", "--paths", "0")
    assert r.code == 2 and f"{option} '-'" in r.err and not (tmp_path / "-").exists(), r.err


def test_a_plan_whose_folder_is_a_file_names_the_option(cli, tmp_path):
    (tmp_path / "afile").write_text("x")
    r = cli("threatmodel", AGENT, "--emit-assess-plan", tmp_path / "afile" / "plan.yaml", "--paths", "0")
    assert r.code == 2 and "--emit-assess-plan" in r.err and "Traceback" not in r.err, r.err


def test_an_empty_plan_or_a_gateway_that_watches_nothing_is_said(cli, tmp_path):
    (tmp_path / "s.yaml").write_text("name: empty\ncomponents: []\n")
    r = cli("threatmodel", tmp_path / "s.yaml", "--emit-assess-plan", tmp_path / "plan.yaml",
            "--emit-monitor-config", tmp_path / "gw.yaml", "--paths", "0")
    assert r.code == 0, r.err
    assert "plan.yaml: no procedure" in r.err and "gw.yaml: no detector runs" in r.err, r.err


def test_an_spdx_document_is_named_as_one(cli, tmp_path):
    (tmp_path / "sbom.json").write_text(json.dumps({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT",
                                                    "packages": []}))
    r = cli("threatmodel", tmp_path / "sbom.json")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "SPDX" in r.err and "CycloneDX" in r.err, r.err


def test_an_empty_kind_is_said_to_be_empty(cli, tmp_path):
    (tmp_path / "s.yaml").write_text("name: x\ncomponents:\n  - id: m\n    kind: ~\n")
    r = cli("threatmodel", tmp_path / "s.yaml")
    assert r.code == 2 and "s.yaml:4" in r.err and "given empty" in r.err and "'None'" not in r.err, r.err


def test_a_sub_technique_is_named_with_its_parent_wherever_people_read_it(cli, tmp_path):
    # "AML.T0051.000 Direct on agent" says nothing alone; SARIF already said "LLM Prompt Injection: Direct"
    # (newcomer walkthrough)
    r = cli("threatmodel", AGENT, "--fail-on", "likely", "--out", tmp_path, "--format", "md,html", "--paths", "0")
    assert r.code == 1, r.err
    # the table folds a long name over lines of its cell: the first line of the cell holds the parent's name
    assert re.search(r"AML\.T0051\.000 LLM Prompt", r.out), r.out
    assert any(": " in line.split(" on ")[0] for line in r.err.splitlines() if re.search(r"AML\.T\d{4}\.\d{3} ", line))
    for name in ("threatmodel.md", "threatmodel.html"):
        assert "LLM Prompt Injection: Direct" in (tmp_path / name).read_text(encoding="utf-8"), name
