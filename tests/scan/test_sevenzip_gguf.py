"""7z archives are opened like zip and tar (every member scanned within the same limits), and GGUF
files report their format facts while malformed headers stay one bounded finding."""

from __future__ import annotations

import io
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from advmatrix.scan import Limits, Severity, scan_bytes, scan_path

from .corpus import reduce_pickle, zip_bytes

py7zr = pytest.importorskip("py7zr")


def seven_zip(members: dict[str, bytes], *, password: str | None = None, header_encryption: bool = False,
              raw_names: bool = False) -> bytes:
    """A 7z archive built by py7zr; ``raw_names`` keeps names py7zr's writer would refuse (``../x``)."""
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", password=password, header_encryption=header_encryption) as z:
        for name, data in members.items():
            (z._writestr if raw_names else z.writestr)(data, name)
    return buf.getvalue()


def rules(report, at_least: Severity = Severity.INFO) -> set[str]:
    return {f.rule for f in report.findings if f.severity >= at_least}


def _marker_pickle(marker: Path) -> bytes:
    # unpickling runs os.system("touch marker"): harmless proof that a loader reached it
    return reduce_pickle(os.system, f"touch {marker}")


# -- 7z -----------------------------------------------------------------------------------------

def test_malicious_pickle_in_7z_is_reported_with_its_member_path(tmp_path):
    marker = tmp_path / "ran"
    archive = tmp_path / "model.7z"
    archive.write_bytes(seven_zip({"weights/model.pkl": _marker_pickle(marker)}))
    # The real chain (py7zr extracts, pickle loads) reaches the payload: shown in a child process.
    code = ("import pickle, py7zr; from py7zr.io import BytesIOFactory; f = BytesIOFactory(1 << 20); "
            f"py7zr.SevenZipFile({str(archive)!r}).extractall(factory=f); "
            "pickle.loads(f.get('weights/model.pkl').read())")
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, timeout=120, check=False)
    assert marker.exists(), "the twin must reach its payload, or the test proves nothing"
    marker.unlink()

    report = scan_path(archive)
    assert report.files[0].format == "7z"
    bad = [f for f in report.findings if f.severity >= Severity.HIGH]
    assert bad and all(f.member == "weights/model.pkl" for f in bad), [(f.rule, f.member) for f in report.findings]
    assert not marker.exists(), "the scanner never runs the payload"


def test_zip_nested_in_7z_is_opened():
    inner = zip_bytes({"archive/data.pkl": reduce_pickle(os.system, "true")})
    report = scan_bytes(seven_zip({"ckpt/model.pt": inner}), "bundle.7z")
    members = {f.member for f in report.findings if f.severity >= Severity.HIGH}
    assert members == {"ckpt/model.pt!archive/data.pkl"}
    assert [r.format for r in report.files] == ["7z", "pytorch-zip", "pickle"]


def test_benign_7z_with_npy_scans_clean():
    buf = io.BytesIO()
    np.save(buf, np.arange(12, dtype=np.float32).reshape(3, 4), allow_pickle=False)
    data = seven_zip({"arrays/a.npy": buf.getvalue(), "README.txt": b"weights for a tiny model\n"})
    report = scan_bytes(data, "arrays.7z")
    assert report.findings == [], [(f.rule, f.message) for f in report.findings]
    assert {r.member: r.format for r in report.files} == {"": "7z", "arrays/a.npy": "npy", "README.txt": "unknown"}


def test_traversal_names_in_7z_are_high():
    data = seven_zip({"../../home/user/.bashrc": b"echo hi\n", "/etc/cron.d/job": b"* * * * * true\n",
                      "ok.txt": b"fine"}, raw_names=True)
    report = scan_bytes(data, "evil.7z")
    escapes = {f.construct for f in report.findings if f.rule == "archive-path-traversal"}
    assert escapes == {"../../home/user/.bashrc", "/etc/cron.d/job"}
    assert all(f.severity >= Severity.HIGH for f in report.findings if f.rule == "archive-path-traversal")


def test_truncated_7z_is_one_clear_finding():
    whole = seven_zip({"a.pkl": reduce_pickle(print, "hi")})
    for cut in (len(whole) - 10, 40, 20):
        report = scan_bytes(whole[:cut], "cut.7z")
        assert report.files[0].format == "7z"
        assert len(report.findings) == 1, [(f.rule, f.message) for f in report.findings]
        finding = report.findings[0]
        assert finding.rule == "7z-malformed" and finding.severity == Severity.MEDIUM and "truncated" in finding.message


def test_corrupt_7z_payload_is_one_finding():
    whole = bytearray(seven_zip({"a.bin": bytes(range(256)) * 64}))
    for i in range(40, 120):  # the packed stream sits right after the 32-byte signature header
        whole[i] ^= 0x5A
    report = scan_bytes(bytes(whole), "bad.7z")
    assert len(report.findings) == 1 and report.findings[0].severity == Severity.MEDIUM, \
        [(f.rule, f.message) for f in report.findings]


def test_7z_bomb_member_is_not_extracted():
    data = seven_zip({"zeros.bin": bytes(8 << 20), "small.pkl": reduce_pickle(os.system, "true")})
    assert len(data) < 8 << 20 >> 8, "the member must compress past the ratio limit"
    report = scan_bytes(data, "bomb.7z")
    bombs = [f for f in report.findings if f.rule == "archive-bomb"]
    assert [f.construct for f in bombs] == ["zeros.bin"] and bombs[0].severity == Severity.HIGH
    assert "zeros.bin" not in {r.member for r in report.files}, "the bomb is never decompressed"
    # the other member is still read and judged
    assert any(f.member == "small.pkl" and f.severity >= Severity.HIGH for f in report.findings)


def test_7z_members_count_against_the_budget():
    data = seven_zip({f"m{i}.txt": b"x" * 100 for i in range(5)})
    report = scan_bytes(data, "many.7z", limits=Limits(max_members=3))
    assert rules(report) == {"archive-too-many-members"}
    assert len([r for r in report.files if r.member]) == 3
    small = scan_bytes(data, "many.7z", limits=Limits(max_expanded=250))
    assert "archive-bomb" in rules(small, Severity.HIGH)


def test_encrypted_7z_is_not_inspectable_rather_than_clean():
    payload = reduce_pickle(os.system, "true")
    members = scan_bytes(seven_zip({"model.pkl": payload}, password="secret"), "locked.7z")
    assert [(f.rule, f.severity, f.construct) for f in members.findings] == \
        [("7z-encrypted", Severity.MEDIUM, "model.pkl")]
    header = scan_bytes(seven_zip({"model.pkl": payload}, password="secret", header_encryption=True), "locked.7z")
    assert [(f.rule, f.severity) for f in header.findings] == [("7z-encrypted", Severity.MEDIUM)]


def test_7z_nesting_is_bounded():
    data = seven_zip({"a.pkl": reduce_pickle(os.system, "true")})
    for _ in range(3):
        data = seven_zip({"inner.7z": data})
    report = scan_bytes(data, "deep.7z", limits=Limits(max_depth=2))
    assert "archive-too-deep" in rules(report)
    assert not any(f.member.endswith("a.pkl") for f in report.findings)
    assert scan_bytes(data, "deep.7z").worst() >= Severity.HIGH  # within the default depth, found


def test_without_py7zr_a_7z_is_one_medium_finding(monkeypatch):
    data = seven_zip({"a.pkl": reduce_pickle(os.system, "true")})
    monkeypatch.setitem(sys.modules, "py7zr", None)  # import py7zr now raises ImportError
    report = scan_bytes(data, "a.7z")
    assert [(f.rule, f.severity) for f in report.findings] == [("7z-unsupported", Severity.MEDIUM)]
    assert "py7zr" in report.findings[0].message


def test_scanning_other_formats_does_not_import_py7zr():
    code = ("import sys; from advmatrix.scan import scan_bytes; "
            "scan_bytes(b'\\x80\\x04K\\x01.', 'a.pkl'); print('py7zr' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


# -- GGUF -----------------------------------------------------------------------------------------

_TYPES = {"u8": 0, "i8": 1, "u16": 2, "i16": 3, "u32": 4, "i32": 5, "f32": 6, "bool": 7, "str": 8, "arr": 9,
          "u64": 10, "i64": 11, "f64": 12}
_CODES = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def _gguf_string(text: str | bytes, n: str = "Q") -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<" + n, len(raw)) + raw


def _gguf_value(kind: str, value, n: str = "Q") -> bytes:
    """A GGUF metadata value: its type, then its bytes (arrays as ``("arr", (inner, [items]))``)."""
    t = _TYPES[kind]
    if kind == "str":
        body = _gguf_string(value, n)
    elif kind == "arr":
        inner, items = value
        body = struct.pack("<I", _TYPES[inner]) + struct.pack("<" + n, len(items))
        body += b"".join(_gguf_value(inner, v, n)[4:] for v in items)
    else:
        body = struct.pack("<" + _CODES[t], value)
    return struct.pack("<I", t) + body


def gguf(kv: list[tuple[str, str, object]], tensors: list[tuple[str, list[int]]] = (), version: int = 3) -> bytes:
    """A GGUF file as llama.cpp lays it out: header, metadata, tensor descriptions, aligned F32 data."""
    n = "Q" if version >= 2 else "I"
    out = b"GGUF" + struct.pack("<I", version) + struct.pack("<" + n, len(tensors)) + struct.pack("<" + n, len(kv))
    for key, kind, value in kv:
        out += _gguf_string(key, n) + _gguf_value(kind, value, n)
    offset, data = 0, b""
    for name, shape in tensors:
        out += _gguf_string(name, n) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape)
        out += struct.pack("<IQ", 0, offset)  # type F32, offset into the data section
        size = 4 * int(np.prod(shape))
        data += bytes(size) + bytes(-size % 32)
        offset = len(data)
    return out + bytes(-len(out) % 32) + data


_LLAMA = [
    ("general.architecture", "str", "llama"),
    ("general.name", "str", "tiny-llama"),
    ("general.file_type", "u32", 15),
    ("llama.context_length", "u32", 4096),
    ("llama.embedding_length", "u32", 8),
    ("tokenizer.ggml.model", "str", "llama"),
    ("tokenizer.ggml.tokens", "arr", ("str", ["<unk>", "<s>", "</s>", "hello"])),
    ("tokenizer.ggml.scores", "arr", ("f32", [0.0, 0.0, 0.0, -1.5])),
    ("tokenizer.chat_template", "str", "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"),
]


def _facts(report) -> str:
    [fact] = [f for f in report.findings if f.rule == "gguf-format"]
    assert fact.severity == Severity.INFO
    return fact.message


def test_gguf_format_facts_are_reported_as_info():
    report = scan_bytes(gguf(_LLAMA, [("token_embd.weight", [8, 4]), ("output.weight", [4, 8])]), "m.gguf")
    assert report.files[0].format == "gguf"
    assert report.at_or_above(Severity.LOW) == [], [(f.rule, f.message) for f in report.findings]
    message = _facts(report)
    for fact in ("GGUF v3", "2 tensors", "9 metadata keys", "architecture llama", "name 'tiny-llama'",
                 "file type Q4_K_M (15)", "context length 4096", "tokenizer llama",
                 f"chat template tokenizer.chat_template ({len(_LLAMA[-1][2].encode())} bytes)"):
        assert fact in message, (fact, message)


def test_gguf_facts_without_a_template_and_in_version_1():
    kv = [("general.architecture", "str", "qwen2"), ("qwen2.context_length", "u64", 32768),
          ("general.file_type", "u32", 99)]
    message = _facts(scan_bytes(gguf(kv, [("w", [2])], version=1), "m.gguf"))
    assert "GGUF v1" in message and "context length 32768" in message and "file type unknown (99)" in message
    assert "no chat template" in message


def test_gguf_template_injection_is_still_critical_next_to_the_facts():
    escape = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
    kv = [*_LLAMA[:-1], ("tokenizer.chat_template.tool_use", "str", escape)]
    report = scan_bytes(gguf(kv), "m.gguf")
    assert {f.rule: f.severity for f in report.findings} == \
        {"gguf-template-injection": Severity.CRITICAL, "gguf-format": Severity.INFO}
    assert "tokenizer.chat_template.tool_use" in _facts(report)


@pytest.mark.parametrize(("name", "mutate", "words"), [
    ("bad version", lambda d: d[:4] + struct.pack("<I", 7) + d[8:], "version 7"),
    ("big-endian", lambda d: d[:4] + struct.pack(">I", 3) + d[8:], "big-endian"),
    ("absurd key count", lambda d: d[:16] + struct.pack("<Q", 1 << 62) + d[24:], "metadata keys"),
    ("absurd tensor count", lambda d: d[:8] + struct.pack("<Q", 1 << 40) + d[16:], "tensors"),
    ("truncated header", lambda d: d[:60], "9 metadata keys cannot fit"),
    ("truncated metadata", lambda d: d[:200], "runs past the end|cannot fit"),
    ("huge string", lambda d: d[:24] + struct.pack("<Q", 1 << 60) + d[32:], "string bytes cannot fit"),
    ("unknown type", lambda d: d.replace(struct.pack("<I", 8) + struct.pack("<Q", 5) + b"llama",
                                         struct.pack("<I", 13) + struct.pack("<Q", 5) + b"llama", 1), "type 13"),
])
def test_malformed_gguf_is_one_medium_finding_naming_the_offset(name, mutate, words):
    data = mutate(gguf(_LLAMA, [("w", [4])]))
    report = scan_bytes(data, "m.gguf")
    assert report.files[0].format == "gguf"
    assert len(report.findings) == 1, [(f.rule, f.message) for f in report.findings]
    finding = report.findings[0]
    assert finding.rule == "gguf-malformed" and finding.severity == Severity.MEDIUM
    assert re.search(words, finding.message) and f"offset {finding.offset}" in finding.message


def test_absurd_array_length_is_refused_before_any_allocation():
    kv = [("tokenizer.ggml.tokens", "arr", ("str", ["a", "b"]))]
    data = bytearray(gguf(kv))
    at = data.index(struct.pack("<Q", 2), 24 + len("tokenizer.ggml.tokens"))
    data[at:at + 8] = struct.pack("<Q", (1 << 63) - 1)
    report = scan_bytes(bytes(data), "m.gguf")
    assert [(f.rule, f.offset) for f in report.findings] == [("gguf-malformed", at)]
    assert "array elements" in report.findings[0].message


def test_mutated_gguf_never_raises():
    import random

    rng = random.Random(18)
    base = gguf(_LLAMA, [("w", [4])])
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(4, 400)] = rng.choice((0, 0xFF, 0x7F, rng.randrange(256)))
        report = scan_bytes(bytes(data), "m.gguf")
        assert report.files[0].format == "gguf" and len([f for f in report.findings if f.rule == "gguf-malformed"]) <= 1


def test_a_vocabulary_string_past_the_end_is_malformed_at_that_string():
    data = bytearray(gguf([("tokenizer.ggml.tokens", "arr", ("str", ["a", "bb", "ccc"]))]))
    at = data.index(struct.pack("<Q", 2) + b"bb")
    data[at:at + 8] = struct.pack("<Q", 1 << 20)
    report = scan_bytes(bytes(data), "m.gguf")
    assert [(f.rule, f.offset) for f in report.findings] == [("gguf-malformed", at)]
