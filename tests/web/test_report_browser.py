"""The assessment report as an analyst sees it, in Chromium: the detection section and the
verdicts are there, on screen and printed on A4 landscape; a screenshot and the PDF are made."""

from __future__ import annotations

import re

from advmatrix.emulate import Assessment, Coverage, Finding
from advmatrix.report.assessment import write_reports

DIGITS = {"name": "digits-cnn", "input_shape": [1, 8, 8], "classes": [str(i) for i in range(10)],
          "output": "probabilities", "access": "black-box", "modality": "image", "input_range": [0.0, 1.0],
          "dtype": "float32"}
EVASION = ("AML.T0043.001", "AML.T0015", "AML.T0040")


def _assessment() -> Assessment:
    findings = [
        Finding("square", "Square", "evasion", EVASION, status="completed", success_rate=0.8,
                metrics={"successes": 16.0, "first_success_query": 25.0}, queries=400),
        Finding("membership", "Membership", "inference", ("AML.T0024.000", "AML.T0040"), status="completed",
                success_rate=0.07, metrics={"auc": 0.49, "advantage": 0.07}, queries=200),
    ]
    coverage = [Coverage("square", EVASION, True, ["similarity-search"], 60, 400, ["degrade"], 25, False),
                Coverage("membership", findings[1].technique_ids, False, queries=200)]
    return Assessment("run1", DIGITS, "2025-01-01T00:00:00", findings, "2025-01-01T00:01:00", coverage=coverage)


def test_the_report_shows_what_was_noticed_and_prints_on_a4(browser, tmp_path):
    paths = write_reports(_assessment(), tmp_path / "out")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto((tmp_path / "out" / "report.html").as_uri())
    detection = page.locator("#detection")
    assert detection.is_visible()
    text = page.inner_text("body")
    assert "succeeded, then seen" in text and "at chance" in text
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    page.emulate_media(media="print")
    page.pdf(path=str(tmp_path / "report.pdf"), format="A4", landscape=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert 1 <= pages <= 4, pages  # the matrix and the summary on the first page, the rest after
    assert "gap_layer" in paths
    page.close()
