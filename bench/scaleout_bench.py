"""Scale-out benchmarks (issue 17): gateway replicas on Redis, detect workers, campaigns on Ray.

Parts, each printing JSON (``--markdown``: the RESULTS tables instead): ``latency`` (direct vs
gateway in-process vs ``state: redis://`` cached vs ``strict`` vs ``detection: workers``, rounds
alternating between them), ``propagation`` (a block raised on replica A: time until replica B
refuses the key, queries B let through meanwhile), ``worker`` (events/s of one detect worker,
replay speed), ``memory`` (Redis bytes per client and per stream event), ``parity`` (corpus
sessions through one in-process gateway vs two replicas with a detect worker), ``campaign``
(2 targets x 3 procedures, local processes vs ``--executor ray``). All on loopback: a
redis-server started here (no persistence), bench/_model_server.py, ``advmatrix monitor`` and
``advmatrix detect`` as processes of their own.

Usage: python bench/scaleout_bench.py [PART ...] [--smoke] [--save FILE] [--markdown] [--from FILE]
Exit codes: 0 done, 2 unknown part or no redis-server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the helpers beside this file
from _lab import Lab, _alerts
from _model_server import victim_probs as _victim
from _procs import within
from gateway_bench import populate, sequential, throughput

PARTS = ("latency", "propagation", "worker", "memory", "parity", "campaign")
#: the gateway's default classifier detectors
DEFAULTS = {"boundary-search": {}, "structured-search": {}, "segment-search": {}, "noise-probe": {},
            "key-rotation": {}, "coordinate-probe": {}, "similarity-search": {}, "prada": {}, "volume": {}}
#: the same, volume sized above the bench's own load (as gateway_bench does) so that the load
#: itself is not throttled as a denial of service
LOADED = {**DEFAULTS, "volume": {"max_client_queries": 10**6, "max_total_queries": 10**7}}
FULL = {"rounds": 3, "n": 1000, "seconds": 5.0, "trials": 20, "events": 20_000, "clients": 10_000,
        "sessions": 10, "max_requests": 300}
SMOKE = {"rounds": 1, "n": 200, "seconds": 2.0, "trials": 3, "events": 2_000, "clients": 300,
         "sessions": 3, "max_requests": 80}
INFER = "/v2/models/digits/infer"


def latency(k: dict) -> dict:
    """p50/p99 and throughput of each configuration, medians over alternating rounds."""
    v, _probs = _victim()
    with Lab() as lab:
        workers = {"detectors": LOADED, "state": lab.redis_url, "detection": "workers"}
        bases = {"direct": lab.model_server(), "in_process": lab.monitor("inproc", detectors=LOADED),
                 "redis_cached": lab.monitor("cached", detectors=LOADED, state=lab.redis_url),
                 "redis_strict": lab.monitor("strict", detectors=LOADED, state=lab.redis_url, strict=True),
                 "workers": lab.monitor("workers", **workers)}
        lab.detect("worker", **{**workers, "db": str(lab.tmp / "worker.db")})
        rounds: dict[str, list[dict]] = {name: [] for name in bases}
        for r in range(k["rounds"]):
            for name, base in bases.items():
                walls = sequential(base, v, k["n"], warmup=50 if r == 0 else 0, tag=f"{name}{r}")
                rps = asyncio.run(throughput(base, v, seconds=k["seconds"], tag=f"{name}{r}"))
                rounds[name].append({"p50_ms": walls[len(walls) // 2], "p99_ms": walls[int(len(walls) * 0.99)],
                                     "requests_per_s": rps})
    out: dict = {name: {m: statistics.median(x[m] for x in rs) for m in rs[0]} for name, rs in rounds.items()}
    for name, over in (("in_process", "direct"), ("redis_cached", "in_process"), ("redis_strict", "in_process"),
                       ("workers", "in_process")):
        for m in ("p50", "p99"):
            out[name][f"added_{m}_ms"] = out[name][f"{m}_ms"] - out[over][f"{m}_ms"]
    return {**out, "requests_per_round": k["n"], "throughput_s": k["seconds"], "rounds": rounds}


def _post(c: httpx.Client, base: str, key: str, n: int = 1) -> int:
    body = {"inputs": [{"name": "input-0", "shape": [n, 1, 8, 8], "datatype": "FP32", "data": [0.5] * (64 * n)}]}
    return c.post(base + INFER, json=body, headers={"x-api-key": key}).status_code


def propagation(k: dict) -> dict:
    """Per trial: a fresh key hammered on B; a batch of 3 to A raises a block there (volume
    max_batch 2); from the alert's stored time to B's first 403, and B's 200s started after it."""
    from advmatrix.detect import client_key_id

    trials = []
    with Lab() as lab:
        block = {"detectors": {"volume": {**LOADED["volume"], "max_batch": 2}}, "state": lab.redis_url,
                 "responses": {"volume": {"action": "block", "duration_s": 600}}}
        a, b = lab.monitor("a", **block), lab.monitor("b", **block)
        for t in range(k["trials"]):
            key, seen, stop = f"prop-{t}-{time.time_ns()}", [], threading.Event()

            def hammer(key=key, seen=seen, stop=stop) -> None:
                with httpx.Client() as c:
                    while not stop.is_set() and (not seen or seen[-1][2] != 403):
                        t0, status = time.time(), _post(c, b, key)
                        seen.append((t0, time.time(), status))
            thread = threading.Thread(target=hammer)
            thread.start()
            time.sleep(0.3)
            with httpx.Client() as c:
                assert _post(c, a, key, n=3) == 200
                replied = time.time()
            thread.join(timeout=5)
            stop.set()
            thread.join()
            trials.append((client_key_id(key), replied, seen))
            time.sleep(0.2)
        lab.stop()  # the alerts are flushed to the store on the way out
        alerted = {al.client: al.time for al in _alerts(lab.tmp / "a.db")}
    rows = []
    for client, replied, seen in trials:
        at = alerted.get(client, replied)
        first = next((t1 for _t0, t1, s in seen if s == 403), None)
        rows.append({"alert_stored": client in alerted, "ms_to_b": None if first is None else (first - at) * 1000,
                     "ms_from_a_reply": None if first is None else (first - replied) * 1000,
                     "let_through": sum(1 for t0, _t1, s in seen if s == 200 and t0 >= at)})
    reached = [r["ms_to_b"] for r in rows if r["ms_to_b"] is not None]
    through = [r["let_through"] for r in rows]
    return {"trials": len(rows), "reached_b": len(reached), "ms_median": statistics.median(reached) if reached
            else None, "ms_max": max(reached, default=None), "let_through_median": statistics.median(through),
            "let_through_max": max(through), "rows": rows}


def _events(v, probs, n: int, clients: int) -> list:
    """``n`` events: natural digits, lightly varied, from ``clients`` keys, the victim's outputs."""
    from advmatrix.detect import QueryEvent

    rng = np.random.default_rng(3)
    x = np.clip(v.x[rng.integers(0, len(v.x), n)] + rng.normal(0, 0.05, (n, 1, 8, 8)), 0, 1).astype(np.float32)
    y = probs(x).astype(np.float32)
    who, counts, start = rng.integers(0, clients, n), np.zeros(clients, int), time.time() - n * 0.003
    out = []
    for i, c in enumerate(who):
        counts[c] += 1
        out.append(QueryEvent(f"key:c{c}", start + i * 0.003, x[i:i + 1], y[i:i + 1], INFER, 200, 540, 2.0,
                              int(counts[c]), f"198.51.{c % 250}.{c % 200 + 1}"))
    return out


def _run_worker(cfg, name: str, until, replay: int) -> tuple:
    """A DetectWorker on this thread's own loop until ``until(worker)``: (worker, seconds from
    run() to owning the shard, seconds from then to ``until``)."""
    from advmatrix.gateway._worker import DetectWorker

    marks: dict[str, float] = {}
    # a lease far longer than the replay: one that expires during it makes the worker take the
    # shard again and replay anew, over and over
    worker = DetectWorker(cfg, name, lease_s=60.0, replay=replay,
                          on_shards=lambda owned: marks.setdefault("owned", time.perf_counter()))

    async def go() -> None:
        task = asyncio.get_running_loop().create_task(worker.run())
        marks["run"] = time.perf_counter()
        while not until(worker) and not task.done():
            await asyncio.sleep(0.005)
        marks["done"] = time.perf_counter()
        worker.stop()
        await task
    asyncio.run(go())
    return worker, marks["owned"] - marks["run"], marks["done"] - marks["owned"]


def worker(k: dict) -> dict:
    """Events/s of one worker (default classifier detectors) over a pre-filled shard; then how
    fast a successor replays that history (its start-up less the first worker's)."""
    from advmatrix.gateway import GatewayConfig
    from advmatrix.gateway._stream import META, encode_event, stream_key

    v, probs = _victim()
    n, clients = k["events"], max(k["events"] // 20, 1)
    events = _events(v, probs, n, clients)
    with Lab() as lab:
        cfg = GatewayConfig(upstream="http://127.0.0.1:9", db=str(lab.tmp / "w.db"), state=lab.redis_url,
                            detection="workers", detectors=LOADED)
        lab.redis.set(META, 1)
        for at in range(0, n, 1000):
            pipe = lab.redis.pipeline(transaction=False)
            for e in events[at:at + 1000]:
                pipe.xadd(stream_key(0), encode_event(e))
            pipe.execute()
        first, start_s, live_s = _run_worker(cfg, "first", lambda w: w.handled >= n, replay=0)
        # the CLI's default replay: a longer history, read in one XREVRANGE, outlasts the shared
        # state's 0.5 s socket timeout on this machine and the takeover stalls until the lease expires
        second, replay_start_s, _ = _run_worker(cfg, "second", lambda w: bool(w.owned), replay=min(n, 10_000))
    return {"events": n, "clients": clients, "handled": first.handled, "alerts": first.alerts, "seconds": live_s,
            "events_per_s": first.handled / live_s, "start_s": start_s, "replayed": second.replayed,
            "replay_start_s": replay_start_s,
            "replay_events_per_s": second.replayed / max(replay_start_s - start_s, 1e-9)}


def memory(k: dict) -> dict:
    """Redis memory before and after ``clients`` clients x 3 queries through one replica, with
    in-process detection (shared volume counters) and with detection: workers (the stream)."""
    from advmatrix.gateway._stream import stream_key

    v, _probs = _victim()
    out: dict = {"clients": k["clients"], "queries_per_client": 3}
    # a volume window longer than the run: no counter expires while the clients are counted
    detectors = {**LOADED, "volume": {**LOADED["volume"], "window_s": 3600}}
    with Lab() as lab:
        r = lab.redis

        def used() -> dict[str, int]:
            info = r.info("memory")
            return {"used_memory": info["used_memory"], "dataset": info["used_memory_dataset"], "keys": r.dbsize(),
                    "connections": r.info("clients")["connected_clients"]}
        for mode, fields in (("in_process", {}), ("workers", {"detection": "workers"})):
            base = lab.monitor(mode, detectors=detectors, state=lab.redis_url, **fields)
            r.execute_command("MEMORY", "PURGE")
            before = used()
            asyncio.run(populate(base, v, k["clients"]))
            time.sleep(1.0)  # the last writes go out after the replies
            row = {m: x - before[m] for m, x in used().items()}
            sample = [r.memory_usage(key, samples=0) for _, key in
                      zip(range(500), r.scan_iter(match="advmatrix:v:key:*", count=1000), strict=False)]
            row.update(bytes_per_client=row["used_memory"] / k["clients"],
                       dataset_bytes_per_client=row["dataset"] / k["clients"],
                       client_key_bytes=statistics.mean(sample) if sample else 0)
            if mode == "workers":
                xlen, usage = r.xlen(stream_key(0)), r.memory_usage(stream_key(0), samples=0)
                row.update(stream_events=xlen, stream_bytes=usage, bytes_per_event=usage / max(xlen, 1))
            out[mode] = row
            r.flushall()
    return out


def _sessions(k: dict) -> tuple[list, str]:
    """Attack sessions (one key each) and benign sessions of the cached corpus's test half,
    round-robin over the classes; a small synthetic set when the cache is missing."""
    import robust_corpus
    from robust_attacks import Request, Session

    from advmatrix._files import cache_dir

    n = k["sessions"]
    if cache_dir("bench", f"robust-corpus-v{robust_corpus.VERSION}-test.pkl").exists():
        data = robust_corpus.corpus("test")
        attack = [c for c, s in data.items() if s[0].attack and len({r.key for r in s[0].requests}) == 1]
        benign = [c for c, s in data.items() if not s[0].attack]
        return ([data[c][i // len(g)] for g in (attack, benign) for i, c in zip(range(n), g * n, strict=False)],
                f"robust corpus v{robust_corpus.VERSION}, test half")
    v, _ = _victim()
    rng = np.random.default_rng(7)
    x = v.x[v.test_idx]
    pick = []
    for i in range(n):  # an attacker re-querying one digit with small perturbations; a benign user
        d = x[rng.integers(len(x))]
        pick.append(Session("synthetic-probe", True, [Request(f"atk{i}", f"203.0.113.{i + 1}", np.clip(
            d + rng.normal(0, 0.02, d.shape), 0, 1)[None].astype(np.float32)) for _ in range(150)], None, i))
        pick.append(Session("synthetic-benign", False, [Request(f"ben{i}", f"198.51.100.{i + 1}", x[j][None])
                                                          for j in rng.choice(len(x), 150, replace=False)], None, i))
    return pick, "synthetic (robust corpus cache missing)"


def _send(sessions: list, bases: list[str], prefix: str, cap: int) -> list[set[str]]:
    """Each session's requests (their addresses as X-Forwarded-For), alternating over ``bases``
    per query, up to the first refusal; the client ids each session used."""
    from advmatrix.detect import client_key_id

    used = []
    with httpx.Client(timeout=30) as c:
        for s in sessions:
            keys: set[str] = set()
            for i, r in enumerate(s.requests[:cap]):
                keys.add(client_key_id(f"{prefix}-{r.key}"))
                body = {"inputs": [{"name": "input-0", "shape": list(r.inputs.shape), "datatype": "FP32",
                                    "data": r.inputs.astype(np.float32).ravel().tolist()}]}
                if c.post(bases[i % len(bases)] + INFER, json=body, headers={
                        "x-api-key": f"{prefix}-{r.key}", "x-forwarded-for": r.address}).status_code != 200:
                    break
            used.append(keys)
    return used


def _first(alerts: list, keys: set[str]) -> dict:
    """The query count at the first alert naming one of ``keys`` (None: none did), and its detector."""
    mine = [a for a in alerts if a.client in keys or keys & set(a.evidence.get("keys") or ())]
    first = min(mine, key=lambda a: a.query_count, default=None)
    return {"at": first and first.query_count, "by": first and first.detector}


def parity(k: dict) -> dict:
    """The same sessions through (a) one in-process gateway and (b) two replicas with a detect worker."""
    from advmatrix.gateway._stream import GROUP, stream_key

    sessions, source = _sessions(k)
    trust = {"detectors": DEFAULTS, "trusted_proxies": ["127.0.0.0/8"]}
    with Lab() as lab:
        one = lab.monitor("one", **trust)
        shared = {**trust, "state": lab.redis_url, "detection": "workers"}
        replicas = [lab.monitor("r1", **shared), lab.monitor("r2", **shared)]
        lab.detect("pw", **{**shared, "db": str(lab.tmp / "pw.db")})
        t = time.perf_counter()
        used_a = _send(sessions, [one], "a", k["max_requests"])
        used_b = _send(sessions, replicas, "b", k["max_requests"])

        def drained() -> bool:  # everything in the shard read and acknowledged
            group = {g["name"]: g for g in lab.redis.xinfo_groups(stream_key(0))}.get(GROUP.encode())
            return bool(group) and not group["pending"] and \
                group["last-delivered-id"] == lab.redis.xinfo_stream(stream_key(0))["last-generated-id"]
        done = within(120, drained)
        time.sleep(1.0)
        lab.stop()
        alerts_a, alerts_b = _alerts(lab.tmp / "one.db"), _alerts(*(lab.tmp / f"{n}.db" for n in ("pw", "r1", "r2")))
    rows = []
    for s, a, b in zip(sessions, used_a, used_b, strict=True):
        fa, fb = _first(alerts_a, a), _first(alerts_b, b)
        rows.append({"class": s.kind, "attack": s.attack, "in_process": fa["at"], "replicas": fb["at"],
                     "detectors": [fa["by"], fb["by"]]})
    both = [r["replicas"] - r["in_process"] for r in rows if r["attack"] and None not in (r["in_process"],
                                                                                           r["replicas"])]
    out = {"source": source, "requests_capped_at": k["max_requests"], "worker_drained": done,
           "seconds": time.perf_counter() - t, "median_diff_queries_to_first_alert": statistics.median(both)
           if both else None, "sessions_differing": sum((r["in_process"] is None) != (r["replicas"] is None)
                                                        for r in rows)}
    for kind, attack in (("attack", True), ("benign", False)):
        group = [r for r in rows if r["attack"] == attack]
        out[f"{kind}_sessions"] = len(group)
        out.update({f"{kind}_alerted_{side}": sum(r[side] is not None for r in group)
                    for side in ("in_process", "replicas")})
    out["new_false_positives"] = sum(r["replicas"] is not None and r["in_process"] is None for r in rows
                                     if not r["attack"])
    return {**out, "rows": rows}


def campaign(k: dict) -> dict:
    """Wall time of ``advmatrix campaign`` (2 targets x 3 procedures, --workers 2), local and on a
    local Ray cluster, alternating over the rounds; whether both stored the same outcomes."""
    import torch

    v, _ = _victim()
    out: dict = {"local": {"walls": []}, "ray": {"walls": []}}
    with Lab() as lab:
        torch.save(v.module, lab.tmp / "cnn.pt")
        target = f"{{protocol: torch, path: {lab.tmp / 'cnn.pt'}, input_shape: [1, 8, 8], classes: 10, output: logits}}"
        (lab.tmp / "plan.yaml").write_text(
            "name: scaleout-bench\nseed: 0\nprocedures:\n  discovery: {n_probes: 32}\n  fgsm: {n_samples: 16}\n"
            f"  square: {{n_samples: 4, max_iter: 100}}\ntargets:\n  - name: cnn-a\n    target: {target}\n"
            f"  - name: cnn-b\n    target: {target}\n")
        for r in range(k["rounds"]):
            for executor in ("local", "ray"):
                t = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "advmatrix", "campaign", str(lab.tmp / "plan.yaml"),
                                       "--db", str(lab.tmp / f"{executor}{r}.db"), "--executor", executor,
                                       "--workers", "2", "--json"], capture_output=True, text=True, timeout=900)
                if done.returncode != 0:
                    out[executor]["error"] = done.stderr.strip().splitlines()[-1:]
                    continue
                out[executor]["walls"].append(time.perf_counter() - t)
                data = json.loads(done.stdout)
                found = [(u, data["findings"][u["finding"]]) for u in data["units"]]
                out[executor]["outcome"] = sorted((u["key"], u["status"], f["success_rate"], f["queries"])
                                                  for u, f in found)
        start = subprocess.run([sys.executable, "-c", "import time, ray; t = time.perf_counter(); "
                                "ray.init(num_cpus=2, include_dashboard=False, _node_ip_address='127.0.0.1', "
                                "logging_level='ERROR'); print(time.perf_counter() - t); ray.shutdown()"],
                               capture_output=True, text=True, timeout=300)
    out["ray_init_s"] = float(start.stdout.split()[-1]) if start.returncode == 0 else None
    for side in ("local", "ray"):
        out[side]["wall_s"] = statistics.median(out[side]["walls"]) if out[side]["walls"] else None
    outcomes = out["local"].get("outcome"), out["ray"].get("outcome")
    out["same_outcomes"] = None if None in outcomes else outcomes[0] == outcomes[1]
    return out


def _f(x, fmt=".2f") -> str:
    return "–" if x is None else format(x, fmt)


def _table(head: str, rows: list[tuple]) -> list[str]:
    return [head, "|---" * (head.count("|") - 1) + "|", *("| " + " | ".join(map(str, r)) + " |" for r in rows), ""]


def markdown(res: dict) -> str:
    """The results as RESULTS.md tables (parts not run are left out)."""
    md: list[str] = []
    if r := res.get("latency"):
        labels = {"direct": "model server direct", "in_process": "gateway, in-process state (added: vs direct)",
                  "redis_cached": "state: redis, cached admission", "redis_strict": "state: redis, strict: true",
                  "workers": "state: redis, detection: workers + 1 detect worker"}
        md += _table("| configuration | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s, 16 in flight |", [
            (label, _f(r[key]["p50_ms"]), _f(r[key]["p99_ms"]), _f(r[key].get("added_p50_ms")),
             _f(r[key].get("added_p99_ms")), _f(r[key]["requests_per_s"], ".0f")) for key, label in labels.items()])
    if r := res.get("propagation"):
        md += _table("| block raised on A, a client hammering B | median | max |", [
            (f"ms from A's alert to B's first 403 ({r['reached_b']}/{r['trials']} trials)",
             _f(r["ms_median"], ".1f"), _f(r["ms_max"], ".1f")),
            ("queries B let through meanwhile", r["let_through_median"], r["let_through_max"])])
    if r := res.get("worker"):
        md += _table("| one detect worker, default classifier detectors | events / s |", [
            (f"live ({r['events']} events from {r['clients']} clients)", _f(r["events_per_s"], ".0f")),
            ("replay when taking a shard over", _f(r["replay_events_per_s"], ".0f"))])
    if r := res.get("memory"):
        a, w = r["in_process"], r["workers"]
        md += _table(f"| Redis memory, {r['clients']} clients x 3 queries | bytes |", [
            ("per client, used_memory (shared volume counters)", _f(a["bytes_per_client"], ".0f")),
            (f"per client, dataset ({a['keys']} keys, {a['client_key_bytes']:.0f} B each)",
             _f(a["dataset_bytes_per_client"], ".0f")),
            ("per client, used_memory with detection: workers", _f(w["bytes_per_client"], ".0f")),
            ("per stream event (MEMORY USAGE / XLEN)", _f(w["bytes_per_event"], ".0f"))])
    if r := res.get("parity"):
        md += _table("| 2 replicas + 1 detect worker vs one in-process gateway | value |", [
            (f"attack sessions detected, of {r['attack_sessions']} (in-process / replicas)",
             f"{r['attack_alerted_in_process']} / {r['attack_alerted_replicas']}"),
            ("sessions detected by one and not the other", r["sessions_differing"]),
            ("median difference in queries to first alert", _f(r["median_diff_queries_to_first_alert"], ".1f")),
            (f"benign sessions alerted, of {r['benign_sessions']} (in-process / replicas)",
             f"{r['benign_alerted_in_process']} / {r['benign_alerted_replicas']}"),
            ("new false positives", r["new_false_positives"])])
    if r := res.get("campaign"):
        md += _table("| campaign, 2 targets x 3 procedures, --workers 2 | wall s |", [
            ("local processes", _f(r["local"].get("wall_s"), ".1f")),
            ("--executor ray (local cluster, 2 CPUs)", _f(r["ray"].get("wall_s"), ".1f")),
            ("of which ray.init alone", _f(r.get("ray_init_s"), ".1f"))])
    return "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    """Run the parts named (all when none)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parts", nargs="*", metavar="PART", help=f"any of {', '.join(PARTS)} (default: all)")
    ap.add_argument("--smoke", action="store_true", help="small sizes, to check that each part runs")
    ap.add_argument("--save", metavar="FILE", help="also write the JSON results here")
    ap.add_argument("--markdown", action="store_true", help="print the RESULTS tables instead of JSON")
    ap.add_argument("--from", dest="load", metavar="FILE", help="tables from saved results (runs nothing)")
    args = ap.parse_args(argv)
    if args.load:
        print(markdown(json.loads(Path(args.load).read_text())["parts"]))
        return 0
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown or shutil.which("redis-server") is None:
        print(f"scaleout_bench: unknown part {', '.join(unknown)} (parts: {', '.join(PARTS)})" if unknown else
              "scaleout_bench: redis-server not found (apt-get install redis-server)", file=sys.stderr)
        return 2
    sizes = SMOKE if args.smoke else FULL
    out = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "smoke": args.smoke, "sizes": sizes,
           "parts": {}}
    for part in args.parts or PARTS:
        t = time.perf_counter()
        out["parts"][part] = globals()[part](sizes)
        out["parts"][part]["part_s"] = time.perf_counter() - t
        if not args.markdown:
            print(json.dumps({part: out["parts"][part]}, indent=1, default=str), flush=True)
    if args.save:
        Path(args.save).write_text(json.dumps(out, indent=1, default=str))
    if args.markdown:
        print(markdown(out["parts"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
