"""Symbolic execution of the pickle machine over bytes, without importing or calling anything.

Every opcode of protocols 0-5 is decoded by ``pickletools.genops`` (the standard library's
disassembler, which never executes); this module keeps the stack and memo symbolically so that
globals assembled at run time (``STACK_GLOBAL`` with names fetched from the memo) are resolved,
and records every global the stream would import and every call it would make.

A stream may hold several pickles back to back (legacy PyTorch files hold five); each is
analysed. Malformed or truncated streams end the analysis with a finding, never an exception.
"""

from __future__ import annotations

import io
import math
import mmap
import pickletools
from dataclasses import dataclass, field
from typing import Any, Callable

MAX_OPS = 5_000_000  # far above any real model; bounds time on hostile input


class _Mark:
    __repr__ = lambda self: "MARK"  # noqa: E731


class _Unknown:
    """A value the analysis cannot know (results of calls, buffers, persistent IDs)."""

    __repr__ = lambda self: "?"  # noqa: E731


MARK = _Mark()
UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Global:
    module: str
    name: str
    offset: int
    opcode: str

    @property
    def full(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass
class Call:
    func: Any
    args: Any
    offset: int
    state: Any = None


@dataclass
class PickleEvent:
    """Something the security policy must judge."""

    kind: str  # "global", "call", "dynamic-global", "extension", "malformed", "nested"
    offset: int
    detail: str
    global_: Global | None = None
    called: bool = False


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
_PICKLE_LOADERS = {"pickle.loads", "_pickle.loads", "cPickle.loads", "dill.loads"}


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


class _Machine:
    def __init__(self, data: bytes, events: list[PickleEvent], depth: int):
        self.data = data
        self.events = events
        self.depth = depth
        self.stack: list[Any] = []
        self.memo: dict[int, Any] = {}

    # -- helpers -------------------------------------------------------------------------------
    def pop(self) -> Any:
        if not self.stack:
            raise ValueError("stack underflow")
        return self.stack.pop()

    def pop_mark(self) -> list[Any]:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i] is MARK:
                items = self.stack[i + 1:]
                del self.stack[i:]
                return items
        raise ValueError("MARK missing")

    def top(self) -> Any:
        if not self.stack:
            raise ValueError("stack underflow")
        return self.stack[-1]

    def add_global(self, module: Any, name: Any, pos: int, opcode: str) -> Any:
        if not isinstance(module, str) or not isinstance(name, str):
            self.events.append(PickleEvent("dynamic-global", pos,
                                           f"{opcode} with a module or name computed at load time"))
            return UNKNOWN
        g = Global(module, name, pos, opcode)
        self.events.append(PickleEvent("global", pos, g.full, g))
        return g

    def call(self, func: Any, args: Any, pos: int, opcode: str) -> Call:
        if isinstance(func, Global):
            self.events.append(PickleEvent("call", pos, func.full, func, called=True))
            if func.full in _PICKLE_LOADERS and isinstance(args, tuple) and args \
                    and isinstance(args[0], (bytes, bytearray)) and self.depth < 3:
                # A pickle inside a pickle: analyse the inner one too.
                self.events.append(PickleEvent("nested", pos, f"pickle passed to {func.full}"))
                _analyse_stream(bytes(args[0]), self.events, self.depth + 1)
        elif isinstance(func, Call) or func is UNKNOWN:
            self.events.append(PickleEvent("call", pos, f"{opcode} calls the result of an earlier call",
                                           called=True))
        return Call(func, args, pos)

    # -- the machine ---------------------------------------------------------------------------
    def run(self, stream: io.BytesIO | mmap.mmap, on_build: Callable[[Call, Any, io.BytesIO], None]) -> None:
        ops = 0
        for opcode, arg, pos in pickletools.genops(stream):
            ops += 1
            if ops > MAX_OPS:
                raise ValueError(f"more than {MAX_OPS} opcodes")
            name = opcode.name
            st = self.stack
            if name in ("PROTO", "FRAME"):
                continue
            if name == "STOP":
                return
            if name == "MARK":
                st.append(MARK)
            elif name in ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4",
                          "FLOAT", "BINFLOAT", "STRING", "BINSTRING", "SHORT_BINSTRING",
                          "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "UNICODE", "SHORT_BINUNICODE",
                          "BINUNICODE", "BINUNICODE8"):
                st.append(arg)
            elif name == "BYTEARRAY8":
                st.append(bytearray(arg))
            elif name == "NONE":
                st.append(None)
            elif name == "NEWTRUE":
                st.append(True)
            elif name == "NEWFALSE":
                st.append(False)
            elif name in ("NEXT_BUFFER",):
                st.append(UNKNOWN)
            elif name == "READONLY_BUFFER":
                self.top()
            elif name == "EMPTY_LIST":
                st.append([])
            elif name == "EMPTY_TUPLE":
                st.append(())
            elif name == "EMPTY_DICT":
                st.append({})
            elif name == "EMPTY_SET":
                st.append(set())
            elif name == "APPEND":
                value = self.pop()
                target = self.top()
                if isinstance(target, list):
                    target.append(value)
            elif name == "APPENDS":
                items = self.pop_mark()
                target = self.top()
                if isinstance(target, list):
                    target.extend(items)
            elif name == "LIST":
                st.append(self.pop_mark())
            elif name == "TUPLE":
                st.append(tuple(self.pop_mark()))
            elif name == "TUPLE1":
                st.append((self.pop(),))
            elif name == "TUPLE2":
                b, a = self.pop(), self.pop()
                st.append((a, b))
            elif name == "TUPLE3":
                c, b, a = self.pop(), self.pop(), self.pop()
                st.append((a, b, c))
            elif name == "DICT":
                items = self.pop_mark()
                st.append(_pairs(items))
            elif name == "SETITEM":
                value, key = self.pop(), self.pop()
                target = self.top()
                if isinstance(target, dict) and _hashable(key):
                    target[key] = value
            elif name == "SETITEMS":
                items = self.pop_mark()
                target = self.top()
                if isinstance(target, dict):
                    target.update(_pairs(items))
            elif name == "ADDITEMS":
                items = self.pop_mark()
                target = self.top()
                if isinstance(target, set):
                    target.update(i for i in items if _hashable(i))
            elif name == "FROZENSET":
                st.append(frozenset(i for i in self.pop_mark() if _hashable(i)))
            elif name == "POP":
                if st and st[-1] is MARK:
                    st.pop()
                else:
                    self.pop()
            elif name == "POP_MARK":
                self.pop_mark()
            elif name == "DUP":
                st.append(self.top())
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                self.memo[int(arg)] = self.top()
            elif name == "MEMOIZE":
                self.memo[len(self.memo)] = self.top()
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                key = int(arg)
                if key not in self.memo:
                    raise ValueError(f"memo key {key} read before it was written")
                st.append(self.memo[key])
            elif name == "GLOBAL":
                module, _, attr = str(arg).partition(" ")
                st.append(self.add_global(module, attr, pos, name))
            elif name == "STACK_GLOBAL":
                attr, module = self.pop(), self.pop()
                st.append(self.add_global(module, attr, pos, name))
            elif name == "INST":
                module, _, attr = str(arg).partition(" ")
                cls = self.add_global(module, attr, pos, name)
                st.append(self.call(cls, tuple(self.pop_mark()), pos, name))
            elif name == "OBJ":
                items = self.pop_mark()
                if not items:
                    raise ValueError("OBJ without a class")
                st.append(self.call(items[0], tuple(items[1:]), pos, name))
            elif name == "REDUCE":
                args, func = self.pop(), self.pop()
                st.append(self.call(func, args, pos, name))
            elif name == "NEWOBJ":
                args, cls = self.pop(), self.pop()
                st.append(self.call(cls, args, pos, name))
            elif name == "NEWOBJ_EX":
                kwargs, args, cls = self.pop(), self.pop(), self.pop()
                st.append(self.call(cls, (args, kwargs), pos, name))
            elif name == "BUILD":
                state = self.pop()
                obj = self.top()
                if isinstance(obj, Call):
                    obj.state = state
                    on_build(obj, state, stream)
            elif name in ("EXT1", "EXT2", "EXT4"):
                self.events.append(PickleEvent("extension", pos,
                                               f"{name} {arg}: a global taken from the copyreg extension registry"))
                st.append(UNKNOWN)
            elif name == "PERSID":
                st.append(UNKNOWN)
            elif name == "BINPERSID":
                self.pop()
                st.append(UNKNOWN)
            else:  # pragma: no cover - pickletools knows no other opcode
                raise ValueError(f"unhandled opcode {name}")
        raise ValueError("stream ended without STOP")


def _hashable(value: Any) -> bool:
    try:
        hash(value)
        return True
    except TypeError:
        return False


def _pairs(items: list[Any]) -> dict:
    if len(items) % 2:
        raise ValueError("odd number of items for a dict")
    return {items[i]: items[i + 1] for i in range(0, len(items), 2) if _hashable(items[i])}


def _joblib_skip(events: list[PickleEvent], depth: int) -> Callable[[Call, Any, io.BytesIO], None]:
    """joblib writes each array's bytes straight into the stream after its wrapper; skip them
    (or, for object arrays, analyse the nested pickle joblib writes there)."""

    def on_build(obj: Call, state: Any, stream: io.BytesIO) -> None:
        func = obj.func
        if not (isinstance(func, Global) and func.full in _JOBLIB_WRAPPERS and isinstance(state, dict)):
            return
        if state.get("numpy_array_alignment_bytes"):
            pad = stream.read(1)
            if pad:
                stream.seek(pad[0], io.SEEK_CUR)
        dtype = state.get("dtype")
        descr = None
        if isinstance(dtype, Call) and isinstance(dtype.args, tuple) and dtype.args and isinstance(dtype.args[0], str):
            descr = dtype.args[0]
        shape = state.get("shape")
        size = _itemsize(descr) if descr else None
        if size is None:  # object array (or unknown dtype): a pickle follows
            start = stream.tell()
            nested = PickleAnalysis()
            _run_one(bytes(_rest(stream, start)), 0, nested, depth + 1)
            for e in nested.events:
                e.offset += start
            events.extend(nested.events)
            stream.seek(start + nested.end)
            return
        if isinstance(shape, tuple) and all(isinstance(d, int) and d >= 0 for d in shape):
            stream.seek(math.prod(shape) * size, io.SEEK_CUR)

    return on_build


def _rest(stream: io.BytesIO | mmap.mmap, start: int) -> bytes:
    if isinstance(stream, mmap.mmap):
        return stream[start:]
    return stream.getbuffer()[start:].tobytes()


def _run_one(data: bytes, start: int, result: PickleAnalysis, depth: int) -> bool:
    # A mapped file is already a seekable stream; wrapping it in BytesIO would copy all of it.
    stream = data if isinstance(data, mmap.mmap) else io.BytesIO(data)
    stream.seek(start)
    machine = _Machine(data, result.events, depth)
    try:
        machine.run(stream, _joblib_skip(result.events, depth))
    except (ValueError, IndexError, KeyError, TypeError, OverflowError, MemoryError,
            RecursionError, EOFError, UnicodeDecodeError) as exc:
        result.events.append(PickleEvent("malformed", stream.tell(), f"malformed or truncated pickle: {exc}"))
        result.complete = False
        result.end = len(data)
        return False
    result.pickles += 1
    result.end = stream.tell()
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


def looks_like_pickle_start(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def analyse(data: bytes) -> PickleAnalysis:
    """Analyse every pickle in ``data``; never raises for bad input."""
    return _analyse_stream(data, [], 0)
