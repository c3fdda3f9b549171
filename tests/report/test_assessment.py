"""The assessment reports: escaping in HTML, the PNG encoder for evidence images."""

from __future__ import annotations

import zlib

import numpy as np

from advmatrix.emulate import get, run_assessment
from advmatrix.report._png import as_image, to_png
from advmatrix.report.assessment import report_html


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


def test_a_run_whose_target_has_no_input_shape_still_gets_its_report(white_box, data):
    # a campaign stores a chat target without input shape or range: `runs report` had ended in a KeyError
    a = run_assessment(white_box, data, [get("fgsm")(n_samples=2)], budget=50)
    a.target = {k: v for k, v in a.target.items() if k not in ("input_shape", "input_range")}
    assert "<html" in report_html(a).lower()
