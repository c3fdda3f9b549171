"""Cross-reference checks over a whole matrix.

The same checks serve two masters: our bundled data, where any problem is an error that fails
the build, and imported upstream files, where problems are reported as warnings because
analysts still need to read a release that has a slip in it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ._matrix import Matrix


@dataclass(frozen=True)
class Problem:
    object_id: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.object_id}: field '{self.field}': {self.message}"


def check_matrix(matrix: Matrix) -> list[Problem]:
    """Every broken link, misplaced sub-technique and duplicated ID in ``matrix``."""
    problems: list[Problem] = []
    counts = Counter(obj.id for obj in matrix.iter_objects())
    problems += [Problem(i, "id", f"ID used by {n} objects") for i, n in counts.items() if n > 1]

    tactic_ids = {t.id for t in matrix.tactics}
    techniques = {t.id: t for t in matrix.techniques}

    for t in matrix.techniques:
        if t.parent is None:
            if not t.tactics:
                problems.append(Problem(t.id, "tactics", "a technique needs at least one tactic"))
            for ta in t.tactics:
                if ta not in tactic_ids:
                    problems.append(Problem(t.id, "tactics", f"unknown tactic {ta}"))
            continue
        parent = techniques.get(t.parent)
        if parent is None:
            problems.append(Problem(t.id, "subtechnique-of", f"unknown parent {t.parent}"))
        elif parent.parent is not None:
            problems.append(Problem(t.id, "subtechnique-of", f"parent {t.parent} is itself a sub-technique"))
        if not t.id.startswith(t.parent + "."):
            problems.append(Problem(t.id, "subtechnique-of", f"ID does not extend its parent {t.parent}"))

    for m in matrix.mitigations:
        for use in m.techniques:
            if use.technique not in techniques:
                problems.append(Problem(m.id, "techniques", f"unknown technique {use.technique}"))

    for cs in matrix.case_studies:
        for n, step in enumerate(cs.procedure, 1):
            where = f"procedure[{n}]"
            if step.tactic not in tactic_ids:
                problems.append(Problem(cs.id, where, f"unknown tactic {step.tactic}"))
            technique = techniques.get(step.technique)
            if technique is None:
                problems.append(Problem(cs.id, where, f"unknown technique {step.technique}"))
                continue
            owner = techniques.get(technique.parent) if technique.parent else technique
            if owner is not None and step.tactic in tactic_ids and step.tactic not in owner.tactics:
                problems.append(Problem(
                    cs.id, where,
                    f"technique {step.technique} does not belong to tactic {step.tactic}"))
    return problems
