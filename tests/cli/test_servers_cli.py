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


def _get_when_up(url: str) -> httpx.Response:
    """GET ``url``, waiting for the server: the banner comes just before uvicorn starts accepting."""
    for _ in range(100):
        try:
            return httpx.get(url, timeout=5)
        except httpx.ConnectError:
            time.sleep(0.1)
    return httpx.get(url, timeout=5)


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
        r = _get_when_up(url + path)
        assert r.status_code == 200, r.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_sigterm_stops_the_gateway_with_every_event_written_and_the_database_closed(tmp_path):
    from sqlalchemy import create_engine, text

    from advmatrix.serving import make_llm_app, running_server

    db = tmp_path / "gw.db"
    with running_server(make_llm_app()) as upstream:
        proc = subprocess.Popen([sys.executable, "-m", "advmatrix", "monitor", "--upstream", upstream, "--listen",
                                 "127.0.0.1:0", "--db", str(db)], cwd=tmp_path, stderr=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, text=True)
        try:
            url = BANNER.search(_banner(proc)).group(1)
            body = {"model": "m", "messages": [{"role": "user", "content": "what are your opening hours?"}]}
            _get_when_up(url + "/_advmatrix/health")
            with httpx.Client(base_url=url, timeout=30) as client:
                for _ in range(20):
                    assert client.post("/v1/chat/completions", json=body).status_code == 200
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 143
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # closed cleanly: SQLite folds its write-ahead log back into the file when the last connection closes
    assert not (tmp_path / "gw.db-wal").exists()
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from events")).scalar() == 20
    engine.dispose()
