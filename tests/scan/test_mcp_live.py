"""``advmatrix scan --mcp-stdio / --mcp-url``: the listing of a live MCP server, fetched with the
official SDK from real servers (tests/scan/mcp_servers.py) and scanned like a saved one."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("mcp", reason="the MCP SDK (advmatrix[mcp]) is not installed")

from advmatrix.cli._main import main
from advmatrix.scan import Severity, scan_path
from advmatrix.scan.mcp_live import McpServer, fetch_listing

SERVERS = Path(__file__).with_name("mcp_servers.py")
POISONED_PLACES = {"tools/add", "tools/fact_of_the_day", "tools/get_weathеr", "prompts/summary"}


def _command(kind: str, marker: Path) -> str:
    return shlex.join([sys.executable, str(SERVERS), kind, str(marker)])


def _scan(capsys, *argv: str) -> tuple[int, dict, str]:
    code = main(["scan", "--json", "--fail-on", "high", *argv])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else {}, captured.err


def _findings(report: dict) -> list[dict]:
    return [f for entry in report.get("files", []) for f in entry["findings"]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def http_servers(tmp_path_factory):
    """A clean and a poisoned server on streamable HTTP, and a poisoned one on the older SSE
    transport, on free ports of 127.0.0.1."""
    marker = tmp_path_factory.mktemp("mcp") / "called"
    procs, urls = [], {}
    try:
        for name, kind, transport, path in (("clean", "clean", "http", "mcp"), ("poisoned", "poisoned", "http", "mcp"),
                                            ("sse", "poisoned", "sse", "sse")):
            port = _free_port()
            procs.append(subprocess.Popen([sys.executable, str(SERVERS), kind, str(marker), transport, str(port)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            urls[name] = f"http://127.0.0.1:{port}/{path}"
        deadline = time.monotonic() + 15
        for url in urls.values():
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                        pytest.fail("the MCP test server did not start")
                    time.sleep(0.05)
        yield urls, marker
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _assert_poisoned(code: int, report: dict, label: str, marker: Path) -> None:
    assert code == 1
    findings = _findings(report)
    high = [f for f in findings
            if Severity[f["severity"].upper()] >= Severity.HIGH and "AML.T0110" in f["technique_ids"]]
    assert {f["member"] for f in high} >= POISONED_PLACES
    assert {f["rule"] for f in high} >= {"agent-invisible-unicode", "agent-hidden-instruction", "agent-exfiltration",
                                         "agent-tool-shadowing", "agent-tool-impersonation", "agent-secret-access"}
    assert all(f["path"] == label for f in findings)
    assert not marker.exists(), "a tool was called: the scan must only list"


# -- stdio ------------------------------------------------------------------------------------------

def test_poisoned_stdio_server_is_reported_high_with_t0110(capsys, tmp_path):
    command = _command("poisoned", tmp_path / "called")
    code, report, _ = _scan(capsys, "--mcp-stdio", command)
    _assert_poisoned(code, report, f"mcp-stdio:{command}", tmp_path / "called")


def test_clean_stdio_server_scans_clean(capsys, tmp_path):
    code, report, err = _scan(capsys, "--fail-on", "info", "--mcp-stdio", _command("clean", tmp_path / "called"))
    assert (code, _findings(report), err) == (0, [], "")
    assert [f["format"] for f in report["files"]] == ["agent-tools"]


def test_live_listing_scans_like_the_same_listing_saved(tmp_path):
    listing = fetch_listing(McpServer.stdio(_command("poisoned", tmp_path / "called")))
    saved = tmp_path / "tools.json"
    saved.write_text(json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"tools": listing["tools"]}}))
    from advmatrix.scan._checks import Where
    from advmatrix.scan.mcp_live import check_listing

    live = {(f.rule, f.severity, f.construct) for f in check_listing(listing, Where("live"))
            if f.member.startswith("tools/")}
    assert live and live == {(f.rule, f.severity, f.construct) for f in scan_path(saved).findings}


def test_paths_and_servers_combine(capsys, tmp_path):
    clean = tmp_path / "tools.json"
    clean.write_text(json.dumps({"tools": [{"name": "ping", "description": "Check that the host answers."}]}))
    code, report, _ = _scan(capsys, str(clean), "--mcp-stdio", _command("poisoned", tmp_path / "called"),
                            "--mcp-stdio", _command("clean", tmp_path / "called"))
    assert code == 1
    assert report["files"][0]["path"] == str(clean)
    assert len(report["files"]) == 3 and not report["files"][0]["findings"]


# -- HTTP -----------------------------------------------------------------------------------------------

def test_poisoned_http_server_is_reported_and_clean_one_is_clean(capsys, http_servers):
    urls, marker = http_servers
    code, report, _ = _scan(capsys, "--mcp-url", urls["poisoned"])
    _assert_poisoned(code, report, urls["poisoned"], marker)
    code, report, err = _scan(capsys, "--fail-on", "info", "--mcp-url", urls["clean"])
    assert (code, _findings(report), err) == (0, [], "")


def test_sse_endpoint_is_scanned_too(capsys, http_servers):
    urls, marker = http_servers
    code, report, _ = _scan(capsys, "--mcp-url", urls["sse"])
    _assert_poisoned(code, report, urls["sse"], marker)


# -- failures: one line, exit 2, no process left ------------------------------------------------------

def _one_line_error(capsys, *argv: str) -> str:
    code, _, err = _scan(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_missing_command_is_one_line(capsys):
    line = _one_line_error(capsys, "--mcp-stdio", "/nonexistent/mcp-server --flag")
    assert line == ("advmatrix: error: mcp-stdio:/nonexistent/mcp-server --flag: cannot start "
                    "'/nonexistent/mcp-server': No such file or directory")


def test_server_that_dies_is_one_line_with_its_reason(capsys, tmp_path):
    line = _one_line_error(capsys, "--mcp-stdio", _command("crash", tmp_path / "called"))
    assert "exited before listing its tools" in line and "/nonexistent/weather.toml" in line


def test_server_that_speaks_garbage_is_one_line(capsys, tmp_path):
    line = _one_line_error(capsys, "--mcp-stdio", _command("garbage", tmp_path / "called"))
    assert "not an MCP message: 'Hello! This is not JSON-RPC.'" in line


def test_dead_url_is_one_line(capsys):
    url = f"http://127.0.0.1:{_free_port()}/mcp"
    line = _one_line_error(capsys, "--mcp-timeout", "5", "--mcp-url", url)
    assert line.startswith(f"advmatrix: error: {url}: ") and ("cannot connect" in line or "no complete answer" in line)


def test_silent_server_times_out_and_is_killed(capsys, tmp_path):
    pidfile = tmp_path / "pid"
    script = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"
    started = time.monotonic()
    line = _one_line_error(capsys, "--mcp-timeout", "1", "--mcp-stdio",
                           shlex.join([sys.executable, "-c", script, str(pidfile)]))
    assert "no complete answer within 1 s" in line and time.monotonic() - started < 10
    pid = int(pidfile.read_text())
    status = Path(f"/proc/{pid}/status")
    alive = status.exists() and "zombie" not in status.read_text()
    assert not alive, "the server process outlived the scan"


def test_bad_options_are_usage_errors(capsys):
    assert _one_line_error(capsys, "--mcp-url", "ftp://example.org/mcp").endswith("not an http:// or https:// URL")
    assert "positive" in _one_line_error(capsys, "--mcp-timeout", "0", "--mcp-stdio", "true")


def test_without_the_sdk_the_error_says_what_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)
    assert "install advmatrix[mcp]" in _one_line_error(capsys, "--mcp-stdio", "true")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_no_server_process_is_left_behind(tmp_path):
    before = set(os.listdir("/proc"))
    fetch_listing(McpServer.stdio(_command("clean", tmp_path / "called")))
    mine = [p for p in set(os.listdir("/proc")) - before if p.isdigit()]
    alive = [p for p in mine if Path(f"/proc/{p}/cmdline").exists()
             and str(SERVERS).encode() in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert not alive


def test_sarif_locations_of_live_servers_are_valid_uris():
    """A URL stays a URL and a stdio label is percent-encoded (a path-based URI once turned
    http://host/mcp into http:/host/mcp)."""
    from advmatrix._sarif import artifact_uri as _uri

    assert _uri("http://127.0.0.1:8000/mcp") == "http://127.0.0.1:8000/mcp"
    assert _uri("mcp-stdio:python srv.py --poisoned") == "mcp-stdio:python%20srv.py%20--poisoned"
    assert _uri("models/a.pkl") == "models/a.pkl"


# -- SARIF and what it may carry ------------------------------------------------------------------------

def test_a_live_server_in_sarif_keeps_the_upload_a_file_scan(capsys, tmp_path, http_servers):
    """GitHub refuses a whole SARIF file when one URI's scheme is not the checkout's: the servers are named
    by relative paths, and a credential on their command line or in their URL goes nowhere."""
    urls, marker = http_servers
    listing = tmp_path / "tools.json"
    listing.write_text(json.dumps({"tools": [{"name": "ping", "description": "Check that the host answers."}]}))
    secret_url = urls["poisoned"].replace("http://", "http://alice:pa55word@") + "?token=s3cr3t&tenant=acme"
    command = _command("poisoned", marker) + " stdio --api-key sk-live-123"  # the server ignores the key
    out = tmp_path / "scan.sarif"
    code = main(["scan", str(listing), "--mcp-url", secret_url, "--mcp-stdio", command, "--sarif", str(out)])
    captured = capsys.readouterr()
    text = out.read_text()
    assert code == 1, captured.err
    assert "s3cr3t" not in text and "pa55word" not in text and "sk-live-123" not in text
    assert "s3cr3t" not in captured.out + captured.err and "sk-live-123" not in captured.out + captured.err
    run = json.loads(text)["runs"][0]
    places = [r["locations"][0]["physicalLocation"] for r in run["results"]]
    assert places and all(":" not in p["artifactLocation"]["uri"] and p["region"]["startLine"] >= 1 for p in places)
    named = {p["artifactLocation"].get("description", {}).get("text") for p in places}
    assert any(n and n.startswith("mcp-stdio:") and "--api-key REDACTED" in n for n in named)
    assert any(n and "tenant=acme" in n and "token=REDACTED" in n and "alice" not in n for n in named)
