"""Our own labelled session corpus for issue 14: attack and benign clients of the digits victim.

Two splits with disjoint images and seeds: the victim's test images at even positions are the
``tune`` split, those at odd positions the ``test`` split. Thresholds are chosen on ``tune`` only.
A third, ``fresh``, draws on the victim's training digits with seeds of its own: once the test
half has prompted a change, it is the held-out run that change has not seen.
Attack classes come from bench/robust_attacks.py; the benign classes model power users that
stateful detectors are known to mistake for attackers (retries, video frames, optimisers, batch
jobs). Sessions are cached under advmatrix's cache directory, keyed by ``VERSION``.

Usage: python bench/robust_corpus.py [tune|test|fresh] [--refresh]   (bench/ must be on sys.path to import it)
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import robust_attacks as ra
from robust_attacks import Request, Session
from scipy import ndimage

from advmatrix._files import atomic_path, cache_dir

__all__ = ["VERSION", "Request", "Session", "corpus"]

VERSION = "1"  # bump when generation changes: the cache key
SPLITS = {"tune": 0, "test": 1, "fresh": 2}
N_ATTACK, N_BENIGN, N_BATCH = 20, 50, 5
NAT_SHARE = 0.1  # benign sessions behind one of a few office NAT addresses


def _victim():
    bench = str(Path(__file__).resolve().parent)
    if bench not in sys.path:
        sys.path.insert(0, bench)
    from _model_server import victim_probs

    return victim_probs()


class _Benign:
    """A benign client: one key, its own address (or an office's), every request recorded."""

    def __init__(self, probs, rng: np.random.Generator, offices: list[str]):
        self.probs = probs
        self.key = ra.new_key(rng)
        self.address = str(rng.choice(offices)) if rng.random() < NAT_SHARE else ra.new_address(rng)
        self.requests: list[Request] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.clip(np.asarray(batch, np.float32).reshape(-1, 1, 8, 8), 0, 1)
        self.requests.append(Request(self.key, self.address, batch))
        return self.probs(batch)


def natural(client: _Benign, x: np.ndarray, rng: np.random.Generator) -> None:
    """200 new digits in batches of 1-8."""
    idx = rng.choice(len(x), 200, replace=False)
    at = 0
    while at < len(idx):
        n = int(rng.integers(1, 9))
        client(x[idx[at:at + n]])
        at += n


def _light_edit(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What an app or a user does to an image before sending it again."""
    a = img[0].astype(np.float64)
    edit = int(rng.integers(4))
    if edit == 0:
        a = a + rng.normal(0, rng.uniform(0.01, 0.03), a.shape)
    elif edit == 1:
        a = a * rng.uniform(0.9, 1.1)
    elif edit == 2:
        a = ndimage.shift(a, (int(rng.integers(-1, 2)), int(rng.choice([-1, 1]))), order=0, mode="constant")
    else:
        z = ndimage.zoom(a, rng.uniform(1.1, 1.3), order=1)
        top, left = (z.shape[0] - 8) // 2, (z.shape[1] - 8) // 2
        a = z[top:top + 8, left:left + 8]
    return np.clip(a, 0, 1)[None].astype(np.float32)


def retries(client: _Benign, x: np.ndarray, rng: np.random.Generator) -> None:
    """50 images, each sent and then re-sent 2-4 times with light edits."""
    for i in rng.choice(len(x), 50, replace=False):
        client(x[i][None])
        for _ in range(int(rng.integers(2, 5))):
            client(_light_edit(x[i], rng)[None])


def video(client: _Benign, x: np.ndarray, rng: np.random.Generator) -> None:
    """10 digits x 20 frames: sub-pixel drift, slow brightness drift, sensor noise; a frame a request."""
    for i in rng.choice(len(x), 10, replace=False):
        velocity = rng.uniform(-0.06, 0.06, 2)
        gain = rng.uniform(-0.01, 0.01)
        noise = rng.uniform(0.005, 0.02)
        for t in range(20):
            a = ndimage.shift(x[i, 0].astype(np.float64), velocity * t, order=1, mode="nearest")
            a = a * (1 + gain * t) + rng.normal(0, noise, a.shape)
            client(a[None, None])


def optimiser(client: _Benign, x: np.ndarray, rng: np.random.Generator) -> None:
    """10 images; per image ~20 steps of a hill-climb over brightness and contrast that raises the
    victim's confidence in the image's own top class, 2-4 candidates a step in one request."""
    for i in rng.choice(len(x), 10, replace=False):
        img = x[i, 0].astype(np.float64)
        out = client(img[None, None])
        top, best = int(out[0].argmax()), float(out[0].max())
        bright, contrast = 0.0, 1.0
        for _ in range(int(rng.integers(16, 25))):
            k = int(rng.integers(2, 5))
            cand = [(bright + rng.normal(0, 0.04), contrast * np.exp(rng.normal(0, 0.06))) for _ in range(k)]
            batch = np.stack([np.clip((img - 0.5) * c + 0.5 + b, 0, 1)[None] for b, c in cand])
            conf = client(batch)[:, top]
            j = int(conf.argmax())
            if conf[j] > best:
                best, (bright, contrast) = float(conf[j]), cand[j]


def batch_job(client: _Benign, x: np.ndarray, rng: np.random.Generator) -> None:
    """The whole split scored once, shuffled, in batches of 32."""
    order = rng.permutation(len(x))
    for at in range(0, len(order), 32):
        client(x[order[at:at + 32]])


_BENIGN: dict[str, tuple[Callable, int]] = {
    "benign-natural": (natural, N_BENIGN),
    "benign-retries": (retries, N_BENIGN),
    "benign-video": (video, N_BENIGN),
    "benign-optimiser": (optimiser, N_BENIGN),
    "benign-batch": (batch_job, N_BATCH),
}
_ATTACKS = ("hopskipjump", "boundary", "square", "simba", "extraction-natural", "extraction-synthetic",
            "square-noise", "interleaved", "rotating-keys", "rotating-botnet")


def _generate(split: str) -> dict[str, list[Session]]:
    import torch

    torch.set_num_threads(1)
    v, probs = _victim()
    # "fresh": digits of the victim's training set (disjoint from both halves) with seeds of their
    # own, for a second held-out run once a fix has been prompted by what the test half showed
    idx = v.train_idx[:len(v.test_idx) // 2] if split == "fresh" else v.test_idx[SPLITS[split]::2]
    x, y = v.x[idx].astype(np.float32), v.y[idx]
    # evasion targets the digits the victim gets right: a wrong answer is no attack success
    right = probs(x).argmax(1) == y
    xe, ye = x[right], y[right]
    base = 1_000_000 * (1 + SPLITS[split])  # seeds: split, then class, then session
    rng = np.random.default_rng(base)
    offices = [ra.new_address(rng) for _ in range(3)]
    out: dict[str, list[Session]] = {}
    for c, kind in enumerate(_ATTACKS):
        seeds = [base + 1000 * c + i for i in range(N_ATTACK)]
        if kind in ("hopskipjump", "boundary", "square", "simba"):
            out[kind] = [ra.evasion(kind, probs, xe, ye, s) for s in seeds]
        elif kind == "extraction-natural":
            out[kind] = [ra.extraction_natural(probs, x, s) for s in seeds]
        elif kind == "extraction-synthetic":
            out[kind] = [ra.extraction_synthetic(probs, x, s) for s in seeds]
        elif kind == "square-noise":
            out[kind] = [ra.square_noise(probs, xe, ye, s) for s in seeds]
        elif kind == "interleaved":
            out[kind] = [ra.interleaved(probs, xe, ye, x, s) for s in seeds]
        else:
            out[kind] = [ra.rotating(probs, xe, ye, s, botnet=kind == "rotating-botnet") for s in seeds]
    for c, (kind, (fn, n)) in enumerate(_BENIGN.items(), start=len(_ATTACKS)):
        out[kind] = []
        for s in (base + 1000 * c + i for i in range(n)):
            srng = np.random.default_rng(s)
            client = _Benign(probs, srng, offices)
            fn(client, x, srng)
            out[kind].append(Session(kind, False, client.requests, None, s))
    return out


def _plain(sessions: dict[str, list[Session]]) -> dict:
    # builtins and arrays only: the classes pickle by module name, which differs between
    # running this file as a script and importing it
    return {k: [(s.kind, s.attack, s.success_at, s.seed, [(r.key, r.address, r.inputs) for r in s.requests])
                for s in v] for k, v in sessions.items()}


def _unplain(data: dict) -> dict[str, list[Session]]:
    return {k: [Session(kind, attack, [Request(*r) for r in reqs], success_at, seed)
                for kind, attack, success_at, seed, reqs in v] for k, v in data.items()}


def corpus(split: str, *, refresh: bool = False) -> dict[str, list[Session]]:
    """Sessions by class for ``split`` ("tune" or "test": disjoint images and seeds). Cached under
    advmatrix's cache directory keyed by ``VERSION``; generated when missing or ``refresh``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, not {split!r}")
    path = cache_dir("bench", f"robust-corpus-v{VERSION}-{split}.pkl")
    if path.exists() and not refresh:
        with open(path, "rb") as f:
            return _unplain(pickle.load(f))
    sessions = _generate(split)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pickle.dump(_plain(sessions), f, protocol=pickle.HIGHEST_PROTOCOL)
    return sessions


def counts(sessions: dict[str, list[Session]]) -> dict[str, dict]:
    """Per class: sessions, queries (samples) in all, median session length and median success_at."""
    rows = {}
    for kind, group in sessions.items():
        lengths = [sum(len(r.inputs) for r in s.requests) for s in group]
        won = [s.success_at for s in group if s.success_at is not None]
        rows[kind] = {"sessions": len(group), "queries": sum(lengths), "median_queries": statistics.median(lengths),
                      "succeeded": len(won) if group[0].attack else None,
                      "median_success_at": statistics.median(won) if won else None}
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("split", nargs="?", default="tune", choices=sorted(SPLITS))
    ap.add_argument("--refresh", action="store_true")
    args = ap.parse_args()
    t = time.perf_counter()
    sessions = corpus(args.split, refresh=args.refresh)
    print(json.dumps({"split": args.split, "version": VERSION, "seconds": round(time.perf_counter() - t, 1),
                      "classes": counts(sessions)}, indent=1))


if __name__ == "__main__":
    main()
