"""Analyse every pickle in a byte stream, without importing or calling anything.

Opcodes are decoded by ``_opcodes`` and executed symbolically by ``_machine``, so globals
assembled at run time (``STACK_GLOBAL`` with names fetched from the memo) are resolved; this
module drives it: back-to-back pickles, joblib's raw array buffers, nested pickles.

A stream may hold several pickles back to back (legacy PyTorch files hold five); each is
analysed. Malformed or truncated streams end the analysis with a finding, never an exception.
"""

from __future__ import annotations

import io
import math
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._machine import MAX_OPS, Call, Global, PickleEvent, _Machine

__all__ = ["MAX_OPS", "Call", "Global", "PickleAnalysis", "PickleEvent", "analyse", "looks_like_pickle_start"]


@dataclass
class PickleAnalysis:
    events: list[PickleEvent] = field(default_factory=list)
    pickles: int = 0
    end: int = 0
    complete: bool = True

    @property
    def globals(self) -> list[Global]:
        return [e.global_ for e in self.events if e.global_ is not None and e.kind == "global"]


# BUILD on one of these consumes raw bytes that joblib writes between opcodes.
_JOBLIB_WRAPPERS = {"joblib.numpy_pickle.NumpyArrayWrapper",
                    "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper"}


def _itemsize(descr: str) -> int | None:
    """Bytes per element of a NumPy dtype string such as '<f8', '|u1', '<U5'; None for objects."""
    descr = descr.lstrip("<>|=")
    if not descr or descr[0] == "O":
        return None
    kind, digits = descr[0], descr[1:].split("[")[0]
    try:
        n = int(digits) if digits else 1
    except ValueError:
        return None
    return n * 4 if kind == "U" else n


def _joblib_skip(events: list[PickleEvent], depth: int) -> Callable[[Call, Any, Any, int], int]:
    """joblib writes each array's bytes straight into the stream after its wrapper; skip them
    (or, for object arrays, analyse the nested pickle joblib writes there)."""

    def on_build(obj: Call, state: Any, buf: Any, pos: int) -> int:
        func = obj.func
        if not (isinstance(func, Global) and func.full in _JOBLIB_WRAPPERS and isinstance(state, dict)):
            return pos
        if state.get("numpy_array_alignment_bytes") and pos < len(buf):
            pos += 1 + buf[pos]
        dtype = state.get("dtype")
        descr = None
        if isinstance(dtype, Call) and isinstance(dtype.args, tuple) and dtype.args and isinstance(dtype.args[0], str):
            descr = dtype.args[0]
        shape = state.get("shape")
        size = _itemsize(descr) if descr else None
        if size is None:  # object array (or unknown dtype): a pickle follows
            nested = PickleAnalysis(events=events)
            _run_one(buf, pos, nested, depth + 1)
            return nested.end
        if isinstance(shape, tuple) and all(isinstance(d, int) and d >= 0 for d in shape):
            return pos + math.prod(shape) * size
        return pos

    return on_build


def _run_one(data: Any, start: int, result: PickleAnalysis, depth: int) -> bool:
    machine = _Machine(data, result.events, depth,
                       on_nested=lambda inner, d: _analyse_nested(inner, result.events, d))
    try:
        result.end = machine.run(data, start, _joblib_skip(result.events, depth))
    except (ValueError, IndexError, KeyError, TypeError, OverflowError, MemoryError,
            RecursionError, EOFError, UnicodeDecodeError) as exc:
        result.events.append(PickleEvent("malformed", machine.pos, f"malformed or truncated pickle: {exc}"))
        result.complete = False
        result.end = len(data)
        return False
    result.pickles += 1
    return True


def _analyse_stream(data: bytes, events: list[PickleEvent], depth: int) -> PickleAnalysis:
    result = PickleAnalysis(events=events)
    pos = 0
    while pos < len(data):
        before = len(events)
        if not _run_one(data, pos, result, depth):
            if result.pickles and len(events) == before + 1:
                # A later "pickle" that fails before doing anything is payload that merely
                # starts like one (legacy PyTorch storage sizes can); nothing loads it.
                events[-1] = PickleEvent("trailing", pos, "payload after the last pickle")
                result.complete = True
            break
        pos = result.end
        # Another pickle follows only if the next bytes start one (PROTO, or a protocol 0/1
        # opcode); anything else is payload such as tensor storage.
        if pos >= len(data) or not looks_like_pickle_start(data[pos:pos + 2]):
            break
    return result


# Members ``torch.load`` unpickles in its zip (``*/data.pkl``) and legacy tar formats.
_TORCH_PICKLE_MEMBERS = ("pickle", "storages", "tensors")
_MAX_NESTED_MEMBER = 256 << 20


def _analyse_nested(data: bytes, events: list[PickleEvent], depth: int) -> None:
    """Bytes handed to a loader inside a pickle: a pickle stream, or the zip or tar archive
    ``torch.load`` accepts, whose pickles are analysed like the outer one."""
    members: list[tuple[str, bytes]] = []
    try:
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                members = [(i.filename, zf.read(i)) for i in zf.infolist()
                           if not i.is_dir() and i.file_size <= _MAX_NESTED_MEMBER]
        elif len(data) > 262 and data[257:262] == b"ustar":
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
                members = [(m.name, tf.extractfile(m).read()) for m in tf.getmembers()
                           if m.isfile() and m.size <= _MAX_NESTED_MEMBER]
    except (zipfile.BadZipFile, tarfile.TarError, OSError, ValueError, EOFError, NotImplementedError):
        events.append(PickleEvent("malformed", 0, "archive passed to a loader cannot be opened"))
        return
    if not members:
        _analyse_stream(data, events, depth)
        return
    for name, body in members:
        base = name.rsplit("/", 1)[-1]
        if base.endswith(".pkl") or base in _TORCH_PICKLE_MEMBERS or looks_like_pickle_start(body[:2]):
            _analyse_stream(body, events, depth)


def looks_like_pickle_start(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def analyse(data: bytes) -> PickleAnalysis:
    """Analyse every pickle in ``data``; never raises for bad input."""
    return _analyse_stream(data, [], 0)
