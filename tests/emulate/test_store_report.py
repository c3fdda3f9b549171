"""The run store on SQLite, the report builders and the PNG evidence encoder."""

from __future__ import annotations

import sqlite3
import zlib

import numpy as np

from advmatrix.emulate import Coverage, get, load_run, run_assessment
from advmatrix.report._png import as_image, to_png
from advmatrix.report.assessment import report_html
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


def test_html_escapes_everything(white_box, data):
    a = run_assessment(white_box, data, [get("fgsm")(n_samples=5)], budget=100)
    a.label = "<script>alert(1)</script>"
    a.findings[0].message = "<img src=x onerror=alert(2)>"
    html = report_html(a)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html


def test_png_encoder_writes_a_valid_image():
    img = np.linspace(0, 1, 64).reshape(8, 8)
    png = to_png(img, scale=2)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and b"IHDR" in png and png.endswith(b"IEND\xaeB`\x82")
    idat = png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8]
    raw = zlib.decompress(idat)
    assert len(raw) == 16 * (16 + 1)  # 16 rows, filter byte + 16 pixels each
    assert as_image(img.reshape(-1).tolist(), (1, 8, 8)).shape == (8, 8)
    assert as_image([0.0] * 10, (10,)) is None
