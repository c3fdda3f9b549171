#!/usr/bin/env bash
# Benchmarks run beside a second virtualenv holding the tools we compare against, so that the
# project itself never depends on them.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/python -m pip install --quiet mitreattack-python
fi
.venv/bin/python bench/kb_bench.py --theirs-python bench/.venv/bin/python "$@"
bench/.venv/bin/python -m pip install --quiet picklescan modelscan
# Byte-compile our sources as `pip install` does for every installed package (theirs included):
# an editable install under PYTHONDONTWRITEBYTECODE=1 would otherwise recompile each run.
.venv/bin/python -m compileall -q src >/dev/null
corpus=$(mktemp -d)
.venv/bin/python bench/make_scan_corpus.py "$corpus" >/dev/null
.venv/bin/python bench/scan_bench.py "$corpus" --bench-bin bench/.venv/bin --runs 7
rm -rf "$corpus"
.venv/bin/python bench/emulate_bench.py
.venv/bin/python bench/web_bench.py
.venv/bin/python bench/gateway_bench.py
