"""coordinate-probe: coordinate-wise searches (ZOO) seen at any step size; benign edits are not."""

from __future__ import annotations

import numpy as np
import pytest

from advmatrix.detect import QueryEvent, build
from advmatrix.errors import UsageError
from tests.detect.test_structured import _benign_sessions


def _zoo(probs, x0: np.ndarray, send, **params) -> None:
    """ART's ZooAttack (its default step of 1e-4, 16 coordinates a request) against the victim,
    every request going through ``send``."""
    from art.attacks.evasion import ZooAttack
    from art.estimators.classification import BlackBoxClassifierNeuralNetwork

    clf = BlackBoxClassifierNeuralNetwork(lambda b: send(np.asarray(b, np.float32), probs), (1, 8, 8), 10,
                                          clip_values=(0.0, 1.0))
    attack = ZooAttack(clf, use_resize=False, use_importance=False, nb_parallel=16, max_iter=5, verbose=False,
                       **params)
    np.random.seed(0)
    attack.generate(x0[None])


@pytest.mark.parametrize("variable_h", [1e-4, 0.2])
def test_arts_zoo_is_caught_in_its_first_request(probs, digits, variable_h):
    """ZOO at its default step (1e-4: no visible change, the margin does not move) and at a
    visible one: the alert comes within the first request (33 queries) on three images."""
    X, _ = digits
    for image in (1500, 1501, 1502):
        det = build("coordinate-probe")
        state = {"sent": 0, "first": None}

        def send(batch, predict, det=det, state=state):
            out = predict(batch)
            state["sent"] += len(batch)
            if det.observe(QueryEvent("key:zoo", float(state["sent"]), batch, out, count=state["sent"])) \
                    and state["first"] is None:
                state["first"] = state["sent"]
            return out

        _zoo(probs, X[image], send, variable_h=variable_h)
        assert state["first"] is not None and state["first"] <= 33, (image, state)


def test_benign_edits_raise_nothing(digits):
    """Retries through compression, crops, brightness/contrast sweeps (strong ones, which leave
    a thin digit with few values between 0 and 1) and drifting video frames: no alert."""
    X, _ = digits
    rng = np.random.default_rng(7)
    det = build("coordinate-probe")
    alerts = []
    for c, session in enumerate(_benign_sessions(X[1000:1400], rng)):
        for t, x in enumerate(session):
            alerts += det.observe(QueryEvent(f"key:{c}", float(t), x[None], None))
    assert alerts == []


def test_a_brightness_change_of_a_saturated_input_is_no_probe():
    """An input whose values sit at 0 or 1 but for two: a brightness change moves only those two,
    as a coordinate probe would; the unchanged cells hold no value in between, so it is no probe,
    while the same two-value change on an input with values in between is."""
    saturated = np.zeros((1, 8, 8), np.float32)
    saturated[0, 2:6, 3] = 1.0
    saturated[0, 1, 3], saturated[0, 6, 3] = 0.5, 0.4
    graded = np.clip(saturated + np.linspace(0.1, 0.6, 64, dtype=np.float32).reshape(1, 8, 8), 0, 1)
    for base, expect in ((saturated, 0), (graded, 1)):
        det = build("coordinate-probe", probes=1)
        det.observe(QueryEvent("key:a", 0.0, base[None], None))
        brighter = base.copy()
        brighter[0, 1, 3] += 0.1
        brighter[0, 6, 3] += 0.1
        assert len(det.observe(QueryEvent("key:a", 1.0, brighter[None], None))) == expect


def test_other_shapes_bounded_state_and_bad_parameters():
    """Vectors and channels-last images are read; clients beyond max_clients are dropped; a
    shape other than the first is ignored; bad parameters fail with the parameter named."""
    rng = np.random.default_rng(0)
    for shape in [(100,), (16, 16, 3)]:
        det = build("coordinate-probe", max_clients=3)
        x = rng.uniform(0.2, 0.8, size=shape).astype(np.float32)
        alerts = []
        for t in range(20):
            probe = x.copy()
            probe.reshape(-1)[rng.integers(x.size)] += 1e-3
            alerts += det.observe(QueryEvent("key:a", float(t), probe[None], None))
        assert alerts, shape
        for c in range(10):
            det.observe(QueryEvent(f"key:{c}", 100.0 + c, rng.uniform(size=(1, *shape)).astype(np.float32), None))
        assert det.state_size() <= 3
        assert det.observe(QueryEvent("key:a", 200.0, np.zeros((1, 5), np.float32), None)) == []
    with pytest.raises(UsageError, match="probes"):
        build("coordinate-probe", probes=0)
