"""The built-in scanner formats for single artifacts (the containers the scanner opens are in
:mod:`.containers`): recognised from their bytes; names are only a hint for protobuf files,
which carry no magic number. Each gives a tiny benign example of itself."""

from __future__ import annotations

import json
import re
import struct

from . import _checks, _gguf, _protobuf, _torchscript
from ._checks import Where
from ._findings import ARCHITECTURE_CHANGE, CORRUPT_ARTIFACT, UNSAFE_ARTIFACT, Finding
from ._format import Format
from ._pickle import analyse, looks_like_pickle_start

_UUID = re.compile(rb"[0-9A-Fa-f-]{1,64}")
_TORCHSCRIPT_SOURCE = re.compile(r"(^|/)code/(.+/)?[^/]+\.py$")

# formats that can carry code and can also rewire the model's architecture
_CODE_OR_ARCHITECTURE = tuple(dict.fromkeys(UNSAFE_ARTIFACT + ARCHITECTURE_CHANGE))

# First bytes of protocol 0/1 pickles: MARK, containers, GLOBAL, constants, PROTO-less starts.
_PROTO0_STARTS = set(b"(]}),cNIJKLSVUXFGTBCde.")


# -- single artifacts ---------------------------------------------------------------------------

class Npy(Format):
    """NumPy ``.npy`` arrays: object arrays hold pickles, which are analysed."""

    name = "npy"
    title = "NumPy array"
    order = 20

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return data[:6] == b"\x93NUMPY"

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        return _checks.check_npy(data, where)

    @classmethod
    def example(cls) -> bytes:
        header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }"
        header += b" " * (117 - len(header)) + b"\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + struct.pack("<f", 1.0)


class Gguf(Format):
    """GGUF models (llama.cpp): metadata read in full; chat templates checked for Jinja sandbox escapes."""

    name = "gguf"
    title = "GGUF model"
    order = 22

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return data[:4] == b"GGUF"

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        return _gguf.check_gguf(data, where)

    @classmethod
    def example(cls) -> bytes:
        key, value = b"general.name", b"tiny"
        return (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key
                + struct.pack("<IQ", 8, len(value)) + value)


class Hdf5(Format):
    """HDF5 files (Keras ``.h5``): the model configuration is searched for Lambda layers."""

    name = "hdf5"
    title = "HDF5 (Keras .h5)"
    technique_ids = _CODE_OR_ARCHITECTURE
    order = 21

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        signature = b"\x89HDF\r\n\x1a\n"
        return data[:8] == signature or data[512:520] == signature

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        return _checks.check_hdf5(data, where)

    @classmethod
    def example(cls) -> bytes:
        return b"\x89HDF\r\n\x1a\n" + b"\x00" * 56


class Pickle(Format):
    """Python pickles of every protocol (and everything built on them: PyTorch, joblib), simulated
    opcode by opcode; globals are judged against an allow-list."""

    name = "pickle"
    title = "Python pickle"
    order = 30

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return looks_like_pickle_start(data[:16])

    @classmethod
    def sniff_late(cls, data: bytes, name: str) -> bool:
        # text-like starts are common; a protocol 0/1 pickle only if it parses as one or names a global
        if not data[:1] or data[0] not in _PROTO0_STARTS:
            return False
        result = analyse(data[: 1 << 20])
        return bool(result.pickles) or any(e.kind == "global" for e in result.events)

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        return _checks.check_pickle(data, where)

    @classmethod
    def example(cls) -> bytes:
        return b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."  # {'a': 1}, protocol 4


class Safetensors(Format):
    """safetensors files: the JSON header is checked (offsets, sizes, metadata); tensors hold no code."""

    name = "safetensors"
    title = "safetensors"
    technique_ids = CORRUPT_ARTIFACT
    order = 40

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        if len(data) < 10:
            return False
        (n,) = struct.unpack("<Q", data[:8])
        # A length past the end still names the format: the check reports it (the library refuses it).
        return n >= 2 and data[8:9] == b"{" and (n <= len(data) - 8 or data[9:10] in (b'"', b"}", b" ", b"\n"))

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        return _checks.check_safetensors(data, where)

    @classmethod
    def example(cls) -> bytes:
        header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
        return struct.pack("<Q", len(header)) + header + struct.pack("<f", 1.0)


class TorchScriptSource(Format):
    """TorchScript ``code/*.py`` members: Python the loader compiles, checked as Python for calls
    that reach the system (never as pickles)."""

    name = "torchscript-source"
    title = "TorchScript source"
    order = 5
    example_name = "model/code/__torch__.py"

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return bool(_TORCHSCRIPT_SOURCE.search(name.replace("\\", "/")))

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        return _torchscript.check_source(data, where)

    @classmethod
    def example(cls) -> bytes:
        return b"class M(Module):\n  def forward(self: __torch__.M, x: Tensor) -> Tensor:\n    return torch.relu(x)\n"


class TfFingerprint(Format):
    """The ``fingerprint.pb`` of SavedModels from TensorFlow 2.12 on: hashes and a version, no graph."""

    name = "tf-fingerprint"
    title = "TensorFlow SavedModel fingerprint"
    technique_ids = CORRUPT_ARTIFACT
    order = 49  # before ONNX, whose field 7 (graph) a fingerprint's uuid (7) would pass for
    example_name = "fingerprint.pb"

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        # FingerprintDef: five uint64 hashes (1-5), VersionDef (6), uuid string (7). The uuid must
        # look like one: hex digits and dashes cannot encode a graph node (tag 0x0a), so an ONNX
        # model cannot pass for a fingerprint to skip its checks.
        if not 0 < len(data) <= 4096:  # a few hashes and a uuid; never a large file
            return False
        wires = {1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 2, 7: 2}
        hashes = 0
        try:
            for n, w, v in _protobuf.fields(bytes(data)):
                if wires.get(n) != w or (n == 7 and not _UUID.fullmatch(v)):  # type: ignore[arg-type]
                    return False
                hashes += n <= 5
        except _protobuf.ProtobufError:
            return False
        return hashes >= 3 or (hashes >= 1 and name.lower().endswith("fingerprint.pb"))

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        return []  # only integers and a version; nothing a loader runs

    @classmethod
    def example(cls) -> bytes:
        return b"\x08\x01\x10\x02\x18\x03\x20\x04\x28\x05\x32\x02\x08\x01\x3a\x04abcd"


class Onnx(Format):
    """ONNX models: custom operator domains and external data paths that escape the model's folder."""

    name = "onnx"
    title = "ONNX model"
    technique_ids = _CODE_OR_ARCHITECTURE
    order = 50

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        # ModelProto: ir_version (1, varint) first in every exporter, and a graph (7) or opsets (8)
        if data[:1] != b"\x08":
            return False
        try:
            numbers = {n for n, _, _ in _protobuf.fields(data)}
        except _protobuf.ProtobufError:
            return False
        return 7 in numbers and numbers <= {1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 25}

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        return _checks.check_onnx(data, where)

    @classmethod
    def example(cls) -> bytes:
        return b"\x08\x08" + b"\x3a\x00"  # ir_version 8 and an empty graph


class TfGraph(Format):
    """TensorFlow graphs and SavedModels (``.pb``): ops that run Python or touch files."""

    name = "tf-graph"
    title = "TensorFlow graph"
    order = 60
    example_name = "saved_model.pb"

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return name.lower().endswith((".pb", ".savedmodel"))

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        return _checks.check_tf_graph(data, where)

    @classmethod
    def example(cls) -> bytes:
        return b""


class KerasConfig(Format):
    """JSON model configurations (Keras ``config.json``): Lambda layers and unknown modules."""

    name = "json"
    title = "JSON model configuration"
    technique_ids = _CODE_OR_ARCHITECTURE
    order = 90
    example_name = "config.json"

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return name.lower().endswith(".json") and bytes(data[:4096]).lstrip()[:1] == b"{"

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        try:
            return _checks.check_keras_config(json.loads(bytes(data)), where)
        except RecursionError:
            return [_checks.keras_config_too_deep(where)]
        except ValueError:
            return []

    @classmethod
    def example(cls) -> bytes:
        return b'{"class_name": "Sequential", "config": {"layers": []}}'
