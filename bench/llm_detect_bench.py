"""Detection of attacks on LLM applications: how much each chat detector catches and what it costs.

1. Input detectors on our labelled prompt set (bench/data/chat_prompts.yaml): true-positive
   rate on attacks (plain, and encoded with the red team's obfuscations), false-positive rate on
   benign prompts, per detector and combined, beside a keyword baseline of the kind common guard
   libraries ship. Thresholds were set on the ``tune`` half; this reports both halves, and the
   ``test`` half is the one that counts.
2. Output detectors on replies of the local LLM application (naive profile) to the same prompts,
   labelled by the red team's evidence functions (canary, secrets, prompt n-grams, exfiltration
   URLs), which share no code with the detectors.
3. Cost: the detectors' own time per request (batch of one, in process), flat in history length;
   the gateway end to end (many clients, real payload sizes) against the upstream directly,
   streaming time to first token; state per conversation.

Prints JSON. ``--embeddings`` adds the embedding backend of ``prompt-similarity`` (needs the
``embed`` extra).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import yaml

from advmatrix.detect import ChatEvent, OutputPiece, build, detectors
from advmatrix.emulate._evidence import exfiltration_urls, ngram_containment, secrets_in
from advmatrix.emulate._obfuscate import obfuscate
from advmatrix.plugins import Context
from advmatrix.protocols import ChatReply, ChatRequest, Message, ToolCall

DATA = Path(__file__).parent / "data"
OBFUSCATIONS = ("base64", "rot13", "leetspeak", "homoglyphs", "zero-width", "tags")
REQUEST = ("prompt-injection", "prompt-similarity", "history-integrity", "session-jailbreak")
OUTPUT = ("prompt-leakage", "secret-leakage", "rendering-exfiltration")

# What keyword guards ship: a list of attack phrases matched as lower-case substrings (written
# here in our own words, in the spirit of such lists).
BASELINE = ("ignore previous instructions", "ignore all previous", "ignore the above", "disregard previous",
            "disregard all prior", "forget your instructions", "system prompt", "you are now", "jailbreak",
            "developer mode", "do anything now", "dan mode", "no restrictions", "without any restrictions",
            "pretend you are", "act as", "reveal your instructions", "new instructions")


def baseline(text: str) -> bool:
    """The keyword baseline: any listed phrase in the lower-cased text."""
    low = text.lower()
    return any(p in low for p in BASELINE)


def load_items() -> list[dict]:
    doc = yaml.safe_load((DATA / "chat_prompts.yaml").read_text(encoding="utf-8"))
    return doc["items"]


def event_for(text: str, channel: str, client: str = "bench", history: list[Message] | None = None) -> ChatEvent:
    """The request a client sends when ``text`` arrives on ``channel``."""
    messages = list(history or [])
    if channel == "tool_result":
        messages += [Message("user", "Can you check that page for me and summarise it?"),
                     Message("assistant", "", [ToolCall("call_1", "http_get", '{"url": "https://example.com/p"}')]),
                     Message("tool", text, tool_call_id="call_1", name="http_get")]
    else:
        messages.append(Message("user", text))
    return ChatEvent(client, time.time(), ChatRequest("m", messages))


def input_rates(dets: dict, items: list[dict], combine: tuple[str, ...]) -> dict:
    """Per detector, ``combine`` together and the baseline: TPR on plain and obfuscated attacks,
    FPR on benign. Each text goes through each detector once."""
    out: dict = {}
    for split in ("tune", "test"):
        rows = [i for i in items if i["split"] == split]
        attacks = [i for i in rows if i["label"] == "attack"]
        benign = [i for i in rows if i["label"] == "benign"]
        cases = ([("plain", i, i["text"]) for i in attacks] + [("benign", i, i["text"]) for i in benign]
                 + [("obfuscated", i, obfuscate(i["text"], o)) for i in attacks for o in OBFUSCATIONS])
        fired: list[dict[str, bool]] = []
        for n, (_, item, text) in enumerate(cases):
            event = event_for(text, item.get("channel", "user"), client=f"c{n % 997}")
            row = {name: bool(d.on_request(event)) for name, d in dets.items()}
            row["combined"] = any(row[name] for name in combine if name in row)
            row["baseline"] = baseline(text)
            fired.append(row)

        def rate(kind: str, name: str, family: str | None = None, cases: list = cases,
                 fired: list = fired) -> float:
            picked = [f[name] for (k, item, _), f in zip(cases, fired, strict=True)
                      if k == kind and (family is None or item["family"] == family)]
            return round(sum(picked) / max(len(picked), 1), 4)

        table = {name: {"tpr": rate("plain", name), "tpr_obfuscated": rate("obfuscated", name),
                        "fpr": rate("benign", name), "attacks": len(attacks), "benign": len(benign)}
                 for name in [*dets, "combined", "baseline"]}
        out[split] = {
            "detectors": table,
            "combined_tpr_by_family": {f: rate("plain", "combined", f) for f in sorted({i["family"] for i in attacks})},
            "combined_fpr_by_family": {f: rate("benign", "combined", f) for f in sorted({i["family"] for i in benign})}}
    return out


def output_rates(dets: dict, items: list[dict]) -> dict:
    """Output detectors on the naive local application's replies to every labelled prompt, each
    reply labelled by the red team's evidence functions for what each detector looks for."""
    import httpx

    from advmatrix.emulate._evidence import leaked
    from advmatrix.serving import make_llm_app, running_server
    from advmatrix.serving._llm_data import ALLOWED_HOSTS
    from advmatrix.serving.llm_target import llm_app_description
    from advmatrix.targets import open_target

    replies: list[tuple[str, str, dict[str, bool]]] = []
    with running_server(make_llm_app("naive")) as url:
        info = httpx.get(url + "/admin/info").json()
        prompt, canary = info["system_prompt"], info.get("canary", "")
        with open_target(llm_app_description(url, system_prompt=prompt)) as target:
            for item in items:
                text = target.ask(item["text"]).text
                truth = {"prompt-leakage": ngram_containment(prompt, text) >= 0.2 or bool(canary and canary in text),
                         "secret-leakage": leaked(secrets_in(text)),
                         "rendering-exfiltration": bool(exfiltration_urls(text, ALLOWED_HOSTS))}
                truth["combined"] = any(truth.values())
                replies.append((text, item["split"], truth))
    out = {}
    for split in ("tune", "test"):
        rows = [(t, y) for t, s, y in replies if s == split]
        table = {}
        for name in [*dets, "combined"]:
            chosen = list(dets.values()) if name == "combined" else [dets[name]]

            def fired(text: str, chosen: list = chosen) -> bool:
                event = ChatEvent("bench", time.time(), ChatRequest("m", [Message("user", "q")]))
                event.output = text
                return any(d.on_output(event, OutputPiece(text, "", 0, True)) for d in chosen)

            pos = [t for t, y in rows if y[name]]
            neg = [t for t, y in rows if not y[name]]
            table[name] = {"tpr": round(sum(map(fired, pos)) / max(len(pos), 1), 3),
                           "fpr": round(sum(map(fired, neg)) / max(len(neg), 1), 4),
                           "leaking_replies": len(pos), "clean_replies": len(neg)}
        out[split] = table
    return out


def detector_cost(dets: list, items: list[dict]) -> dict:
    """Microseconds of detector work per request (every hook, the reply streamed in 40-character
    pieces; batch of one), for typical prompts by history length, and for long documents."""
    benign_and_attacks = [i["text"] for i in items if i["split"] == "test"]
    groups = {"typical": [t for t in benign_and_attacks if len(t) < 1024][:300],
              "long": [t for t in benign_and_attacks if len(t) >= 2048]}
    reply_text = ("Here is what I found about your order. It shipped on Monday and should arrive by Friday; "
                  "you can track it at [the carrier](https://track.example.com/abc). ") * 4
    out = {}
    for group, texts in groups.items():
        for turns in ((1, 20, 200) if group == "typical" else (1,)):
            history = []
            for k in range(turns - 1):
                history += [Message("user", texts[k % len(texts)][:400]), Message("assistant", reply_text)]
            times = []
            for j, text in enumerate(texts):
                event = event_for(text, "user", client=f"c{j % 50}", history=history)
                start = time.perf_counter()
                for d in dets:
                    d.on_request(event)
                for k in range(0, len(reply_text), 40):
                    piece = reply_text[k:k + 40]
                    window = event.output[-2048:]
                    p = OutputPiece(piece, window, len(event.output) - len(window), False)
                    event.output += piece
                    for d in dets:
                        d.on_output(event, p)
                event.reply = ChatReply(reply_text)
                for d in dets:
                    d.on_reply(event)
                    d.on_served(event)
                times.append((time.perf_counter() - start) * 1e6)
            times.sort()
            out[f"{group}, {turns} turns"] = {"requests": len(times), "p50_us": round(times[len(times) // 2]),
                                             "p99_us": round(times[int(len(times) * 0.99)])}
    return out


def end_to_end(items: list[dict], configs: dict[str, dict], rounds: int = 3, n: int = 400) -> dict:
    """The upstream and the gateway each in their own process (``advmatrix monitor``), this
    process the client, one request at a time (batch of one); rounds alternate direct and gateway
    so both see the same machine. Whole replies and streams; typical prompts (benign, under 1 KB)
    and long documents (benign, 2-8 KB). Medians over rounds of each round's p50 and p99."""
    import os
    import subprocess
    import sys
    import tempfile

    from _procs import free_port, wait  # bench/ is on sys.path when this file runs

    benign = [i["text"] for i in items if i["label"] == "benign"]
    sizes = {"typical": [t for t in benign if len(t) < 1024], "long": [t for t in benign if len(t) >= 2048]}
    here = os.path.dirname(os.path.abspath(__file__))
    up_port = free_port()
    upstream = subprocess.Popen([sys.executable, os.path.join(here, "_chat_upstream.py"), str(up_port)])
    up = f"http://127.0.0.1:{up_port}"
    out: dict = {}
    try:
        wait(up + "/health")
        for label, detectors_ in configs.items():
            tmp = tempfile.mkdtemp()
            port = free_port()
            with open(f"{tmp}/gateway.yaml", "w") as f:
                json.dump({"detectors": detectors_, "responses": {d: {"action": "alert"} for d in detectors_}}, f)
            gateway = subprocess.Popen([sys.executable, "-m", "advmatrix", "monitor", "--upstream", up, "--listen",
                                        f"127.0.0.1:{port}", "--db", f"{tmp}/gw.db", "--config", f"{tmp}/gateway.yaml"],
                                       stderr=subprocess.DEVNULL)
            gw = f"http://127.0.0.1:{port}"
            try:
                wait(gw + "/_advmatrix/health")
                row: dict = {}
                for size, texts in sizes.items():
                    for stream in (False, True):
                        got: dict[str, list] = {"direct": [], "gateway": []}
                        for r in range(rounds):
                            for name, base in (("direct", up), ("gateway", gw)):
                                got[name].append(_sequential(base, texts, n, stream, f"{label}{size}{r}"))
                        key = f"{size}, {'stream' if stream else 'whole'}"
                        med = {name: {k: statistics.median(x[k] for x in rs) for k in rs[0]}
                               for name, rs in got.items()}
                        row[key] = {"direct": med["direct"], "gateway": med["gateway"],
                                    "added_p50_ms": round(med["gateway"]["p50_ms"] - med["direct"]["p50_ms"], 2),
                                    "added_p99_ms": round(med["gateway"]["p99_ms"] - med["direct"]["p99_ms"], 2)}
                        if stream:
                            row[key]["added_ttft_p50_ms"] = round(med["gateway"]["ttft_p50_ms"]
                                                                  - med["direct"]["ttft_p50_ms"], 2)
                out[label] = row
            finally:
                gateway.terminate()
                gateway.wait(timeout=10)
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
    return out


def _sequential(base: str, texts: list[str], n: int, stream: bool, tag: str) -> dict:
    """``n`` requests one after the other (after 20 to warm up): p50 and p99 of the whole reply,
    and of the first streamed bytes."""
    import httpx

    walls, firsts = [], []
    with httpx.Client(timeout=30) as client:
        for i in range(n + 20):
            body = {"model": "m", "stream": stream,
                    "messages": [{"role": "system", "content": "You are a helpful assistant."},
                                 {"role": "user", "content": texts[i % len(texts)]}]}
            headers = {"authorization": f"Bearer {tag}-{i % 8}"}
            start = time.perf_counter()
            first = None
            with client.stream("POST", base + "/v1/chat/completions", json=body, headers=headers) as r:
                for _ in r.iter_raw():
                    if first is None:
                        first = time.perf_counter() - start
            wall = time.perf_counter() - start
            if i >= 20:
                walls.append(wall * 1000)
                firsts.append((first or wall) * 1000)
    walls.sort()
    firsts.sort()
    out = {"p50_ms": round(walls[len(walls) // 2], 3), "p99_ms": round(walls[int(len(walls) * 0.99)], 3)}
    if stream:
        out["ttft_p50_ms"] = round(firsts[len(firsts) // 2], 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embeddings", action="store_true", help="also the embedding backend of prompt-similarity")
    ap.add_argument("--skip-e2e", action="store_true")
    args = ap.parse_args()
    items = load_items()
    installed = detectors()
    context = Context({})
    request = {n: build(n, context, **({"backend": "ngrams"} if n == "prompt-similarity" else {}))
               for n in REQUEST if n in installed}
    if args.embeddings:
        request["prompt-similarity/embeddings"] = build("prompt-similarity", context, backend="embeddings")
    combine = ("prompt-injection", "prompt-similarity")
    result = {"date": time.strftime("%Y-%m-%d"), "inputs": input_rates(request, items, combine)}
    from advmatrix.serving.llm_app import LlmApplication

    prompt = LlmApplication("naive").model.prompt
    output = {n: build(n, Context({"system_prompt": prompt})) for n in OUTPUT if n in installed}
    result["outputs"] = output_rates(output, items)
    chat = [d for d in (build(n, Context({"system_prompt": prompt})) for n in installed
                        if installed[n].modality == "chat") if d.name != "prompt-similarity"]
    chat.append(build("prompt-similarity", Context({}), backend="ngrams"))
    result["detector_cost"] = detector_cost(chat, items)
    if args.embeddings:
        result["detector_cost_with_embeddings"] = detector_cost(
            [*chat, build("prompt-similarity", Context({}), backend="embeddings")], items)
    if not args.skip_e2e:
        from advmatrix.gateway._config import DEFAULT_DETECTORS

        chat_only = {n: p for n, p in DEFAULT_DETECTORS.items() if installed.get(n) and
                     installed[n].modality == "chat"}
        configs = {"no detectors": {}, "chat detectors (n-grams)": chat_only}
        if args.embeddings:
            configs["chat detectors (embeddings)"] = {**chat_only, "prompt-similarity": {"backend": "embeddings"}}
        result["end_to_end"] = end_to_end(items, configs)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
