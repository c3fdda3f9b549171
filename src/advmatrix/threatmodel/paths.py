"""Attack paths: the likeliest chains of predicted techniques, learned from the case studies.

Each ATLAS case study tells an incident as an ordered list of techniques. Counting which
technique follows which gives transition probabilities; an attack path is a chain of predicted
techniques from an entry point (reconnaissance, resource development, initial access, AI model
access) to a goal (impact, exfiltration), scored by the product of its transition probabilities.

About a fifth of consecutive case-study steps go *backward* in the matrix's tactic order (an
adversary stages an attack, then goes back to discovery), so no tactic order is imposed: the
order is whatever the case studies show, plus a small back-off for moves they never show.

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

import heapq
import math
from dataclasses import dataclass
from itertools import pairwise

from ..errors import UsageError
from ._transitions import ENTRY_TACTICS, GOAL_TACTICS, Edge, Path, Step, TransitionModel

__all__ = ["ENTRY_TACTICS", "GOAL_TACTICS", "MAX_GENERATED", "Edge", "Path", "PathSearch", "Step",
           "TransitionModel", "attack_paths", "find_paths"]

MAX_GENERATED = 200_000
"""Partial paths a search may put on its queue before it stops with what it has found."""


@dataclass(frozen=True)
class PathSearch:
    """What one search found, and what it cost: ``expanded`` partial paths taken off the queue,
    ``generated`` put on it; ``truncated`` when it stopped at :data:`MAX_GENERATED` (the paths
    found until then are still the best, in order, but there may be fewer than asked)."""

    paths: list[Path]
    expanded: int
    generated: int
    truncated: bool = False


def attack_paths(model: TransitionModel, techniques: set[str], entries: set[str] | None = None,
                 goals: set[str] | None = None, k: int = 5, max_len: int = 8) -> list[Path]:
    """The ``k`` likeliest attack paths over ``techniques``, best first; ``[]`` when none exists.

    A path starts at an entry technique (default: the predicted techniques under
    :data:`ENTRY_TACTICS`), ends at a goal (default: those under :data:`GOAL_TACTICS`), visits
    each technique at most once, has at least two and at most ``max_len`` steps, and is scored by
    the product of its transition probabilities. Entries and goals given must be among
    ``techniques``.
    """
    return find_paths(model, techniques, entries, goals, k=k, max_len=max_len).paths


def find_paths(model: TransitionModel, techniques: set[str], entries: set[str] | None = None,
               goals: set[str] | None = None, *, k: int = 5, max_len: int = 8,
               max_generated: int = MAX_GENERATED) -> PathSearch:
    """:func:`attack_paths` with the search's cost reported beside the paths."""
    if k < 1 or max_len < 2:
        raise UsageError(f"attack paths need k >= 1 and max_len >= 2 (got k={k}, max_len={max_len})")
    matrix = model.matrix
    nodes = sorted({matrix.technique(t).id for t in techniques})  # unknown IDs: UnknownObjectError
    entry_ids = _endpoints(model, nodes, entries, ENTRY_TACTICS, "entry")
    goal_ids = _endpoints(model, nodes, goals, GOAL_TACTICS, "goal")
    if not entry_ids or not goal_ids:
        return PathSearch([], 0, 0)

    # -log p turns the best product of probabilities into the shortest sum of weights.
    members = set(nodes)
    succ = {a: [(b, -math.log(p)) for b, p in model.probabilities.get(a, {}).items() if b in members and b != a]
            for a in nodes}
    h, hops = _distance_to_goals(succ, goal_ids)

    # A best-first search over simple partial paths, ordered by cost so far plus the exact
    # distance to the nearest goal (Dijkstra on the reversed graph, which ignores the no-revisit
    # and length limits and so never overestimates): paths come off the queue in order of their
    # final score, so the first k complete ones are the k best, and partial paths that cannot beat
    # them are never expanded. Yen's algorithm (or networkx's shortest_simple_paths, which is not
    # a dependency) does not honour a bound on the number of steps; this does, by pruning any
    # partial path that cannot reach a goal within max_len steps.
    queue: list[tuple[float, float, tuple[str, ...]]] = []
    for e in sorted(entry_ids):
        if e in h and hops[e] + 1 <= max_len:
            queue.append((h[e], 0.0, (e,)))
    heapq.heapify(queue)
    found: list[tuple[float, tuple[str, ...]]] = []
    expanded, generated, truncated = 0, len(queue), False
    while queue and len(found) < k:
        _, cost, path = heapq.heappop(queue)
        expanded += 1
        last = path[-1]
        if last in goal_ids and len(path) >= 2:
            found.append((cost, path))
        if len(path) == max_len:
            continue
        for b, w in succ[last]:
            if b in path or b not in h or len(path) + 1 + hops[b] > max_len:
                continue
            if generated >= max_generated:
                truncated = True
                break
            generated += 1
            heapq.heappush(queue, (cost + w + h[b], cost + w, (*path, b)))
        if truncated:
            break
    return PathSearch([_build(model, p) for _, p in found], expanded, generated, truncated)


def _endpoints(model: TransitionModel, nodes: list[str], given: set[str] | None,
               tactics: tuple[str, ...], role: str) -> set[str]:
    if given is None:
        return {t for t in nodes if any(ta.id in tactics for ta in model.matrix.tactics_of(t))}
    chosen = {model.matrix.technique(t).id for t in given}
    outside = sorted(chosen.difference(nodes))
    if outside:
        raise UsageError(f"{role} technique {outside[0]} is not among the predicted techniques")
    return chosen


def _distance_to_goals(succ: dict[str, list[tuple[str, float]]],
                       goals: set[str]) -> tuple[dict[str, float], dict[str, int]]:
    """Least weight and least number of moves from each node to any goal (absent: unreachable)."""
    pred: dict[str, list[tuple[str, float]]] = {a: [] for a in succ}
    for a, out in succ.items():
        for b, w in out:
            pred[b].append((a, w))
    dist = {g: 0.0 for g in goals}
    queue = [(0.0, g) for g in sorted(goals)]
    done: set[str] = set()
    while queue:
        d, v = heapq.heappop(queue)
        if v in done:
            continue
        done.add(v)
        for u, w in pred[v]:
            if d + w < dist.get(u, math.inf):
                dist[u] = d + w
                heapq.heappush(queue, (d + w, u))
    hops = dict.fromkeys(goals, 0)
    frontier = sorted(goals)
    while frontier:
        nxt = []
        for v in frontier:
            for u, _ in pred[v]:
                if u not in hops:
                    hops[u] = hops[v] + 1
                    nxt.append(u)
        frontier = nxt
    return dist, hops


def _build(model: TransitionModel, ids: tuple[str, ...]) -> Path:
    steps = [model.step(t) for t in ids[1:-1]]
    steps.insert(0, model.step(ids[0], ENTRY_TACTICS))
    steps.append(model.step(ids[-1], GOAL_TACTICS))
    edges = tuple(e for a, b in pairwise(ids) if (e := model.edge(a, b)) is not None)
    return Path(tuple(steps), edges, math.prod(e.probability for e in edges))
