"""Recognise an artifact's format from its bytes; names are only a hint for protobuf files,
which carry no magic number."""

from __future__ import annotations

import struct
import zlib

from . import _protobuf
from ._pickle import analyse, looks_like_pickle_start

# First bytes of protocol 0/1 pickles: MARK, containers, GLOBAL, constants, PROTO-less starts.
_PROTO0_STARTS = set(b"(]}),cNIJKLSVUXFGTBCde.")


def _is_zlib(data: bytes) -> bool:
    if len(data) < 2 or data[0] & 0x0F != 8 or (data[0] * 256 + data[1]) % 31:
        return False
    try:
        zlib.decompressobj().decompress(data[:4096], 1)
        return True
    except zlib.error:
        return False


def _is_safetensors(data: bytes) -> bool:
    if len(data) < 10:
        return False
    (n,) = struct.unpack("<Q", data[:8])
    return 2 <= n <= len(data) - 8 and data[8:9] == b"{"


def _is_onnx(data: bytes) -> bool:
    # ModelProto: ir_version (1, varint) first in every exporter, and a graph (7) or opsets (8).
    if data[:1] != b"\x08":
        return False
    try:
        numbers = {n for n, _, _ in _protobuf.fields(data)}
    except _protobuf.ProtobufError:
        return False
    return 7 in numbers and numbers <= {1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 25}


def sniff(data: bytes, name: str = "") -> str:
    head = data[:16]
    lower = name.lower()
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if data[257:262] == b"ustar":
        return "tar"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:4] == b"\x04\x22\x4d\x18":
        return "lz4"
    if head[:6] == b"\x93NUMPY":
        return "npy"
    if head[:8] == b"\x89HDF\r\n\x1a\n" or data[512:520] == b"\x89HDF\r\n\x1a\n":
        return "hdf5"
    if looks_like_pickle_start(head):
        return "pickle"
    if _is_safetensors(data):
        return "safetensors"
    if _is_onnx(data):
        return "onnx"
    if lower.endswith((".pb", ".savedmodel")):
        return "tf-graph"
    if _is_zlib(data):
        return "zlib"
    if head[:1] and head[0] in _PROTO0_STARTS:
        # Text-like starts are common; call it a pickle only if it parses as one or names a global.
        result = analyse(data[: 1 << 20])
        if result.pickles or any(e.kind == "global" for e in result.events):
            return "pickle"
    if lower.endswith((".json",)) and data.lstrip()[:1] == b"{":
        return "json"
    return "unknown"
