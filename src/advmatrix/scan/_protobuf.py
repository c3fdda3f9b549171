"""Just enough protobuf wire-format reading to inspect ONNX and TensorFlow graphs as bytes.

Installing onnx or tensorflow to scan a model would mean parsing it with the very libraries
whose loaders are being checked; the wire format is simple enough to walk directly.
"""

from __future__ import annotations

from collections.abc import Iterator

Field = tuple[int, int, object]  # (field number, wire type, int value or bytes)


class ProtobufError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


def fields(data: bytes) -> Iterator[Field]:
    """Top-level fields of one message; raises ProtobufError on malformed input."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > end:
                raise ProtobufError("length-delimited field runs past the end")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        if pos > end:
            raise ProtobufError("field runs past the end")
        yield number, wire, value


def strings(data: bytes, depth: int = 0, limit: int = 64) -> Iterator[str]:
    """Every length-delimited field that decodes as text, at any depth (for op-name checks)."""
    if depth > limit:
        return
    try:
        items = list(fields(data))
    except ProtobufError:
        return
    for _, wire, value in items:
        if wire != 2:
            continue
        assert isinstance(value, bytes)
        try:
            text = value.decode("utf-8")
            if text.isprintable():
                yield text
        except UnicodeDecodeError:
            pass
        if value:
            yield from strings(value, depth + 1, limit)
