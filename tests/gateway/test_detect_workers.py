"""Gateway replicas with ``detection: workers``: the classifier detectors run in `advmatrix detect`
workers fed through Redis Streams (a real redis-server on loopback, two replicas, the test CNN
behind them). Alerts and measures reach every replica; a dead worker's shards, its pending
events and the state of its detectors are taken over."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading

import httpx
import numpy as np
import pytest
import yaml

from advmatrix.detect import QueryEvent
from advmatrix.gateway import GatewayConfig
from advmatrix.gateway._stream import GROUP, decode_event, encode_event, epoch_key, lease_key, shard_of, stream_key
from advmatrix.gateway._worker import DetectWorker
from tests.conftest import ADMIN, within
from tests.gateway import test_shared_state as shared  # skips this module where Redis is missing, as that one

redis, _infer = shared.redis, shared._infer
redis_server, replicas = shared.redis_server, shared.replicas  # the fixtures

WORKERS = {"detection": "workers"}
# a stateful detector whose alert needs both replicas' queries: 8 on each, over 12 together
VOLUME_BLOCK = {"detectors": {"volume": {"max_client_queries": 12, "realert_s": 0}},
                "responses": {"volume": {"action": "block", "duration_s": 60}}}


@contextlib.contextmanager
def running_worker(cfg: GatewayConfig, name: str, **options):
    """A DetectWorker on its own loop in a thread; stopped (shards released) on exit."""
    worker = DetectWorker(cfg, name, **options)
    loop = _LOOPS[worker] = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(worker.run(),), daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        loop.call_soon_threadsafe(worker.stop)
        thread.join(timeout=10)
        loop.close()
        del _LOOPS[worker]


_LOOPS: dict[DetectWorker, asyncio.AbstractEventLoop] = {}  # running_worker's, for tests that call into one


def _config(upstream, tmp_path, redis_server, name="w", **fields) -> GatewayConfig:
    return GatewayConfig(**{"upstream": upstream, "db": str(tmp_path / f"{name}.db"), "state": redis_server.url,
                            **WORKERS, **fields})


def test_a_worker_sees_both_replicas_alerts_reach_each_and_the_block_holds_on_both(
        replicas, upstream, tmp_path, redis_server):
    with replicas(**WORKERS, **VOLUME_BLOCK) as ((a, gw_a), (b, gw_b)):
        assert not gw_a.tensor_detectors[0].state_size()  # nothing runs in the replicas
        with running_worker(_config(upstream, tmp_path, redis_server, **VOLUME_BLOCK), "w1", lease_s=0.5) as w:
            assert within(5, lambda: w.owned == {0})
            for i in range(16):
                if _infer((a, b)[i % 2]) != 200:
                    break
            # the alert came from the worker, with the count of both replicas' queries
            assert within(5, lambda: w.alerts >= 1)
            assert within(5, lambda: _infer(a) == 403 and _infer(b) == 403)
            for url in (a, b):
                docs = httpx.get(url + "/_advmatrix/alerts", headers=ADMIN).json()
                assert docs and docs[0]["rule"]["name"] and docs[0]["advmatrix"]["action"] == "block"
                assert 'advmatrix_gateway_stream_events_total{outcome="sent"}' in httpx.get(
                    url + "/_advmatrix/metrics").text
            stored = w.gateway.alerts(detector="volume")
            assert stored and stored[0].client == gw_a.client_id_for("mallory") and stored[0].query_count > 12
            # each replica stored the worker's alert under the ID the worker gave it (and its copies carry)
            uids = {s.uid for s in stored}
            assert None not in uids
            for url in (a, b):
                assert within(5, lambda url=url: {d["event"]["id"] for d in httpx.get(
                    url + "/_advmatrix/alerts", params={"detector": "volume"}, headers=ADMIN).json()} == uids)
            assert _infer(a, key="alice") == 200


def test_a_benign_client_alternating_between_replicas_raises_nothing(replicas, upstream, tmp_path, redis_server,
                                                                   digits):
    with replicas(**WORKERS) as ((a, gw_a), (b, gw_b)):
        with running_worker(_config(upstream, tmp_path, redis_server), "w1", lease_s=0.5) as w:
            assert within(5, lambda: w.owned == {0})
            for i, image in enumerate(digits[0][1000:1060]):  # not the CNN's training digits
                body = {"inputs": [{"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32",
                                    "data": image.ravel().tolist()}]}
                assert httpx.post((a, b)[i % 2] + "/v2/models/digits/infer", json=body,
                                  headers={"x-api-key": "alice"}).status_code == 200
            assert within(5, lambda: w.handled == 60)
            assert w.alerts == 0 and not gw_a.alerts() and not gw_b.alerts()


def _event(client: str, i: int) -> QueryEvent:
    return QueryEvent(client, 1000.0 + i, np.full((1, 1, 8, 8), i / 100, np.float32),
                      np.array([[0.9, 0.1]], np.float32), "/v2/models/digits/infer", count=i + 1)


def test_events_a_dead_worker_read_and_never_acknowledged_are_handled_by_its_successor(
        upstream, tmp_path, redis_server):
    r = redis.Redis(port=redis_server.port)
    r.flushall()
    cfg = _config(upstream, tmp_path, redis_server, **VOLUME_BLOCK)
    key = stream_key(0)
    r.xgroup_create(key, GROUP, id="0", mkstream=True)
    for i in range(20):
        r.xadd(key, encode_event(_event("key:mallory", i)))
    # a worker that read everything and died before acknowledging: no lease left, 20 pending
    r.xreadgroup(GROUP, "dead", {key: ">"}, count=100)
    assert r.xpending(key, GROUP)["pending"] == 20
    with running_worker(cfg, "heir", lease_s=0.5) as w:
        assert within(5, lambda: w.handled == 20)
        assert within(5, lambda: r.xpending(key, GROUP)["pending"] == 0)  # acknowledged after handling
        assert w.alerts == 8 and w.gateway.responder.measures("key:mallory")  # queries 13 to 20


def test_a_successor_rebuilds_the_detectors_state_from_the_shard_history(upstream, tmp_path, redis_server):
    r = redis.Redis(port=redis_server.port)
    r.flushall()
    cfg = _config(upstream, tmp_path, redis_server, **VOLUME_BLOCK)
    key = stream_key(0)
    with running_worker(cfg, "first", lease_s=0.5) as first:
        assert within(5, lambda: first.owned == {0})
        for i in range(10):  # under the limit of 12: no alert yet
            r.xadd(key, encode_event(_event("key:mallory", i)))
        assert within(5, lambda: first.handled == 10) and first.alerts == 0
    with running_worker(cfg, "second", lease_s=0.5) as second:
        assert within(5, lambda: second.owned == {0})
        assert second.replayed == 10 and second.alerts == 0  # replayed silently
        for i in range(10, 13):  # the 13th query of the client crosses the limit: not the 13th after takeover
            r.xadd(key, encode_event(_event("key:mallory", i)))
        assert within(5, lambda: second.alerts == 1)


def test_a_replay_longer_than_the_lease_happens_once(upstream, tmp_path, redis_server):
    r = redis.Redis(port=redis_server.port)
    r.flushall()
    cfg = _config(upstream, tmp_path, redis_server)  # every default detector: a replay that takes a while
    key = stream_key(0)
    r.xgroup_create(key, GROUP, id="0", mkstream=True)
    pipe = r.pipeline()
    for i in range(3000):
        pipe.xadd(key, encode_event(_event(f"key:{i % 300}", i)))
    pipe.execute()
    r.xgroup_setid(key, GROUP, "$")  # all of it handled by an earlier worker: history to replay
    with running_worker(cfg, "heir", lease_s=0.2, replay=2500) as w:
        assert within(20, lambda: w.owned == {0})
        r.xadd(key, encode_event(_event("key:new", 9999)))
        assert within(5, lambda: w.handled == 2501)
        assert w.replayed == 2500  # paged, the lease renewed between pages: not lost and replayed again


def test_a_lapsed_lease_is_taken_back_only_if_no_other_worker_held_it_meanwhile(upstream, tmp_path, redis_server):
    r = redis.Redis(port=redis_server.port)
    r.flushall()
    cfg = _config(upstream, tmp_path, redis_server, **VOLUME_BLOCK)
    key = stream_key(0)
    with running_worker(cfg, "slow", lease_s=60) as w:  # upkeep every 20 s: the test drives it
        assert within(5, lambda: w.owned == {0})
        for i in range(5):
            r.xadd(key, encode_event(_event("key:mallory", i)))
        assert within(5, lambda: w.handled == 5)
        # the lease lapsed while the worker was busy, no one took it: the worker keeps the shard
        # and the detectors' state, nothing is replayed
        r.delete(lease_key(0))
        assert asyncio.run_coroutine_threadsafe(w._upkeep(), _loop_of(w)).result(5) is None
        assert w.owned == {0} and r.get(lease_key(0)) == b"slow" and w.replayed == 0
        # it lapsed and another worker held it in between (the epoch moved on): the shard's state
        # moved on without this worker, which lets go and takes it over afresh from the history
        r.delete(lease_key(0))
        r.incr(epoch_key(0))
        asyncio.run_coroutine_threadsafe(w._upkeep(), _loop_of(w)).result(5)
        assert w.owned == {0} and w.replayed == 5


def _loop_of(worker: DetectWorker) -> asyncio.AbstractEventLoop:
    return _LOOPS[worker]


def test_shards_are_shared_out_and_taken_back_when_a_worker_leaves(upstream, tmp_path, redis_server):
    redis.Redis(port=redis_server.port).flushall()
    cfg = _config(upstream, tmp_path, redis_server, shards=4)
    with running_worker(cfg, "w1", lease_s=0.6) as w1:
        assert within(5, lambda: w1.owned == {0, 1, 2, 3})
        with running_worker(cfg, "w2", lease_s=0.6) as w2:
            assert within(5, lambda: len(w1.owned) == 2 and len(w2.owned) == 2)
            assert not w1.owned & w2.owned
        assert within(5, lambda: w1.owned == {0, 1, 2, 3})


def test_a_killed_worker_process_is_replaced_by_a_standby(upstream, tmp_path, redis_server, replicas):
    with replicas(**WORKERS, **VOLUME_BLOCK) as ((a, gw_a), (b, _)):
        config = tmp_path / "gateway.yaml"
        config.write_text(yaml.safe_dump({**_config(upstream, tmp_path, redis_server, "cli", **VOLUME_BLOCK)
                                         .model_dump(mode="json", exclude_defaults=True)}))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "advmatrix", "detect", "--config", str(config), "--lease", "0.6"]
        first = subprocess.Popen([*cmd, "--name", "first"], env=env, stderr=subprocess.PIPE, text=True)
        try:
            assert "owns shards 0 of 1" in first.stderr.readline() + first.stderr.readline()
            with running_worker(_config(upstream, tmp_path, redis_server, **VOLUME_BLOCK), "standby",
                                lease_s=0.6) as standby:
                for i in range(8):
                    assert _infer((a, b)[i % 2]) == 200
                assert within(5, lambda: standby.owned == set())
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=10)
                assert within(5, lambda: standby.owned == {0})
                for i in range(8):
                    _infer((a, b)[i % 2])
                # 16 in all: the standby, which saw only the last 8 live, alerts on the whole count
                assert within(5, lambda: standby.alerts >= 1)
                assert within(5, lambda: _infer(a) == 403 and _infer(b) == 403)
        finally:
            first.kill()
            first.wait(timeout=10)


def test_event_entries_round_trip_and_foreign_entries_are_refused():
    event = _event("key:x", 3)
    back = decode_event(encode_event(event))
    assert back.client == "key:x" and back.count == 4 and np.array_equal(back.inputs, event.inputs)
    assert back.outputs.dtype == np.float32 and back.path == event.path
    fields = encode_event(event)
    for broken in ({b"h": b"[1,2]"}, {**fields, b"i": fields[b"i"][:-1]}, {b"x": b""},
                   {**fields, b"h": fields[b"h"].replace(b"<f4", b"|O8", 1)}):
        with pytest.raises(ValueError):
            decode_event(broken)
    assert {shard_of(f"key:{i}", 4) for i in range(64)} == {0, 1, 2, 3}
    assert shard_of("key:x", 4) == shard_of("key:x", 4) and shard_of("key:x", 1) == 0


@pytest.mark.parametrize(("fields", "says"), [
    ({"detection": "workers"}, "detection: workers needs a shared state"),
    ({"state": "redis://127.0.0.1:1/0", "shards": 0}, "shards"),
])
def test_worker_options_are_validated(fields, says):
    from advmatrix.errors import UsageError
    from advmatrix.gateway import load_config

    with pytest.raises(UsageError, match=says):
        load_config(None, upstream="http://127.0.0.1:1", **fields)


def test_detect_refuses_a_configuration_without_workers(tmp_path):
    config = tmp_path / "gateway.yaml"
    config.write_text("upstream: http://127.0.0.1:1\nstate: redis://127.0.0.1:1/0\n")
    for args, says in ((["--config", str(config)], "detection: workers"),
                       (["--config", str(tmp_path / "none.yaml")], "no such file")):
        r = subprocess.run([sys.executable, "-m", "advmatrix", "detect", *args], capture_output=True, text=True)
        assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_redis_going_away_drops_and_counts_events_and_detection_resumes_when_it_returns(
        replicas, upstream, tmp_path, redis_server):
    with replicas(**WORKERS, **VOLUME_BLOCK) as ((a, gw_a), (b, _)):
        with running_worker(_config(upstream, tmp_path, redis_server, **VOLUME_BLOCK), "w1", lease_s=0.5) as w:
            assert within(5, lambda: w.owned == {0})
            assert _infer(a, key="alice") == 200 and within(5, lambda: w.handled == 1)
            redis_server.stop()
            assert within(3, lambda: not gw_a.state.up)
            assert all(_infer((a, b)[i % 2], key="alice") == 200 for i in range(4))  # fail open: served
            assert gw_a.stream.dropped >= 2
            redis_server.start()  # empty: no persistence, the stream and its group are gone too
            assert within(10, lambda: gw_a.state.up and w.owned == {0})
            for i in range(16):
                if _infer((a, b)[i % 2]) != 200:
                    break
            assert within(10, lambda: w.alerts >= 1)  # the worker took its shard back and detects again
            assert within(5, lambda: _infer(a) == 403 and _infer(b) == 403)


@pytest.mark.parametrize(("args", "says"), [(["--lease", "0"], "--lease 0.0: must be above 0"),
                                            (["--replay", "-1"], "--replay -1: must be 0 or more")])
def test_detect_names_a_bad_option(tmp_path, args, says):
    config = tmp_path / "gateway.yaml"
    config.write_text("upstream: http://127.0.0.1:1\nstate: redis://127.0.0.1:1/0\ndetection: workers\n"
                      f"db: {tmp_path / 'w.db'}\n")
    r = subprocess.run([sys.executable, "-m", "advmatrix", "detect", "--config", str(config), *args],
                       capture_output=True, text=True)
    assert r.returncode == 2 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1
