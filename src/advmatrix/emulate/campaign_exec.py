"""Campaigns: many targets x procedures from one plan file, run by an executor, stored as one run.

A *unit* is one procedure against one target. Units run in worker processes (local
``ProcessPoolExecutor`` by default, Ray tasks with ``executor="ray"``); the calling process
schedules them, so a target never has more than its ``concurrency`` units running at once, and
it alone writes the run store: each unit's finding is stored as soon as it arrives, so an
interrupted campaign keeps every finished unit and ``resume=`` runs only the others.

A target's ``budget`` is shared by all its units. Queries are charged inside the workers, so the
count lives in one :class:`Coordinator`: served by a ``multiprocessing`` manager for local
workers, a Ray actor for Ray ones.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import sys
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any

from ..errors import BudgetExhausted, CapabilityError, UsageError
from ..targets import Budget
from ._base import Finding
from ._campaign import Assessment
from ._campaign_plan import Plan, PlanTarget, Unit, load_plan, units

Progress = Callable[[str, Finding | None], None]
EXECUTORS = ("local", "ray")


# -- the coordinator: one count of queries per target, shared by every worker --------------------
class Coordinator:
    """Query counts per target against their shared budgets. One instance serves all workers
    (manager server threads or a Ray actor), hence the lock."""

    def __init__(self, limits: dict[str, int | None], used: dict[str, int] | None = None):
        self.limits = dict(limits)
        self.used = {name: 0 for name in limits} | dict(used or {})
        self._lock = threading.Lock()

    def take(self, target: str, n: int) -> tuple[bool, int, int | None]:
        """Charge ``n`` queries to ``target``: (granted, spent so far, limit). A refusal charges
        nothing; it is returned, not raised, so that it crosses Ray and manager boundaries alike."""
        with self._lock:
            limit, spent = self.limits.get(target), self.used.get(target, 0)
            if limit is not None and spent + n > limit:
                return False, spent, limit
            self.used[target] = spent + n
            return True, spent + n, limit

    def spent(self) -> dict[str, int]:
        """Queries charged so far, per target."""
        with self._lock:
            return dict(self.used)


class _Manager(BaseManager):
    """Serves the one :class:`Coordinator` to local worker processes."""


_Manager.register("Coordinator", Coordinator)


class _RayLink:
    """What a Ray task holds of the coordinator actor: the same ``take`` as a local proxy."""

    def __init__(self, actor: Any):
        self.actor = actor

    def take(self, target: str, n: int) -> tuple[bool, int, int | None]:
        import ray

        return ray.get(self.actor.take.remote(target, n))


@dataclass
class SharedBudget(Budget):
    """A unit's own budget that also charges its target's shared budget. ``used`` stays the
    unit's own count, so a finding's queries are its own, not its neighbours'."""

    target_name: str = ""
    link: Any = None

    def charge(self, n: int, target: str) -> None:
        with self._lock:
            if self.limit is not None and self.used + n > self.limit:
                raise BudgetExhausted(f"{target}: query budget of {self.limit} exhausted "
                                      f"({self.used} spent, {n} more requested)")
            if self.link is not None:
                granted, spent, limit = self.link.take(self.target_name, n)
                if not granted:
                    raise BudgetExhausted(f"{target}: the target's shared budget of {limit} queries is spent "
                                          f"({spent} by all its units, {n} more requested)")
            self.used += n


def _sharing(target: Any, name: str, link: Any) -> Any:
    """``target`` whose ``with_budget`` makes every budget a :class:`SharedBudget`: procedures
    carve sub-budgets with a plain ``Budget`` (to keep queries aside for scoring), and those
    queries must reach the shared count too. Clones copy the instance's attributes, so they keep it."""
    plain = type(target).with_budget

    def with_budget(budget: Budget) -> Any:
        if not isinstance(budget, SharedBudget):
            budget = SharedBudget(limit=budget.limit, target_name=name, link=link)
        return plain(target, budget)

    target.with_budget = with_budget
    return target


# -- one unit, in a worker ------------------------------------------------------------------------
_worker_link: Any = None


def _init_worker(link: Any) -> None:
    # the manager proxy travels in the worker's start-up arguments, where its auth key goes with it
    global _worker_link
    _worker_link = link


def _local_unit(unit: Unit) -> dict:
    return run_unit(unit, _worker_link)


def error_finding(unit: Unit, reason: str) -> Finding:
    """The finding that records a unit which could not run, with the reason."""
    from ._registry import get

    try:
        cls = get(unit.procedure)
        title, family, tids = cls.title, cls.family, tuple(cls.technique_ids)
    except LookupError:
        title, family, tids = unit.procedure, "", ()
    return Finding(unit.procedure, title, family, tids, status="error", message=reason, params=unit.params)


def run_unit(unit: Unit, link: Any = None) -> dict:
    """Run one unit and return its finding as a dict. Nothing escapes: a target that cannot be
    opened or any exception becomes an ``error`` finding naming the reason."""
    import numpy as np

    from ..targets import ChatTarget, open_target
    from ._base import Dataset
    from ._data import load_dataset
    from ._registry import get

    target = None
    try:
        procedure = get(unit.procedure)(**unit.params)
        target = open_target(unit.target, budget=Budget())
        if isinstance(target, ChatTarget):
            data = Dataset(x=np.empty((0,)), y=np.empty((0,)))
            scoped = target.with_budget(Budget(limit=unit.unit_budget))
        else:
            data = load_dataset(unit.data, target.info)
            scoped = _sharing(target, unit.target_name, link).with_budget(Budget(limit=unit.unit_budget))
        finding = procedure.run(scoped, data, seed=unit.seed)
    except Exception as exc:  # one unit's failure must never end the campaign
        finding = error_finding(unit, f"{type(exc).__name__}: {exc}".strip())
        if not str(exc):
            finding.message += " " + traceback.format_exc(limit=2).strip().splitlines()[-1]
    finally:
        if target is not None:
            try:
                target.close()
            except Exception:  # closing a dead target has nothing left to lose
                pass
    return finding.as_dict()


# -- the run store: one run, written unit by unit ---------------------------------------------------
class _Recorder:
    """Writes the campaign's run row once and each unit's finding as it arrives."""

    def __init__(self, store: Any, plan: Plan, plan_path: str, resume: str | None):
        from ..store import RunStore

        self.store = store if isinstance(store, RunStore) else RunStore(store)
        if resume:
            doc = self.store.document(resume)
            if "campaign" not in doc:
                raise UsageError(f"--resume {resume}: run {doc['id']} is not a campaign")
            self.assessment = Assessment.from_dict(doc)
            self.campaign = doc["campaign"]
            stored = {t["name"] for t in self.campaign["targets"]}
            extra = sorted({t.name for t in plan.targets} - stored)
            self.campaign["targets"] += [self._describe(t) for t in plan.targets if t.name in extra]
            return
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.campaign = {"plan": plan_path, "name": plan.name, "units": [],
                         "targets": [self._describe(t) for t in plan.targets]}
        self.assessment = Assessment(id=uuid.uuid4().hex[:12], started=now, label=plan.name,
                                     target={"name": f"campaign {plan.name} ({len(plan.targets)} targets)",
                                             "access": "mixed"})
        from ..store._runs import runs

        with self.store.engine.begin() as conn:
            conn.execute(runs.insert().values(
                id=self.assessment.id, label=plan.name, target_name=self.assessment.target["name"],
                access="mixed", started=now, finished="", document=json.dumps(self._doc())))

    @staticmethod
    def _describe(t: PlanTarget) -> dict:
        # a description inline may hold credentials already expanded nowhere; keep only its shape
        where = t.target if isinstance(t.target, str) else f"<{t.target.get('protocol', 'description')}>"
        return {"name": t.name, "target": where, "budget": t.budget, "concurrency": t.concurrency}

    def done(self) -> dict[str, dict]:
        """Stored units by key."""
        return {u["key"]: u for u in self.campaign["units"]}

    def spent(self) -> dict[str, int]:
        """Queries already spent per target by stored units (they count against its budget)."""
        total: dict[str, int] = {}
        for u in self.campaign["units"]:
            total[u["target"]] = total.get(u["target"], 0) + self.assessment.findings[u["finding"]].queries
        return total

    def _doc(self) -> dict:
        return {**self.assessment.as_dict(), "campaign": self.campaign}

    def add(self, unit: Unit, finding: Finding) -> None:
        from ..store._runs import findings, runs

        position = len(self.assessment.findings)
        self.assessment.findings.append(finding)
        self.campaign["units"].append({"key": unit.key, "target": unit.target_name, "procedure": unit.procedure,
                                       "status": finding.status, "finding": position, "message": finding.message})
        self.assessment.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self.store.engine.begin() as conn:
            conn.execute(findings.insert().values(
                run_id=self.assessment.id, position=position, procedure=finding.procedure, family=finding.family,
                status=finding.status, success_rate=finding.success_rate, queries=finding.queries,
                wall_time=finding.wall_time, technique_ids=json.dumps(list(finding.technique_ids))))
            conn.execute(runs.update().where(runs.c.id == self.assessment.id).values(
                finished=self.assessment.finished, document=json.dumps(self._doc(), default=str)))


# -- the campaign ---------------------------------------------------------------------------------
@dataclass
class CampaignResult:
    """What a campaign did: its stored run, and the units it ran now or skipped as already stored."""

    assessment: Assessment
    store: str
    units: list[dict] = field(default_factory=list)   # every unit of the run, stored order
    ran: int = 0
    skipped: int = 0
    spent: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[dict]:
        """Units recorded as errors."""
        return [u for u in self.units if u["status"] == "error"]

    def as_dict(self) -> dict:
        """The result as JSON-ready data (``advmatrix campaign --json``)."""
        return {"run": self.assessment.id, "store": self.store, "ran": self.ran, "skipped": self.skipped,
                "spent": self.spent, "units": self.units,
                "findings": [f.as_dict() for f in self.assessment.findings]}


def run_campaign(plan: Plan | str | Path, *, store: Any = "advmatrix.db", executor: str = "local",
                 workers: int | None = None, ray_address: str | None = None, resume: str | None = None,
                 on_progress: Progress | None = None) -> CampaignResult:
    """Run every unit of ``plan`` (a :class:`Plan` or a plan file) not already stored in run
    ``resume``, on ``executor`` ('local' processes or 'ray') with at most ``workers`` at once;
    every finding goes into one run of ``store`` as soon as it is known. ``on_progress`` is told
    ``(unit key, None)`` when a unit starts and ``(unit key, finding)`` when it is stored."""
    if executor not in EXECUTORS:
        raise UsageError(f"--executor '{executor}': expected one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise UsageError("--workers must be at least 1")
    if ray_address is not None and executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    plan_path = str(plan) if not isinstance(plan, Plan) else "<plan>"
    plan = plan if isinstance(plan, Plan) else load_plan(plan)
    recorder = _Recorder(store, plan, plan_path, resume)
    stored = recorder.done()
    todo = [u for u in units(plan) if u.key not in stored]
    limits = {t.name: t.budget for t in plan.targets}
    caps = {t.name: t.concurrency for t in plan.targets}
    run = _run_ray if executor == "ray" else _run_local
    coordinator_spent = run(todo, limits, recorder, caps, workers, ray_address, on_progress)
    return CampaignResult(recorder.assessment, recorder.store.url, list(recorder.campaign["units"]),
                          ran=len(todo), skipped=len(units(plan)) - len(todo), spent=coordinator_spent)


def _schedule(todo: list[Unit], caps: dict[str, int], slots: int, start: Callable[[Unit], Any],
              wait: Callable[[list], tuple[list, str | None]], result: Callable[[Any], dict],
              recorder: _Recorder, on_progress: Progress | None) -> None:
    """Start units while a worker and the unit's target have room; store each as it finishes.

    ``wait(handles) -> (finished handles, reason)``: a reason means every handle still running
    is lost (the pool broke) and is recorded as an error with it."""
    pending, running = list(todo), {}
    busy = {name: 0 for name in caps}
    while pending or running:
        for unit in list(pending):
            if len(running) >= slots:
                break
            if busy[unit.target_name] < caps[unit.target_name]:
                pending.remove(unit)
                busy[unit.target_name] += 1
                if on_progress:
                    on_progress(unit.key, None)
                running[start(unit)] = unit
        finished, broken = wait(list(running))
        for handle in finished:
            unit = running.pop(handle)
            busy[unit.target_name] -= 1
            try:
                finding = Finding.from_dict(result(handle))
            except Exception as exc:  # a worker that died or returned nonsense fails its unit only
                finding = error_finding(unit, f"worker failed: {type(exc).__name__}: {exc}")
            recorder.add(unit, finding)
            if on_progress:
                on_progress(unit.key, finding)
        if broken:
            for handle, unit in list(running.items()):
                running.pop(handle)
                busy[unit.target_name] -= 1
                finding = error_finding(unit, broken)
                recorder.add(unit, finding)
                if on_progress:
                    on_progress(unit.key, finding)


def _run_local(todo, limits, recorder, caps, workers, _address, on_progress) -> dict[str, int]:
    import multiprocessing as mp
    import os
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
    from concurrent.futures import wait as wait_futures
    from concurrent.futures.process import BrokenProcessPool
    slots = workers or min(os.cpu_count() or 1, 4)
    # spawn: the parent may hold threads (rich, the store) and a loaded torch that fork would copy badly
    ctx = mp.get_context("spawn")
    with _Manager(ctx=ctx) as manager:
        link = manager.Coordinator(limits, recorder.spent())
        pool = [ProcessPoolExecutor(slots, mp_context=ctx, initializer=_init_worker, initargs=(link,))]

        def start(unit: Unit):
            try:
                return pool[0].submit(_local_unit, unit)
            except BrokenProcessPool:
                pool[0] = ProcessPoolExecutor(slots, mp_context=ctx, initializer=_init_worker, initargs=(link,))
                return pool[0].submit(_local_unit, unit)

        def wait(handles):
            done, _ = wait_futures(handles, return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                # a worker died (killed, out of memory): every unit then running is lost with it,
                # and a fresh pool takes the rest
                pool[0].shutdown(wait=False, cancel_futures=True)
                pool[0] = ProcessPoolExecutor(slots, mp_context=ctx, initializer=_init_worker, initargs=(link,))
                ok = [f for f in done if not isinstance(f.exception(), BrokenProcessPool)]
                return ok, "worker process died while running this unit"
            return list(done), None

        try:
            _schedule(todo, caps, slots, start, wait, lambda f: f.result(), recorder, on_progress)
        finally:
            pool[0].shutdown(wait=True, cancel_futures=True)
        return link.spent()


def _loopback_only_ray() -> None:
    """Make the local cluster a loopback-only one. Ray turns a node address of 127.0.0.1 into the
    host's routable address, and its servers then listen on every interface; its switch for a
    local-only cluster (the one it uses on macOS and Windows) is an environment variable read when
    ``ray`` is imported. Set here for this process's import and for the processes Ray starts, and
    on the module if it was imported already."""
    os.environ[_RAY_LOCAL_ONLY] = "0"
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:
        constants.ENABLE_RAY_CLUSTER = False


_RAY_LOCAL_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _run_ray(todo, limits, recorder, caps, workers, address, on_progress) -> dict[str, int]:
    if not address:
        _loopback_only_ray()
    try:
        import ray
    except ImportError:
        raise CapabilityError("--executor ray needs Ray: pip install 'advmatrix[ray]'") from None
    started = False
    if not ray.is_initialized():
        if address:
            if not address.startswith("ray://"):
                raise UsageError(f"--ray-address '{address}': expected ray://host:port (Ray Client)")
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        else:
            # no dashboard, so no job API: it runs any code it is sent, without authentication
            # (ATLAS AML.CS0023); every server of the cluster on loopback (_loopback_only_ray)
            ray.init(num_cpus=workers or 2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
            node = ray.util.get_node_ip_address()
            if not ipaddress.ip_address(node).is_loopback:
                ray.shutdown()
                raise CapabilityError(f"Ray started its local cluster on {node}, not on loopback; refusing to run "
                                      "a campaign on it (start one yourself and pass --ray-address)")
        started = True
    try:
        actor = ray.remote(Coordinator).options(num_cpus=0).remote(limits, recorder.spent())
        task = ray.remote(num_cpus=1, max_retries=0)(run_unit)
        slots = workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
        link = _RayLink(actor)

        def wait(handles):
            done, _ = ray.wait(handles, num_returns=1)
            return done, None

        _schedule(todo, caps, slots, lambda unit: task.remote(unit, link), wait, ray.get, recorder, on_progress)
        return ray.get(actor.spent.remote())
    finally:
        if started:
            ray.shutdown()


__all__ = ["EXECUTORS", "CampaignResult", "Coordinator", "Plan", "PlanTarget", "SharedBudget", "Unit",
           "error_finding", "load_plan", "run_campaign", "run_unit", "units"]
