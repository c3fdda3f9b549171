"""Transition statistics the attack paths learn from the case studies (issue: threat modelling,
item 4), for bench/RESULTS.md.

Prints how many consecutive case-study steps there are, the share that goes backward in the
matrix's tactic order (each step's own tactic), the most frequent transitions with their case
studies, the commonest backward tactic moves, and the search cost over every technique.

``--agreement even|odd`` measures instead how well the top 5 paths follow the incidents, for the
default ranking (per step, near-duplicates skipped), per step with near-duplicates kept, and by
probability (the product, as before the twelfth session): for each case study of the half, transitions are learned from
the other 56 and paths are searched over (a) the techniques it used and (b) the likely techniques
its blind system description predicts. Reported: mean path length, the share of path edges whose
two techniques the incident used in that order, the share it used back to back, and the share of
its techniques the five paths cover.

Usage: python bench/threatmodel_paths.py [--top 15] [--json]
       python bench/threatmodel_paths.py --agreement even|odd
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

from advmatrix.kb import bundled
from advmatrix.threatmodel import load_system, predict
from advmatrix.threatmodel.paths import (
    TransitionModel,
    attack_paths,
    find_paths,
    system_paths,
    topology_links,
    walkable,
)

SYSTEMS = Path(__file__).parent / "data" / "case_study_systems"
#: (rank, distinct): the default, the default without the near-duplicate filter, the old product ranking.
VARIANTS = (("per-step", True), ("per-step", False), ("probability", False))


def agreement(half: str) -> None:
    """Print how closely the top paths of each ranking follow the incidents of ``half``."""
    matrix = bundled()
    totals: dict[tuple[str, str], Counter[str]] = {}
    for cs in matrix.case_studies:
        if (int(cs.id.split("CS")[1]) % 2 == 0) != (half == "even"):
            continue
        # Learned without the case study, so a path cannot simply replay it.
        model = TransitionModel.learn(dataclasses.replace(
            matrix, case_studies=tuple(c for c in matrix.case_studies if c.id != cs.id)))
        seq = [s.technique for s in cs.procedure]
        first = {t: seq.index(t) for t in seq}
        last = {t: i for i, t in enumerate(seq)}
        back_to_back = set(pairwise(seq))
        system = load_system(SYSTEMS / f"{cs.id}.yaml")
        prediction = predict(system)
        likely = set(prediction.likely_technique_ids)
        # along the flows: moves only between techniques on joined parts of the system
        links, accept = topology_links(system, prediction), walkable(system, prediction)
        for over, techniques in (("used", set(seq)), ("predicted", likely)):
            variants = [(r, d, None) for r, d in VARIANTS]
            if over == "predicted":
                variants += [("per-step", True, links), ("per-step", True, "report")]
            for rank, distinct, linked in variants:
                if linked == "report":
                    # as the report draws them (sixteenth session): each path one adversary's, from their
                    # access, taking accounts or a foothold only once given, to a goal they state
                    paths = system_paths(system, prediction, model, k=5)
                else:
                    paths = attack_paths(model, techniques, None, k=5, rank=rank, distinct=distinct, linked=linked,
                                         accept=accept if linked else None)
                if not paths:
                    continue
                label = (f"{rank}{'' if distinct else ', near-duplicates kept'}"
                         f"{', along the flows' if linked == links else ''}"
                         f"{', as the report (per adversary)' if linked == 'report' else ''}")
                t = totals.setdefault((over, label), Counter())
                t["systems"] += 1
                t["paths"] += len(paths)
                covered: set[str] = set()
                for p in paths:
                    t["steps"] += len(p.steps)
                    covered.update(p.techniques)
                    for a, b in pairwise(p.techniques):
                        t["edges"] += 1
                        t["in_order"] += a in first and b in last and first[a] < last[b]
                        t["back_to_back"] += (a, b) in back_to_back
                t["coverage"] += len(covered & set(seq)) / len(set(seq))
    print(f"{half} half, top 5 paths, transitions learned leave-one-out")
    print("| paths over | ranking | systems | mean steps | edges in the incident's order | back to back | coverage |")
    print("|---|---|---|---|---|---|---|")
    for (over, rank), t in totals.items():
        print(f"| {over} | {rank} | {t['systems']} | {t['steps'] / t['paths']:.2f} | {t['in_order'] / t['edges']:.2f} "
              f"| {t['back_to_back'] / t['edges']:.2f} | {t['coverage'] / t['systems']:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--agreement", choices=("even", "odd"))
    args = parser.parse_args()
    if args.agreement:
        agreement(args.agreement)
        return

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
        print(f"  {p.score:.3f} per step  {' -> '.join(p.techniques)}")


if __name__ == "__main__":
    main()
