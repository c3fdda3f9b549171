"""``advmatrix kb``: every command, its --json output, and bad input as one line on stderr."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from advmatrix.kb import layer as layer_format
from advmatrix.kb import stix


def test_stats_json_has_exactly_the_documented_keys(cli):
    r = cli("kb", "stats", "--json")
    assert r.code == 0
    assert r.json() == {"version": "5.6.0", "tactics": 16, "techniques": 101, "subtechniques": 69,
                        "mitigations": 35, "case_studies": 57, "procedure_steps": 449}


def test_stats_for_people(cli):
    r = cli("kb", "stats")
    assert r.code == 0 and "ATLAS 5.6.0" in r.out and "procedure steps" in r.out


def test_show_technique_json(cli):
    r = cli("kb", "show", "AML.T0043", "--json")
    data = r.json()
    assert data["id"] == "AML.T0043" and data["kind"] == "technique"
    assert next(s["id"] for s in data["subtechniques"]) == "AML.T0043.000"
    assert any(m["id"] == "AML.M0003" and m["use"] for m in data["mitigations"])
    assert data["owasp_ml"] == [{"id": "ML01", "name": "Input Manipulation Attack"}]
    assert data["nist_ai_rmf"] == ["MEASURE"]


@pytest.mark.parametrize("object_id, expect", [
    ("AML.TA0001", "AI Attack Staging"), ("AML.M0004", "Restrict Number of AI Model Queries"),
    ("AML.CS0003", "Procedure"), ("aml.t0051.001", "Indirect"),
])
def test_show_any_kind_for_people(cli, object_id, expect):
    r = cli("kb", "show", object_id)
    assert r.code == 0 and expect in r.out


def test_show_for_people_wraps_the_whole_description_and_every_mitigation_note(cli):
    # The console keeps piped lines whole (soft wrap), which inside a panel cropped each line at its edge.
    r = cli("kb", "show", "AML.T0011.000")
    text = " ".join(line.strip("│ ") for line in r.out.splitlines())
    data = cli("kb", "show", "AML.T0011.000", "--json").json()
    assert "persistence, often delivered through AI Supply Chain Compromise (AML.T0010)." in " ".join(text.split())
    assert data["description"].split()[-8] == "persistence,"
    for m in data["mitigations"]:
        assert " ".join(m["use"].split()[-3:]) in " ".join(text.split())


def test_unknown_id_is_one_line_and_exit_3(cli):
    r = cli("kb", "show", "AML.T0043x")
    assert r.code == 3
    assert r.err.strip().count("\n") == 0
    assert r.err.startswith("advmatrix: error: no object with ID 'AML.T0043x'") and "did you mean" in r.err
    assert "Traceback" not in r.err


def test_list_with_filters(cli):
    r = cli("kb", "list", "techniques", "--tactic", "AML.TA0001", "--maturity", "realized", "--json")
    rows = r.json()
    assert rows and all("AML.TA0001" in row["tactics"] and row["maturity"] == "realized" for row in rows)
    by_name = cli("kb", "list", "techniques", "--tactic", "ai attack staging", "--json").json()
    assert {x["id"] for x in by_name} >= {x["id"] for x in rows}
    top = cli("kb", "list", "techniques", "--no-subtechniques", "--json").json()
    assert len(top) == 101
    assert len(cli("kb", "list", "case-studies", "--json").json()) == 57
    assert len(cli("kb", "list", "mitigations", "--json").json()) == 35


def test_list_bad_filters(cli):
    r = cli("kb", "list", "mitigations", "--maturity", "realized")
    assert r.code == 2 and "--maturity applies to techniques only" in r.err
    r = cli("kb", "list", "techniques", "--tactic", "Nonsense")
    assert r.code == 3 and "--tactic 'Nonsense': no tactic with that ID or name" in r.err
    near = cli("kb", "list", "techniques", "--tactic", "initial acess")
    assert near.code == 3 and "did you mean 'Initial Access'?" in near.err


def test_empty_values_and_filters_that_do_not_apply_are_refused(cli):
    for args in (["kb", "list", "techniques", "--tactic", ""], ["kb", "search", "prompt", "--kind", ""],
                 ["plugins", "--kind="]):
        r = cli(*args)
        assert r.code == 2 and ": an empty value; give one, or leave the option out" in r.err, args
    r = cli("kb", "list", "mitigations", "--tactic", "AML.TA0001")
    assert r.code == 2 and "--tactic applies to techniques and case studies only" in r.err


def test_kinds_are_taken_singular_or_plural(cli):
    assert cli("kb", "search", "prompt injection", "--kind", "techniques", "--json").json()[0]["kind"] == "technique"
    assert {r["kind"] for r in cli("kb", "search", "chatbot", "--kind", "case-studies", "--json").json()} == \
        {"case-study"}
    assert {r["kind"] for r in cli("plugins", "--kind", "detectors", "--json").json()} == {"detector"}


def test_search(cli):
    rows = cli("kb", "search", "prompt injection", "--json").json()
    assert rows[0]["id"] == "AML.T0051"
    assert cli("kb", "search", "poison", "--kind", "case-study", "--json").json()[0]["kind"] == "case-study"
    assert cli("kb", "search", "x", "--kind", "nope").code == 2


@pytest.mark.parametrize("fmt", ["atlas-yaml", "stix", "layer"])
def test_export_writes_a_file_and_reads_back(cli, tmp_path, fmt):
    out = tmp_path / f"export.{fmt}"
    r = cli("kb", "export", "--format", fmt, "--out", out, "--json")
    assert r.code == 0 and r.json()["path"] == str(out)
    if fmt == "layer":
        assert layer_format.load(out).scores()["AML.T0051.001"] > 10
    else:
        assert cli("kb", "stats", "--source", out, "--json").json()["procedure_steps"] == 449


def test_export_into_missing_directory_leaves_nothing(cli, tmp_path):
    r = cli("kb", "export", "--format", "stix", "--out", tmp_path / "no" / "such.json")
    assert r.code == 2 and "does not exist" in r.err
    assert list(tmp_path.iterdir()) == []


def test_an_export_onto_its_own_source_is_refused(cli, tmp_path):
    # the layer replaced the ATLAS.yaml it was read from (newcomer walkthrough N2)
    source = tmp_path / "atlas.yaml"
    assert cli("kb", "export", "--format", "atlas-yaml", "--out", source).code == 0
    before = source.read_bytes()
    r = cli("kb", "export", "--source", source, "--format", "layer", "--out", source)
    assert r.code == 2 and "would overwrite it" in r.err and source.read_bytes() == before, r.err


def test_source_option_reads_stix_and_upstream_yaml(cli, tmp_path, matrix, atlas_490):
    bundle = tmp_path / "atlas.json"
    bundle.write_text(stix.dumps(matrix))
    assert cli("kb", "show", "AML.CS0016", "--source", bundle, "--json").json()["name"].startswith("Achieving")
    r = cli("kb", "stats", "--source", atlas_490, "--json")
    assert r.json()["techniques"] == 68
    assert "warning:" in r.err  # the release's known lifecycle slip is reported, not fatal


def test_bad_source_is_one_line(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tactics: [\n")
    r = cli("kb", "stats", "--source", bad)
    assert r.code == 2 and r.err.startswith(f"advmatrix: error: {bad}: not valid YAML")
    r = cli("kb", "stats", "--source", tmp_path / "missing.yaml")
    assert r.code == 2 and "no such file" in r.err


def test_diff(cli, atlas_490):
    r = cli("kb", "diff", atlas_490, "bundled", "--json")
    data = r.json()
    assert data["old_version"] == "4.9.0" and len(data["added"]) > 50
    assert "renamed: 1" in cli("kb", "diff", atlas_490, "bundled").out


def test_validate(cli, tmp_path, atlas_560):
    r = cli("kb", "validate", atlas_560, "--json")
    assert r.code == 1 and len(r.json()["problems"]) == 2
    good = tmp_path / "good.json"
    assert cli("kb", "export", "-f", "stix", "-o", good).code == 0
    assert cli("kb", "validate", good).code == 0


def test_console_script_runs_cold():
    proc = subprocess.run([sys.executable, "-m", "advmatrix", "kb", "show", "AML.T0043", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["name"] == "Craft Adversarial Data"
