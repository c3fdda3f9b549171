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


class _Slow:
    """The application answering chat requests after ``delay`` seconds, as a hosted LLM does."""

    def __init__(self, app, delay: float):
        self.app, self.delay = app, delay

    async def __call__(self, scope, receive, send):
        import asyncio

        if scope["type"] == "http" and scope["path"].endswith("/chat/completions"):
            await asyncio.sleep(self.delay)
        await self.app(scope, receive, send)


def in_flight(delay: float = 0.05) -> dict:
    """Requests per second of one procedure (direct injection, all obfuscations: 108 requests)
    against the naive application answering in ``delay`` seconds, by trials in flight."""
    out = {}
    with running_server(_Slow(make_llm_app("naive"), delay)) as url:
        for concurrency in (1, 4, 16):
            with open_target(llm_app_description(url)) as target:
                start = time.perf_counter()
                f = get("direct-injection")(obfuscations=["all"], concurrency=concurrency).run(target, None)
                wall = time.perf_counter() - start
            out[str(concurrency)] = {"requests": f.queries, "seconds": round(wall, 2),
                                     "requests_per_s": round(f.queries / wall, 1), "success": f.success_rate}
    return out


def main() -> None:
    import sys

    if sys.argv[1:] == ["in-flight"]:
        print(json.dumps({"date": time.strftime("%Y-%m-%d"), "in_flight_50ms": in_flight()}, indent=1))
        return
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
