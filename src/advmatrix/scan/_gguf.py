"""GGUF model files: the header and metadata are read as llama.cpp reads them, within the bytes
the file holds; the format's facts (architecture, quantisation, context length, tokenizer, chat
template) are reported, and chat templates (Jinja that some loaders render outside a sandbox)
are searched for sandbox escapes."""

from __future__ import annotations

import re
import struct

from ._checks import Where
from ._findings import CORRUPT_ARTIFACT, Finding, Severity

# Value types of GGUF metadata: the struct code of each fixed-width one.
_FIXED = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9
_VERSIONS = (1, 2, 3)
_MAX_ARRAY_DEPTH = 4
# The fewest bytes one entry can take, so a count the file cannot hold is refused before any
# loop or allocation: a key-value pair (key length, an empty key, type, a one-byte value) and
# a tensor description (name length, dimension count, type, offset).
_MIN_KV = 8 + 4 + 1
_MIN_TENSOR = 8 + 4 + 4 + 8
_FACT_KEYS = ("general.architecture", "general.name", "general.file_type", "tokenizer.ggml.model")

# llama.cpp's llama_ftype: what general.file_type says about the quantisation.
_FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    36: "TQ1_0", 37: "TQ2_0",
}

# What template injections use to leave Jinja's object model: dunder attributes, the globals
# of helper objects Jinja exposes (cycler, joiner, lipsum, namespace), and escapes that spell
# an underscore without writing one.
_ESCAPE = re.compile(
    r"__(?:class|mro|base|bases|subclasses|globals|builtins|import|init|getattribute|reduce|code|dict)__"
    r"|\b(?:lipsum|cycler|joiner|namespace|self)\s*\.\s*(?:__|_TemplateReference__)"
    r"|\|\s*attr\s*\(|\\x5f|\\u005f|\\137|\bos\s*\.\s*(?:popen|system)|\bsubprocess\b|\beval\s*\(|\bexec\s*\(")


class _Malformed(ValueError):
    pass


class _Reader:
    """Reads little-endian GGUF fields; every length is checked against what is left first."""

    def __init__(self, data: bytes, version: int = 3):
        self.data, self.pos = data, 0
        self.size_code = "Q" if version >= 2 else "I"  # GGUF v1 counted in 32 bits

    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or n > self.left():
            raise _Malformed(f"a field of {n} bytes runs past the end of the file ({self.left()} bytes left)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return bytes(out)

    def unpack(self, code: str) -> int:
        return struct.unpack("<" + code, self.take(struct.calcsize(code)))[0]

    def count(self, what: str, each: int) -> int:
        start = self.pos
        n = self.unpack(self.size_code)
        if n * each > self.left():
            self.pos = start  # the finding names the field that holds the count
            raise _Malformed(f"{n} {what} cannot fit in the {self.left()} bytes left")
        return n

    def _skip_strings(self, n: int) -> None:
        data, pos, end, code = self.data, self.pos, len(self.data), "<" + self.size_code
        width = struct.calcsize(code)
        for _ in range(n):
            if pos + width > end:
                break
            length = struct.unpack_from(code, data, pos)[0]
            if length > end - pos - width:
                break
            self.pos = pos = pos + width + length
        else:
            return
        self.string()  # the element that does not fit: raises with its offset

    def string(self) -> str:
        return self.take(self.count("string bytes", 1)).decode("utf-8", "replace")

    def value(self, kind: int, depth: int = 0) -> object:
        """One metadata value: numbers and strings decoded, arrays skipped (their length returned)
        except arrays of strings, whose elements are stepped over without being kept."""
        if kind in _FIXED:
            return self.unpack(_FIXED[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            if depth >= _MAX_ARRAY_DEPTH:
                raise _Malformed(f"arrays nested more than {_MAX_ARRAY_DEPTH} deep")
            inner = self.unpack("I")
            if inner in _FIXED:  # token scores and types: skipped, not decoded
                size = struct.calcsize(_FIXED[inner])
                n = self.count("array elements", size)
                self.take(n * size)
                return _Array(n)
            n = self.count("array elements", 8 if inner == _STRING else 4)
            if inner == _STRING:  # vocabularies of 10^5 tokens: stepped over without decoding each one
                self._skip_strings(n)
            else:
                for _ in range(n):
                    self.value(inner, depth + 1)
            return _Array(n)
        raise _Malformed(f"unknown metadata value type {kind}")


class _Array(int):
    """The length of an array value that was stepped over."""


def check_gguf(data: bytes, where: Where) -> list[Finding]:
    """Findings in a GGUF file: its format facts (INFO), malformed headers or metadata (MEDIUM,
    naming the offset), and chat templates that reach past Jinja (CRITICAL)."""
    out: list[Finding] = []
    reader = _Reader(data)
    facts: dict[str, object] = {}
    templates: dict[str, int] = {}
    try:
        reader.take(4)
        version = reader.unpack("I")
        if version not in _VERSIONS:
            hint = " (a big-endian file?)" if version & 0xFFFF == 0 and version >> 16 else ""
            raise _Malformed(f"unsupported GGUF version {version}{hint}")
        reader.size_code = "Q" if version >= 2 else "I"
        tensors = reader.count("tensors", _MIN_TENSOR)
        keys = reader.count("metadata keys", _MIN_KV)
        facts.update(version=version, tensors=tensors, keys=keys)
        for _ in range(keys):
            key = reader.string()
            value = reader.value(reader.unpack("I"))
            if "chat_template" in key and isinstance(value, str):
                templates[key] = len(value.encode())
                out += _check_template(key, value, where)
            elif key in _FACT_KEYS or key.endswith(".context_length"):
                facts[key] = value
        # the tensor descriptions follow the metadata: their count must still fit
        if tensors * _MIN_TENSOR > reader.left():
            raise _Malformed(f"{tensors} tensor descriptions cannot fit in the {reader.left()} bytes left")
    except (_Malformed, struct.error) as exc:
        out.append(where.finding("gguf-malformed", Severity.MEDIUM,
                                 f"GGUF header malformed at offset {reader.pos}: {exc}", reader.pos,
                                 techniques=CORRUPT_ARTIFACT))
        return out
    out.append(_facts(facts, templates, where))
    return out


def _facts(facts: dict[str, object], templates: dict[str, int], where: Where) -> Finding:
    arch = facts.get("general.architecture")
    parts = [f"GGUF v{facts['version']}", f"{facts['tensors']} tensors", f"{facts['keys']} metadata keys"]
    if isinstance(arch, str):
        parts.append(f"architecture {arch}")
    if isinstance(facts.get("general.name"), str):
        parts.append(f"name '{facts['general.name']}'")
    file_type = facts.get("general.file_type")
    if isinstance(file_type, int) and not isinstance(file_type, _Array):
        parts.append(f"file type {_FILE_TYPES.get(file_type, 'unknown')} ({file_type})")
    context = facts.get(f"{arch}.context_length") if isinstance(arch, str) else None
    if isinstance(context, int) and not isinstance(context, _Array):
        parts.append(f"context length {context}")
    if isinstance(facts.get("tokenizer.ggml.model"), str):
        parts.append(f"tokenizer {facts['tokenizer.ggml.model']}")
    if templates:
        parts.append("chat template " + ", ".join(f"{k} ({n} bytes)" for k, n in templates.items()))
    else:
        parts.append("no chat template")
    return where.finding("gguf-format", Severity.INFO, "; ".join(parts),
                         construct=arch if isinstance(arch, str) else "", techniques=("AML.T0010.003",))


def _check_template(key: str, template: str, where: Where) -> list[Finding]:
    hits = sorted({m.group() for m in _ESCAPE.finditer(template)})
    if not hits:
        return []
    return [where.finding("gguf-template-injection", Severity.CRITICAL,
                          f"chat template '{key}' reaches outside Jinja ({', '.join(hits[:5])}); loaders that "
                          "render it without a sandbox run code", construct=hits[0])]
