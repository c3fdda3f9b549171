"""The pickle machine, simulated: a stack and a memo of symbolic values, one handler per opcode.

Nothing is imported or called. Globals become ``Global`` records, calls become ``Call``
records, and each is reported as a ``PickleEvent`` for the policy to judge.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from ._opcodes import decode
from ._symbols import MARK, UNKNOWN, Call, Global, PickleEvent

_U4 = struct.Struct("<I").unpack_from

# Opcodes run before a stream is given up on. Every opcode consumes at least one byte and a
# pickle cannot loop, so a stream's length already bounds the work: the limit only ever grows
# to that length (a payload padded past a fixed limit must still be reached and reported).
MAX_OPS = 5_000_000


# Callables that unpickle their first argument again. ``torch.storage._load_from_bytes`` is on
# the allow-list (legacy storages pickle through it) and runs a full ``torch.load`` of its bytes.
_PICKLE_LOADERS = {
    "pickle.loads", "_pickle.loads", "cPickle.loads", "dill.loads", "dill._dill.loads", "cloudpickle.loads",
    "numpy.loads", "torch.storage._load_from_bytes", "torch.load", "torch.serialization.load",
    "pickle.load", "_pickle.load", "joblib.load", "joblib.numpy_pickle.load", "pandas.read_pickle",
}
# Ones benign files use (every pickled storage): their nested load is analysed without a note.
_EXPECTED_LOADERS = {"torch.storage._load_from_bytes"}
_BYTES_IO = {"io.BytesIO", "_io.BytesIO"}
# Allow-listed helpers that call arguments of their own: their argument at each index is called
# on load too (``_rebuild_from_type_v2(func, ...)`` runs ``func(*args)``; ``copyreg`` helpers
# run the class's ``__new__``/``__init__``).
_CALLS_ARGS = {
    "torch._tensor._rebuild_from_type_v2": (0,), "torch._tensor._rebuild_from_type": (0,),
    "copyreg._reconstructor": (0, 1), "copy_reg._reconstructor": (0, 1),
    "copyreg.__newobj__": (0,), "copyreg.__newobj_ex__": (0,),
}
_INSPECTS_ARGS = _PICKLE_LOADERS | set(_CALLS_ARGS)


def _nested_bytes(args: Any) -> bytes | None:
    """The bytes a loader is handed: directly, or wrapped in ``io.BytesIO(...)``."""
    if not isinstance(args, tuple) or not args:
        return None
    first = args[0]
    if isinstance(first, Call) and isinstance(first.func, Global) and first.func.full in _BYTES_IO:
        inner = first.args
        first = inner[0] if isinstance(inner, tuple) and inner else None
    return _as_bytes(first)


def _as_bytes(value: Any) -> bytes | None:
    """A bytes value as the loader will see it: a literal, or ``_codecs.encode(text, "latin1")``,
    which is how protocols 0-2 (torch.save's default among them) write bytes, having no bytes
    opcode. Found by the differential test: a nested payload written that way was not scanned."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, Call) and isinstance(value.func, Global) and value.func.full in _CODEC_ENCODE:
        args = value.args if isinstance(value.args, tuple) else ()
        text = args[0] if args else None
        codec = args[1] if len(args) > 1 else "utf-8"
        if isinstance(text, str) and isinstance(codec, str):
            try:
                return text.encode(codec)
            except (LookupError, UnicodeEncodeError):
                return None
    return None


#: how protocols 0-2 spell a bytes value
_CODEC_ENCODE = frozenset({"_codecs.encode", "codecs.encode"})


class _Machine:
    def __init__(self, data: bytes, events: list[PickleEvent], depth: int,
                 on_nested: Callable[[bytes, int], None] | None = None):
        self.data = data
        self.events = events
        self.depth = depth
        self.on_nested = on_nested
        self.stack: list[Any] = []
        self.memo: dict[int, Any] = {}
        self.called: set[int] = set()
        self.pos = 0

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
            # The policy needs to know *whether* a global is called; a checkpoint calls the same
            # rebuild helper thousands of times, so only the first call becomes an event.
            if func.offset not in self.called:
                self.called.add(func.offset)
                self.events.append(PickleEvent("call", pos, func.full, func, called=True))
            if func.full in _INSPECTS_ARGS:
                self._inspect_args(func, args, pos, opcode)
        elif isinstance(func, Call) or func is UNKNOWN:
            self.events.append(PickleEvent("call", pos, f"{opcode} calls the result of an earlier call",
                                           called=True))
        return Call(func, args, pos)

    def _inspect_args(self, func: Global, args: Any, pos: int, opcode: str) -> None:
        if func.full in _PICKLE_LOADERS:
            inner = _nested_bytes(args)
            if inner is not None and self.depth < 3:
                # A pickle inside a pickle: analyse the inner one too.
                if func.full not in _EXPECTED_LOADERS:
                    self.events.append(PickleEvent("nested", pos, f"pickle passed to {func.full}"))
                if self.on_nested is not None:
                    self.on_nested(inner, self.depth + 1)
            return
        if not isinstance(args, tuple):
            return
        for i in _CALLS_ARGS[func.full]:
            if i < len(args) and (isinstance(args[i], (Global, Call)) or args[i] is UNKNOWN):
                self.call(args[i], (), pos, f"{opcode} via {func.full}")

    # -- the machine ---------------------------------------------------------------------------
    def run(self, buf, pos: int, on_build: Callable[[Call, Any, Any, int], int]) -> int:
        """Execute from ``pos`` to STOP; returns the position after STOP."""
        dispatch = _DISPATCH
        stack, memo, size, top, pop_mark, called = self.stack, self.memo, len(buf), self.top, self.pop_mark, self.called
        try:
            for _ in range(max(MAX_OPS, size - pos + 1)):
                # Inline paths, most frequent first (counted on real PyTorch checkpoints and
                # scikit-learn pickles), for the opcodes that make up nearly all real pickles;
                # everything else goes through decode and the dispatch table.
                code = buf[pos] if pos < size else -1
                if code == 0x72:  # LONG_BINPUT
                    if pos + 5 > size:
                        raise ValueError("LONG_BINPUT runs past the end")
                    memo[_U4(buf, pos + 1)[0]] = stack[-1] if stack else top()
                    pos += 5
                    continue
                if code == 0x68:  # BINGET
                    key = buf[pos + 1]
                    if key not in memo:
                        raise ValueError(f"memo key {key} read before it was written")
                    stack.append(memo[key])
                    pos += 2
                    continue
                if code == 0x4B:  # BININT1
                    stack.append(buf[pos + 1])
                    pos += 2
                    continue
                if code == 0x94:  # MEMOIZE
                    memo[len(memo)] = stack[-1] if stack else top()
                    pos += 1
                    continue
                if code == 0x28:  # MARK
                    stack.append(MARK)
                    pos += 1
                    continue
                if code == 0x71:  # BINPUT
                    memo[buf[pos + 1]] = stack[-1] if stack else top()
                    pos += 2
                    continue
                if code == 0x58:  # BINUNICODE
                    if pos + 5 > size:
                        raise ValueError("BINUNICODE runs past the end")
                    end = pos + 5 + _U4(buf, pos + 1)[0]
                    if end > size:
                        raise ValueError("BINUNICODE runs past the end")
                    stack.append(str(buf[pos + 5:end], "utf-8", "surrogatepass"))
                    pos = end
                    continue
                if code == 0x8C:  # SHORT_BINUNICODE
                    end = pos + 2 + buf[pos + 1]
                    if end > size:
                        raise ValueError("SHORT_BINUNICODE runs past the end")
                    stack.append(str(buf[pos + 2:end], "utf-8"))
                    pos = end
                    continue
                if code == 0x74:  # TUPLE
                    stack.append(tuple(pop_mark()))
                    pos += 1
                    continue
                if code == 0x52:  # REDUCE
                    if len(stack) < 2:
                        raise ValueError("stack underflow")
                    args = stack.pop()
                    func = stack[-1]
                    if func.__class__ is Global and func.offset in called and func.full not in _INSPECTS_ARGS:
                        # the same rebuild helper again: already reported, nothing new to judge
                        stack[-1] = Call(func, args, pos)
                    else:
                        stack[-1] = self.call(func, args, pos, "REDUCE")
                    pos += 1
                    continue
                if code == 0x86:  # TUPLE2
                    if len(stack) < 2:
                        raise ValueError("stack underflow")
                    b = stack.pop()
                    stack[-1] = (stack[-1], b)
                    pos += 1
                    continue
                if code == 0x89:  # NEWFALSE
                    stack.append(False)
                    pos += 1
                    continue
                if code == 0x29:  # EMPTY_TUPLE
                    stack.append(())
                    pos += 1
                    continue
                if code == 0x51:  # BINPERSID
                    if not stack:
                        raise ValueError("stack underflow")
                    stack[-1] = UNKNOWN
                    pos += 1
                    continue
                if code == 0x4E:  # NONE
                    stack.append(None)
                    pos += 1
                    continue
                if code == 0x85:  # TUPLE1
                    if not stack:
                        raise ValueError("stack underflow")
                    stack[-1] = (stack[-1],)
                    pos += 1
                    continue
                if code == 0x87:  # TUPLE3
                    if len(stack) < 3:
                        raise ValueError("stack underflow")
                    c = stack.pop()
                    b = stack.pop()
                    stack[-1] = (stack[-1], b, c)
                    pos += 1
                    continue
                if code == 0x88:  # NEWTRUE
                    stack.append(True)
                    pos += 1
                    continue
                if code == 0x4D:  # BININT2
                    if pos + 3 > size:
                        raise ValueError("BININT2 runs past the end")
                    stack.append(buf[pos + 1] | buf[pos + 2] << 8)
                    pos += 3
                    continue
                name, arg, nxt = decode(buf, pos)
                if name == "STOP":
                    return nxt
                if name == "BUILD":
                    state = self.pop()
                    obj = self.top()
                    if isinstance(obj, Call):
                        obj.state = state
                        nxt = on_build(obj, state, buf, nxt)
                else:
                    dispatch[name](self, arg, pos, name)
                pos = nxt
        except BaseException:
            self.pos = pos  # where a malformed stream stopped making sense
            raise
        raise ValueError(f"more than {MAX_OPS} opcodes")

    # One handler per opcode (or family); a table lookup beats a chain of comparisons by ~10x.
    def _push_arg(self, arg, pos, name):
        self.stack.append(arg)

    def _nothing(self, arg, pos, name):
        pass

    def _mark(self, arg, pos, name):
        self.stack.append(MARK)

    def _bytearray(self, arg, pos, name):
        self.stack.append(bytearray(arg))

    def _none(self, arg, pos, name):
        self.stack.append(None)

    def _true(self, arg, pos, name):
        self.stack.append(True)

    def _false(self, arg, pos, name):
        self.stack.append(False)

    def _unknown(self, arg, pos, name):
        self.stack.append(UNKNOWN)

    def _readonly(self, arg, pos, name):
        self.top()

    def _empty_list(self, arg, pos, name):
        self.stack.append([])

    def _empty_tuple(self, arg, pos, name):
        self.stack.append(())

    def _empty_dict(self, arg, pos, name):
        self.stack.append({})

    def _empty_set(self, arg, pos, name):
        self.stack.append(set())

    def _append(self, arg, pos, name):
        value = self.pop()
        target = self.top()
        if isinstance(target, list):
            target.append(value)

    def _appends(self, arg, pos, name):
        items = self.pop_mark()
        target = self.top()
        if isinstance(target, list):
            target.extend(items)

    def _list(self, arg, pos, name):
        self.stack.append(self.pop_mark())

    def _tuple(self, arg, pos, name):
        self.stack.append(tuple(self.pop_mark()))

    def _tuple1(self, arg, pos, name):
        self.stack.append((self.pop(),))

    def _tuple2(self, arg, pos, name):
        b, a = self.pop(), self.pop()
        self.stack.append((a, b))

    def _tuple3(self, arg, pos, name):
        c, b, a = self.pop(), self.pop(), self.pop()
        self.stack.append((a, b, c))

    def _dict(self, arg, pos, name):
        self.stack.append(_pairs(self.pop_mark()))

    def _setitem(self, arg, pos, name):
        value, key = self.pop(), self.pop()
        target = self.top()
        if isinstance(target, dict) and _hashable(key):
            target[key] = value

    def _setitems(self, arg, pos, name):
        items = self.pop_mark()
        target = self.top()
        if isinstance(target, dict):
            target.update(_pairs(items))

    def _additems(self, arg, pos, name):
        items = self.pop_mark()
        target = self.top()
        if isinstance(target, set):
            target.update(i for i in items if _hashable(i))

    def _frozenset(self, arg, pos, name):
        self.stack.append(frozenset(i for i in self.pop_mark() if _hashable(i)))

    def _pop(self, arg, pos, name):
        if self.stack and self.stack[-1] is MARK:
            self.stack.pop()
        else:
            self.pop()

    def _pop_mark(self, arg, pos, name):
        self.pop_mark()

    def _dup(self, arg, pos, name):
        self.stack.append(self.top())

    def _put(self, arg, pos, name):
        self.memo[int(arg)] = self.top()

    def _memoize(self, arg, pos, name):
        self.memo[len(self.memo)] = self.top()

    def _get(self, arg, pos, name):
        key = int(arg)
        if key not in self.memo:
            raise ValueError(f"memo key {key} read before it was written")
        self.stack.append(self.memo[key])

    def _global(self, arg, pos, name):
        module, _, attr = str(arg).partition(" ")
        self.stack.append(self.add_global(module, attr, pos, name))

    def _stack_global(self, arg, pos, name):
        attr, module = self.pop(), self.pop()
        self.stack.append(self.add_global(module, attr, pos, name))

    def _inst(self, arg, pos, name):
        module, _, attr = str(arg).partition(" ")
        cls = self.add_global(module, attr, pos, name)
        self.stack.append(self.call(cls, tuple(self.pop_mark()), pos, name))

    def _obj(self, arg, pos, name):
        items = self.pop_mark()
        if not items:
            raise ValueError("OBJ without a class")
        self.stack.append(self.call(items[0], tuple(items[1:]), pos, name))

    def _reduce(self, arg, pos, name):
        args, func = self.pop(), self.pop()
        self.stack.append(self.call(func, args, pos, name))

    def _newobj_ex(self, arg, pos, name):
        kwargs, args, cls = self.pop(), self.pop(), self.pop()
        self.stack.append(self.call(cls, (args, kwargs), pos, name))

    def _ext(self, arg, pos, name):
        self.events.append(PickleEvent("extension", pos,
                                       f"{name} {arg}: a global taken from the copyreg extension registry"))
        self.stack.append(UNKNOWN)

    def _binpersid(self, arg, pos, name):
        self.pop()
        self.stack.append(UNKNOWN)


_DISPATCH: dict[str, Callable[[_Machine, Any, int, str], None]] = {
    **dict.fromkeys(("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT",
                     "BINFLOAT", "STRING", "BINSTRING", "SHORT_BINSTRING", "BINBYTES",
                     "SHORT_BINBYTES", "BINBYTES8", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE",
                     "BINUNICODE8"), _Machine._push_arg),
    "PROTO": _Machine._nothing, "FRAME": _Machine._nothing, "MARK": _Machine._mark,
    "BYTEARRAY8": _Machine._bytearray, "NONE": _Machine._none, "NEWTRUE": _Machine._true,
    "NEWFALSE": _Machine._false, "NEXT_BUFFER": _Machine._unknown, "READONLY_BUFFER": _Machine._readonly,
    "EMPTY_LIST": _Machine._empty_list, "EMPTY_TUPLE": _Machine._empty_tuple,
    "EMPTY_DICT": _Machine._empty_dict, "EMPTY_SET": _Machine._empty_set, "APPEND": _Machine._append,
    "APPENDS": _Machine._appends, "LIST": _Machine._list, "TUPLE": _Machine._tuple,
    "TUPLE1": _Machine._tuple1, "TUPLE2": _Machine._tuple2, "TUPLE3": _Machine._tuple3,
    "DICT": _Machine._dict, "SETITEM": _Machine._setitem, "SETITEMS": _Machine._setitems,
    "ADDITEMS": _Machine._additems, "FROZENSET": _Machine._frozenset, "POP": _Machine._pop,
    "POP_MARK": _Machine._pop_mark, "DUP": _Machine._dup,
    **dict.fromkeys(("PUT", "BINPUT", "LONG_BINPUT"), _Machine._put), "MEMOIZE": _Machine._memoize,
    **dict.fromkeys(("GET", "BINGET", "LONG_BINGET"), _Machine._get),
    "GLOBAL": _Machine._global, "STACK_GLOBAL": _Machine._stack_global, "INST": _Machine._inst,
    "OBJ": _Machine._obj, "REDUCE": _Machine._reduce, "NEWOBJ": _Machine._reduce,
    "NEWOBJ_EX": _Machine._newobj_ex, **dict.fromkeys(("EXT1", "EXT2", "EXT4"), _Machine._ext),
    "PERSID": _Machine._unknown, "BINPERSID": _Machine._binpersid,
}


def _hashable(value: Any) -> bool:
    # A tuple's hash is not cached and DUP/TUPLE2 can nest one tuple twice per opcode, so hashing
    # a built tuple can cost 2**depth: keep keys and set members to atoms.
    if isinstance(value, tuple):
        return False
    try:
        hash(value)
        return True
    except TypeError:
        return False


def _pairs(items: list[Any]) -> dict:
    if len(items) % 2:
        raise ValueError("odd number of items for a dict")
    return {items[i]: items[i + 1] for i in range(0, len(items), 2) if _hashable(items[i])}
