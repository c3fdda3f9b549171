"""SIEM sinks against real loopback servers: a Splunk HEC and Elasticsearch ``_bulk`` endpoint
(failing on purpose to exercise retries and per-item errors), RFC 5424 syslog listeners over UDP
and TCP, and a SIEM that never answers while the gateway keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import statistics
import threading
import time

import httpx
import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from advmatrix.detect import Detector
from advmatrix.gateway import GatewayConfig, create_gateway, load_config
from advmatrix.gateway._config import ElasticsearchSink, SplunkHecSink, SyslogSink
from advmatrix.gateway._sinks import Elasticsearch, SplunkHec, Syslog, syslog_message
from advmatrix.report.ecs import to_ecs
from advmatrix.serving import ServedModel, make_app, running_server
from advmatrix.store import Alert

ONE = {"inputs": [{"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": [0.0] * 64}]}


class Siem:
    """A loopback SIEM speaking HEC and ``_bulk``: the first ``fail`` requests get 503; a document
    whose message holds 'bad' is refused item by item, one holding 'busy' gets 429 once."""

    def __init__(self, fail: int = 0):
        self.fail = fail
        self.requests: list[tuple[str, dict, bytes]] = []
        self.hec: list[dict] = []
        self.es: list[dict] = []
        self.busy_seen: set[str] = set()
        app = FastAPI()

        @app.post("/services/collector/event")
        async def hec(request: Request):
            body = await request.body()
            self.requests.append(("hec", dict(request.headers), body))
            if self._failing():
                return JSONResponse({"text": "Server is busy", "code": 9}, 503)
            decoder, pos, events = json.JSONDecoder(), 0, []
            while pos < len(body):  # concatenated JSON objects, as HEC takes them
                event, pos = decoder.raw_decode(body.decode(), pos)
                events.append(event)
            self.hec.extend(events)
            return {"text": "Success", "code": 0}

        @app.post("/_bulk")
        async def bulk(request: Request):
            body = await request.body()
            self.requests.append(("es", dict(request.headers), body))
            if self._failing():
                return Response(status_code=503)
            lines = body.decode().splitlines()
            items = []
            for action, source in zip(lines[::2], lines[1::2], strict=True):
                doc = json.loads(source)
                if "bad" in doc["message"]:
                    items.append({"create": {"status": 400, "error": {"type": "mapper_parsing_exception"}}})
                elif "busy" in doc["message"] and doc["message"] not in self.busy_seen:
                    self.busy_seen.add(doc["message"])
                    items.append({"create": {"status": 429, "error": {"type": "es_rejected_execution_exception"}}})
                else:
                    self.es.append({"action": json.loads(action), "doc": doc})
                    items.append({"create": {"status": 201, "result": "created"}})
            return {"took": 1, "errors": any(i["create"]["status"] > 299 for i in items), "items": items}

        self.app = app

    def _failing(self) -> bool:
        if self.fail > 0:
            self.fail -= 1
            return True
        return False


def parse_5424(frame: bytes) -> dict:
    """An RFC 5424 message: header fields, structured data {SD-ID: [(name, value)]} and MSG."""
    text = frame.decode("utf-8")
    m = re.match(r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) ", text)
    assert m, text
    rest, sd = text[m.end():], {}
    while rest.startswith("["):
        sd_id, rest = re.match(r"\[([^ \]=\"]+)", rest).group(1), rest[len(re.match(r"\[[^ \]=\"]+", rest)[0]):]
        params = sd.setdefault(sd_id, [])
        while rest.startswith(" "):
            pm = re.match(r' ([^ =\]"]+)="((?:[^"\\]|\\.)*)"', rest)
            params.append((pm.group(1), re.sub(r"\\(.)", r"\1", pm.group(2))))
            rest = rest[pm.end():]
        assert rest.startswith("]"), rest
        rest = rest[1:]
    return {"pri": int(m.group(1)), "timestamp": m.group(2), "host": m.group(3), "app": m.group(4),
            "procid": m.group(5), "msgid": m.group(6), "sd": sd, "msg": rest.removeprefix(" ")}


class SyslogListener:
    """UDP and TCP (octet counting) syslog receivers on free loopback ports, on their own loop."""

    def __init__(self):
        self.frames: dict[str, list[dict]] = {"udp": [], "tcp": []}
        self.writers: list[asyncio.StreamWriter] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> SyslogListener:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)
        return self

    async def _start(self) -> None:
        frames = self.frames

        class Udp(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                frames["udp"].append(parse_5424(data))

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
            self.writers.append(writer)
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                while True:
                    length = int((await reader.readuntil(b" "))[:-1])  # RFC 6587 3.4.1: MSG-LEN SP MSG
                    frames["tcp"].append(parse_5424(await reader.readexactly(length)))
            writer.close()

        self.udp, _ = await self.loop.create_datagram_endpoint(Udp, local_addr=("127.0.0.1", 0))
        self.tcp = await asyncio.start_server(tcp, "127.0.0.1", 0)
        self.udp_port = self.udp.get_extra_info("sockname")[1]
        self.tcp_port = self.tcp.sockets[0].getsockname()[1]

    def __exit__(self, *exc) -> None:
        async def stop():
            self.udp.close()
            self.tcp.close()
            for writer in self.writers:
                writer.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def wait_for(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def alert(i: int, severity: str = "high", message: str | None = None) -> dict:
    return to_ecs(Alert("volume", ("AML.T0029", "AML.T0034"), f"key:{i}", severity, message or f"alert {i}",
                        time=1_700_000_000.5 + i, query_count=i, action="throttle"), title="Volume")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FAST = {"flush_s": 0.05, "backoff_s": 0.01, "timeout": 2}


def test_hec_batches_retries_after_503_and_authenticates(monkeypatch):
    monkeypatch.setenv("HEC_TOKEN", "t0ken")
    siem = Siem(fail=2)
    with running_server(siem.app) as url:
        sink = SplunkHec(SplunkHecSink(kind="splunk-hec", url=url, token_env="HEC_TOKEN", index="ml", batch_size=3,
                                       retries=4, **FAST))

        async def go():
            for i in range(5):
                assert sink.submit(alert(i))
            await sink.aclose()

        asyncio.run(go())
    assert (sink.sent, sink.failed, sink.dropped, sink.retried) == (5, 0, 0, 2)
    assert {h["authorization"] for _, h, _ in siem.requests} == {"Splunk t0ken"}
    assert [e["event"]["message"] for e in siem.hec] == [f"alert {i}" for i in range(5)]
    e = siem.hec[0]
    assert e["time"] == 1_700_000_000.5 and e["host"] and e["index"] == "ml"
    assert (e["source"], e["sourcetype"]) == ("advmatrix", "advmatrix:alert")
    assert e["event"]["threat"]["technique"]["id"] == ["AML.T0029", "AML.T0034"]
    assert max(body.count(b'"sourcetype"') for _, _, body in siem.requests) == 3  # batches of batch_size


def test_bulk_retries_rejected_items_and_counts_refused_ones(monkeypatch):
    monkeypatch.setenv("ES_KEY", "a2V5")
    siem = Siem(fail=1)
    with running_server(siem.app) as url:
        sink = Elasticsearch(ElasticsearchSink(kind="elasticsearch", url=url + "/", index="alerts-advmatrix",
                                               api_key_env="ES_KEY", batch_size=10, retries=3, **FAST))

        async def go():
            for i, m in enumerate(["fine 0", "bad 1", "busy 2", "fine 3"]):
                sink.submit(alert(i, message=m))
            await sink.aclose()

        asyncio.run(go())
    assert (sink.sent, sink.failed, sink.dropped, sink.retried) == (3, 1, 0, 2)  # a 503, then the 429 item
    kind, headers, body = siem.requests[-1]
    assert headers["content-type"] == "application/x-ndjson" and headers["authorization"] == "ApiKey a2V5"
    assert body.endswith(b"\n") and len(body.splitlines()) == 2  # only the rejected item went again
    assert sorted(d["doc"]["message"] for d in siem.es) == ["busy 2", "fine 0", "fine 3"]
    assert siem.es[0]["action"] == {"create": {"_index": "alerts-advmatrix"}}


def test_syslog_rfc5424_over_udp_and_tcp():
    with SyslogListener() as listener:
        sinks = [Syslog(SyslogSink(kind="syslog", host="127.0.0.1", port=listener.udp_port, protocol="udp", **FAST)),
                 Syslog(SyslogSink(kind="syslog", host="127.0.0.1", port=listener.tcp_port, protocol="tcp",
                                   facility=4, batch_size=3, **FAST))]

        async def go():
            for sink in sinks:
                sink.submit(alert(0, "critical", message='a "quoted] \\ message'))
                for i in range(1, 4):
                    sink.submit(alert(i, "low"))
            await asyncio.gather(*(s.aclose() for s in sinks))

        asyncio.run(go())
        wait_for(lambda: len(listener.frames["udp"]) == 4 and len(listener.frames["tcp"]) == 4)
    assert [s.sent for s in sinks] == [4, 4]
    udp, tcp = listener.frames["udp"], listener.frames["tcp"]
    assert [f["pri"] for f in udp] == [10 * 8 + 2] + [10 * 8 + 5] * 3  # facility 10, critical 2, low 5
    assert [f["pri"] for f in tcp] == [4 * 8 + 2] + [4 * 8 + 5] * 3
    f = tcp[0]
    assert (f["app"], f["msgid"], f["timestamp"]) == ("advmatrix", "volume", "2023-11-14T22:13:20.500Z")
    assert f["sd"]["atlas@32473"] == [("technique", "AML.T0029"), ("technique", "AML.T0034")]
    assert dict(f["sd"]["alert@32473"])["client"] == "key:0" and f["msg"] == 'a "quoted] \\ message'
    assert f["sd"] == udp[0]["sd"]


def test_syslog_names_a_subtechnique_and_its_parent():
    doc = to_ecs(Alert("similarity-search", ("AML.T0043.001",), "key:1", "high", "m", time=1_700_000_000.0))
    message = syslog_message(doc, facility=4, app_name="advmatrix", sd_id="atlas@32473", hostname="h", procid="1")
    assert b'[atlas@32473 technique="AML.T0043" technique="AML.T0043.001"]' in message


class EveryQuery(Detector):
    name, title, technique_ids = "every-query", "alerts on every query", ("AML.T0034",)

    def observe(self, event):
        yield Alert(self.name, self.technique_ids, event.client, "low", "a query", time=event.time)


def _upstream():
    return make_app({"digits": ServedModel(lambda b: np.full((len(b), 10), 0.1, np.float32), (1, 8, 8),
                                           tuple("0123456789"))})


def _latencies(url: str, n: int) -> list[float]:
    out = []
    with httpx.Client() as client:
        for _ in range(n):
            t = time.perf_counter()
            assert client.post(url + "/v2/models/digits/infer", json=ONE).status_code == 200
            out.append(time.perf_counter() - t)
    return out


def test_a_dead_siem_never_slows_the_proxy(tmp_path, monkeypatch):
    """A SIEM that accepts and never answers, and one that refuses connections: replies keep their
    latency, the queue fills, overflow is dropped and counted, shutdown keeps its deadline."""
    monkeypatch.setenv("HEC_TOKEN", "t")
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)  # accepts (the kernel does), never reads or answers
    dead = {"queue_size": 5, "batch_size": 1, "flush_s": 0.01, "timeout": 30, "retries": 5, "shutdown_s": 0.5}
    sinks = [{"kind": "splunk-hec", "url": f"http://127.0.0.1:{hole.getsockname()[1]}", "token_env": "HEC_TOKEN",
              **dead},
             {"kind": "elasticsearch", "url": f"http://127.0.0.1:{free_port()}", "index": "a", **dead}]
    with running_server(_upstream()) as upstream:
        runs = {}
        for label, with_sinks in (("baseline", []), ("dead", sinks)):
            cfg = GatewayConfig(upstream=upstream, db=str(tmp_path / f"{label}.db"), sinks=with_sinks,
                                responses={"every-query": {"action": "alert"}})
            app = create_gateway(cfg, detectors=[EveryQuery()])
            gw = app.state.gateway
            with running_server(app) as url:
                _latencies(url, 5)  # warm up connections
                runs[label] = _latencies(url, 40)
                metrics = httpx.get(url + "/_advmatrix/metrics").text
                closing = time.monotonic()
            shutdown = time.monotonic() - closing
            gw.close()
    hole.close()
    base, slow = statistics.median(runs["baseline"]), statistics.median(runs["dead"])
    assert slow < 3 * base + 0.005, (base, slow)
    assert max(runs["dead"]) < 1.0  # far below the sink's 30 s timeout
    hec, es = gw.sinks
    assert hec.sent == es.sent == 0 and hec.dropped >= 45 - 6 and es.dropped >= 45 - 6
    assert 'advmatrix_gateway_sink_queue_depth{sink="splunk-hec"} 6.0' in metrics  # 5 queued, 1 in flight
    assert re.search(r'advmatrix_gateway_sink_alerts_total\{outcome="dropped",sink="elasticsearch"\} (\d+)',
                     metrics)
    assert shutdown < 3.0  # shutdown_s 0.5 per sink, flushed side by side


def test_a_config_with_sinks_sends_a_real_detectors_alerts_to_all_three(tmp_path, monkeypatch):
    monkeypatch.setenv("HEC_TOKEN", "t")
    monkeypatch.setenv("ES_PASSWORD", "pw")
    siem = Siem()
    with SyslogListener() as listener, running_server(siem.app) as siem_url, running_server(_upstream()) as upstream:
        path = tmp_path / "gateway.yaml"
        path.write_text(f"""
upstream: {upstream}
db: {tmp_path / "gw.db"}
detectors:
  volume: {{max_client_queries: 3, window_s: 60}}
sinks:
  - {{kind: splunk-hec, url: "{siem_url}", token_env: HEC_TOKEN, flush_s: 0.05}}
  - {{kind: elasticsearch, url: "{siem_url}", index: advmatrix-alerts, username: elastic, password_env: ES_PASSWORD}}
  - {{kind: syslog, host: 127.0.0.1, port: {listener.tcp_port}, protocol: tcp}}
""")
        app = create_gateway(load_config(path))
        with running_server(app) as url:
            for key in ("k1", "k2"):
                for _ in range(5):
                    httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": key}, json=ONE)
            wait_for(lambda: len(siem.hec) == 2)  # HEC flushes after 0.05 s; the others at shutdown
        app.state.gateway.close()
        wait_for(lambda: len(listener.frames["tcp"]) == 2)
    clients = {app.state.gateway.client_id_for(k) for k in ("k1", "k2")}
    assert {e["event"]["user"]["id"] for e in siem.hec} == clients
    assert {d["doc"]["user"]["id"] for d in siem.es} == clients
    assert {h["authorization"] for k, h, _ in siem.requests if k == "es"} == {"Basic ZWxhc3RpYzpwdw=="}
    assert {dict(f["sd"]["alert@32473"])["client"] for f in listener.frames["tcp"]} == clients
    technique = siem.hec[0]["event"]["threat"]["technique"]
    techniques = technique["id"] + technique.get("subtechnique", {}).get("id", [])
    assert techniques and [v for _, v in listener.frames["tcp"][0]["sd"]["atlas@32473"]] == techniques
    assert {e["event"]["rule"]["id"] for e in siem.hec} == {"advmatrix.detector.volume"}


def test_every_copy_of_an_alert_carries_the_event_id_the_admin_api_gives(tmp_path, monkeypatch):
    """The JSONL line, the webhook body and the SIEM copies are made before the alert's row is
    written; all of them, and the stored alert, carry the same ``event.id``."""
    monkeypatch.setenv("HEC_TOKEN", "t")
    siem, hooks, hook = Siem(), [], FastAPI()

    @hook.post("/hook")
    async def received(request: Request):
        hooks.append(json.loads(await request.body()))
        return {}

    jsonl = tmp_path / "alerts.jsonl"
    with SyslogListener() as listener, running_server(siem.app) as siem_url, running_server(hook) as hook_url, \
            running_server(_upstream()) as upstream:
        cfg = GatewayConfig(upstream=upstream, db=str(tmp_path / "gw.db"), admin_token="s3cret",
                            alerts_jsonl=str(jsonl), webhook=hook_url + "/hook",
                            sinks=[{"kind": "splunk-hec", "url": siem_url, "token_env": "HEC_TOKEN", **FAST},
                                   {"kind": "syslog", "host": "127.0.0.1", "port": listener.tcp_port,
                                    "protocol": "tcp"}],
                            responses={"every-query": {"action": "alert"}})
        app = create_gateway(cfg, detectors=[EveryQuery()])
        gw = app.state.gateway
        with running_server(app) as url:
            for key in ("k1", "k2", "k3"):
                assert httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": key}, json=ONE).is_success
            wait_for(lambda: len(hooks) == 3 and len(siem.hec) == 3)
            api = httpx.get(url + "/_advmatrix/alerts", headers={"authorization": "Bearer s3cret"}).json()
            stored = gw.alerts()
        gw.close()
        wait_for(lambda: len(listener.frames["tcp"]) == 3)
    ids = {d["user"]["id"]: d["event"]["id"] for d in api}
    assert len(ids) == len(set(ids.values())) == 3
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    for copies in (lines, hooks, [e["event"] for e in siem.hec]):
        assert {d["user"]["id"]: d["event"]["id"] for d in copies} == ids
    syslog = [dict(f["sd"]["alert@32473"]) for f in listener.frames["tcp"]]
    assert {f["client"]: f["id"] for f in syslog} == ids
    assert {a.client: a.uid for a in stored} == ids  # the stored alerts, as `alerts show` finds them


@pytest.mark.parametrize(("sink", "field"), [
    ({"kind": "splunk-hec", "url": "http://h", "token_env": "NOT_SET_ANYWHERE"}, "'sinks.0.token_env'"),
    ({"kind": "splunk-hec", "url": "http://h", "token": "abc"}, "token: secrets are not read from the file"),
    ({"kind": "syslog", "host": "h", "queue_size": 0}, "'sinks.0.queue_size'"),
    ({"kind": "kafka"}, "'sinks.0': Input tag 'kafka'"),
])
def test_a_bad_sink_is_one_line_naming_the_field(cli, tmp_path, sink, field):
    path = tmp_path / "gateway.yaml"
    path.write_text(json.dumps({"upstream": "http://127.0.0.1:1", "sinks": [sink]}))
    r = cli("monitor", "--config", path, "--listen", f"127.0.0.1:{free_port()}")
    assert r.code == 2 and field in r.err and len(r.err.strip().splitlines()) == 1, r.err
