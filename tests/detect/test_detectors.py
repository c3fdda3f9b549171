"""Detectors fed directly with real digits (no server): what they flag, what they leave alone,
and the one-line errors for bad reference data."""

from __future__ import annotations

import numpy as np
import pytest

from advmatrix.detect import OutOfDistribution, QueryCoverage, QueryEvent
from advmatrix.errors import UsageError
from advmatrix.gateway import GatewayConfig
from advmatrix.plugins import Context


def _first_alert(detector, inputs: np.ndarray, step: int = 4) -> int | None:
    """Feed inputs in requests of `step`; the client's query count at the first alert."""
    for i in range(0, len(inputs), step):
        if detector.observe(QueryEvent("c", 0.0, inputs[i:i + step], count=i + step)):
            return min(i + step, len(inputs))
    return None


def test_query_coverage_flags_a_client_exploring_the_space_not_one_revisiting_it(digits):
    X, _ = digits
    ref, new = X[:1000], X[1000:]
    rng = np.random.default_rng(0)
    det = QueryCoverage(Context({"reference": ref}))
    # an extractor with natural data walks through all of it
    at = _first_alert(det, new[rng.permutation(len(new))])
    assert at is not None and det.params.budget < at < len(new)
    # as many queries, but re-sending lightly changed copies of 100 inputs, explore no further
    base = new[rng.choice(len(new), 100, replace=False)]
    copies = np.concatenate([np.clip(base + rng.normal(0, 0.02, base.shape), 0, 1) for _ in range(8)])
    assert _first_alert(QueryCoverage(Context({"reference": ref})), copies.astype(np.float32)) is None


def test_query_coverage_threshold_keeps_to_its_false_positive_budget(digits):
    """Sessions of `budget` natural queries alert at about the configured rate, no more."""
    X, _ = digits
    rng = np.random.default_rng(1)
    det = QueryCoverage(Context({"reference": X[:1000]}), budget=200, fpr=0.05)
    alerted = sum(_first_alert(QueryCoverage(Context({"reference": X[:1000]}), budget=200, fpr=0.05),
                               X[1000:][rng.choice(797, 200, replace=False)]) is not None for _ in range(100))
    assert alerted <= 12  # binomial(100, 0.05) stays under 12 with probability > 0.998
    assert det.threshold > 150  # and the threshold is not so high that nothing could reach it:
    assert _first_alert(det, X[1000:]) is not None


def test_query_coverage_state_is_released_after_the_alert(digits):
    X, _ = digits
    det = QueryCoverage(Context({"reference": X[:1000]}), budget=50)
    assert _first_alert(det, X[1000:1400]) is not None
    assert det.clients.get("c").seen is None
    assert det.observe(QueryEvent("c", 0.0, X[1400:1500], count=500)) == []  # one alert per client


def test_query_coverage_needs_a_big_enough_reference(digits):
    X, _ = digits
    with pytest.raises(UsageError, match="needs context .reference."):
        QueryCoverage()
    with pytest.raises(UsageError, match="budget 250 exceeds the reference sample \\(100 inputs\\)"):
        QueryCoverage(Context({"reference": X[:100]}))


def test_ood_flags_a_client_sending_noise_not_digits(digits):
    X, _ = digits
    rng = np.random.default_rng(2)
    assert _first_alert(OutOfDistribution(Context({"reference": X[:1000]})), X[1000:1400]) is None
    noise = rng.uniform(0, 1, (100, 1, 8, 8)).astype(np.float32)
    # the first full window of 50 recent inputs, whole requests
    assert _first_alert(OutOfDistribution(Context({"reference": X[:1000]})), noise) == 52


def test_ood_leaves_brightness_and_contrast_alone_and_still_flags_noise_blends(digits):
    """Held-out digits re-sent brighter, darker or with more or less contrast (a photo in other
    light, a client tuning its image) are in distribution as often as the digits themselves;
    the same digits half blended with noise alert. With the re-mapping off, a fifth of the
    re-mapped digits are out of distribution."""
    X, _ = digits
    rng = np.random.default_rng(4)
    held = X[1000:1300]
    tuned = np.stack([np.clip((x - 0.5) * c + 0.5 + b, 0, 1) for x, c, b in
                      zip(held, rng.uniform(0.6, 1.6, len(held)), rng.uniform(-0.25, 0.25, len(held)),
                          strict=True)]).astype(np.float32)
    blended = (0.5 * held + 0.5 * rng.uniform(0, 1, held.shape)).astype(np.float32)
    ref = Context({"reference": X[:1000]})

    def flagged(detector, x):
        return float((detector.score(x) > detector.threshold).mean())

    on, off = OutOfDistribution(ref), OutOfDistribution(ref, remap=False)
    assert flagged(on, tuned) <= 0.03 and flagged(off, tuned) >= 0.15
    assert _first_alert(OutOfDistribution(ref), tuned) is None
    assert _first_alert(OutOfDistribution(ref), blended) is not None
    with pytest.raises(UsageError, match="ood: parameter .gain.*0 < low <= high"):
        OutOfDistribution(ref, gain=(2.0, 1.0))


@pytest.mark.parametrize("content, message", [
    (None, "ref.npy.: no such file"),
    (np.array([{"x": 1}], dtype=object), "reference '.*'"),  # needs pickle to load: refused
    (np.arange(5.0), "expected a non-empty numeric array"),
])
def test_bad_reference_file_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "ref.npy"
    if content is not None:
        np.save(path, content)
    cfg = GatewayConfig(upstream="http://127.0.0.1:9", reference=str(path), detectors={"query-coverage": {}})
    with pytest.raises(UsageError, match=message):
        cfg.build_detectors()
