"""Validate the threat rules on the ATLAS case studies: do they predict the techniques each used?

Each case study's target system is described blind (bench/threatmodel_blind.py) in
bench/data/case_study_systems/AML.CSxxxx.yaml. For one half (rules are tuned on the even-numbered
case studies and reported on the odd-numbered ones) this prints, macro-averaged over the case
studies (micro in brackets):

- recall, exact: the share of the techniques a case study used that the rules predict;
- recall, parent: the same with every sub-technique counted as its parent, on both sides;
- set size: how many techniques are predicted per system;

"Predicted" means the ``likely`` tier (``Prediction.likely_technique_ids``); a second row shows
every finding, both tiers, for comparison.
- precision: predicted techniques the case study used, a lower bound (unused is not impossible).

Baseline: the k most frequent techniques in the other case studies (leave-one-out). The pool is
the other case studies of the same half by default (so tuning never reads the report half);
``--pool all`` uses every other case study, as issue 16 states the baseline.

Usage: python bench/threatmodel_validate.py [even|odd] [--k 20] [--pool half|all] [--per-case] [--misses]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from advmatrix.kb import bundled
from advmatrix.threatmodel import load_system
from advmatrix.threatmodel.predict import predict

DATA = Path(__file__).parent / "data" / "case_study_systems"


def half(case_id: str) -> str:
    """'even' or 'odd' by the case study's number."""
    return "even" if int(case_id.split("CS")[1]) % 2 == 0 else "odd"


def parent(tid: str) -> str:
    """A sub-technique's parent ID; a top-level technique's own."""
    return tid.split(".")[0] + "." + tid.split(".")[1]


def scores(predicted: set[str], used: set[str]) -> tuple[int, int, int, int, int]:
    """(exact hits, parent hits, |used|, |used parents|, |predicted|)."""
    used_p = {parent(t) for t in used}
    return (len(predicted & used), len({parent(t) for t in predicted} & used_p), len(used), len(used_p),
            len(predicted))


def summarise(rows: list[tuple[int, int, int, int, int]]) -> dict[str, float]:
    """Macro and micro recall (exact, parent), average set size and precision over the rows."""
    n = len(rows) or 1
    return {
        "recall": sum(r[0] / r[2] for r in rows) / n,
        "recall_parent": sum(r[1] / r[3] for r in rows) / n,
        "recall_micro": sum(r[0] for r in rows) / max(1, sum(r[2] for r in rows)),
        "recall_parent_micro": sum(r[1] for r in rows) / max(1, sum(r[3] for r in rows)),
        "set_size": sum(r[4] for r in rows) / n,
        "precision": sum(r[0] / r[4] if r[4] else 0.0 for r in rows) / n,
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("half", choices=["even", "odd"])
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--pool", choices=["half", "all"], default="half")
    ap.add_argument("--per-case", action="store_true", help="one line per case study")
    ap.add_argument("--misses", action="store_true", help="count the used techniques the rules miss")
    args = ap.parse_args(argv)

    matrix = bundled()
    cases = sorted((c for c in matrix.case_studies if half(c.id) == args.half), key=lambda c: c.id)
    pool = [c for c in matrix.case_studies if args.pool == "all" or half(c.id) == args.half]
    used_by = {c.id: {s.technique for s in c.procedure} for c in pool}

    ours, every, base, missed, skipped = [], [], [], Counter(), []
    for case in cases:
        path = DATA / f"{case.id}.yaml"
        if not path.exists():
            skipped.append(case.id)
            continue
        used = used_by[case.id]
        prediction = predict(load_system(path))
        predicted = set(prediction.likely_technique_ids)
        every.append(scores(set(prediction.technique_ids), used))
        counts = Counter(t for cid, ts in used_by.items() if cid != case.id for t in ts)
        top = {t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: args.k]}
        ours.append(scores(predicted, used))
        base.append(scores(top, used))
        missed.update(used - predicted)
        if args.per_case:
            r = ours[-1]
            print(f"{case.id}  recall {r[0]}/{r[2]}  parent {r[1]}/{r[3]}  predicted {r[4]}")

    print(f"{args.half} half: {len(ours)} case studies described" + (f", missing {skipped}" if skipped else ""))
    print(f"{'':28}{'recall':>8}{'(micro)':>9}{'parent':>8}{'(micro)':>9}{'set size':>10}{'precision':>11}")
    for label, rows in ((f"baseline top-{args.k} ({args.pool})", base), ("rules, likely tier", ours),
                        ("rules, all tiers", every)):
        s = summarise(rows)
        print(f"{label:28}{s['recall']:8.2f}{s['recall_micro']:9.2f}{s['recall_parent']:8.2f}"
              f"{s['recall_parent_micro']:9.2f}{s['set_size']:10.1f}{s['precision']:11.2f}")
    if args.misses:
        for tid, n in missed.most_common():
            print(f"  missed {n}x {tid} {matrix.technique(tid).name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
