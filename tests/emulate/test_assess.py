"""``advmatrix assess`` against a real model served over HTTP on loopback, the run store, the
reports, and --fail-on."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from advmatrix.serving import ServedModel, make_app, running_server


@pytest.fixture(scope="module")
def served(cnn):
    import torch

    def predict(batch):
        with torch.no_grad():
            return torch.softmax(cnn(torch.from_numpy(batch.astype(np.float32))), 1).numpy()

    app = make_app({"digits": ServedModel(predict, (1, 8, 8), tuple("0123456789"))})
    with running_server(app) as url:
        yield url


def test_assess_over_http_writes_reports_and_stores_the_run(cli, served, tmp_path):
    out = tmp_path / "report"
    db = tmp_path / "runs.db"
    r = cli("assess", f"kserve+{served}/digits", "--procedures", "discovery,square,extraction,pgd",
            "--budget", "3000", "--out", out, "--db", db, "--json")
    assert r.code == 0, r.err
    data = r.json()
    status = {f["procedure"]: f for f in data["findings"]}
    assert status["pgd"]["status"] == "skipped" and "white-box" in status["pgd"]["message"]
    assert status["square"]["status"] in ("completed", "partial") and status["square"]["queries"] <= 3000
    assert status["extraction"]["metrics"]["fidelity"] > 0.7
    html = (out / "report.html").read_text()
    assert "AML.T0043.001" in html and "Recommended mitigations" in html and "data:image/png;base64," in html
    layer = json.loads((out / "layer.json").read_text())
    assert layer["domain"] == "atlas-atlas" and any(t["techniqueID"] == "AML.T0024.002" for t in layer["techniques"])
    assert json.loads((out / "report.json").read_text())["id"] == data["id"]
    listed = cli("runs", "list", "--db", db, "--json").json()
    assert [row["id"] for row in listed] == [data["id"]]
    shown = cli("runs", "show", data["id"][:6], "--db", db, "--json").json()
    assert shown["findings"][0]["procedure"] == "discovery"
    again = tmp_path / "again"
    assert cli("runs", "report", data["id"], "--db", db, "--out", again).code == 0
    assert (again / "report.html").is_file()


def test_fail_on_rule_sets_exit_code(cli, served, tmp_path):
    args = ["assess", f"kserve+{served}/digits", "--procedures", "extraction", "--budget", "1000",
            "--out", tmp_path / "o", "--db", tmp_path / "r.db"]
    held = cli(*args, "--fail-on", "extraction.fidelity>0.5")
    assert held.code == 1
    # the line names the gated metric's value, not the success rate (newcomer walkthrough N2)
    assert re.search(r"fail-on extraction\.fidelity>0\.5: extraction \(fidelity 0\.\d+\)", held.err), held.err
    assert cli(*args, "--fail-on", "extraction.fidelity>1.5").code == 0
    r = cli(*args, "--fail-on", "extraction fidelity high")
    assert r.code == 2 and "expected SELECTOR.METRIC OP NUMBER" in r.err


def test_assess_bad_inputs_are_one_line(cli, tmp_path):
    r = cli("assess", "kserve+http://127.0.0.1:1/none", "--db", tmp_path / "r.db")
    assert r.code == 2 and r.err.startswith("advmatrix: error:") and "cannot reach" in r.err
    r = cli("assess", "nonsense", "--db", tmp_path / "r.db")
    assert r.code == 2 and "not a target URI" in r.err
    assert not (tmp_path / "r.db").exists(), "a run that never started leaves no database"
    from advmatrix.store import RunStore

    RunStore(tmp_path / "r.db")
    r = cli("runs", "show", "deadbeef", "--db", tmp_path / "r.db")
    assert r.code == 3 and "no object with ID 'deadbeef' in the run store" in r.err


def test_data_shape_mismatch_is_clear(cli, served, tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((4, 10)), y=np.zeros(4))
    r = cli("assess", f"kserve+{served}/digits", "--data", bad, "--db", tmp_path / "r.db")
    assert r.code == 2 and "has 10 values per sample" in r.err


def test_procedures_listing(cli):
    rows = cli("procedures", "--json").json()
    expected = {"fgsm", "pgd", "square", "hopskipjump", "extraction", "membership", "discovery"}
    assert expected <= {r["name"] for r in rows}
    # what each needs is said in words, not just an access level: backdoor is no black-box attack
    lines = cli("procedures").out.splitlines()
    at = next(i for i, line in enumerate(lines) if "backdoor" in line)
    block = " ".join(lines[at:at + 4])  # a narrow terminal wraps the cell over a few lines
    assert "(--train)" in block
    assert {r["name"]: r["target_kind"] for r in rows}["direct-injection"] == "chat"


def test_server_failing_mid_run_keeps_what_was_measured(cnn, data):
    """The server dies after a few hundred queries: extraction reports its earlier checkpoint."""
    import torch
    from fastapi import Request
    from fastapi.responses import PlainTextResponse

    from advmatrix.emulate import get
    from advmatrix.targets import KServeV2Target, TargetInfo

    def predict(batch):
        with torch.no_grad():
            return torch.softmax(cnn(torch.from_numpy(batch.astype(np.float32))), 1).numpy()

    app = make_app({"digits": ServedModel(predict, (1, 8, 8), tuple("0123456789"))})
    seen = {"n": 0}

    @app.middleware("http")
    async def die(request: Request, call_next):
        seen["n"] += 1
        if seen["n"] > 6:
            return PlainTextResponse("down", status_code=503)
        return await call_next(request)

    with running_server(app) as url:
        t = KServeV2Target(url, "digits", TargetInfo("digits", (1, 8, 8), tuple("0123456789")),
                           max_batch=64, retries=1, backoff=0.01)
        f = get("extraction")(checkpoints=[64, 2000], n_holdout=128).run(t, data)
    assert f.status == "partial" and "HTTP 503" in f.message
    assert f.metrics["fidelity@64"] > 0.3 and "fidelity@2000" not in f.metrics
    assert f.success_rate == f.metrics["fidelity"] == f.metrics["fidelity@64"]


def test_a_misspelled_gate_fails_loudly(cli, served, tmp_path):
    """A gate that can never hold is an error (exit 2, one line), never a silent pass."""
    args = ["assess", f"kserve+{served}/digits", "--procedures", "extraction", "--budget", "300",
            "--out", tmp_path / "o", "--db", tmp_path / "r.db"]
    r = cli(*args, "--fail-on", "extracton.fidelity>0.5")
    assert r.code == 2 and "'extracton' is no family or procedure" in r.err and len(r.err.splitlines()) == 1
    assert not (tmp_path / "r.db").exists() or cli("runs", "list", "--db", tmp_path / "r.db", "--json").json() == []
    r = cli(*args, "--fail-on", "extraction.fidelty>0.5")
    assert r.code == 2 and "no procedure reports a metric 'fidelty'" in r.err and "fidelity" in r.err
    assert not (tmp_path / "r.db").exists()  # a metric no procedure reports is refused before any query
    r = cli(*args, "--fail-on", "evasion.success>0.5")
    assert r.code == 2 and "no procedure matching 'evasion' is chosen for this target (chosen: extraction)" in r.err
    assert not (tmp_path / "r.db").exists() and not (tmp_path / "o").exists()  # refused before any query


def test_the_engine_is_the_same_for_library_users(served, tmp_path):
    from advmatrix.emulate import assess, load_run
    from advmatrix.store import RunStore

    result = assess(f"kserve+{served}/digits", procedures={"discovery": {}, "square": {"n_samples": 3}},
                    budget=500, store=tmp_path / "r.db", out_dir=tmp_path / "o", fail_on=["square.success>=0"])
    assert [f.procedure for f in result.assessment.findings] == ["discovery", "square"]
    assert result.failed and result.reports["html"].endswith("report.html")
    assert load_run(RunStore(tmp_path / "r.db"), result.assessment.id).findings[1].params["n_samples"] == 3


def test_a_target_that_cannot_be_used_leaves_no_empty_database(tmp_path):
    from advmatrix.emulate import assess
    from advmatrix.errors import TargetUnavailable

    db = tmp_path / "runs.db"
    with pytest.raises(TargetUnavailable):
        assess("kserve+http://127.0.0.1:1/m", procedures=["discovery"], store=db)
    assert not list(tmp_path.iterdir())


def test_a_run_stopped_before_it_is_stored_leaves_no_database_it_made(served, tmp_path):
    from advmatrix.emulate import assess
    from advmatrix.store import RunStore

    def stop(name, finding):
        raise KeyboardInterrupt  # Ctrl-C (or SIGTERM) while the first procedure runs

    db = tmp_path / "runs.db"
    with pytest.raises(KeyboardInterrupt):
        assess(f"kserve+{served}/digits", procedures={"discovery": {}}, store=db, out_dir=tmp_path / "out",
               on_progress=stop)
    assert not db.exists() and not list(tmp_path.glob("runs.db*"))
    # a store that was there keeps what it had
    RunStore(db)
    with pytest.raises(KeyboardInterrupt):
        assess(f"kserve+{served}/digits", procedures={"discovery": {}}, store=db, on_progress=stop)
    assert db.exists()


def test_ctrl_c_in_a_surrogate_that_swallows_it_still_stops_the_run():
    import warnings

    from advmatrix.emulate.extraction import _fit

    class Swallows:  # scikit-learn's MLP: catches KeyboardInterrupt, warns, returns half-trained
        def fit(self, x, y):
            warnings.warn("Training interrupted by user.", stacklevel=1)
            return self

    with pytest.raises(KeyboardInterrupt):
        _fit(Swallows(), np.zeros((2, 2)), np.zeros(2))

    class Converges:
        def fit(self, x, y):
            warnings.warn("Stochastic Optimizer: Maximum iterations reached", stacklevel=1)
            return self

    with pytest.warns(UserWarning, match="Maximum iterations"):
        assert isinstance(_fit(Converges(), np.zeros((2, 2)), np.zeros(2)), Converges)


def test_a_gate_over_procedures_that_all_ended_in_error_checks_nothing_and_says_so():
    # a dead target, a wrong key or a route answering 404: every trial errored and --fail-on passed with exit 0
    # (newcomer walkthrough N2); the run is kept, the gate fails loudly
    from advmatrix.emulate import assess
    from advmatrix.errors import TargetError, UsageError
    from advmatrix.targets import ChatInfo, MockChatTarget

    def down(messages, tools):
        raise TargetError("HTTP 401 Unauthorized")

    with pytest.raises(UsageError, match=r"--fail-on 'any.success>0': every procedure it checks ended in error"):
        assess(MockChatTarget(down, ChatInfo("app")), procedures={"direct-injection": {"max_payloads": 2}},
               fail_on=["any.success>0"])
