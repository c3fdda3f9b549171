"""The assessment engine: select procedures, run them (plainly, or through the monitoring
gateway as separate clients), store the run, write its reports and check the ``--fail-on``
rules. ``advmatrix assess``, ``advmatrix runs report`` and the demo all come through here; the
CLI only parses and formats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from ..targets import Budget, ChatTarget, Target, open_target
from ._base import Dataset, Finding, Procedure
from ._campaign import Assessment, run_assessment
from ._data import load_callable, load_dataset
from ._registry import get, procedures
from ._rules import Rule, parse_rule, violations

Progress = Callable[[str, Finding | None], None]


@dataclass
class AssessmentResult:
    """What one assessment produced: the run, where its reports went, the rules it broke."""

    assessment: Assessment
    reports: dict[str, str] = field(default_factory=dict)
    violations: list[tuple[Rule, Finding]] = field(default_factory=list)
    store: str | None = None  # the run store's URL, when the run was stored

    @property
    def failed(self) -> bool:
        """Whether a ``--fail-on`` rule holds (the CLI exits 1)."""
        return bool(self.violations)


def select(chosen: Sequence[str] | Mapping[str, Mapping[str, Any]] | None, target: Target,
           data: Dataset) -> list[Procedure]:
    """Procedures to run: the names given (with parameters when a mapping), or else every
    installed procedure for this kind of target (a classifier or an LLM application). Those the
    target's access, its outputs, the data or the installed extras rule out stay in the list:
    they run as skipped findings with the reason, so a default run shows what it left out."""
    if chosen is None:
        kind = "chat" if isinstance(target, ChatTarget) else "classifier"
        every = [cls() for cls in procedures().values() if cls.target_kind == kind]
        if not any(p.why_not(target, data) is None for p in every):
            raise UsageError(f"{target.info.name}: no procedure applies ({target.info.access.value} access)")
        return every
    specs = chosen.items() if isinstance(chosen, Mapping) else ((name, {}) for name in chosen)
    picked = [get(name.strip())(**dict(params or {})) for name, params in specs if name.strip()]
    if not picked:
        raise UsageError("no procedure named")
    return picked


def check_rules(rules: Sequence[str | Rule]) -> list[Rule]:
    """Parse ``--fail-on`` rules and refuse selectors that name no family or procedure: a
    misspelled CI gate must fail loudly, not pass forever."""
    parsed = [parse_rule(r) if isinstance(r, str) else r for r in rules]
    known = {"any"} | set(procedures()) | {cls.family for cls in procedures().values()}
    for rule in parsed:
        if rule.selector not in known:
            raise UsageError(f"--fail-on '{rule.text}': '{rule.selector}' is no family or procedure "
                             f"(families: {', '.join(sorted({c.family for c in procedures().values()}))}; or 'any')")
    return parsed


def _selected(rules: list[Rule], chosen: Sequence[Any]) -> None:
    """Refuse, before the first query, a rule whose selector matches none of the procedures chosen for
    this target (``evasion`` for an LLM application's plan): it could only fail after the whole run."""
    for rule in rules:
        if rule.selector != "any" and not any(rule.selector in (p.name, p.family) for p in chosen):
            names = ", ".join(sorted(p.name for p in chosen))
            raise UsageError(f"--fail-on '{rule.text}': no procedure matching '{rule.selector}' is chosen for this "
                             f"target (chosen: {names}); the rule would check nothing")


def _unchecked(rules: list[Rule], assessment: Assessment) -> str | None:
    """Why a rule checked nothing (its procedures did not run, or none reports its metric)."""
    for rule in rules:
        ran = [f for f in assessment.findings if rule.selector in ("any", f.family, f.procedure)
               and f.status != "skipped"]
        if not ran:
            return f"--fail-on '{rule.text}': no procedure matching '{rule.selector}' ran; the rule checked nothing"
        if all(f.status == "error" for f in ran):
            # a dead target, a wrong key, a route that answers 404: nothing was measured, so nothing passed
            return (f"--fail-on '{rule.text}': every procedure it checks ended in error ({ran[0].procedure}: "
                    f"{ran[0].message}); the rule checked nothing")
        if rule.metric != "success" and not any(rule.metric in f.metrics for f in ran):
            reported = sorted({m for f in ran for m in f.metrics})
            return (f"--fail-on '{rule.text}': no finding reports '{rule.metric}' "
                    f"(reported: success, {', '.join(reported)})")
    return None


def assess(target: Target | str | Path | dict, *, procedures: Sequence[str] | Mapping[str, Mapping] | None = None,
           data: Dataset | str = "digits", budget: int | None = 10_000, seed: int = 0, label: str = "",
           train: str | Callable | None = None, gateway: Any = None, store: Any = None,
           out_dir: str | Path | None = None, fail_on: Sequence[str | Rule] = (),
           on_progress: Progress | None = None, device: str | None = None) -> AssessmentResult:
    """Assess a target: select, run (through ``gateway``, a :class:`GatewayAdmin`, when given),
    store (``store``: a :class:`RunStore` or its location), write reports to ``out_dir``, check
    the rules. Everything that can be wrong with the input is checked before the first query.

    ``target`` is a :class:`Target`, a URI, a YAML path or a description; each procedure gets
    its own query budget of ``budget``. ``device`` moves a PyTorch target (auto, cpu, cuda[:N],
    mps); any other target with a device given is a one-line error.
    """
    from ..store import RunStore

    rules = check_rules(fail_on)
    # a SQLite file this call creates is removed again when the run never starts (a target or
    # data set that cannot be used) or stops before it is stored: no empty database is left behind
    fresh = Path(store) if isinstance(store, (str, Path)) and "://" not in str(store) and not Path(store).exists() \
        else None
    run_store = RunStore(store) if store is not None and not isinstance(store, RunStore) else store
    opened = not isinstance(target, (Target, ChatTarget))
    t = None
    try:
        t = open_target(target, budget=Budget()) if opened else target
        if device is not None:
            from ._device import use_device

            use_device(t, device)
        if isinstance(t, ChatTarget):  # LLM procedures bring their own payloads; no data set
            dataset = data if isinstance(data, Dataset) else Dataset(x=np.empty((0,)), y=np.empty((0,)))
        else:
            dataset = load_dataset(data, t.info) if isinstance(data, str) else data
        if train is not None:
            dataset.train = load_callable(train) if isinstance(train, str) else train
        chosen = select(procedures, t, dataset)
        _selected(rules, chosen)
    except BaseException:
        if opened and t is not None:
            t.close()
        _discard(run_store, fresh)
        raise
    try:
        if gateway is not None:
            from ._purple import run_through_gateway

            assessment = run_through_gateway(t, dataset, chosen, gateway, budget=budget, seed=seed, label=label,
                                             on_progress=on_progress)
        else:
            assessment = run_assessment(t, dataset, chosen, budget=budget, seed=seed, label=label,
                                        on_progress=on_progress)
    except BaseException:  # interrupted (Ctrl-C, SIGTERM) or failed before anything was stored
        _discard(run_store, fresh)
        raise
    finally:
        if opened:
            t.close()
    result = AssessmentResult(assessment, store=run_store.url if run_store is not None else None)
    if run_store is not None:
        run_store.save(assessment)
    if out_dir is not None:
        result.reports = write_reports(assessment, out_dir)
    problem = assessment.unmeasured or _unchecked(rules, assessment)
    if problem:  # after storing and reporting: the run is kept, the gate still fails loudly
        raise UsageError(problem)
    result.violations = violations(rules, assessment)
    return result


def write_reports(assessment: Assessment, out_dir: str | Path) -> dict[str, str]:
    """report.json, report.html and layer.json, plus coverage.json and its layer for runs that
    went through the gateway."""
    from ..report.assessment import write_coverage
    from ..report.assessment import write_reports as write_base

    paths = write_base(assessment, out_dir)
    if assessment.coverage is not None:
        paths.update(write_coverage(assessment.coverage, assessment, out_dir))
    return paths


def report_run(store: Any, run_id: str, out_dir: str | Path) -> tuple[Assessment, dict[str, str]]:
    """Write the reports of a stored run again (``advmatrix runs report``)."""
    assessment = load_run(store, run_id)
    return assessment, write_reports(assessment, out_dir)


def load_run(store: Any, run_id: str) -> Assessment:
    """A stored run (an ID prefix is enough) from a :class:`RunStore` or its location."""
    from ..store import RunStore

    run_store = store if isinstance(store, RunStore) else RunStore(store)
    return Assessment.from_dict(run_store.document(run_id))


def _discard(run_store: Any, fresh: Path | None) -> None:
    """Remove the database file ``run_store`` created, when nothing was ever stored in it."""
    if run_store is None or fresh is None:
        return
    run_store.engine.dispose()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(fresh) + suffix).unlink(missing_ok=True)
