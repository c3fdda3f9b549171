"""The best-first search over simple attack paths and the distances it is guided by (graph work alone:
weights in, technique ids out), for :mod:`advmatrix.threatmodel.paths`."""

from __future__ import annotations

import heapq
import math

__all__ = ["Search", "distance_to_goals"]


class Search:
    """A best-first search over simple partial paths, ordered by cost so far plus the exact distance
    to the nearest goal (Dijkstra on the reversed graph, which ignores the no-revisit and length
    limits and so never overestimates): paths come off the queue in order of their final cost, so
    the first k complete ones are the k best, and partial paths that cannot beat them are never
    expanded. Yen's algorithm (or networkx's shortest_simple_paths, which is not a dependency) does
    not honour a bound on the number of steps; this does, by pruning any partial path that cannot
    reach a goal within it. Counts and the generation budget are shared by every call."""

    def __init__(self, succ: dict[str, list[tuple[str, float]]], h: dict[str, float], hops: dict[str, int],
                 goals: set[str], entries: list[str], max_generated: int) -> None:
        self.succ, self.h, self.hops, self.goals, self.entries = succ, h, hops, goals, entries
        self.max_generated = self.limit = max_generated
        self.expanded = self.generated = 0
        self.truncated = False
        self._tables: list[dict[str, float]] = [dict.fromkeys(goals, 0.0)]

    def best(self, k: int, max_len: int, *, exact: bool) -> list[tuple[float, tuple[str, ...]]]:
        """The ``k`` cheapest paths of 2 to ``max_len`` steps (exactly ``max_len`` when ``exact``)."""
        if exact:
            # The least cost of a walk of exactly r more moves to a goal: a far tighter bound than the
            # distance to the nearest goal when the length is fixed, and still never an overestimate.
            ahead = self._exactly(max_len - 1)

            def bound(node: str, steps: int) -> float | None:
                return ahead[max_len - steps].get(node)
        else:
            def bound(node: str, steps: int) -> float | None:
                return self.h.get(node) if steps + self.hops.get(node, max_len) <= max_len else None
        queue = [(b, 0.0, (e,)) for e in self.entries if (b := bound(e, 1)) is not None]
        heapq.heapify(queue)
        self.generated += len(queue)
        found: list[tuple[float, tuple[str, ...]]] = []
        while queue and len(found) < k:
            _, cost, path = heapq.heappop(queue)
            self.expanded += 1
            last = path[-1]
            if last in self.goals and len(path) >= 2 and (not exact or len(path) == max_len):
                found.append((cost, path))
            if len(path) == max_len:
                continue
            for nxt, w in self.succ[last]:
                if nxt in path or (rest := bound(nxt, len(path) + 1)) is None:
                    continue
                if self.generated >= self.limit:
                    self.truncated = True
                    return found
                self.generated += 1
                heapq.heappush(queue, (cost + w + rest, cost + w, (*path, nxt)))
        return found

    def _exactly(self, moves: int) -> list[dict[str, float]]:
        """For r = 0..``moves``, the least cost of a walk of exactly r moves from each node to a goal
        (walks may revisit, so this bounds the simple paths from below); memoised across lengths."""
        tables = self._tables
        while len(tables) <= moves:
            prev, cur = tables[-1], {}
            for a, out in self.succ.items():
                costs = [w + prev[b] for b, w in out if b in prev]
                if costs:
                    cur[a] = min(costs)
            tables.append(cur)
        return tables


def distance_to_goals(succ: dict[str, list[tuple[str, float]]],
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
