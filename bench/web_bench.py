"""Server-side render time of the matrix page for the whole bundled knowledge base
(issue: web navigator, goal < 100 ms). Measures the ASGI app in process, over real HTTP on
loopback, and the template render alone."""

from __future__ import annotations

import json
import statistics
import time

import httpx

from advmatrix.serving import running_server
from advmatrix.web import create_app


def main(runs: int = 50) -> None:
    app = create_app()
    out = {}
    with running_server(app) as url, httpx.Client() as client:
        client.get(url + "/")
        walls = []
        for _ in range(runs):
            start = time.perf_counter()
            r = client.get(url + "/")
            walls.append(time.perf_counter() - start)
        assert r.status_code == 200 and "AI Attack Staging" in r.text
        out["http_get_matrix_ms"] = {"median": statistics.median(walls) * 1000,
                                     "p95": sorted(walls)[int(runs * .95)] * 1000, "bytes": len(r.content)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
