"""Malicious and benign artifacts built inside the tests: no sample is shipped or downloaded."""

from __future__ import annotations

import io
import os
import pickle
import struct
import tarfile
import zipfile
import zlib


class Reduce:
    """An object whose unpickling calls ``func(*args)``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def reduce_pickle(func, *args, protocol=4) -> bytes:
    return pickle.dumps(Reduce(func, *args), protocol=protocol)


def sbu(text: str) -> bytes:
    """SHORT_BINUNICODE"""
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


# Hand-written opcode streams, one per trick a scanner must see through.
HAND_WRITTEN = {
    "proto0-global-reduce": b"cbuiltins\neval\n(S'1+1'\ntR.",
    "proto0-inst": b"(S'id'\nios\nsystem\n.",
    "obj-opcode": b"\x80\x02(csubprocess\nPopen\nS'id'\no.",
    "newobj": b"\x80\x02csubprocess\nPopen\n(S'id'\ntq\x00\x81.",
    "newobj-ex": b"\x80\x04" + sbu("subprocess") + sbu("Popen") + b"\x93" + sbu("id") + b"\x85}\x92.",
    "stack-global-from-memo": (b"\x80\x04" + sbu("os") + b"\x94" + sbu("system") + b"\x94"
                               + b"0h\x00h\x01\x93" + sbu("id") + b"\x85R."),
    "stack-global-dynamic-name": (b"\x80\x04" + sbu("builtins") + sbu("str") + b"\x93" + sbu("o")
                                  + b"\x85R" + sbu("system") + b"\x93" + sbu("id") + b"\x85R."),
    "dotted-name-torch-hub": b"\x80\x04" + sbu("torch") + sbu("hub.load") + b"\x93" + sbu("x") + b"\x85R.",
    "dunder-traversal": (b"\x80\x04" + sbu("torch._utils") + sbu("_rebuild_tensor_v2.__globals__")
                         + b"\x93."),
    "getattr-chain": (b"\x80\x04" + sbu("builtins") + sbu("getattr") + b"\x93" + sbu("builtins")
                      + sbu("__import__") + b"\x93" + sbu("os") + b"\x85R" + sbu("system") + b"\x86R"
                      + sbu("id") + b"\x85R."),
    "extension-code": b"\x80\x02\x82\x01)R.",
    "attrgetter": b"\x80\x04" + sbu("operator") + sbu("attrgetter") + b"\x93" + sbu("system") + b"\x85R.",
    "numpy-runstring": (b"\x80\x04" + sbu("numpy.testing._private.utils") + sbu("runstring") + b"\x93"
                        + sbu("import os") + b"}\x86R."),
    "unknown-callable": b"\x80\x04" + sbu("innocent_module") + sbu("helper") + b"\x93)R.",
    "build-setstate-gadget": (b"\x80\x04" + sbu("collections") + sbu("OrderedDict") + b"\x93)R"
                              + sbu("webbrowser") + sbu("open") + b"\x93" + b"b."),
}


def nested_pickle() -> bytes:
    inner = reduce_pickle(os.system, "id")
    return reduce_pickle(pickle.loads, inner)


def second_pickle_malicious() -> bytes:
    return pickle.dumps({"weights": [1, 2, 3]}, protocol=2) + reduce_pickle(os.system, "id", protocol=2)


def truncated_after_payload() -> bytes:
    return reduce_pickle(os.system, "id")[:-1] + b"\xff\xfe"


def zip_bytes(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    import gzip
    return gzip.compress(data)


def zlib_bytes(data: bytes) -> bytes:
    return zlib.compress(data)


def break_crc(archive: bytes, member: str) -> bytes:
    """Corrupt the stored CRC of one member in both headers; zipfile then refuses to read it."""
    data = bytearray(archive)
    info = zipfile.ZipFile(io.BytesIO(archive)).getinfo(member)
    data[info.header_offset + 14:info.header_offset + 18] = b"\xde\xad\xbe\xef"
    pos = archive.find(b"PK\x01\x02")
    while pos != -1:
        nlen = struct.unpack("<H", archive[pos + 28:pos + 30])[0]
        if archive[pos + 46:pos + 46 + nlen].decode() == member:
            data[pos + 16:pos + 20] = b"\xde\xad\xbe\xef"
        pos = archive.find(b"PK\x01\x02", pos + 4)
    return bytes(data)


def npy_object_array(payload_pickle: bytes) -> bytes:
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header = header + " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload_pickle


def safetensors_bytes(header: dict, body: bytes) -> bytes:
    import json
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def protobuf_field(number: int, value) -> bytes:
    def varint(n: int) -> bytes:
        out = b""
        while True:
            b = n & 0x7F
            n >>= 7
            if n:
                out += bytes([b | 0x80])
            else:
                return out + bytes([b])
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def tf_graph(*ops: str) -> bytes:
    return b"".join(protobuf_field(1, protobuf_field(1, f"n{i}") + protobuf_field(2, op)) for i, op in enumerate(ops))
