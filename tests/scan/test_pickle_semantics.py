"""The pickle analyser judges what the real unpickler does, checked against the real loaders.

Each crafted file is a harmless twin of an attack: its payload only creates a marker file. The
real library loads it in a subprocess (never in the test process) to show the loader reaches the
payload, and the scanner must report that file at HIGH or above.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from advmatrix.scan import Severity, _machine, scan_bytes, scan_path

torch = pytest.importorskip("torch")


# -- a tiny pickle assembler: the tricks below cannot be produced by pickle.dumps ------------------
def _value(v) -> bytes:
    if v is None:
        return b"N"
    if isinstance(v, bool):
        return b"\x88" if v else b"\x89"
    if isinstance(v, int):
        return b"J" + struct.pack("<i", v)
    if isinstance(v, str):
        raw = v.encode()
        return b"X" + struct.pack("<I", len(raw)) + raw
    if isinstance(v, bytes):
        return b"B" + struct.pack("<I", len(v)) + v
    if isinstance(v, list):
        return b"](" + b"".join(map(_value, v)) + b"e"
    if isinstance(v, tuple):
        return b"(" + b"".join(map(_value, v)) + b"t"
    if isinstance(v, _Ref):
        return v.code
    raise TypeError(v)


class _Ref:
    """A global (optionally called) inside an assembled pickle."""

    def __init__(self, module: str, name: str, args: tuple | None = None, opcode: str = "STACK_GLOBAL"):
        if opcode == "STACK_GLOBAL":
            code = _value(module) + _value(name) + b"\x93"
        else:
            code = b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        self.code = code if args is None else code + _value(args) + b"R"


def _pickle(obj: _Ref, proto: int = 4) -> bytes:
    return bytes([0x80, proto]) + obj.code + b"."


_LOADER = textwrap.dedent("""
    import json, pickle, sys
    for path in json.loads(sys.argv[1]):
        try:
            with open(path, "rb") as f:
                pickle.load(f)
        except BaseException:
            pass
""")


def _load_all(paths: list[Path], markers: list[Path]) -> list[bool]:
    """Unpickle every file with the real unpickler in one subprocess; which markers appeared."""
    subprocess.run([sys.executable, "-c", _LOADER, json.dumps([str(p) for p in paths])],
                   check=True, timeout=120, capture_output=True)
    deadline = time.monotonic() + 5  # Popen twins finish after the loader returns
    while not all(m.exists() for m in markers) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [m.exists() for m in markers]


def _assert_reached_and_flagged(tmp_path: Path, cases: dict[str, tuple[bytes, Path]]) -> None:
    paths = []
    for name, (data, _) in cases.items():
        paths.append(tmp_path / f"{name}.pkl")
        paths[-1].write_bytes(data)
    reached = _load_all(paths, [marker for _, marker in cases.values()])
    for (name, (data, _)), hit in zip(cases.items(), reached, strict=True):
        assert hit, f"{name}: the twin never reached its payload; the test proves nothing"
        report = scan_bytes(data, name)
        worst = report.worst()
        assert worst is not None and worst >= Severity.HIGH, (name, [f.message for f in report.findings])


# -- 1. names are judged by the object they reach ---------------------------------------------------
def test_dotted_names_through_trusted_packages_are_judged_by_their_target(tmp_path):
    pytest.importorskip("sklearn")
    m = {k: tmp_path / f"marker-{k}" for k in ("log", "log-g", "popen", "tmp", "codecs")}
    cases = {
        # sklearn/__init__ imports logging; FileHandler creates its file
        "sklearn-logging": (_pickle(_Ref("sklearn", "logging.FileHandler", (str(m["log"]),))), m["log"]),
        # GLOBAL resolves dotted names too once PROTO says 4
        "sklearn-logging-global": (_pickle(_Ref("sklearn", "logging.FileHandler", (str(m["log-g"]),),
                                                opcode="GLOBAL")), m["log-g"]),
        "sklearn-np-subprocess": (_pickle(_Ref("sklearn.base", "np.f2py.subprocess.Popen",
                                               (["touch", str(m["popen"])],))), m["popen"]),
        "torch-tempfile": (_pickle(_Ref("torch.nn.modules.module", "torch._utils_internal.tempfile.NamedTemporaryFile",
                                        ("w+b", -1, None, None, "", "marker-tmp", str(tmp_path), False))),
                           tmp_path / "marker-tmp"),
        # a nested-class-shaped path that is really a module attribute of an unlisted module
        "codecs-through-module": (_pickle(_Ref("encodings", "codecs.open", (str(m["codecs"]), "w"))), m["codecs"]),
    }
    _assert_reached_and_flagged(tmp_path, {k: v for k, v in cases.items() if k != "torch-tempfile"})
    # NamedTemporaryFile picks its own suffix: look for the prefix instead of one exact name
    data = cases["torch-tempfile"][0]
    (tmp_path / "t.pkl").write_bytes(data)
    _load_all([tmp_path / "t.pkl"], [])
    assert any(p.name.startswith("marker-tmp") for p in tmp_path.iterdir())
    assert scan_bytes(data).worst() == Severity.CRITICAL


@pytest.mark.parametrize(("module", "name"), [
    ("sklearn.base", "inspect.Signature"), ("torch.nn.modules.module", "torch.ctypes.CDLL"),
    ("sklearn.linear_model", "builtins.Exception"), ("torch.nn.modules.module", "torch.hub.load"),
    ("sklearn.base", "np.f2py.subprocess.Popen"), ("sklearn", "logging.FileHandler"),
])
def test_camelcase_leaf_under_trusted_prefix_is_not_trusted(module, name):
    for opcode in ("STACK_GLOBAL", "GLOBAL"):
        report = scan_bytes(_pickle(_Ref(module, name, opcode=opcode)))
        assert report.worst() == Severity.CRITICAL, [f.message for f in report.findings]


def test_a_package_s_own_classes_stay_trusted():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    for proto in (2, 4, 5):
        assert scan_bytes(pickle.dumps(model, protocol=proto)).findings == []
    assert scan_bytes(pickle.dumps(torch.nn.Sequential(torch.nn.Linear(2, 2)), protocol=4)).findings == []


# -- 2. allow-listed helpers that deserialise or call their arguments --------------------------------
def _payload_pickle(marker: Path) -> bytes:
    return _pickle(_Ref("codecs", "open", (str(marker), "w")), proto=2)


def test_load_from_bytes_payloads_are_scanned(tmp_path):
    m = [tmp_path / f"marker-{i}" for i in range(3)]
    zip_payload = io.BytesIO()
    with zipfile.ZipFile(zip_payload, "w") as zf:  # the layout torch.load expects from torch.save
        zf.writestr("archive/data.pkl", _payload_pickle(m[1]))
        zf.writestr("archive/version", "3\n")
        zf.writestr("archive/byteorder", "little")
    cases = {
        "legacy": (_pickle(_Ref("torch.storage", "_load_from_bytes", (_payload_pickle(m[0]),))), m[0]),
        "zip": (_pickle(_Ref("torch.storage", "_load_from_bytes", (zip_payload.getvalue(),))), m[1]),
        "rebuild-calls-func": (_pickle(_Ref("torch._tensor", "_rebuild_from_type_v2", (
            _Ref("codecs", "open"), _Ref("torch", "Tensor"), (str(m[2]), "w"), None))), m[2]),
    }
    _assert_reached_and_flagged(tmp_path, cases)
    for name in ("legacy", "zip"):
        # only the nested pickle names codecs.open: it is reported because it was analysed
        report = scan_bytes(cases[name][0])
        assert {f.construct: f.severity for f in report.findings}["codecs.open"] == Severity.HIGH


def test_bytesio_wrapped_nested_pickle_is_scanned():
    inner = _pickle(_Ref("innocent_module", "helper", ("x",)), proto=2)
    outer = _pickle(_Ref("pickle", "load", (_Ref("io", "BytesIO", (inner,)),)))
    findings = {f.construct: f.severity for f in scan_bytes(outer).findings}
    assert findings["innocent_module.helper"] == Severity.HIGH


def test_real_storage_pickle_is_clean():
    # legacy storages pickle through the allow-listed _load_from_bytes; its nested load is scanned
    report = scan_bytes(pickle.dumps(torch.UntypedStorage(4), protocol=2))
    assert [f for f in report.findings if f.severity >= Severity.MEDIUM] == [], [f.message for f in report.findings]


# -- 3. padding past the opcode limit ---------------------------------------------------------------
def test_payload_after_padding_past_the_opcode_limit_keeps_its_severity(tmp_path):
    marker = tmp_path / "marker"
    payload = _Ref("codecs", "open", (str(marker), "w")).code
    data = b"\x80\x02" + b"N0" * (_machine.MAX_OPS + 10) + payload + b"."
    (tmp_path / "p.pkl").write_bytes(data)
    assert _load_all([tmp_path / "p.pkl"], [marker]) == [True]
    findings = {f.construct: f.severity for f in scan_bytes(data).findings}
    assert findings == {"codecs.open": Severity.HIGH}


def test_nested_tuples_do_not_blow_up_hashing():
    # DUP + TUPLE2 doubles a tuple per two bytes; hashing it as a dict key would take 2**80 steps
    data = b"\x80\x04}N" + b"2\x86" * 80 + b"Ns."
    assert scan_bytes(data).findings == []


# -- 4. TorchScript ---------------------------------------------------------------------------------
_SCRIPT = textwrap.dedent("""
    import sys, torch
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 2)
            self.sizes = [1, 2]
            self.scale = [0.5]
            self.flags = [True]
        def forward(self, x):
            return self.fc(x).relu() * self.scale[0]
    torch.jit.script(Net()).save(sys.argv[1])
""")


@pytest.fixture(scope="module")
def torchscript_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ts")
    (folder / "make_net.py").write_text(_SCRIPT)  # torch.jit.script needs the class's source on disk
    path = folder / "net.pt"
    subprocess.run([sys.executable, str(folder / "make_net.py"), str(path)], check=True, timeout=120,
                   capture_output=True)
    return path


def _pickle_findings(report):
    # code/*.py sources are checked as Python by formats.py; here only the pickles are judged
    return [f for f in report.findings if not f.member.endswith(".py")]


def test_torchscript_pickles_scan_clean(torchscript_file):
    report = scan_path(torchscript_file)
    assert _pickle_findings(report) == [], [f.message for f in _pickle_findings(report)]


def test_torchscript_with_a_dangerous_global_is_flagged(torchscript_file, tmp_path):
    src = zipfile.ZipFile(torchscript_file)
    bad = tmp_path / "bad.pt"
    with zipfile.ZipFile(bad, "w") as out:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith("/data.pkl"):
                # run os.system first, drop its result, then build the model as before
                body = body[:2] + b"cos\nsystem\n(S'true'\ntR0" + body[2:]
            out.writestr(info, body)
    findings = _pickle_findings(scan_path(bad))
    assert {f.construct: f.severity for f in findings}.get("os.system") == Severity.CRITICAL


def test_torchscript_module_classes_are_trusted_only_as_plain_names():
    assert scan_bytes(_pickle(_Ref("__torch__.torch.nn.modules.linear", "Linear", ()), proto=2)).findings == []
    assert scan_bytes(_pickle(_Ref("torch.jit._pickle", "build_intlist", ([1, 2],)), proto=2)).findings == []
    for module, name in (("__torch__", "os.system"), ("torch.jit", "load"), ("torch.jit._pickle", "pickle.loads")):
        assert scan_bytes(_pickle(_Ref(module, name, ("x",)))).worst() == Severity.CRITICAL, (module, name)


def test_assembler_matches_pickle_for_plain_values():
    # the crafted files above are only meaningful if the assembler writes what pickle reads
    value = ("a", 1, None, True, b"b", ["c", -2])
    assert pickle.loads(b"\x80\x04" + _value(value) + b".") == value
