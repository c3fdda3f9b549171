"""A third-party package with one plugin of every kind, installed the way pip installs one (a
package beside a ``.dist-info`` declaring its entry points), is discovered and used by real
``advmatrix`` processes — ``plugins``, ``assess``, ``scan`` and ``monitor`` — with no edit to
advmatrix."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI, Request  # at module level: the endpoint's annotations are resolved here

PACKAGE = {
    "procedures.py": '''
        import numpy as np
        from advmatrix.emulate import Procedure

        class ConfidenceProbe(Procedure):
            """Sends ten seed inputs once; success is the share answered with over 90 % confidence."""
            name, title, family = "tp-confidence", "Third-party confidence probe", "discovery"
            technique_ids = ("AML.T0013",)

            def _run(self, target, data, finding, rng):
                scores = target.predict(data.x[:10])
                finding.success_rate = float((scores.max(axis=1) > 0.9).mean())
                finding.metrics["confident"] = finding.success_rate
    ''',
    "detectors.py": '''
        from advmatrix.detect import Detector

        class BigBatch(Detector):
            """Alerts on any request carrying more than three samples."""
            name, title, technique_ids = "tp-big-batch", "Big batches", ("AML.T0034",)

            def observe(self, event):
                if event.n > 3:
                    return [self.alert(event, "medium", f"{event.n} samples in one request", samples=event.n)]
                return []
    ''',
    "responses.py": '''
        from advmatrix.respond import Response

        class Tarpit(Response):
            """Answers every request of the client with 429 while it holds."""
            name, title, mitigation_ids = "tp-tarpit", "Tarpit", ("AML.M0004",)

            def admit(self, measure, now):
                return 429, "tarpit"
    ''',
    "targets.py": '''
        import numpy as np
        from advmatrix.targets import MockTarget, TargetKind

        class Constant(TargetKind):
            """A digits model that answers 3, with 95.5 % confidence, whatever it is asked."""
            name, title, schemes = "tp-constant", "Constant digits model", ("tp-constant",)

            @classmethod
            def open(cls, description, budget, source):
                info = cls.target_info({"input_shape": [1, 8, 8], "classes": list("0123456789"), **description},
                                       source)
                scores = np.eye(10)[3] * 0.95 + 0.005
                return MockTarget(lambda x: np.tile(scores, (len(x), 1)), info, budget)
    ''',
    "protocols.py": '''
        import numpy as np
        from advmatrix.protocols import Protocol

        class Rows(Protocol):
            """POST /rows/predict with {"rows": [...]}; the reply is {"probabilities": [...]}."""
            name, title = "tp-rows", "Rows JSON"

            def match(self, path):
                return path == "/rows/predict"

            def encode_request(self, batch):
                return {"rows": np.asarray(batch).reshape(len(batch), -1).tolist()}

            def decode_request(self, doc):
                return np.asarray(doc["rows"], dtype=np.float64)

            def encode_reply(self, scores, model=""):
                return {"probabilities": np.asarray(scores).tolist()}

            def decode_reply(self, doc, n=None):
                return np.asarray(doc["probabilities"], dtype=np.float64)

            def replace_outputs(self, doc, scores):
                doc["probabilities"] = np.asarray(scores).tolist()
                return doc
    ''',
    "formats.py": '''
        from advmatrix.scan import Format, Severity

        class Magic(Format):
            """TPMAGIC weight files, which may carry a script after the magic."""
            name, title, technique_ids, order = "tp-magic", "TP magic weights", ("AML.T0010.003",), 5

            @classmethod
            def sniff(cls, data, name):
                return data[:7] == b"TPMAGIC"

            @classmethod
            def check(cls, data, where):
                if data.find(b"exec(") >= 0:  # data may be a memory map: find, not `in`
                    return [where.finding("tp-magic-script", Severity.HIGH, "a script follows the magic",
                                          techniques=cls.technique_ids)]
                return []

            @classmethod
            def example(cls):
                return b"TPMAGIC weights"
    ''',
}

ENTRY_POINTS = """
[advmatrix.procedures]
tp = advmatrix_tp.procedures
[advmatrix.detectors]
tp = advmatrix_tp.detectors
[advmatrix.responses]
tp = advmatrix_tp.responses
[advmatrix.targets]
tp = advmatrix_tp.targets
[advmatrix.protocols]
tp = advmatrix_tp.protocols
[advmatrix.scan_formats]
tp = advmatrix_tp.formats
"""

NAMES = {"procedure": "tp-confidence", "detector": "tp-big-batch", "response": "tp-tarpit",
         "target": "tp-constant", "protocol": "tp-rows", "scan-format": "tp-magic"}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    package = root / "advmatrix_tp"
    package.mkdir()
    (package / "__init__.py").write_text('"""Plugins for advmatrix from someone else."""\n')
    for name, source in PACKAGE.items():
        (package / name).write_text(textwrap.dedent(source).lstrip())
    info = root / "advmatrix_tp-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: advmatrix-tp\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return root


def _advmatrix(site: Path, cwd: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "advmatrix", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180, **kwargs)


def test_plugins_lists_one_of_each_kind(site, tmp_path):
    result = _advmatrix(site, tmp_path, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    for kind, name in NAMES.items():
        row = rows[(kind, name)]
        assert row["source"] == "advmatrix-tp" and row["available"], row
    assert rows[("detector", "tp-big-batch")]["technique_ids"] == ["AML.T0034"]
    assert rows[("response", "tp-tarpit")]["mitigation_ids"] == ["AML.M0004"]
    assert ("detector", "prada") in rows  # the built-ins are still there


def test_assess_runs_a_third_party_procedure_on_a_third_party_target(site, tmp_path):
    result = _advmatrix(site, tmp_path, "assess", "tp-constant:anything", "--procedures", "tp-confidence,discovery",
                        "--out", tmp_path / "out", "--db", tmp_path / "runs.db", "--json")
    assert result.returncode == 0, result.stderr
    findings = {f["procedure"]: f for f in json.loads(result.stdout)["findings"]}
    probe = findings["tp-confidence"]
    assert probe["status"] == "completed" and probe["success_rate"] == 1.0 and probe["queries"] == 10
    assert probe["technique_ids"] == ["AML.T0013"]
    assert findings["discovery"]["status"] == "completed"
    layer = json.loads((tmp_path / "out" / "layer.json").read_text())
    assert any(t["techniqueID"] == "AML.T0013" for t in layer["techniques"])


def test_scan_uses_a_third_party_format(site, tmp_path):
    (tmp_path / "evil.bin").write_bytes(b"TPMAGIC exec('import os')")
    (tmp_path / "fine.bin").write_bytes(b"TPMAGIC weights")
    result = _advmatrix(site, tmp_path, "scan", tmp_path, "--json")
    assert result.returncode == 1, result.stderr
    files = {Path(f["path"]).name: f for f in json.loads(result.stdout)["files"]}
    assert files["evil.bin"]["format"] == "tp-magic" and files["fine.bin"]["format"] == "tp-magic"
    assert [f["rule"] for f in files["evil.bin"]["findings"]] == ["tp-magic-script"]
    assert files["fine.bin"]["findings"] == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_monitor_observes_a_third_party_protocol_and_applies_a_third_party_response(site, tmp_path, monkeypatch):
    from advmatrix.serving import running_server

    monkeypatch.syspath_prepend(str(site))
    from advmatrix_tp.protocols import Rows

    upstream, rows = FastAPI(), Rows()

    @upstream.post("/rows/predict")
    async def predict(request: Request) -> dict:
        x = rows.decode_request(await request.json())
        return rows.encode_reply(np.tile(np.eye(3)[1], (len(x), 1)))

    config = tmp_path / "gateway.yaml"
    config.write_text(json.dumps({"detectors": {"tp-big-batch": {}},
                                  "responses": {"tp-big-batch": {"action": "tp-tarpit", "duration_s": 60}}}))
    port = _free_port()
    with running_server(upstream) as upstream_url:
        env = {**os.environ, "PYTHONPATH": str(site), "ADVMATRIX_TOKEN": "t0ken"}
        gateway = subprocess.Popen([sys.executable, "-m", "advmatrix", "monitor", "--upstream", upstream_url,
                                    "--listen", f"127.0.0.1:{port}", "--config", config, "--db", tmp_path / "gw.db"],
                                   cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/_advmatrix/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert gateway.poll() is None and time.monotonic() < deadline, gateway.communicate()[1]
                time.sleep(0.2)
            headers = {"x-api-key": "eve"}
            small = httpx.post(f"{base}/rows/predict", json=rows.encode_request(np.zeros((2, 4))), headers=headers)
            assert small.status_code == 200 and small.json()["probabilities"] == [[0, 1, 0], [0, 1, 0]]
            big = httpx.post(f"{base}/rows/predict", json=rows.encode_request(np.zeros((5, 4))), headers=headers)
            assert big.status_code == 200  # the reply goes out, then the detector sees the request
            refused = httpx.post(f"{base}/rows/predict", json=rows.encode_request(np.zeros((1, 4))), headers=headers)
            assert refused.status_code == 429 and "tarpit" in refused.text
            other = httpx.post(f"{base}/rows/predict", json=rows.encode_request(np.zeros((1, 4))),
                               headers={"x-api-key": "bob"})
            assert other.status_code == 200
            alerts = httpx.get(f"{base}/_advmatrix/alerts", headers={"authorization": "Bearer t0ken"}).json()
            assert len(alerts) == 1
            assert alerts[0]["threat"]["technique"]["id"] == ["AML.T0034"]
            assert alerts[0]["advmatrix"]["action"] == "tp-tarpit"
            assert alerts[0]["advmatrix"]["mitigation_ids"] == ["AML.M0004"]
        finally:
            gateway.terminate()
            gateway.wait(timeout=20)
