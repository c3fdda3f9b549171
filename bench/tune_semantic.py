"""Tune the thresholds of the ``prompt-similarity`` detector on the ``tune`` split of
bench/data/chat_prompts.yaml, then report what they give on both splits.

For each backend the threshold is the lowest score with at most ``--fpr`` (1 %) of the tune
split's benign prompts above it; the test split is only ever measured, never tuned on. The
numbers to copy into ``BACKEND_DEFAULTS`` (src/advmatrix/detect/semantic.py) are printed
first. ``--latency`` adds the time ``on_request`` takes for typical prompts (the benign
user prompts under 600 characters) and for long ones, one CPU thread.

    .venv/bin/python bench/tune_semantic.py [--backend ngrams|embeddings|both] [--latency]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import numpy as np
import yaml

from advmatrix.detect._chat import ChatEvent
from advmatrix.detect.semantic import PromptSimilarity
from advmatrix.protocols import ChatRequest, Message

DATA = ROOT / "bench" / "data" / "chat_prompts.yaml"


def threshold_for(benign_scores: list[float], fpr: float) -> float:
    """The lowest threshold (rounded up to 1e-4) with at most ``fpr`` of ``benign_scores`` above it."""
    ranked = sorted(benign_scores, reverse=True)
    allowed = math.floor(fpr * len(ranked))
    return math.ceil(ranked[allowed] * 1e4) / 1e4


def rates(items: list[dict], scores: dict[str, float], threshold: float) -> dict:
    """TPR and FPR overall and per family."""
    out: dict = {}
    for label, key in (("attack", "tpr"), ("benign", "fpr")):
        group = [i for i in items if i["label"] == label]
        hits = [scores[i["id"]] > threshold for i in group]
        out[key] = round(sum(hits) / len(hits), 3)
        fam = defaultdict(list)
        for i, h in zip(group, hits, strict=True):
            fam[i["family"]].append(h)
        out[f"{key}_by_family"] = {f: f"{sum(v)}/{len(v)}" for f, v in sorted(fam.items())}
    return out


def event(text: str, channel: str) -> ChatEvent:
    messages = [Message("system", "You are the helpful assistant of Bramblemart, a home goods shop.")]
    if channel == "tool_result":
        messages += [Message("user", "Can you look this up for me?"), Message("tool", text, tool_call_id="c1")]
    else:
        messages.append(Message("user", text))
    return ChatEvent("bench", 0.0, ChatRequest("m", messages))


def latency(det: PromptSimilarity, texts: list[str], repeat: int = 3) -> dict:
    events = [event(t, "user") for t in texts]
    for e in events[:20]:
        det.on_request(e)  # warm caches and the model
    times = []
    for _ in range(repeat):
        for e in events:
            t0 = time.perf_counter()
            det.on_request(e)
            times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    return {"n": len(ms), "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "mean_chars": round(float(np.mean([len(t) for t in texts])))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("ngrams", "embeddings", "both"), default="both")
    ap.add_argument("--fpr", type=float, default=0.01)
    ap.add_argument("--latency", action="store_true")
    args = ap.parse_args()
    items = yaml.safe_load(DATA.read_text(encoding="utf-8"))["items"]
    backends = ["ngrams", "embeddings"] if args.backend == "both" else [args.backend]
    report = {}
    for backend in backends:
        if backend == "embeddings":
            from advmatrix.detect._embed import available

            if not available():
                print("embeddings: the 'embed' extra is not installed; skipped", file=sys.stderr)
                continue
        det = PromptSimilarity(backend=backend)
        scores = {i["id"]: det.score(i["text"]) for i in items}
        tune = [i for i in items if i["split"] == "tune"]
        test = [i for i in items if i["split"] == "test"]
        thr = threshold_for([scores[i["id"]] for i in tune if i["label"] == "benign"], args.fpr)
        entry = {"threshold": thr, "tune": rates(tune, scores, thr), "test": rates(test, scores, thr)}
        if args.latency:
            typical = [i["text"] for i in items if i["label"] == "benign" and i["channel"] == "user"
                       and len(i["text"]) < 600]
            long = [i["text"] for i in items if i["family"] == "long"]
            entry["latency"] = {"typical": latency(det, typical), "long": latency(det, long, repeat=1)}
        report[backend] = entry
        print(f"{backend}: threshold {thr}  tune TPR {entry['tune']['tpr']} FPR {entry['tune']['fpr']}  "
              f"test TPR {entry['test']['tpr']} FPR {entry['test']['fpr']}", file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
