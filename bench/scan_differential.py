"""Differential benchmark of the pickle analyser against the real loaders.

Draws N artifacts from the grammar in tests/scan/_differential.py, loads each with its real
loader in a subprocess (payloads only create marker files) and scans it; prints, per container
format, how many were tried, how many the loader reached, and how many of those the scanner
left below HIGH, as JSON, with the specs of the misses.

Usage: python bench/scan_differential.py [N] [--seed S]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hyp_seed

from tests.scan._differential import CONTAINERS, known_gap, run_cases, specs


def draw(n: int, seed: int) -> list:
    """``n`` specs drawn by hypothesis (generation only: this is a survey, not a search)."""
    out: list = []

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate], derandomize=seed == 0,
              suppress_health_check=list(HealthCheck))
    @given(specs())
    def collect(spec) -> None:
        out.append(spec)

    if seed:
        collect = hyp_seed(seed)(collect)
    collect()
    return out[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=300)
    parser.add_argument("--seed", type=int, default=0, help="0: derandomized (reproducible)")
    parser.add_argument("--batch", type=int, default=50)
    ns = parser.parse_args()
    spec_list = draw(ns.n, ns.seed)
    tried, reached, missed = Counter(), Counter(), Counter()
    misses = []
    for i in range(0, len(spec_list), ns.batch):
        for case in run_cases(spec_list[i:i + ns.batch]):
            fmt = case.spec.container
            tried[fmt] += 1
            reached[fmt] += case.reached
            if case.missed:
                missed[fmt] += 1
                misses.append({**dataclasses.asdict(case.spec), "worst": case.worst and case.worst.name,
                               "known_gap": known_gap(case.spec)})
    formats = {f: {"tried": tried[f], "reached": reached[f], "reached_unreported": missed[f]} for f in CONTAINERS}
    total = {k: sum(v[k] for v in formats.values()) for k in ("tried", "reached", "reached_unreported")}
    print(json.dumps({"formats": formats, "total": total, "misses": misses}, indent=2))


if __name__ == "__main__":
    main()
