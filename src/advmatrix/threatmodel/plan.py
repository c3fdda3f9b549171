"""The assessment plan that ``advmatrix threatmodel --emit-assess-plan`` writes, read back for
``advmatrix assess --plan``: validated with every mistake reported as ``file:line: field: what``,
then the assessment for the target's kind (a classifier or an LLM application) run through the
one assessment engine, :func:`advmatrix.emulate.assess`.

A plan (YAML; JSON is YAML too)::

    version: 1                      # optional; plans written before it existed are version 1
    system: "support-agent"         # optional, informative
    assessments:
      - kind: chat                  # classifier or chat, each at most once
        target: "<TARGET: ...>"     # informative: the target is given to assess
        procedures:                 # procedure name -> its parameters ({} or null: defaults)
          direct-injection: {max_payloads: 4}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FormatError, UsageError
from ._load import Located, _path, read_text, read_yaml

__all__ = ["KINDS", "PLAN_VERSION", "AssessPlan", "planned", "read_plan", "run_plan", "unset_params"]

#: The plan format this code reads and :func:`advmatrix.threatmodel.report.assess_plan` writes.
PLAN_VERSION = 1
#: Kinds of target a plan has assessments for, as procedures declare them (``target_kind``).
KINDS = ("classifier", "chat")
_WHAT = {"classifier": "a classifier", "chat": "an LLM application"}


@dataclass(frozen=True)
class AssessPlan:
    """A validated plan: per kind of target, the procedures to run with their parameters."""

    source: str
    system: str = ""
    assessments: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def procedures_for(self, kind: str) -> dict[str, dict[str, Any]]:
        """The procedures (name to parameters) for a ``kind`` of target; a plan with no
        assessment for it is a ``UsageError`` naming the file and the kinds it has."""
        if kind not in self.assessments:
            has = ", ".join(self.assessments) or "none"
            raise UsageError(f"{self.source}: the plan has no assessment for {_WHAT.get(kind, kind)} target "
                             f"(kind '{kind}'; the plan has: {has})")
        return {name: dict(params) for name, params in self.assessments[kind].items()}


def _fail(located: Located, loc: tuple[str | int, ...], message: str) -> FormatError:
    line = located.line(loc)
    where = f"{located.source}:{line}" if line else located.source
    return FormatError(f"{where}: {_path(loc)}: {message}" if loc else f"{where}: {message}")


def read_plan(path: str | Path) -> AssessPlan:
    """Read and validate a plan file. Bad input is one ``FormatError`` naming the file, the line
    and the field: a missing or unreadable file, not a mapping, another version, an unknown kind,
    a kind given twice, a procedure not installed or for the other kind of target, parameters
    that are not a mapping."""
    from .. import plugins

    path = Path(path)
    if not path.exists():
        raise FormatError(f"{path}: no such plan file (write one with advmatrix threatmodel SYSTEM "
                          "--emit-assess-plan FILE)")
    located = read_yaml(read_text(path), str(path))  # a regular file of bounded size, UTF-8
    data = located.data
    if not isinstance(data, dict):
        raise _fail(located, (), "an assess plan is a mapping with 'version' and a list 'assessments'")
    unknown = sorted(set(data) - {"version", "system", "assessments"})
    if unknown:
        raise _fail(located, (unknown[0],), "unknown field (a plan has version, system, assessments)")
    version = data.get("version", PLAN_VERSION)
    if version != PLAN_VERSION or isinstance(version, bool):
        raise _fail(located, ("version",), f"plan version {version!r} is not supported (this advmatrix reads "
                                           f"version {PLAN_VERSION}; write the plan again with advmatrix threatmodel)")
    if not isinstance(data.get("assessments"), list):
        raise _fail(located, ("assessments",) if "assessments" in data else (),
                    "expected a list 'assessments' (each with a kind and its procedures)")
    known = plugins.registry("procedure")
    assessments: dict[str, dict[str, dict[str, Any]]] = {}
    for i, entry in enumerate(data["assessments"]):
        at: tuple[str | int, ...] = ("assessments", i)
        if not isinstance(entry, dict):
            raise _fail(located, at, "expected a mapping with 'kind' and 'procedures'")
        extra = sorted(set(entry) - {"kind", "target", "command", "procedures"})
        if extra:
            raise _fail(located, (*at, extra[0]), "unknown field (an assessment has kind, target, command, procedures)")
        kind = entry.get("kind")
        if kind not in KINDS:
            raise _fail(located, (*at, "kind"), f"must be one of {', '.join(KINDS)}; got {kind!r}")
        if kind in assessments:
            raise _fail(located, (*at, "kind"), f"a second assessment for kind '{kind}'")
        procs = entry.get("procedures")
        if not isinstance(procs, dict) or not procs:
            raise _fail(located, (*at, "procedures"), "expected a mapping of procedure name to parameters")
        chosen: dict[str, dict[str, Any]] = {}
        for name, params in procs.items():
            here = (*at, "procedures", name)
            if name not in known:
                raise _fail(located, here, "no such procedure installed (advmatrix procedures lists them)")
            if known[name].target_kind != kind:
                raise _fail(located, here, f"tests {_WHAT[known[name].target_kind]}, not {_WHAT[kind]} "
                                           f"(the assessment's kind is '{kind}')")
            if params is not None and not isinstance(params, dict):
                raise _fail(located, here, "parameters must be a mapping ({} for the defaults)")
            try:
                known[name].parse_params(params or {})
            except UsageError as exc:
                # Checked here, not when the run starts: the error can then name the plan's line.
                # the key the message is about ("parameter 'x'"), not one it suggests instead
                key = next((k for k in params or {} if f"parameter '{k}'" in str(exc)), None) or next(
                    (k for k in params or {} if f"'{k}'" in str(exc)), None)
                raise _fail(located, (*here, key) if key is not None else here,
                            str(exc).split(": ", 1)[-1]) from None
            chosen[str(name)] = dict(params or {})
        assessments[kind] = chosen
    system = data.get("system")
    return AssessPlan(str(path), "" if system is None else str(system), assessments)


def planned(plan: AssessPlan | str | Path, params: Mapping[str, Mapping[str, Any]] | None = None,
            ) -> dict[str, dict[str, dict[str, Any]]]:
    """Per kind of target the plan has an assessment for, the procedures that would run with their
    parameters, ``params`` (as ``--param`` gives them) laid over the plan's for the procedures of that
    kind; each procedure's parameters checked together (``advmatrix assess --plan FILE --check``)."""
    from .. import plugins

    if not isinstance(plan, AssessPlan):
        plan = read_plan(plan)
    known = plugins.registry("procedure")
    for name in params or {}:
        # as when it runs: a --param for a procedure of a kind the plan has no assessment for is a mistake
        if name in known and known[name].target_kind not in plan.assessments:
            raise UsageError(f"--param {name}.…: {name} tests {_WHAT[known[name].target_kind]}, and the plan has "
                             f"no assessment for one ({', '.join(_WHAT[k] for k in plan.assessments) or 'none'})")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kind in plan.assessments:
        chosen = plan.procedures_for(kind)
        for name, values in (params or {}).items():
            if name in known and known[name].target_kind == kind:
                chosen[name] = {**chosen.get(name, {}), **values}
        for name, values in chosen.items():
            try:
                known[name].parse_params(values)
            except UsageError as exc:
                raise UsageError(f"{plan.source}: {name} with --param: {exc}") from None
        out[kind] = chosen
    return out


def unset_params(would: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, list[str]]]:
    """Of what :func:`planned` says would run, per kind the procedures that would be skipped for want of a
    parameter they cannot run without (``needs_params``) that neither the plan nor ``--param`` gives, with
    those parameters; kinds with none left out."""
    from .. import plugins

    known = plugins.registry("procedure")
    out = {kind: {name: sorted(k for k in known[name].needs_params if not given.get(k))
                  for name, given in chosen.items()} for kind, chosen in would.items()}
    return {kind: {n: keys for n, keys in names.items() if keys} for kind, names in out.items()
            if any(names.values())}


def run_plan(target: Any, plan: AssessPlan | str | Path, *, params: Mapping[str, Mapping[str, Any]] | None = None,
             **options: Any):
    """Assess ``target`` with the plan's assessment for the target's kind, through
    :func:`advmatrix.emulate.assess` (``options`` are its keyword arguments, ``procedures``
    excepted). ``params`` (procedure name to parameters, as ``--param`` gives them) override the
    plan's parameters key by key; a procedure the plan lacks is added, as ``--param`` does
    without a plan. The plan is read, and the target opened, before anything is stored."""
    from ..emulate import assess
    from ..targets import Budget, ChatTarget, Target, open_target

    if "procedures" in options:
        raise UsageError("a plan names the procedures: give the plan or the procedures, not both")
    if not isinstance(plan, AssessPlan):
        plan = read_plan(plan)
    opened = not isinstance(target, (Target, ChatTarget))
    t = open_target(target, budget=Budget()) if opened else target
    try:
        kind = "chat" if isinstance(t, ChatTarget) else "classifier"
        chosen = plan.procedures_for(kind)
        from .. import plugins

        known = plugins.registry("procedure")
        for name, values in (params or {}).items():
            # as in the plan file: a --param for a procedure of the other kind of target is a mistake,
            # not a procedure to add and then skip
            if name in known and known[name].target_kind != kind:
                raise UsageError(f"--param {name}.…: {name} tests {_WHAT[known[name].target_kind]}, not "
                                 f"{_WHAT[kind]} (the target's kind)")
            chosen[name] = {**chosen.get(name, {}), **values}
        return assess(t, procedures=chosen, **options)
    finally:
        if opened:
            t.close()
