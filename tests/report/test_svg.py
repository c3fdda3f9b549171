"""The SVG heatmap draws what a layer scores, sub-techniques included, and nothing it does not."""

from __future__ import annotations

from advmatrix.kb import bundled
from advmatrix.kb.layer import build_layer
from advmatrix.report.svg import matrix_svg


def test_scored_sub_techniques_get_their_own_coloured_row():
    matrix = bundled()
    study = {s.technique for s in matrix.case_study("AML.CS0020").procedure}
    assert any("." in t[len("AML.T"):] for t in study), "the case study uses sub-techniques"
    svg = matrix_svg(matrix, build_layer(matrix, {t: 1.0 for t in study}, name="AML.CS0020",
                                         gradient=("#ffffff", "#ff0000"), min_value=0, max_value=1))
    for technique in study:
        assert f"<title>{technique} " in svg, technique
    drawn_subs = {t.id for t in matrix.techniques if t.parent and f"<title>{t.id} " in svg}
    assert drawn_subs == {t for t in study if matrix.technique(t).parent}, "unscored sub-techniques stay folded"
    assert svg.count('fill="#ff0000"') >= len(study)
