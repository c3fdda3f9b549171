#!/usr/bin/env bash
# The GPU checks of issue 19 in one go, for a machine with a CUDA GPU and PyTorch + torchvision
# already installed (a borrowed GPU box is usually set up that way): the CUDA-only test, PGD
# throughput against ART, and the robustness procedure against ART's AutoAttack. Logs go to
# $OUT (default: the current directory). Needs advmatrix's runtime dependencies and ART on
# PYTHONPATH or installed; nothing is downloaded.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-.}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TQDM_DISABLE=1
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU visible to PyTorch'" || exit 2
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/env.txt"
echo "== CUDA test"
timeout 120 python3 -m pytest -q -p no:cacheprovider tests/emulate/test_device.py 2>&1 | tee "$out/pytest.txt" | tail -5
echo "== PGD throughput"
timeout 200 python3 bench/gpu_bench.py --device cuda --repeat 7 --json "$out/pgd.json" --markdown 2>&1 \
  | tee "$out/pgd.txt" | tail -6
echo "== robustness"
timeout 240 python3 bench/robustness_bench.py --device cuda --eps 0.2 0.1 --markdown 2>&1 \
  | tee "$out/robust.txt" | tail -5
