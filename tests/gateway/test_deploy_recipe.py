"""The deployment recipe (docs/deployment.md, examples/deploy/) run for real: nginx started from
examples/deploy/nginx.conf in front of two gateway replicas sharing a redis-server, all on
loopback. The client talks from 127.0.0.3, so the address the replicas record tells nginx's
X-Forwarded-For (trusted: nginx reaches them from 127.0.0.1) from the peer's.

The nginx.conf is the compose file's own; the test only swaps its ``listen`` and ``server
gateway-N:8100`` lines for loopback ports, runs one worker process, and adds temp and log paths
under ``tmp_path``."""

from __future__ import annotations

import contextlib
import http.client
import itertools
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from advmatrix.gateway import GatewayConfig, create_gateway, load_config
from tests.conftest import ADMIN, within
from tests.gateway import test_shared_state as shared
from tests.gateway.test_shared_state import BLOCK_ON_BIG_BATCH, RedisServer, _free_port, _serve, redis

# the shared-state tests' fixtures, used here as they are: a redis-server and two replicas on it
redis_server = shared.redis_server
replicas = shared.replicas

DEPLOY = Path(__file__).resolve().parents[2] / "examples" / "deploy"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
CLIENT = "127.0.0.3"  # the "real client": neither nginx's address nor the replicas'
TRUST_NGINX = {"trusted_proxies": ["127.0.0.1/32"]}  # the balancer's address, as the recipe says


def _loopback_alias_works() -> bool:
    with socket.socket() as s:
        try:
            s.bind((CLIENT, 0))
        except OSError:
            return False
    return True


needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx not installed (apt-get install nginx)")


def render_nginx(text: str, listen: int, servers: list[str], tmp: Path) -> str:
    """examples/deploy/nginx.conf for loopback: nginx on 127.0.0.1:``listen``, the ``server
    gateway-N:8100`` lines pointing at ``servers`` (HOST:PORT) in order, temp files and logs in ``tmp``.
    Each rewrite must match exactly what the example holds, so a changed example fails here."""
    text, n = re.subn(r"(?m)^(\s*)listen 80;$", rf"\1listen 127.0.0.1:{listen};", text)
    assert n == 1, "nginx.conf: expected one 'listen 80;' line"
    names = re.findall(r"(?m)^\s*server gateway-(\d+):8100\b", text)
    assert names == [str(i + 1) for i in range(len(servers))], f"nginx.conf: upstream servers {names}"
    for i, address in enumerate(servers, 1):
        text = re.sub(rf"(?m)^(\s*)server gateway-{i}:8100\b", rf"\1server {address}", text)
    # one worker: round robin is per worker, so one keeps the alternation exact for the assertions
    text, n = re.subn(r"(?m)^worker_processes auto;$", "worker_processes 1;", text)
    assert n == 1
    paths = "\n".join(f"    {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                             "scgi"))
    logs = (f"    log_format recipe '$remote_addr $status $upstream_addr $request_uri';\n"
            f"    access_log {tmp / 'access.log'} recipe;\n")
    text, n = re.subn(r"(?m)^http \{$", "http {\n" + paths + "\n" + logs, text)
    assert n == 1
    return text


@contextlib.contextmanager
def running_nginx(tmp: Path, servers: list[str]):
    """nginx from the example on a free loopback port, as the current user, in the foreground;
    yields its base URL and the access log's path; stopped (and waited for) on exit."""
    tmp.mkdir(exist_ok=True)
    port = _free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(render_nginx((DEPLOY / "nginx.conf").read_text(), port, servers, tmp))
    directives = f"daemon off; pid {tmp / 'nginx.pid'};"
    if os.geteuid() == 0:  # else nginx's workers drop to an unprivileged user that cannot write tmp
        import pwd

        directives += f" user {pwd.getpwuid(os.geteuid()).pw_name};"
    command = [NGINX, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf), "-g", directives]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def listening() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        assert within(10, listening), (tmp / "error.log").read_text()
        yield f"http://127.0.0.1:{port}", tmp / "access.log"
    finally:
        proc.terminate()  # SIGTERM: fast shutdown of the master and its worker
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def client():
    """An HTTP client talking from 127.0.0.3, over one kept-alive connection."""
    if not _loopback_alias_works():
        pytest.skip(f"cannot bind {CLIENT} (no 127.0.0.0/8 on the loopback interface)")
    with httpx.Client(transport=httpx.HTTPTransport(local_address=CLIENT), timeout=10) as c:
        yield c


def _infer(client: httpx.Client, url: str, key: str | None = "mallory", n: int = 1, **headers: str) -> int:
    if key:
        headers["x-api-key"] = key
    body = {"inputs": [{"name": "input-0", "shape": [n, 1, 8, 8], "datatype": "FP32", "data": [0.5] * (64 * n)}]}
    return client.post(url + "/v2/models/digits/infer", headers=headers, json=body).status_code


def _log(path: Path, count: int) -> list[list[str]]:
    """The last ``count`` lines of nginx's access log: [client, status, upstream, uri]; nginx
    writes a line once the reply is sent, so it may trail the client by a moment."""
    assert within(2, lambda: path.exists() and len(path.read_text().splitlines()) >= count)
    return [line.split(" ", 3) for line in path.read_text().splitlines()[-count:]]


def _at(url: str) -> str:
    """HOST:PORT of a replica's base URL, as an nginx ``server`` line names it."""
    return url.removeprefix("http://")


def _clients(url: str) -> dict[str, int]:
    """What a replica recorded, read from it directly (its admin API is not behind nginx)."""
    return {c["client"]: c["queries"] for c in httpx.get(url + "/_advmatrix/clients", headers=ADMIN).json()}


@needs_nginx
def test_nginx_spreads_requests_over_both_replicas_and_they_record_the_real_client(replicas, client, tmp_path):
    with replicas(**TRUST_NGINX) as ((a, _), (b, _)), running_nginx(tmp_path / "nginx", [_at(a), _at(b)]) as (
            edge, log):
        assert all(_infer(client, edge, key=None) == 200 for _ in range(10))
        upstreams = [line[2] for line in _log(log, 10)]
        assert set(upstreams) == {_at(a), _at(b)}
        assert all(x != y for x, y in itertools.pairwise(upstreams)), upstreams  # round robin
        # each replica saw 5 queries, and from the client's address, not nginx's
        assert _clients(a) == {f"ip:{CLIENT}": 5} and _clients(b) == {f"ip:{CLIENT}": 5}


@needs_nginx
def test_a_forged_forwarded_header_from_the_client_is_not_believed(replicas, client, tmp_path):
    forged = {"x-forwarded-for": "6.6.6.6", "forwarded": "for=6.6.6.6"}
    with replicas(**TRUST_NGINX) as ((a, _), (b, _)), running_nginx(tmp_path / "nginx", [_at(a), _at(b)]) as (
            edge, _log_path):
        assert all(_infer(client, edge, key=None, **forged) == 200 for _ in range(4))
        assert set(_clients(a)) == set(_clients(b)) == {f"ip:{CLIENT}"}
        # the control: the replicas do believe the header from their trusted peer, so it is nginx
        # overwriting the client's headers that keeps 6.6.6.6 out
        assert _infer(httpx.Client(), a, key=None, **forged) == 200
        assert "ip:6.6.6.6" in _clients(a)


@needs_nginx
def test_an_attacker_blocked_through_one_replica_is_refused_by_every_replica(replicas, client, tmp_path):
    with replicas(**TRUST_NGINX, **BLOCK_ON_BIG_BATCH) as ((a, _), (b, _)), running_nginx(
            tmp_path / "nginx", [_at(a), _at(b)]) as (edge, log):
        assert _infer(client, edge, n=3) == 200  # the batch that raises the alert is answered
        assert within(2, lambda: all(_infer(client, edge) == 403 for _ in range(2)))
        assert all(_infer(client, edge) == 403 for _ in range(6))
        refused_by = {upstream for _, status, upstream, _ in _log(log, 6) if status == "403"}
        assert refused_by == {_at(a), _at(b)}
        assert all(_infer(client, edge, key="alice") == 200 for _ in range(2))


ADMIN_PATHS = ["/_advmatrix/health", "/_advmatrix/metrics", "/_advmatrix/alerts", "/_advmatrix/clients",
               "/_advmatrix/blocks", "/_advmatrix/docs", "/_advmatrix/openapi.json",
               # spellings a path check could miss: nginx decodes and normalises before matching
               "/%5Fadvmatrix/alerts", "/%5fadvmatrix/clients", "//_advmatrix/alerts", "/_advmatrix/./alerts",
               "/v2/../_advmatrix/alerts"]


@needs_nginx
def test_the_admin_api_is_not_reachable_through_nginx(replicas, tmp_path):
    with replicas(**TRUST_NGINX) as ((a, _), (b, _)), running_nginx(tmp_path / "nginx", [_at(a), _at(b)]) as (
            edge, _log_path):
        port = int(edge.rsplit(":", 1)[1])
        for method, path in [("GET", p) for p in ADMIN_PATHS] + [("DELETE", "/_advmatrix/blocks/ip:1.2.3.4")]:
            # http.client sends the path as written (httpx would normalise the dots)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request(method, path, headers=ADMIN)
                assert conn.getresponse().status == 404, (method, path)
            finally:
                conn.close()
        # the control: the same requests straight to a replica do reach the admin API
        assert httpx.get(a + "/_advmatrix/clients", headers=ADMIN).status_code == 200
        assert httpx.get(b + "/_advmatrix/health").status_code == 200


# -- Redis with a password or an ACL user, as docs/deployment.md recommends ---------------------------
@pytest.fixture
def locked_redis():
    """A redis-server of its own: the default user behind a password, and an ACL user
    ``advmatrix`` limited to advmatrix:* keys and channels, without dangerous commands."""
    server = RedisServer()
    server.start()
    r = redis.Redis(port=server.port)
    r.execute_command("ACL", "SETUSER", "advmatrix", "on", ">gw-pass", "~advmatrix:*", "&advmatrix:*",
                      "+@all", "-@dangerous")
    r.config_set("requirepass", "admin-pass")
    try:
        yield server
    finally:
        server.stop()


def test_the_state_url_takes_a_password_and_an_acl_user(upstream, tmp_path, locked_redis):
    base = f"127.0.0.1:{locked_redis.port}/0"
    with contextlib.ExitStack() as stack:
        urls, gateways = [], []
        for i, url in enumerate([f"redis://advmatrix:gw-pass@{base}", f"redis://:admin-pass@{base}",
                                 f"redis://advmatrix:wrong@{base}"]):
            cfg = GatewayConfig(upstream=upstream, db=str(tmp_path / f"{i}.db"), state=url, **BLOCK_ON_BIG_BATCH)
            app = create_gateway(cfg)
            stack.callback(app.state.gateway.close)
            urls.append(stack.enter_context(_serve(app)))
            gateways.append(app.state.gateway)
        acl, password, wrong = urls
        assert within(5, lambda: gateways[0].state.up and gateways[1].state.up)
        body = {"inputs": [{"name": "input-0", "shape": [3, 1, 8, 8], "datatype": "FP32", "data": [0.5] * 192}]}
        assert httpx.post(acl + "/v2/models/digits/infer", headers={"x-api-key": "mallory"}, json=body).status_code \
            == 200
        one = {**body, "inputs": [{**body["inputs"][0], "shape": [1, 1, 8, 8], "data": [0.5] * 64}]}

        def refused(url: str) -> bool:
            return httpx.post(url + "/v2/models/digits/infer", headers={"x-api-key": "mallory"},
                              json=one).status_code == 403

        # the ACL user wrote the block; the password user's replica heard it
        assert within(2, lambda: refused(password))
        # a wrong password: the replica is never up, and fails open on its own copy
        assert not gateways[2].state.up and gateways[2].state.errors["listen"] >= 1
        assert not refused(wrong)


# -- the compose file and the gateway configuration ---------------------------------------------------
def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def _advmatrix_argv(service: dict) -> list[str] | None:
    """The advmatrix arguments a compose service runs (after ``sh -c 'exec advmatrix ...'``, or
    as the image's advmatrix entry point), $$VARIABLES standing as they would be expanded."""
    import shlex

    command, entrypoint = service.get("command"), service.get("entrypoint")
    if entrypoint == ["sh", "-c"]:
        argv = shlex.split(command[0].replace("$$", "$"))
        assert argv[:2] == ["exec", "advmatrix"], argv
        return argv[2:]
    if service.get("image", "").startswith("${ADVMATRIX_IMAGE"):
        return list(command)
    return None


@pytest.mark.parametrize("name", sorted(_compose()["services"]))
def test_compose_service_commands_parse_with_the_cli(name):
    import click
    import typer

    from advmatrix.cli._app import app

    service = _compose()["services"][name]
    argv = _advmatrix_argv(service)
    if argv is None:
        assert name in ("redis", "nginx"), f"{name}: runs neither advmatrix nor a known image"
        return
    group = typer.main.get_command(app)
    command = group.commands.get(argv[0])
    if command is None:
        pytest.skip(f"advmatrix {argv[0]} is not in this CLI yet")  # TODO(lead): advmatrix detect
    try:  # parses and converts every option, runs nothing
        command.make_context(argv[0], argv[1:])
    except click.ClickException as exc:
        pytest.fail(f"{name}: advmatrix {' '.join(argv)}: {exc.format_message()}")


def test_compose_wires_the_pieces_as_the_doc_says():
    compose = _compose()
    services = compose["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"nginx"}  # nothing but the balancer faces the outside
    assert compose["networks"]["backend"]["internal"] is True
    nginx_ip = services["nginx"]["networks"]["backend"]["ipv4_address"]
    cfg = yaml.safe_load((DEPLOY / "gateway.yaml").read_text())
    assert cfg["trusted_proxies"] == [f"{nginx_ip}/32"]
    gateways = [n for n in services if n.startswith("gateway-")]
    upstreams = re.findall(r"(?m)^\s*server (gateway-\d+):8100\b", (DEPLOY / "nginx.conf").read_text())
    assert sorted(upstreams) == sorted(gateways) and len(gateways) >= 2
    assert cfg["upstream"].split("//")[1].split(":")[0] in services


def test_the_example_gateway_configuration_loads_with_the_state_the_compose_file_gives():
    if "detection" not in GatewayConfig.model_fields:
        pytest.skip("detection: workers is not in this gateway yet")
    # the same check `monitor --config gateway.yaml --state ...` makes at start
    cfg = load_config(DEPLOY / "gateway.yaml", state="redis://:secret@redis:6379/0")
    assert cfg.detection == "workers" and cfg.trusted_proxies and cfg.state_failure == "open"


def test_the_envoy_equivalent_routes_and_headers_as_nginx_does():
    """Envoy is not on the CI machine: its configuration is checked for the same decisions."""
    envoy = yaml.safe_load((DEPLOY / "envoy.yaml").read_text())
    (listener,) = envoy["static_resources"]["listeners"]
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["use_remote_address"] is True and hcm["xff_num_trusted_hops"] == 0 and hcm["normalize_path"]
    assert "forwarded" in hcm["route_config"]["request_headers_to_remove"]
    first, *rest = hcm["route_config"]["virtual_hosts"][0]["routes"]
    assert first["direct_response"]["status"] == 404
    admin = re.compile(first["match"]["safe_regex"]["regex"])
    assert all(admin.match(p) for p in ("/_advmatrix/alerts", "/_advmatrix/health", "/%5Fadvmatrix/clients"))
    assert not any(admin.match(p) for p in ("/v2/models/digits/infer", "/v1/chat/completions", "/_advmatrixx"))
    (cluster,) = envoy["static_resources"]["clusters"]
    hosts = [e["endpoint"]["address"]["socket_address"]["address"]
             for e in cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]]
    assert sorted(hosts) == sorted(n for n in _compose()["services"] if n.startswith("gateway-"))
