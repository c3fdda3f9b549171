"""Attack paths: the likeliest chains of predicted techniques, learned from the case studies.

Each ATLAS case study tells an incident as an ordered list of techniques. Counting which
technique follows which gives transition probabilities; an attack path is a chain of predicted
techniques from an entry point (reconnaissance, resource development, initial access, AI model
access) to a goal (impact, exfiltration). Paths are ranked per step, by the geometric mean of their
transition probabilities: ranked by the product, every extra step costs a factor below one, so the
top paths were nearly all two steps, jumping from the entry straight to the goal. Per step, a
longer chain wins when its moves are as common as a short one's; on the case studies' own techniques
(transitions learned without the case study) per-step ranking follows the incidents more closely
(bench/RESULTS.md). ``rank="probability"`` gives the product ranking.

About a fifth of consecutive case-study steps go *backward* in the matrix's tactic order (an
adversary stages an attack, then goes back to discovery), so no tactic order is imposed: the
order is whatever the case studies show, moves they show with one step between (which a system may
lack), and a small back-off for moves they never show.

>>> from advmatrix.kb import bundled
>>> from advmatrix.threatmodel.paths import TransitionModel, attack_paths
>>> model = TransitionModel.learn(bundled())
>>> 0 < model.backward_share < 1
True
>>> cs = bundled().case_study("AML.CS0000")
>>> [p.steps[-1].tactic for p in attack_paths(model, {s.technique for s in cs.procedure}, k=1)]
['AML.TA0011']
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Literal

from ..errors import UsageError
from ._search import Search, distance_to_goals
from ._transitions import ENTRY_TACTICS, GOAL_TACTICS, Edge, Path, Step, TransitionModel
from ._walk import Walk, topology, walker

if TYPE_CHECKING:
    from .predict import Prediction
    from .system import Component, System

__all__ = ["ENTRY_TACTICS", "GOAL_TACTICS", "MAX_GENERATED", "RANKS", "Edge", "Path", "PathSearch", "Step",
           "SystemSearch", "TransitionModel", "adversary_entries", "attack_paths", "find_paths", "goal_ends",
           "near_duplicate", "search_system", "system_paths", "topology_links", "walkable", "walker"]

MAX_GENERATED = 200_000
"""Partial paths a search may put on its queue before it stops with what it has found."""
#: Candidates drawn per path asked for, so that near-duplicates can be skipped (``distinct``).
POOL = 4
Rank = Literal["per-step", "probability"]
#: Whether a move from one technique to the next is possible on the system (see :func:`topology_links`).
Linked = Callable[[str, str], bool]
#: Whether a whole path can be walked on the system (see :func:`walkable`).
Accept = Callable[[tuple[str, ...]], bool]
RANKS: tuple[str, ...] = ("per-step", "probability")
"""How paths are ordered: the geometric mean of their transition probabilities, or their product."""


@dataclass(frozen=True)
class PathSearch:
    """What one search found, and what it cost: ``expanded`` partial paths taken off the queue,
    ``generated`` put on it; ``truncated`` when it ran out of its budget (``max_generated``). Ranked by
    probability, the paths found until then are still the best, in order, but there may be fewer than
    asked. Ranked per step, each length has its share of the budget, so a length cut short may miss
    paths that would have ranked among those returned."""

    paths: list[Path]
    expanded: int
    generated: int
    truncated: bool = False


def attack_paths(model: TransitionModel, techniques: set[str], entries: set[str] | None = None,
                 goals: set[str] | None = None, k: int = 5, max_len: int = 8, rank: Rank = "per-step",
                 distinct: bool = True, linked: Linked | None = None,
                 accept: Accept | None = None) -> list[Path]:
    """The ``k`` likeliest attack paths over ``techniques``, best first; ``[]`` when none exists.

    A path starts at an entry technique (default: the predicted techniques under
    :data:`ENTRY_TACTICS`), ends at a goal (default: those under :data:`GOAL_TACTICS`), visits
    each technique at most once and has at least two and at most ``max_len`` steps. ``rank``:
    ``per-step`` (default) orders by the geometric mean of the transition probabilities,
    ``probability`` by their product (which favours the shortest paths). With ``distinct`` (default) a
    path one step away from a better one (a step inserted, removed or replaced, or two neighbouring
    steps exchanged) is left out, so the list shows different chains. Entries and goals given must be
    among ``techniques``. With ``linked`` a move from one technique to another is taken only where it
    says the two can follow each other (see :func:`topology_links`), and with ``accept`` only a path it
    accepts as a whole is kept (see :func:`walkable`).
    """
    return find_paths(model, techniques, entries, goals, k=k, max_len=max_len, rank=rank, distinct=distinct,
                      linked=linked, accept=accept).paths


def find_paths(model: TransitionModel, techniques: set[str], entries: set[str] | None = None,
               goals: set[str] | None = None, *, k: int = 5, max_len: int = 8, rank: Rank = "per-step",
               distinct: bool = True, max_generated: int = MAX_GENERATED, linked: Linked | None = None,
               accept: Accept | None = None) -> PathSearch:
    """:func:`attack_paths` with the search's cost reported beside the paths."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (k, max_len)) or k < 1 or max_len < 2:
        raise UsageError(f"attack paths need whole numbers k >= 1 and max_len >= 2 (got k={k!r}, max_len={max_len!r})")
    if not isinstance(max_generated, int) or isinstance(max_generated, bool) or max_generated < 1:
        raise UsageError(f"attack paths need a whole number max_generated >= 1 (got {max_generated!r})")
    if rank not in RANKS:
        raise UsageError(f"attack paths are ranked {' or '.join(RANKS)} (got '{rank}')")
    matrix = model.matrix
    nodes = sorted({matrix.technique(t).id for t in techniques})  # unknown IDs: UnknownObjectError
    entry_ids = _endpoints(model, nodes, entries, ENTRY_TACTICS, "entry")
    goal_ids = _endpoints(model, nodes, goals, GOAL_TACTICS, "goal")
    if not entry_ids or not goal_ids:
        return PathSearch([], 0, 0)

    # -log p turns the best product of probabilities into the shortest sum of weights.
    members = set(nodes)
    succ = {a: [(b, -math.log(p)) for b, p in model.probabilities.get(a, {}).items()
                if b in members and b != a and (linked is None or linked(a, b))]
            for a in nodes}
    h, hops = distance_to_goals(succ, goal_ids)
    search = Search(succ, h, hops, goal_ids, sorted(entry_ids), max_generated)
    # Variants of one chain (a step more, less or swapped) would fill the list with one idea, so more
    # candidates are drawn than asked for and a path within one such edit of a better one is skipped.
    pool = k * POOL if distinct else k
    if rank == "probability":
        found = search.best(pool, max_len, exact=False)
    else:
        # Among paths of one length the per-step order is the product's, so the best per step are
        # among the best of each length: search each length, then merge by cost per move.
        found = []
        for length in range(2, max_len + 1):
            # Each length gets its share of what is left of the budget: spent in order, the short
            # lengths could leave nothing for the long ones, whose paths often rank best per step.
            search.limit = search.generated + (max_generated - search.generated) // (max_len + 1 - length)
            found += search.best(pool, length, exact=True)
        found.sort(key=lambda cp: (cp[0] / (len(cp[1]) - 1), cp[1]))
    kept: list[tuple[str, ...]] = []
    for _, ids in found:
        if len(kept) == k:
            break
        if accept is not None and not accept(ids):
            continue
        if not (distinct and any(near_duplicate(ids, other) for other in kept)):
            kept.append(ids)
    return PathSearch([_build(model, p, rank) for p in kept], search.expanded, search.generated, search.truncated)


def topology_links(system: System, prediction: Prediction) -> Linked:
    """The moves a system allows: one technique can follow another where they are found on the same
    component, on two a flow or a tool list joins, or where either is the adversary's own (the adversary
    meets the whole system). A learned move between techniques found on unconnected parts of the system
    (the weights of one model, then the theft of another's) is no path an attacker can walk."""
    near, adversaries, on = topology(system, prediction)

    def linked(a: str, b: str) -> bool:
        ca, cb = on.get(a, set()), on.get(b, set())
        return bool(ca & adversaries or cb & adversaries) or any(near[x] & cb for x in ca)
    return linked


def walkable(system: System, prediction: Prediction, reach: frozenset[str] | None = None,
             adversary: Component | None = None) -> Accept:
    """Whether a path can be walked on the system as a whole (see :func:`walker`)."""
    return _accepting(walker(system, prediction, reach, adversary))




def adversary_entries(system: System, prediction: Prediction, model: TransitionModel,
                      adversary: Component | None = None) -> set[str] | None:
    """The predicted entry techniques an attack path may start with, given who attacks: those found on an
    adversary or on a component within its access (:func:`._reach.adversary_reach`); ``None`` (every entry
    technique) when the description does not say what its adversaries can reach. A technique that takes
    one kind of access (:data:`._reach.NEEDS`: supply chain, accounts, the scene, a page) needs it too.
    With ``adversary``, that adversary's alone."""
    from ._reach import adversary_access, adversary_reach, can_take

    reach = adversary_reach(system, adversary)
    if reach is None:
        return None
    access = adversary_access(system, adversary)
    others = set() if adversary is None else {a.id for a in system.of_kind("adversary")} - {adversary.id}
    out = set()
    for t in prediction.technique_ids:
        if not any(ta.id in ENTRY_TACTICS for ta in model.matrix.tactics_of(t)):
            continue
        mine = {c for c in reach.intersection(prediction.components_for(t)) - others
                if adversary is None or prediction.open_to(t, c, adversary.id)}
        if mine and can_take(system, t, mine, access, reach):
            out.add(t)
    return out


RETRY_K = 40  #: how many paths an adversary's search asks for before saying it found none


def goal_ends(system: System, prediction: Prediction, model: TransitionModel,
              adversary: Component | None) -> set[str] | None:
    """The predicted goal techniques that serve ``adversary``'s goals (:data:`._reach.GOAL_ENDS`);
    ``None`` (every goal technique) when it states none or none of them is predicted."""
    from ._reach import goal_serves

    goals = () if adversary is None else adversary.get("goals") or ()
    ends = {t for t in prediction.technique_ids if goal_serves(t, goals)
            and any(ta.id in GOAL_TACTICS for ta in model.matrix.tactics_of(t))}
    return ends or None


def _accepting(walk: Walk) -> Accept:
    return lambda ids: walk(ids) is not None


@dataclass(frozen=True)
class SystemSearch:
    """The attack paths of a system (see :func:`search_system`) and, per adversary, the goals it states that
    no path found for it ends in (``unreached``; adversaries reaching all theirs are absent)."""

    paths: list[Path]
    unreached: dict[str, tuple[str, ...]]


def system_paths(system: System, prediction: Prediction, model: TransitionModel, *, k: int = 5,
                 rank: Rank = "per-step", distinct: bool = True) -> list[Path]:
    """The ``k`` likeliest attack paths of a system, best first, as the reports draw them (see
    :func:`search_system`)."""
    return search_system(system, prediction, model, k=k, rank=rank, distinct=distinct).paths


def search_system(system: System, prediction: Prediction, model: TransitionModel, *, k: int = 5,
                  rank: Rank = "per-step", distinct: bool = True) -> SystemSearch:
    """The ``k`` likeliest attack paths of a system, best first, as the reports draw them: each walked by
    one of its adversaries (or by anyone, when it describes none) from what that adversary reaches to a
    goal it states (see :func:`walker`, :func:`adversary_entries`, :func:`goal_ends`), through the
    likely techniques first and through every finding where those give fewer than ``k``. Each path
    names its adversary and, per step, the components it is taken on. Each goal an adversary states is
    searched for on its own where their likeliest paths all serve another; the list holds each adversary's
    best path, then each of their goals' best, then the rest by score, as far as ``k`` allows."""
    from ._reach import goal_serves, got_past

    linked = topology_links(system, prediction)
    # a hedge ("where that moves money") waits on a field left open: no path ends in it while another can
    hedged = prediction.hedged_ids
    every = set(prediction.technique_ids) - hedged
    # each adversary's own short list (another's wishes do not make a step likely for them)
    likely_of = {a and a.id: set(prediction.likely_for(a and a.id)) - hedged
                 for a in (system.of_kind("adversary") or (None,))}
    adversaries = system.of_kind("adversary") or (None,)
    # keyed by id: components hold dicts, so they do not hash
    walks = {a and a.id: walker(system, prediction, None, a) for a in adversaries}
    entries = {a and a.id: adversary_entries(system, prediction, model, a) for a in adversaries}
    ends = {a and a.id: goal_ends(system, prediction, model, a) for a in adversaries}

    def stopped(ids: tuple[str, ...], on: tuple[tuple[str, ...], ...]) -> bool:  # a held control stops a step
        return any(prediction.stopped(t, cs, got_past(ids[:i])) for i, (t, cs) in enumerate(zip(ids, on, strict=True)))

    def search(who: str | None, goals: set[str] | None, k: int = k) -> list[Path]:
        mine: list[Path] = []
        walk, first = walks[who], entries[who]
        # Paths through the likely techniques first: a chain of long shots is not the likeliest attack
        # even when its transitions are common. (Not only open ones: incidents pass controls in place, and
        # the case studies' paths agree less with a search that avoids them; they are listed after, marked.)
        for pool in (likely_of[who], every):
            wanted = None if goals is None else goals & pool
            if len(mine) >= k or wanted == set():
                continue
            for p in attack_paths(model, pool, None if first is None else first & pool, wanted, k=k, rank=rank,
                                  distinct=distinct, linked=linked, accept=_accepting(walk)):
                if len(mine) < k and not (distinct and any(near_duplicate(p.techniques, q.techniques) for q in mine)):
                    mine.append(dataclasses.replace(p, adversary=who, on=walk(p.techniques)))
        return mine

    def search_some(who: str | None, goals: set[str] | None) -> list[Path]:
        # the best few may all fail the walk on this system: look further before saying there is no path
        return search(who, goals) or search(who, goals, RETRY_K)[:1]

    found = [p for who in walks for p in search_some(who, ends[who])]
    if not found and hedged:
        likely_of = {who: pool | (hedged & set(prediction.likely_for(who))) for who, pool in likely_of.items()}
        every = every | hedged
        found = [p for who in walks for p in search(who, ends[who])]
    if not found and any(e is not None for e in ends.values()):
        # no learned move leads to a goal any adversary states: their ways in to any goal, rather than none
        found = [p for who, e in ends.items() if e is not None for p in search(who, None)]

    stated = {a.id: tuple(a.get("goals") or ()) for a in system.of_kind("adversary")}

    def serving(who: str | None, goal: str) -> list[Path]:
        return [p for p in found if p.adversary == who and goal_serves(p.techniques[-1], (goal,))]

    # a goal none of their likeliest paths ends in gets a search of its own: a caller after both the data and
    # the model was shown five ways to the model, and the way to the data, found for them alone, went unsaid
    for who, goals in stated.items():
        for goal in goals:
            wanted = {t for t in ends[who] or () if goal_serves(t, (goal,))}
            if wanted and not serving(who, goal):
                found += search_some(who, wanted)

    def order(p: Path) -> tuple[bool, float]:  # open paths first, then by score
        return stopped(p.techniques, p.on or tuple(prediction.components_for(t) for t in p.techniques)), -p.score

    found.sort(key=order)  # stable: an adversary listed first wins a tie
    # each adversary's best path first, then the best to each goal they state, then the rest by score: one
    # adversary's many strong variants must not hide the insider the description also names, nor one goal
    # another
    firsts = list({p.adversary: p for p in reversed(found)}.values())
    firsts.sort(key=order)
    per_goal = sorted({id(p): p for who, goals in stated.items() for g in goals for p in serving(who, g)[:1]
                       if p not in firsts}.values(), key=order)
    # those stay even when another walks the same chain (two threats, or two goals, not one); the rest must
    # differ from every path kept, or one chain would fill the list once per adversary
    kept: list[Path] = (firsts + per_goal)[:k]
    for p in found:
        if len(kept) < k and p not in kept and not (
                distinct and any(near_duplicate(p.techniques, q.techniques) for q in kept)):
            kept.append(p)
    kept.sort(key=order)
    unreached = {who: missing for who, goals in stated.items()
                 if (missing := tuple(g for g in goals if not serving(who, g)))}
    return SystemSearch(kept, unreached)




def near_duplicate(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether one step inserted, removed or replaced, or two neighbouring steps exchanged, turns ``a``
    into ``b``."""
    if len(a) == len(b):
        differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(differ) <= 1 or (len(differ) == 2 and differ[1] == differ[0] + 1
                                    and a[differ[0]] == b[differ[1]] and a[differ[1]] == b[differ[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    if len(long_) - len(short) != 1:
        return False
    i = next((i for i, (x, y) in enumerate(zip(short, long_, strict=False)) if x != y), len(short))
    return short[i:] == long_[i + 1:]


def _endpoints(model: TransitionModel, nodes: list[str], given: set[str] | None,
               tactics: tuple[str, ...], role: str) -> set[str]:
    if given is None:
        return {t for t in nodes if any(ta.id in tactics for ta in model.matrix.tactics_of(t))}
    chosen = {model.matrix.technique(t).id for t in given}
    outside = sorted(chosen.difference(nodes))
    if outside:
        raise UsageError(f"{role} technique {outside[0]} is not among the predicted techniques")
    return chosen


def _build(model: TransitionModel, ids: tuple[str, ...], rank: Rank) -> Path:
    steps = [model.step(t) for t in ids[1:-1]]
    steps.insert(0, model.step(ids[0], ENTRY_TACTICS))
    steps.append(model.step(ids[-1], GOAL_TACTICS))
    edges = tuple(e for a, b in pairwise(ids) if (e := model.edge(a, b)) is not None)
    probability = math.prod(e.probability for e in edges)
    score = probability if rank == "probability" else probability ** (1 / len(edges))
    return Path(tuple(steps), edges, score, probability)
