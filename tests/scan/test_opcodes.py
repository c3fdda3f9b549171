"""Our opcode decoder agrees with the standard library's disassembler on valid pickles."""

from __future__ import annotations

import collections
import datetime as dt
import io
import os
import pickle
import pickletools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advmatrix.scan._opcodes import DecodeError, decode

from .corpus import HAND_WRITTEN, reduce_pickle

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.binary(),
    lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


def _ours(data: bytes):
    pos, out = 0, []
    while True:
        name, arg, nxt = decode(data, pos)
        out.append((name, arg, pos))
        if name == "STOP":
            return out
        pos = nxt


def _theirs(data: bytes):
    return [(op.name, arg, pos) for op, arg, pos in pickletools.genops(io.BytesIO(data))]


@settings(max_examples=200, deadline=None)
@given(values, st.integers(0, 5))
def test_same_opcodes_as_pickletools(value, protocol):
    data = pickle.dumps(value, protocol=protocol)
    assert _ours(data) == _theirs(data)


@pytest.mark.parametrize("protocol", range(0, 6))
def test_same_opcodes_on_objects_and_payloads(protocol):
    objs = [collections.OrderedDict(a=1), dt.datetime(2024, 1, 2, 3, 4), 2**100, -5, 1.5, {1, 2},
            frozenset({3}), bytearray(b"xy"), "ü\n\\", b"\x00\xff"]
    for obj in objs:
        data = pickle.dumps(obj, protocol=protocol)
        assert _ours(data) == _theirs(data), obj
    data = reduce_pickle(os.system, "id", protocol=protocol)
    assert _ours(data) == _theirs(data)


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_same_opcodes_on_hand_written_tricks(name):
    assert _ours(HAND_WRITTEN[name]) == _theirs(HAND_WRITTEN[name])


@pytest.mark.parametrize("data", [b"", b"\x80", b"\xff", b"X\x05\x00\x00\x00ab", b"cos\nsys", b"S'unterminated\n."])
def test_bad_input_raises_decode_error(data):
    with pytest.raises((DecodeError, ValueError)):
        _ours(data)
