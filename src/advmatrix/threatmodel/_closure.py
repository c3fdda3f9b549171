"""What a plain walk from every component reaches, all at once, as bit sets (bit ``i``: the component
at position ``i`` in the file).

A walk per component is quadratic on a long chain of flows (each of 5,000 components walks the
thousands before or after it, and each answer is a sorted tuple that long). Here the flows are
condensed into their strongly connected parts once, and each part's reach is the union of its
successors' (one big-integer OR per flow); a rule asking "is some matching component downstream" then
ANDs two integers, counts bits, and lists only the first few it names.

>>> reach_sets([[1], [2], []], [True, True, True])
[6, 4, 0]
>>> reach_sets([[1], [2], []], [True, False, True])  # the middle one receives but relays nothing
[2, 4, 0]
>>> members(0b10110), members(0b10110, 2)
([1, 2, 4], [1, 2])
"""

from __future__ import annotations

__all__ = ["members", "reach_sets"]


def reach_sets(succ: list[list[int]], relays: list[bool]) -> list[int]:
    """For each node ``v``, the nodes a walk from ``v`` reaches along ``succ``: a node that does not
    ``relay`` is reached but not walked on from, except as the start; ``v`` itself is in its set only
    when a loop brings the walk back to it."""
    n = len(succ)
    # ahead[v]: v and all a walk entering v goes on to. One strongly connected part shares it; Tarjan's
    # order finishes every part after the parts it leads to, so theirs are complete when it is summed.
    ahead = [0] * n
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    counter = 0
    for root in range(n):
        if index[root] != -1:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        work = [(root, 0)]
        while work:  # by hand, not recursion: a chain of 5,000 is deeper than Python's stack
            v, i = work[-1]
            nexts = succ[v] if relays[v] else ()
            if i < len(nexts):
                work[-1] = (v, i + 1)
                w = nexts[i]
                if index[w] == -1:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w]:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] != index[v]:
                continue
            part = []
            while True:
                w = stack.pop()
                on_stack[w] = False
                part.append(w)
                if w == v:
                    break
            bits = 0
            for w in part:
                bits |= 1 << w
            for w in part:
                if relays[w]:
                    for x in succ[w]:
                        bits |= ahead[x]  # 0 for the part's own members: their bits are in already
            for w in part:
                ahead[w] = bits
    # the start is walked on from even when it relays nothing (an outside party starts content)
    out = []
    for v in range(n):
        bits = 0
        for x in succ[v]:
            bits |= ahead[x]
        out.append(bits)
    return out


def members(bits: int, limit: int | None = None) -> list[int]:
    """The positions of the set bits, lowest first (the first ``limit`` of them)."""
    text = format(bits, "b")[::-1]
    out: list[int] = []
    i = text.find("1")
    while i != -1 and len(out) != limit:
        out.append(i)
        i = text.find("1", i + 1)
    return out
