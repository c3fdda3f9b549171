"""Campaigns: many targets x procedures, one run, shared budgets, failures kept, resume."""

from __future__ import annotations

import importlib.util

import pytest

from advmatrix.emulate import load_run
from advmatrix.emulate.campaign_exec import Coordinator, load_plan, run_campaign
from advmatrix.errors import UsageError

PROCEDURES = "procedures:\n  discovery: {n_probes: 16}\n  fgsm: {n_samples: 8}\n"


@pytest.fixture
def plan(tmp_path, cnn):
    """Writes a plan: the test CNN (a torch file) and a KServe target on a closed port."""
    import torch

    torch.save(cnn, tmp_path / "cnn.pt")

    def write(cnn_extra: str = "", top: str = PROCEDURES) -> str:
        path = tmp_path / "plan.yaml"
        path.write_text(
            f"name: t\n{top}targets:\n"
            f"  - name: cnn\n    target: {{protocol: torch, path: {tmp_path / 'cnn.pt'}, input_shape: [1, 8, 8], "
            f"classes: 10, output: logits}}\n{cnn_extra}"
            "  - name: down\n    target: kserve+http://127.0.0.1:9/digits\n")
        return str(path)

    return write


def test_a_campaign_stores_every_unit_in_one_run_keeps_failures_and_shares_budgets(cli, plan, tmp_path):
    db = tmp_path / "c.db"
    result = cli("campaign", plan("    budget: 30\n    concurrency: 2\n"), "--db", db, "--workers", "2", "--json")
    assert result.code == 0, result.err
    data = result.json()
    status = {u["key"]: u["status"] for u in data["units"]}
    assert sorted(status) == ["cnn/discovery", "cnn/fgsm", "down/discovery", "down/fgsm"]
    assert {status["cnn/discovery"], status["cnn/fgsm"]} <= {"completed", "partial"}  # who runs dry first varies
    assert status["down/discovery"] == status["down/fgsm"] == "error"  # a target down fails its units only
    assert all("TargetUnavailable" in u["message"] for u in data["units"] if u["target"] == "down")
    cnn = [data["findings"][u["finding"]] for u in data["units"] if u["target"] == "cnn"]
    assert sum(f["queries"] for f in cnn) == data["spent"]["cnn"] <= 30
    assert any("shared budget of 30" in f["message"] for f in cnn)
    assert len(load_run(db, data["run"]).findings) == 4  # one run holds every unit


def test_resume_runs_only_the_units_not_stored(plan, tmp_path):
    db = tmp_path / "c.db"
    first = run_campaign(load_plan(plan(top="procedures: {discovery: {n_probes: 16}}\n")), store=db, workers=1)
    again = run_campaign(plan(), store=db, workers=2, resume=first.assessment.id)
    assert (again.ran, again.skipped) == (2, 2)
    assert again.assessment.id == first.assessment.id
    assert len(load_run(db, first.assessment.id).findings) == 4


def test_the_coordinator_refuses_past_the_limit_without_charging():
    c = Coordinator({"a": 10}, {"a": 4})
    assert c.take("a", 6)[0] and not c.take("a", 1)[0]
    assert c.spent() == {"a": 10}


@pytest.mark.parametrize(("text", "expected"), [
    ("targets: []\n", r"plan.yaml:1: targets: List should have at least 1 item"),
    ("procedures: [fgsm]\ntargets:\n  - name: a\n    target: x\n    budget: -1\n", r"plan.yaml:5: targets.0.budget"),
    ("procedures: [fgsn]\ntargets:\n  - name: a\n    target: x\n", r"plan.yaml:1: procedures.fgsn: .*fgsm"),
    ("targets:\n  - name: a\n    target: x\n", r"plan.yaml:2: targets.0.procedures: name the procedures"),
    ("targets: [\n", r"plan.yaml:2: not valid YAML"),
])
def test_bad_plans_are_one_line_naming_file_line_and_field(cli, tmp_path, text, expected):
    import re

    (tmp_path / "plan.yaml").write_text(text)
    with pytest.raises(UsageError, match=expected):
        load_plan(tmp_path / "plan.yaml")
    result = cli("campaign", tmp_path / "plan.yaml", "--db", tmp_path / "c.db")
    assert result.code == 2 and re.search(expected, result.err) and "Traceback" not in result.err


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray not installed (pip install 'advmatrix[ray]')")
def test_ray_gives_the_same_findings_as_local_processes(plan, tmp_path):
    path = plan()
    local = run_campaign(path, store=tmp_path / "l.db", workers=2)
    ray = run_campaign(path, store=tmp_path / "r.db", executor="ray", workers=2)

    def outcome(result):
        return sorted((u["key"], u["status"], result.assessment.findings[u["finding"]].success_rate,
                       result.assessment.findings[u["finding"]].queries) for u in result.units)

    assert outcome(ray) == outcome(local)


def _listening(pids: set[int]) -> list[str]:
    """Addresses (hex, as /proc/net shows them) the processes ``pids`` listen on over TCP."""
    import os

    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:  # gone meanwhile
            continue
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for row in list(f)[1:]:
                cols = row.split()
                if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                    out.append(cols[1].rsplit(":", 1)[0])
    return out


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray not installed (pip install 'advmatrix[ray]')")
@pytest.mark.skipif(not __import__("os").path.exists("/proc/net/tcp"), reason="needs Linux's /proc")
def test_the_local_ray_cluster_listens_on_loopback_only(plan, tmp_path):
    """Ray's job and gRPC servers run any code they are sent (ATLAS AML.CS0023): the cluster a
    campaign starts must not be reachable from another host."""
    import psutil

    seen: list[list[str]] = []

    def progress(key, finding):
        if finding is None and not seen:  # while the cluster runs its first unit
            me = psutil.Process()
            seen.append(_listening({p.pid for p in me.children(recursive=True)} | {me.pid}))

    run_campaign(plan(), store=tmp_path / "r.db", executor="ray", workers=2, on_progress=progress)
    addresses = seen[0]
    assert addresses, "found no listening socket of the Ray cluster"
    # 0100007F is 127.0.0.1; the v6 table shows it mapped (::ffff:127.0.0.1) or as ::1
    loopback = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}
    assert set(addresses) <= loopback, addresses


def test_a_worker_killed_mid_campaign_loses_no_finished_unit(plan, tmp_path):
    """SIGKILL the worker process as the second unit starts: the first unit's finding is stored,
    the unit that was running is an error naming the dead worker, and the rest run on a fresh one."""
    import os
    import signal

    import psutil

    db = tmp_path / "c.db"
    top = "procedures:\n  discovery: {n_probes: 16}\n  fgsm: {n_samples: 8}\n  pgd: {n_samples: 8}\n"
    path = plan(top=top)
    started: list[str] = []
    killed: list[int] = []

    def progress(key, finding):
        if finding is not None or not key.startswith("cnn/"):
            return
        started.append(key)
        if len(started) == 2:
            me = psutil.Process()
            # the pool's worker is the newest child (the manager came first; the resource tracker aside)
            pool = [p for p in me.children() if "resource_tracker" not in " ".join(p.cmdline())]
            victim = max(pool, key=lambda p: p.create_time())
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    result = run_campaign(path, store=db, workers=1, on_progress=progress)
    assert killed
    units = {u["key"]: u for u in result.units}
    first, second = started[0], started[1]
    finding = result.assessment.findings[units[first]["finding"]]
    assert units[first]["status"] in ("completed", "partial") and finding.queries > 0
    assert units[second]["status"] == "error" and "worker process died" in units[second]["message"]
    later = [k for k in units if k.startswith("cnn/") and k not in (first, second)]
    assert later and all(units[k]["status"] in ("completed", "partial", "skipped") for k in later)
    assert len(load_run(db, result.assessment.id).findings) == len(units)  # every unit stored
