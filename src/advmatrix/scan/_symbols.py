"""The symbolic values the simulated pickle machine works with: globals and calls it records
instead of importing or running anything, the markers it pushes, and the events it reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class _Mark:
    __repr__ = lambda self: "MARK"  # noqa: E731


class _Unknown:
    """A value the analysis cannot know (results of calls, buffers, persistent IDs)."""

    __repr__ = lambda self: "?"  # noqa: E731


MARK = _Mark()
UNKNOWN = _Unknown()


class Global:
    """A global the pickle names (module and attribute), where, and with which opcode. ``full``
    is computed once: the machine asks for it on every call of the global."""

    __slots__ = ("full", "module", "name", "offset", "opcode")

    def __init__(self, module: str, name: str, offset: int, opcode: str):
        self.module = module
        self.name = name
        self.offset = offset
        self.opcode = opcode
        self.full = f"{module}.{name}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Global) and (self.module, self.name, self.offset, self.opcode) == \
            (other.module, other.name, other.offset, other.opcode)

    def __hash__(self) -> int:
        return hash((self.module, self.name, self.offset, self.opcode))

    def __setattr__(self, key: str, value: Any) -> None:
        if hasattr(self, "full"):
            raise AttributeError("Global is immutable")
        object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        return f"Global({self.full!r}, offset={self.offset}, opcode={self.opcode!r})"


class Call:
    """A call the pickle would make: its callable, arguments and (after BUILD) state. A plain
    slotted class: a checkpoint makes one per tensor, and dataclass construction costs more."""

    __slots__ = ("args", "func", "offset", "state")

    def __init__(self, func: Any, args: Any, offset: int, state: Any = None):
        self.func = func
        self.args = args
        self.offset = offset
        self.state = state

    def __repr__(self) -> str:
        return f"Call({self.func!r}, {self.args!r}, {self.offset})"


@dataclass
class PickleEvent:
    """Something the security policy must judge."""

    kind: str  # "global", "call", "dynamic-global", "extension", "malformed", "nested"
    offset: int
    detail: str
    global_: Global | None = None
    called: bool = False
