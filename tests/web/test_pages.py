"""What the navigator's pages gather and how they fail: parent techniques, indexes, 404s."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from advmatrix.kb import bundled
from advmatrix.web import create_app


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


def _section(html: str, heading: str) -> str:
    start = html.index(f"<h2>{heading}</h2>")
    end = html.find("<h2>", start + 4)
    return html[start:end if end > 0 else None]


def test_parent_technique_lists_its_subtechniques_procedures(client):
    html = client.get("/techniques/AML.T0043").text
    procedures = _section(html, "advmatrix procedures")
    assert "No emulation procedure yet" not in procedures
    for name in ("fgsm", "pgd", "hopskipjump", "square"):
        assert f"<code>{name}</code>" in procedures
    assert 'via sub-technique <a href="/techniques/AML.T0043.001">' in procedures


def test_parent_technique_lists_its_subtechniques_case_studies_marked(client):
    matrix = bundled()
    html = client.get("/techniques/AML.T0051").text
    studies = _section(html, "Case studies")
    expected = {c.id for t in ("AML.T0051", *(s.id for s in matrix.subtechniques_of("AML.T0051")))
                for c in matrix.case_studies_using(t)}
    listed = re.findall(r'<li><a href="/studies/(AML\.CS\d+)">', studies)
    assert sorted(listed) == sorted(expected) and len(listed) > 1  # each once
    own = {c.id for c in matrix.case_studies_using("AML.T0051")}
    for item in re.findall(r"<li>.*?</li>", studies):
        study = re.search(r"/studies/(AML\.CS\d+)", item).group(1)
        assert ("via sub-technique" in item) == (study not in own), item


def test_mitigations_listed_once_with_every_use(client):
    html = client.get("/techniques/AML.T0043.001").text
    mitigations = _section(html, "Mitigations")
    assert mitigations.count('href="/mitigations/AML.M0004"') == 1
    assert mitigations.count('href="/mitigations/AML.M0002"') == 1
    assert "A query budget shrinks" in mitigations and "Black-box optimisation needs many queries" in mitigations


@pytest.mark.parametrize("path, says", [
    ("/techniques/AML.T9999", "no object with ID &#39;AML.T9999&#39;"), ("/studies/AML.CS9999", "AML.CS9999"),
    ("/mitigations/AML.M9999", "AML.M9999"), ("/tactics/AML.T0043", "is a technique, not a tactic"),
    ("/no/such/page", "There is no page at /no/such/page"),
])
def test_unknown_pages_are_styled_404_pages(client, path, says):
    r = client.get(path, headers={"accept": "text/html"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert says in r.text and '<nav class="menu"' in r.text and "/static/style.css" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/api/objects/AML.T9999", "/api/no-such-endpoint", "/api/layers/run-nope"])
def test_api_errors_stay_json(client, path):
    r = client.get(path, headers={"accept": "text/html"})
    assert r.status_code == 404 and r.headers["content-type"] == "application/json" and "detail" in r.json()


@pytest.mark.parametrize("path", ["/", "/studies", "/mitigations", "/techniques/AML.T0043", "/tactics/AML.TA0001",
                                  "/studies/AML.CS0016", "/mitigations/AML.M0004"])
def test_every_page_has_the_menu_and_favicon(client, path):
    html = client.get(path).text
    menu = re.search(r'<nav class="menu".*?</nav>', html, re.S).group(0)
    assert all(f'href="{href}"' in menu for href in ("/", "/studies", "/mitigations", "/api/docs"))
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html


def test_favicon_is_an_svg(client):
    for path in ("/static/favicon.svg", "/favicon.ico"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
        assert r.text.startswith("<svg") and "<script" not in r.text


def test_case_study_and_mitigation_indexes(client):
    matrix = bundled()
    html = client.get("/studies").text
    assert set(re.findall(r'<td><a href="/studies/(AML\.CS\d+)">', html)) == {c.id for c in matrix.case_studies}
    assert 'aria-current="page">Case studies' in html.replace("\n", "")
    html = client.get("/mitigations").text
    assert set(re.findall(r'<td><a href="/mitigations/(AML\.M\d+)">', html)) == {m.id for m in matrix.mitigations}
    assert "Restrict Number of AI Model Queries" in html


def test_gap_layer_of_a_gateway_run(tmp_path, white_box, data):
    from advmatrix.emulate import Coverage, get, run_assessment
    from advmatrix.report._verdicts import GAP_SCORES, VERDICTS, procedure_verdicts, technique_verdicts
    from advmatrix.store import RunStore

    db = tmp_path / "runs.db"
    a = run_assessment(white_box, data, [get("fgsm")(n_samples=5), get("discovery")()], budget=100)
    a.coverage = [Coverage("fgsm", ("AML.T0043.000",), True, ["similarity-search"], 1, 60, ["degrade"]),
                  Coverage("discovery", ("AML.T0013",), False, queries=3)]
    plain = run_assessment(white_box, data, [get("discovery")()], budget=100)
    RunStore(db).save(a)
    RunStore(db).save(plain)
    c = TestClient(create_app(db=str(db)))
    names = [x["name"] for x in c.get("/api/layers").json()]
    assert f"gap-{a.id}" in names and f"gap-{plain.id}" not in names
    layer = c.get(f"/api/layers/gap-{a.id}").json()
    expected = {t: GAP_SCORES[v] for t, v in technique_verdicts(procedure_verdicts(a)).items() if v in GAP_SCORES}
    assert expected.get("AML.T0013") == GAP_SCORES["unseen"]  # discovery worked and nobody noticed
    assert {t["techniqueID"]: t["score"] for t in layer["techniques"] if "score" in t} == expected
    view = c.post("/api/layers/view", json=layer).json()
    assert [i["color"] for i in view["legend"]] == [VERDICTS[k][1] for k in ("failed", "seen-before", "seen-after",
                                                                               "unseen")]
    assert view["colours"]["AML.T0013"] == VERDICTS["unseen"][1]
    assert c.get(f"/api/layers/gap-{plain.id}").status_code == 404
    assert c.get("/api/layers/gap-nope").status_code == 404
    assert f'value="gap-{a.id}"' in c.get("/").text


def _case_study_layer_as_atlas_publishes_it(matrix, study_id: str) -> dict:
    """One entry per procedure step with the step's tactic, as ATLAS's case-study layers carry them."""
    from advmatrix.kb._ids import tactic_shortname

    study = matrix.get(study_id)
    return {"name": study_id, "domain": "atlas-atlas", "versions": {"layer": "4.5"},
            "techniques": [{"techniqueID": s.technique, "tactic": tactic_shortname(matrix.get(s.tactic).name),
                            "color": "#c8e6c9", "showSubtechniques": True} for s in study.procedure]}


def test_entries_with_a_tactic_colour_only_that_tactics_cell(client):
    matrix = bundled()
    layer = _case_study_layer_as_atlas_publishes_it(matrix, "AML.CS0010")
    cells = client.post("/api/layers/view", json=layer).json()["cells"]
    marked = {(s.technique, s.tactic) for s in matrix.get("AML.CS0010").procedure}
    shortnames = {c["id"]: c["shortname"] for c in client.get("/api/matrix").json()["tactics"]}
    coloured = {(tid, tactic) for tid, by in cells.items() for tactic in by}
    assert coloured == {(tid, shortnames[ta]) for tid, ta in marked}
    # AML.T0015 sits under three tactics; the study marks it under Impact only
    assert len(matrix.tactics_of("AML.T0015")) == 3 and set(cells["AML.T0015"]) == {"impact"}


def test_per_tactic_scores_keep_their_own_colour(client):
    layer = {"name": "x", "gradient": {"colors": ["#ffffff", "#ff0000"], "minValue": 0, "maxValue": 10},
             "techniques": [{"techniqueID": "AML.T0020", "tactic": "resource-development", "score": 0},
                            {"techniqueID": "AML.T0020", "tactic": "persistence", "score": 10},
                            {"techniqueID": "AML.T0040", "tactic": "ml-model-access", "score": 10},
                            {"techniqueID": "AML.T0043", "score": 5},
                            {"techniqueID": "AML.T0000", "tactic": "no-such-tactic", "score": 10}]}
    cells = client.post("/api/layers/view", json=layer).json()["cells"]
    assert cells["AML.T0020"] == {"resource-development": {"color": "#ffffff", "score": 0, "comment": ""},
                                  "persistence": {"color": "#ff0000", "score": 10, "comment": ""}}
    assert cells["AML.T0040"]["ai-model-access"]["color"] == "#ff0000"  # the older ml- spelling is read
    assert cells["AML.T0043"] == {"*": {"color": "#ff8080", "score": 5, "comment": ""}}
    assert "AML.T0000" not in cells


def test_matrix_columns_carry_the_tactic_shortname(client):
    html = client.get("/").text
    assert '<section class="tactic" data-tactic="ai-attack-staging"' in html


def test_scale_has_numbers_and_at_least_three_stops(client):
    layer = {"name": "x", "gradient": {"colors": ["#ffffff", "#ff0000"], "minValue": 0, "maxValue": 4},
             "techniques": [{"techniqueID": "AML.T0043", "score": 2}]}
    assert client.post("/api/layers/view", json=layer).json()["scale"] == [
        {"value": "0", "color": "#ffffff"}, {"value": "2", "color": "#ff8080"}, {"value": "4", "color": "#ff0000"}]
    colours_only = {"name": "x", "techniques": [{"techniqueID": "AML.T0043", "color": "#123456"}]}
    assert client.post("/api/layers/view", json=colours_only).json()["scale"] == []


def test_builtin_layer_legends_are_numbered(tmp_path, white_box, data):
    from advmatrix.emulate import get, run_assessment
    from advmatrix.store import RunStore

    db = tmp_path / "runs.db"
    a = run_assessment(white_box, data, [get("fgsm")(n_samples=5)], budget=100)
    RunStore(db).save(a)
    c = TestClient(create_app(db=str(db)))
    legend = c.get(f"/api/layers/run-{a.id}").json()["legendItems"]
    assert [i["label"] for i in legend] == ["0% success", "25% success", "50% success", "75% success",
                                            "100% success"]
    assert len({i["color"] for i in legend}) == 5


def test_case_study_layer_used_once_is_not_white(client):
    from advmatrix.kb.layer import case_study_layer

    built = case_study_layer(bundled())
    once = next(t.techniqueID for t in built.techniques if t.score == 1)
    view = client.post("/api/layers/view", json=built.model_dump(mode="json")).json()
    colour = view["colours"][once]
    assert colour != "#ffffff" and sum(int(colour[i:i + 2], 16) for i in (1, 3, 5)) < 3 * 245
    assert built.legendItems[0].label == "used once" and built.legendItems[0].color == colour
    assert len(built.legendItems) == 3 and all(i.label.startswith("used ") for i in built.legendItems)


def test_indexes_and_error_pages_escape_imported_text(evil_matrix):
    c = TestClient(create_app(evil_matrix))
    for path in ("/studies", "/mitigations", "/no/<script>window.__xss=1</script>"):
        html = c.get(path).text
        assert "<script>window.__xss" not in html and "<img src=x onerror" not in html, path
    assert "&lt;script&gt;" in c.get("/studies").text
