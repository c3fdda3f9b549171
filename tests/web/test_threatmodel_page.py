"""The threat-model page: upload a system description or an ML-BOM, see it as a layer."""

from __future__ import annotations

import base64
import html as html_lib
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from advmatrix.kb import layer as layer_format
from advmatrix.threatmodel import load_system, predict
from advmatrix.web import create_app

ROOT = Path(__file__).parents[2]
AGENT = ROOT / "examples" / "systems" / "support-agent.yaml"
DATA = ROOT / "tests" / "threatmodel" / "data"
BOMS = ROOT / "examples" / "boms"


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


def _upload(client, path: Path, name: str | None = None, overlay: Path | None = None, url: str = "/threatmodel"):
    files = {"system": (name or path.name, path.read_bytes())}
    if overlay is not None:
        files["overlay"] = (overlay.name, overlay.read_bytes())
    return client.post(url, files=files)


def test_form_is_linked_from_the_menu(client):
    assert 'href="/threatmodel"' in client.get("/").text
    page = client.get("/threatmodel").text
    assert 'enctype="multipart/form-data"' in page and 'name="system"' in page


def test_upload_colours_predicted_techniques_with_reasons(client):
    r = _upload(client, AGENT)
    assert r.status_code == 200
    prediction = predict(load_system(AGENT))
    page = r.text
    for f in prediction.findings:
        tier = "likely" if f.technique_id in prediction.likely_technique_ids else "possible"
        cell = re.search(rf'class="(?:cell|sub) tm-{tier}" data-id="{re.escape(f.technique_id)}"[^>]*title="([^"]*)"',
                         page)
        assert cell, f.technique_id
    f = prediction.findings[0]
    titles = [html_lib.unescape(t) for t in re.findall(rf'data-id="{re.escape(f.technique_id)}" title="([^"]*)"', page)]
    assert titles and f.reason in titles[0]
    # a technique not predicted stays uncoloured
    assert re.search(r'<div class="cell" data-id="AML\.T0018">', page)


def test_downloads_are_the_threat_model_and_a_loadable_layer(client):
    page = _upload(client, AGENT).text
    uris = dict(re.findall(r'id="tm-download-(json|layer)" href="data:application/json;base64,([^"]+)"', page))
    model = json.loads(base64.b64decode(uris["json"]))
    assert model["system"] == "support-agent" and model["paths"]
    layer = layer_format.loads(base64.b64decode(uris["layer"]).decode(), "layer")
    assert set(layer.scores()) == set(model["techniques"])
    # the same layer the matrix page draws through its API
    assert client.post("/api/layers/view", json=json.loads(base64.b64decode(uris["layer"]))).status_code == 200


def test_bom_with_overlay_through_the_api(client):
    r = _upload(client, BOMS / "chatbot.bom.json", overlay=BOMS / "chatbot-overlay.yaml", url="/api/threatmodel")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["threatmodel"]["source"] == "chatbot.bom.json"
    assert {c["component"] for c in body["threatmodel"]["components"]} >= {"tuned-llm", "send-email"}
    assert body["layer"]["techniques"]


def test_bad_upload_names_the_file_line_and_field(client, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncomponents:\n  - {id: a, kind: modle}\n")
    r = _upload(client, bad, name="../../etc/my system.yaml")
    assert r.status_code == 400
    message = html_lib.unescape(re.search(r'class="tm-error"[^>]*>([^<]*)<', r.text).group(1))
    assert message.startswith("my system.yaml:3: components[0].kind: unknown component kind")
    assert "advmatrix-tm-" not in r.text  # the temporary copy is never named
    api = _upload(client, bad, url="/api/threatmodel")
    assert api.status_code == 400 and api.json()["detail"].startswith("bad.yaml:3:")


@pytest.mark.parametrize("url", ["/threatmodel", "/api/threatmodel"])
def test_two_files_under_one_name_are_refused_not_read_as_the_last(client, url):
    bad = b"name: x\ncomponents:\n  - {id: a, kind: modle}\n"
    files = [("system", ("bad.yaml", bad)), ("system", ("good.yaml", AGENT.read_bytes()))]
    r = client.post(url, files=files)
    assert r.status_code == 400 and "system: 2 files uploaded under one name; upload one" in r.text


def test_missing_file_and_oversized_upload(client):
    assert client.post("/threatmodel", files={"overlay": ("o.yaml", b"x: 1")}).status_code == 400
    big = b"#" * ((4 << 20) + 10)
    assert client.post("/api/threatmodel", files={"system": ("s.yaml", big)}).status_code == 413


def test_uploaded_text_is_escaped(client, tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("name: '<script>alert(1)</script>'\ncomponents:\n"
                    "  - {id: api, kind: service, audience: public, returns: scores}\n")
    page = _upload(client, evil).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_the_page_says_what_the_description_leaves_open(client):
    r = _upload(client, DATA / "cyclonedx" / "model-card-with-dataset.bom.json")
    assert r.status_code == 200 and "What the description leaves open" in r.text
    assert "&#39;audience&#39; was assumed to be &#39;internal&#39;" in r.text


@pytest.mark.parametrize("name", ["..", "x" * 300 + ".yaml", "a\x00b.yaml", "系统描述" * 21 + ".yaml"])
def test_odd_upload_names_are_answered_not_a_500(client, name):
    r = client.post("/threatmodel", files={"system": (name, AGENT.read_bytes())})
    assert r.status_code == 200 and "techniques predicted" in r.text


def test_a_system_too_large_for_the_page_is_refused_with_the_limit(client):
    from advmatrix.web._threatmodel import MAX_COMPONENTS

    n = MAX_COMPONENTS + 1
    text = "name: big\ncomponents:\n" + "".join(f"  - {{id: m{i}, kind: model}}\n" for i in range(n))
    r = client.post("/threatmodel", files={"system": ("big.yaml", text.encode())})
    assert r.status_code == 400 and f"big.yaml: {n} components; this page takes up to" in html_lib.unescape(r.text)


def test_a_system_with_too_many_links_for_the_page_is_refused_with_the_limit(client):
    from advmatrix.web._threatmodel import MAX_LINKS

    tools = [f"t{i}" for i in range(200)]
    listed = ", ".join(tools)
    apps = "".join(f"  - {{id: a{i}, kind: llm-app, tools: [{listed}]}}\n" for i in range(MAX_LINKS // 200 + 1))
    text = "name: dense\ncomponents:\n" + apps + "".join(f"  - {{id: {t}, kind: tool}}\n" for t in tools)
    r = client.post("/threatmodel", files={"system": ("dense.yaml", text.encode())})
    assert r.status_code == 400 and f"{(MAX_LINKS // 200 + 1) * 200:,} flows and tool links; this page takes up to" \
        in html_lib.unescape(r.text)


def test_text_where_the_file_belongs_gets_the_page_not_an_echo(client):
    r = client.post("/threatmodel", data={"system": "name: x\n" + "#" * 50_000})
    assert r.status_code == 400 and "system: text where a file belongs" in r.text and "#" * 1000 not in r.text


@pytest.mark.parametrize(("body", "says"), [
    ("name: d\ndescription: \"bad \\ud800\"\ncomponents: [{id: a, kind: external}]\n", "unpaired surrogate"),
    ("name: d\ncomponents: [{id: a, kind: external, properties: {n: " + "1" * 5000 + "}}]\n", "digits"),
])
def test_text_no_output_can_encode_is_a_400_naming_the_line(client, body, says):
    r = client.post("/threatmodel", files={"system": ("odd.yaml", body.encode())})
    assert r.status_code == 400 and says in html_lib.unescape(r.text) and "odd.yaml:" in html_lib.unescape(r.text)


def test_the_api_says_what_is_wrong_without_quoting_a_huge_upload_back(client):
    r = client.post("/api/threatmodel", data={"system": "x" * 100_000})
    assert r.status_code == 400 and len(r.text) < 2_000
    assert r.json()["detail"].startswith("system: text where a file belongs")


@pytest.mark.parametrize("url", ["/threatmodel", "/api/threatmodel"])
def test_an_overlay_typed_into_a_text_field_or_a_stray_field_is_said_not_dropped(client, url):
    system = ("chatbot.bom.json", (Path(__file__).parents[2] / "examples" / "boms" / "chatbot.bom.json").read_bytes())
    r = client.post(url, files={"system": system}, data={"overlay": "hello"})
    assert r.status_code == 400 and "overlay: text where a file belongs" in html_lib.unescape(r.text)
    r = client.post(url, files={"system": system, "bogus": ("s.yaml", b"name: x\n")})
    assert r.status_code == 400 and "bogus: not a field of this form" in html_lib.unescape(r.text)
    r = client.post(url)
    assert r.status_code == 400


def test_a_wrong_property_type_is_found_at_its_line_in_the_upload_never_in_a_server_file(client, tmp_path,
                                                                                        monkeypatch):
    text = "name: x\ncomponents:\n  - id: m\n    kind: model\n    properties: {financial: 1}\n"
    upload = tmp_path / "up" / "intprop.yaml"
    upload.parent.mkdir()
    upload.write_text(text)
    # a file of the same name where the server runs must not be read
    (tmp_path / "intprop.yaml").write_text("\n" * 20 + "components:\n  - id: m\n    properties: {financial: 1}\n")
    monkeypatch.chdir(tmp_path)
    r = _upload(client, upload, url="/api/threatmodel")
    assert r.status_code == 400 and r.json()["detail"].startswith("intprop.yaml:5: component 'm': properties.financial")


def test_the_warnings_the_command_line_prints_come_with_the_upload(client, tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("name: x\ncomponents:\n  - {id: m, kind: model, properties: {finacial: true}}\n")
    r = _upload(client, path, url="/api/threatmodel")
    assert r.status_code == 200
    assert any("properties.finacial is read by no rule (did you mean financial?)" in w for w in r.json()["warnings"])
    page = _upload(client, path)
    assert "did you mean financial?" in html_lib.unescape(page.text)


def test_a_control_no_finding_counts_is_said_with_the_upload(client, tmp_path):
    path = tmp_path / "agent.yaml"
    path.write_text("""name: t
components:
  - {id: partners, kind: external, actor: partner}
  - {id: api, kind: service, audience: partner, authentication: oauth, returns: text}
  - {id: analyst, kind: llm-app, tools: [run-sql]}
  - {id: run-sql, kind: tool, side_effects: read, controls: [AML.M0027]}
flows:
  - {from: partners, to: api}
  - {from: api, to: analyst}
  - {from: analyst, to: api}
""")
    r = _upload(client, path, url="/api/threatmodel")
    assert r.status_code == 200
    assert any(w.startswith("agent.yaml:6: component 'run-sql' lists AML.M0027 in controls, but no finding counts "
                            "it there") for w in r.json()["warnings"]), r.json()["warnings"]


def test_a_property_warning_on_the_page_names_the_propertys_own_line_as_the_command_line_does(client, tmp_path):
    path = tmp_path / "block.yaml"
    path.write_text("name: x\ncomponents:\n  - id: m\n    kind: model\n    properties:\n      finacial: true\n")
    r = _upload(client, path, url="/api/threatmodel")
    assert r.status_code == 200
    assert any(w.startswith("block.yaml:6: component 'm': properties.finacial") for w in r.json()["warnings"]), \
        r.json()["warnings"]
