"""Attack classes outside the issue-14 corpus, on fresh sessions through the default detectors.

ART's SignOPT (label-only: sign estimates of the boundary's direction along random directions)
and ZOO (score-based: coordinate-wise finite differences, several coordinates per request; ``zoo``
steps by 0.2, ``zoo-default`` by ART's default 1e-4) were among the plain attacks the issue
measured first. They are not in ``robust_corpus.py``, whose
classes the detectors were tuned on, so this is a check on attacks nothing here was tuned for.
Each session attacks one test-half digit (one the victim gets right) from one key beside the corpus' background traffic,
exactly as ``robust_bench.py`` runs its attack sessions.

Usage: python bench/robust_spot.py [signopt,zoo,zoo-default] [sessions per attack, default 10] [--seed N] [--markdown]
"""

from __future__ import annotations

import json
import sys

import numpy as np
import robust_attacks as ra
import robust_bench as rb
from robust_corpus import SPLITS, _victim

ATTACKS = ("signopt", "zoo", "zoo-default")


def main(argv: list[str]) -> int:
    seed = 90_000
    if "--seed" in argv:
        at = argv.index("--seed") + 1
        try:
            seed = int(argv[at])
        except (IndexError, ValueError):
            raise SystemExit("robust_spot: --seed needs a whole number") from None
        argv = argv[:at - 1] + argv[at + 1:]
    args = [a for a in argv if not a.startswith("--")]
    names = args[0].split(",") if args else list(ATTACKS)
    unknown = sorted(set(names) - set(ATTACKS))
    if unknown:
        raise SystemExit(f"robust_spot: unknown attack {', '.join(unknown)} (known: {', '.join(ATTACKS)})")
    try:
        sessions = int(args[1]) if len(args) > 1 else 10
    except ValueError:
        raise SystemExit(f"robust_spot: sessions must be a whole number, not {args[1]!r}") from None
    if sessions < 1:
        raise SystemExit(f"robust_spot: sessions must be at least 1, not {sessions}")
    v, probs = _victim()
    # the test half's digits that the victim gets right, as robust_corpus picks them; seeds of
    # their own, so no session repeats a corpus one
    idx = v.test_idx[SPLITS["test"]::2]
    x, y = v.x[idx].astype(np.float32), v.y[idx]
    right = probs(x).argmax(1) == y
    x, y = x[right], y[right]
    h = rb.Harness(rb.DEFAULT)
    out = {}
    kept = []  # the harness memoises the victim's replies by request array: keep every array alive
    for name in names:
        results = []
        for s in range(sessions):
            kept.append(ra.evasion(name, probs, x, y, seed + s))
            results.append(rb.run_attack(h, kept[-1], {}))
            print(f"{name} {s + 1}/{sessions}: {results[-1]}", file=sys.stderr, flush=True)
        out[name] = rb.summarise_attacks(results)
    if "--markdown" in argv:
        print("| attack | sessions | detected within 100 queries | median queries to first alert "
              "| detected before success (of those that succeeded) | first detector |")
        print("|---|---|---|---|---|---|")
        for name, r in out.items():
            first = ", ".join(f"{d} {n}" for d, n in r["detectors"].items()) or "–"
            before = "–" if r["detected_before_success"] is None else f"{r['detected_before_success']:.0%}"
            print(f"| {name} | {r['sessions']} | {r['within_100']:.0%} | {r['median_queries_to_alert'] or '–'} | "
                  f"{before} (of {r['succeeded']}) | {first} |")
    else:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
