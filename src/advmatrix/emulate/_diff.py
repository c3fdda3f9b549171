"""What changed between two assessments (``advmatrix runs diff``): per procedure the status and
success rate before and after, the techniques that became successful or stopped being so, and,
when both runs went through the gateway, what it noticed then and now."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ._campaign import Assessment

#: target fields that make two runs runs of the same system
_IDENTITY = ("name", "access", "input_shape", "classes", "output")
#: technique verdicts (see the reports) under which some procedure succeeded at the technique
_SUCCEEDED = frozenset({"unseen", "seen-after", "seen-before", "succeeded"})


@dataclass
class ProcedureChange:
    """One procedure in either run: ``None`` on a side where it was not in the run."""

    procedure: str
    status_before: str | None
    status_after: str | None
    success_before: float | None
    success_after: float | None
    detected_before: bool | None = None
    detected_after: bool | None = None
    first_alert_before: int | None = None
    first_alert_after: int | None = None

    @property
    def change(self) -> float | None:
        """After minus before, when both runs measured a success rate."""
        if self.success_before is None or self.success_after is None:
            return None
        return self.success_after - self.success_before

    @property
    def changed(self) -> bool:
        """Whether anything about the procedure differs between the runs."""
        return (self.status_before != self.status_after or bool(self.change)
                or (self.success_before is None) != (self.success_after is None)
                or self.detected_before != self.detected_after or self.first_alert_before != self.first_alert_after)

    def as_dict(self) -> dict[str, Any]:
        """As JSON data, with the change and whether anything changed."""
        return {**asdict(self), "change": self.change, "changed": self.changed}


@dataclass
class RunDiff:
    """Two assessments compared, ``before`` then ``after``."""

    before: dict[str, Any]
    after: dict[str, Any]
    same_target: bool
    target_differences: list[str] = field(default_factory=list)
    procedures: list[ProcedureChange] = field(default_factory=list)
    became_successful: list[str] = field(default_factory=list)
    became_unsuccessful: list[str] = field(default_factory=list)
    verdicts: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # changed ones only
    detection_compared: bool = False
    newly_detected: list[str] = field(default_factory=list)
    no_longer_detected: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """As JSON data."""
        return {**asdict(self), "procedures": [p.as_dict() for p in self.procedures],
                "verdicts": {t: {"before": b, "after": a} for t, (b, a) in self.verdicts.items()}}


def diff_runs(before: Assessment, after: Assessment) -> RunDiff:
    """Compare two assessments. Runs of different targets are compared all the same, and the
    result says how the targets differ (``same_target`` false)."""
    from ..report import summary

    differences = [f"{k}: {before.target.get(k)!r} vs {after.target.get(k)!r}" for k in _IDENTITY
                   if before.target.get(k) != after.target.get(k)]
    diff = RunDiff(_head(before), _head(after), not differences, differences)
    b_find = {f.procedure: f for f in before.findings}
    a_find = {f.procedure: f for f in after.findings}
    b_cov = {c.procedure: c for c in before.coverage or ()}
    a_cov = {c.procedure: c for c in after.coverage or ()}
    for name in [*b_find, *(n for n in a_find if n not in b_find)]:
        fb, fa, cb, ca = b_find.get(name), a_find.get(name), b_cov.get(name), a_cov.get(name)
        diff.procedures.append(ProcedureChange(
            name, fb and fb.status, fa and fa.status, _rate(fb), _rate(fa),
            None if cb is None else cb.detected, None if ca is None else ca.detected,
            None if cb is None else cb.queries_to_detection, None if ca is None else ca.queries_to_detection))
    vb, va = summary(before)["verdicts"], summary(after)["verdicts"]
    for tid in sorted(set(vb) | set(va)):
        was, now = vb.get(tid), va.get(tid)
        if was != now:
            diff.verdicts[tid] = (was, now)
        if now in _SUCCEEDED and was not in _SUCCEEDED:
            diff.became_successful.append(tid)
        elif was in _SUCCEEDED and now == "failed":
            diff.became_unsuccessful.append(tid)
    diff.detection_compared = before.coverage is not None and after.coverage is not None
    if diff.detection_compared:
        diff.newly_detected = [p.procedure for p in diff.procedures if p.detected_after and p.detected_before is False]
        diff.no_longer_detected = [p.procedure for p in diff.procedures
                                   if p.detected_before and p.detected_after is False]
    return diff


def _head(a: Assessment) -> dict[str, Any]:
    return {"id": a.id, "label": a.label, "started": a.started, "target": a.target.get("name"),
            "access": a.target.get("access"), "detection_measured": a.coverage is not None}


def _rate(finding: Any) -> float | None:
    return None if finding is None or finding.status == "skipped" else finding.success_rate
