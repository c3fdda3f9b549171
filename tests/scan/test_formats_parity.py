"""The scanner opens each format as its real loader does. Where a loader reaches a payload, a
twin of the crafted file is loaded by the real library in a subprocess (its payload only writes
a marker file) to show the trick works, and the scanner must report it at HIGH or above."""

from __future__ import annotations

import gzip
import io
import json
import lzma
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from advmatrix.scan import Severity, scan_bytes, scan_path

from .corpus import protobuf_field, zip_bytes


class _Marker:
    """Unpickling runs ``exec`` of a line that writes ``path``: harmless proof the payload ran."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return exec, (f"open({self.path!r}, 'w').write('ran')",)


def marker_pickle(path: Path, protocol: int = 4) -> bytes:
    return pickle.dumps(_Marker(path), protocol=protocol)


def loader_reaches(code: str, marker: Path, cwd: Path) -> bool:
    """Run the real library on a crafted file in a child process; whether the payload ran."""
    subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, timeout=120, check=False)
    return marker.exists()


def high(report) -> set[str]:
    return {f.rule for f in report.findings if f.severity >= Severity.HIGH}


# -- 1. benign files that were flagged ------------------------------------------------------------

def _fingerprint() -> bytes:
    version = protobuf_field(1, 1763)  # VersionDef.producer
    return (b"".join(protobuf_field(n, (0x9E3779B97F4A7C15 * n) % (1 << 64)) for n in range(1, 6))
            + protobuf_field(6, version) + protobuf_field(7, "f7f4a7c1-5e37-4779-b97f-4a7c15e37797"))


def test_savedmodel_fingerprint_is_recognised_and_clean(tmp_path):
    report = scan_bytes(_fingerprint(), "fingerprint.pb")
    assert report.files[0].format == "tf-fingerprint"
    assert report.findings == []
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "fingerprint.pb").write_bytes(_fingerprint())
    assert scan_path(saved).findings == []


def test_onnx_model_cannot_pass_for_a_fingerprint():
    tensor = protobuf_field(8, "w") + protobuf_field(13, protobuf_field(1, "location") + protobuf_field(2, "../../x"))
    onnx = protobuf_field(1, 8) + protobuf_field(7, protobuf_field(5, tensor))
    report = scan_bytes(onnx, "fingerprint.pb")
    assert report.files[0].format == "onnx"
    assert "onnx-external-data-escape" in high(report)


class _Net:  # built lazily: torch is optional
    @staticmethod
    def make():
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.body = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())

            def forward(self, x):
                return torch.relu(self.body(x)) + 1

        return Net()


@pytest.fixture(scope="module")
def torchscript_file(tmp_path_factory):
    torch = pytest.importorskip("torch")
    path = tmp_path_factory.mktemp("ts") / "scripted.pt"
    torch.jit.script(_Net.make()).save(str(path))
    return path


def test_real_torchscript_sources_scan_clean(torchscript_file):
    report = scan_path(torchscript_file)
    sources = [r for r in report.files if r.member.endswith(".py")]
    assert sources and {r.format for r in sources} == {"torchscript-source"}
    # the pickle members belong to the pickle policy; the Python sources must raise nothing
    assert [f.message for f in report.findings if f.member.endswith(".py")] == []


@pytest.mark.parametrize("source, construct", [
    ("import os\ndef forward(self, x):\n  return x\n", "import os"),
    ("from subprocess import run\n", "import subprocess"),
    ("def forward(self, x):\n  os.system('id')\n  return x\n", "os"),
    ("def forward(self, x):\n  return eval('x')\n", "eval"),
    ("def __setstate__(self, s):\n  torch.ops.load_library('/tmp/evil.so')\n", "torch.ops.load_library"),
    ("def forward(self, x):\n  return torch.from_file('/etc/passwd', True, 10)\n", "torch.from_file"),
    ("def f(self):\n  return self.forward.__globals__\n", "__globals__"),
    ("def f(self):\n  return getattr(self, name)\n", "getattr"),
])
def test_torchscript_source_with_system_access_is_high(torchscript_file, source, construct):
    src = zipfile.ZipFile(torchscript_file)
    target = next(n for n in src.namelist() if "/code/" in n and n.endswith(".py"))
    members = {i.filename: (source.encode() if i.filename == target else src.read(i)) for i in src.infolist()}
    report = scan_bytes(zip_bytes(members, compression=zipfile.ZIP_STORED), "evil.pt")
    hits = [f for f in report.findings if f.rule == "torchscript-code" and f.severity >= Severity.HIGH]
    assert construct in {f.construct for f in hits}


def test_torchscript_submodule_getattr_is_not_flagged():
    source = b"class M(Module):\n  def forward(self, x: Tensor) -> Tensor:\n    _0 = getattr(self, \"0\")\n" \
             b"    return (_0).forward(x, )\n"
    assert scan_bytes(zip_bytes({"m/code/__torch__.py": source, "m/data.pkl": pickle.dumps({})})).findings == []


# -- 2. containers opened as their loaders open them ----------------------------------------------

def test_zip_after_other_bytes_is_opened(tmp_path):
    marker = tmp_path / "ran"
    archive = zip_bytes({"model/data.pkl": marker_pickle(marker)})
    crafted = tmp_path / "model.bin"
    crafted.write_bytes(b"\x00" * 100 + b"harmless looking preamble" + archive)
    code = (f"import zipfile, pickle; z = zipfile.ZipFile({str(crafted)!r}); "
            "pickle.loads(z.read('model/data.pkl'))")
    assert loader_reaches(code, marker, tmp_path)
    report = scan_path(crafted)
    assert report.files[0].format != "unknown"
    assert any(f.member == "model/data.pkl" and f.severity >= Severity.HIGH for f in report.findings)


def test_pickle_before_a_zip_is_scanned_too(tmp_path):
    torch = pytest.importorskip("torch")  # noqa: F841 - the loader that reads from offset 0
    marker = tmp_path / "ran"
    crafted = tmp_path / "polyglot.pt"
    crafted.write_bytes(marker_pickle(marker, protocol=2) + zip_bytes({"weights.txt": b"1 2 3"}))
    code = f"import torch; torch.load({str(crafted)!r}, weights_only=False)"
    assert loader_reaches(code, marker, tmp_path)
    report = scan_path(crafted)
    assert any(f.member == "<before-zip>" and f.severity >= Severity.HIGH for f in report.findings)


def test_safetensors_header_length_two_to_the_forty():
    report = scan_bytes(struct.pack("<Q", 1 << 40) + b'{"w": {}}' + b"\0" * 32, "m.safetensors")
    assert report.files[0].format == "safetensors"
    assert "safetensors-header" in high(report)


def _npy(descr: object, body: bytes) -> bytes:
    header = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': (1,), }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


@pytest.mark.parametrize("descr", ["object", "|O", "O8", "<O", [("a", "<i4"), ("b", "|O")],
                                   [("outer", [("inner", "O")])], ("O", (2,)), "i4,O"])
def test_npy_object_dtype_spellings(tmp_path, descr):
    marker = tmp_path / "ran"
    crafted = tmp_path / "a.npy"
    crafted.write_bytes(_npy(descr, marker_pickle(marker)))
    code = f"import numpy; numpy.load({str(crafted)!r}, allow_pickle=True)"
    assert loader_reaches(code, marker, tmp_path)
    report = scan_path(crafted)
    assert "npy-object-array" in {f.rule for f in report.findings}
    assert report.worst() >= Severity.HIGH


def test_npy_plain_structured_dtype_is_clean():
    body = b"\0" * 8
    assert scan_bytes(_npy([("Obj", "<f4"), ("b", "<i4")], body), "a.npy").findings == []


def test_deeply_nested_gzip_reports_the_payload_and_the_depth():
    blob = pickle.dumps(_Marker(Path("/nonexistent/marker")), protocol=4)
    for _ in range(12):
        blob = gzip.compress(blob, mtime=0)
    report = scan_bytes(blob, "model.pkl.gz")
    rules = {f.rule for f in report.findings}
    assert "archive-too-deep" in rules
    assert any(f.rule == "pickle-global" and f.severity >= Severity.HIGH for f in report.findings)
    assert sum(f.rule == "archive-too-deep" for f in report.findings) == 1


# -- 3. Keras configs as Keras decodes them --------------------------------------------------------

def _h5_with_config(config_text: str) -> bytes:
    # the model_config attribute sits among binary HDF5 structures, NUL-padded
    return b"\x89HDF\r\n\x1a\n" + b"\0" * 200 + b"model_config\0" + config_text.encode() + b"\0" * 64


def test_h5_config_with_escaped_class_name():
    config = '{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lamb\\u0064a", "config": {}}]}}'
    assert json.loads(config)["config"]["layers"][0]["class_name"] == "Lambda"
    assert "keras-lambda" in high(scan_bytes(_h5_with_config(config), "model.h5"))


def test_lambda_as_activation_is_high():
    dense = {"class_name": "Dense", "module": "keras.layers",
             "config": {"units": 2, "activation": {"class_name": "__lambda__", "config": {"value": ["4wEAAA=="]}}}}
    model = {"class_name": "Sequential", "config": {"layers": [dense]}}
    archive = zip_bytes({"config.json": json.dumps(model).encode(), "metadata.json": b"{}"})
    assert "keras-lambda" in high(scan_bytes(archive, "model.keras"))
    assert "keras-lambda" in high(scan_bytes(_h5_with_config(json.dumps(dense)), "model.h5"))


@pytest.mark.parametrize("module", ["os", "subprocess", "builtins", "posix"])
def test_keras_objects_from_system_modules_are_high(module):
    layer = {"class_name": "function", "module": module, "config": "system", "registered_name": "system"}
    config = {"class_name": "Dense", "module": "keras.layers", "config": {"activation": layer}}
    archive = zip_bytes({"config.json": json.dumps(config).encode(), "metadata.json": b"{}"})
    assert "keras-custom-object" in high(scan_bytes(archive, "model.keras"))


def test_keras_custom_object_from_own_package_stays_medium():
    config = {"class_name": "MyLayer", "module": "my_project.layers", "config": {}}
    archive = zip_bytes({"config.json": json.dumps(config).encode(), "metadata.json": b"{}"})
    assert scan_bytes(archive, "model.keras").worst() == Severity.MEDIUM


# -- 4. joblib's legacy LZMA compression ------------------------------------------------------------

def test_joblib_lzma_alone_payload(tmp_path):
    joblib = pytest.importorskip("joblib")
    marker = tmp_path / "ran"
    crafted = tmp_path / "model.joblib"
    crafted.write_bytes(lzma.compress(marker_pickle(marker), format=lzma.FORMAT_ALONE))
    assert loader_reaches(f"import joblib; joblib.load({str(crafted)!r})", marker, tmp_path)
    report = scan_path(crafted)
    assert report.files[0].format == "lzma"
    assert report.worst() >= Severity.HIGH
    benign = tmp_path / "ok.joblib"
    joblib.dump({"w": list(range(10))}, benign, compress=("lzma", 3))
    clean = scan_path(benign)
    assert clean.files[0].format == "lzma" and clean.findings == []


def test_lzma_alone_sniff_ignores_random_bytes():
    noise = io.BytesIO(bytes((i * 7919 + 13) % 251 for i in range(4096))).getvalue()
    assert scan_bytes(b"\x5d\x00" + noise, "x.bin").files[0].format != "lzma"


# -- 5. GGUF chat templates -------------------------------------------------------------------------

def _gguf(template: str) -> bytes:
    def string(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw

    kv = [("general.architecture", string("llama")), ("tokenizer.chat_template", string(template))]
    body = b"".join(string(k) + struct.pack("<I", 8) + v for k, v in kv)
    scores = string("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, 3) + struct.pack("<3f", 0.0, 1.0, 2.0)
    return b"GGUF" + struct.pack("<IQQ", 3, 0, 3) + body + scores


def test_gguf_chat_template_sandbox_escape(tmp_path):
    pytest.importorskip("jinja2")
    marker = tmp_path / "ran"
    template = ("{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}"
                "{% for m in messages %}{{ m.content }}{% endfor %}")
    crafted = tmp_path / "model.gguf"
    crafted.write_bytes(_gguf(template))
    # llama-cpp-python before 0.2.72 rendered the template with a plain jinja2.Environment
    code = (f"import jinja2, struct; d = open({str(crafted)!r}, 'rb').read(); "
            "i = d.index(b'tokenizer.chat_template') + 27; n = struct.unpack('<Q', d[i:i + 8])[0]; "
            "jinja2.Environment().from_string(d[i + 8:i + 8 + n].decode()).render(messages=[])")
    assert loader_reaches(code, marker, tmp_path)
    report = scan_path(crafted)
    assert report.files[0].format == "gguf"
    assert "gguf-template-injection" in high(report)


def test_gguf_ordinary_chat_template_is_clean():
    chatml = ("{% set ns = namespace(first=true) %}{% for message in messages %}"
              "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
              "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    report = scan_bytes(_gguf(chatml), "model.gguf")
    assert report.files[0].format == "gguf"
    assert [f for f in report.findings if f.severity > Severity.INFO] == []  # the format facts are INFO


def test_files_on_disk_are_sniffed_through_their_mapping(tmp_path, cli):
    """Files are memory-mapped, not read: every sniff must work on a mapping (a `.json` file once
    ended in a traceback)."""
    from advmatrix.scan import scan_path

    (tmp_path / "config.json").write_text('{"class_name": "Sequential", "config": {"layers": []}}')
    (tmp_path / "notes.json").write_text('  {"hello": "world"}')
    (tmp_path / "random.bin").write_bytes(bytes(range(256)) * 64)
    report = scan_path(tmp_path)
    assert {f.path.rsplit("/", 1)[-1] for f in report.files} >= {"config.json", "notes.json"}
    r = cli("scan", str(tmp_path / "config.json"), "--json")
    assert "Traceback" not in r.err and r.code in (0, 1, 2), r.err


# -- 6. real TensorFlow and Keras files (where the libraries are installed) ---------------------

def test_real_tensorflow_saved_model_scans_clean(tmp_path):
    """Every SavedModel TF >= 2.12 writes carries fingerprint.pb, once taken for ONNX."""
    tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed here (too large for CI); "
                             "the fingerprint.pb twin in test_artifacts stands in for it")

    class Doubler(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def __call__(self, x):
            return 2 * x

    tf.saved_model.save(Doubler(), str(tmp_path / "model"))
    report = scan_path(tmp_path / "model")
    assert [f for f in report.findings if f.severity >= Severity.MEDIUM] == [], report.findings


def test_real_keras_files_clean_and_a_lambda_flagged(tmp_path, monkeypatch):
    """Files written by Keras 3 itself (on the PyTorch backend: no TensorFlow needed), in its
    .keras archive and the legacy HDF5 format."""
    import os

    if "keras" not in sys.modules:
        monkeypatch.setitem(os.environ, "KERAS_BACKEND", os.environ.get("KERAS_BACKEND", "torch"))
    keras = pytest.importorskip("keras", reason="Keras is not installed here; the hand-built .keras and .h5 "
                                "twins in test_artifacts cover the format")
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    risky = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2)])
    for suffix in (".keras", ".h5"):
        plain.save(tmp_path / f"plain{suffix}")
        risky.save(tmp_path / f"risky{suffix}")
        clean = scan_path(tmp_path / f"plain{suffix}")
        assert [f for f in clean.findings if f.severity >= Severity.MEDIUM] == [], (suffix, clean.findings)
        flagged = scan_path(tmp_path / f"risky{suffix}")
        assert any(f.severity >= Severity.HIGH and "lambda" in f.rule for f in flagged.findings), (suffix, flagged)
