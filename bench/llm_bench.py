"""LLM red team against the local LLM application's three profiles: success rate (with the Wilson
95 % interval) and requests per success of every LLM procedure, plainly and with every
obfuscation; and the ATLAS techniques the LLM procedures cover. Prints JSON."""

from __future__ import annotations

import json
import time

import httpx

from advmatrix.emulate import get, procedures
from advmatrix.serving import llm_app_description, make_llm_app, running_server
from advmatrix.targets import open_target


def main() -> None:
    names = [n for n, cls in procedures().items() if getattr(cls, "target_kind", "") == "chat"]
    out: dict = {"date": time.strftime("%Y-%m-%d"), "profiles": {}}
    for profile in ("naive", "filtered", "hardened"):
        rows = {}
        with running_server(make_llm_app(profile)) as url:
            prompt = httpx.get(url + "/admin/info").json()["system_prompt"]
            for name in names:
                for obfuscations in ([], ["all"]):
                    httpx.post(url + "/admin/reset")
                    with open_target(llm_app_description(url, system_prompt=prompt)) as target:
                        f = get(name)(obfuscations=obfuscations).run(target, None)
                    m = f.metrics
                    key = name + (" +obfuscation" if obfuscations else "")
                    rows[key] = {"status": f.status, "success": f.success_rate, "plain": m.get("success_plain"),
                                 "wilson": [m.get("wilson_low"), m.get("wilson_high")], "requests": f.queries,
                                 "requests_per_success": m.get("queries_per_success"),
                                 "best_obfuscation": max((k for k in m if k.startswith("uplift_")),
                                                         key=lambda k: m[k], default=None) if obfuscations else None}
        out["profiles"][profile] = rows
    covered = sorted({t for n in names for t in procedures()[n].technique_ids})
    out["atlas_covered"] = covered
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
