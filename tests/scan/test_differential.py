"""Differential test: whatever payload the real loader reaches, the scanner reports at HIGH or above.

Artifacts are drawn by hypothesis from the pickle grammar (see ``_differential``); the real
loaders open them only in a subprocess, and every payload only creates a marker file.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advmatrix.scan import Severity

from ._differential import Spec, run_cases, specs

pytest.importorskip("torch")
pytest.importorskip("joblib")

BATCH = 12


@settings(max_examples=6, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(specs(), min_size=BATCH, max_size=BATCH))
def test_reached_payload_is_reported_high(batch: list[Spec]) -> None:
    # Drawn a batch at a time: one subprocess per batch keeps ~70 artifacts well under 20 s.
    cases = run_cases(batch)
    missed = [(c.spec, c.worst) for c in cases if c.missed]
    assert not missed


def test_oracle_sees_payloads() -> None:
    # Guards the differential test against a vacuous oracle: plain payloads must be reached.
    plain = [Spec(p, "global", "os.mkdir", "direct", "reduce", "none", 0, "top", c)
             for p in (0, 2, 4) for c in ("pickle", "torch-zip", "joblib-gzip")]
    cases = run_cases(plain)
    assert all(c.reached for c in cases)
    assert all(c.worst is not None and c.worst >= Severity.HIGH for c in cases)


@pytest.mark.parametrize("proto", [0, 2])
def test_load_from_bytes_with_codecs_encoded_bytes(proto: int) -> None:
    # What this test first found: protocols 0-2 write bytes as _codecs.encode(text, "latin1"), and
    # the nested payload torch runs went unseen.
    spec = Spec(proto, "global", "os.mkdir", "direct", "reduce", "torch._load_from_bytes", 0, "top", "pickle")
    [case] = run_cases([spec])
    assert case.reached and not case.missed, case.worst
