"""Differential tests of the Keras formats (``.keras`` v3 archives, legacy ``.h5``) against
``keras.saving.load_model`` on the torch backend (see ``_differential_keras``)."""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advmatrix.scan import Severity, scan_bytes

from ._differential_keras import KerasH5, KerasV3, keras_available, keras_h5, keras_v3, run_cases

pytest.importorskip("h5py")


@functools.cache
def _why_not() -> str | None:
    return keras_available()


def _need_keras() -> None:
    why = _why_not()
    if why is not None:
        pytest.skip(f"keras does not import on the torch backend: {why}")


BATCH = 10
# One draw per test: each batch costs two Keras subprocesses (safe mode off and on).
_FUZZ = settings(max_examples=1, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _assert_reported(batch: list) -> None:
    _need_keras()
    cases = run_cases(batch)
    missed = [(c.spec, c.worst, c.error) for c in cases if c.missed]
    assert not missed


@_FUZZ
@given(st.lists(keras_v3(), min_size=BATCH, max_size=BATCH))
def test_keras_v3_reached_payload_is_reported_high(batch: list) -> None:
    _assert_reported(batch)


@_FUZZ
@given(st.lists(keras_h5(), min_size=BATCH, max_size=BATCH))
def test_keras_h5_reached_payload_is_reported_high(batch: list) -> None:
    _assert_reported(batch)


def test_keras_oracle_sees_payloads_and_safe_mode_stops_them() -> None:
    # Guards against a vacuous oracle: a Lambda layer's function runs on load with safe_mode off,
    # in both formats and in a nested model; safe mode refuses the marshalled code.
    _need_keras()
    plain = [KerasV3("lambda-layer", "sequential", "defaults", True, 0, 0, "plain", "deflated", "config-first",
                     "none", "none", False),
             KerasV3("lambda-layer", "seq-in-functional", "closure", False, 1, 0, "utf-16", "lzma", "metadata-first",
                     "benign-first", "junk", True),
             KerasH5("lambda-layer", "functional", "closure", True, 0, 0, "escaped", "bytes", True, True)]
    cases = run_cases(plain)
    assert [c.reached for c in cases] == [True] * 3, [c.error for c in cases]
    assert not any(c.reached_safe for c in cases)
    assert all("Python lambda" in c.error_safe for c in cases), [c.error_safe for c in cases]
    assert all(c.worst is not None and c.worst >= Severity.HIGH for c in cases)


def test_lambda_deep_in_nested_models_is_reported() -> None:
    # Found by this test: the config walk stopped at depth 200, and a Lambda inside 70 nested
    # Sequentials (which Keras still loads and runs) was reported as nothing at all. The .h5 is
    # spelled with escapes so that the raw "Lambda" pattern cannot stand in for the walk.
    _need_keras()
    deep = [KerasV3("lambda-layer", "sequential", "closure", True, 70, 0, "plain", "deflated", "config-first", "none",
                    "none", False),
            KerasH5("lambda-layer", "sequential", "closure", True, 70, 0, "escaped", "str", False, False)]
    cases = run_cases(deep, safe_too=False)
    assert [c.reached for c in cases] == [True, True], [c.error for c in cases]
    assert not [c for c in cases if c.missed], [c.worst for c in cases]


@pytest.mark.parametrize("name", ["config.json", "model.h5"])
def test_config_too_deep_to_decode_is_high(name: str) -> None:
    # A config the scanner's decoder refuses for depth may still decode in the loader's shallower
    # stack: fail closed rather than report nothing.
    text = '{"class_name": "Sequential", "config": {"layers": []}, "padding": ' + "[" * 100000 + "]" * 100000 + "}"
    data = text.encode() if name.endswith(".json") else b"\x89HDF\r\n\x1a\n" + b"\0" * 56 + text.encode() + b"\0"
    report = scan_bytes(data, name)
    assert report.worst() is not None and report.worst() >= Severity.HIGH, report
