"""A finding's status, message and success rate say what the procedure actually did: a budget
that cut an attack short is ``partial`` and says how far it got, a procedure that did all it set
out to do is ``completed``, and every procedure a run considered appears with its reason."""

from __future__ import annotations

from advmatrix.emulate import Dataset, assess, get
from advmatrix.report.assessment import summary
from advmatrix.targets import Budget, MockTarget, TargetInfo


def _black(white_box, limit=None):
    return MockTarget(white_box.predict, TargetInfo("api", (1, 8, 8), tuple("0123456789")), Budget(limit=limit))


def test_evasion_cut_by_the_budget_is_partial_and_counts_the_seeds_attacked(white_box, data):
    f = get("hopskipjump")(n_samples=4).run(_black(white_box, 7000), data)
    attacked, seeds = int(f.metrics["attacked"]), int(f.metrics["seeds"])
    assert 0 < attacked < seeds
    assert f.status == "partial"
    assert f"{attacked} of {seeds} seeds attacked" in f.message
    assert f.success_rate == f.metrics["successes"] / attacked  # over the seeds attacked, not all seeds
    assert f.queries <= 7000


def test_evasion_with_no_seed_finished_claims_no_success_rate(white_box, data):
    f = get("hopskipjump")(n_samples=3, max_iter=20, max_eval=500).run(_black(white_box, 20), data)
    assert f.status == "partial" and f.metrics["attacked"] == 0
    assert f.success_rate is None and "0 of" in f.message


def test_evasion_that_attacked_every_seed_is_completed(white_box, data):
    f = get("square")(n_samples=6, max_iter=100).run(_black(white_box, 10_000), data)
    assert f.status == "completed" and f.metrics["attacked"] == f.metrics["seeds"]


def test_inversion_under_the_default_budget_completes_every_class(white_box, data):
    # 10 classes x 100 steps x 20 probes is twice the default budget of 10,000: the steps are
    # fitted to it so every class is inverted and scored
    f = get("inversion")().run(_black(white_box, 10_000), data)
    assert f.status == "completed", f.message
    assert f.metrics["classes_inverted"] == 10 and f.success_rate is not None
    steps = int(f.metrics["steps_per_class"])
    assert 1 <= steps < 100 and f"{steps} of 100 steps per class" in f.message
    assert f.queries <= 10_000


def test_inversion_too_poor_for_one_step_per_class_is_partial_and_scored(white_box, data):
    f = get("inversion")(steps=40, classes=[0, 1, 7]).run(_black(white_box, 50), data)
    assert f.status == "partial" and "budget spent after 2 of 3 classes" in f.message
    assert f.metrics["classes_inverted"] == 2 and f.success_rate is not None and f.queries <= 50


def test_default_selection_shows_what_it_leaves_out(white_box, data, tmp_path):
    """No members in the data: membership is in the findings as skipped, with its reason, and
    the summary counts it."""
    no_members = Dataset(x=data.x, y=data.y, x_pool=data.x_pool)
    result = assess(_black(white_box), data=no_members, budget=200, out_dir=None)
    by_name = {f.procedure: f for f in result.assessment.findings}
    assert by_name["membership"].status == "skipped" and "x_members" in by_name["membership"].message
    assert by_name["pgd"].status == "skipped" and "white-box" in by_name["pgd"].message
    assert not any(f.family.startswith("llm") for f in result.assessment.findings)  # not this kind of target
    s = summary(result.assessment)
    skipped = [f.procedure for f in result.assessment.findings if f.status == "skipped"]
    assert s["procedures_skipped"] == len(skipped) >= 2 and "membership" in s["skipped"]
