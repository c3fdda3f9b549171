"""The label-only ray search (``rays``): it evades the test CNN within eps using labels alone,
counts every query against the target's budget, and is reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from advmatrix.emulate import Dataset, get
from advmatrix.emulate._rays import rays_linf
from advmatrix.targets import Budget, MockTarget, OutputKind, TargetInfo

DIGITS = TargetInfo("api", (1, 8, 8), tuple("0123456789"))


def _seeds(white_box, data, n=30):
    x, y = data.x[:200], data.y[:200]
    keep = white_box.predict_labels(x) == y
    return x[keep][:n], y[keep][:n]


def _shuffled_scores(white_box):
    """Scores that keep the model's argmax but say nothing else: the rest are random."""
    rng = np.random.default_rng(123)

    def predict(batch):
        top = white_box.predict_labels(batch)
        scores = rng.random((len(batch), 10)) * 0.5
        scores[np.arange(len(batch)), top] = 1.0
        return scores / scores.sum(axis=1, keepdims=True)

    return predict


def test_evades_within_eps_using_few_queries(white_box, data):
    x, y = _seeds(white_box, data)
    t = MockTarget(white_box.predict, DIGITS)
    adv, queries, radius = rays_linf(t.predict_labels, x, y, 0.3, 0.0, 1.0, np.random.default_rng(0), 500)
    linf = np.abs(adv - x).reshape(len(x), -1).max(axis=1)
    wrong = white_box.predict_labels(adv) != y
    won = radius <= 0.3
    assert won.mean() >= 0.8
    # every sample reported as a success is a real one: misclassified, within eps, in range
    assert wrong[won].all() and (linf[won] <= 0.3 + 1e-6).all()
    assert adv.min() >= 0.0 and adv.max() <= 1.0
    assert np.median(queries[won]) < 150 and queries.max() <= 500
    assert t.queries == queries.sum()  # the per-sample counts are exactly what the target charged


def test_tighter_budget_is_harder(white_box, data):
    x, y = _seeds(white_box, data)
    rng = np.random.default_rng(0)
    _, q_wide, r_wide = rays_linf(white_box.predict_labels, x, y, 0.3, 0.0, 1.0, rng, 300)
    _, q_tight, r_tight = rays_linf(white_box.predict_labels, x, y, 0.05, 0.0, 1.0, np.random.default_rng(0), 300)
    assert (r_tight <= 0.05).mean() < (r_wide <= 0.3).mean()
    assert q_tight.sum() > q_wide.sum()


def test_procedure_finding_and_budget_charge(white_box, data):
    t = MockTarget(white_box.predict, DIGITS)
    f = get("rays")(eps=0.3, n_samples=30, max_queries=500).run(t, data)
    assert f.status == "completed" and f.success_rate >= 0.8, f.metrics
    assert f.metrics["mean_linf"] <= 0.3 + 1e-6
    assert f.evidence and all(e.adversarial_prediction != e.label for e in f.evidence)
    assert f.queries == t.queries and f.queries > 30
    assert f.metrics["queries_per_success"] < 200


def test_uses_labels_only(white_box, data):
    """Scores that are noise apart from the argmax change nothing: the attack reads labels only."""
    honest = MockTarget(white_box.predict, DIGITS)
    noisy = MockTarget(_shuffled_scores(white_box), DIGITS)
    labels = MockTarget(white_box.predict_labels, TargetInfo("labels", (1, 8, 8), tuple("0123456789"),
                                                             output=OutputKind.LABELS))
    runs = [get("rays")(eps=0.3, n_samples=20, max_queries=300).run(t, data, seed=3)
            for t in (honest, noisy, labels)]
    assert runs[2].status == "completed"  # a label-only API is enough
    for other in runs[1:]:
        assert other.queries == runs[0].queries and other.success_rate == runs[0].success_rate
        assert [e.adversarial for e in other.evidence] == [e.adversarial for e in runs[0].evidence]


def test_deterministic_with_a_seed(white_box, data):
    x, y = _seeds(white_box, data, 15)
    def go(seed):
        return rays_linf(white_box.predict_labels, x, y, 0.3, 0.0, 1.0, np.random.default_rng(seed), 150,
                         init="random")

    a, b, c = go(7), go(7), go(8)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


def test_query_budget_keeps_finished_samples(white_box, data):
    t = MockTarget(white_box.predict, DIGITS, Budget(limit=200))
    f = get("rays")(eps=0.3, n_samples=40, batch_size=4).run(t, data)
    assert f.queries <= 200
    assert f.status == "partial" and "query budget spent" in f.message
    assert 0 < f.metrics["attacked"] < f.metrics["seeds"]


def test_batches_give_the_same_queries_per_sample(white_box, data):
    """Splitting into batches only changes how queries are grouped, not how many each sample uses."""
    x, y = _seeds(white_box, data, 12)
    whole = MockTarget(white_box.predict, DIGITS)
    split = MockTarget(white_box.predict, DIGITS)
    d = Dataset(x=x, y=y)
    a = get("rays")(eps=0.3, n_samples=12, max_queries=300, batch_size=12, init="random").run(whole, d, seed=1)
    b = get("rays")(eps=0.3, n_samples=12, max_queries=300, batch_size=5, init="random").run(split, d, seed=1)
    assert a.success_rate == pytest.approx(1.0, abs=0.2)
    assert a.success_rate == b.success_rate and a.queries == b.queries
