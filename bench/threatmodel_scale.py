"""How long a threat model takes as the system grows: the whole `advmatrix threatmodel --json` path
(load, predict, gaps, attack paths, JSON), and the same writing every report (`--out DIR`: JSON,
Markdown, HTML, Navigator layer, SARIF), on generated systems of two shapes.

- star: N models behind one public API (wide: every model exposed through the same service);
- chain: an outside party, then N-1 components of every other kind in one long line of flows (deep:
  every component has the ones before it upstream, the worst case for the graph leaves).

Usage: python bench/threatmodel_scale.py [N ...]      (default 250 1000 5000)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = ("model", "dataset", "llm-app", "retrieval-store", "tool", "external")


def star(n: int) -> str:
    comps = ["  - {id: users, kind: external}", "  - {id: api, kind: service, audience: public, returns: scores}"]
    comps += [f"  - {{id: m{i}, kind: model, task: classification, modality: image}}" for i in range(n)]
    flows = ["  - {from: users, to: api}"] + [f"  - {{from: api, to: m{i}}}" for i in range(n)]
    return "\n".join(["name: star", "components:", *comps, "flows:", *flows]) + "\n"


def chain(n: int) -> str:
    # one outside party at the head: an external is where content starts or ends, not a relay, so one in
    # the middle would cut the line and end the walks there
    inside = [k for k in KINDS if k != "external"]
    comps = [f"  - {{id: x{i}, kind: {'external' if i == 0 else inside[i % len(inside)]}}}" for i in range(n)]
    flows = [f"  - {{from: x{i}, to: x{i + 1}}}" for i in range(n - 1)]
    return "\n".join(["name: chain", "components:", *comps, "flows:", *flows]) + "\n"


def _timed(args: list[str]) -> str:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "advmatrix", "threatmodel", *args], capture_output=True, check=False)
    took = time.perf_counter() - started
    return f"{took:.1f}" + ("" if done.returncode == 0 else f" (exit {done.returncode})")


def main(sizes: list[int]) -> None:
    print("| shape | components | seconds, --json | seconds, every report (--out) |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for shape in (star, chain):
            for n in sizes:
                path = Path(tmp) / f"{shape.__name__}{n}.yaml"
                path.write_text(shape(n))
                out = Path(tmp) / f"{shape.__name__}{n}-out"
                print(f"| {shape.__name__} | {n} | {_timed([str(path), '--json'])} | "
                      f"{_timed([str(path), '--out', str(out), '--paths', '5'])} |", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [250, 1000, 5000])
