"""Everyday mistakes through the CLI: each is one line naming the problem, a documented exit code
(2 bad input, 3 unknown ID), no traceback, and nothing written where the command failed."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import numpy as np
import pytest

KSERVE = "protocol: kserve\nurl: http://127.0.0.1:9\nmodel: m\n"

# the files every case may name, created in the working directory
FILES = {
    "no-model.yaml": "protocol: kserve\nurl: http://127.0.0.1:9\n",
    "no-url-model.yaml": "protocol: kserve\n",
    "headers-list.yaml": KSERVE + "headers: ['Authorization: Bearer x']\n",
    "timeout-soon.yaml": KSERVE + "timeout: soon\n",
    "timeout-negative.yaml": KSERVE + "timeout: -1\n",
    "max-batch-zero.yaml": KSERVE + "max_batch: 0\n",
    "retries-many.yaml": KSERVE + "retries: many\n",
    "unknown-key.yaml": KSERVE + "input_shpe: [64]\n",
    "unknown-key-far.yaml": KSERVE + "colour: blue\n",
    "unset-env.yaml": KSERVE + "headers: {Authorization: 'Bearer ${ADVMATRIX_TEST_UNSET_TOKEN}'}\n",
    "unset-env-url.yaml": "protocol: kserve\nurl: http://${ADVMATRIX_TEST_UNSET_HOST}:9\nmodel: m\n",
    "protocol-typo.yaml": "protocol: kserv\nurl: http://127.0.0.1:9\nmodel: m\n",
    "no-protocol.yaml": "url: http://127.0.0.1:9\nmodel: m\n",
    "a-list.yaml": "- protocol: kserve\n",
    "broken.yaml": "protocol: kserve\nurl: [\n",
    "json-no-template.yaml": "protocol: json\nurl: http://127.0.0.1:9/predict\n",
    "whole.yaml": "protocol: torch\npath: whole.pt\ninput_shape: [1, 8, 8]\nclasses: 10\n",
    "notes.txt": "these are notes, not arrays\n",
    "README.md": "# a readme, not a model\n",
}


def _cases():
    c = []

    def case(name, args, code, pattern, absent=("out",)):
        c.append(pytest.param(args, code, pattern, absent, id=name))

    # target descriptions (YAML)
    case("yaml-no-model", ["assess", "no-model.yaml"], 2,
         r"no-model.yaml: protocol 'kserve' needs 'url' and 'model' \('model' missing\)")
    case("yaml-no-url-model", ["assess", "no-url-model.yaml"], 2, r"needs 'url' and 'model' \('url', 'model' missing\)")
    case("yaml-headers-list", ["assess", "headers-list.yaml"], 2, r"'headers' must be a mapping")
    case("yaml-timeout-soon", ["assess", "timeout-soon.yaml"], 2, r"'timeout' must be a number .*not 'soon'")
    case("yaml-timeout-negative", ["assess", "timeout-negative.yaml"], 2, r"'timeout' must be a number, greater than 0")
    case("yaml-max-batch-zero", ["assess", "max-batch-zero.yaml"], 2, r"'max_batch' must be a whole number")
    case("yaml-retries-word", ["assess", "retries-many.yaml"], 2, r"'retries' must be a whole number .*not 'many'")
    case("yaml-unknown-key", ["assess", "unknown-key.yaml"], 2,
         r"unknown key 'input_shpe' .*did you mean 'input_shape'\? valid keys: .*timeout")
    case("yaml-unknown-key-far", ["assess", "unknown-key-far.yaml"], 2, r"unknown key 'colour' .*valid keys: protocol")
    case("yaml-unset-env-header", ["assess", "unset-env.yaml"], 2,
         r"'headers.Authorization' uses \$\{ADVMATRIX_TEST_UNSET_TOKEN\}, which is not set")
    case("yaml-unset-env-url", ["assess", "unset-env-url.yaml"], 2, r"'url' uses \$\{ADVMATRIX_TEST_UNSET_HOST\}")
    case("yaml-protocol-typo", ["assess", "protocol-typo.yaml"], 2, r"unknown protocol 'kserv' .*did you mean 'kserve'")
    case("yaml-no-protocol", ["assess", "no-protocol.yaml"], 2, r"no-protocol.yaml: no 'protocol' given")
    case("yaml-a-list", ["assess", "a-list.yaml"], 2, r"a-list.yaml: a target description must be a mapping")
    case("yaml-broken", ["assess", "broken.yaml"], 2, r"broken.yaml: not valid YAML \(line 3")
    case("yaml-missing-file", ["assess", "nowhere.yaml"], 2, r"nowhere.yaml")
    case("yaml-json-needs", ["assess", "json-no-template.yaml"], 2,
         r"needs 'url', 'template' and 'response_path' \('template', 'response_path' missing\)")
    # target URIs and hosts
    case("uri-not-a-uri", ["assess", "model"], 2, r"model: not a target URI \(.*kserve\+http://")
    case("uri-kserve-no-port", ["assess", "kserve+http://host"], 2, r"expected kserve\+http://host:port/model")
    case("uri-unreachable", ["assess", "kserve+http://127.0.0.1:9/m"], 2, r"cannot reach http://127.0.0.1:9")
    case("uri-torch-empty-file", ["assess", "torch:empty.pt"], 2, r"empty.pt is not a PyTorch model file \(empty")
    case("uri-torch-text-file", ["assess", "torch:text.pt"], 2, r"text.pt is not a PyTorch model file")
    case("uri-torch-missing-file", ["assess", "torch:nowhere.pt"], 2, r"no such file nowhere.pt")
    # --data, --fail-on, --param, --procedures
    case("data-text-file", ["assess", "whole.yaml", "--data", "notes.txt"], 2,
         r"notes.txt: not an .npz of arrays \(write one with np.savez")
    case("data-single-array", ["assess", "whole.yaml", "--data", "one.npy"], 2, r"one.npy: a single array")
    case("data-missing", ["assess", "whole.yaml", "--data", "nowhere.npz"], 2, r"nowhere.npz: no such file")
    case("fail-on-metric-typo", ["assess", "torch:whole.pt", "--fail-on", "evasion.sucess>0.5"], 2,
         r"no procedure reports a metric 'sucess' \(did you mean 'success'\? valid: success, .*auc")
    case("fail-on-selector-typo", ["assess", "torch:whole.pt", "--fail-on", "evasoin.success>0.5"], 2,
         r"'evasoin' is no family or procedure \(did you mean 'evasion'\? families: .*evasion")
    case("fail-on-unknown-metric", ["assess", "torch:whole.pt", "--fail-on", "any.auc_score>0.5"], 2,
         r"no procedure reports a metric 'auc_score'")
    case("fail-on-malformed", ["assess", "torch:whole.pt", "--fail-on", "evasion.success>>0.5"], 2,
         r"expected SELECTOR.METRIC OP NUMBER")
    case("param-no-dot", ["assess", "torch:whole.pt", "--param", "eps=0.1"], 2, r"expected PROCEDURE.KEY=VALUE")
    # checked before the target is opened (this one listens nowhere)
    case("param-bad-type", ["assess", "openai+http://127.0.0.1:1/v1", "--param", "jailbreak.max_payloads=yes"], 2,
         r"--param jailbreak.max_payloads: procedure jailbreak: parameter .max_payloads.: Input should be a valid")
    case("procedure-unknown", ["assess", "whole.yaml", "-p", "nosuch"], 2, r"unknown procedure 'nosuch' \(known: ")
    # stored runs
    case("runs-list-typo-db", ["runs", "list", "--db", "typo.db"], 2, r"--db typo.db: no such database file",
         absent=("typo.db",))
    case("runs-show-typo-db", ["runs", "show", "abc", "--db", "typo.db"], 2, r"no such database file",
         absent=("typo.db",))
    case("runs-report-typo-db", ["runs", "report", "abc", "--db", "typo.db", "-o", "out"], 2,
         r"no such database file", absent=("typo.db", "out"))
    case("runs-show-unknown-id", ["runs", "show", "zzz", "--db", "runs.db"], 3,
         r"no object with ID 'zzz' in the run store")
    # scan
    case("scan-unknown-format", ["scan", "README.md"], 2, r"README.md: unknown format .*nothing was analysed")
    case("scan-missing", ["scan", "nowhere.pkl"], 2, r"nowhere.pkl: no such file or directory")
    case("scan-fail-on-typo", ["scan", "README.md", "--fail-on", "severe"], 2, r"unknown severity 'severe'")
    case("scan-sarif-unknown-format", ["scan", "README.md", "--sarif", "out.sarif"], 2, r"unknown format",
         absent=())
    # serve and monitor (uvicorn never starts: see the never_serve fixture)
    case("serve-gateway-db-missing", ["serve", "--gateway-db", "missing.db", "--port", "0"], 2,
         r"--gateway-db missing.db: no such database file", absent=("missing.db",))
    case("serve-db-missing", ["serve", "--db", "missing.db", "--port", "0"], 2,
         r"--db missing.db: no such database file", absent=("missing.db",))
    # a URL is checked too: a sqlite one for its file, a server one by connecting (not 500s later)
    case("runs-sqlite-url-missing", ["runs", "list", "--db", "sqlite:///typo.db"], 2,
         r"--db typo.db: no such database file", absent=("typo.db",))
    case("serve-http-url", ["serve", "--db", "http://example.invalid/x.db", "--port", "0"], 2,
         r"'http' is no database driver advmatrix can use")
    case("serve-gateway-db-unreachable", ["serve", "--gateway-db", "postgresql+psycopg://u:secret@127.0.0.1:1/x",
                                          "--port", "0"], 2, r"u:\*\*\*@127.0.0.1:1/x: cannot open it")
    case("serve-busy-port", ["serve", "--port", "{busy}"], 2, r"--port: 127.0.0.1:\d+ is already in use")
    case("monitor-busy-port", ["monitor", "--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:{busy}"], 2,
         r"--listen: 127.0.0.1:\d+ is already in use", absent=("gateway.db",))
    case("monitor-no-scheme", ["monitor", "--upstream", "127.0.0.1:9"], 2,
         r"--upstream '127.0.0.1:9': expected an http:// or https:// URL, e.g. http://127.0.0.1:9",
         absent=("gateway.db",))
    case("monitor-listen-no-host", ["monitor", "--upstream", "http://127.0.0.1:9", "--listen", "8100"], 2,
         r"--listen '8100': expected HOST:PORT", absent=("gateway.db",))
    case("monitor-system-prompt-missing", ["monitor", "--upstream", "http://127.0.0.1:9", "--system-prompt",
                                           "nope.txt"], 2, r"--system-prompt nope.txt: no such file",
         absent=("gateway.db",))
    # alerts
    case("alerts-list-missing-db", ["alerts", "list", "--db", "missing.db"], 2, r"--db missing.db: no such database",
         absent=("missing.db",))
    case("alerts-show-missing-db", ["alerts", "show", "1", "--db", "missing.db"], 2, r"no such database",
         absent=("missing.db",))
    case("alerts-not-a-gateway-db", ["alerts", "list", "--db", "runs.db"], 2, r"runs.db is not a gateway database")
    case("alerts-since-word", ["alerts", "list", "--db", "gw.db", "--since", "yesterday"], 2,
         r"--since 'yesterday': expected a span \(30m, 1h")
    case("alerts-detector-typo", ["alerts", "list", "--db", "gw.db", "--detector", "prda"], 2,
         r"--detector 'prda': no such detector \(valid: .*prada")
    case("alerts-technique-unknown", ["alerts", "list", "--db", "gw.db", "--technique", "AML.T9999"], 3,
         r"no object with ID 'AML.T9999'")
    case("alerts-show-not-a-number", ["alerts", "show", "abc", "--db", "gw.db"], 2,
         r"alert ID 'abc': expected a number")
    case("alerts-show-unknown", ["alerts", "show", "99", "--db", "gw.db"], 3, r"no object with ID '99' in the gateway")
    # knowledge base
    case("kb-show-unknown", ["kb", "show", "AML.T9999"], 3, r"no object with ID 'AML.T9999'")
    return c


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    import uvicorn

    from advmatrix.store import Alert, EventStore, RunStore

    def never(*args, **kwargs):
        raise AssertionError("a server started despite bad input")

    monkeypatch.setattr(uvicorn.Server, "run", never)
    monkeypatch.chdir(tmp_path)
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    np.save(tmp_path / "one.npy", np.zeros(3))
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)), tmp_path / "whole.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "text.pt").write_text("not a model\n")
    RunStore(tmp_path / "runs.db").engine.dispose()
    store = EventStore(tmp_path / "gw.db")
    store.add_alert(Alert("prada", ("AML.T0024.002",), "key:abc", "high", "extraction pattern"))
    store.close()
    return tmp_path


@pytest.fixture
def busy_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize("args, code, pattern, absent", _cases())
def test_bad_input_is_one_line(cli, workdir, busy_port, args, code, pattern, absent):
    r = cli(*[a.format(busy=busy_port) for a in args])
    lines = (r.err + r.out).strip().splitlines()
    assert r.code == code, (r.code, r.err, r.out)
    assert len(lines) == 1 and lines[0].startswith("advmatrix: error: "), lines
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in r.err
    for name in absent:
        assert not (workdir / name).exists(), f"{name} was written"


def test_enough_cases():
    assert len(_cases()) >= 40


def test_busy_port_in_a_real_process(tmp_path, busy_port):
    """The exit status of the real process: 2 (bad input), not uvicorn's 3 (an unknown ID here)."""
    r = subprocess.run([sys.executable, "-m", "advmatrix", "serve", "--port", str(busy_port)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        f"advmatrix: error: --port: 127.0.0.1:{busy_port} is already in use (another server is listening there); "
        "choose another port"]


def test_torch_state_dict_says_how_to_save_a_model(cli, tmp_path):
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    r = cli("assess", f"torch:{tmp_path / 'weights.pt'}", "-o", tmp_path / "out")
    assert r.code == 2 and "Traceback" not in r.err
    assert re.search(r"weights.pt is a state dict: give model_class: package\.module:Class \(and model_args\) in the "
                     r"target YAML", r.err), r.err
    assert not (tmp_path / "out").exists()


def test_bad_output_kind_lists_the_valid_ones(cli, tmp_path):
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)), tmp_path / "m.pt")
    (tmp_path / "t.yaml").write_text(f"protocol: torch\npath: {tmp_path / 'm.pt'}\ninput_shape: 4\nclasses: 2\n"
                                     "output: prob\n")
    r = cli("assess", tmp_path / "t.yaml", "-o", tmp_path / "out")
    assert r.code == 2 and "OutputKind" not in r.err
    assert "'output' must be one of probabilities, logits, labels, top-k, not 'prob'" in r.err


def test_natural_forms_of_classes_and_input_shape(tmp_path):
    """``classes: 10`` is ten unnamed classes, ``input_shape: 64`` one dimension of 64."""
    torch = pytest.importorskip("torch")
    from advmatrix.targets import open_target

    torch.save(torch.nn.Linear(64, 10), tmp_path / "m.pt")
    (tmp_path / "t.yaml").write_text(f"protocol: torch\npath: {tmp_path / 'm.pt'}\ninput_shape: 64\nclasses: 10\n")
    target = open_target(str(tmp_path / "t.yaml"))
    assert target.info.input_shape == (64,)
    assert target.info.classes == tuple(str(i) for i in range(10))


def test_wrong_model_name_is_reported_as_such(cli, upstream, tmp_path):
    r = cli("assess", upstream.replace("http://", "kserve+http://") + "/nope", "-o", tmp_path / "out")
    assert r.code == 2 and "Traceback" not in r.err
    assert "has no model 'nope' (HTTP 404" in r.err and "input_shape" not in r.err
    assert not (tmp_path / "out").exists()


def test_skipped_procedures_say_why_on_the_console(cli, cnn, tmp_path):
    torch = pytest.importorskip("torch")
    torch.save(cnn, tmp_path / "cnn.pt")
    (tmp_path / "t.yaml").write_text(f"protocol: torch\npath: {tmp_path / 'cnn.pt'}\ninput_shape: [1, 8, 8]\n"
                                     "classes: 10\n")
    r = cli("assess", tmp_path / "t.yaml", "-p", "membership", "-o", tmp_path / "out", "--db", tmp_path / "r.db")
    assert r.code == 0, r.err
    assert re.search(r"membership skipped: needs x_members", r.out), r.out


@pytest.mark.parametrize(("args", "says"), [
    (["alerts", "list", "--db", "{tmp}/notdb.txt"], "not a SQLite database"),
    (["runs", "list", "--db", "{tmp}/notdb.txt"], "not a SQLite database"),
    # a busy port as well: if the check ever went, the server must not start and hang the test
    (["serve", "--db", "{tmp}/notdb.txt", "--port", "{busy}"], "not a SQLite database"),
    (["assess", "kserve+http://127.0.0.1:9/m", "--db", "{tmp}/notdb.txt"], "not a SQLite database"),
    (["assess", "kserve+http://127.0.0.1:9/m", "--db", "{tmp}/\udcff\udcfe.db"], "not valid UTF-8"),
    (["serve", "--host", "..", "--port", "{busy}"], "not a valid host name"),
    (["monitor", "--config", "{tmp}/intkey.yaml", "--check"], "intkey.yaml:2: 1 is not a setting"),
    (["runs", "list", "--db", "{tmp}/notdb.txt", "-n", "99999999999999999999"], "not in the range"),
    (["alerts", "list", "--since", "0001-01-01"], "too far back"),
    (["serve-llm-app", "--port", "{busy}"], "is already in use"),
])
def test_odd_stores_hosts_keys_and_numbers_are_one_line_not_a_traceback(cli, tmp_path, monkeypatch, busy_port,
                                                                         args, says):
    # each had ended in a traceback: a file that is no SQLite database, a file name that is not UTF-8, a
    # host the IDNA codec refuses, a number key at the top of a gateway configuration, SQLite's integer
    # range, a date before year 1 once put in local time
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notdb.txt").write_text("hi\n")
    (tmp_path / "intkey.yaml").write_text("upstream: http://127.0.0.1:9\n1: 2\n")
    if args[:2] == ["alerts", "list"] and "--db" not in args:
        import sqlite3
        sqlite3.connect(tmp_path / "gw.db").execute("create table t (x)").connection.close()  # a database
        args = [*args, "--db", str(tmp_path / "gw.db")]
    r = cli(*[a.format(tmp=tmp_path, busy=busy_port) for a in args])
    assert r.code == 2 and r.err.startswith("advmatrix: error: ") and len(r.err.strip().splitlines()) == 1, r.err
    assert says in r.err and "Traceback" not in r.err
    assert not (tmp_path / "\udcff\udcfe.db").exists()


def test_a_misspelt_command_is_offered_the_nearest_one_once(cli):
    r = cli("scna")
    assert r.code == 2
    assert r.err.count("Did you mean 'scan'?") == 1, r.err


@pytest.mark.parametrize(("extra", "code"), [([], 0), (["--json"], 0), (["--fail-on", "likely"], 1),
                                              (["--json", "--fail-on", "likely"], 1)])
def test_output_piped_into_a_reader_that_stops_early_is_no_error_and_the_gate_still_decides(extra, code):
    import subprocess
    import sys
    from pathlib import Path

    system = Path(__file__).parents[2] / "examples" / "systems" / "support-agent.yaml"
    proc = subprocess.Popen([sys.executable, "-m", "advmatrix", "threatmodel", str(system), "--paths", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()  # as head does
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr.decode()
    assert b"Traceback" not in stderr and b"Exception ignored" not in stderr


def test_a_link_to_nothing_or_a_loop_of_links_is_named_as_such(cli, tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (tmp_path / "gone").symlink_to(tmp_path / "missing.yaml")
    r = cli("threatmodel", tmp_path / "a")
    assert r.code == 2 and "a loop of symbolic links" in r.err
    r = cli("threatmodel", tmp_path / "gone")
    assert r.code == 2 and "a symbolic link to nothing" in r.err and "missing.yaml" in r.err


def test_a_store_that_cannot_be_opened_is_named_without_its_password(cli):
    # the error printed the database password, and the driver's hint as a second line (newcomer walkthrough N2)
    r = cli("assess", "x", "--db", "postgresql+psycopg://admin:Sup3rS3cret@127.0.0.1:1/advm",
            "--procedures", "direct-injection")
    assert r.code == 2 and "Sup3rS3cret" not in r.err and "admin:***@127.0.0.1" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1, r.err
