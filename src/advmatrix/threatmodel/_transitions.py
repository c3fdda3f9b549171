"""Transition statistics of the case studies' procedures, and the path types built on them.

Public through :mod:`advmatrix.threatmodel.paths`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

from ..kb import Matrix

ENTRY_TACTICS = ("AML.TA0002", "AML.TA0003", "AML.TA0004", "AML.TA0000")
"""Reconnaissance, Resource Development, Initial Access, AI Model Access: where paths start."""
GOAL_TACTICS = ("AML.TA0011", "AML.TA0010")
"""Impact and Exfiltration: where paths end."""

# Interpolation weights of the four estimates of P(next | current). The exact estimate is the
# evidence; the family one (sub-techniques rolled up to their parent) shares counts between
# siblings the 57 case studies cannot all cover; the skip one counts moves with one step between, so a
# system that lacks the step the incidents took in the middle (a deepfake goes on to AI model access
# through opening an account, and a phone line has no accounts) can still join the two; the back-off is
# kept small so that an unseen move only wins when nothing seen connects the predicted techniques.
# Components a technique lacks (never followed by anything) give their weight to the others. The skip
# weight was chosen on the even case studies' path agreement (of 0, 0.05, 0.1, 0.2 and 0.3; bench/RESULTS.md).
EXACT_WEIGHT = 0.65
FAMILY_WEIGHT = 0.30
SKIP_WEIGHT = 0.05
BACKOFF_WEIGHT = 0.05

Basis = Literal["case-study", "parent", "skip", "back-off"]


@dataclass(frozen=True)
class Step:
    """One technique of a path, with the tactic it serves there."""

    technique: str
    name: str
    tactic: str
    tactic_name: str

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Edge:
    """A move from one technique to the next, with its probability and its evidence.

    ``basis`` says where the probability comes from: ``case-study`` (this exact move appears in
    the case studies in ``supported_by``), ``parent`` (only the parent techniques' move appears,
    in the case studies in ``parent_supported_by``), ``skip`` (the case studies in ``skip_supported_by``
    take it with one step between) or ``back-off`` (no case study shows it; it is allowed because both
    are of one family or the target serves the next tactic).
    """

    source: str
    target: str
    probability: float
    basis: Basis
    supported_by: tuple[str, ...] = ()
    parent_supported_by: tuple[str, ...] = ()
    skip_supported_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "probability": self.probability,
                "basis": self.basis, "supported_by": list(self.supported_by),
                "parent_supported_by": list(self.parent_supported_by),
                "skip_supported_by": list(self.skip_supported_by)}


@dataclass(frozen=True)
class Path:
    """An attack path: its steps, the edges between them, its ``score`` (what it was ranked by: per
    step, the geometric mean of the edges' probabilities, unless the product was asked for) and its
    ``probability`` (the product)."""

    steps: tuple[Step, ...]
    edges: tuple[Edge, ...]
    score: float
    probability: float
    #: The id of the adversary who walks it, where the system describes adversaries.
    adversary: str | None = None
    #: For each step, the components it is taken on along this walk (empty: not walked on a system).
    on: tuple[tuple[str, ...], ...] = ()

    @property
    def techniques(self) -> tuple[str, ...]:
        return tuple(s.technique for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "probability": self.probability, "adversary": self.adversary,
                "steps": [s.to_dict() for s in self.steps], "edges": [e.to_dict() for e in self.edges]}

    def mermaid(self) -> str:
        """The path as a Mermaid flowchart, left to right; each edge is labelled with its
        probability and its evidence."""
        lines = ["flowchart LR"]
        for i, s in enumerate(self.steps):
            lines.append(f'    s{i}["{_mermaid_text(f"{s.technique} {s.name}")}<br/>'
                         f'{_mermaid_text(s.tactic_name)}"]')
        for i, e in enumerate(self.edges):
            if e.basis == "case-study":
                evidence = _id_list(e.supported_by)
            elif e.basis == "parent":
                evidence = f"parent level: {_id_list(e.parent_supported_by)}"
            elif e.basis == "skip":
                evidence = f"a step between: {_id_list(e.skip_supported_by)}"
            else:
                evidence = "no case study"
            lines.append(f'    s{i} -->|"{e.probability:.3f} · {_mermaid_text(evidence)}"| s{i + 1}')
        return "\n".join(lines) + "\n"


def _id_list(ids: tuple[str, ...], most: int = 3) -> str:
    return ", ".join(ids[:most]) + (f" +{len(ids) - most}" if len(ids) > most else "")


def _mermaid_text(text: str) -> str:
    # Inside a quoted Mermaid label a double quote ends the label and '#...;' is read as an entity
    # code, so both are written as numeric entity codes; angle brackets likewise, because labels
    # are rendered as HTML, and '&' (an HTML entity would be decoded) and '\' ('\n' breaks the line).
    # '%' too: Mermaid reads '%%{init: ...}%%' as a directive anywhere, even inside a quoted label, so a
    # component name could restyle the chart or make a viewer fetch a URL.
    codes = {'"': "#34;", "#": "#35;", "<": "#60;", ">": "#62;", "&": "#38;", "\\": "#92;", "%": "#37;", "\n": " "}
    return "".join(codes.get(c, c) for c in text)


@dataclass(frozen=True, eq=False)
class TransitionModel:
    """Transition statistics of the case studies' procedures and the smoothed probabilities
    built from them. Build one with :meth:`learn`."""

    matrix: Matrix
    counts: dict[tuple[str, str], int]
    """Consecutive (technique, next technique) pairs, IDs as the steps give them."""
    support: dict[tuple[str, str], tuple[str, ...]]
    """The case studies in which each counted pair occurs."""
    family_counts: dict[tuple[str, str], int]
    """The same pairs with sub-techniques rolled up to their parent."""
    family_support: dict[tuple[str, str], tuple[str, ...]]
    skip_counts: dict[tuple[str, str], int]
    """(technique, the technique two steps on) pairs, the step between any."""
    skip_support: dict[tuple[str, str], tuple[str, ...]]
    uses: dict[str, int]
    """Steps that use each technique."""
    tactic_uses: dict[str, dict[str, int]]
    """For each technique, how often the case studies used it for each of its tactics."""
    pairs: int
    """Consecutive step pairs in all case studies, repeats included."""
    repeats: int
    """Pairs that repeat the same technique; a path never revisits one, so they are not counted."""
    backward: int
    """Pairs whose second step's tactic comes before the first's in the matrix's tactic order."""
    same_tactic: int
    probabilities: dict[str, dict[str, float]]
    """P(next | technique) over every technique of the matrix; absent entries are 0."""

    @property
    def backward_share(self) -> float:
        """Share of consecutive case-study steps that go backward in tactic order."""
        return self.backward / self.pairs if self.pairs else 0.0

    @classmethod
    def learn(cls, matrix: Matrix) -> TransitionModel:
        """Count the transitions of every case study of ``matrix`` and smooth them."""
        order = {t.id: i for i, t in enumerate(matrix.tactics)}
        family = {t.id: t.parent or t.id for t in matrix.techniques}
        counts: Counter[tuple[str, str]] = Counter()
        fcounts: Counter[tuple[str, str]] = Counter()
        support: dict[tuple[str, str], set[str]] = defaultdict(set)
        fsupport: dict[tuple[str, str], set[str]] = defaultdict(set)
        uses: Counter[str] = Counter()
        tactic_uses: dict[str, Counter[str]] = defaultdict(Counter)
        skips: Counter[tuple[str, str]] = Counter()
        ssupport: dict[tuple[str, str], set[str]] = defaultdict(set)
        pairs = repeats = backward = same = 0
        for cs in matrix.case_studies:
            steps = [step.technique for step in cs.procedure]
            for a, c in zip(steps, steps[2:], strict=False):
                if a != c:
                    skips[a, c] += 1
                    ssupport[a, c].add(cs.id)
            for step in cs.procedure:
                uses[step.technique] += 1
                tactic_uses[step.technique][step.tactic] += 1
            for a, b in pairwise(cs.procedure):
                pairs += 1
                # The step's own tactic is the one it served, which settles techniques that sit
                # under several tactics.
                if a.tactic in order and b.tactic in order:
                    backward += order[b.tactic] < order[a.tactic]
                    same += a.tactic == b.tactic
                if a.technique == b.technique:
                    repeats += 1
                    continue
                counts[a.technique, b.technique] += 1
                support[a.technique, b.technique].add(cs.id)
                fa, fb = family.get(a.technique, a.technique), family.get(b.technique, b.technique)
                fcounts[fa, fb] += 1
                fsupport[fa, fb].add(cs.id)
        probabilities = _smooth(matrix, family, counts, fcounts, skips, uses)
        return cls(matrix=matrix, counts=dict(sorted(counts.items())),
                   support={k: tuple(sorted(v)) for k, v in sorted(support.items())},
                   family_counts=dict(sorted(fcounts.items())),
                   family_support={k: tuple(sorted(v)) for k, v in sorted(fsupport.items())},
                   skip_counts=dict(sorted(skips.items())),
                   skip_support={k: tuple(sorted(v)) for k, v in sorted(ssupport.items())},
                   uses=dict(sorted(uses.items())),
                   tactic_uses={k: dict(sorted(v.items())) for k, v in sorted(tactic_uses.items())},
                   pairs=pairs, repeats=repeats, backward=backward, same_tactic=same,
                   probabilities=probabilities)

    def probability(self, source: str, target: str) -> float:
        """P(target follows source); 0 when neither the case studies nor the back-off allow it."""
        return self.probabilities.get(source, {}).get(target, 0.0)

    def edge(self, source: str, target: str) -> Edge | None:
        """The move from ``source`` to ``target`` with its evidence, or None when it has no
        probability."""
        p = self.probability(source, target)
        if p <= 0.0:
            return None
        exact = self.support.get((source, target), ())
        fam = self._family(source), self._family(target)
        parent = self.family_support.get(fam, ())
        skip = self.skip_support.get((source, target), ())
        basis: Basis = "case-study" if exact else "parent" if parent else "skip" if skip else "back-off"
        return Edge(source, target, p, basis, exact, parent if fam != (source, target) else (), skip)

    def step(self, technique: str, prefer: tuple[str, ...] = ()) -> Step:
        """``technique`` as a path step; of its tactics, one in ``prefer`` wins, then the one the
        case studies use it for most, then the first in matrix order."""
        t = self.matrix.technique(technique)
        tactics = [ta.id for ta in self.matrix.tactics_of(t.id)]
        used = self.tactic_uses.get(t.id, {})
        rank = {ta: i for i, ta in enumerate(tactics)}
        tactic = min(tactics, key=lambda ta: (ta not in prefer, -used.get(ta, 0), rank[ta]), default="")
        return Step(t.id, t.name, tactic, self.matrix.tactic(tactic).name if tactic else "")

    def _family(self, technique: str) -> str:
        return self.matrix.technique(technique).parent or technique

    def summary(self) -> dict[str, Any]:
        """Figures for reports: steps, pairs, repeats, backward and same-tactic shares, and how
        many distinct transitions were seen at technique and at parent level."""
        return {"case_studies": len(self.matrix.case_studies), "steps": sum(self.uses.values()),
                "pairs": self.pairs, "repeats": self.repeats, "backward": self.backward,
                "backward_share": self.backward_share,
                "same_tactic_share": self.same_tactic / self.pairs if self.pairs else 0.0,
                "transitions": len(self.counts), "parent_transitions": len(self.family_counts)}


def _smooth(matrix: Matrix, family: dict[str, str], counts: Counter[tuple[str, str]],
            fcounts: Counter[tuple[str, str]], skips: Counter[tuple[str, str]],
            uses: Counter[str]) -> dict[str, dict[str, float]]:
    """P(b | a) = w_e·exact + w_f·family·share-of-b-in-its-family + w_s·skip + w_b·uniform over allowed moves."""
    ids = [t.id for t in matrix.techniques]
    order = {t.id: i for i, t in enumerate(matrix.tactics)}
    tactic_ids = [t.id for t in matrix.tactics]
    members: dict[str, list[str]] = defaultdict(list)
    for tid in ids:
        members[family[tid]].append(tid)
    share = {}
    for ms in members.values():
        # Add-one, so a sibling no case study uses still gets a little of its family's mass.
        total = sum(uses[m] for m in ms) + len(ms)
        share.update({m: (uses[m] + 1) / total for m in ms})
    by_tactic: dict[str, list[str]] = defaultdict(list)
    tactics_of = {}
    for tid in ids:
        tactics_of[tid] = [ta.id for ta in matrix.tactics_of(tid)]
        for ta in tactics_of[tid]:
            by_tactic[ta].append(tid)
    out_exact: dict[str, dict[str, int]] = defaultdict(dict)
    for (a, b), n in counts.items():
        out_exact[a][b] = n
    out_family: dict[str, dict[str, int]] = defaultdict(dict)
    for (a, b), n in fcounts.items():
        out_family[a][b] = n
    out_skip: dict[str, dict[str, int]] = defaultdict(dict)
    for (a, b), n in skips.items():
        out_skip[a][b] = n
    result: dict[str, dict[str, float]] = {}
    for a in ids:
        allowed = {m for m in members[family[a]] if m != a}
        for ta in tactics_of[a]:
            nxt = order[ta] + 1
            if nxt < len(tactic_ids):
                allowed.update(m for m in by_tactic[tactic_ids[nxt]] if m != a)
        exact, fam, skip = out_exact.get(a, {}), out_family.get(family[a], {}), out_skip.get(a, {})
        weights = [(EXACT_WEIGHT, bool(exact)), (FAMILY_WEIGHT, bool(fam)), (SKIP_WEIGHT, bool(skip)),
                   (BACKOFF_WEIGHT, bool(allowed))]
        norm = sum(w for w, present in weights if present)
        if not norm:
            continue
        probs: dict[str, float] = defaultdict(float)
        if exact:
            total = sum(exact.values())
            for b, n in exact.items():
                probs[b] += EXACT_WEIGHT / norm * n / total
        if fam:
            total = sum(fam.values())
            for fb, n in fam.items():
                for b in members.get(fb, ()):
                    if b != a:
                        probs[b] += FAMILY_WEIGHT / norm * n / total * share[b]
        if skip:
            total = sum(skip.values())
            for b, n in skip.items():
                probs[b] += SKIP_WEIGHT / norm * n / total
        for b in allowed:
            probs[b] += BACKOFF_WEIGHT / norm / len(allowed)
        result[a] = {b: probs[b] for b in sorted(probs)}
    return result

