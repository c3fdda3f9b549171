"""Transition statistics the attack paths learn from the case studies (issue: threat modelling,
item 4), for bench/RESULTS.md.

Prints how many consecutive case-study steps there are, the share that goes backward in the
matrix's tactic order (each step's own tactic), the most frequent transitions with their case
studies, the commonest backward tactic moves, and the search cost over every technique.

Usage: python bench/threatmodel_paths.py [--top 15] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from itertools import pairwise

from advmatrix.kb import bundled
from advmatrix.threatmodel.paths import TransitionModel, find_paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    matrix = bundled()
    t0 = time.perf_counter()
    model = TransitionModel.learn(matrix)
    learn_s = time.perf_counter() - t0
    order = {t.id: i for i, t in enumerate(matrix.tactics)}
    names = {t.id: t.name for t in matrix.tactics}
    backward_moves = Counter((a.tactic, b.tactic) for cs in matrix.case_studies
                             for a, b in pairwise(cs.procedure) if order[b.tactic] < order[a.tactic])
    everything = {t.id for t in matrix.techniques}
    t0 = time.perf_counter()
    search = find_paths(model, everything, k=5)
    search_s = time.perf_counter() - t0
    top = sorted(model.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:args.top]

    summary = model.summary() | {"atlas_version": matrix.version, "learn_s": learn_s,
                                 "full_set_search": {"k": 5, "expanded": search.expanded,
                                                     "generated": search.generated, "seconds": search_s}}
    if args.json:
        summary["top_transitions"] = [{"from": a, "to": b, "count": n, "case_studies": list(model.support[a, b])}
                                      for (a, b), n in top]
        print(json.dumps(summary, indent=2))
        return
    print(f"ATLAS {matrix.version}: {summary['case_studies']} case studies, {summary['steps']} steps, "
          f"{model.pairs} consecutive pairs ({model.repeats} repeat the same technique)")
    print(f"backward in tactic order: {model.backward}/{model.pairs} = {model.backward_share:.1%}; "
          f"same tactic: {summary['same_tactic_share']:.1%}")
    print(f"distinct transitions: {summary['transitions']} technique-level, "
          f"{summary['parent_transitions']} parent-level; learned in {learn_s * 1000:.1f} ms")
    print("\ncommonest backward tactic moves:")
    for (a, b), n in backward_moves.most_common(5):
        print(f"  {n:3d}  {names[a]} -> {names[b]}")
    print(f"\ntop {len(top)} transitions (count, case studies):")
    for (a, b), n in top:
        ids = model.support[a, b]
        print(f"  {n:3d}  {a:14s} -> {b:14s} {', '.join(ids[:4])}{' ...' if len(ids) > 4 else ''}")
    print(f"\nall {len(everything)} techniques predicted, k=5: {search.expanded} expanded, "
          f"{search.generated} generated, {search_s * 1000:.1f} ms")
    for p in search.paths:
        print(f"  {p.score:.3f}  {' -> '.join(p.techniques)}")


if __name__ == "__main__":
    main()
