"""Differential testing of the non-pickle formats against the real loaders.

``_differential`` covers pickle containers; this module draws artifacts from the grammars of
the formats that carry pickles inside other framing — NumPy ``.npy``/``.npz``, joblib's raw
array buffers, torch's zip checkpoints — and loads each with the real library in a subprocess.
Every payload only creates a marker in a directory made for that artifact; a marker that
appeared proves the loader reached the payload, and then the scanner must report HIGH or above.
safetensors cannot run code, so its differential runs the other way: files the real writer
makes must scan clean, and malformed headers must never crash the scanner.

Where a grammar admits framing the real writers never produce (a joblib alignment of 0, a dtype
named ``'d'`` instead of ``'f8'``), the generator writes it anyway: the loader, not the writer,
decides what an attacker can use.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import pickletools
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from advmatrix.scan import Severity, scan_bytes

from ._differential import Asm, Spec, _payload, load_all

# -- payload ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pay:
    """The pickle that creates the marker: protocol, how the callable is named, which callable."""
    proto: int
    naming: str
    callable: str

    def stream(self, marker: str) -> bytes:
        return _payload(Spec(self.proto, self.naming, self.callable, "direct", "reduce", "none", 0, "top",
                             "pickle"), marker)


def pays() -> st.SearchStrategy[Pay]:
    return st.builds(Pay, st.integers(2, 5), st.sampled_from(["global", "stack", "memo"]),
                     st.sampled_from(["os.mkdir", "builtins.open", "posix.mkdir", "shutil.copyfile"]))


# -- .npy / .npz --------------------------------------------------------------------------------

# Every spelling of a dtype holding Python objects that ``numpy.lib.format.descr_to_dtype`` may
# accept (the oracle decides which it does), plus a plain dtype as a control.
NPY_DESCRS: dict[str, object] = {
    "O": "O", "|O": "|O", "<O": "<O", ">O": ">O", "=O": "=O", "object": "object", "O8": "O8",
    "object_": "object_", "i4,O": "i4,O", "T": "T", "|T": "|T",
    "field": [("a", "O")], "fields": [("a", "<i4"), ("b", "|O")], "field-sub": [("a", "O", (2,))],
    "sub": ("O", (2,)), "nested": [("a", [("b", "<f8"), ("c", "O")])], "field-T": [("a", "T")],
    "unicode-name": [("\u00e9\u4e2d", "O")], "titled": [(("title", "a"), "O")], "f8": "<f8",
}


@dataclass(frozen=True)
class Npy:
    """One ``.npy`` header and body: version, the header literal's spelling, what follows."""
    version: int
    descr: str            # key of NPY_DESCRS
    fortran: bool
    shape: tuple
    key_order: tuple      # permutation of (0, 1, 2)
    quote: str            # ' or "
    comma: str            # separator between items
    trailing: bool        # trailing comma before the brace
    pad: int              # spaces before the final newline
    newline: bool
    pay: Pay

    def header(self) -> bytes:
        q = self.quote
        items = [f"{q}descr{q}: {self.descr_literal()}", f"{q}fortran_order{q}: {self.fortran!r}",
                 f"{q}shape{q}: {self.shape!r}"]
        text = "{" + self.comma.join(items[i] for i in self.key_order) + ("," if self.trailing else "") + "}"
        text += " " * self.pad + ("\n" if self.newline else "")
        return text.encode("utf8" if self.version == 3 else "latin1", "replace")

    def descr_literal(self) -> str:
        return repr(NPY_DESCRS[self.descr])

    def build(self, marker: str) -> bytes:
        head = self.header()
        size = struct.pack("<H", len(head)) if self.version == 1 else struct.pack("<I", len(head))
        return b"\x93NUMPY" + bytes([self.version, 0]) + size + head + self.pay.stream(marker)


def npys() -> st.SearchStrategy[Npy]:
    return st.builds(
        Npy, version=st.sampled_from([1, 1, 2, 3]), descr=st.sampled_from(sorted(NPY_DESCRS)),
        fortran=st.booleans(), shape=st.sampled_from([(), (1,), (2, 3), (0,)]),
        key_order=st.permutations([0, 1, 2]).map(tuple), quote=st.sampled_from(["'", '"']),
        comma=st.sampled_from([", ", ",", " ,\t"]), trailing=st.booleans(),
        pad=st.sampled_from([0, 1, 37, 200]), newline=st.booleans(), pay=pays())


@dataclass(frozen=True)
class Npz:
    """An ``.npz``: a zip of ``.npy`` members (a benign one and the payload one)."""
    npy: Npy
    name: str             # member name of the payload array
    benign_first: bool
    deflated: bool
    prefix: str           # none | junk | pickle (numpy.load takes a non-PK start for a pickle)
    comment: bool

    def build(self, marker: str) -> bytes:
        buf = io.BytesIO()
        benign = b"\x93NUMPY\x01\x00" + struct.pack("<H", 70) + (
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }").ljust(69) + b"\n" + b"\0" * 4
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if self.deflated else zipfile.ZIP_STORED) as zf:
            members = [("w.npy", benign), (self.name, self.npy.build(marker))]
            for name, body in members if self.benign_first else members[::-1]:
                zf.writestr(name, body)
            if self.comment:
                zf.comment = b"npz archive"
        data = buf.getvalue()
        if self.prefix == "junk":
            return b"\0JUNK" * 7 + data
        if self.prefix == "pickle":
            return self.npy.pay.stream(marker) + data
        return data


def npzs() -> st.SearchStrategy[Npz]:
    return st.builds(Npz, npys(), st.sampled_from(["arr_0.npy", "x", "dir/y.npy"]), st.booleans(),
                     st.booleans(), st.sampled_from(["none", "none", "junk", "pickle"]), st.booleans())


# -- joblib -------------------------------------------------------------------------------------

# dtypes as (``numpy.dtype`` argument, the dtype whose pickled state the array carries, changes
# to that state): the spellings numpy writes ('f8') and the ones it accepts ('d', 'float64'), and
# states NumPy applies whatever the spelling says (flags bit 0 makes any dtype hold objects, a
# flexible type's element size comes from the state).
JOBLIB_DTYPES: dict[str, tuple[str, str, dict]] = {
    "f8": ("f8", "f8", {}), "d": ("d", "f8", {}), "float64": ("float64", "f8", {}), "i": ("i", "i4", {}),
    "l": ("l", "i8", {}), "e": ("e", "f2", {}), "?": ("?", "?", {}), "u1": ("u1", "u1", {}),
    "c16": ("c16", "c16", {}), "U3": ("U3", "U3", {}), "S5": ("S5", "S5", {}), "M8[s]": ("M8[s]", "M8[s]", {}),
    "V8": ("V8", "V8", {}), "int": ("int", "i8", {}), "struct": ("V12", "struct", {}),
    "struct-obj": ("V16", "struct-obj", {}), "O": ("O", "O", {}), "longlong": ("longlong", "i8", {}),
    "half": ("half", "f2", {}), "B": ("B", "u1", {}), "T": ("T", "T", {}),
    "f8-flag-object": ("f8", "f8", {7: 1}), "V8-elsize-16": ("V8", "V8", {5: 16}),
    "V8-elsize-0": ("V8", "V8", {5: 0}), "U3-elsize-4": ("U3", "U3", {5: 4}),
}


def _real_dtype(key: str):
    """The dtype joblib will rebuild for ``key`` (built here from benign values only)."""
    import numpy as np

    args, kind, _ = JOBLIB_DTYPES[key]
    if kind == "struct":
        base = np.dtype([("a", "<i4"), ("b", "<f8")])
    elif kind == "struct-obj":
        base = np.dtype([("a", "O"), ("b", "<f8")])
    else:
        base = np.dtype(kind)
    reduced = base.__reduce__()
    if len(reduced) < 3:  # StringDType pickles as a plain class call, with no state
        return base
    dt = np.dtype(args, False, True)
    dt.__setstate__(_state(key))
    return dt


def _state(key: str) -> tuple | None:
    import numpy as np

    _, kind, patch = JOBLIB_DTYPES[key]
    base = {"struct": [("a", "<i4"), ("b", "<f8")], "struct-obj": [("a", "O"), ("b", "<f8")]}.get(kind, kind)
    reduced = np.dtype(base).__reduce__()
    if len(reduced) < 3:
        return None
    state = list(reduced[2])
    for i, v in patch.items():
        state[i] = v
    return tuple(state)


def _fragment(obj: object) -> bytes:
    """Opcodes that push ``obj`` with no memo use, to splice into an assembled stream."""
    return pickletools.optimize(pickle.dumps(obj, protocol=2))[2:-1]


@dataclass(frozen=True)
class Joblib:
    """A joblib stream: arrays written as NumpyArrayWrapper + padding + raw bytes, and a payload."""
    proto: int
    dtypes: tuple         # keys of JOBLIB_DTYPES
    shape: tuple
    order: str
    alignment: int | None  # numpy_array_alignment_bytes in the wrapper's state
    pad: int              # padding length byte actually written (joblib honours any value)
    where: str            # before | after | between | inside (the object array's nested pickle)
    compress: str         # none | zlib | gzip | bz2 | lzma | xz
    pay: Pay

    def _wrapper(self, a: Asm, key: str, inner: bytes | None) -> None:
        dt = _real_dtype(key)
        args = JOBLIB_DTYPES[key][0]
        a.glob("joblib.numpy_pickle", "NumpyArrayWrapper", "global").raw(b")\x81}(")
        a.text("subclass").glob("numpy", "ndarray", "global").text("shape").raw(_fragment(self.shape))
        a.text("order").text(self.order).text("dtype")
        # numpy.dtype(args, False, True) then BUILD with the real dtype's state (fields, elsize).
        state = _state(key)
        if state is None:
            a.raw(_fragment(dt))
        else:
            a.glob("numpy", "dtype", "global").text(args).raw(b"\x89\x88\x87R").raw(_fragment(state)).raw(b"b")
        a.text("allow_mmap").raw(b"\x88").text("numpy_array_alignment_bytes")
        a.raw(b"N" if self.alignment is None else _fragment(self.alignment))
        a.raw(b"ub")
        count = 1
        for d in self.shape:
            count *= d
        if dt.hasobject:
            a.raw(inner if inner is not None else pickle.dumps([None] * count, protocol=2))
            return
        if self.alignment is not None:
            a.raw(bytes([self.pad]) + b"\xff" * self.pad)
        # Bytes that also start like opcodes, so a scanner skipping the wrong length desyncs loudly.
        a.raw((b"\x80\x02c" * (count * dt.itemsize))[:count * dt.itemsize])

    def stream(self, marker: str) -> bytes:
        a = Asm(self.proto)
        a.raw(b"\x80" + bytes([self.proto]))
        a.raw(b"]" if self.proto >= 1 else b"(l").raw(b"(")
        payload = self.pay.stream(marker)[2:-1]
        if self.where == "before":
            a.raw(payload)
        obj_done = False
        for i, key in enumerate(self.dtypes):
            inner = None
            if self.where == "inside" and not obj_done and _real_dtype(key).hasobject:
                inner, obj_done = self.pay.stream(marker), True
            self._wrapper(a, key, inner)
            if self.where == "between" and i == 0:
                a.raw(payload)
        if self.where == "after" or (self.where == "inside" and not obj_done):
            a.raw(payload)
        return bytes(a.raw(b"e.").out)

    def build(self, marker: str) -> bytes:
        s = self.stream(marker)
        return {"none": lambda: s, "zlib": lambda: zlib.compress(s), "gzip": lambda: gzip.compress(s, mtime=0),
                "bz2": lambda: bz2.compress(s), "lzma": lambda: lzma.compress(s, format=lzma.FORMAT_ALONE),
                "xz": lambda: lzma.compress(s)}[self.compress]()


def joblibs() -> st.SearchStrategy[Joblib]:
    return st.builds(
        Joblib, proto=st.integers(2, 5), dtypes=st.lists(st.sampled_from(sorted(JOBLIB_DTYPES)), min_size=1,
                                                         max_size=3).map(tuple),
        shape=st.sampled_from([(3,), (0,), (2, 2), ()]), order=st.sampled_from(["C", "F"]),
        alignment=st.sampled_from([16, 16, None, 0, 1, 8]), pad=st.sampled_from([0, 1, 15, 16, 200, 255]),
        where=st.sampled_from(["before", "after", "between", "inside"]),
        compress=st.sampled_from(["none", "none", "zlib", "gzip", "bz2", "lzma", "xz"]), pay=pays())


# -- torch zip framing --------------------------------------------------------------------------


class _Unseekable(io.RawIOBase):
    """A write-only sink: zipfile then writes data descriptors after each member."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.buf += b
        return len(b)


@dataclass(frozen=True)
class TorchZip:
    """A torch zip checkpoint whose ``data.pkl`` is the payload, in varied zip framing."""
    folder: str
    prefix: str           # none | junk | pickle
    comment: bool
    zip64: bool
    deflated: bool
    descriptors: bool
    duplicate: str        # none | payload-first | payload-last (a second, benign data.pkl)
    data_members: bool    # .data/version and .data/serialization_id, as torch >= 2.1 writes
    pay: Pay

    def build(self, marker: str) -> bytes:
        sink: io.RawIOBase | io.BytesIO = _Unseekable() if self.descriptors else io.BytesIO()
        method = zipfile.ZIP_DEFLATED if self.deflated else zipfile.ZIP_STORED
        f = self.folder
        benign = pickle.dumps({"w": 1}, protocol=2)
        members = [(f"{f}/data.pkl", self.pay.stream(marker))]
        if self.duplicate == "payload-first":
            members.append((f"{f}/data.pkl", benign))
        elif self.duplicate == "payload-last":
            members.insert(0, (f"{f}/data.pkl", benign))
        members += [(f"{f}/byteorder", b"little"), (f"{f}/version", b"3\n")]
        if self.data_members:
            members += [(f"{f}/.data/version", b"3\n"), (f"{f}/.data/serialization_id", b"0" * 40)]
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate names are the point
            with zipfile.ZipFile(sink, "w", method) as zf:
                for name, body in members:
                    with zf.open(zipfile.ZipInfo(name), "w", force_zip64=self.zip64) as out:
                        out.write(body)
                if self.comment:
                    zf.comment = b"checkpoint"
        data = bytes(sink.buf) if isinstance(sink, _Unseekable) else sink.getvalue()
        if self.prefix == "junk":
            return b"\0JUNK" * 7 + data
        if self.prefix == "pickle":
            return self.pay.stream(marker) + data
        return data


def torchzips() -> st.SearchStrategy[TorchZip]:
    return st.builds(
        TorchZip, folder=st.sampled_from(["archive", "model", "x", "a/b", "\u00e9t\u00e9"]),
        prefix=st.sampled_from(["none", "none", "junk", "pickle"]), comment=st.booleans(), zip64=st.booleans(),
        deflated=st.booleans(), descriptors=st.booleans(),
        duplicate=st.sampled_from(["none", "none", "payload-first", "payload-last"]), data_members=st.booleans(),
        pay=pays())


# -- oracle -------------------------------------------------------------------------------------

FORMATS = ("npy", "npz", "joblib", "torch-framing")
SUFFIX = {Npy: ".npy", Npz: ".npz", Joblib: ".joblib", TorchZip: ".pt"}
FORMAT_OF = {Npy: "npy", Npz: "npz", Joblib: "joblib", TorchZip: "torch-framing"}
STRATEGY = {"npy": npys, "npz": npzs, "joblib": joblibs, "torch-framing": torchzips}

LOADER = {Npy: "numpy", Npz: "numpy", Joblib: "joblib", TorchZip: "torch"}


@dataclass
class Case:
    """One built artifact and what the loader and the scanner made of it."""
    spec: Npy | Npz | Joblib | TorchZip
    data: bytes
    reached: bool = False
    worst: Severity | None = None

    @property
    def fmt(self) -> str:
        return FORMAT_OF[type(self.spec)]

    @property
    def missed(self) -> bool:
        return self.reached and (self.worst is None or self.worst < Severity.HIGH)


def run_cases(spec_list: list, timeout: float = 120.0) -> list[Case]:
    """Build every spec in its own marker directory, load them all with the real libraries in one
    subprocess, and scan each."""
    cases: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="advmatrix-diff-") as tmp:
        jobs = []
        for i, spec in enumerate(spec_list):
            d = Path(tmp) / f"c{i}"
            d.mkdir()
            marker = str(d / "marker")
            Path(marker + ".src").write_text("src")
            data = spec.build(marker)
            path = d / ("artifact" + SUFFIX[type(spec)])
            path.write_bytes(data)
            cases.append(Case(spec, data))
            jobs.append({"path": str(path), "loader": LOADER[type(spec)], "marker": marker})
        for case, reached, job in zip(cases, load_all(jobs, timeout), jobs, strict=True):
            case.reached = reached
            case.worst = scan_bytes(case.data, Path(job["path"]).name).worst()
    return cases


# -- safetensors (benign direction) -------------------------------------------------------------

ST_DTYPES = ("float32", "float16", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "complex64")


@dataclass(frozen=True)
class Safet:
    """Tensors and metadata for a real ``safetensors.numpy.save`` file."""
    tensors: tuple        # (name, dtype, shape)
    metadata: tuple       # (key, value) pairs

    def build(self) -> bytes:
        import numpy as np
        from safetensors.numpy import save

        arrays = {name: np.zeros(shape, dtype=dt) for name, dt, shape in self.tensors}
        return save(arrays, metadata=dict(self.metadata) or None)


def safets() -> st.SearchStrategy[Safet]:
    names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
    tensor = st.tuples(names, st.sampled_from(ST_DTYPES), st.lists(st.integers(0, 4), max_size=3).map(tuple))
    return st.builds(Safet, st.lists(tensor, max_size=5, unique_by=lambda t: t[0]).map(tuple),
                     st.lists(st.tuples(names, st.text(max_size=30)), max_size=3, unique_by=lambda t: t[0])
                     .map(tuple))


def safetensors_mutants() -> st.SearchStrategy[bytes]:
    """Headers a fuzzer would try: wrong lengths (up to 2^64-1), JSON of every shape, truncations."""
    values = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=8),
                          lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                          max_leaves=12)
    header = st.one_of(values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=64),
                       st.builds(lambda n, d, s, o: json.dumps({n: {"dtype": d, "shape": s, "data_offsets": o}})
                                 .encode(), st.text(max_size=4), st.sampled_from(["F32", "U8", "XX", "F4", ""]),
                                 st.lists(st.integers(-1, 2**64), max_size=3), st.lists(st.integers(-1, 2**64),
                                                                                         max_size=3)))
    return st.builds(
        lambda h, delta, body, big: struct.pack("<Q", big if big is not None else max(0, len(h) + delta)) + h + body,
        header, st.integers(-3, 3), st.binary(max_size=32),
        st.none() | st.sampled_from([2**40, 2**63, 2**64 - 1, 100 << 20, (100 << 20) + 1]))
