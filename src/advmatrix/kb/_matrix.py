"""The matrix as one immutable value with the lookups analysts ask for."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import UnknownObjectError
from ._models import (
    CaseStudy,
    KnowledgeObject,
    Mitigation,
    MitigationUse,
    Tactic,
    Technique,
)


@dataclass(frozen=True)
class Stats:
    version: str
    tactics: int
    techniques: int
    subtechniques: int
    mitigations: int
    case_studies: int
    procedure_steps: int

    def as_dict(self) -> dict[str, str | int]:
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class Matrix:
    """Tactics in matrix order, techniques (sub-techniques included), mitigations, case studies.

    Two matrices are equal when their content is; ``source`` and ``warnings`` describe where a
    matrix came from and are not compared.
    """

    version: str
    tactics: tuple[Tactic, ...]
    techniques: tuple[Technique, ...]
    mitigations: tuple[Mitigation, ...] = ()
    case_studies: tuple[CaseStudy, ...] = ()
    id: str = "ATLAS"
    name: str = "Adversarial Threat Landscape for AI Systems"
    source: str = field(default="", compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, KnowledgeObject] = {}
        for obj in (*self.tactics, *self.techniques, *self.mitigations, *self.case_studies):
            by_id[obj.id] = obj
        subs: dict[str, list[Technique]] = defaultdict(list)
        for t in self.techniques:
            if t.parent:
                subs[t.parent].append(t)
        by_tactic: dict[str, list[Technique]] = defaultdict(list)
        for t in self.techniques:
            for ta in t.tactics:
                by_tactic[ta].append(t)
        mits: dict[str, list[tuple[Mitigation, MitigationUse]]] = defaultdict(list)
        for m in self.mitigations:
            for use in m.techniques:
                mits[use.technique].append((m, use))
        cases: dict[str, list[CaseStudy]] = defaultdict(list)
        for cs in self.case_studies:
            for tid in dict.fromkeys(step.technique for step in cs.procedure):
                cases[tid].append(cs)
        # Indexes are derived state; object.__setattr__ because the dataclass is frozen.
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_subs", subs)
        object.__setattr__(self, "_by_tactic", by_tactic)
        object.__setattr__(self, "_mits", mits)
        object.__setattr__(self, "_cases", cases)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Matrix):
            return NotImplemented
        return (self.id, self.name, self.version, self.tactics, self.techniques,
                self.mitigations, self.case_studies) == (
                other.id, other.name, other.version, other.tactics, other.techniques,
                other.mitigations, other.case_studies)

    __hash__ = None  # type: ignore[assignment]

    # -- lookups -------------------------------------------------------------------------------
    def __contains__(self, object_id: str) -> bool:
        return object_id in self._by_id  # type: ignore[attr-defined]

    def get(self, object_id: str) -> KnowledgeObject:
        """Any object by ID (case-insensitive); ``UnknownObjectError`` names close IDs."""
        by_id: dict[str, KnowledgeObject] = self._by_id  # type: ignore[attr-defined]
        found = by_id.get(object_id)
        if found is None:  # accept "aml.t0043" and "T0043" as users type them
            key = object_id.strip().upper()
            found = by_id.get(key if key.startswith("AML.") else f"AML.{key}")
        if found is None:
            close = difflib.get_close_matches(key if key.startswith("AML.") else f"AML.{key}",
                                              list(by_id), n=3, cutoff=0.8)
            raise UnknownObjectError(object_id, f"did you mean {', '.join(close)}?" if close else "")
        return found

    def _typed(self, object_id: str, kind: type) -> KnowledgeObject:
        obj = self.get(object_id)
        if not isinstance(obj, kind):
            raise UnknownObjectError(object_id, f"it is a {obj.kind}, not a {kind.__name__.lower()}")
        return obj

    def tactic(self, object_id: str) -> Tactic:
        return self._typed(object_id, Tactic)  # type: ignore[return-value]

    def technique(self, object_id: str) -> Technique:
        return self._typed(object_id, Technique)  # type: ignore[return-value]

    def mitigation(self, object_id: str) -> Mitigation:
        return self._typed(object_id, Mitigation)  # type: ignore[return-value]

    def case_study(self, object_id: str) -> CaseStudy:
        return self._typed(object_id, CaseStudy)  # type: ignore[return-value]

    def top_techniques(self) -> tuple[Technique, ...]:
        return tuple(t for t in self.techniques if t.parent is None)

    def subtechniques(self) -> tuple[Technique, ...]:
        return tuple(t for t in self.techniques if t.parent is not None)

    def techniques_of_tactic(self, tactic_id: str) -> tuple[Technique, ...]:
        """Top-level techniques under a tactic, in data order."""
        tactic = self.tactic(tactic_id)
        return tuple(self._by_tactic.get(tactic.id, ()))  # type: ignore[attr-defined]

    def columns(self) -> tuple[tuple[Tactic, tuple[tuple[Technique, tuple[Technique, ...]], ...]], ...]:
        """The matrix as it is drawn: each tactic, in order, with its top-level techniques and
        each technique's sub-techniques."""
        return tuple((tactic, tuple((t, self.subtechniques_of(t.id)) for t in self.techniques_of_tactic(tactic.id)))
                     for tactic in self.tactics)

    def subtechniques_of(self, technique_id: str) -> tuple[Technique, ...]:
        technique = self.technique(technique_id)
        return tuple(self._subs.get(technique.id, ()))  # type: ignore[attr-defined]

    def tactics_of(self, technique_id: str) -> tuple[Tactic, ...]:
        """Tactics of a technique; a sub-technique has its parent's."""
        technique = self.technique(technique_id)
        owner = self.technique(technique.parent) if technique.parent else technique
        by_id = self._by_id  # type: ignore[attr-defined]
        return tuple(by_id[t] for t in owner.tactics if t in by_id)

    def mitigations_of(self, technique_id: str) -> tuple[tuple[Mitigation, MitigationUse], ...]:
        """Mitigations that address the technique, each with how it does."""
        technique = self.technique(technique_id)
        return tuple(self._mits.get(technique.id, ()))  # type: ignore[attr-defined]

    def case_studies_using(self, technique_id: str) -> tuple[CaseStudy, ...]:
        technique = self.technique(technique_id)
        return tuple(self._cases.get(technique.id, ()))  # type: ignore[attr-defined]

    def iter_objects(self) -> Iterable[KnowledgeObject]:
        yield from self.tactics
        yield from self.techniques
        yield from self.mitigations
        yield from self.case_studies

    def stats(self) -> Stats:
        return Stats(
            version=self.version,
            tactics=len(self.tactics),
            techniques=sum(1 for t in self.techniques if t.parent is None),
            subtechniques=sum(1 for t in self.techniques if t.parent is not None),
            mitigations=len(self.mitigations),
            case_studies=len(self.case_studies),
            procedure_steps=sum(len(cs.procedure) for cs in self.case_studies),
        )
