"""Per-format checks. Each takes the artifact's bytes and returns findings; none loads, imports
or deserialises the artifact with the library it belongs to."""

from __future__ import annotations

import ast
import itertools
import json
import math
import posixpath
import re
import struct
from dataclasses import dataclass

from . import _protobuf
from ._findings import (
    ARCHITECTURE_CHANGE,
    CORRUPT_ARTIFACT,
    UNSAFE_ARTIFACT,
    Finding,
    Severity,
)
from ._pickle import analyse
from ._policy import classify_global


@dataclass(frozen=True)
class Where:
    path: str
    member: str = ""

    def finding(self, rule: str, severity: Severity, message: str, offset: int | None = None,
                construct: str = "", techniques: tuple[str, ...] = UNSAFE_ARTIFACT) -> Finding:
        return Finding(rule, severity, message, self.path, self.member, offset, construct, techniques)


# -- pickle --------------------------------------------------------------------------------------
def check_pickle(data: bytes, where: Where, base_offset: int = 0) -> list[Finding]:
    result = analyse(data)
    called = {e.global_.offset for e in result.events if e.kind == "call" and e.global_ is not None}
    out: list[Finding] = []
    seen: set[tuple[str, bool]] = set()
    for e in result.events:
        offset = base_offset + e.offset
        if e.kind == "global" and e.global_ is not None:
            g = e.global_
            is_called = g.offset in called
            verdict = classify_global(g.module, g.name, called=is_called)
            if verdict is None or ((g.full, is_called) in seen and verdict[0] < Severity.CRITICAL):
                continue
            seen.add((g.full, is_called))
            out.append(where.finding("pickle-global", verdict[0], verdict[1], offset, g.full))
        elif e.kind == "dynamic-global":
            out.append(where.finding("pickle-dynamic-global", Severity.CRITICAL,
                                     f"{e.detail}: the import cannot be known without running it", offset))
        elif e.kind == "call" and e.global_ is None:
            out.append(where.finding("pickle-indirect-call", Severity.HIGH, e.detail, offset))
        elif e.kind == "extension":
            out.append(where.finding("pickle-extension", Severity.HIGH, e.detail, offset))
        elif e.kind == "malformed":
            out.append(where.finding("pickle-malformed", Severity.MEDIUM,
                                     f"{e.detail}; loaders may still run what precedes this point",
                                     offset, techniques=CORRUPT_ARTIFACT))
        elif e.kind == "nested":
            out.append(where.finding("pickle-nested", Severity.INFO, e.detail, offset))
    return out


# -- NumPy ----------------------------------------------------------------------------------------
def check_npy(data: bytes, where: Where) -> list[Finding]:
    try:
        major = data[6]
        if major == 1:
            (hlen,) = struct.unpack("<H", data[8:10])
            start = 10
        else:
            (hlen,) = struct.unpack("<I", data[8:12])
            start = 12
        header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
        descr = header["descr"]
    except (ValueError, SyntaxError, KeyError, TypeError, IndexError, struct.error, MemoryError, RecursionError):
        return [where.finding("npy-malformed", Severity.MEDIUM, "NumPy header cannot be read",
                              0, techniques=CORRUPT_ARTIFACT)]
    if _has_object(descr):
        findings = [where.finding("npy-object-array", Severity.LOW,
                                  "object array: numpy.load(allow_pickle=True) unpickles its data",
                                  start + hlen, "dtype=object")]
        return findings + check_pickle(data[start + hlen:], where, start + hlen)
    return []


def _has_object(descr: object, depth: int = 0) -> bool:
    """Whether NumPy would build a dtype holding Python objects from ``descr``, as
    ``numpy.lib.format.descr_to_dtype`` reads it: a type string (``'O'``, ``'|O'``, ``'O8'``,
    ``'object'``, ``'T'``, a comma list such as ``'i4,O'``), a ``(base, shape)`` sub-array, or a list of
    ``(name, descr[, shape])`` fields, at any depth. Field names are not looked at."""
    if depth > 64:
        return True  # deeper than any real dtype: assume the worst rather than walk on
    if isinstance(descr, str):
        # 'T' is NumPy 2's variable-width StringDType, which holds references and is pickled too.
        return "O" in descr or "T" in descr or "object" in descr.lower()
    if isinstance(descr, tuple):
        return bool(descr) and _has_object(descr[0], depth + 1)
    if isinstance(descr, list):
        for field in descr:
            if isinstance(field, tuple) and len(field) >= 2:
                if _has_object(field[1], depth + 1):
                    return True
            elif _has_object(field, depth + 1):
                return True
        return False
    if isinstance(descr, dict):
        return any(_has_object(v, depth + 1) for k, v in descr.items() if k != "names")
    return False


# -- safetensors --------------------------------------------------------------------------------
_ST_DTYPES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
              "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8, "C64": 8,
              "F4": 0.5, "F6_E2M3": 0.75, "F6_E3M2": 0.75, "E8M0": 1, "F8_E8M0": 1}
MAX_SAFETENSORS_HEADER = 100 << 20  # the reference implementation's own limit


def check_safetensors(data: bytes, where: Where) -> list[Finding]:
    bad = lambda msg, off=0: [where.finding("safetensors-header", Severity.HIGH, msg, off,  # noqa: E731
                                            techniques=CORRUPT_ARTIFACT)]
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_SAFETENSORS_HEADER:
        return bad(f"header of {n} bytes exceeds the {MAX_SAFETENSORS_HEADER}-byte limit")
    if 8 + n > len(data):
        return bad(f"header length {n} runs past the end of the file")
    try:
        header = json.loads(data[8:8 + n])
    except (ValueError, UnicodeDecodeError) as exc:
        return bad(f"header is not valid JSON: {exc}", 8)
    if not isinstance(header, dict):
        return bad("header is not a JSON object", 8)
    out: list[Finding] = []
    body = len(data) - 8 - n
    ranges: list[tuple[int, int, str]] = []
    for name, info in header.items():
        if name == "__metadata__":
            strings = isinstance(info, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in info.items())
            if not strings:
                out += bad("__metadata__ must map strings to strings", 8)
            continue
        if not isinstance(info, dict) or set(info) - {"dtype", "shape", "data_offsets"}:
            out += bad(f"tensor '{name}': entry must have only dtype, shape and data_offsets", 8)
            continue
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in _ST_DTYPES:
            out += bad(f"tensor '{name}': unknown dtype {dtype!r}", 8)
            continue
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            out += bad(f"tensor '{name}': shape must be a list of non-negative integers", 8)
            continue
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            out += bad(f"tensor '{name}': data_offsets must be [begin, end] with 0 <= begin <= end", 8)
            continue
        if offsets[1] > body:
            out += bad(f"tensor '{name}': data ends at {offsets[1]}, past the {body}-byte data section", 8)
        expected = math.prod(shape) * _ST_DTYPES[dtype]
        if offsets[1] - offsets[0] != expected:
            out += bad(f"tensor '{name}': {offsets[1] - offsets[0]} bytes for shape {shape} of {dtype} "
                       f"(expected {int(expected)})", 8)
        ranges.append((offsets[0], offsets[1], name))
    ranges.sort()
    for (_a0, a1, an), (b0, _b1, bn) in itertools.pairwise(ranges):
        if b0 < a1:
            out += bad(f"tensors '{an}' and '{bn}' overlap", 8)
    return out


# -- ONNX ---------------------------------------------------------------------------------------
_ONNX_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training", "com.microsoft"}


def check_onnx(data: bytes, where: Where) -> list[Finding]:
    out: list[Finding] = []
    try:
        _walk_onnx_model(data, where, out)
    except _protobuf.ProtobufError as exc:
        out.append(where.finding("onnx-malformed", Severity.MEDIUM, f"ONNX protobuf cannot be read: {exc}",
                                 techniques=CORRUPT_ARTIFACT))
    return out


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else ""


def _walk_onnx_model(data: bytes, where: Where, out: list[Finding]) -> None:
    for number, _, value in _protobuf.fields(data):
        if number == 8 and isinstance(value, bytes):  # opset_import
            domain = next((_text(v) for n, _, v in _protobuf.fields(value) if n == 1), "")
            if domain not in _ONNX_DOMAINS:
                message = f"custom operator domain '{domain}': needs a native library registered at load"
                out.append(where.finding("onnx-custom-domain", Severity.MEDIUM, message, construct=domain,
                                         techniques=ARCHITECTURE_CHANGE))
        elif number == 7 and isinstance(value, bytes):
            _walk_graph(value, where, out, 0)


def _walk_graph(data: bytes, where: Where, out: list[Finding], depth: int) -> None:
    if depth > 32:
        return
    for number, _, value in _protobuf.fields(data):
        if not isinstance(value, bytes):
            continue
        if number == 1:  # node
            _walk_node(value, where, out, depth)
        elif number in (5, 15):  # initializer, sparse_initializer
            _check_tensor(value, where, out)


def _walk_node(data: bytes, where: Where, out: list[Finding], depth: int) -> None:
    op = ""
    for number, _, value in _protobuf.fields(data):
        if number == 4:
            op = _text(value)
        elif number == 7 and _text(value) not in _ONNX_DOMAINS:
            out.append(where.finding("onnx-custom-domain", Severity.MEDIUM,
                                     f"node '{op}' uses custom operator domain '{_text(value)}'",
                                     construct=f"{_text(value)}::{op}", techniques=ARCHITECTURE_CHANGE))
        elif number == 5 and isinstance(value, bytes):  # attribute: sub-graphs and tensors
            for n, _, v in _protobuf.fields(value):
                if n in (6, 11) and isinstance(v, bytes):
                    _walk_graph(v, where, out, depth + 1)
                elif n in (5, 10) and isinstance(v, bytes):
                    _check_tensor(v, where, out)


def _check_tensor(data: bytes, where: Where, out: list[Finding]) -> None:
    name = ""
    for number, _, value in _protobuf.fields(data):
        if number == 8:
            name = _text(value)
        elif number == 13 and isinstance(value, bytes):  # external_data key/value
            entry = {n: _text(v) for n, _, v in _protobuf.fields(value)}
            if entry.get(1) == "location":
                location = entry.get(2, "")
                normal = posixpath.normpath(location.replace("\\", "/"))
                if location.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", location) \
                        or normal == ".." or normal.startswith("../"):
                    out.append(where.finding(
                        "onnx-external-data-escape", Severity.HIGH,
                        f"tensor '{name}' reads external data from '{location}', outside the model directory",
                        construct=location))


# -- TensorFlow graphs and Keras ----------------------------------------------------------------
_TF_DANGEROUS_OPS = {"ReadFile", "WriteFile", "MatchingFiles", "PyFunc", "PyFuncStateless",
                     "EagerPyFunc", "DebugIdentityV3", "ImmutableConst"}


def check_tf_graph(data: bytes, where: Where) -> list[Finding]:
    found = sorted({s for s in _protobuf.strings(data) if s in _TF_DANGEROUS_OPS})
    return [where.finding("tf-file-or-python-op", Severity.HIGH,
                          f"graph uses op {op}, which reads or writes files or runs Python", construct=op)
            for op in found]


_LAMBDA = re.compile(rb'"class_name"\s*:\s*"(Lambda|TFOpLambda|TFSMLayer)"')
# A run of JSON-looking text starting at an object: where HDF5 stores the model_config attribute.
_JSON_RUN = re.compile(rb'\{\s*"[^\x00-\x08\x0b\x0c\x0e-\x1f]{14,}')
_CODE_LAYERS = ("Lambda", "TFOpLambda", "TFSMLayer")
# Modules whose objects reach the process, files or the interpreter: a Keras "custom object"
# imported from one of them is a call into the system, not a model extension.
_SYSTEM_MODULES = {"os", "posix", "nt", "subprocess", "socket", "sys", "shutil", "ctypes", "builtins",
                   "importlib", "runpy", "pty", "pickle", "marshal", "code", "codeop", "webbrowser", "tempfile",
                   "multiprocessing", "urllib", "http", "requests", "io", "pathlib", "functools", "operator"}


def check_hdf5(data: bytes, where: Where) -> list[Finding]:
    """Keras .h5 keeps its model config as a JSON attribute; it is decoded as Keras decodes it
    (escapes and all) and walked like a v3 config. Raw matches catch configs that do not decode."""
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    decoder = json.JSONDecoder()
    for m in _JSON_RUN.finditer(data):
        text = m.group().decode("utf-8", "replace")
        if "class_name" not in text and "\\u" not in text:
            continue
        try:
            config, _ = decoder.raw_decode(text)
        except RecursionError:
            if ("keras-config-too-deep", "nesting") not in seen:
                seen.add(("keras-config-too-deep", "nesting"))
                out.append(keras_config_too_deep(where, m.start()))
            continue
        except ValueError:
            continue
        for f in check_keras_config(config, where):
            if (f.rule, f.construct) not in seen:
                seen.add((f.rule, f.construct))
                out.append(Finding(f.rule, f.severity, f.message, f.path, f.member, m.start(), f.construct,
                                   f.technique_ids))
    for m in _LAMBDA.finditer(data):
        kind = m.group(1).decode()
        if ("keras-lambda", kind) in seen:
            continue
        seen.add(("keras-lambda", kind))
        out.append(where.finding("keras-lambda", Severity.HIGH,
                                 f"Keras {kind} layer: serialized Python code runs when the model loads",
                                 m.start(), kind))
    return out


def check_keras_config(config: object, where: Where) -> list[Finding]:
    """Walk a Keras config (v3 config.json, or the decoded model_config of an .h5): Lambda layers,
    serialized lambdas wherever they appear, and objects from outside Keras are findings."""
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()

    def add(rule: str, severity: Severity, message: str, construct: str) -> None:
        if (rule, construct) not in seen:
            seen.add((rule, construct))
            out.append(where.finding(rule, severity, message, construct=construct))

    # An explicit stack, not recursion and no depth cap: Keras follows models nested in models as
    # deep as its own recursion allows, and a Lambda 70 Sequentials down used to fall past a cap.
    stack: list[object] = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            cls = node.get("class_name")
            module = node.get("module")
            if cls in _CODE_LAYERS:
                add("keras-lambda", Severity.HIGH, f"Keras {cls} layer: code or an external model is loaded with it",
                    str(cls))
            elif cls == "__lambda__" or node.get("function_type") == "lambda":
                add("keras-lambda", Severity.HIGH,
                    "serialized Python lambda (as an activation or argument): its bytecode runs on load",
                    "__lambda__")
            if isinstance(module, str) and cls:
                root = module.split(".")[0]
                if root in _SYSTEM_MODULES:
                    add("keras-custom-object", Severity.HIGH,
                        f"object {module}.{cls} from a system module: importing and calling it runs code on load",
                        f"{module}.{cls}")
                elif root not in ("keras", "tf_keras"):
                    add("keras-custom-object", Severity.MEDIUM, f"custom object {module}.{cls}: its code is "
                        "imported on load", f"{module}.{cls}")
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return out


def keras_config_too_deep(where: Where, offset: int | None = None) -> Finding:
    """A config nested past what the scanner's JSON decoder takes: Keras, decoding from a shallower
    stack, may still load it, so what it holds cannot be vouched for."""
    return where.finding("keras-config-too-deep", Severity.HIGH,
                         "Keras model config nested too deeply to decode and check; the loader may still run "
                         "the layers it holds", offset, "nesting")
