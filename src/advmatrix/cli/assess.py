"""``advmatrix assess``, ``advmatrix runs``, ``advmatrix procedures`` and ``advmatrix demo``."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from ._checks import existing_db
from ._output import emit_json, err, out

runs_app = typer.Typer(help="Read past assessment runs from the store.", no_args_is_help=True)
_NO_RUNS = "'advmatrix assess' writes it; --db names it"
DbOpt = typer.Option("advmatrix.db", "--db", help="SQLite file or SQLAlchemy URL (postgresql+psycopg://...).")


def assess(target: Optional[str] = typer.Argument(None, help="URI (kserve+http://host:port/model, torch:m.pt, sklearn:m.skops, onnx:m.onnx) or target .yaml"),
           procedures: Optional[str] = typer.Option(None, "--procedures", "-p", help="Comma-separated names (default: all the target's access allows)."),
           plan: Optional[Path] = typer.Option(None, "--plan", metavar="FILE", help="An assess plan (advmatrix threatmodel --emit-assess-plan): run its procedures for TARGET's kind (classifier or LLM application); not with --procedures."),
           budget: Optional[int] = typer.Option(10000, "--budget", "-b", min=0, help="Query budget per procedure."),
           data: str = typer.Option("digits", "--data", help="'digits' or an .npz with x, y (and x_pool, x_members, ...)."),
           out_dir: Path = typer.Option(Path("advmatrix-report"), "--out", "-o", help="Directory for report.html, report.json, layer.json."),
           param: list[str] = typer.Option([], "--param", help="PROCEDURE.KEY=VALUE, the value read as YAML (repeatable), e.g. jailbreak.max_payloads=4."),
           fail_on: list[str] = typer.Option([], "--fail-on", help="Exit 1 when a rule holds, e.g. evasion.success>0.5 (repeatable)."),
           train: Optional[str] = typer.Option(None, "--train", help="module:function (x, y) -> Target, enabling poisoning procedures; your code, run as is."),
           device: Optional[str] = typer.Option(None, "--device", help="Where a PyTorch target runs: auto, cpu, cuda, cuda:N or mps (default: a torch: file on the best device present, a module where it is)."),
           gateway_admin: Optional[str] = typer.Option(None, "--gateway-admin", help="Base URL of the advmatrix gateway in front of TARGET: also measure detection coverage (token from ADVMATRIX_TOKEN)."),
           db: str = DbOpt, seed: int = typer.Option(0, "--seed"),
           json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
           check: bool = typer.Option(False, "--check", help="Check --plan and --param and exit: 0 with what would run for each kind of target, 2 at the problem; opens no target, stores nothing (TARGET may be left out).")) -> None:
    """Run the matrix's techniques against a model or model API; report what works.

    With --plan, --param overrides the plan's parameters (a procedure the plan lacks is added).

    Exit codes: 0 done, 1 a --fail-on rule holds, 2 bad input (a bad --plan: file, line, field) or unusable target, 3 unknown run."""
    import functools

    from ..emulate import GatewayAdmin
    from ..emulate import assess as run
    from ..errors import UsageError
    from ..report.assessment import summary

    if plan is not None and procedures:
        raise UsageError("--plan and --procedures: give one (the plan names the procedures; "
                         "--param adjusts or adds to them)")
    names = _with_params(procedures.split(",") if procedures else None, param)
    if check:
        if plan is None:
            raise UsageError("--check checks an assess plan: give --plan FILE")
        from ..plugins import get as plugin
        from ..threatmodel.plan import planned, unset_params

        would = planned(plan, names if isinstance(names, dict) else None)
        from ..emulate._assess import check_rules

        for rule in check_rules(fail_on):  # what the run would refuse, refused here too
            if rule.selector != "any" and not any(
                    rule.selector in (name, plugin("procedure", name).family) for chosen in would.values() for name in chosen):
                raise UsageError(f"--fail-on '{rule.text}': no procedure of the plan matches '{rule.selector}'; "
                                 "the rule would check nothing")
        if target is not None:
            from ..targets._open import check_target_spec

            check_target_spec(target)
        unset = unset_params(would)
        if json:
            emit_json({"plan": str(plan), "would_run": would, "would_skip": unset})
        else:
            for kind, chosen in would.items():
                out.print(f"{plan}: for {kind} targets would run: {', '.join(chosen)}")
                for name, keys in unset.get(kind, {}).items():
                    out.print(f"{plan}: {name} would be skipped without "
                              + ", ".join(f"--param {name}.{k}=..." for k in keys))
        return
    if target is None:
        raise UsageError("TARGET is missing (a model URI or target .yaml; only --check --plan runs without one)")
    admin = GatewayAdmin(gateway_admin, os.environ.get("ADVMATRIX_TOKEN")) if gateway_admin else None
    common = dict(data=data, budget=budget, seed=seed, train=train, device=device, gateway=admin,
                  store=db, out_dir=out_dir, fail_on=fail_on)
    if plan is not None:
        from ..threatmodel.plan import read_plan, run_plan

        run = functools.partial(run_plan, plan=read_plan(plan), params=names)
    else:
        common["procedures"] = names
    if json or not sys.stderr.isatty():
        result = run(target, **common)
    else:
        with _progress() as step:
            result = run(target, **common, on_progress=step)
    assessment = result.assessment
    if json:
        emit_json({**assessment.as_dict(), "summary": summary(assessment), "reports": result.reports,
                   "violations": [{"rule": r.text, "procedure": f.procedure} for r, f in result.violations]})
    else:
        _table(assessment)
        out.print(f"run [b]{assessment.id}[/] stored in {result.store}; report: {result.reports['html']}")
        for r, f in result.violations:
            # the gated metric's value, not always the success rate (newcomer walkthrough N2)
            value = f.success_rate if r.metric == "success" else f.metrics.get(r.metric)
            err.print(f"[red]fail-on[/] {r.text}: {f.procedure} ({r.metric} {value:.3g})")
    if result.failed:
        raise typer.Exit(1)


def _with_params(names: list[str] | None, params: list[str]) -> list[str] | dict[str, dict] | None:
    """``--procedures`` with ``--param`` settings as the engine takes them: names, or a mapping
    of name to parameters. A setting for a procedure not selected selects it."""
    if not params:
        return names
    import yaml

    from ..errors import UsageError

    chosen: dict[str, dict] = {n.strip(): {} for n in names or () if n.strip()}
    for text in params:
        key, eq, value = text.partition("=")
        name, dot, field = key.strip().rpartition(".")
        if not (eq and dot and name and field):
            raise UsageError(f"--param '{text}': expected PROCEDURE.KEY=VALUE, e.g. jailbreak.max_payloads=4")
        try:
            chosen.setdefault(name, {})[field] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise UsageError(f"--param '{text}': the value is not valid YAML") from None
    from ..plugins import get

    for name, given in chosen.items():  # checked now: a bad setting stops before the target is opened
        procedure = get("procedure", name)
        try:
            procedure.parse_params(given)
        except UsageError as exc:  # said as coming from --param: with --plan there are two sources
            raise UsageError(f"--param {name}.{', '.join(given)}: {exc}") from None
    return chosen


@contextlib.contextmanager
def _progress():
    """A rich progress bar on stderr; yields the callback the engine reports to."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(bar_width=None), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("assessing", total=None)

        def step(name: str, finding) -> None:
            bar.update(task, description=f"{name}: " + ("running" if finding is None else finding.status))

        yield step


def _table(assessment) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{assessment.target['name']} ({assessment.target['access']})")
    seen = {c.procedure: c for c in assessment.coverage or ()}
    for col in ("procedure", "ATLAS", "status", "success", "queries", "time"):
        table.add_column(col)
    if seen:
        table.add_column("detected", overflow="fold")
    for f in assessment.findings:
        row = [f.procedure, ", ".join(f.technique_ids[:2]), f.status,
               "–" if f.success_rate is None else f"{f.success_rate:.0%}", str(f.queries), f"{f.wall_time:.1f}s"]
        if seen:
            c = seen.get(f.procedure)
            when = "" if c is None or c.before_success is None else \
                (" (before it succeeded)" if c.before_success else " (after it succeeded)")
            row.append("–" if c is None else f"at {c.queries_to_detection}{when}: {', '.join(c.detectors)}"
                       if c.detected else "[red]missed[/]")
        table.add_row(*row)
    out.print(table)
    for f in assessment.findings:
        if f.status in ("skipped", "error", "partial") and f.message:
            out.print(f"  {f.procedure} {f.status}: {escape(f.message)}")


@runs_app.command("list")
def runs_list(db: str = DbOpt, limit: int = typer.Option(50, "--limit", "-n", min=1, max=1_000_000),
              json: bool = typer.Option(False, "--json")) -> None:
    """List stored runs, newest first."""
    from ..store import RunStore

    rows = RunStore(existing_db(db, hint=_NO_RUNS)).list(limit)
    if json:
        emit_json(rows)
        return
    from rich.table import Table

    table = Table(title=f"runs ({len(rows)})")
    for col in ("id", "started", "target", "access", "findings", "worst", "detected"):
        table.add_column(col)
    for r in rows:
        gw = r["gateway"]
        table.add_row(r["id"], r["started"], r["target_name"], r["access"], str(r["findings"]),
                      "–" if r["max_success"] is None else f"{r['max_success']:.0%}",
                      "–" if gw is None else f"{gw['detected']}/{gw['procedures']}")
    out.print(table)


@runs_app.command("show")
def runs_show(run_id: str = typer.Argument(..., metavar="ID"), db: str = DbOpt,
              json: bool = typer.Option(False, "--json")) -> None:
    """Show one run (an ID prefix is enough)."""
    from ..emulate import load_run

    assessment = load_run(existing_db(db, hint=_NO_RUNS), run_id)
    if json:
        emit_json(assessment.as_dict())
    else:
        _table(assessment)


@runs_app.command("diff")
def runs_diff(before: str = typer.Argument(..., metavar="A", help="The earlier run (an ID prefix is enough)."),
              after: str = typer.Argument(..., metavar="B", help="The later run."), db: str = DbOpt,
              json: bool = typer.Option(False, "--json")) -> None:
    """What changed from run A to run B: per procedure status and success, techniques that became
    (un)successful, and what the gateway noticed when both runs went through it."""
    from ..emulate import diff_runs, load_run

    location = existing_db(db, hint=_NO_RUNS)
    diff = diff_runs(load_run(location, before), load_run(location, after))
    if json:
        emit_json(diff.as_dict())
        return
    _diff_table(diff)


def _diff_table(diff) -> None:
    from rich.markup import escape
    from rich.table import Table

    b, a = diff.before, diff.after
    out.print(f"[b]{b['id']}[/] ({b['started']}) -> [b]{a['id']}[/] ({a['started']}): {escape(a['target'])}")
    if not diff.same_target:
        out.print(f"[yellow]different targets[/]: {escape('; '.join(diff.target_differences))}")
    rate = lambda r: "–" if r is None else f"{r:.0%}"  # noqa: E731
    table = Table(title="procedures")
    for col in ("procedure", "status", "success", "change"):
        table.add_column(col)
    if diff.detection_compared:
        table.add_column("detected")
    for p in diff.procedures:
        status = p.status_after or "–" if p.status_before == p.status_after else \
            f"{p.status_before or 'not run'} -> {p.status_after or 'not run'}"
        success = rate(p.success_after) if p.success_before == p.success_after else \
            f"{rate(p.success_before)} -> {rate(p.success_after)}"
        row = [p.procedure, status, success, "" if not p.change else f"{p.change:+.0%}"]
        if diff.detection_compared:
            seen = lambda d, q: "–" if d is None else (f"at {q}" if d else "missed")  # noqa: E731
            row.append(seen(p.detected_after, p.first_alert_after) if (p.detected_before, p.first_alert_before)
                       == (p.detected_after, p.first_alert_after)
                       else f"{seen(p.detected_before, p.first_alert_before)} -> "
                            f"{seen(p.detected_after, p.first_alert_after)}")
        table.add_row(*row)
    out.print(table)
    out.print("techniques now successful: " + (", ".join(diff.became_successful) or "none"))
    out.print("techniques no longer successful: " + (", ".join(diff.became_unsuccessful) or "none"))
    if diff.detection_compared:
        out.print("newly detected: " + (", ".join(diff.newly_detected) or "none")
                  + "; no longer detected: " + (", ".join(diff.no_longer_detected) or "none"))
    else:
        out.print("detection: not compared (" + ("neither run" if not (b["detection_measured"] or
                                                                       a["detection_measured"]) else "only one run")
                  + " went through the gateway)")


@runs_app.command("report")
def runs_report(run_id: str = typer.Argument(..., metavar="ID"), db: str = DbOpt,
                out_dir: Path = typer.Option(Path("advmatrix-report"), "--out", "-o"),
                json: bool = typer.Option(False, "--json")) -> None:
    """Write the HTML, JSON and layer reports of a stored run again."""
    from ..emulate import report_run

    _, paths = report_run(existing_db(db, hint=_NO_RUNS), run_id, out_dir)
    emit_json(paths) if json else out.print(f"wrote {', '.join(paths.values())}")


def list_procedures(json: bool = typer.Option(False, "--json")) -> None:
    """List the attack procedures and the ATLAS techniques they emulate."""
    from ..emulate import procedures

    rows = [cls.describe() for cls in procedures().values()]
    if json:
        emit_json(rows)
        return
    from rich.table import Table

    table = Table(title="procedures")
    for col in ("name", "family", "ATLAS", "requires", "title"):
        table.add_column(col)
    for r in rows:
        needs = [_NEEDS.get(n, n) for n in r["needs"]]
        access = "an LLM application" if r.get("target_kind") == "chat" else r["requires"]
        if r["needs_probabilities"]:
            needs.insert(0, "class probabilities")
        table.add_row(r["name"], r["family"], ", ".join(r["technique_ids"]),
                      access + "".join(f" + {n}" for n in needs), r["title"])
    out.print(table)


#: what a procedure's data needs mean to the person running it
_NEEDS = {"train": "your training function (--train)", "x_members": "training records", "x_pool": "unlabelled inputs",
          "x_nonmembers": "records outside training"}


def demo(out_dir: Path = typer.Option(Path("demo-out"), "--out", "-o"),
         keep_serving: bool = typer.Option(False, "--keep-serving", help="Afterwards leave the model server and the "
                                           "gateway up (until Ctrl-C) and print commands to try against them."),
         json: bool = typer.Option(False, "--json")) -> None:
    """Train a digits CNN, serve it over KServe v2 on 127.0.0.1 behind the monitoring gateway, assess it
    black-box through the gateway (what works, what is noticed) and white-box; then serve the local LLM
    application (naive and hardened) and red-team both."""
    from .._extras import require

    require("serve", "torch", "sklearn", "attack", feature="advmatrix demo")
    from ..demo import run_demo
    from ..errors import UsageError

    if out_dir.exists() and not out_dir.is_dir():  # as threatmodel says it, not the OS's "File exists"
        raise UsageError(f"--out {out_dir}: is a file, not a directory")

    result = run_demo(out_dir, on_progress=None if json else (lambda m: err.print(f"[dim]demo:[/] {m}")),
                      keep_serving=(lambda r: _serve_until_interrupted(r, json)) if keep_serving else None)
    if keep_serving:  # printed while the servers were up
        return
    if json:
        emit_json(result.__dict__)
        return
    _demo_summary(result)


def _serve_until_interrupted(result, json: bool) -> None:
    """Print the demo's results and what to try against its servers, then wait for Ctrl-C."""
    from ..demo import try_commands

    commands = try_commands(result)
    if json:
        emit_json({**result.__dict__, "try": [{"what": w, "command": c} for w, c in commands]})
    else:
        _demo_summary(result)
        out.print(f"\n[b]still serving[/]: the model at {result.server_url}, the gateway at {result.gateway_url}"
                  " (Ctrl-C stops both). Try:")
        for what, command in commands:
            out.print(f"  # {what}\n  {command}", markup=False)
    sys.stdout.flush()
    try:
        _wait()
    except KeyboardInterrupt:
        err.print("stopping the model server and the gateway")


def _wait() -> None:
    """Block until Ctrl-C (tests patch this)."""
    import threading

    threading.Event().wait()


def _demo_summary(result) -> None:
    out.print(f"victim test accuracy {result.test_accuracy:.1%} ({'cached' if result.cached_model else 'trained now'})")
    for name, rows in result.findings.items():
        out.print(f"[b]{name}[/] (run {result.runs[name]}):")
        for proc, status, rate, queries in rows:
            out.print(f"  {proc:<12} {status:<10} {'–' if rate is None else f'{rate:.0%}':>5}  {queries} queries")
        out.print(f"  report: {result.reports[name]['html']}")
    out.print("[b]noticed by the gateway[/] (the black-box run, then the naive LLM application's run):")
    for proc, detected, detectors, at in result.detection:
        out.print(f"  {proc:<12} " + (f"first alert after {at} queries (by {', '.join(detectors)})" if detected
                                      else "[red]not detected[/]"))
    out.print(f"see it all on the matrix: advmatrix serve --db {Path(result.out_dir) / 'advmatrix.db'} "
              f"--gateway-db {result.gateway_db}")
    # each LLM application had a gateway of its own
    llm = [str(Path(result.out_dir) / name / "gateway.db") for name in result.runs if name.startswith("llm-")]
    if llm:
        out.print(f"  (the LLM applications' alerts: --gateway-db {' or '.join(llm)})")
