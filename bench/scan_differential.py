"""Differential benchmark of the scanner against the real loaders.

Draws N artifacts per format from the grammars in tests/scan/_differential.py (pickle
containers) and tests/scan/_differential_formats.py (npy, npz, joblib raw array buffers, torch
zip framing) and tests/scan/_differential_keras.py (Keras .keras v3 archives and legacy .h5,
loaded by keras.saving.load_model on the torch backend, safe mode off and on), loads each with
its real loader in a subprocess (payloads only create marker files)
and scans it; prints, per format, how many were generated, how many the loader reached, and how
many of those the scanner left below HIGH, as JSON, with the specs of the misses. safetensors
cannot run code, so it is surveyed the other way: real files must scan at LOW or below and
malformed headers must never crash the scanner.

Usage: python bench/scan_differential.py [N] [--seed S]
       [--format all|pickle|npy|npz|joblib|torch-framing|safetensors|keras]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hyp_seed

from advmatrix.scan import Severity, scan_bytes
from tests.scan import _differential as pickles
from tests.scan import _differential_formats as formats
from tests.scan import _differential_keras as keras_diff

FORMATS = ("pickle", *formats.FORMATS, "safetensors", "keras")


def draw(strategy, n: int, seed: int) -> list:
    """``n`` values drawn by hypothesis (generation only: this is a survey, not a search)."""
    out: list = []

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate], derandomize=seed == 0,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value) -> None:
        out.append(value)

    if seed:
        collect = hyp_seed(seed)(collect)
    collect()
    return out[:n]


def _spec_dict(spec) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(spec), default=repr))


def survey_loaded(fmt: str, n: int, seed: int, batch: int) -> tuple[dict, list]:
    """Generated / reached / reached-but-unreported counts for a format with a real loader."""
    if fmt == "pickle":
        spec_list, run = draw(pickles.specs(), n, seed), pickles.run_cases
    else:
        spec_list, run = draw(formats.STRATEGY[fmt](), n, seed), formats.run_cases
    counts, misses = Counter(), []
    for i in range(0, len(spec_list), batch):
        for case in run(spec_list[i:i + batch]):
            sub = case.spec.container if fmt == "pickle" else fmt
            counts[sub, "generated"] += 1
            counts[sub, "reached"] += case.reached
            if case.missed:
                counts[sub, "reached_unreported"] += 1
                misses.append({"format": sub, **_spec_dict(case.spec), "worst": case.worst and case.worst.name})
    subs = pickles.CONTAINERS if fmt == "pickle" else (fmt,)
    keys = ("generated", "reached", "reached_unreported")
    return {s: {k: counts[s, k] for k in keys} for s in subs}, misses


def survey_safetensors(n: int, seed: int) -> tuple[dict, list]:
    """Real files scanned above LOW, and malformed headers that crashed the scanner."""
    flagged, crashed, misses = 0, 0, []
    real = draw(formats.safets(), n, seed)
    for spec in real:
        worst = scan_bytes(spec.build(), "model.safetensors").worst()
        if worst is not None and worst > Severity.LOW:
            flagged += 1
            misses.append({"format": "safetensors", **_spec_dict(spec), "worst": worst.name})
    mutants = draw(formats.safetensors_mutants(), n, seed)
    for data in mutants:
        try:
            scan_bytes(data, "model.safetensors")
        except Exception:  # any exception is the finding here
            crashed += 1
            misses.append({"format": "safetensors-mutant", "data": data[:200].hex(),
                           "error": traceback.format_exc(limit=2)})
    return {"safetensors": {"generated_real": len(real), "real_above_low": flagged,
                            "generated_malformed": len(mutants), "malformed_crashed": crashed}}, misses


def survey_keras(n: int, seed: int, batch: int) -> tuple[dict, list]:
    """Per Keras format: generated, reached with safe mode off, reached with safe mode on, and
    reached but reported below HIGH (``n`` artifacts split between .keras and .h5)."""
    why = keras_diff.keras_available()
    if why is not None:
        return {"keras": {"skipped": why}}, []
    counts, misses = Counter(), []
    for strategy in (keras_diff.keras_v3(), keras_diff.keras_h5()):
        spec_list = draw(strategy, n // 2, seed)
        for i in range(0, len(spec_list), batch):
            for case in keras_diff.run_cases(spec_list[i:i + batch]):
                sub = case.fmt
                counts[sub, "generated"] += 1
                counts[sub, "reached"] += case.reached
                counts[sub, "reached_safe_mode"] += case.reached_safe
                if case.missed:
                    counts[sub, "reached_unreported"] += 1
                    misses.append({"format": sub, **_spec_dict(case.spec), "worst": case.worst and case.worst.name,
                                   "error": case.error})
    keys = ("generated", "reached", "reached_safe_mode", "reached_unreported")
    return {s: {k: counts[s, k] for k in keys} for s in ("keras-v3", "keras-h5")}, misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=300, help="artifacts per format")
    parser.add_argument("--seed", type=int, default=0, help="0: derandomized (reproducible)")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--format", choices=("all", *FORMATS), default="all")
    ns = parser.parse_args()
    chosen = FORMATS if ns.format == "all" else (ns.format,)
    results, misses = {}, []
    for fmt in chosen:
        if fmt == "keras":
            got, missed = survey_keras(ns.n, ns.seed, ns.batch)
        elif fmt == "safetensors":
            got, missed = survey_safetensors(ns.n, ns.seed)
        else:
            got, missed = survey_loaded(fmt, ns.n, ns.seed, ns.batch)
        results.update(got)
        misses += missed
    loaded = [v for v in results.values() if "reached" in v]
    total = {k: sum(v[k] for v in loaded) for k in ("generated", "reached", "reached_unreported")}
    print(json.dumps({"formats": results, "total": total, "misses": misses}, indent=2))


if __name__ == "__main__":
    main()
