"""The AutoAttack-style `robustness` procedure and its APGD core, on the small test CNN."""

from __future__ import annotations

import numpy as np
import pytest

from advmatrix.emulate import get
from advmatrix.emulate._apgd import apgd, checkpoints
from advmatrix.targets import Budget, MockTarget, TargetInfo

FAST = {"n_samples": 40, "n_iter": 20, "square_iters": 50, "n_targets": 2}


@pytest.fixture
def small(data):
    from advmatrix.emulate import Dataset

    return Dataset(x=data.x[:40], y=data.y[:40])


def _run(white_box, small, eps, **over):
    return get("robustness")(**{**FAST, "eps": eps, **over}).run(white_box, small, seed=3)


def test_checkpoints_follow_the_shrinking_schedule():
    marks = checkpoints(100)
    assert marks[0] == 22 and marks == sorted(marks) and marks[-1] < 100
    gaps = np.diff([0, *marks])
    assert all(g >= 6 for g in gaps) and gaps[0] > gaps[-1]


def test_eps_zero_is_clean_accuracy(white_box, small):
    f = _run(white_box, small, 0.0)
    assert f.status == "completed"
    assert f.metrics["robust_accuracy"] == f.metrics["clean_accuracy"] > 0.8
    assert f.metrics["successes"] == 0 and not f.evidence


def test_large_eps_breaks_most_points_and_accuracy_falls_with_eps(white_box, small):
    accs = [_run(white_box, small, eps).metrics for eps in (0.0, 0.05, 0.1, 0.3)]
    robust = [m["robust_accuracy"] for m in accs]
    assert robust == sorted(robust, reverse=True), robust
    assert robust[-1] < 0.2 * accs[0]["clean_accuracy"]
    assert robust[1] > robust[-1]  # a small eps leaves something standing


def test_per_class_numbers_and_attack_counts_add_up(white_box, small):
    m = _run(white_box, small, 0.1).metrics
    labels = "0123456789"
    n = {c: m.get(f"n[{c}]", 0) for c in labels}
    assert sum(n.values()) == m["n_samples"] == 40
    robust = sum(n[c] * m[f"robust_accuracy[{c}]"] for c in labels if n[c])
    clean = sum(n[c] * m[f"clean_accuracy[{c}]"] for c in labels if n[c])
    assert robust == pytest.approx(m["robust_accuracy"] * 40) and clean == pytest.approx(m["seeds"])
    assert sum(m[f"broken_by_{a}"] for a in ("apgd_ce", "apgd_dlr", "apgd_t", "square")) == m["successes"]
    assert m["seeds"] - m["successes"] == pytest.approx(m["robust_accuracy"] * 40)


def test_every_adversarial_example_is_valid_and_misclassified(white_box, small):
    proc = get("robustness")(**{**FAST, "eps": 0.1})
    ev = proc.evaluate(white_box, small.x, small.y, np.random.default_rng(0))
    broken = ev.correct & ~ev.robust
    assert broken.sum() > 5
    linf = np.abs(ev.adversarial - ev.x).reshape(len(ev.x), -1).max(axis=1)
    assert (linf <= 0.1 + 1e-6).all() and ev.adversarial.min() >= 0 and ev.adversarial.max() <= 1
    recheck = white_box.predict_labels(ev.adversarial)
    assert (recheck[broken] != ev.y[broken]).all()
    assert (recheck[ev.robust] == ev.y[ev.robust]).all()  # points left untouched stay as they were
    assert (ev.adversarial[~broken] == ev.x[~broken]).all()


def test_seed_makes_it_deterministic(white_box, small):
    a, b = _run(white_box, small, 0.08), _run(white_box, small, 0.08)
    assert a.metrics == b.metrics and a.queries == b.queries
    assert [e.adversarial for e in a.evidence] == [e.adversarial for e in b.evidence]


def test_ensemble_beats_cross_entropy_alone(white_box, small):
    """The later members find points APGD-CE missed (or at worst match it), never fewer."""
    ce_only = _run(white_box, small, 0.08, n_targets=0, square_iters=0)
    full = _run(white_box, small, 0.08)
    assert full.metrics["robust_accuracy"] <= ce_only.metrics["robust_accuracy"]
    assert "apgd_t: n_targets is 0" in ce_only.message and "square: square_iters is 0" in ce_only.message


def test_apgd_targeted_and_dlr_break_points_on_their_own(cnn, small):
    x, y = small.x[:20], small.y[:20]
    for loss in ("ce", "dlr", "dlr-targeted"):
        adv, fooled = apgd(cnn, x, y, 0.3, 0.0, 1.0, loss=loss, n_iter=20, n_targets=2, seed=1)
        assert fooled.mean() > 0.7, loss
        assert np.abs(adv - x).max() <= 0.3 + 1e-6


def test_black_box_target_is_skipped_in_one_line(white_box, small):
    black = MockTarget(white_box.predict, TargetInfo("api", (1, 8, 8), tuple("0123456789")))
    f = get("robustness")().run(black, small)
    assert f.status == "skipped" and f.message == "needs white-box access; api is black-box"


def test_budget_running_out_gives_an_upper_bound(white_box, small):
    limited = white_box.with_budget(Budget(limit=400))
    f = get("robustness")(**{**FAST, "eps": 0.1}).run(limited, small)
    assert f.status == "partial" and "upper bound" in f.message and f.queries <= 400
    assert "robust_accuracy" in f.metrics


def test_labels_out_of_range_are_one_clear_error(white_box, small):
    from advmatrix.errors import UsageError

    with pytest.raises(UsageError, match=r"cnn: labels must be 40 class indices in 0\.\.9"):
        get("robustness")(**FAST).evaluate(white_box, small.x, small.y + 10, np.random.default_rng(0))


def test_points_stop_costing_queries_once_broken(white_box, small):
    f = _run(white_box, small, 0.3, square_iters=0)
    # every seed alive for all 20 iterations would cost 40 * 21 gradients plus the checks
    assert f.metrics["robust_accuracy"] < 0.1 and f.queries < 40 * 21 / 2


def test_the_demo_model_through_assess(digits):
    """The demo's own architecture and training recipe (a short run of it), assessed with the
    robustness procedure by the assess engine as `advmatrix assess ... -p robustness` does."""
    pytest.importorskip("torch")
    from advmatrix.demo import train_like_victim
    from advmatrix.emulate import Dataset, assess

    X, y = digits
    target = train_like_victim(X[:1000], y[:1000], epochs=10)
    result = assess(target, procedures={"robustness": {"eps": 0.1, "n_samples": 60, "square_iters": 100}},
                    data=Dataset(x=X[1000:1060], y=y[1000:1060]), budget=200_000, store=None)
    (finding,) = [f for f in result.assessment.findings if f.procedure == "robustness"]
    m = finding.metrics
    assert finding.status == "completed", finding.message
    assert 0 <= m["robust_accuracy"] < m["clean_accuracy"] <= 1
    broken = sum(m[f"broken_by_{a}"] for a in ("apgd_ce", "apgd_dlr", "apgd_t", "square"))
    assert broken == m["successes"] > 0
