"""Layers from other layers: the score expression parser and the combine endpoint."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from advmatrix.kb import bundled
from advmatrix.kb.layer import case_study_layer, maturity_layer
from advmatrix.web import create_app
from advmatrix.web._expr import ExpressionError, parse
from tests.conftest import folded_sub_techniques


@pytest.mark.parametrize("text, values, expected", [
    ("1 + 2 * 3", {}, 7), ("(1 + 2) * 3", {}, 9), ("8 / 4 / 2", {}, 1), ("8 - 4 - 2", {}, 2),
    ("-2 * -3", {}, 6), ("- (1 + 1)", {}, -2), ("2 * -a", {"a": 3}, -6),
    ("a * (1 - b)", {"a": .5, "b": .2}, .4), ("a*(1-b)", {"a": 1}, 1),  # b missing: 0
    ("max(a, b, 0.5) - min(a, b)", {"a": 1, "b": .25}, .75), ("min(1)", {}, 1), (".5 + 1.", {}, 1.5),
    ("max(a, min(b, 2)) * 2", {"a": 1, "b": 3}, 4),
])
def test_precedence_and_values(text, values, expected):
    assert parse(text, "ab").evaluate(values) == pytest.approx(expected)


def test_variables_read_and_division_by_zero():
    e = parse("a / (b - 1) + max(a, 2)", ["a", "b", "c"])
    assert e.variables == {"a", "b"}
    assert e.evaluate({"a": 1, "b": 1}) is None
    assert e.evaluate({"a": 2, "b": 3}) == 3


@pytest.mark.parametrize("text, position, says", [
    ("a*(1-b", 7, "expected ')' to close the '(' at position 3, found the end"),
    ("a +", 4, "expected a number, a layer variable or '(', found the end"),
    ("a $ b", 3, "unexpected character '$'"),
    ("a + c", 5, "unknown layer variable 'c' (given: a, b)"),
    ("eval(a)", 1, "unknown function 'eval' (known: min, max)"),
    ("min a", 5, "expected '(' after min, found 'a'"),
    ("a b", 3, "expected an operator, found 'b'"),
    ("max(a,)", 7, "expected a number, a layer variable or '(', found ')'"),
    ("(a))", 4, "expected an operator, found ')'"),
    ("", 1, "the expression is empty"),
    ("(" * 60 + "a" + ")" * 60, 42, "nested more than 40 levels deep"),
    ("-" * 60 + "a", 42, "nested more than 40 levels deep"),
    ("__import__('os')", 12, "unexpected character"),
])
def test_errors_name_the_position(text, position, says):
    with pytest.raises(ExpressionError) as info:
        parse(text, "ab")
    assert info.value.position == position and says in str(info.value)
    assert str(info.value).startswith(f"position {position}: ") and "\n" not in str(info.value)


def _scores(layer: dict) -> dict[str, float]:
    return {t["techniqueID"]: t["score"] for t in layer["techniques"] if "score" in t}


def test_combine_two_builtin_layers():
    matrix = bundled()
    c = TestClient(create_app())
    offered = [x["name"] for x in c.get("/api/layers").json()]
    assert {"case-studies", "maturity"} <= set(offered)
    r = c.get("/api/layers/combine", params={"expr": "a * (4 - b)", "a": "case-studies", "b": "maturity"})
    assert r.status_code == 200
    layer = r.json()
    used, levels = case_study_layer(matrix).scores(), maturity_layer(matrix).scores()
    expected = {t: used.get(t, 0) * (4 - levels.get(t, 0)) for t in set(used) | set(levels)}
    assert _scores(layer) == expected
    assert folded_sub_techniques(matrix, layer) == []
    some = next(t for t in used if t in levels)
    entry = next(t for t in layer["techniques"] if t["techniqueID"] == some)
    assert entry["comment"] == f"a={used[some]:.0f}, b={levels[some]:.0f}"
    assert layer["name"] == "Combined: a * (4 - b)" and "a technique missing from a layer counts as 0" in \
        layer["description"]
    # the result is a layer the navigator itself draws
    view = c.post("/api/layers/view", json=layer).json()
    assert view["scores"] and not view["unknown"]
    named = c.get("/api/layers/combine", params={"expr": "max(a, b)", "a": "case-studies", "b": "maturity",
                                                 "name": "worst of both"}).json()
    assert named["name"] == "worst of both"


def test_combine_runs_and_detection_from_the_store(tmp_path, white_box, data):
    from advmatrix.emulate import Coverage, get, run_assessment
    from advmatrix.store import RunStore

    db = tmp_path / "runs.db"
    a = run_assessment(white_box, data, [get("fgsm")(n_samples=5), get("discovery")()], budget=100)
    a.coverage = [Coverage("fgsm", ("AML.T0043.000",), True, ["similarity-search"], 40, 60, ["degrade"]),
                  Coverage("discovery", ("AML.T0013",), False, queries=3)]
    RunStore(db).save(a)
    c = TestClient(create_app(db=str(db)))
    success = _scores(c.get(f"/api/layers/run-{a.id}").json())
    # what worked and went unnoticed: success where the gateway saw nothing
    gap = _scores(c.get("/api/layers/combine", params={"expr": "a*(1-b)", "a": f"run-{a.id}",
                                                         "b": f"detection-{a.id}"}).json())
    assert gap["AML.T0043.000"] == 0 and gap["AML.T0013"] == pytest.approx(success["AML.T0013"])
    assert set(gap) == set(success)


@pytest.mark.parametrize("params, status, says", [
    ({"expr": "a*(1-b", "a": "case-studies", "b": "maturity"}, 400, "expr: position 7: expected ')'"),
    ({"expr": "a + c", "a": "case-studies", "b": "maturity"}, 400, "position 5: unknown layer variable 'c'"),
    ({"expr": "1 + 2"}, 400, "names no layer variable"),
    ({"expr": "a", "a": "no-such-layer"}, 404, "a=no-such-layer: "),
    ({"expr": "a", "a": "case-studies", "min": "maturity"}, 400, "'min' cannot name a layer variable"),
    ({"expr": "a", "a": "alerts-7d"}, 404, "a=alerts-7d: no gateway database configured"),
    ({"a": "case-studies"}, 422, ""),
])
def test_combine_errors_are_one_line(params, status, says):
    r = TestClient(create_app()).get("/api/layers/combine", params=params)
    assert r.status_code == status and r.headers["content-type"] == "application/json"
    if says:
        assert says in r.json()["detail"] and "\n" not in r.json()["detail"]


def test_matrix_page_offers_the_combine_form():
    html = TestClient(create_app()).get("/").text
    assert '<form id="combine"' in html and 'action="/api/layers/combine"' in html
    assert 'name="expr"' in html and all(f'name="{v}"' in html for v in "abc")
