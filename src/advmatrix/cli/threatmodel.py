"""``advmatrix threatmodel``: the ATLAS techniques that apply to a system, why, the attack paths,
and the mitigations in place and missing."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import typer

from ._output import closed_stdout, emit_json, err, out, warn_all

#: More paths than an analyst reads; each is compared with those kept before it, so the cost grows with the square.
MAX_PATHS = 100

_FORMATS_HELP = ("json, md (or markdown), html, layer (or navigator), sarif or all; comma-separated or repeated "
                 "(default with --out: all).")
#: Other names users reach for, and the format each means.
_FORMAT_ALIASES = {"markdown": "md", "navigator": "layer"}


def _formats(values: list[str], fmt_names: tuple[str, ...], aliases: dict[str, str]) -> list[str]:
    from ..errors import UsageError, quoted

    chosen: list[str] = []
    for value in values:
        names = [v.strip() for v in value.split(",")]
        if any(names) and not all(names):  # 'json,,md' or 'json,': a name was dropped, not meant empty
            raise UsageError(f"--format {quoted(value)}: an empty name between commas")
        for name in names:
            typed, name = name, aliases.get(name.lower(), name.lower())
            if name == "all":
                chosen += fmt_names
            elif name in fmt_names:
                chosen.append(name)
            elif name:
                said = ", ".join([*fmt_names, *(f"{a} ({f})" for a, f in aliases.items())])
                raise UsageError(f"--format {quoted(typed)}: must be one of {said} or all")
    return list(dict.fromkeys(chosen))


def threatmodel(system: Optional[str] = typer.Argument(None, metavar="SYSTEM", help="system.yaml, or a CycloneDX 1.5, 1.6 or 1.7 ML-BOM (JSON; detected by content)."),
                schema: bool = typer.Option(False, "--schema", help="Print the JSON Schema of system.yaml (for editors) and exit."),
                bom: bool = typer.Option(False, "--bom", help="Read SYSTEM as a CycloneDX ML-BOM whatever it looks like."),
                overlay: Optional[str] = typer.Option(None, "--overlay", help="YAML in the system.yaml format (name optional: components, flows) adding what the BOM lacks (merged by component id)."),
                fmt: list[str] = typer.Option([], "--format", "-f", help=_FORMATS_HELP),
                out_dir: Optional[str] = typer.Option(None, "--out", "-o", help="Directory for the reports: threatmodel.json, .md, .html, .sarif and threatmodel-layer.json (default: . when --format is given)."),
                rules: list[str] = typer.Option([], "--rules", help="Extra rule file or directory of *.yaml, after the bundled rules (repeatable)."),
                fail_on: Optional[str] = typer.Option(None, "--fail-on", help="Exit 1 when a technique of this tier or above (likely, possible) is predicted and none of the mitigations that stop it is in place (telemetry logging records, it does not stop; techniques no mitigation stops are listed, not counted)."),
                json: bool = typer.Option(False, "--json", help="Print the threat model as JSON."),
                emit_assess_plan: Optional[str] = typer.Option(None, "--emit-assess-plan", metavar="FILE", help="Write the procedures that test the predicted techniques (YAML; run it with advmatrix assess TARGET --plan FILE)."),
                emit_monitor_config: Optional[str] = typer.Option(None, "--emit-monitor-config", metavar="FILE", help="Write a gateway configuration watching the predicted techniques (advmatrix monitor --config)."),
                paths: int = typer.Option(5, "--paths", min=0, max=MAX_PATHS, metavar="K", help="How many attack paths to find, ranked per step (0: none; at most 100)."),
                check: bool = typer.Option(False, "--check", help="Only check SYSTEM (and --overlay, --rules): say whether it is valid, warn of what it leaves idle, write nothing.")) -> None:
    """Threat-model a system: which ATLAS techniques apply, why, the attack paths, the mitigations.

    SYSTEM is a system.yaml or a CycloneDX ML-BOM (JSON, detected by content); see docs/threatmodel-system.md.

    Exit codes: 0 done, 1 --fail-on holds (a technique of that tier with no mitigation in place), 2 bad input."""
    import warnings

    from ..errors import UsageError, quoted
    from ..threatmodel import load_rules
    from ..threatmodel import report as tmr
    from ..threatmodel.rules import RuleWarning

    if schema:
        from ..threatmodel import json_schema

        # anything beside it would be ignored: a misspelt --fail-on in CI must not pass as printed schema
        others = [flag for flag, given in (("SYSTEM", system), ("--bom", bom), ("--overlay", overlay),
                                           ("--format", fmt), ("--out", out_dir), ("--rules", rules),
                                           ("--fail-on", fail_on), ("--json", json),
                                           ("--emit-assess-plan", emit_assess_plan),
                                           ("--emit-monitor-config", emit_monitor_config),
                                           ("--paths", paths != 5), ("--check", check)) if given]
        if others:
            raise UsageError(f"--schema prints the JSON Schema and takes nothing else (got {', '.join(others)})")
        emit_json(json_schema())
        return
    if check:
        # a check that quietly skipped a gate or a report would pass where the real run fails
        ignored = [flag for flag, given in (("--format", fmt), ("--out", out_dir), ("--fail-on", fail_on),
                                            ("--emit-assess-plan", emit_assess_plan),
                                            ("--emit-monitor-config", emit_monitor_config),
                                            ("--paths", paths != 5)) if given]
        if ignored:
            raise UsageError(f"--check only checks the description and takes none of {', '.join(ignored)}")
    if system is None:
        raise UsageError("SYSTEM is missing: a system.yaml or a CycloneDX ML-BOM (or --schema for the JSON Schema)")
    for what, given in (("SYSTEM", system), ("--overlay", overlay)):
        if given == "-":  # lines and SARIF locations name a file; standard input has none
            raise UsageError(f"{what} '-': standard input is not read; give the file's path")
    for what, given in (("--emit-assess-plan", emit_assess_plan), ("--emit-monitor-config", emit_monitor_config)):
        if given == "-":  # a file named '-' is no one's wish, and the report on standard output would mix with it
            raise UsageError(f"{what} '-': standard output is not written; give a file name")
    if fail_on is not None and fail_on not in tmr.FAIL_ON:
        raise UsageError(f"--fail-on must be one of {', '.join(tmr.FAIL_ON)} (got {quoted(fail_on)})")
    # Path("") is the current directory: an empty argument would quietly mean "."
    for what, value in (("SYSTEM", system), ("--overlay", overlay), *(("--rules", r) for r in rules),
                        ("--out", out_dir)):
        if value is not None and not value.strip():
            kind = "a directory" if what == "--out" else "a file or directory" if what == "--rules" else "a file"
            raise UsageError(f"{what} needs {kind} (got an empty path)")
    if overlay is not None:  # a missing overlay is said before anything is said of the file it completes
        from ..threatmodel._load import read_text

        read_text(overlay)
    # Taken as text: a Path drops the trailing slash of 'plans/', and a file named plans would be written.
    for what, value in (("--emit-assess-plan", emit_assess_plan), ("--emit-monitor-config", emit_monitor_config)):
        if value is not None and (not value.strip() or value.endswith(("/", "\\"))):
            raise UsageError(f"{what} needs a file name (got {value!r})")
    formats = _formats(fmt, tuple(tmr.FORMATS), _FORMAT_ALIASES)
    if fmt and not formats:
        raise UsageError(f"--format names no format; use {', '.join(tmr.FORMATS)} or all")
    if out_dir is not None and not fmt:
        formats = list(tmr.FORMATS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuleWarning)
        ruleset = load_rules([Path(r) for r in rules]) if rules else None
    warn_all([str(w.message) for w in caught])  # stderr: --json output on stdout stays clean
    with warnings.catch_warnings(record=True) as caught:
        # e.g. "not checked against the CycloneDX schema": one plain line, not Python's warning format
        warnings.simplefilter("always", UserWarning)
        model = tmr.load_input(system, overlay, bom=bom or None, rules=ruleset)
    warn_all([str(w.message) for w in caught])  # stderr: --json output on stdout stays clean
    lines = tmr.component_lines(system, model)
    overlay_lines = tmr.component_lines(overlay, model) if overlay else None
    warn_all(tmr.description_warnings(model, ruleset, str(system), lines, str(overlay) if overlay else None,
                                      overlay_lines))
    if check:
        # the same checks a run makes (property types, controls that stop nothing), no prediction reported
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            tmr.build(model, ruleset, k=0, source=str(system), lines=lines,
                      overlay=str(overlay) if overlay else None, overlay_lines=overlay_lines)
        warn_all([str(w.message) for w in caught])
        summary = {"source": str(system), "valid": True, "components": len(model.components),
                   "flows": len(model.flows)}
        if json:
            emit_json(summary)
        else:
            out.print(f"{system}: valid ({summary['components']} components, {summary['flows']} flows)",
                      markup=False, highlight=False)
        return
    if fail_on and not model.components:  # a gate that passes on nothing would pass a misspelt file
        raise UsageError(f"--fail-on {fail_on}: the description has no components, so it gates nothing")
    tm = tmr.build(model, ruleset, k=paths, source=str(system), lines=lines,
                   overlay=str(overlay) if overlay else None, overlay_lines=overlay_lines)
    extra = {}
    if emit_assess_plan is not None:
        extra["assess_plan"] = (Path(emit_assess_plan), tmr.assess_plan(tm))
    if emit_monitor_config is not None:
        extra["monitor_config"] = (Path(emit_monitor_config), tmr.monitor_config(tm))
    # every file in a rule directory is the user's: an output must not replace any of them (*.yml included)
    rule_files = [f for r in map(Path, rules) for f in ([r] if not r.is_dir() else sorted(
        p for p in r.iterdir() if p.is_file()))]
    if fail_on:  # the SARIF levels follow the gate's tier
        tm = dataclasses.replace(tm, fail_on=fail_on)
    written = tmr.write_outputs(tm, Path(out_dir) if out_dir is not None else None, formats, extra, read=rule_files)
    warn_all(_idle_outputs(extra))  # once written: a destination refused says only that
    if written and (out_dir is not None or fmt):  # reports of the formats not asked for, left from an earlier
        # run, no longer match these (a run that writes only a plan writes no report to compare)
        where = Path(out_dir) if out_dir is not None else Path(".")
        stale = [tmr.FORMATS[n] for n in tmr.FORMATS if n not in formats and (where / tmr.FORMATS[n]).is_file()]
        if stale:
            warn_all([f"{where} also holds {', '.join(stale)} from an earlier run, not rewritten by this one "
                      "(--format all rewrites every report)"])
    n = len(tm.prediction.findings)
    if "sarif" in formats and n > 5_000:  # GitHub shows the first 5,000 results and rejects over 25,000
        warn_all([f"threatmodel.sarif: {n:,} findings; code scanning shows the first 5,000 results"
                  + (f" and takes at most 25,000, so {n - 25_000:,} notes were left out" if n > 25_000 else "")])
    failing = tmr.gate(tm.prediction, fail_on) if fail_on else []
    bare = tmr.unmitigable(tm.prediction, fail_on) if fail_on else []
    try:
        _say_result(tm, written, json, fail_on, failing, bare)
    except BrokenPipeError:
        # output piped into head and closed early: no error, but the gate still decides the exit code
        closed_stdout()
    if failing:
        raise typer.Exit(1)


def _idle_outputs(extra: dict) -> list[str]:
    """A line for an emitted plan that runs nothing or a gateway that watches nothing: written as asked, but
    ``assess --check`` prints nothing for the one and ``monitor`` starts blind with the other."""
    import yaml

    lines = []
    if "assess_plan" in extra and not yaml.safe_load(extra["assess_plan"][1]).get("assessments"):
        lines.append(f"{extra['assess_plan'][0]}: no procedure tests a predicted technique; the plan is empty")
    if "monitor_config" in extra and not yaml.safe_load(extra["monitor_config"][1]).get("detectors"):
        lines.append(f"{extra['monitor_config'][0]}: no detector runs as written (each one that watches a predicted "
                     "technique needs context first, or none does): the gateway only proxies and records")
    return lines


def _say_result(tm, written: dict, json: bool, fail_on: Optional[str], failing: list, bare: list) -> None:
    from rich.markup import escape

    from ..threatmodel import report as tmr

    if json:
        emit_json({**tm.as_dict(), "written": written,
                   **({"fail_on": fail_on, "failing": [f.as_dict() for f in failing],
                       "unmitigable": [f.as_dict() for f in bare]} if fail_on else {})})
    else:
        _table(tm)
        for name, path in written.items():
            out.print(f"{name}: {escape(str(path))}")
    # on stderr with --json too: a CI log of a failed gate says why without the JSON being read
    for f in failing[:10]:
        # what would clear it: the stopping mitigations not in place, where each goes
        adopt = "; ".join(f"{m.id} on {tmr.advised_on(tm, m)}" for m in f.preventive if not m.in_place)
        err.print(f"[red]fail-on[/] {fail_on}: {f.technique_id} {escape(tmr.technique_title(f.technique_id))} on "
                  f"{escape(f.component)}: "
                  f"no mitigation that stops it in place (adopt one of: {escape(adopt)})")
    if len(failing) > 10:
        err.print(f"[red]fail-on[/] {fail_on}: ... and {len(failing) - 10} more (all of them: --json, 'failing')")
    if bare:
        ids = sorted({f.technique_id for f in bare})
        err.print(f"fail-on {fail_on}: {len(bare)} finding(s) of {len(ids)} technique(s) have no mitigation "
                  f"in ATLAS or the rules that stops them and do not count ({', '.join(ids)})")


#: A terminal shows this many findings; a system of thousands of components has tens of thousands.
_MOST_ROWS = 60


def _table(tm) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ..threatmodel import report as tmr

    p = tm.prediction
    table = Table(title=f"{escape(tm.system.name)}: {len(p.technique_ids)} techniques, "
                        f"{len(p.likely_technique_ids)} likely (below)", expand=True)  # expand: ratios apply
    # ids stay whole (a folded id reads as two); the reason gets the room a narrow terminal has
    # an id folded mid-word reads as two; room for the longest (up to 30) before the reason gets the rest
    longest = max((len(c.component) for c in p.components), default=12)
    table.add_column("component", overflow="fold", ratio=2, min_width=max(12, min(longest, 30)))
    table.add_column("technique", overflow="fold", ratio=2, min_width=14)  # AML.T0048.003 on one line
    table.add_column("why", overflow="fold", ratio=4, min_width=16)
    table.add_column("missing mitigations", overflow="fold", ratio=2, min_width=10)
    # the terminal shows the short list; every finding is in the reports (a public agent with
    # tools meets 80+ conditions, and a screenful of possibles hides the likely ones)
    # best first, as the ranking has them: the first rows are the ones to read; the preparation away from the
    # system after what is done on it, as the reports order them
    order = {tid: n for n, (_, tid) in enumerate(tmr.short_list(tm))}
    likely = sorted((f for f in p.findings if f.tier == "likely"), key=lambda f: order[f.technique_id])
    apart = False
    for f in likely[:_MOST_ROWS]:
        if tmr.prepares(f.technique_id) and not apart:
            apart = True
            table.add_section()
            table.add_row("", f"[bold]{tmr.PREPARATION}[/]", "", "")
        adversarial = tm.system.component(f.component).kind == "adversary"
        # "none" would say both "all in place" and "nothing to adopt": tell them apart, as the reports do.
        # a log records and stops nothing (the gate ignores it); an adversary's control goes on any component
        # where it goes when that is not the finding's own component (the terminal the audio passes, not the
        # speech API the vendor runs): as the reports say it
        # (a control that would stop nothing is not advised: what is missing and stops nothing only records)
        missing = ", ".join(m.id + ("" if m.prevents else " (records only)")
                            + ("" if m.component == f.component or tm.system.component(m.component).kind == "adversary"
                               else f" on {tmr.advised_on(tm, m)}")
                            for m in f.missing) or (
            "none (all in place)" if f.mitigated else
            # held but idle, each says why (the why names what would hold: a quota per payment method)
            "none to adopt; in place, stopping nothing: " + "; ".join(m.id + (f" ({m.idle})" if m.idle else "")
                                                                     for m in f.mitigations) if f.mitigations
            else tmr.none_to_advise(f.technique_id))
        if adversarial and any(tm.system.component(m.component).kind == "adversary" for m in f.missing):
            missing += " (on any component)"
        if f.mitigated and f.missing:
            # what --fail-on reads: a control that stops it is held, so the rest are more, not a gap
            missing = f"mitigated by {', '.join(m.id for m in f.preventive if m.in_place)}; could add: {missing}"
        # every row is likely (the title says so): the tier column only took the ids' room
        table.add_row(escape(f.component), escape(f"{f.technique_id} {tmr.technique_title(f.technique_id)}"),
                      escape(f.reason), escape(missing))
    out.print(table)
    if len(likely) > _MOST_ROWS:
        out.print(f"... {len(likely) - _MOST_ROWS} likely findings more in the reports (--out, --format).")
    if len(likely) < len(p.findings):
        out.print(f"{len(p.findings) - len(likely)} possible findings more in the reports (--out, --format).")
    gaps = tmr.gap_lines(tm, most=5)
    for line in gaps:
        out.print(f"[yellow]open[/]: {escape(line)}")
    fields = sum(not g.field.startswith("properties.") for g in tm.gaps)
    if fields > 5:
        out.print(f"... {fields - 5} more unstated fields in the reports.")
    if tm.paths:
        out.print("[dim]paths: entry → impact or exfiltration; ranked per step (geometric mean of the moves' "
                  "probabilities, from the ATLAS case studies); overall = their product; those with no step a "
                  "control in place stops first, each adversary's best among the first[/]")
    for line in tm.pathless_lines():
        out.print(f"[yellow]no path[/]: {escape(line)}")
    for i, path in enumerate(tm.paths, 1):
        by = f" by {escape(path.adversary)}" if path.adversary else ""
        out.print(f"path {i}{by} ({path.score:.3g} per step, {path.probability:.3g} overall): "
                  + " → ".join(f"{s.technique} ({escape(on)}{'; stopped by ' + ', '.join(h) if h else ''})"
                               for s, on, h in zip(path.steps, tm.step_places(path), tm.step_held(path),
                                                   strict=True)))
