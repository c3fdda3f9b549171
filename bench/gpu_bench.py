"""White-box PGD throughput on a GPU: advmatrix `pgd` beside ART's PGD on the same card (issue 19).

ResNet-18 (torchvision, 10 classes, untrained: throughput does not depend on the weights), PGD-10
at eps = 8/255, step 2/255, one random start, every step run (no early stop), the same images,
labels and batch size for both. Labels are the model's own clean predictions so that every image
is attacked (the procedure only attacks correctly classified seeds; ART attacks all it is given).

Ours is timed over the whole procedure a user runs (clean check, attack, scoring); ART over
`generate` alone, which favours ART. Each side runs once to warm up (cuDNN plans, allocator),
then ``--repeat`` times interleaved; the median is reported.

Usage (on a machine with a CUDA GPU; `--arch tiny --device cpu` is a quick local check):
    python bench/gpu_bench.py [--device cuda] [--repeat 3] [--json OUT] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import types

import numpy as np

EPS, STEP, STEPS = 8 / 255, 2 / 255, 10
#: (input side, images, batch): the two shapes the issue measured
SHAPES = ((32, 512, 128), (224, 64, 32))


def _model(arch: str):
    import torch

    if arch == "resnet18":
        import torchvision

        return torchvision.models.resnet18(weights=None, num_classes=10)
    # a small stand-in for checking the script where torchvision is not installed
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(4),
                               torch.nn.Flatten(), torch.nn.Linear(128, 10))


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _ours(module, x, y, batch: int, device: str, precision: str) -> float:
    """Images per second through the `pgd` procedure as a user runs it."""
    from advmatrix.emulate import Dataset, get
    from advmatrix.targets import TargetInfo, TorchTarget

    info = TargetInfo("resnet18", x.shape[1:], tuple(str(i) for i in range(10)), output="logits", modality="image")
    target = TorchTarget(module, info, batch_size=batch)
    proc = get("pgd")(eps=EPS, step_size=STEP, steps=STEPS, n_samples=len(x), batch_size=batch, early_stop=False,
                      precision=precision)
    _sync(device)
    started = time.perf_counter()
    f = proc.run(target, Dataset(x=x, y=y), seed=0)
    _sync(device)
    wall = time.perf_counter() - started
    assert f.metrics["attacked"] == len(x), f.metrics  # every image was attacked, or the rate lies
    return len(x) / wall


def _art_pgd(module, x, y, batch: int, device: str):
    import torch

    try:
        import multiprocess  # noqa: F401
    except ImportError:
        # ART imports it unconditionally but only uses it for process pools (not here)
        sys.modules["multiprocess"] = types.ModuleType("multiprocess")
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    clf = PyTorchClassifier(module, torch.nn.CrossEntropyLoss(), input_shape=x.shape[1:], nb_classes=10,
                            clip_values=(0.0, 1.0), device_type="gpu" if device.startswith("cuda") else "cpu")
    attack = ProjectedGradientDescent(clf, norm=np.inf, eps=EPS, eps_step=STEP, max_iter=STEPS, num_random_init=1,
                                      batch_size=batch, verbose=False)
    onehot = np.eye(10, dtype=np.float32)[y]

    def run() -> float:
        _sync(device)
        started = time.perf_counter()
        adv = attack.generate(x, y=onehot)
        _sync(device)
        wall = time.perf_counter() - started
        assert np.abs(adv - x).max() <= EPS + 1e-5
        return len(x) / wall

    return run


def main() -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--arch", choices=("resnet18", "tiny"), default="resnet18")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the image counts (quick checks)")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    import art

    env = {"date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "art": art.__version__,
           "device": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu",
           "cuda": torch.version.cuda, "arch": args.arch}
    print(json.dumps(env), flush=True)
    rows = []
    for side, n, batch in SHAPES:
        n = max(batch, int(n * args.scale))
        torch.manual_seed(0)
        module = _model(args.arch).eval().to(args.device)
        rng = np.random.default_rng(0)
        x = rng.random((n, 3, side, side), dtype=np.float32)
        with torch.no_grad():
            y = np.concatenate([module(torch.from_numpy(x[i:i + batch]).to(args.device)).argmax(1).cpu().numpy()
                                for i in range(0, n, batch)]).astype(np.int64)
        art_run = _art_pgd(module, x, y, batch, args.device)
        rates: dict[str, list[float]] = {"ours fp32": [], "ours bf16": [], "ART": []}
        for rep in range(args.repeat + 1):  # the first round warms up and is not counted
            got = {"ours fp32": _ours(module, x, y, batch, args.device, "fp32"),
                   "ours bf16": _ours(module, x, y, batch, args.device, "bf16"),
                   "ART": art_run()}
            if rep:
                for k, v in got.items():
                    rates[k].append(v)
        med = {k: statistics.median(v) for k, v in rates.items()}
        row = {"input": f"3x{side}x{side}", "images": n, "batch": batch, **{k: round(v, 1) for k, v in med.items()},
               "ratio fp32": round(med["ours fp32"] / med["ART"], 2),
               "ratio bf16": round(med["ours bf16"] / med["ART"], 2),
               "runs": {k: [round(r, 1) for r in v] for k, v in rates.items()}}
        rows.append(row)
        print(json.dumps(row), flush=True)
        del module
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"env": env, "pgd": rows}, fh, indent=2)
    if args.markdown:
        print(f"PGD-{STEPS}, eps 8/255, {env['arch']}, {env['device']}, torch {env['torch']}, "
              f"ART {env['art']}; images/s")
        print("| input | images, batch | ART | ours fp32 | ours bf16 | ours / ART (fp32, bf16) |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['input']} | {r['images']}, {r['batch']} | {r['ART']:,} | {r['ours fp32']:,} | "
                  f"{r['ours bf16']:,} | {r['ratio fp32']}x, {r['ratio bf16']}x |")


if __name__ == "__main__":
    main()
