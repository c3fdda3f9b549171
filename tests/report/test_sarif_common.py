"""What GitHub code scanning asks of every advmatrix SARIF log: URIs it can resolve against the
repository, and rules with a full description, help and a security severity."""

from __future__ import annotations

from pathlib import Path

from advmatrix._sarif import artifact_uri
from advmatrix.threatmodel import report as tmr

EXAMPLES = Path(__file__).parents[2] / "examples" / "systems"


def test_an_absolute_path_below_the_working_directory_becomes_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert artifact_uri(tmp_path / "systems" / "a.yaml") == "systems/a.yaml"
    assert artifact_uri(str(tmp_path / "a.yaml"), base=tmp_path) == "a.yaml"


def test_a_path_through_dot_dot_is_written_plainly(tmp_path):
    assert artifact_uri("examples/systems/../systems/a.yaml") == "examples/systems/a.yaml"
    assert artifact_uri("./a.yaml") == "a.yaml"


def test_names_that_are_not_uri_references_are_encoded():
    assert artifact_uri("my system#1.yaml") == "my%20system%231.yaml"
    assert artifact_uri("dir/ü.yaml") == "dir/%C3%BC.yaml"


def test_a_path_outside_the_root_is_a_file_uri(tmp_path):
    outside = tmp_path / "elsewhere" / "a b.yaml"
    assert artifact_uri(outside, base=tmp_path / "repo") == outside.as_uri()
    assert artifact_uri("../x.yaml", base=tmp_path).startswith("file:///")


def check_rules(log: dict) -> None:
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert rules
    for rule in rules:
        assert rule["fullDescription"]["text"] and rule["help"]["text"], rule["id"]
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
    for result in log["runs"][0]["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/") and " " not in uri
        # GitHub refuses a whole upload for a URI of another scheme than file, and shows no result without a line
        assert ":" not in uri.split("/", 1)[0] or uri.startswith("file:"), uri
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
        assert result["partialFingerprints"]["primaryLocationLineHash"].endswith(":1")
    details = log["runs"][0].get("automationDetails")
    if details:
        # GitHub's category is the id before its last '/': it must name more than the emitter.
        assert details["id"].rsplit("/", 1)[0].count("/") >= 2, details["id"]


def test_threat_model_sarif_has_what_code_scanning_requires(tmp_path, monkeypatch):
    monkeypatch.chdir(EXAMPLES.parent.parent)
    path = (EXAMPLES / "support-agent.yaml").resolve()
    system = tmr.load_input(path)
    log = tmr.findings_sarif(tmr.build(system, source=str(path), lines=tmr.component_lines(path, system)))
    check_rules(log)
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]} \
        == {"examples/systems/support-agent.yaml"}
    severity = {r["id"]: float(r["properties"]["security-severity"]) for r in log["runs"][0]["tool"]["driver"]["rules"]}
    errors = {r["ruleId"] for r in log["runs"][0]["results"] if r["level"] == "error"}
    assert errors and all(severity[t] >= 7.0 for t in errors)


def test_scan_sarif_has_what_code_scanning_requires(tmp_path, monkeypatch):
    from advmatrix.report.sarif import to_sarif
    from advmatrix.scan import scan_path

    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "my weights.pkl"
    bad.write_bytes(b"cos\nsystem\n(S'echo hi'\ntR.")
    log = to_sarif(scan_path(bad))
    check_rules(log)
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] \
        == "my%20weights.pkl"
    # code scanning places a result by its line; the category keeps one folder's scans apart from another's
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert log["runs"][0]["automationDetails"]["id"].startswith("advmatrix/scan/")


def test_a_path_is_relative_to_the_top_of_the_git_work_tree_with_its_base_defined(tmp_path, monkeypatch):
    from advmatrix import _sarif

    (tmp_path / ".git").mkdir()
    (tmp_path / "examples" / "systems").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "examples")
    assert artifact_uri("systems/a.yaml") == "examples/systems/a.yaml"
    where = _sarif.location("systems/a.yaml")
    assert where == {"uri": "examples/systems/a.yaml", "uriBaseId": "%SRCROOT%"}
    log = _sarif.log([], [{"locations": [{"physicalLocation": {"artifactLocation": where}}]}])
    assert log["runs"][0]["originalUriBaseIds"] == {"%SRCROOT%": {"uri": tmp_path.resolve().as_uri() + "/"}}
    assert "originalUriBaseIds" not in _sarif.log([], [])["runs"][0]


def test_categories_stay_apart_for_names_the_slug_would_merge():
    from advmatrix._sarif import category_id

    assert category_id("advmatrix", "threatmodel", "fraud-model") == "advmatrix/threatmodel/fraud-model/"
    ids = {category_id("advmatrix", "threatmodel", n) for n in ("支付系统", "风控系统", "fraud model", "fraud-model")}
    assert len(ids) == 4 and all(i.count("/") == 3 for i in ids)


def test_user_text_in_a_message_cannot_become_a_link():
    from advmatrix._sarif import plain

    assert plain("see [docs](https://evil.example/x)") == "see \\[docs\\](https://evil.example/x)"


def test_threat_model_alerts_are_titled_with_the_parent_technique(monkeypatch):
    monkeypatch.chdir(EXAMPLES.parent.parent)
    path = (EXAMPLES / "support-agent.yaml").resolve()
    system = tmr.load_input(path)
    log = tmr.findings_sarif(tmr.build(system, source=str(path), lines=tmr.component_lines(path, system)))
    names = {r["id"]: r["shortDescription"]["text"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert names["AML.T0051.000"] == "LLM Prompt Injection: Direct"
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
               for r in log["runs"][0]["results"])
