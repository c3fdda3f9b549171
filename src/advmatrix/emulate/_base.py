"""Procedures: each carries out ATLAS techniques against a target and returns a Finding.

A procedure is mostly declaration: the technique IDs it emulates, the access it requires, the
data it needs, and its parameters as a pydantic model (validated once, in ``__init__``). The
base class runs it with timing, keeps partial results when the query budget runs out or the
target fails mid-run, and attaches the mitigations the knowledge base links to its techniques.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel

from .._extras import missing_extras
from ..errors import BudgetExhausted, TargetError
from ..plugins import NoParams, Plugin
from ..targets import Access, ChatTarget, OutputKind, Target

_ACCESS_RANK = {Access.BLACK_BOX: 0, Access.GREY_BOX: 1, Access.WHITE_BOX: 2}


@dataclass
class Dataset:
    """What the red team holds: seed inputs with labels, and optionally an unlabelled pool (for
    extraction) and known members and non-members of the training set (for membership)."""

    x: np.ndarray
    y: np.ndarray
    x_pool: np.ndarray | None = None
    x_members: np.ndarray | None = None
    y_members: np.ndarray | None = None
    x_nonmembers: np.ndarray | None = None
    y_nonmembers: np.ndarray | None = None
    train: Any = None  # callable (x, y) -> Target, for poisoning procedures


@dataclass
class Example:
    """One piece of evidence: an input, what the model said, and what the attack produced."""

    label: int | None
    prediction: int | None
    input: list | None = None
    adversarial: list | None = None
    adversarial_prediction: int | None = None
    note: str = ""
    transcript: list[dict] | None = None   # for LLM targets: the conversation and the reply


@dataclass
class Finding:
    procedure: str
    title: str
    family: str
    technique_ids: tuple[str, ...]
    status: str = "completed"      # completed | partial | error | skipped
    success_rate: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    queries: int = 0
    wall_time: float = 0.0
    evidence: list[Example] = field(default_factory=list)
    mitigations: list[dict[str, str]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data["technique_ids"] = list(self.technique_ids)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        data = dict(data)
        data["technique_ids"] = tuple(data.get("technique_ids", ()))
        data["evidence"] = [Example(**e) for e in data.get("evidence", [])]
        return cls(**data)


class Procedure(Plugin):
    """Base of every procedure. The docstring of a subclass is its description for users."""

    kind = "procedure"
    family: ClassVar[str]                     # evasion, extraction, inference, discovery, poisoning, llm...
    target_kind: ClassVar[str] = "classifier"  # classifier (Target) or chat (ChatTarget)
    requires: ClassVar[Access] = Access.BLACK_BOX
    needs_probabilities: ClassVar[bool] = False
    needs: ClassVar[tuple[str, ...]] = ()    # Dataset fields that must be present
    #: Parameters it cannot run without (name -> what to give), which plans and ``--check`` name: a plan
    #: emitted from a threat model gives none, so without them the procedure is skipped at run time.
    needs_params: ClassVar[Mapping[str, str]] = {}
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, **params: Any):
        self.params = self.parse_params(params)

    def why_not(self, target: Target, data: Dataset) -> str | None:
        """None when the procedure can run; otherwise the reason it is skipped."""
        if isinstance(target, ChatTarget) != (self.target_kind == "chat"):
            wanted = "an LLM application (chat target)" if self.target_kind == "chat" else "a classifier"
            return f"needs {wanted}; {target.info.name} is not one"
        lacking = missing_extras(self.extras)
        if lacking:
            names = ",".join(lacking)
            return f"needs the '{names}' extra: pip install 'advmatrix[{names}]'"
        if _ACCESS_RANK[target.info.access] < _ACCESS_RANK[self.requires]:
            return f"needs {self.requires.value} access; {target.info.name} is {target.info.access.value}"
        if self.needs_probabilities and getattr(target.info, "output", None) is OutputKind.LABELS:
            return f"needs class probabilities; {target.info.name} returns labels only"
        missing = [n for n in self.needs if getattr(data, n) is None]
        if missing:
            how = [w for n, w in (("train", "a training function: --train"),) if n in missing]
            if any(n != "train" for n in missing):
                how.insert(0, "arrays of an .npz given with --data")
            return f"needs {', '.join(missing)} in the data set ({'; '.join(how)})"
        return None

    def run(self, target: Target, data: Dataset, *, seed: int = 0, mitigations: Any = None) -> Finding:
        finding = Finding(self.name, self.title, self.family, self.technique_ids,
                          params=self.params.model_dump(mode="json"))
        finding.mitigations = _mitigations(self.technique_ids) if mitigations is None else mitigations
        reason = self.why_not(target, data)
        if reason:
            finding.status, finding.message = "skipped", reason
            return finding
        start_queries = target.queries
        started = time.perf_counter()
        try:
            self._run(target, data, finding, np.random.default_rng(seed))
        except BudgetExhausted as exc:
            finding.status, finding.message = "partial", str(exc)
        except TargetError as exc:
            finding.status, finding.message = ("partial" if finding.metrics else "error"), str(exc)
        finally:
            finding.wall_time = time.perf_counter() - started
            finding.queries = target.queries - start_queries
        if finding.metrics.get("successes"):
            finding.metrics["queries_per_success"] = finding.queries / finding.metrics["successes"]
        return finding

    def _run(self, target: Target, data: Dataset, finding: Finding, rng: np.random.Generator) -> None:
        raise NotImplementedError  # pragma: no cover

    @classmethod
    def describe(cls) -> dict:
        """The plugin description plus what a procedure needs of the target and the data."""
        return {**super().describe(), "family": cls.family, "target_kind": cls.target_kind,
                "requires": cls.requires.value, "needs_probabilities": cls.needs_probabilities,
                "needs": list(cls.needs)}


def _mitigations(technique_ids: tuple[str, ...]) -> list[dict[str, str]]:
    from ..kb import bundled

    matrix = bundled()
    seen: dict[str, dict[str, str]] = {}
    for tid in technique_ids:
        if tid not in matrix:
            continue
        for m, use in matrix.mitigations_of(tid):
            seen.setdefault(m.id, {"id": m.id, "name": m.name, "use": use.use})
    return list(seen.values())


def example(x: np.ndarray | None, label: Any, pred: Any, adv: np.ndarray | None = None, adv_pred: Any = None,
            note: str = "") -> Example:
    def small(a: np.ndarray | None) -> list | None:
        return None if a is None else np.round(np.asarray(a, dtype=float), 4).tolist()

    as_int = lambda v: None if v is None else int(v)  # noqa: E731
    return Example(as_int(label), as_int(pred), small(x), small(adv), as_int(adv_pred), note)
