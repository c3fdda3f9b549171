"""A fast decoder for pickle opcodes over bytes or a memory map.

``pickletools.genops`` does the same job one ``read`` call per argument and is the slowest part
of scanning large pickles; this decoder indexes the buffer directly. It follows the real
unpickler's reading rules (``pickle._Unpickler``), and a test checks it against ``genops`` on
valid pickles of every protocol.
"""

from __future__ import annotations

import codecs
import struct

_I4 = struct.Struct("<i").unpack_from
_U2 = struct.Struct("<H").unpack_from
_U4 = struct.Struct("<I").unpack_from
_U8 = struct.Struct("<Q").unpack_from
_F8 = struct.Struct(">d").unpack_from

# opcode byte -> name, for every opcode of protocols 0-5
NAMES = {
    ord("("): "MARK", ord("."): "STOP", ord("0"): "POP", ord("1"): "POP_MARK", ord("2"): "DUP",
    ord("F"): "FLOAT", ord("I"): "INT", ord("J"): "BININT", ord("K"): "BININT1", ord("L"): "LONG",
    ord("M"): "BININT2", ord("N"): "NONE", ord("P"): "PERSID", ord("Q"): "BINPERSID", ord("R"): "REDUCE",
    ord("S"): "STRING", ord("T"): "BINSTRING", ord("U"): "SHORT_BINSTRING", ord("V"): "UNICODE",
    ord("X"): "BINUNICODE", ord("a"): "APPEND", ord("b"): "BUILD", ord("c"): "GLOBAL", ord("d"): "DICT",
    ord("}"): "EMPTY_DICT", ord("e"): "APPENDS", ord("g"): "GET", ord("h"): "BINGET", ord("i"): "INST",
    ord("j"): "LONG_BINGET", ord("l"): "LIST", ord("]"): "EMPTY_LIST", ord("o"): "OBJ", ord("p"): "PUT",
    ord("q"): "BINPUT", ord("r"): "LONG_BINPUT", ord("s"): "SETITEM", ord("t"): "TUPLE",
    ord(")"): "EMPTY_TUPLE", ord("u"): "SETITEMS", ord("G"): "BINFLOAT",
    0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1",
    0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8A: "LONG1", 0x8B: "LONG4",
    ord("B"): "BINBYTES", ord("C"): "SHORT_BINBYTES", 0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8",
    0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
    0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
    0x98: "READONLY_BUFFER",
}

# How each opcode's argument is laid out.
_NOARG, _U1, _U2A, _I4A, _U4A, _U8A, _LEN1, _LEN4, _LEN8, _LINE, _LINE2, _F8A, _LONG1, _LONG4, _SLEN4 = range(15)
_LAYOUT = {name: _NOARG for name in NAMES.values()}
_LAYOUT.update({
    "PROTO": _U1, "BININT1": _U1, "BINGET": _U1, "BINPUT": _U1, "EXT1": _U1,
    "BININT2": _U2A, "EXT2": _U2A, "BININT": _I4A, "EXT4": _I4A,
    "LONG_BINGET": _U4A, "LONG_BINPUT": _U4A, "FRAME": _U8A,
    "SHORT_BINSTRING": _LEN1, "SHORT_BINBYTES": _LEN1, "SHORT_BINUNICODE": _LEN1,
    "BINBYTES": _LEN4, "BINUNICODE": _LEN4, "BINSTRING": _SLEN4,
    "BINBYTES8": _LEN8, "BINUNICODE8": _LEN8, "BYTEARRAY8": _LEN8,
    "INT": _LINE, "LONG": _LINE, "FLOAT": _LINE, "STRING": _LINE, "UNICODE": _LINE,
    "PERSID": _LINE, "GET": _LINE, "PUT": _LINE,
    "GLOBAL": _LINE2, "INST": _LINE2, "BINFLOAT": _F8A, "LONG1": _LONG1, "LONG4": _LONG4,
})
LAYOUT = {code: _LAYOUT[name] for code, name in NAMES.items()}
_FIXED = {_U2A: (_U2, 2), _I4A: (_I4, 4), _U4A: (_U4, 4), _U8A: (_U8, 8), _F8A: (_F8, 8)}


class DecodeError(ValueError):
    pass


def _take(buf, pos: int, n: int) -> bytes:
    if n < 0:
        raise DecodeError("negative length")
    end = pos + n
    if end > len(buf):
        raise DecodeError(f"argument of {n} bytes runs past the end")
    return buf[pos:end]


def _line(buf, pos: int) -> tuple[bytes, int]:
    nl = buf.find(b"\n", pos)
    if nl < 0:
        raise DecodeError("line argument without a newline")
    return buf[pos:nl], nl + 1


def _text_arg(name: str, raw: bytes):
    if name == "INT":
        if raw == b"00":
            return False
        if raw == b"01":
            return True
        return int(raw, 0)
    if name == "LONG":
        return int(raw[:-1] if raw.endswith(b"L") else raw, 0)
    if name == "FLOAT":
        return float(raw)
    if name in ("GET", "PUT"):
        return int(raw)
    if name == "STRING":
        if len(raw) < 2 or raw[0] != raw[-1] or raw[:1] not in (b"'", b'"'):
            raise DecodeError("STRING argument is not quoted")
        return codecs.escape_decode(raw[1:-1])[0].decode("latin-1")
    if name == "UNICODE":
        return str(raw, "raw-unicode-escape")
    return raw.decode("ascii")  # PERSID


def decode(buf, pos: int) -> tuple[str, object, int]:
    """The opcode at ``pos``: its name, its argument, and where the next one starts."""
    if pos >= len(buf):
        raise DecodeError("stream ended without STOP")
    code = buf[pos]
    layout = LAYOUT.get(code)
    if layout is None:
        raise DecodeError(f"unknown opcode byte 0x{code:02x}")
    name = NAMES[code]
    pos += 1
    if layout == _NOARG:
        return name, None, pos
    if layout == _U1:
        if pos >= len(buf):
            raise DecodeError("truncated argument")
        return name, buf[pos], pos + 1
    if layout == _LEN1:
        if pos >= len(buf):
            raise DecodeError("truncated argument")
        n = buf[pos]
        raw = _take(buf, pos + 1, n)
        return name, (raw.decode("utf-8") if name == "SHORT_BINUNICODE" else
                      raw.decode("latin-1") if name == "SHORT_BINSTRING" else raw), pos + 1 + n
    if layout in (_LEN4, _SLEN4, _LEN8):
        width = 8 if layout == _LEN8 else 4
        _take(buf, pos, width)
        n = _U8(buf, pos)[0] if width == 8 else (_I4(buf, pos)[0] if layout == _SLEN4 else _U4(buf, pos)[0])
        raw = _take(buf, pos + width, n)
        nxt = pos + width + n
        if name in ("BINUNICODE", "BINUNICODE8"):
            return name, raw.decode("utf-8", "surrogatepass"), nxt
        if name == "BINSTRING":
            return name, raw.decode("latin-1"), nxt
        return name, raw, nxt
    fixed = _FIXED.get(layout)
    if fixed is not None:
        unpack, width = fixed
        _take(buf, pos, width)
        return name, unpack(buf, pos)[0], pos + width
    if layout in (_LONG1, _LONG4):
        if layout == _LONG1:
            if pos >= len(buf):
                raise DecodeError("truncated argument")
            n, start = buf[pos], pos + 1
        else:
            _take(buf, pos, 4)
            n, start = _I4(buf, pos)[0], pos + 4
        raw = _take(buf, start, n)
        return name, int.from_bytes(raw, "little", signed=True), start + n
    if layout == _LINE:
        raw, nxt = _line(buf, pos)
        return name, _text_arg(name, raw), nxt
    # _LINE2: GLOBAL and INST, "module\nname\n", decoded as the unpickler does
    module, nxt = _line(buf, pos)
    attr, nxt = _line(buf, nxt)
    return name, f"{module.decode('utf-8')} {attr.decode('utf-8')}", nxt
