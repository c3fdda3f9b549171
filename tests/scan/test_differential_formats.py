"""Differential tests of the formats that frame pickles (npy, npz, joblib, torch zip) against the
real loaders, and of safetensors in the benign direction (see ``_differential_formats``)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advmatrix.scan import Severity, scan_bytes

from ._differential_formats import (
    Joblib,
    Npy,
    Pay,
    Safet,
    TorchZip,
    joblibs,
    npys,
    npzs,
    run_cases,
    safetensors_mutants,
    safets,
    torchzips,
)

np = pytest.importorskip("numpy")
pytest.importorskip("joblib")
pytest.importorskip("torch")

BATCH = 15
_FUZZ = settings(max_examples=4, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PAY = Pay(4, "global", "os.mkdir")


def _assert_reported(batch: list) -> None:
    cases = run_cases(batch)
    missed = [(c.spec, c.worst) for c in cases if c.missed]
    assert not missed


# One subprocess per batch: each format's ~45 artifacts load in a few seconds.
@_FUZZ
@given(st.lists(npys(), min_size=BATCH, max_size=BATCH))
def test_npy_reached_payload_is_reported_high(batch: list) -> None:
    _assert_reported(batch)


@_FUZZ
@given(st.lists(npzs(), min_size=BATCH, max_size=BATCH))
def test_npz_reached_payload_is_reported_high(batch: list) -> None:
    _assert_reported(batch)


@_FUZZ
@given(st.lists(joblibs(), min_size=BATCH, max_size=BATCH))
def test_joblib_reached_payload_is_reported_high(batch: list) -> None:
    _assert_reported(batch)


@_FUZZ
@given(st.lists(torchzips(), min_size=BATCH, max_size=BATCH))
def test_torch_zip_reached_payload_is_reported_high(batch: list) -> None:
    _assert_reported(batch)


def test_format_oracles_see_payloads() -> None:
    # Guards against a vacuous oracle: the plainest artifact of each format must reach its payload.
    plain = [Npy(1, "O", False, (1,), (0, 1, 2), "'", ", ", True, 10, True, PAY),
             Joblib(4, ("f8",), (3,), "C", 16, 1, "after", "none", PAY),
             TorchZip("archive", "none", False, False, False, False, "none", False, PAY)]
    cases = run_cases(plain)
    assert [c.reached for c in cases] == [True] * 3
    assert all(c.worst is not None and c.worst >= Severity.HIGH for c in cases)


@pytest.mark.parametrize("descr", ["T", "|T"])
def test_npy_string_dtype_is_pickled(descr: str) -> None:
    # Found by this test: NumPy 2's StringDType ('T') holds references, so numpy.load unpickles
    # the body; the header was read as plain data.
    [case] = run_cases([Npy(1, descr, False, (1,), (0, 1, 2), "'", ", ", True, 10, True, PAY)])
    assert case.reached and not case.missed, case.worst


@pytest.mark.parametrize("spelling", ["d", "float64", "longlong", "half", "int", "l"])
def test_joblib_dtype_spellings_size_the_raw_buffer(spelling: str) -> None:
    # Found by this test: joblib sizes an array's raw bytes by the dtype numpy builds from any
    # accepted spelling; 'd' was read as 1 byte and 'float64' as unknown, hiding what follows.
    [case] = run_cases([Joblib(4, (spelling, spelling), (3,), "C", 16, 1, "between", "none", PAY)])
    assert case.reached and not case.missed, case.worst


@pytest.mark.parametrize(("dtype", "where"), [("f8-flag-object", "inside"), ("V8-elsize-16", "after"),
                                              ("U3-elsize-4", "after")])
def test_joblib_dtype_state_decides_the_layout(dtype: str, where: str) -> None:
    # A dtype's pickled state overrides its spelling: flags bit 0 makes 'f8' an object dtype (a
    # pickle follows, with no padding), and a void type's size comes from the state.
    [case] = run_cases([Joblib(4, ("f8", dtype), (3,), "C", 16, 1, where, "none", PAY)])
    assert case.reached and not case.missed, case.worst


def test_joblib_zero_alignment_still_reads_padding() -> None:
    # joblib reads the padding byte whenever the alignment attribute is not None, 0 included.
    [case] = run_cases([Joblib(4, ("f8", "f8"), (3,), "C", 0, 9, "between", "none", PAY)])
    assert case.reached and not case.missed, case.worst


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(safets())
def test_real_safetensors_files_scan_clean(spec: Safet) -> None:
    report = scan_bytes(spec.build(), "model.safetensors")
    assert report.worst() is None or report.worst() <= Severity.LOW, report


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(safetensors_mutants())
def test_malformed_safetensors_never_crash(data: bytes) -> None:
    scan_bytes(data, "model.safetensors")
