"""Scanner benchmark: throughput on one corpus, and which samples each tool flags.

Tools run as their command-line programs on the same files in one run: advmatrix (this
project's venv), picklescan and modelscan (bench/.venv only, never project dependencies).

Usage: python bench/scan_bench.py CORPUS_DIR --bench-bin bench/.venv/bin [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def tools(bench_bin: Path) -> dict[str, list[str]]:
    ours = str(Path(sys.executable).with_name("advmatrix"))
    return {
        "advmatrix": [ours, "scan", "--json"],
        "picklescan": [str(bench_bin / "picklescan"), "--path"],
        "modelscan": [str(bench_bin / "modelscan"), "-p"],
    }


def verdict(tool: str, code: int) -> str:
    if tool == "advmatrix":
        return {0: "clean", 1: "FLAGGED"}.get(code, "error")
    if tool == "picklescan":
        return {0: "clean", 1: "FLAGGED"}.get(code, "error")
    return {0: "clean", 1: "FLAGGED", 3: "unsupported"}.get(code, "error")


IN_PROCESS = {
    "advmatrix": "from advmatrix.scan import scan_path as scan",
    "picklescan": "from picklescan.scanner import scan_file_path as scan",
    "modelscan": "from modelscan.modelscan import ModelScan\nscan = lambda p: ModelScan().scan(p)",
}
TIMER = """
import json, statistics, sys, time, warnings
warnings.simplefilter("ignore")
{imp}
walls = []
for _ in range(5):
    t = time.perf_counter(); scan(sys.argv[1]); walls.append(time.perf_counter() - t)
print(json.dumps(statistics.median(walls)))
"""


def in_process(python: str, tool: str, path: Path) -> float | None:
    proc = subprocess.run([python, "-c", TIMER.format(imp=IN_PROCESS[tool]), str(path)],
                          capture_output=True, text=True)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def run(cmd: list[str]) -> tuple[int, float]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.returncode, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--bench-bin", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    cmds = tools(args.bench_bin)
    files = sorted(p for p in args.corpus.rglob("*") if p.is_file())
    total = sum(p.stat().st_size for p in files)
    results: dict = {"corpus_bytes": total, "files": len(files), "throughput": {}, "flags": {}}
    for name, cmd in cmds.items():
        walls = [run([*cmd, str(args.corpus)])[1] for _ in range(args.runs)]
        wall = statistics.median(walls)
        results["throughput"][name] = {"median_s": wall, "mb_per_s": total / wall / 1e6}
    for path in files:
        key = str(path.relative_to(args.corpus))
        results["flags"][key] = {name: verdict(name, run([*cmd, str(path)])[0]) for name, cmd in cmds.items()}
    # Scanning time alone, per benign file, through each tool's Python API (start-up excluded).
    pythons = {"advmatrix": sys.executable, "picklescan": str(args.bench_bin / "python"),
               "modelscan": str(args.bench_bin / "python")}
    results["in_process_s"] = {
        str(p.relative_to(args.corpus)): {t: in_process(pythons[t], t, p) for t in cmds}
        for p in files if p.parent.name == "benign"}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
