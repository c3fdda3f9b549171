"""The built-in scanner formats: recognised from their bytes; names are only a hint for
protobuf files, which carry no magic number. Each gives a tiny benign example of itself."""

from __future__ import annotations

import bz2
import json
import lzma
import struct
import zlib

from . import _checks, _protobuf
from ._checks import Where
from ._findings import ARCHITECTURE_CHANGE, ARCHIVE_ABUSE, CORRUPT_ARTIFACT, UNSAFE_ARTIFACT, Finding
from ._format import Format
from ._pickle import analyse, looks_like_pickle_start

# formats that can carry code and can also rewire the model's architecture
_CODE_OR_ARCHITECTURE = tuple(dict.fromkeys(UNSAFE_ARTIFACT + ARCHITECTURE_CHANGE))

# First bytes of protocol 0/1 pickles: MARK, containers, GLOBAL, constants, PROTO-less starts.
_PROTO0_STARTS = set(b"(]}),cNIJKLSVUXFGTBCde.")


# -- containers the scanner opens ------------------------------------------------------------------

class Zip(Format):
    """Zip archives, PyTorch's zip checkpoints and Keras v3 files among them; every member is scanned."""

    name = "zip"
    title = "Zip archive"
    technique_ids = ARCHIVE_ABUSE
    order = 10
    opens = "archive"

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

    @classmethod
    def example(cls) -> bytes:
        return b"PK\x05\x06" + b"\x00" * 18  # an empty archive: only its end-of-directory record


class Tar(Format):
    """POSIX tar archives; every regular member is scanned, links and escaping paths are findings."""

    name = "tar"
    title = "Tar archive"
    technique_ids = ARCHIVE_ABUSE
    order = 11
    opens = "archive"

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return data[257:262] == b"ustar"

    @classmethod
    def example(cls) -> bytes:
        import io
        import tarfile

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            info = tarfile.TarInfo("empty.txt")
            tar.addfile(info, io.BytesIO(b""))
        return buf.getvalue()


class _Stream(Format):
    """A compressed stream recognised by its magic number; the scanner decompresses it within
    limits and scans what comes out."""

    technique_ids = ARCHIVE_ABUSE
    opens = "stream"
    magic: bytes = b""

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return data[:len(cls.magic)] == cls.magic


class Gzip(_Stream):
    """gzip streams (joblib's and torch's compressed files); the content is scanned."""

    name = "gzip"
    title = "gzip stream"
    order = 12
    magic = b"\x1f\x8b"

    @classmethod
    def decompress(cls, data: bytes, limit: int) -> tuple[bytes, bool]:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return d.decompress(data, limit), d.eof

    @classmethod
    def example(cls) -> bytes:
        import gzip

        return gzip.compress(b"hello", mtime=0)


class Bz2(_Stream):
    """bzip2 streams; the content is scanned."""

    name = "bz2"
    title = "bzip2 stream"
    order = 13
    magic = b"BZh"

    @classmethod
    def decompress(cls, data: bytes, limit: int) -> tuple[bytes, bool]:
        d = bz2.BZ2Decompressor()
        return d.decompress(data, max_length=limit), d.eof

    @classmethod
    def example(cls) -> bytes:
        return bz2.compress(b"hello")


class Xz(_Stream):
    """xz streams; the content is scanned."""

    name = "xz"
    title = "xz stream"
    order = 14
    magic = b"\xfd7zXZ\x00"

    @classmethod
    def decompress(cls, data: bytes, limit: int) -> tuple[bytes, bool]:
        d = lzma.LZMADecompressor()
        return d.decompress(data, max_length=limit), d.eof

    @classmethod
    def example(cls) -> bytes:
        return lzma.compress(b"hello")


class Lz4(_Stream):
    """LZ4 frames (joblib's lz4 compression); scanned when the optional ``lz4`` package is installed."""

    name = "lz4"
    title = "LZ4 frame"
    order = 15
    magic = b"\x04\x22\x4d\x18"

    @classmethod
    def decompress(cls, data: bytes, limit: int) -> tuple[bytes, bool]:
        import lz4.frame  # optional: only joblib's lz4 compression needs it; ImportError is a finding

        d = lz4.frame.LZ4FrameDecompressor()
        return d.decompress(data, max_length=limit), d.eof

    @classmethod
    def example(cls) -> bytes:
        # an LZ4 frame header (magic, flags, block descriptor, checksum) and the end mark
        return b"\x04\x22\x4d\x18\x60\x40\x82" + b"\x00\x00\x00\x00"


class Zlib(_Stream):
    """Bare zlib streams (joblib's default compression); the content is scanned."""

    name = "zlib"
    title = "zlib stream"
    order = 80  # after the protobuf formats: its two-byte header is weak evidence

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        if len(data) < 2 or data[0] & 0x0F != 8 or (data[0] * 256 + data[1]) % 31:
            return False
        try:
            zlib.decompressobj().decompress(data[:4096], 1)
            return True
        except zlib.error:
            return False

    @classmethod
    def decompress(cls, data: bytes, limit: int) -> tuple[bytes, bool]:
        d = zlib.decompressobj()
        return d.decompress(data, limit), d.eof

    @classmethod
    def example(cls) -> bytes:
        return zlib.compress(b"hello")


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
        return 2 <= n <= len(data) - 8 and data[8:9] == b"{"

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        return _checks.check_safetensors(data, where)

    @classmethod
    def example(cls) -> bytes:
        header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
        return struct.pack("<Q", len(header)) + header + struct.pack("<f", 1.0)


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
        return name.lower().endswith(".json") and data.lstrip()[:1] == b"{"

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        try:
            return _checks.check_keras_config(json.loads(data), where)
        except (ValueError, RecursionError):
            return []

    @classmethod
    def example(cls) -> bytes:
        return b'{"class_name": "Sequential", "config": {"layers": []}}'
