"""Run several procedures against one target: each gets its own query budget."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..targets import Budget, Target
from ._base import Dataset, Finding, Procedure


@dataclass
class Coverage:
    """Whether the monitoring gateway noticed one procedure run through it (the purple loop)."""

    procedure: str
    technique_ids: tuple[str, ...]
    detected: bool
    detectors: list[str] = field(default_factory=list)
    queries_to_detection: int | None = None
    queries: int = 0
    actions: list[str] = field(default_factory=list)
    first_success_query: int | None = None    # requests spent by the attack's first success
    before_success: bool | None = None        # the first alert came no later than the first success

    def as_dict(self) -> dict:
        return {**self.__dict__, "technique_ids": list(self.technique_ids)}

    @classmethod
    def from_dict(cls, data: dict) -> Coverage:
        return cls(**{**data, "technique_ids": tuple(data["technique_ids"])})


@dataclass
class Assessment:
    id: str
    target: dict[str, Any]
    started: str
    findings: list[Finding] = field(default_factory=list)
    finished: str = ""
    label: str = ""
    coverage: list[Coverage] | None = None  # set when the run went through the gateway
    #: Why the gateway's view could not be read (it saw none of the run's traffic); not stored with the run.
    unmeasured: str = field(default="", compare=False)

    def as_dict(self) -> dict:
        out = {"id": self.id, "label": self.label, "target": self.target, "started": self.started,
               "finished": self.finished, "findings": [f.as_dict() for f in self.findings]}
        if self.coverage is not None:
            out["coverage"] = [c.as_dict() for c in self.coverage]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Assessment:
        coverage = data.get("coverage")
        return cls(id=data["id"], label=data.get("label", ""), target=data["target"], started=data["started"],
                   finished=data.get("finished", ""), findings=[Finding.from_dict(f) for f in data["findings"]],
                   coverage=None if coverage is None else [Coverage.from_dict(c) for c in coverage])

    def scores(self) -> dict[str, float]:
        """Best success rate per technique, over completed or partial findings."""
        from ..kb import best_scores

        return best_scores((f.technique_ids, f.success_rate) for f in self.findings if f.status != "skipped")


def run_assessment(target: Target, data: Dataset, chosen: list[Procedure], *, budget: int | None = None,
                   seed: int = 0, label: str = "",
                   on_progress: Callable[[str, Finding | None], None] | None = None,
                   scope: Callable[[Procedure, Target], Target] | None = None) -> Assessment:
    """Run each procedure against ``target`` with its own budget (``scope`` may hand each a
    differently configured target, as the purple loop does); returns the unsaved assessment."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    assessment = Assessment(id=uuid.uuid4().hex[:12], target=target.info.as_dict(), started=now, label=label)
    for procedure in chosen:
        if on_progress:
            on_progress(procedure.name, None)
        scoped = scope(procedure, target) if scope else target.with_budget(Budget(limit=budget))
        finding = procedure.run(scoped, data, seed=seed)
        assessment.findings.append(finding)
        if on_progress:
            on_progress(procedure.name, finding)
    assessment.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return assessment
