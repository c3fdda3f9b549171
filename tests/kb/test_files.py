"""The shared file and YAML readers every configuration goes through (gateway configurations, assess and
campaign plans, layers, STIX bundles): what they refuse, in one line naming the file and the line."""

from __future__ import annotations

import os

import pytest

from advmatrix.errors import FormatError
from advmatrix.kb._io import MAX_NODES, parse_yaml, read_text


def test_a_pipe_or_a_device_is_refused_before_it_is_read(tmp_path):
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)  # opened for reading, it would wait for a writer for ever
    with pytest.raises(FormatError, match=r"plan.yaml: not a regular file \(a pipe or a device\)"):
        read_text(fifo)
    with pytest.raises(FormatError, match="^/dev/zero: not a regular file"):
        read_text("/dev/zero")  # read to the end, it would fill memory


def test_size_encoding_and_absence_are_named(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" * 300)
    with pytest.raises(FormatError, match="big.yaml: larger than 0 MiB"):
        read_text(big, limit=1000)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(FormatError, match=r"latin.yaml:2: not UTF-8 \(byte 0xe9\)"):
        read_text(latin)
    wide = tmp_path / "wide.yaml"
    wide.write_bytes("a: 1\n".encode("utf-16"))
    with pytest.raises(FormatError, match="wide.yaml: is UTF-16"):
        read_text(wide)
    with pytest.raises(FormatError, match="nowhere.yaml: no such file"):
        read_text(tmp_path / "nowhere.yaml")
    with pytest.raises(FormatError, match="is a directory"):
        read_text(tmp_path)
    marked = tmp_path / "bom.yaml"
    marked.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_text(marked) == "a: 1\n"


def test_aliases_that_expand_without_end_are_refused_and_ordinary_ones_read():
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        levels.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    with pytest.raises(FormatError, match=f"bomb.yaml:[0-9]+: its aliases expand to more than {MAX_NODES:,} values"):
        parse_yaml("\n".join(levels) + "\n", "bomb.yaml")
    assert parse_yaml("base: &b {rate: 1}\nother: *b\nmore: {<<: *b, extra: 2}\n", "ok.yaml") == {
        "base": {"rate": 1}, "other": {"rate": 1}, "more": {"rate": 1, "extra": 2}}


def test_a_key_given_twice_is_an_error_at_its_second_line():
    with pytest.raises(FormatError, match="^c.yaml:4: key 'volume' given twice$"):
        parse_yaml("responses:\n  volume: {action: throttle}\n  other: {}\n  volume: {action: alert}\n", "c.yaml")
    # the same key in two different mappings is fine
    assert parse_yaml("a: {k: 1}\nb: {k: 2}\n", "d.yaml") == {"a": {"k": 1}, "b": {"k": 2}}


def test_a_binary_value_is_refused_not_decoded_into_text():
    with pytest.raises(FormatError, match=r"^g.yaml:2: a !!binary value; this file takes text"):
        parse_yaml("detectors: {}\nupstream: !!binary aHR0cDovL3g=\n", "g.yaml")


@pytest.mark.parametrize(("text", "line"), [
    ("upstream: http://h\ndetectors:\n  volume: {max_clients: !!int lots}\n", 3),
    ("upstream: !!timestamp yesterday\n", 1),
    ("seed: !!float zero\n", 1),
])
def test_a_value_its_tag_cannot_take_is_one_line_at_its_line(text, line):
    # the readers of monitor configurations, target files and campaign plans had raised a traceback
    with pytest.raises(FormatError) as info:
        parse_yaml(text, "c.yaml")
    assert str(info.value).startswith(f"c.yaml:{line}: not valid YAML: a value cannot be read as its type")
