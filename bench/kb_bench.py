"""Knowledge-base benchmarks (issue: foundation and knowledge base).

1. Cold ``advmatrix kb show AML.T0043``: wall time of the whole process, with the JSON cache warm
   and with it disabled.
2. Load + query of the STIX bundle that ``advmatrix kb export --format stix`` writes, ours
   against mitreattack-python's ``MitreAttackData`` on the same file. Each run is a fresh
   process (same process count for both); we report the time inside the process to load the
   file and answer three queries (technique by ATLAS ID, its sub-techniques, its mitigations),
   and the wall time of the whole process including imports.

Usage: python bench/kb_bench.py --theirs-python bench/.venv/bin/python [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OURS = """
import json, time
t0 = time.perf_counter()
from advmatrix.kb import stix
t1 = time.perf_counter()
m = stix.load({path!r})
t = m.technique("AML.T0043")
subs = m.subtechniques_of(t.id)
mits = m.mitigations_of(t.id)
t2 = time.perf_counter()
assert t.name == "Craft Adversarial Data" and len(subs) == 5 and len(mits) == 8
print(json.dumps({{"import": t1 - t0, "load_query": t2 - t1}}))
"""

THEIRS = """
import json, time
t0 = time.perf_counter()
from mitreattack.stix20 import MitreAttackData
t1 = time.perf_counter()
d = MitreAttackData({path!r})
t = d.get_object_by_attack_id("AML.T0043", "attack-pattern")
subs = d.get_subtechniques_of_technique(t.id)
mits = d.get_mitigations_mitigating_technique(t.id)
t2 = time.perf_counter()
assert t.name == "Craft Adversarial Data" and len(subs) == 5 and len(mits) == 8
print(json.dumps({{"import": t1 - t0, "load_query": t2 - t1}}))
"""


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - start, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--theirs-python", required=True)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    ours_py = sys.executable
    cli = str(Path(ours_py).with_name("advmatrix"))

    results: dict = {"date": time.strftime("%Y-%m-%d"), "python": platform.python_version(),
                     "machine": _machine(), "runs": args.runs}

    timed([cli, "kb", "show", "AML.T0043", "--json"])  # fill the cache once
    for label, env in (("cached", None), ("no_cache", {**os.environ, "ADVMATRIX_NO_CACHE": "1"})):
        walls = [timed([cli, "kb", "show", "AML.T0043", "--json"], env)[0] for _ in range(args.runs)]
        results[f"kb_show_{label}"] = {"median_s": statistics.median(walls), "min_s": min(walls)}

    with tempfile.TemporaryDirectory() as tmp:
        bundle = os.path.join(tmp, "atlas-stix.json")
        subprocess.run([cli, "kb", "export", "--format", "stix", "--out", bundle], check=True,
                       capture_output=True)
        for name, python, code in (("advmatrix", ours_py, OURS), ("mitreattack", args.theirs_python, THEIRS)):
            inner, walls = [], []
            for _ in range(args.runs):
                wall, out = timed([python, "-c", code.format(path=bundle)])
                walls.append(wall)
                inner.append(json.loads(out)["load_query"])
            results[name] = {"load_query_median_s": statistics.median(inner),
                             "process_median_s": statistics.median(walls)}
    a, b = results["advmatrix"], results["mitreattack"]
    results["speedup_load_query"] = b["load_query_median_s"] / a["load_query_median_s"]
    results["speedup_process"] = b["process_median_s"] / a["process_median_s"]
    print(json.dumps(results, indent=2))


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


if __name__ == "__main__":
    main()
