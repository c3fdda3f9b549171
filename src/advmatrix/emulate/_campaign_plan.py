"""A campaign's plan file: the targets, their budgets and concurrency, the procedures, and the
units (target x procedure) it expands to; read with errors naming file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import FormatError, UsageError, first_problem


class PlanTarget(BaseModel):
    """One target of a plan: where it is, and what it allows."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    target: str | dict[str, Any] = Field(description="URI, path to a target .yaml, or the description inline")
    procedures: list[str] | dict[str, dict[str, Any] | None] | None = None
    budget: int | None = Field(None, ge=0, description="queries shared by all this target's units")
    concurrency: int = Field(1, ge=1, le=1024, description="its units running at once")
    data: str | None = None


class Plan(BaseModel):
    """A campaign plan (YAML): targets, and the procedures each gets."""

    model_config = ConfigDict(extra="forbid")
    name: str = "campaign"
    procedures: list[str] | dict[str, dict[str, Any] | None] | None = None
    data: str = "digits"
    seed: int = 0
    unit_budget: int | None = Field(10_000, ge=0, description="queries one unit may spend")
    targets: list[PlanTarget] = Field(min_length=1)

    @field_validator("targets")
    @classmethod
    def _unique(cls, targets: list[PlanTarget]) -> list[PlanTarget]:
        names = [t.name for t in targets]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"target names must be unique; repeated: {', '.join(twice)}")
        return targets


@dataclass(frozen=True)
class Unit:
    """One procedure against one target; ``key`` ('target/procedure') identifies it across resumes."""

    target_name: str
    target: str | dict[str, Any]
    procedure: str
    params: dict[str, Any]
    data: str
    seed: int
    unit_budget: int | None

    @property
    def key(self) -> str:
        return f"{self.target_name}/{self.procedure}"


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan; any problem is one :class:`UsageError` naming file, line and field."""
    import yaml

    from ..kb._io import parse_yaml, read_text

    path = Path(path)
    try:
        text = read_text(path)  # a regular file of bounded size, UTF-8
    except FormatError as exc:
        raise UsageError(str(exc)) from None
    try:
        node = yaml.compose(text)
        raw = parse_yaml(text, str(path))  # aliases that expand without end are refused
    except FormatError as exc:
        raise UsageError(str(exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise UsageError(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path}:1: a plan must be a mapping with 'targets'")
    try:
        plan = Plan.model_validate(raw)
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        dotted, msg = first_problem(exc)
        raise UsageError(f"{path}:{_line(node, loc)}: {dotted or '(plan)'}: {msg}") from None
    from ._registry import get

    for i, t in enumerate(plan.targets):
        chosen = t.procedures if t.procedures is not None else plan.procedures
        where = ("targets", i, "procedures") if t.procedures is not None else ("procedures",)
        if not chosen:
            raise UsageError(f"{path}:{_line(node, where if t.procedures is not None else ('targets', i))}: "
                             f"targets.{i}.procedures: name the procedures (here or at the plan's top level)")
        specs = chosen.items() if isinstance(chosen, dict) else ((n, {}) for n in chosen)
        seen: set[str] = set()
        for name, params in specs:
            at = f"{path}:{_line(node, (*where, name) if isinstance(chosen, dict) else where)}"
            if name in seen:
                raise UsageError(f"{at}: {'.'.join(map(str, where))}: '{name}' is listed twice")
            seen.add(name)
            try:
                get(name)(**dict(params or {}))
            except (LookupError, ValueError) as exc:
                raise UsageError(f"{at}: {'.'.join(map(str, where))}.{name}: {exc}") from None
    return plan


def _line(node: Any, loc: tuple) -> int:
    """The 1-based line of the deepest node of ``loc`` in the composed YAML (for error messages)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if node is None:
            break
        nxt = None
        if node.id == "mapping":
            for k, v in node.value:
                if k.value == str(part):
                    line, nxt = k.start_mark.line + 1, v
                    break
        elif node.id == "sequence" and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
            line = nxt.start_mark.line + 1
        node = nxt
    return line


def units(plan: Plan) -> list[Unit]:
    """Every unit of ``plan``, targets in plan order, each target's procedures in its order."""
    out = []
    for t in plan.targets:
        chosen = t.procedures if t.procedures is not None else plan.procedures
        specs = chosen.items() if isinstance(chosen, dict) else ((n, {}) for n in chosen or ())
        out += [Unit(t.name, t.target, name, dict(params or {}), t.data or plan.data, plan.seed, plan.unit_budget)
                for name, params in specs]
    return out
