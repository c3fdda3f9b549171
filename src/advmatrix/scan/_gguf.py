"""GGUF model files: the metadata is read as llama.cpp reads it, and chat templates (Jinja that
some loaders render outside a sandbox) are searched for sandbox escapes."""

from __future__ import annotations

import re
import struct

from ._checks import Where
from ._findings import CORRUPT_ARTIFACT, Finding, Severity

# Value types of GGUF metadata and the size of each fixed-width one.
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
_MAX_KEYS = 1 << 20

# What template injections use to leave Jinja's object model: dunder attributes, the globals
# of helper objects Jinja exposes (cycler, joiner, lipsum, namespace), and escapes that spell
# an underscore without writing one.
_ESCAPE = re.compile(
    r"__(?:class|mro|base|bases|subclasses|globals|builtins|import|init|getattribute|reduce|code|dict)__"
    r"|\b(?:lipsum|cycler|joiner|namespace|self)\s*\.\s*(?:__|_TemplateReference__)"
    r"|\|\s*attr\s*\(|\\x5f|\\u005f|\\137|\bos\s*\.\s*(?:popen|system)|\bsubprocess\b|\beval\s*\(|\bexec\s*\(")


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("metadata runs past the end of the file")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return bytes(out)

    def unpack(self, fmt: str) -> int:
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        return self.take(self.unpack("Q")).decode("utf-8", "replace")

    def value(self, kind: int, depth: int = 0) -> object:
        if kind in _FIXED:
            return self.take(_FIXED[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY and depth < 4:
            inner, count = self.unpack("I"), self.unpack("Q")
            if inner in _FIXED:  # numbers (token scores and types): skipped, not decoded
                self.take(_FIXED[inner] * count)
                return None
            return [self.value(inner, depth + 1) for _ in range(count)]
        raise ValueError(f"unknown metadata value type {kind}")


def check_gguf(data: bytes, where: Where) -> list[Finding]:
    """Findings in a GGUF file: unreadable metadata, and chat templates that reach past Jinja."""
    out: list[Finding] = []
    reader = _Reader(data)
    try:
        reader.take(4)
        version = reader.unpack("I")
        if version >= 2:
            _tensors, keys = reader.unpack("Q"), reader.unpack("Q")
        else:
            _tensors, keys = reader.unpack("I"), reader.unpack("I")
        if keys > _MAX_KEYS:
            raise ValueError(f"{keys} metadata keys")
        for _ in range(keys):
            key = reader.string()
            value = reader.value(reader.unpack("I"))
            if "chat_template" in key and isinstance(value, str):
                out += _check_template(key, value, where)
    except (ValueError, struct.error, MemoryError) as exc:
        out.append(where.finding("gguf-malformed", Severity.MEDIUM, f"GGUF metadata cannot be read: {exc}",
                                 reader.pos, techniques=CORRUPT_ARTIFACT))
    return out


def _check_template(key: str, template: str, where: Where) -> list[Finding]:
    hits = sorted({m.group() for m in _ESCAPE.finditer(template)})
    if not hits:
        return []
    return [where.finding("gguf-template-injection", Severity.CRITICAL,
                          f"chat template '{key}' reaches outside Jinja ({', '.join(hits[:5])}); loaders that "
                          "render it without a sandbox run code", construct=hits[0])]
