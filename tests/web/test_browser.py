"""End to end in real headless Chromium: matrix, expansion, case study, layer upload, and proof
that script in imported files never runs."""

from __future__ import annotations

import json

import pytest

from advmatrix.kb import build_layer, bundled
from advmatrix.serving import running_server
from advmatrix.web import create_app

from .conftest import XSS


@pytest.fixture(scope="module")
def site():
    with running_server(create_app()) as url:
        yield url


def test_matrix_expand_case_study_and_layer(browser, site, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(site + "/")
    assert page.locator(".tactic").count() == 16
    cell = page.locator('.cell[data-id="AML.T0043"]')
    sub = cell.locator('.sub[data-id="AML.T0043.001"]')
    assert not sub.is_visible()
    cell.locator(".toggle").click()
    assert sub.is_visible()
    # keyboard: the toggle is a button; Enter toggles it back
    cell.locator(".toggle").focus()
    page.keyboard.press("Enter")
    assert not sub.is_visible()
    page.fill("#filter", "prompt injection")
    assert page.locator('.cell[data-id="AML.T0051"]').is_visible()
    assert not page.locator('.cell[data-id="AML.T0000"]').is_visible()
    page.fill("#filter", "")

    layer = build_layer(bundled(), {"AML.T0043": 1.0, "AML.T0043.001": 1.0, "AML.T0020": 1.0}, name="my layer",
                        legend={"worked": "#ff6666"})
    path = tmp_path / "layer.json"
    path.write_text(layer.to_json())
    page.set_input_files("#layer-file", str(path))
    page.wait_for_selector("#layer-info:not([hidden])")
    colour = page.eval_on_selector('.cell[data-id="AML.T0043"]', "el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(255, 102, 102)"
    # Poison Training Data sits under two tactics; both cells are coloured
    colours = page.eval_on_selector_all('.cell[data-id="AML.T0020"]',
                                        "els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert colours == ["rgb(255, 102, 102)"] * 2
    assert page.inner_text("#legend") == "worked"
    assert sub.is_visible()  # coloured sub-techniques are shown
    with page.expect_download() as dl:
        page.click("#download-svg")
    assert dl.value.suggested_filename == "layer.svg"
    page.screenshot(path=str(tmp_path / "matrix.png"))
    assert (tmp_path / "matrix.png").stat().st_size > 10_000

    page.goto(site + "/studies/AML.CS0016")
    steps = page.locator(".timeline li")
    assert steps.count() == 9
    steps.nth(2).locator("a").click()
    assert page.url.endswith("/techniques/AML.T0051.000")
    page.close()


def test_narrow_window_still_usable(browser, site):
    page = browser.new_page(viewport={"width": 420, "height": 800})
    page.goto(site + "/techniques/AML.T0024.002")
    assert page.locator("h1").is_visible() and "Extract AI Model" in page.inner_text("h1")
    page.close()


def test_script_in_imported_data_never_runs(browser, evil_matrix, tmp_path):
    dialogs = []
    with running_server(create_app(evil_matrix)) as url:
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path in ("/", "/techniques/AML.T0043", "/studies/AML.CS0000", "/tactics/AML.TA0001"):
            page.goto(url + path)
            page.wait_for_load_state("load")
            assert page.evaluate("window.__xss") is None, path
        page.goto(url + "/studies/AML.CS0000")
        assert "<script>" in page.inner_text("article")  # shown as text, not run
        page.click("text=ref")  # the javascript: reference link is blocked by the page's CSP
        assert page.evaluate("window.__xss") is None
        page.goto(url + "/")
        layer = build_layer(evil_matrix, {"AML.T0043": 1.0}, name=XSS, description=XSS,
                            legend={XSS: "#ff0000"}, comments={"AML.T0043": XSS})
        data = json.loads(layer.to_json())
        data["techniques"][0]["color"] = 'red;background-image:url("javascript:window.__xss=4")'
        path = tmp_path / "evil-layer.json"
        path.write_text(json.dumps(data))
        page.set_input_files("#layer-file", str(path))
        page.wait_for_selector("#layer-info:not([hidden])")
        assert page.evaluate("window.__xss") is None
        assert page.inner_text("#layer-name").startswith("<script>")
        page.close()
    assert dialogs == []


def test_gap_layer_in_the_matrix(browser, tmp_path):
    """The built-in gap layer of a gateway run, drawn in Chromium with its four-colour legend."""
    from advmatrix.report._verdicts import VERDICTS
    from advmatrix.store import RunStore

    from .test_report_browser import _assessment

    db = tmp_path / "runs.db"
    RunStore(db).save(_assessment())
    with running_server(create_app(db=str(db))) as url:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url + "/?layer=gap-run1")
        page.wait_for_selector("#legend li")
        assert page.locator("#legend li").count() == 4
        assert page.inner_text("#legend").split("\n") == [VERDICTS[k][0] for k in ("failed", "seen-before",
                                                                                   "seen-after", "unseen")]
        colour = page.eval_on_selector('.sub[data-id="AML.T0043.001"]', "el => getComputedStyle(el).backgroundColor")
        assert colour == "rgb(252, 141, 89)"  # square succeeded at 25 queries, first seen at 60
        assert page.is_visible('.sub[data-id="AML.T0043.001"]')
        page.screenshot(path=str(tmp_path / "gap-layer.png"), full_page=True)
        assert (tmp_path / "gap-layer.png").stat().st_size > 10_000
        page.close()
