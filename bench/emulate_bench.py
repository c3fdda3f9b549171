"""Emulation benchmarks (issue: red-team emulation), on the demo's digits CNN and the same images
for every tool, in one run.

1. Black-box evasion at L-inf <= 0.3: queries per successful adversarial example, our Square
   against ART's HopSkipJump (given ever more iterations until it matches our success rate).
2. White-box PGD-40 throughput (images/s) against ART's ProjectedGradientDescent, same model,
   eps, step and iterations.
3. Wall time of a black-box assessment over HTTP on loopback: requests in flight vs sequential.
"""

from __future__ import annotations

import json
import platform
import time

import numpy as np
import torch

from advmatrix.demo import load_or_train_victim
from advmatrix.emulate import Dataset, get
from advmatrix.serving import ServedModel, make_app, running_server
from advmatrix.targets import KServeV2Target, MockTarget, TargetInfo, TorchTarget

EPS = 0.3
INFO = TargetInfo("cnn", (1, 8, 8), tuple("0123456789"), modality="image")


def main() -> None:
    v = load_or_train_victim()
    net = v.module
    torch.set_num_threads(2)

    def probs(b: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(net(torch.from_numpy(b.astype(np.float32))), 1).numpy()

    x, y = v.x[v.test_idx], v.y[v.test_idx]
    correct = probs(x).argmax(1) == y
    x, y = x[correct][:40], y[correct][:40]
    out: dict = {"date": time.strftime("%Y-%m-%d"), "python": platform.python_version(),
                 "torch": torch.__version__, "images": len(x)}

    # 1. black-box: ours
    t = MockTarget(probs, INFO)
    f = get("square")(n_samples=len(x), eps=EPS).run(t, Dataset(x=x, y=y))
    attack_queries = f.queries - 2 * len(x)  # minus the clean check and the final scoring
    ours = {"success_rate": f.success_rate, "queries_per_success": attack_queries / max(f.metrics["successes"], 1),
            "wall_s": f.wall_time}
    # ART HopSkipJump, given more and more iterations
    from art.attacks.evasion import HopSkipJump
    from art.estimators.classification import BlackBoxClassifier

    counter = {"n": 0}

    def counted(b):
        counter["n"] += len(b)
        return probs(b)

    art_rows = []
    for max_iter in (5, 10, 20, 40):
        counter["n"] = 0
        clf = BlackBoxClassifier(counted, (1, 8, 8), 10, clip_values=(0.0, 1.0))
        attack = HopSkipJump(clf, norm=np.inf, max_iter=max_iter, max_eval=1000, init_eval=100, verbose=False)
        start = time.perf_counter()
        adv = np.concatenate([attack.generate(x[i:i + 1]) for i in range(len(x))])
        wall = time.perf_counter() - start
        linf = np.abs(adv - x).reshape(len(x), -1).max(1)
        success = (probs(adv).argmax(1) != y) & (linf <= EPS + 1e-6)
        art_rows.append({"max_iter": max_iter, "success_rate": float(success.mean()),
                         "queries_per_success": counter["n"] / max(int(success.sum()), 1), "wall_s": wall})
        if success.mean() >= ours["success_rate"]:
            break
    out["black_box"] = {"ours_square": ours, "art_hopskipjump": art_rows}

    # 2. white-box PGD-40
    xb, yb = v.x[v.test_idx][:512], v.y[v.test_idx][:512]
    target = TorchTarget(net, TargetInfo("cnn", (1, 8, 8), tuple("0123456789"), output="logits"))
    ours_pgd = {}
    for early_stop in (True, False):
        pgd = get("pgd")(eps=EPS, n_samples=512, steps=40, step_size=0.01, batch_size=512, early_stop=early_stop)
        rates = []
        for _ in range(3):
            start = time.perf_counter()
            res = pgd.run(target, Dataset(x=xb, y=yb))
            rates.append(res.metrics["attacked"] / (time.perf_counter() - start))
        ours_pgd["early_stop" if early_stop else "all_40_steps"] = {
            "images_per_s": float(np.median(rates)), "success_rate": res.success_rate}
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    clf = PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), (1, 8, 8), 10, clip_values=(0.0, 1.0))
    keep = probs(xb).argmax(1) == yb
    art = ProjectedGradientDescent(clf, norm=np.inf, eps=EPS, eps_step=0.01, max_iter=40, num_random_init=1,
                                   batch_size=512, verbose=False)
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        adv = art.generate(xb[keep], y=np.eye(10)[yb[keep]])
        rates.append(keep.sum() / (time.perf_counter() - start))
    out["white_box_pgd40"] = {"ours": ours_pgd, "art": {
        "images_per_s": float(np.median(rates)), "success_rate": float((probs(adv).argmax(1) != yb[keep]).mean())}}

    # 3. HTTP: requests in flight vs one at a time (extraction sends 600 single-sample requests),
    # against the loopback server as it is, and with 20 ms of service time per request added,
    # as a remote API has.
    data = Dataset(x=v.x[v.test_idx][:100], y=v.y[v.test_idx][:100], x_pool=v.x[v.train_idx])
    for label, delay in (("loopback", 0.0), ("loopback_plus_20ms_service_time", 0.02)):
        app = make_app({"digits": ServedModel(probs, (1, 8, 8), INFO.classes)})
        if delay:
            import asyncio

            @app.middleware("http")
            async def slow(request, call_next, delay=delay):
                await asyncio.sleep(delay)
                return await call_next(request)

        timings = {}
        with running_server(app) as url:
            for concurrency in (1, 8):
                with KServeV2Target(url, "digits", INFO, max_batch=1, concurrency=concurrency) as api:
                    f = get("extraction")(checkpoints=[500], n_holdout=100).run(api, data)
                    timings[f"concurrency_{concurrency}"] = {"wall_s": f.wall_time, "queries": f.queries}
        out[f"http_extraction_{label}"] = timings
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
