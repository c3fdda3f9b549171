"""TorchScript ``code/*.py`` sources: the loader compiles and runs them, so they are read as Python
(parsed with :mod:`ast`, never executed) and searched for calls that reach the system."""

from __future__ import annotations

import ast

from ._checks import Where
from ._findings import CORRUPT_ARTIFACT, Finding, Severity

# Module roots whose use from model code means process, file or network access.
_SYSTEM_MODULES = {"os", "posix", "nt", "subprocess", "socket", "sys", "shutil", "ctypes", "builtins",
                   "importlib", "runpy", "pty", "pickle", "marshal", "urllib", "http", "requests",
                   "tempfile", "multiprocessing", "signal", "codeop", "webbrowser", "pathlib"}
# Judged only where called: model code may well name a variable ``input`` or ``vars``.
_DANGEROUS_CALLS = {"eval", "exec", "compile", "__import__", "open", "execfile", "breakpoint", "globals",
                    "locals", "vars", "getattr", "setattr"}
_DUNDER_ESCAPES = {"__globals__", "__builtins__", "__subclasses__", "__code__", "__getattribute__",
                   "__reduce__", "__reduce_ex__", "__loader__", "__spec__", "__import__", "f_globals",
                   "f_builtins", "gi_frame", "func_globals"}
# torch functions that read or write files, or load native code into the process.
_TORCH_SYSTEM_CALLS = {"load_library", "from_file", "save", "load", "_load_for_mobile", "_save_for_mobile"}
# Operator namespaces compiled into libtorch; any other needs a native library loaded beside the model.
_BUILTIN_OP_NAMESPACES = {"aten", "prim", "quantized", "_quantized", "prepacked", "profiler", "_caffe2",
                          "quantized_decomposed", "mkldnn", "cuda", "_c10d_functional", "c10d", "_prims"}


def _dotted(node: ast.AST) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _plain_attribute(call: ast.Call) -> bool:
    name = call.args[1] if len(call.args) >= 2 else None
    return isinstance(name, ast.Constant) and isinstance(name.value, str) and not name.value.startswith("__")


def check_source(data: bytes, where: Where) -> list[Finding]:
    """Findings in one TorchScript source file: imports, dynamic code, system modules, file and
    library-loading torch calls, and dunder attributes used to climb out of the interpreter."""
    try:
        tree = ast.parse(bytes(data).decode("utf-8"), mode="exec")
    except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError, MemoryError):
        from ._checks import check_pickle
        from ._pickle import looks_like_pickle_start

        # The loader compiles this member, never unpickles it; other tools might, so pickle
        # bytes under a source name are still judged as a pickle.
        if looks_like_pickle_start(bytes(data[:16])):
            return check_pickle(data, where)
        return [where.finding("torchscript-source-unreadable", Severity.MEDIUM,
                              "TorchScript source does not parse as Python; the loader's reading of it is unknown",
                              techniques=CORRUPT_ARTIFACT)]
    out: list[Finding] = []
    seen: set[str] = set()

    def flag(severity: Severity, construct: str, message: str, node: ast.AST) -> None:
        if construct in seen:
            return
        seen.add(construct)
        out.append(where.finding("torchscript-code", severity, f"{message} (line {getattr(node, 'lineno', '?')})",
                                 construct=construct))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or "."]
            for name in names:
                root = name.split(".")[0]
                severity = Severity.HIGH if root in _SYSTEM_MODULES else Severity.MEDIUM
                flag(severity, f"import {name}", f"TorchScript source imports '{name}'; serialized "
                     "TorchScript never imports", node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _DANGEROUS_CALLS:
            if node.func.id in ("getattr", "setattr") and _plain_attribute(node):
                continue  # how TorchScript writes submodules named "0", "1", ... (nn.Sequential)
            flag(Severity.HIGH, node.func.id, f"TorchScript source calls '{node.func.id}', which reaches "
                 "arbitrary code or objects", node)
        elif isinstance(node, ast.Attribute):
            if node.attr in _DUNDER_ESCAPES:
                flag(Severity.HIGH, node.attr, f"attribute '{node.attr}' reaches interpreter internals", node)
                continue
            dotted = _dotted(node)
            parts = dotted.split(".")
            if parts[0] in _SYSTEM_MODULES:
                flag(Severity.HIGH, parts[0], f"TorchScript source uses the '{parts[0]}' module ('{dotted}')", node)
            elif len(parts) >= 2 and parts[0] in ("torch", "ops") and parts[-1] in _TORCH_SYSTEM_CALLS:
                flag(Severity.HIGH, dotted, f"'{dotted}' reads or writes files or loads a native library", node)
            elif len(parts) >= 3 and parts[:2] == ["torch", "ops"] and parts[2] not in _BUILTIN_OP_NAMESPACES:
                flag(Severity.LOW, f"torch.ops.{parts[2]}",
                     f"custom operator namespace '{parts[2]}': a native library must be loaded to run it", node)
    return out
