"""The responder: what each built-in response does to a client's requests and replies, and
one-line errors for a bad configuration."""

from __future__ import annotations

import numpy as np
import pytest

from advmatrix.errors import UsageError
from advmatrix.respond import Responder


def test_builtin_responses_do_what_they_say():
    r = Responder({"a": {"action": "block", "duration_s": 60}, "b": {"action": "throttle", "rate": 1.0},
                   "c": {"action": "degrade", "mode": "labels"}})
    r.on_alert("a", "key:blocked", now=1_000.0)
    assert r.admit("key:blocked", now=1_001.0)[0] == 403
    r.on_alert("b", "key:slow", now=1_000.0)
    assert r.admit("key:slow", now=1_000.0) is None and r.admit("key:slow", now=1_000.1)[0] == 429
    assert r.admit("key:slow", now=1_001.2) is None  # a token back after a second at 1/s
    r.on_alert("c", "key:degraded", now=1_000.0)
    out = r.degrade("key:degraded", np.array([[0.2, 0.7, 0.1]]), now=1_001.0)
    assert out.tolist() == [[0.0, 1.0, 0.0]]
    assert r.lift("key:blocked") and r.admit("key:blocked", now=1_002.0) is None


def test_a_bad_response_configuration_is_one_line():
    with pytest.raises(UsageError, match="unknown response 'thrtotle' \\(did you mean 'throttle'"):
        Responder({"volume": {"action": "thrtotle"}})
    with pytest.raises(UsageError, match="response throttle: parameter 'rate'"):
        Responder({"volume": {"action": "throttle", "rate": -1}})


def test_measures_are_bounded_by_clients():
    r = Responder({"d": {"action": "block", "duration_s": 60}}, max_clients=10)
    for i in range(100):
        r.on_alert("d", f"key:{i}", now=1_000.0)
    assert len(r) == 10 and r.admit("key:99", now=1_001.0)[0] == 403 and r.admit("key:0", now=1_001.0) is None
