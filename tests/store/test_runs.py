"""The run store on SQLite: runs and their detection coverage round-trip."""

from __future__ import annotations

import sqlite3

from advmatrix.emulate import Coverage, get, load_run, run_assessment
from advmatrix.store import RunStore


def test_store_round_trip_and_wal(tmp_path, white_box, data):
    a = run_assessment(white_box, data, [get("fgsm")(n_samples=10)], budget=100)
    store = RunStore(tmp_path / "a.db")
    store.save(a)
    again = load_run(RunStore(tmp_path / "a.db"), a.id)
    assert again.as_dict() == a.as_dict()
    assert store.technique_scores()["AML.T0043.000"] == a.findings[0].success_rate
    mode = sqlite3.connect(tmp_path / "a.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_detection_coverage_is_stored_with_the_run(tmp_path, white_box, data):
    a = run_assessment(white_box, data, [get("fgsm")(n_samples=5), get("discovery")()], budget=100)
    a.coverage = [Coverage("fgsm", ("AML.T0043.000",), True, ["similarity-search"], 40, 60, ["degrade"]),
                  Coverage("discovery", ("AML.T0013",), False, queries=3)]
    plain = run_assessment(white_box, data, [get("discovery")()], budget=100)
    store = RunStore(tmp_path / "a.db")
    store.save(a)
    store.save(plain)
    again = load_run(RunStore(tmp_path / "a.db"), a.id)
    assert again.coverage == a.coverage and again.as_dict() == a.as_dict()
    assert load_run(store, plain.id).coverage is None and "coverage" not in plain.as_dict()
    gateway = {r["id"]: r["gateway"] for r in store.list()}
    assert gateway == {a.id: {"procedures": 2, "detected": 1}, plain.id: None}
    assert store.detection_scores() == {"AML.T0043.000": 1.0, "AML.T0013": 0.0}
