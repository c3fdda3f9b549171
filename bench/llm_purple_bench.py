"""The purple loop over every LLM procedure: the naive local LLM application behind the gateway
(every chat detector on, each alerting only, so the attacks run their course), each procedure
run through it as its own client. Per procedure: success, detected or not, by which detectors,
requests to the first alert, and whether that came before the attack's first success. Writes
the Navigator layer of detection coverage to ``bench/llm-coverage-layer.json`` and prints JSON."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import httpx

from advmatrix.detect import detectors
from advmatrix.emulate import GatewayAdmin, assess, procedures
from advmatrix.gateway import GatewayConfig, create_gateway
from advmatrix.serving import llm_app_description, make_llm_app, running_server

OUT = Path(__file__).parent / "llm-coverage-layer.json"


def main() -> None:
    names = [n for n, cls in procedures().items() if getattr(cls, "target_kind", "") == "chat"]
    chat = [n for n, cls in detectors().items() if cls.modality == "chat" or cls.counts_chat]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp, running_server(make_llm_app("naive")) as app_url:
        prompt = httpx.get(app_url + "/admin/info").json()["system_prompt"]
        cfg = GatewayConfig(upstream=app_url, db=str(Path(tmp) / "gw.db"), admin_token="bench",
                            context={"system_prompt": prompt},
                            detectors={n: {"backend": "ngrams"} if n == "prompt-similarity" else {} for n in chat},
                            responses={n: {"action": "alert"} for n in chat})
        app = create_gateway(cfg)
        try:
            with running_server(app) as url:
                start = time.perf_counter()
                run = assess(llm_app_description(url, system_prompt=prompt), procedures=names,
                             gateway=GatewayAdmin(url, "bench"), out_dir=Path(tmp) / "out")
                wall = time.perf_counter() - start
        finally:
            app.state.gateway.close()
        OUT.write_text((Path(tmp) / "out" / "coverage-layer.json").read_text(encoding="utf-8"), encoding="utf-8")
    findings = {f.procedure: f for f in run.assessment.findings}
    for c in run.assessment.coverage:
        f = findings[c.procedure]
        rows[c.procedure] = {"techniques": list(c.technique_ids), "success": f.success_rate,
                             "detected": c.detected, "detectors": c.detectors, "first_alert": c.queries_to_detection,
                             "first_success": c.first_success_query, "before_success": c.before_success,
                             "requests": c.queries}
    skipped = [f.procedure for f in run.assessment.findings if f.status == "skipped"]
    print(json.dumps({"date": time.strftime("%Y-%m-%d"), "wall_s": round(wall, 1), "procedures": rows,
                      "skipped": skipped, "layer": str(OUT)}, indent=1))


if __name__ == "__main__":
    main()
