"""The pickle analyser sees every trick in the corpus and never crashes on any input."""

from __future__ import annotations

import collections
import os
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advmatrix.scan import Severity, scan_bytes
from advmatrix.scan._pickle import analyse

from .corpus import (
    HAND_WRITTEN,
    nested_pickle,
    reduce_pickle,
    second_pickle_malicious,
    truncated_after_payload,
)


@pytest.mark.parametrize("protocol", range(0, 6))
def test_reduce_payload_every_protocol(protocol):
    report = scan_bytes(reduce_pickle(os.system, "id", protocol=protocol))
    assert report.worst() == Severity.CRITICAL
    assert any(f.construct in ("posix.system", "os.system", "nt.system") for f in report.findings)


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_tricks_are_flagged(name):
    report = scan_bytes(HAND_WRITTEN[name], name)
    worst = report.worst()
    assert worst is not None and worst >= Severity.HIGH, [f.message for f in report.findings]


def test_specific_verdicts():
    def constructs(name):
        return {f.construct: f.severity for f in scan_bytes(HAND_WRITTEN[name]).findings}
    assert constructs("stack-global-from-memo")["os.system"] == Severity.CRITICAL
    assert constructs("dotted-name-torch-hub")["torch.hub.load"] == Severity.CRITICAL
    assert constructs("dunder-traversal")["torch._utils._rebuild_tensor_v2.__globals__"] == Severity.CRITICAL
    assert constructs("unknown-callable")["innocent_module.helper"] == Severity.HIGH
    rules = {f.rule for f in scan_bytes(HAND_WRITTEN["stack-global-dynamic-name"]).findings}
    assert "pickle-dynamic-global" in rules
    assert "pickle-extension" in {f.rule for f in scan_bytes(HAND_WRITTEN["extension-code"]).findings}


def test_nested_pickle_is_analysed():
    constructs = {f.construct for f in scan_bytes(nested_pickle()).findings}
    assert {"pickle.loads", "posix.system"} <= constructs or {"_pickle.loads", "posix.system"} <= constructs


def test_every_pickle_in_a_stream_is_analysed():
    report = scan_bytes(second_pickle_malicious())
    assert report.worst() == Severity.CRITICAL
    assert analyse(second_pickle_malicious()).pickles == 2


@pytest.mark.parametrize("first", range(0, 6))
def test_a_protocol_0_pickle_after_another_is_analysed_too(first):
    # it has no PROTO marker to start it, but a second load() runs it all the same (newcomer walkthrough: the
    # trailing `cos\nsystem` pickle was passed as no finding)
    data = pickle.dumps({"a": 1}, protocol=first) + b"cos\nsystem\n(S'id'\ntR."
    assert scan_bytes(data).worst() == Severity.CRITICAL
    assert analyse(data).pickles == 2


def test_payload_before_corruption_is_still_reported():
    report = scan_bytes(truncated_after_payload())
    rules = {f.rule: f.severity for f in report.findings}
    assert rules["pickle-global"] == Severity.CRITICAL
    assert "pickle-malformed" in rules


@pytest.mark.parametrize("protocol", range(0, 6))
def test_benign_containers_pass(protocol):
    value = {"a": [1, 2.5, "x", b"y", None, True], "b": (1, 2), "c": {1, 2}, "d": frozenset({3}),
             "e": collections.OrderedDict(k=1), "f": bytearray(b"z"), "g": complex(1, 2)}
    report = scan_bytes(pickle.dumps(value, protocol=protocol))
    assert report.findings == [], [f.message for f in report.findings]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_random_bytes_never_crash(data):
    analyse(data)
    scan_bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_pickles_never_crash(data):
    base = bytearray(reduce_pickle(os.system, "id") + pickle.dumps({"k": [1, 2, 3]}, protocol=4))
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(base) - 1))
        base[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(base)))
    analyse(bytes(base[:cut]))
    scan_bytes(bytes(base[:cut]), "x.pkl")
