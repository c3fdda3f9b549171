"""Our AutoAttack-style `robustness` procedure beside ART's `AutoAttack` (issue 19).

Same victim (the demo's digits CNN), same test digits, same L-infinity eps, inputs in [0, 1].
ART runs its default ensemble (APGD-CE and APGD-DLR with 5 random starts each, DeepFool,
Square with 5,000 iterations and 5 restarts); ours runs the procedure with its defaults. Robust
accuracy is scored the same way for both: the share of all test points the model still
classifies correctly after the attack, with every adversarial input checked to lie within eps.

Usage:
    python bench/robustness_bench.py [--n 200] [--eps 0.1 0.2] [--device cpu|cuda] [--markdown]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _ours(target, x, y, eps: float) -> tuple[float, float, dict]:
    from advmatrix.emulate import Dataset, get

    started = time.perf_counter()
    f = get("robustness")(eps=eps, n_samples=len(x)).run(target, Dataset(x=x, y=y), seed=0)
    return f.metrics["robust_accuracy"], time.perf_counter() - started, f.metrics


def _art(module, x, y, eps: float, device: str = "cpu") -> tuple[float, float]:
    import sys
    import types

    import torch

    try:
        import multiprocess  # noqa: F401
    except ImportError:
        # ART imports it unconditionally but only uses it with parallel_pool_size > 0 (not here)
        sys.modules["multiprocess"] = types.ModuleType("multiprocess")
    from art.attacks.evasion import AutoAttack
    from art.estimators.classification import PyTorchClassifier

    clf = PyTorchClassifier(module, torch.nn.CrossEntropyLoss(), input_shape=x.shape[1:], nb_classes=10,
                            clip_values=(0.0, 1.0), device_type="gpu" if device.startswith("cuda") else "cpu")
    started = time.perf_counter()
    attack = AutoAttack(clf, norm=np.inf, eps=eps, eps_step=eps / 4, batch_size=128)
    adv = attack.generate(x, y=y)
    wall = time.perf_counter() - started
    inside = np.abs(adv - x).reshape(len(x), -1).max(axis=1) <= eps + 1e-6
    still = clf.predict(adv).argmax(1) == y
    clean = clf.predict(x).argmax(1) == y
    # a point moved outside the ball does not count as broken: score it by its clean prediction
    return float(np.where(inside, still, clean).mean()), wall


def main() -> None:
    import os

    os.environ.setdefault("TQDM_DISABLE", "1")  # ART's progress bars would bury the table
    import torch

    from advmatrix.demo import load_or_train_victim
    from advmatrix.targets import TargetInfo, TorchTarget

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--eps", type=float, nargs="+", default=[0.1, 0.2])
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU figures (both sides on it)")
    args = ap.parse_args()
    torch.set_num_threads(1)  # the machine is shared; both sides get the same single core

    victim = load_or_train_victim()
    idx = victim.test_idx[: args.n]
    x, y = victim.x[idx].astype(np.float32), victim.y[idx].astype(np.int64)
    module = victim.module.to(args.device)
    target = TorchTarget(module, TargetInfo("digits-cnn", (1, 8, 8), tuple("0123456789"), output="logits",
                                            modality="image"))
    rows = []
    for eps in args.eps:
        ours, t_ours, m = _ours(target, x, y, eps)
        art, t_art = _art(module, x, y, eps, args.device)
        broken = " / ".join(f"{int(m[f'broken_by_{a}'])}" for a in ("apgd_ce", "apgd_dlr", "apgd_t", "square"))
        rows.append((eps, m["clean_accuracy"], ours, art, t_ours, t_art, broken))
        print(f"eps={eps:g}: ours {ours:.3f} in {t_ours:.1f}s, ART {art:.3f} in {t_art:.1f}s", flush=True)
    head = ("eps", "clean acc", "robust acc (ours)", "robust acc (ART AutoAttack)", "diff (points)",
            "wall ours (s)", "wall ART (s)", "broken by CE / DLR / T / Square")
    lines = []
    for eps, clean, ours, art, t_ours, t_art, broken in rows:
        lines.append((f"{eps:g}", f"{clean:.1%}", f"{ours:.1%}", f"{art:.1%}", f"{100 * (ours - art):+.1f}",
                      f"{t_ours:.1f}", f"{t_art:.1f}", broken))
    where = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "CPU"
    print(f"demo digits CNN, {len(x)} test digits, L-inf, torch threads=1, {where}")
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in lines)) for i, h in enumerate(head)]
        print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
        for line in lines:
            print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))


if __name__ == "__main__":
    main()
