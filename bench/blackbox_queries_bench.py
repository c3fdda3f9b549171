"""Black-box evasion at the fewest queries (issue 19): each of our attacks against the anchor of
its own kind, on the same images of the demo's digits CNN, at the same L-infinity budget, in one
run.

- label-only: our ``rays`` against ART's HopSkipJump (norm=inf, untargeted) and ART's SignOPT;
- score-based: our ``square`` against ART's SquareAttack.

Every query each attack makes is counted (one image is one query), up to a cap per image. ART's
attacks run one image at a time behind an oracle that counts their queries and notes the first
query that was misclassified and within eps of the image, whether or not the attack's final
output is that point: generous to ART. Ours are scored on their final output, which must be
misclassified, within eps and in range. "At equal success" takes the weaker success rate of a
pair and, for each attack, the cheapest successes that reach it.

Usage: python bench/blackbox_queries_bench.py [--images 100] [--cap 1000] [--eps 0.3 0.2]
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

from advmatrix.demo import load_or_train_victim
from advmatrix.emulate._rays import rays_linf
from advmatrix.emulate._square import square_linf


class _Capped(Exception):
    """The oracle's query cap for one image is spent."""


class Oracle:
    """The victim for one image: counts queries, refuses past the cap, and notes the first query
    that was an adversarial example within eps (L-infinity)."""

    def __init__(self, probs, x0: np.ndarray, y0: int, eps: float, cap: int):
        self.probs, self.x0, self.y0, self.eps, self.cap = probs, x0, y0, eps, cap
        self.n, self.first = 0, None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.float32)
        room = self.cap - self.n
        if room <= 0:
            raise _Capped
        seen = batch[:room]
        out = self.probs(seen)
        if self.first is None:
            linf = np.abs(seen - self.x0).reshape(len(seen), -1).max(axis=1)
            inside = seen.min() >= 0 and seen.max() <= 1
            hit = np.flatnonzero((out.argmax(1) != self.y0) & (linf <= self.eps + 1e-6) & inside)
            if len(hit):
                self.first = self.n + int(hit[0]) + 1
        self.n += len(seen)
        if len(seen) < len(batch):
            raise _Capped
        return out


def art_per_image(name: str, make, probs, x, y, eps, cap) -> np.ndarray:
    """Queries to the first adversarial example within eps, per image (nan: none within the cap)."""
    from art.estimators.classification import BlackBoxClassifierNeuralNetwork

    out = np.full(len(x), np.nan)
    for i in range(len(x)):
        oracle = Oracle(probs, x[i], int(y[i]), eps, cap)
        clf = BlackBoxClassifierNeuralNetwork(oracle, (1, 8, 8), 10, clip_values=(0.0, 1.0))
        try:
            make(clf).generate(x[i:i + 1], np.eye(10)[y[i:i + 1]])
        except _Capped:
            pass
        if oracle.first is not None:
            out[i] = oracle.first
    return out


def ours(attack, probs, x, y, eps, cap, seed=0) -> tuple[np.ndarray, int]:
    """Queries per success (nan for failures) of one of our batched attacks, and all queries made."""
    calls = {"n": 0}

    def counted(batch: np.ndarray) -> np.ndarray:
        calls["n"] += len(batch)
        return probs(batch)

    rng = np.random.default_rng(seed)
    if attack == "rays":
        adv, q, _ = rays_linf(lambda b: counted(b).argmax(1), x, y, eps, 0.0, 1.0, rng, cap)
    else:
        adv, q = square_linf(counted, x, y, eps, 0.0, 1.0, rng, cap - 1)  # one query starts it
    assert calls["n"] == q.sum(), "per-image counts must add up to every query made"
    linf = np.abs(adv - x).reshape(len(x), -1).max(axis=1)
    ok = (probs(adv).argmax(1) != y) & (linf <= eps + 1e-6) & (adv.min() >= 0) & (adv.max() <= 1)
    return np.where(ok & (q <= cap), q.astype(float), np.nan), int(calls["n"])


def summary(q: np.ndarray) -> dict:
    won = q[~np.isnan(q)]
    return {"success": float(len(won) / len(q)), "median": float(np.median(won)) if len(won) else None,
            "mean": float(won.mean()) if len(won) else None}


def at_rate(q: np.ndarray, rate: float) -> dict:
    """The cheapest successes that reach ``rate``: the per-image cap they need and their mean."""
    won = np.sort(q[~np.isnan(q)])
    k = math.ceil(rate * len(q) - 1e-9)
    if k == 0 or k > len(won):
        return {"cap": None, "mean": None}
    return {"cap": float(won[k - 1]), "mean": float(won[:k].mean())}


def compare(mine: np.ndarray, anchor: np.ndarray) -> dict:
    rate = min(summary(mine)["success"], summary(anchor)["success"])
    a, b = at_rate(mine, rate), at_rate(anchor, rate)
    ratio = b["mean"] / a["mean"] if a["mean"] and b["mean"] else None
    return {"equal_success": rate, "ours": a, "anchor": b, "fewer_queries_x": ratio}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--cap", type=int, default=1000)
    ap.add_argument("--eps", type=float, nargs="+", default=[0.3, 0.2])
    args = ap.parse_args()
    torch.set_num_threads(1)
    from art.attacks.evasion import HopSkipJump, SignOPTAttack, SquareAttack

    v = load_or_train_victim()

    def probs(b: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(v.module(torch.from_numpy(np.asarray(b, dtype=np.float32))), 1).numpy()

    x, y = v.x[v.test_idx], v.y[v.test_idx]
    keep = probs(x).argmax(1) == y
    x, y = x[keep][: args.images], y[keep][: args.images]
    report: dict = {"images": len(x), "cap": args.cap, "victim": "demo digits CNN", "runs": {}}
    for eps in args.eps:
        cap = args.cap
        started = time.perf_counter()
        q = {"rays": ours("rays", probs, x, y, eps, cap)[0], "square": ours("square", probs, x, y, eps, cap)[0]}
        timing = {"rays+square": time.perf_counter() - started}
        anchors = {
            "art_hopskipjump": lambda c: HopSkipJump(c, targeted=False, norm=np.inf, max_iter=100, verbose=False),
            "art_hopskipjump_frugal": lambda c: HopSkipJump(c, targeted=False, norm=np.inf, max_iter=100,
                                                            max_eval=100, init_eval=10, init_size=20,
                                                            verbose=False),
            "art_signopt_l2": lambda c, cap=cap: SignOPTAttack(c, targeted=False, query_limit=cap, max_iter=1000,
                                                               verbose=False),
            "art_square": lambda c, eps=eps, cap=cap: SquareAttack(c, norm=np.inf, eps=eps, max_iter=cap,
                                                                    verbose=False),
        }
        for name, make in anchors.items():
            t0 = time.perf_counter()
            q[name] = art_per_image(name, make, probs, x, y, eps, cap)
            timing[name] = time.perf_counter() - t0
        run = {"attacks": {k: summary(val) for k, val in q.items()}, "seconds": timing,
               "label_only": {a: compare(q["rays"], q[a])
                              for a in ("art_hopskipjump", "art_hopskipjump_frugal", "art_signopt_l2")},
               "score_based": {"art_square": compare(q["square"], q["art_square"])}}
        report["runs"][str(eps)] = run
        print(f"\n## eps = {eps} (L-inf), {len(x)} images, cap {cap} queries per image")
        print("| attack | success | median q/success | mean q/success | s |")
        print("|---|---|---|---|---|")
        for k, s in run["attacks"].items():
            sec = timing.get(k, timing["rays+square"])
            print(f"| {k} | {s['success']:.2f} | {s['median']} | "
                  f"{s['mean'] and round(s['mean'], 1)} | {sec:.1f} |")
        print("| pair (ours vs anchor) | equal success | ours mean q | anchor mean q | fewer × |")
        print("|---|---|---|---|---|")
        for kind in ("label_only", "score_based"):
            for a, c in run[kind].items():
                mine = "rays" if kind == "label_only" else "square"
                ratio = c["fewer_queries_x"]
                mean_a, mean_b = c["ours"]["mean"], c["anchor"]["mean"]
                print(f"| {mine} vs {a} | {c['equal_success']:.2f} | {mean_a and round(mean_a, 1)}"
                      f" | {mean_b and round(mean_b, 1)} | "
                      f"{ratio and round(ratio, 1)} |")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
