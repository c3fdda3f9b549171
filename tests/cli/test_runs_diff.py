"""``advmatrix runs diff A B``: what changed between two stored assessments."""

from __future__ import annotations

from advmatrix.emulate import Assessment, Coverage, Finding, diff_runs
from advmatrix.store import RunStore

TARGET = {"name": "digits (kserve)", "access": "black-box", "input_shape": [1, 8, 8], "classes": list("0123456789"),
          "output": "probabilities"}
SQUARE = ("AML.T0043.001", "AML.T0015", "AML.T0040")
EXTRACTION = ("AML.T0024.002", "AML.T0005.001", "AML.T0040", "AML.T0048.004")


def _run(run_id, square, fidelity, *, target=TARGET, membership="skipped", detected=None, started="2025-01-01"):
    findings = [
        Finding("square", "Square", "evasion", SQUARE, success_rate=square,
                metrics={"successes": square * 10, "success_rate": square}),
        Finding("extraction", "Extraction", "extraction", EXTRACTION, success_rate=fidelity,
                metrics={"fidelity": fidelity}),
        Finding("membership", "Membership", "inference", ("AML.T0024.000",), status=membership,
                success_rate=None if membership == "skipped" else 0.3,
                metrics={} if membership == "skipped" else {"auc": 0.7, "advantage": 0.3},
                message="needs x_members" if membership == "skipped" else ""),
    ]
    coverage = None if detected is None else [
        Coverage("square", SQUARE, detected, ["evasion-search"] if detected else [], 60 if detected else None, 600),
        Coverage("extraction", EXTRACTION, True, ["query-coverage"], 300, 1100)]
    return Assessment(run_id, dict(target), started, findings, finished=started, coverage=coverage)


def test_diff_per_procedure_and_technique():
    d = diff_runs(_run("aaaa11", 0.0, 0.95), _run("bbbb22", 0.8, 0.5, membership="completed"))
    assert d.same_target and not d.target_differences
    rows = {p.procedure: p for p in d.procedures}
    assert rows["square"].success_before == 0.0 and rows["square"].success_after == 0.8
    assert abs(rows["square"].change - 0.8) < 1e-9
    assert (rows["membership"].status_before, rows["membership"].status_after) == ("skipped", "completed")
    assert rows["membership"].change is None and rows["membership"].changed
    assert "AML.T0043.001" in d.became_successful and "AML.T0024.000" in d.became_successful
    assert "AML.T0024.002" in d.became_unsuccessful and "AML.T0043.001" not in d.became_unsuccessful
    assert d.verdicts["AML.T0024.002"] == ("succeeded", "failed")
    assert not d.detection_compared and d.newly_detected == []


def test_detection_changes_only_when_both_runs_measured_it():
    d = diff_runs(_run("a1", 0.5, 0.95, detected=False), _run("b1", 0.5, 0.95, detected=True))
    assert d.detection_compared and d.newly_detected == ["square"] and d.no_longer_detected == []
    assert d.verdicts["AML.T0043.001"] == ("unseen", "seen-after")
    assert not diff_runs(_run("a2", 0.5, 0.95), _run("b2", 0.5, 0.95, detected=True)).detection_compared


def test_runs_of_different_targets_are_said_to_be(cli, tmp_path):
    other = {**TARGET, "name": "digits-cnn (local)", "access": "white-box"}
    d = diff_runs(_run("a", 0.1, 0.9), _run("b", 0.1, 0.9, target=other))
    assert not d.same_target and any("access" in x for x in d.target_differences)


def _store(tmp_path, *runs):
    db = tmp_path / "runs.db"
    store = RunStore(db)
    for r in runs:
        store.save(r)
    store.engine.dispose()
    return db


def test_runs_diff_cli(cli, tmp_path):
    db = _store(tmp_path, _run("aaaa11", 0.0, 0.95, detected=False),
                _run("bbbb22", 0.8, 0.5, membership="completed", detected=True, started="2025-01-02"),
                _run("cccc33", 0.8, 0.5, target={**TARGET, "name": "other"}, started="2025-01-03"))
    r = cli("runs", "diff", "aaaa", "bbbb", "--db", db, "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert data["before"]["id"] == "aaaa11" and data["after"]["id"] == "bbbb22" and data["same_target"] is True
    rows = {p["procedure"]: p for p in data["procedures"]}
    assert rows["square"]["change"] == 0.8 and rows["square"]["changed"] is True
    assert data["verdicts"]["AML.T0024.002"] == {"before": "seen-after", "after": "failed"}
    assert data["newly_detected"] == ["square"]
    text = cli("runs", "diff", "aaaa", "bbbb", "--db", db)
    assert text.code == 0, text.err
    assert "0% -> 80%" in text.out and "+80%" in text.out and "skipped -> completed" in text.out
    assert "missed -> at 60" in text.out and "newly detected: square" in text.out
    assert "AML.T0024.002" in text.out.split("techniques no longer successful:")[1].splitlines()[0]
    different = cli("runs", "diff", "aaaa", "cccc", "--db", db)
    assert different.code == 0 and "different targets" in different.out and "'other'" in different.out
    assert "detection: not compared (only one run went through the gateway)" in different.out


def test_runs_diff_bad_input_is_one_line(cli, tmp_path):
    db = _store(tmp_path, _run("aaaa11", 0.0, 0.95))
    r = cli("runs", "diff", "aaaa", "zzzz", "--db", db)
    assert r.code == 3 and "'zzzz'" in r.err and "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1
    r = cli("runs", "diff", "aaaa", "aaaa", "--db", tmp_path / "typo.db")
    assert r.code == 2 and "no such database file" in r.err and not (tmp_path / "typo.db").exists()
