"""The demo end to end: model trained and cached, served over KServe v2, assessed twice."""

from __future__ import annotations

import json


def test_demo_runs_and_writes_reports(tmp_path, monkeypatch, cli):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from advmatrix.demo import _run
    # Smaller settings keep the test quick; `advmatrix demo` uses the full ones.
    monkeypatch.setattr(_run, "BLACK_BOX", {"discovery": {}, "square": {"n_samples": 3, "max_iter": 50},
                                            "extraction": {"checkpoints": [50, 200]}, "membership": {"n_samples": 100}})
    monkeypatch.setattr(_run, "WHITE_BOX", {"fgsm": {"n_samples": 50}, "pgd": {"n_samples": 50, "steps": 10}})
    r = cli("demo", "--out", tmp_path / "demo", "--json")
    assert r.code == 0, r.err
    result = r.json()
    assert result["test_accuracy"] > 0.9 and result["cached_model"] is False
    assert (tmp_path / "cache" / "advmatrix" / "demo" / "digits-cnn-v1.pt").is_file()
    black = json.loads((tmp_path / "demo" / "black-box" / "report.json").read_text())
    assert black["target"]["access"] == "black-box" and black["target"]["name"] == "digits (kserve)"
    white_report = json.loads((tmp_path / "demo" / "white-box" / "report.json").read_text())
    white = {f["procedure"]: f for f in white_report["findings"]}
    assert white["pgd"]["success_rate"] > 0.8
    runs = cli("runs", "list", "--db", tmp_path / "demo" / "advmatrix.db", "--json").json()
    assert len(runs) == 4  # black-box, white-box, and the LLM application naive and hardened
    naive = {f["procedure"]: f for f in json.loads((tmp_path / "demo" / "llm-naive" / "report.json").read_text())
             ["findings"]}
    hardened = {f["procedure"]: f for f in json.loads((tmp_path / "demo" / "llm-hardened" / "report.json")
                                                      .read_text())["findings"]}
    assert naive["tool-abuse"]["success_rate"] > 0 and hardened["tool-abuse"]["success_rate"] == 0
    assert naive["direct-injection"]["success_rate"] > hardened["direct-injection"]["success_rate"]
    # the black-box run went through the gateway: what it noticed is stored with the run
    detection = {proc: (detected, detectors) for proc, detected, detectors, _ in result["detection"]}
    assert detection["membership"] == (True, ["membership"])
    assert detection["extraction"][0] and "query-coverage" in detection["extraction"][1]
    # the discovery procedure probes with random-noise images, which noise-probe names
    assert detection["discovery"] == (True, ["noise-probe"])
    black_box = ("discovery", "square", "extraction", "membership")
    gateways = {r["label"]: r["gateway"] for r in runs if r["gateway"]}
    assert gateways["demo: black-box over HTTP, through the gateway"] == {
        "procedures": 4, "detected": sum(detection[p][0] for p in black_box)}
    # the LLM application went through a gateway too: its chat detectors noticed the attacks on it
    naive_seen = gateways["demo: local LLM application, naive, through the gateway"]
    assert naive_seen["procedures"] == len(_run.LLM) and naive_seen["detected"] >= len(_run.LLM) - 1
    assert "prompt-injection" in detection["direct-injection"][1]
    assert "prompt-leakage" in detection["prompt-extraction"][1]
    assert (tmp_path / "demo" / "black-box" / "coverage-layer.json").is_file()
    again = cli("demo", "--out", tmp_path / "demo2")
    assert again.code == 0 and "(cached)" in again.out, again.err
    # the summary says where each gateway's alerts are: the LLM applications had gateways of their own
    said = " ".join(again.out.split())
    naive_db = tmp_path / "demo2" / "llm-naive" / "gateway.db"
    assert f"the LLM applications' alerts: --gateway-db {naive_db}" in said
    assert cli("alerts", "list", "--db", naive_db, "--json").json()


def test_a_demo_stopped_part_way_leaves_no_half_made_directory(tmp_path):
    import pytest

    from advmatrix.demo import run_demo

    def stop(message):
        if "serving the victim" in message:  # the store and the gateway's files are written by now
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_demo(tmp_path / "new", on_progress=stop)
    assert not (tmp_path / "new").exists()
    kept = tmp_path / "old"
    kept.mkdir()
    (kept / "mine.txt").write_text("earlier")
    with pytest.raises(KeyboardInterrupt):
        run_demo(kept, on_progress=stop)
    assert (kept / "mine.txt").read_text() == "earlier"  # a directory that was there keeps what it had


def test_an_out_that_is_a_file_is_one_error_line(cli, tmp_path):
    (tmp_path / "taken").write_text("mine")
    r = cli("demo", "--out", tmp_path / "taken")
    assert r.code == 2 and r.err.strip() == f"advmatrix: error: --out {tmp_path / 'taken'}: is a file, not a directory"
    assert (tmp_path / "taken").read_text() == "mine"
