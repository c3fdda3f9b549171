"""Gateway benchmarks (issue: detect and respond).

1. Added latency (p50, p99) and throughput through the gateway, all default detectors on,
   against calling the model server directly; everything on loopback, the client on a core of
   its own and the model server and gateway on the rest (``shared-cores``: all on every core).
2. Detector cost per query after 1e3 .. 1e6 stored queries from one client (state is bounded,
   so the cost should be flat).
3. Detection quality in process: attack sessions detected within 100 queries, and false
   positives over benign sessions (natural digits; lightly augmented re-queries; new data with
   a few training records). Every session runs all six detectors; membership is given the
   victim's training inputs, query coverage the same inputs as its reference sample, ood those
   inputs with shifted and brightened copies.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from collections import Counter

import httpx
import numpy as np

from advmatrix.detect import (
    MembershipProbing,
    OutOfDistribution,
    Prada,
    QueryCoverage,
    QueryEvent,
    SimilaritySearch,
    Volume,
)
from advmatrix.emulate import Dataset, get
from advmatrix.plugins import Context
from advmatrix.targets import MockTarget, TargetInfo

INFO = TargetInfo("digits", (1, 8, 8), tuple("0123456789"))
#: alternating direct / gateway rounds of the latency benchmark (medians reported): on 2 shared
#: cores one round's throughput moves by several points, more than the gateway's changes do
ROUNDS = 5
SECONDS = 5  # of 16 requests in flight, per round and side
PARTS = {"latency", "latency10k", "cost", "detection", "tradeoff", "shared-cores"}


def main() -> None:
    import sys

    from _model_server import victim_probs  # bench/ is on sys.path when this file runs

    parts = set(sys.argv[1:]) or {"latency", "cost", "detection"}
    unknown = sorted(parts - PARTS)
    if unknown:  # a misspelled part would otherwise run nothing and print an empty result
        raise SystemExit(f"gateway_bench: unknown part {', '.join(unknown)} (known: {', '.join(sorted(PARTS))})")
    v, probs = victim_probs()
    shared = "shared-cores" in parts
    out: dict = {"date": time.strftime("%Y-%m-%d")}
    if "latency" in parts:
        out["latency_throughput"] = latency(probs, v, shared=shared)
    if "latency10k" in parts:
        out["latency_throughput_10k_clients"] = latency(probs, v, clients=10_000, shared=shared)
    if "cost" in parts:
        out["detector_cost_us_per_query"] = detector_cost(probs, v)
    if "detection" in parts:
        out["detection"] = detection(probs, v)
    if "tradeoff" in parts or not sys.argv[1:]:
        out["query_coverage_budget_tradeoff"] = coverage_tradeoff(v)
    print(json.dumps(out, indent=2))


def latency(probs, v, clients: int = 0, shared: bool = False) -> dict:
    """Model server and gateway each in their own process, as deployed (`advmatrix monitor`);
    the client is this process. Rounds alternate direct / gateway so that both see the same
    machine; medians over the rounds are reported.

    The client (a Python load generator that needs a whole core for ~1,000 requests/s) runs on
    CPU 0 and the model server and gateway on the others, as a load generator is kept off the
    system it measures; ``shared`` lets the three compete for every core instead (the earlier
    runs' setup), where the ratio follows how the scheduler happens to place them."""
    import subprocess
    import sys

    from _procs import free_port, wait  # bench/ is on sys.path when this file runs

    here = os.path.dirname(os.path.abspath(__file__))
    mp, gp = free_port(), free_port()
    tmp = tempfile.mkdtemp()
    # All default detectors run; the volume limits are sized above this benchmark's own load
    # (~300 requests/s), as a deployment sizes them to its capacity, so that the load itself is
    # not (rightly) throttled as a denial of service.
    with open(f"{tmp}/gateway.yaml", "w") as f:
        json.dump({"detectors": {"boundary-search": {}, "structured-search": {}, "segment-search": {},
                                 "noise-probe": {}, "key-rotation": {}, "coordinate-probe": {},
                                 "similarity-search": {}, "prada": {},
                                 "volume": {"max_client_queries": 10**6, "max_total_queries": 10**7}}}, f)
    # CPU affinity is Linux's; elsewhere the three processes share the cores as before
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    pin = not shared and len(cpus) >= 2
    rest = set(cpus[1:])

    def system_cores() -> None:  # in each child, before it starts
        if pin:
            os.sched_setaffinity(0, rest)

    server = subprocess.Popen([sys.executable, os.path.join(here, "_model_server.py"), str(mp)],
                              preexec_fn=system_cores)
    gateway = subprocess.Popen([sys.executable, "-m", "advmatrix", "monitor", "--upstream", f"http://127.0.0.1:{mp}",
                                "--listen", f"127.0.0.1:{gp}", "--db", f"{tmp}/gw.db",
                                "--config", f"{tmp}/gateway.yaml"], stderr=subprocess.DEVNULL,
                               preexec_fn=system_cores)
    if pin:
        os.sched_setaffinity(0, {cpus[0]})
    bases = {"direct": f"http://127.0.0.1:{mp}", "gateway": f"http://127.0.0.1:{gp}"}
    rounds: dict[str, list[dict]] = {"direct": [], "gateway": []}
    try:
        wait(bases["direct"] + "/v2/health/ready")
        wait(bases["gateway"] + "/_advmatrix/health")
        if clients:
            # the gateway holds this many clients in every detector's state before timing starts
            asyncio.run(populate(bases["gateway"], v, clients))
        for r in range(ROUNDS):
            for name, base in bases.items():
                # fresh client keys each round: a client re-sending the very same images is
                # (rightly) flagged, and a flagged client's replies are not what is measured here
                walls = sequential(base, v, 1000, warmup=50 if r == 0 else 0, tag=f"{name}{r}")
                before = {p: _cpu_s(p.pid) for p in (server, gateway)}
                rps = asyncio.run(throughput(base, v, seconds=SECONDS, tag=f"{name}{r}"))
                # CPU each process spent per request served: what sizes a deployment, whatever
                # the client here could send
                per = {p: (_cpu_s(p.pid) - before[p]) * 1000 / max(rps * SECONDS, 1) for p in (server, gateway)}
                rounds[name].append({"p50_ms": walls[500], "p99_ms": walls[990], "requests_per_s": rps,
                                     "server_cpu_ms_per_request": per[server],
                                     "gateway_cpu_ms_per_request": per[gateway]})
    finally:
        for p in (server, gateway):
            p.terminate()
            p.wait(timeout=10)
        if pin:
            os.sched_setaffinity(0, set(cpus))
    result = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in rounds.items()}
    result["rounds"] = rounds
    result["added_p50_ms"] = result["gateway"]["p50_ms"] - result["direct"]["p50_ms"]
    result["added_p99_ms"] = result["gateway"]["p99_ms"] - result["direct"]["p99_ms"]
    result["throughput_ratio"] = result["gateway"]["requests_per_s"] / result["direct"]["requests_per_s"]
    # each round's gateway run against the direct run just before it: the machine moves between
    # rounds (the direct server alone has varied by 15 %), less within one
    result["throughput_ratio_paired"] = statistics.median(
        g["requests_per_s"] / d["requests_per_s"] for g, d in zip(rounds["gateway"], rounds["direct"], strict=True))
    result["clients_in_state"] = clients
    result["cores"] = {"client": [cpus[0]], "server_and_gateway": sorted(rest)} if pin else "shared"
    return result


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; NaN where /proc is not there."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def populate(base: str, v, clients: int, concurrency: int = 16) -> None:
    """``clients`` distinct API keys, each sending a few queries (the demo's digits, lightly
    varied so none is a near-duplicate of another)."""
    rng = np.random.default_rng(5)
    async with httpx.AsyncClient(timeout=30) as c:
        async def worker(k: int):
            for i in range(k, clients, concurrency):
                for j in range(3):
                    x = np.clip(v.x[(7 * i + j) % len(v.x)] + rng.normal(0, 0.05, (1, 8, 8)), 0, 1)
                    body = {"inputs": [{"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32",
                                        "data": x.reshape(-1).tolist()}]}
                    r = await c.post(base + "/v2/models/digits/infer", json=body, headers={"x-api-key": f"pop-{i}"})
                    assert r.status_code == 200, r.text
        await asyncio.gather(*(worker(k) for k in range(concurrency)))


def _body(v, i: int) -> dict:
    # vary the input so the benign client looks benign (no near-duplicates)
    return {"inputs": [{"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32",
                        "data": v.x[i % len(v.x)].reshape(-1).tolist()}]}


def sequential(base: str, v, n: int, warmup: int, tag: str) -> list[float]:
    with httpx.Client() as c:
        for i in range(warmup):
            c.post(base + "/v2/models/digits/infer", json=_body(v, i), headers={"x-api-key": "warmup"})
        walls = []
        for i in range(n):
            body = _body(v, i)
            t = time.perf_counter()
            r = c.post(base + "/v2/models/digits/infer", json=body, headers={"x-api-key": f"{tag}-{i % 50}"})
            walls.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
    return sorted(walls)


async def throughput(base: str, v, seconds: float, tag: str, concurrency: int = 16) -> float:
    done = 0
    stop = time.perf_counter() + seconds
    async with httpx.AsyncClient() as c:
        async def worker(k: int):
            nonlocal done
            i = k
            while time.perf_counter() < stop:
                r = await c.post(base + "/v2/models/digits/infer", json=_body(v, i),
                                 headers={"x-api-key": f"load-{tag}-{k}"})
                assert r.status_code == 200, r.text
                i += concurrency
                done += 1
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return done / seconds


def detector_cost(probs, v, names: tuple[str, ...] = ("similarity-search", "prada", "volume", "membership",
                                                     "query-coverage")) -> dict:
    rng = np.random.default_rng(0)
    pool = v.x[rng.integers(0, len(v.x), 1000)]
    outputs = probs(pool)
    table: dict = {}
    every = (SimilaritySearch(), Prada(min_queries=10**9), Volume(),
             MembershipProbing(Context({"members": v.x[v.train_idx]}), min_hits=10**9),
             QueryCoverage(Context({"reference": v.x[v.train_idx]})))
    every[-1].threshold = 10**9  # never alert: measure the cost with the client's cell set at its largest
    for det in (d for d in every if d.name in names):
        row = {}
        fed = 0
        for target in (10**3, 10**4, 10**5, 10**6):
            while fed < target:  # build state with batches of 1000 distinct-ish inputs
                batch = np.clip(pool + rng.normal(0, 0.2, pool.shape), 0, 1).astype(np.float32)
                det.observe(QueryEvent("c", time.time(), batch, outputs, count=fed))
                fed += len(batch)
            probe = np.clip(pool[:200] + rng.normal(0, 0.2, (200, 1, 8, 8)), 0, 1).astype(np.float32)
            t = time.perf_counter()
            for i in range(200):
                det.observe(QueryEvent("c", time.time(), probe[i:i + 1], outputs[i:i + 1], count=fed + i))
            row[f"{target:.0e}"] = (time.perf_counter() - t) / 200 * 1e6
            fed += 200
        table[det.name] = row
    return table


def detection(probs, v) -> dict:
    rng = np.random.default_rng(1)
    x_test, y_test = v.x[v.test_idx], v.y[v.test_idx]

    members = MembershipProbing(Context({"members": v.x[v.train_idx]}))
    coverage = QueryCoverage(Context({"reference": v.x[v.train_idx]}))
    # ood's reference holds the variation users legitimately send (1-pixel shifts, brighter
    # copies): with the training inputs alone, 99 of the 100 augmenting sessions below alert
    # (on 8x8 digits a 1-pixel shift is out of distribution; RESULTS.md)
    train = v.x[v.train_idx]
    ood_reference = np.concatenate([train, np.roll(train, 1, axis=3), np.roll(train, -1, axis=3),
                                    np.clip(train * 1.1, 0, 1)])
    fidelity: dict[int, list[float]] = {}

    def session(queries_fn) -> tuple[int, str] | None:
        """Run one session against fresh detectors; the query count at the first alert, and
        which detector raised it."""
        train = Context({"members": v.x[v.train_idx], "reference": v.x[v.train_idx]})
        dets = [SimilaritySearch(), Prada(), Volume(), MembershipProbing(train), QueryCoverage(train),
                OutOfDistribution(Context({"reference": ood_reference}))]
        dets[3].digests = members.digests  # the training set's digests, computed once
        assert dets[4].threshold == coverage.threshold  # calibration is seeded: the same for every session
        count = 0

        def spy(batch):
            nonlocal count, first
            out = probs(batch)
            for i in range(len(batch)):
                count += 1
                for d in dets:
                    if d.observe(QueryEvent("s", 0.0, batch[i:i + 1], out[i:i + 1], count=count)) and first is None:
                        first = (count, d.name)
            return out

        first = None
        queries_fn(spy)
        return first

    def square(spy):
        idx = rng.choice(len(x_test), 10, replace=False)
        get("square")(n_samples=10, max_iter=300).run(MockTarget(spy, INFO), Dataset(x=x_test[idx], y=y_test[idx]),
                                                       seed=int(rng.integers(1 << 30)))

    def synthetic_extraction(spy):
        pool = v.x[rng.choice(len(v.x), 400, replace=False)]
        get("extraction")(checkpoints=[300], n_holdout=10, synthetic=True).run(
            MockTarget(spy, INFO), Dataset(x=x_test[:10], y=y_test[:10], x_pool=pool), seed=int(rng.integers(1 << 30)))

    def natural_extraction(spy):
        # an attacker with natural data (the test split): PRADA's blind spot
        calls = 0

        def attacker(batch):
            nonlocal calls
            calls += 1
            # the procedure's first call labels its hold-out: the bench's yardstick for fidelity
            # (300 training inputs, outside the attacker's pool), not attack traffic
            return probs(batch) if calls == 1 else spy(batch)

        tr = v.train_idx[:300]
        finding = get("extraction")(checkpoints=[100, 200, 300, 400], n_holdout=300).run(
            MockTarget(attacker, INFO), Dataset(x=v.x[tr], y=v.y[tr], x_pool=x_test[rng.permutation(len(x_test))]),
            seed=int(rng.integers(1 << 30)))
        for n in (100, 200, 300, 400):
            fidelity.setdefault(n, []).append(finding.metrics[f"fidelity@{n}"])

    def inversion(spy):
        # black-box (NES) reconstruction of two random classes
        classes = [int(c) for c in rng.choice(10, 2, replace=False)]
        get("inversion")(steps=10, classes=classes).run(MockTarget(spy, INFO), Dataset(x=x_test, y=y_test),
                                                        seed=int(rng.integers(1 << 30)))

    # Benign users send new data: the victim's test split (with membership on, a client that
    # sends the training set back is flagged by design)
    def benign(spy):
        idx = rng.choice(len(x_test), 200, replace=False)
        for i in range(0, 200, 4):
            spy(x_test[idx[i:i + 4]])

    def augmenting(spy):
        base = x_test[rng.choice(len(x_test), 50, replace=False)]
        for variant in (base, np.roll(base, 1, axis=3), np.clip(base * 1.1, 0, 1)):
            spy(variant.astype(np.float32))

    def membership(spy):
        tr, te = v.train_idx, v.test_idx
        get("membership")(n_samples=100).run(MockTarget(spy, INFO), Dataset(
            x=x_test[:10], y=y_test[:10], x_members=v.x[tr], y_members=v.y[tr], x_nonmembers=v.x[te],
            y_nonmembers=v.y[te]), seed=int(rng.integers(1 << 30)))

    def benign_new_data(spy):
        # what users of a deployed model send: new inputs (the test split), with the odd
        # training record among them (2%)
        new = x_test[rng.choice(len(x_test), 196, replace=False)]
        old = v.x[rng.choice(v.train_idx, 4, replace=False)]
        batch = np.concatenate([new, old])[rng.permutation(200)]
        for i in range(0, 200, 4):
            spy(batch[i:i + 4])

    res = {}
    for name, fn, n in (("square", square, 20), ("synthetic_extraction", synthetic_extraction, 20),
                        ("natural_extraction", natural_extraction, 20), ("membership", membership, 20),
                        ("inversion", inversion, 20),
                        ("benign_natural", benign, 100),
                        ("benign_augmenting", augmenting, 100), ("benign_new_data", benign_new_data, 100)):
        firsts = [session(fn) for _ in range(n)]
        detected = [f[0] for f in firsts if f is not None]
        res[name] = {"sessions": n, "alerted": len(detected),
                     "alerted_within_100": sum(1 for f in detected if f <= 100),
                     "median_queries_to_alert": statistics.median(detected) if detected else None,
                     "first_detector": dict(Counter(f[1] for f in firsts if f is not None))}
    res["natural_extraction"]["surrogate_fidelity_median"] = {n: statistics.median(f) for n, f in fidelity.items()}
    res["query_coverage_threshold_cells"] = coverage.threshold
    return res


def coverage_tradeoff(v) -> dict:
    """query-coverage's one knob: for each budget, how soon a natural-data extraction is caught
    and what share of benign 200-query sessions it flags. The detector sees inputs only, so the
    queries alone (no model, no procedure) reproduce what it decides."""
    rng = np.random.default_rng(2)
    x_test = v.x[v.test_idx]

    def first_alert(det, inputs) -> int | None:
        for i in range(0, len(inputs), 4):
            if det.observe(QueryEvent("s", 0.0, inputs[i:i + 4], count=i + 4)):
                return i + 4
        return None

    table = {}
    for budget in (50, 100, 150, 200, 250, 400):
        def fresh(budget=budget):
            return QueryCoverage(Context({"reference": v.x[v.train_idx]}), budget=budget)
        caught = [first_alert(fresh(), x_test[rng.permutation(len(x_test))]) for _ in range(20)]
        benign = [first_alert(fresh(), x_test[rng.choice(len(x_test), 200, replace=False)]) for _ in range(100)]
        table[budget] = {"extraction_median_queries": statistics.median(c if c else 10**9 for c in caught),
                         "extraction_caught": sum(c is not None for c in caught),
                         "benign_200_query_sessions_flagged": sum(b is not None for b in benign)}
    return table


if __name__ == "__main__":
    main()
