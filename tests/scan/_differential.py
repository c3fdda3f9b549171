"""Differential testing of the pickle analyser against the real loaders.

Hypothesis draws harmless twins of code-execution artifacts from the pickle grammar (protocol,
how the callable is named, which callable, how it is invoked, padding, wrappers, container).
Every payload's only effect is to create a marker inside a directory made for that artifact. The
real loader opens each artifact in a subprocess; a marker that appeared proves the loader reached
the payload, and then the scanner must report the artifact at HIGH or above.

The opcodes are assembled here byte by byte because most of the variants (STACK_GLOBAL names
fetched from the memo, dotted names, INST/OBJ calls) cannot be produced by ``pickle.dumps``.
"""

from __future__ import annotations

import gzip
import io
import json
import lzma
import struct
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from advmatrix.scan import Severity, scan_bytes

# -- assembler --------------------------------------------------------------------------------


class Asm:
    """Emits opcodes valid for one pickle protocol (the unpickler accepts any opcode whatever
    the protocol, but real writers keep to their protocol's, so the scanner must know them all)."""

    def __init__(self, proto: int) -> None:
        self.proto = proto
        self.out = bytearray()
        self.memo_next = 0

    def raw(self, b: bytes) -> Asm:
        self.out += b
        return self

    def text(self, s: str) -> Asm:
        if self.proto == 0:
            for ch in "\\\0\n\r\x1a":
                s = s.replace(ch, f"\\u{ord(ch):04x}")
            return self.raw(b"V" + s.encode("raw_unicode_escape") + b"\n")
        b = s.encode()
        if self.proto >= 4 and len(b) < 256:
            return self.raw(b"\x8c" + bytes([len(b)]) + b)
        return self.raw(b"X" + struct.pack("<I", len(b)) + b)

    def data(self, b: bytes) -> Asm:
        if self.proto >= 3:
            head = b"C" + bytes([len(b)]) if len(b) < 256 else b"B" + struct.pack("<I", len(b))
            return self.raw(head + b)
        # Protocols 0-2 have no bytes opcode: pickle itself writes _codecs.encode(text, "latin1").
        self.glob("_codecs", "encode", "global")
        return self.call_args([("text", b.decode("latin1")), ("text", "latin1")])

    def put(self) -> int:
        """Memoize the top of the stack, returning its memo index."""
        idx = self.memo_next
        self.memo_next += 1
        if self.proto >= 4:
            self.raw(b"\x94")
        elif self.proto >= 1:
            self.raw(b"q" + bytes([idx]))
        else:
            self.raw(b"p" + str(idx).encode() + b"\n")
        return idx

    def get(self, idx: int) -> Asm:
        return self.raw(b"h" + bytes([idx]) if self.proto >= 1 else b"g" + str(idx).encode() + b"\n")

    def glob(self, module: str, name: str, how: str) -> Asm:
        """Push ``module.name`` with GLOBAL, STACK_GLOBAL, or STACK_GLOBAL with both strings
        taken back from the memo (the strings are pushed, memoized and popped first)."""
        if how == "global" or self.proto < 4:
            return self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")
        if how == "stack":
            return self.text(module).text(name).raw(b"\x93")
        m = self.text(module).put()
        n = self.text(name).put()
        self.raw(b"0" * 2)
        # A benign value between the memo write and the read, so the names are not adjacent.
        self.text("x" * 7).raw(b"0")
        return self.get(m).get(n).raw(b"\x93")

    def args(self, items: list) -> Asm:
        for kind, v in items:
            {"text": self.text, "data": self.data, "raw": self.raw}[kind](v)
        return self

    def tuple_of(self, items: list) -> Asm:
        if self.proto >= 2 and 1 <= len(items) <= 3:
            return self.args(items).raw({1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(items)])
        if not items and self.proto >= 1:
            return self.raw(b")")
        return self.raw(b"(").args(items).raw(b"t")

    def call_args(self, items: list) -> Asm:
        """Call the callable on top of the stack with ``items`` by REDUCE."""
        return self.tuple_of(items).raw(b"R")


@dataclass(frozen=True)
class Spec:
    """One drawn artifact: everything except the marker path, which is bound at build time."""
    proto: int
    naming: str          # global | stack | memo
    callable: str        # key of CALLABLES
    via: str             # direct | os-attr (dotted path through a package that imports os)
    invoke: str          # reduce | obj | inst | partial
    wrapper: str         # none | pickle.loads | torch._load_from_bytes
    padding: int         # bytes of benign values pushed and popped before the payload
    nest: str            # top | list | dict (where the call's result lands)
    container: str       # pickle | torch-zip | torch-legacy | joblib-gzip | joblib-xz


# Harmless-but-dangerous-class callables: (module, name, argument builder from the marker path).
# Each only creates ``marker`` (copyfile's source is a file the harness puts next to it).
CALLABLES: dict[str, tuple[str, str, object]] = {
    "builtins.open": ("builtins", "open", lambda m: [("text", m), ("text", "w")]),
    "io.open": ("io", "open", lambda m: [("text", m), ("text", "w")]),
    "os.mkdir": ("os", "mkdir", lambda m: [("text", m)]),
    "os.makedirs": ("os", "makedirs", lambda m: [("text", m)]),
    "posix.mkdir": ("posix", "mkdir", lambda m: [("text", m)]),
    "shutil.copyfile": ("shutil", "copyfile", lambda m: [("text", m + ".src"), ("text", m)]),
    "shutil.copy": ("shutil", "copy", lambda m: [("text", m + ".src"), ("text", m)]),
    "pathlib.Path.touch": ("pathlib", "Path.touch", None),  # needs a Path built first: see _payload
}
# Packages that import os at module level, so ``pkg`` + ``os.mkdir`` names os.mkdir in disguise.
OS_CARRIERS = ("torch.serialization", "joblib.numpy_pickle", "pathlib", "shutil")

CONTAINERS = ("pickle", "torch-zip", "torch-legacy", "joblib-gzip", "joblib-xz")
SUFFIX = {"pickle": ".pkl", "torch-zip": ".pt", "torch-legacy": ".pt", "joblib-gzip": ".joblib",
          "joblib-xz": ".joblib"}
LOADER = {"pickle": "pickle", "torch-zip": "torch", "torch-legacy": "torch", "joblib-gzip": "joblib",
          "joblib-xz": "joblib"}


def specs() -> st.SearchStrategy[Spec]:
    """All drawable artifacts."""
    return st.builds(
        Spec,
        proto=st.integers(0, 5),
        naming=st.sampled_from(["global", "stack", "memo"]),
        callable=st.sampled_from(sorted(CALLABLES)),
        via=st.sampled_from(["direct", "direct", "os-attr"]),
        invoke=st.sampled_from(["reduce", "obj", "inst", "partial"]),
        wrapper=st.sampled_from(["none", "none", "pickle.loads", "torch._load_from_bytes"]),
        padding=st.sampled_from([0, 0, 5, 300, 70_000]),
        nest=st.sampled_from(["top", "list", "dict"]),
        container=st.sampled_from(CONTAINERS),
    )


def _name(spec: Spec) -> tuple[str, str]:
    module, name, _ = CALLABLES[spec.callable]
    if spec.via == "os-attr" and module == "os":
        carrier = OS_CARRIERS[(spec.padding + spec.proto) % len(OS_CARRIERS)]
        return carrier, "os." + name
    return module, name


def _invoke(a: Asm, spec: Spec, module: str, name: str, args: list) -> None:
    """Push the result of ``module.name(*args)`` called the way ``spec.invoke`` says."""
    if spec.invoke == "inst" and spec.naming == "global":
        a.raw(b"(").args(args).raw(b"i" + module.encode() + b"\n" + name.encode() + b"\n")
    elif spec.invoke == "obj" and a.proto >= 1:
        a.raw(b"(")
        a.glob(module, name, spec.naming)
        a.args(args).raw(b"o")
    elif spec.invoke == "partial":
        a.glob("functools", "partial", spec.naming)
        a.raw(b"(")
        a.glob(module, name, spec.naming)
        a.args(args).raw(b"t").raw(b"R")
        a.tuple_of([]).raw(b"R")
    else:
        a.glob(module, name, spec.naming)
        a.call_args(args)


def _payload(spec: Spec, marker: str) -> bytes:
    """The whole pickle stream for ``spec`` creating ``marker`` (before any container)."""
    a = Asm(spec.proto)
    if spec.proto >= 2:
        a.raw(b"\x80" + bytes([spec.proto]))
    if spec.padding:
        a.text("p" * spec.padding).raw(b"0")
    if spec.nest == "list":
        a.raw(b"(" if spec.proto < 1 else b"](")
    elif spec.nest == "dict":
        a.raw(b"(" if spec.proto < 1 else b"}(").text("weights")
    if spec.wrapper != "none":
        inner = Spec(spec.proto if spec.wrapper == "pickle.loads" else max(spec.proto, 2), spec.naming,
                     spec.callable, spec.via, spec.invoke, "none", 0, "top",
                     "pickle" if spec.wrapper == "pickle.loads" else "torch-zip")
        blob = build(inner, marker)
        module, name = spec.wrapper.rsplit(".", 1)
        if spec.wrapper == "torch._load_from_bytes":
            module = "torch.storage"
        _invoke(a, spec, module, name, [("data", blob)])
    elif spec.callable == "pathlib.Path.touch":
        # Path.touch is an unbound method: build the Path first, then pass it as ``self``.
        if spec.proto >= 4:
            a.glob("pathlib", "Path.touch", spec.naming).raw(b"(")
        else:
            # Without dotted names: getattr(Path(marker), "touch")() through builtins.getattr.
            a.glob("builtins", "getattr", spec.naming).raw(b"(")
        a.glob("pathlib", "Path", spec.naming).call_args([("text", marker)])
        if spec.proto >= 4:
            a.raw(b"tR")
        else:
            a.text("touch").raw(b"tR").tuple_of([]).raw(b"R")
    else:
        module, name = _name(spec)
        _invoke(a, spec, module, name, CALLABLES[spec.callable][2](marker))
    if spec.nest == "list":
        a.raw(b"l" if spec.proto < 1 else b"e")
    elif spec.nest == "dict":
        a.raw(b"d" if spec.proto < 1 else b"u")
    return bytes(a.raw(b".").out)


def build(spec: Spec, marker: str) -> bytes:
    """The artifact's bytes, as its container stores them."""
    stream = _payload(spec, marker)
    if spec.container == "torch-zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr("archive/data.pkl", stream)
            zf.writestr("archive/byteorder", "little")
            zf.writestr("archive/version", "3\n")
        return buf.getvalue()
    if spec.container == "joblib-gzip":
        return gzip.compress(stream, mtime=0)
    if spec.container == "joblib-xz":
        return lzma.compress(stream)
    return stream


# -- oracle -----------------------------------------------------------------------------------

# One oracle for every format: the job names the real loader that opens the artifact.
_RUNNER = textwrap.dedent("""
    import json, os, pickle, sys
    jobs = json.load(sys.stdin)
    for job in jobs:
        try:
            if job["loader"] == "pickle":
                with open(job["path"], "rb") as fh:
                    pickle.loads(fh.read())
            elif job["loader"] == "numpy":
                import numpy
                got = numpy.load(job["path"], allow_pickle=True)
                for key in getattr(got, "files", ()):  # an .npz loads each member when asked
                    got[key]
            elif job["loader"] == "torch":
                import torch
                torch.load(job["path"], weights_only=False)
            else:
                import joblib
                joblib.load(job["path"])
        except BaseException:
            pass
        print(json.dumps(os.path.exists(job["marker"])), flush=True)
""")


@dataclass
class Case:
    """One built artifact and what the loader and the scanner made of it."""
    spec: Spec
    data: bytes
    reached: bool = False
    worst: Severity | None = None

    @property
    def missed(self) -> bool:
        return self.reached and (self.worst is None or self.worst < Severity.HIGH)


def load_all(jobs: list[dict], timeout: float) -> list[bool]:
    """Whether each job's marker appeared (jobs: path, marker, loader: pickle, numpy, torch or
    joblib); a batch that hangs or dies is rerun one job at a time so that one bad artifact
    cannot hide the others."""
    try:
        proc = subprocess.run([sys.executable, "-c", _RUNNER], input=json.dumps(jobs), capture_output=True,
                              text=True, timeout=timeout)
        lines = proc.stdout.split()
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        lines = (out.decode() if isinstance(out, bytes) else out).split()
    done = [json.loads(x) for x in lines]
    if len(done) == len(jobs) or len(jobs) == 1:
        return done + [Path(j["marker"]).exists() for j in jobs[len(done):]]
    return done + [r for j in jobs[len(done):] for r in load_all([j], timeout)]


def run_cases(spec_list: list[Spec], timeout: float = 60.0) -> list[Case]:
    """Build every spec in its own marker directory, load them all with the real loaders in one
    subprocess, and scan each with the analyser."""
    cases: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="advmatrix-diff-") as tmp:
        jobs = []
        for i, spec in enumerate(spec_list):
            d = Path(tmp) / f"c{i}"
            d.mkdir()
            marker = str(d / "marker")
            Path(marker + ".src").write_text("src")
            data = build(spec, marker)
            path = d / ("artifact" + SUFFIX[spec.container])
            path.write_bytes(data)
            cases.append(Case(spec, data))
            jobs.append({"path": str(path), "loader": LOADER[spec.container], "marker": marker})
        for case, reached, job in zip(cases, load_all(jobs, timeout), jobs, strict=True):
            case.reached = reached
            case.worst = scan_bytes(case.data, Path(job["path"]).name).worst()
    return cases


def known_gap(spec: Spec) -> bool:
    """Cases the analyser is known to miss today, reported apart by the bench: none. (The first
    one found, ``_load_from_bytes`` of bytes that protocols 0-2 write as ``_codecs.encode(text,
    "latin1")``, is fixed.)"""
    return False
