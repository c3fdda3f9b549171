"""``advmatrix scan``: exit codes, JSON, SARIF, and bad input."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from tests.scan.corpus import reduce_pickle


def _files(tmp_path):
    bad = tmp_path / "weights.txt"  # a pickle named like text
    bad.write_bytes(reduce_pickle(os.system, "id"))
    good = tmp_path / "ok.pkl"
    good.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    return bad, good


def test_clean_file_exits_0(cli, tmp_path):
    _, good = _files(tmp_path)
    r = cli("scan", good)
    assert r.code == 0 and "no findings" in r.out


def test_malicious_file_exits_1_with_a_table(cli, tmp_path):
    bad, _ = _files(tmp_path)
    r = cli("scan", bad)
    assert r.code == 1 and "CRITICAL" in r.out and "AML.T0011.000" in r.out


def test_fail_on_threshold(cli, tmp_path):
    unknown = tmp_path / "u.pkl"
    unknown.write_bytes(b"\x80\x04\x8c\x06mymod_\x8c\x03Cls\x93.")  # referenced, not called: MEDIUM
    assert cli("scan", unknown, "--fail-on", "high").code == 0
    assert cli("scan", unknown, "--fail-on", "medium").code == 1
    r = cli("scan", unknown, "--fail-on", "severe")
    assert r.code == 2 and "unknown severity 'severe'" in r.err


def test_json_report(cli, tmp_path):
    bad, good = _files(tmp_path)
    r = cli("scan", tmp_path, "--json")
    data = r.json()
    assert r.code == 1
    assert data["summary"]["critical"] == 1 and len(data["files"]) == 2
    finding = next(f for file in data["files"] for f in file["findings"])
    assert finding["path"] == str(bad) and finding["offset"] is not None
    assert finding["technique_ids"][0] == "AML.T0011.000" and finding["construct"].endswith(".system")


def test_a_sarif_output_that_would_replace_a_scanned_file_or_share_stdout_with_json_is_refused(cli, tmp_path):
    # the report replaced the model it reported on, and two JSON documents on stdout parsed as neither
    # (newcomer walkthrough N2)
    bad, _ = _files(tmp_path)
    before = bad.read_bytes()
    onto = cli("scan", bad, "--sarif", bad)
    assert onto.code == 2 and "overwrite it" in onto.err and bad.read_bytes() == before, onto.err
    both = cli("scan", bad, "--sarif", "-", "--json")
    assert both.code == 2 and "standard output" in both.err and both.out == "", both.err


def test_sarif_file(cli, tmp_path):
    bad, _ = _files(tmp_path)
    out = tmp_path / "scan.sarif"
    r = cli("scan", bad, "--sarif", out)
    assert r.code == 1
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    result = run["results"][0]
    rule = run["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["id"] == result["ruleId"] == "pickle-global/critical"
    assert result["level"] == "error" and rule["properties"]["security-severity"] == "9.5"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("weights.txt")
    assert "AML.T0018.002" in result["properties"]["technique_ids"]


def test_missing_path_exits_2(cli, tmp_path):
    r = cli("scan", tmp_path / "nope.pt")
    assert r.code == 2 and "no such file or directory" in r.err


def test_help_and_usage_errors(cli):
    r = cli("scan", "--help")
    assert r.code == 0 and "--fail-on" in r.out and "--sarif" in r.out
    r = cli("scan")
    assert r.code == 2 and "PATH" in r.err
    r = cli("scan", "x.pt", "--colour")
    assert r.code == 2 and "--colour" in r.err
    assert "scan" in cli("--help").out  # still listed by the root command


def test_scan_starts_without_typer(tmp_path):
    """`scan` runs once per artifact in pipelines; it must not pay for typer/click/rich start-up."""
    import subprocess
    import sys

    good = tmp_path / "ok.npy"
    np.save(good, np.zeros(3))
    code = ("import sys; from advmatrix.cli import main; rc = main(['scan', '--json', sys.argv[1]]); "
            "print(rc, sorted(m for m in ('typer', 'click', 'rich', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(good)], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "0 []"


def test_a_scan_that_looks_into_nothing_fails_and_its_sarif_says_so(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    r = cli("scan", tmp_path / "empty")
    assert r.code == 2 and "no files found; nothing was analysed" in r.err
    assert cli("scan", "").code == 2  # an unset "$MODEL_DIR" must not scan the working directory
    notes = tmp_path / "notes.txt"
    notes.write_text("hi\n")
    r = cli("scan", notes, "--sarif", tmp_path / "s.sarif")
    assert r.code == 2
    run = json.loads((tmp_path / "s.sarif").read_text())["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is False


def test_a_scan_usage_error_is_one_line(cli):
    for args in (["--bogus"], [], ["--fail-on"]):
        r = cli("scan", *args)
        assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "usage:" not in r.err, r.err


def test_the_summary_counts_the_bytes_of_what_was_analysed(cli, tmp_path):
    model = tmp_path / "ok.pkl"
    model.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    notes = tmp_path / "notes.txt"
    notes.write_text("x" * 5000)
    r = cli("scan", model, notes)
    said = " ".join(r.out.split())
    assert r.code == 0 and f"no findings in 1 artifact(s), {model.stat().st_size:,} bytes" in said
    assert "(1 of unknown format not analysed)" in said


def test_a_misspelt_option_gets_a_suggestion_as_on_every_other_command(cli, tmp_path):
    r = cli("scan", tmp_path, "--jsn")
    assert r.code == 2 and r.err.strip() == ("advmatrix: error: unrecognized arguments: --jsn (did you mean "
                                             "'--json'?) (see advmatrix scan --help)")


def test_a_pipe_is_named_not_waited_on(cli, tmp_path):
    os.mkfifo(tmp_path / "model.pkl")
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps({"w": [1.0]}))
    r = cli("scan", tmp_path)  # would block for ever on the pipe if it were opened
    assert r.code == 2 and f"{tmp_path / 'model.pkl'}: not a regular file" in r.err
    assert "1 artifact(s)" in " ".join(r.out.split())


def _sarif(cli, tmp_path, *args):
    out = tmp_path / "scan.sarif"
    cli("scan", *args, "--sarif", out)
    run = json.loads(out.read_text())["runs"][0]
    return run, {r["id"]: r for r in run["tool"]["driver"]["rules"]}


def test_each_result_is_ranked_by_its_own_severity_not_its_rules_worst(cli, tmp_path):
    bad, _ = _files(tmp_path)
    unknown = tmp_path / "u.pkl"
    unknown.write_bytes(b"\x80\x04\x8c\x06mymod_\x8c\x03Cls\x93.")  # referenced, not called: MEDIUM
    run, rules = _sarif(cli, tmp_path, bad, unknown)
    ranked = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[-1]:
              rules[r["ruleId"]]["properties"]["security-severity"] for r in run["results"]}
    assert ranked == {"weights.txt": "9.5", "u.pkl": "5.5"}
    # the same file scanned alone keeps its rule and its rank
    alone, rules_alone = _sarif(cli, tmp_path, unknown)
    assert alone["results"][0]["ruleId"] == "pickle-global/medium" == next(
        r["ruleId"] for r in run["results"] if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .endswith("u.pkl"))


def test_informational_facts_are_alerts_only_with_info(cli, tmp_path):
    import struct

    def string(text):
        return struct.pack("<Q", len(text)) + text.encode()
    gguf = tmp_path / "ok.gguf"  # a plain GGUF header with one key: a format fact, nothing to fix
    gguf.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + string("general.architecture")
                     + struct.pack("<I", 8) + string("llama"))
    run, _ = _sarif(cli, tmp_path, gguf)
    assert run["results"] == []
    run, rules = _sarif(cli, tmp_path, gguf, "--info")
    assert run["results"] and all(r["level"] == "note" for r in run["results"])


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_finding_in_an_agent_config_points_at_its_line(cli, tmp_path, suffix):
    import yaml

    data = {"mcpServers": {
        "notes": {"command": "node", "args": ["notes.js"]},
        "slack": {"command": "node", "args": ["slack.js"], "env": {"DB_HOST": "db", "SLACK_BOT_TOKEN":
                                                                   "xoxb-1234567890-abcdefghijklmnop"}}}}
    config = tmp_path / f"mcp{suffix}"
    config.write_text(json.dumps(data, indent=2) if suffix == ".json" else yaml.safe_dump(data))
    run, _ = _sarif(cli, tmp_path, config)
    (result,) = [r for r in run["results"] if r["ruleId"].startswith("agent-config-secret")]
    line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert "SLACK_BOT_TOKEN" in config.read_text().splitlines()[line - 1]
