"""``advmatrix demo --keep-serving``: the model server and the gateway stay up after the demo,
and the commands it prints work against them."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess

import httpx
import pytest


def test_keep_serving_prints_commands_that_work(tmp_path, monkeypatch, cli, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from advmatrix.cli import assess as assess_cli
    from advmatrix.demo import _run

    monkeypatch.setattr(_run, "BLACK_BOX", {"discovery": {}, "extraction": {"checkpoints": [50]}})
    monkeypatch.setattr(_run, "_rest_of_demo", lambda result, black, *a: result.runs.update(
        {"black-box": black.assessment.id}) or result.reports.update({"black-box": black.reports}) or
        result.findings.update({"black-box": []}))
    seen: dict = {}

    def wait() -> None:  # instead of blocking until Ctrl-C: use the servers the demo left up
        printed = seen["out"] = capsys.readouterr().out
        commands = [line.strip() for line in printed.splitlines() if line.startswith("  ") and
                    line.strip().startswith(("curl", "ADVMATRIX_TOKEN", "advmatrix"))]
        seen["commands"] = commands
        meta = next(c for c in commands if c.startswith("curl") and "/infer" not in c and "alerts" not in c)
        seen["metadata"] = httpx.get(shlex.split(meta)[-1], timeout=10).json()
        if shutil.which("curl"):
            infer = next(c for c in commands if "/infer" in c)
            reply = subprocess.run(infer, shell=True, capture_output=True, text=True, timeout=30)
            seen["infer"] = json.loads(reply.stdout)
        raise KeyboardInterrupt  # as Ctrl-C would

    monkeypatch.setattr(assess_cli, "_wait", wait)
    r = cli("demo", "--out", tmp_path / "demo", "--keep-serving")
    assert r.code == 0, r.err
    printed = seen["out"]
    assert "still serving" in printed and "Ctrl-C" in printed
    assert seen["metadata"]["name"] == "digits"
    if "infer" in seen:
        assert seen["infer"]["outputs"][0]["shape"][-1] == 10
    commands = seen["commands"]
    db = tmp_path / "demo" / "advmatrix.db"
    gateway_db = tmp_path / "demo" / "gateway.db"
    assert f"advmatrix serve --db {db} --gateway-db {gateway_db}" in commands
    assert f"advmatrix alerts list --db {gateway_db}" in commands
    assess = next(c for c in commands if " assess " in c)
    assert "--gateway-admin http://127.0.0.1:" in assess and assess.startswith("ADVMATRIX_TOKEN=")
    # the servers are stopped once the wait ends
    url = shlex.split(next(c for c in commands if c.startswith("curl") and "/infer" not in c))[-1]
    with pytest.raises(httpx.HTTPError):
        httpx.get(url, timeout=2)


def test_keep_serving_is_an_option(cli):
    r = cli("demo", "--help")
    assert "--keep-serving" in r.out
