"""Procedures against a real CNN trained on digits: they succeed where they should, respect
budgets and access levels, and name only techniques that exist."""

from __future__ import annotations

import numpy as np
import pytest

from advmatrix.emulate import get, run_assessment
from advmatrix.errors import UsageError
from advmatrix.targets import Budget, MockTarget, OutputKind, TargetInfo


def test_parameters_are_validated():
    with pytest.raises(UsageError, match="procedure pgd: parameter 'eps'"):
        get("pgd")(eps=-1)
    with pytest.raises(UsageError, match="parameter 'bogus'"):
        get("fgsm")(bogus=1)
    with pytest.raises(UsageError, match="unknown procedure 'nope'"):
        get("nope")


def test_white_box_attacks_succeed(white_box, data):
    for name in ("fgsm", "pgd"):
        f = get(name)(eps=0.3, n_samples=40).run(white_box, data)
        assert f.status == "completed" and f.success_rate > 0.8, (name, f.metrics)
        assert f.metrics["mean_linf"] <= 0.3 + 1e-6
        assert f.evidence and f.evidence[0].adversarial_prediction != f.evidence[0].label
        assert any(m["id"] == "AML.M0003" for m in f.mitigations)
    weak = get("pgd")(eps=0.01, n_samples=40).run(white_box, data)
    assert weak.success_rate < 0.5  # a tiny budget of perturbation should mostly fail


def test_black_box_attacks_only_query(white_box, data):
    black = MockTarget(white_box.predict, TargetInfo("api", (1, 8, 8), tuple("0123456789")))
    sq = get("square")(eps=0.3, n_samples=6, max_iter=200).run(black, data)
    assert sq.status == "completed" and sq.success_rate > 0.5 and sq.queries > 6
    hsj = get("hopskipjump")(eps=0.3, n_samples=2, max_iter=5, max_eval=100, init_eval=10).run(black, data)
    assert hsj.status == "completed" and hsj.queries > 0
    assert get("pgd")().run(black, data).status == "skipped"


def test_budget_keeps_partial_results(white_box, data):
    black = MockTarget(white_box.predict, TargetInfo("api", (1, 8, 8), tuple("0123456789")), Budget(limit=3000))
    f = get("hopskipjump")(n_samples=5, max_iter=20, max_eval=500).run(black, data)
    assert f.status == "partial" and f.queries <= 3000
    assert "query budget spent" in f.message and "seeds attacked" in f.message


def test_extraction_fidelity_grows_with_queries(white_box, data):
    f = get("extraction")(checkpoints=[30, 300], surrogate="logistic").run(white_box, data)
    assert f.metrics["fidelity@300"] > f.metrics["fidelity@30"] and f.metrics["fidelity@300"] > 0.85
    assert f.queries == 300 + 300  # hold-out reference + extraction queries


def test_membership_on_balanced_sets(data):
    # A model that memorised its members: confident on them, unsure elsewhere.
    members = {x.tobytes() for x in data.x_members}
    k = 10

    def leaky(x):
        out = np.full((len(x), k), 1 / k)
        for i, row in enumerate(x):
            if row.tobytes() in members:
                out[i] = 0.01 / (k - 1)
                out[i, int(data.y_members[[m.tobytes() for m in data.x_members].index(row.tobytes())])] = 0.99
        return out

    t = MockTarget(leaky, TargetInfo("leaky", (1, 8, 8), tuple("0123456789")))
    f = get("membership")(n_samples=50).run(t, data)
    assert f.metrics["auc"] > 0.95 and f.metrics["advantage"] > 0.9
    assert f.metrics["n_members"] == f.metrics["n_nonmembers"] == 50
    labels_only = MockTarget(lambda x: np.zeros(len(x)), TargetInfo("l", (1, 8, 8), tuple("0123456789"),
                                                                     output=OutputKind.LABELS))
    assert get("membership")().run(labels_only, data).status == "skipped"


def test_discovery_reports_ontology(white_box, data):
    f = get("discovery")().run(white_box, data)
    assert f.metrics["classes_declared"] == 10 and f.metrics["classes_seen"] >= 8
    assert f.metrics["exposes_full_scores"] == 1.0


def test_assessment_gives_each_procedure_its_own_budget(white_box, data):
    chosen = [get("fgsm")(n_samples=20), get("extraction")(checkpoints=[50]), get("pgd")(n_samples=20, steps=10)]
    a = run_assessment(white_box, data, chosen, budget=400)
    statuses = {f.procedure: f.status for f in a.findings}
    assert statuses["fgsm"] == "completed" and statuses["extraction"] == "completed"
    assert all(f.queries <= 400 for f in a.findings)
    assert a.scores()["AML.T0043.000"] == max(f.success_rate or 0 for f in a.findings if f.family == "evasion")


def test_inversion_reconstructs_classes(white_box, data):
    f = get("inversion")(steps=40, classes=[0, 1, 7]).run(white_box, data)
    assert f.status == "completed" and f.metrics["classes_inverted"] == 3
    assert f.success_rate >= 2 / 3 and f.metrics["mean_confidence"] > 0.9
    black = MockTarget(white_box.predict, TargetInfo("api", (1, 8, 8), tuple("0123456789")), Budget(limit=500))
    fitted = get("inversion")(steps=40, classes=[0, 1, 7]).run(black, data)
    assert fitted.queries <= 500 and fitted.status == "completed" and fitted.metrics["classes_inverted"] == 3
    assert "8 of 40 steps per class" in fitted.message  # (500 - 3 to score) // (3 classes x 20 probes)


def test_backdoor_with_user_training_function(white_box, data):
    from advmatrix.demo import train_like_victim
    assert get("backdoor")().run(white_box, data).status == "skipped"  # no training function given
    data.train = lambda x, y: train_like_victim(x, y, epochs=15)
    f = get("backdoor")(poison_fraction=0.1).run(white_box, data)
    assert f.status == "completed" and f.metrics["attack_success"] > 0.8
    assert abs(f.metrics["clean_accuracy_after"] - f.metrics["clean_accuracy_before"]) < 0.1
    data.train = lambda x, y: 1 / 0
    broken = get("backdoor")().run(white_box, data)
    assert broken.status == "error" and "training function failed: ZeroDivisionError" in broken.message
