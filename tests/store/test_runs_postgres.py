"""The same run store on PostgreSQL, when a server is available (.ci/run starts one and sets
ADVMATRIX_TEST_POSTGRES_URL; elsewhere the test is skipped)."""

from __future__ import annotations

import os

import pytest

from advmatrix.emulate import Coverage, get, load_run, run_assessment
from advmatrix.errors import UnknownObjectError
from advmatrix.store import RunStore

URL = os.environ.get("ADVMATRIX_TEST_POSTGRES_URL")


@pytest.mark.skipif(not URL, reason="no PostgreSQL: set ADVMATRIX_TEST_POSTGRES_URL (.ci/run does)")
def test_runs_on_postgresql(white_box, data):
    store = RunStore(URL)
    assert store.engine.dialect.name == "postgresql"
    a = run_assessment(white_box, data, [get("fgsm")(n_samples=10), get("discovery")()], budget=200)
    a.coverage = [Coverage("fgsm", ("AML.T0043.000",), True, ["similarity-search"], 40, 60, ["degrade"])]
    store.save(a)
    assert load_run(RunStore(URL), a.id[:8]).as_dict() == a.as_dict()
    assert {r["id"]: r["gateway"] for r in store.list(limit=500)}[a.id] == {"procedures": 1, "detected": 1}
    assert store.detection_scores()["AML.T0043.000"] == 1.0
    assert store.technique_scores()["AML.T0043.000"] >= a.findings[0].success_rate
    with pytest.raises(UnknownObjectError):
        load_run(store, "ffffffffffff")
