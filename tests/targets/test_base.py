"""The target seam: normalisation, counting, budgets and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from advmatrix.errors import (
    BudgetExhausted,
    CapabilityError,
    TargetInputError,
    TargetResponseError,
)
from advmatrix.targets import Budget, MockTarget, OutputKind, TargetInfo


def info(**kw) -> TargetInfo:
    return TargetInfo(name="m", input_shape=(4,), classes=("a", "b", "c"), **kw)


def test_probabilities_pass_through_and_queries_are_counted():
    t = MockTarget(lambda x: np.tile([0.2, 0.3, 0.5], (len(x), 1)), info())
    out = t.predict(np.zeros((5, 4)))
    assert out.shape == (5, 3) and t.queries == 5
    t.predict(np.zeros(4))  # one sample without a batch dimension
    assert t.queries == 6


def test_logits_become_probabilities():
    t = MockTarget(lambda x: np.tile([1.0, 2.0, 3.0], (len(x), 1)), info(output=OutputKind.LOGITS))
    p = t.predict(np.zeros((2, 4)))
    assert np.allclose(p.sum(axis=1), 1) and p[0].argmax() == 2 and p[0, 2] < 1


def test_scores_declared_as_probabilities_are_refused():
    t = MockTarget(lambda x: np.tile([1.0, 2.0, 3.0], (len(x), 1)), info())
    with pytest.raises(TargetResponseError, match="declare output 'logits'"):
        t.predict(np.zeros((1, 4)))


def test_label_only_targets():
    t = MockTarget(lambda x: np.array([2] * len(x)), info(output=OutputKind.LABELS))
    assert t.predict_labels(np.zeros((3, 4))).tolist() == [2, 2, 2]
    with pytest.raises(CapabilityError, match="labels only"):
        t.predict_proba(np.zeros((1, 4)))
    bad = MockTarget(lambda x: np.array([7] * len(x)), info(output=OutputKind.LABELS))
    with pytest.raises(TargetResponseError, match="labels outside 0..2"):
        bad.predict(np.zeros((1, 4)))


@pytest.mark.parametrize("x, message", [
    (np.zeros((2, 5)), r"shape \(5,\) per sample, expected \(4,\)"),
    (np.full((1, 4), np.nan), "NaN or infinity"),
    (np.zeros((0, 4)), "empty batch"),
    ([["a", "b", "c", "d"]], "not numeric"),
])
def test_bad_inputs_name_the_target(x, message):
    t = MockTarget(lambda x: np.tile([0.2, 0.3, 0.5], (len(x), 1)), info())
    with pytest.raises(TargetInputError, match=message):
        t.predict(x)
    assert t.queries == 0


@pytest.mark.parametrize("reply, message", [
    (lambda x: np.full((len(x), 3), np.nan), "NaN"),
    (lambda x: np.zeros((len(x), 2)), r"shape \(1, 2\), expected \(1, 3\)"),
    (lambda x: "nonsense", "not numeric"),
])
def test_bad_outputs(reply, message):
    with pytest.raises(TargetResponseError, match=message):
        MockTarget(reply, info()).predict(np.zeros((1, 4)))


def test_budget_stops_cleanly_and_keeps_the_count():
    t = MockTarget(lambda x: np.tile([0.2, 0.3, 0.5], (len(x), 1)), info(), Budget(limit=10))
    t.predict(np.zeros((8, 4)))
    with pytest.raises(BudgetExhausted, match="query budget of 10 exhausted"):
        t.predict(np.zeros((3, 4)))
    assert t.queries == 8 and t.budget.remaining == 2
    zero = MockTarget(lambda x: x, info(), Budget(limit=0))
    with pytest.raises(BudgetExhausted):
        zero.predict(np.zeros((1, 4)))
    with pytest.raises(ValueError):
        Budget(limit=-1)


def test_with_budget_shares_the_model_not_the_count():
    t = MockTarget(lambda x: np.tile([0.2, 0.3, 0.5], (len(x), 1)), info())
    other = t.with_budget(Budget(limit=1))
    other.predict(np.zeros((1, 4)))
    assert other.queries == 1 and t.queries == 0


def test_binary_scorer_returning_one_column():
    t = MockTarget(lambda x: np.full(len(x), 0.8), TargetInfo("b", (2,), ("no", "yes")))
    assert np.allclose(t.predict(np.zeros((2, 2))), [[0.2, 0.8], [0.2, 0.8]])
