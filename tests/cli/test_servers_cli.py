"""The server commands in real processes: the banner names the address really bound, which answers."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

pytest.importorskip("uvicorn")

BANNER = re.compile(r"on (http://127\.0\.0\.1:(\d+))")


def _banner(proc: subprocess.Popen, timeout: float = 120.0) -> str:
    """The first stderr line naming the address, or a failure with what the process said."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if BANNER.search(line):
            return line
    pytest.fail(f"no banner; the process said: {''.join(seen)}")


@pytest.mark.parametrize(("args", "path"), [
    (["serve", "--port", "0"], "/"),
    (["serve-llm-app", "--port", "0"], "/v1/models"),
    (["monitor", "--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:0"], "/_advmatrix/health"),
], ids=["serve", "serve-llm-app", "monitor"])
def test_port_zero_names_the_port_bound(tmp_path, args, path):
    proc = subprocess.Popen([sys.executable, "-m", "advmatrix", *args], cwd=tmp_path, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    try:
        line = _banner(proc)
        url, port = BANNER.search(line).groups()
        assert int(port) > 0, line
        for _ in range(100):  # the banner comes just before uvicorn starts accepting
            try:
                r = httpx.get(url + path, timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert r.status_code == 200, r.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
