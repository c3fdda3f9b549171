"""Two gateway replicas sharing their state through a real redis-server on loopback: measures
reach every replica, one throttle holds across both, volume is counted over both, forwarded
headers are honoured from trusted proxies only, and Redis going away and coming back."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time

import httpx
import pytest

from advmatrix.gateway import GatewayConfig, create_gateway
from tests.conftest import ADMIN, within

redis = pytest.importorskip("redis", reason="redis-py not installed (pip install 'advmatrix[redis]')")
if shutil.which("redis-server") is None:
    pytest.skip("redis-server not installed (apt-get install redis-server)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A throwaway redis-server on a loopback port: no persistence, stoppable and restartable."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def replicas(upstream, tmp_path, redis_server):
    """Start two gateways on one Redis; yields ((url_a, gw_a), (url_b, gw_b))."""
    if redis_server.proc is None:
        redis_server.start()
    redis.Redis(port=redis_server.port).flushall()

    @contextlib.contextmanager
    def start(a: dict | None = None, b: dict | None = None, **common):
        with contextlib.ExitStack() as stack:
            out = []
            for name, own in (("a", a), ("b", b)):
                cfg = GatewayConfig(**{"upstream": upstream, "db": str(tmp_path / f"{name}.db"),
                                       "admin_token": "s3cret", "state": redis_server.url, **common, **(own or {})})
                app = create_gateway(cfg)
                stack.callback(app.state.gateway.close)
                out.append((stack.enter_context(_serve(app)), app.state.gateway))
            yield out

    return start


@contextlib.contextmanager
def _serve(app):
    """``running_server`` as ``monitor`` runs it: uvicorn's own X-Forwarded-For handling off, so
    the gateway's ``trusted_proxies`` alone decides."""
    import threading

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", proxy_headers=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        assert within(10, lambda: server.started), "gateway did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _infer(url: str, key: str | None = "mallory", n: int = 1, **headers: str) -> int:
    if key:
        headers["x-api-key"] = key
    body = {"inputs": [{"name": "input-0", "shape": [n, 1, 8, 8], "datatype": "FP32", "data": [0.5] * (64 * n)}]}
    return httpx.post(url + "/v2/models/digits/infer", headers=headers, json=body).status_code


BLOCK_ON_BIG_BATCH = {"detectors": {"volume": {"max_batch": 2}},
                      "responses": {"volume": {"action": "block", "duration_s": 60}}}


def test_a_block_raised_on_one_replica_holds_on_both_and_an_unblock_on_either_lifts_it(replicas):
    with replicas(**BLOCK_ON_BIG_BATCH) as ((a, _), (b, gw_b)):
        assert _infer(b) == 200
        assert _infer(a, n=3) == 200  # the batch that raises the alert is answered; the client is blocked after
        assert _infer(a) == 403
        assert within(1.0, lambda: _infer(b) == 403)
        assert _infer(b, key="alice") == 200
        assert httpx.delete(b + "/_advmatrix/blocks/" + gw_b.client_id_for("mallory"), headers=ADMIN).json()["shared"]
        assert within(1.0, lambda: _infer(a) == 200) and _infer(b) == 200


def test_a_replica_started_late_loads_the_measures_in_force(replicas, upstream, tmp_path, redis_server):
    with replicas(**BLOCK_ON_BIG_BATCH) as ((a, _), _b):
        _infer(a, n=3)
        cfg = GatewayConfig(upstream=upstream, db=str(tmp_path / "c.db"), state=redis_server.url,
                            **BLOCK_ON_BIG_BATCH)
        app = create_gateway(cfg)
        try:
            with _serve(app) as c:
                assert _infer(c) == 403
        finally:
            app.state.gateway.close()


def test_strict_mode_reads_redis_per_request(replicas, redis_server):
    with replicas(strict=True, **BLOCK_ON_BIG_BATCH) as ((a, gw_a), (b, _)):
        _infer(a, n=3)
        assert within(1.0, lambda: _infer(b) == 403)
        # a lift written to Redis behind the replicas' backs: strict admission sees it at once
        r = redis.Redis(port=redis_server.port)
        r.delete(*r.keys("advmatrix:m:*"))
        assert _infer(b) == 200 and _infer(a) == 200


def test_one_throttle_across_two_replicas(replicas):
    rate, seconds = 5.0, 2.0
    with replicas(detectors={"volume": {"max_batch": 2}},
                  responses={"volume": {"action": "throttle", "rate": rate, "duration_s": 60}}) as ((a, _), (b, gw_b)):
        _infer(a, n=3)
        client = gw_b.client_id_for("mallory")
        assert within(1.0, lambda: any(m["client"] == client for m in gw_b.responder.active()))
        time.sleep(1 / rate)  # a full bucket to start from
        admitted, deadline, i = 0, time.monotonic() + seconds, 0
        while time.monotonic() < deadline:
            admitted += _infer((a, b)[i % 2]) == 200
            i += 1
        assert i > 4 * rate * seconds  # enough tries that two separate buckets would have shown
        assert rate * seconds - 2 <= admitted <= rate * seconds + 2, admitted  # one bucket: not 2 x rate


def test_volume_is_counted_over_both_replicas(replicas):
    with replicas(detectors={"volume": {"max_client_queries": 12, "realert_s": 0}},
                  responses={"volume": {"action": "alert"}}) as ((a, gw_a), (b, gw_b)):
        for i in range(16):  # 8 per replica: under the limit on each, over it together
            assert _infer((a, b)[i % 2]) == 200
        alerts = gw_a.alerts(detector="volume") + gw_b.alerts(detector="volume")
        assert alerts and max(al.evidence["rate"] for al in alerts) > 12


def test_forwarded_headers_are_honoured_only_from_trusted_proxies(replicas):
    with replicas(a={"trusted_proxies": ["127.0.0.0/8", "10.0.0.0/8"]}, b={"trusted_proxies": ["10.0.0.0/8"]},
                  detectors={"volume": {}}) as ((a, gw_a), (b, gw_b)):
        # the client wrote 1.2.3.4 itself; the balancer (10.0.0.9) appended the address it saw
        assert _infer(a, key=None, **{"x-forwarded-for": "1.2.3.4, 6.6.6.6, 10.0.0.9"}) == 200
        assert _infer(a, key=None, forwarded='for="[2001:db8::7]:4711";proto=https') == 200
        assert _infer(b, key=None, **{"x-forwarded-for": "6.6.6.6"}) == 200  # the peer is not trusted by b
        seen_a = {c["client"] for c in httpx.get(a + "/_advmatrix/clients", headers=ADMIN).json()}
        seen_b = {c["client"] for c in httpx.get(b + "/_advmatrix/clients", headers=ADMIN).json()}
        assert seen_a == {"ip:6.6.6.6", "ip:2001:db8::7"} and seen_b == {"ip:127.0.0.1"}
        scope = {"client": ("127.0.0.1", 1), "headers": [(b"x-forwarded-for", b"not-an-ip")]}
        assert gw_a.client_address(scope) == "127.0.0.1"


def test_redis_down_fails_open_or_closed_and_state_resumes_when_it_returns(replicas, redis_server):
    with replicas(a={"state_failure": "open"}, b={"state_failure": "closed"}, **BLOCK_ON_BIG_BATCH) as (
            (a, gw_a), (b, gw_b)):
        assert _infer(a, key="alice") == 200 and _infer(b, key="alice") == 200
        redis_server.stop()
        assert within(2.0, lambda: _infer(b, key="alice") == 503)
        assert all(_infer(a, key="alice") == 200 for _ in range(3))  # open: the proxy keeps serving
        metrics = httpx.get(a + "/_advmatrix/metrics").text
        assert "advmatrix_gateway_state_up 0.0" in metrics
        assert gw_a.state.errors["listen"] >= 1 and 'advmatrix_gateway_state_errors_total{op="listen"}' in metrics
        redis_server.start()
        assert within(5.0, lambda: _infer(b, key="alice") == 200)
        assert within(5.0, lambda: gw_a.state.up)
        _infer(a, n=3)
        assert within(1.0, lambda: _infer(b) == 403)


@pytest.mark.parametrize(("fields", "says"), [
    ({"state": "http://127.0.0.1:6379"}, "expected redis://host:port/db"),
    ({"state": "redis://127.0.0.1:6379/x"}, "expected redis://host:port/db"),
    ({"strict": True}, "strict: needs a shared state"),
    ({"state_failure": "closed"}, "state_failure: needs a shared state"),
    ({"trusted_proxies": ["10.0.0.0/33"]}, "is not an address or CIDR"),
])
def test_state_options_are_validated(fields, says):
    from advmatrix.errors import UsageError
    from advmatrix.gateway import load_config

    with pytest.raises(UsageError, match=says):
        load_config(None, upstream="http://127.0.0.1:1", **fields)


def test_the_state_url_password_never_reaches_the_logs(upstream, tmp_path, caplog):
    import asyncio

    from advmatrix.gateway._state import redacted

    assert redacted("redis://:hunter2@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert redacted("rediss://gw:hunter2@[::1]:6380/1") == "rediss://gw:***@[::1]:6380/1"
    assert redacted("redis://10.0.0.5:6379/0") == "redis://10.0.0.5:6379/0"
    cfg = GatewayConfig(upstream=upstream, db=str(tmp_path / "g.db"), state=f"redis://:hunter2@127.0.0.1:{_free_port()}/0")
    app = create_gateway(cfg)
    gw = app.state.gateway

    async def start_and_stop():
        await gw.state.start(wait_s=0.3)
        await gw.state.aclose()

    with caplog.at_level("INFO", logger="advmatrix.gateway.state"):
        asyncio.run(start_and_stop())
    gw.close()
    assert "not reachable" in caplog.text and "hunter2" not in caplog.text
