"""noise-probe against ART's Boundary attack (label-only, as a decision-based attacker sees the
test CNN) and against what benign clients send: natural digits, video frames with sensor noise,
a dark noisy frame, smooth and textured colour images, a sparse drawing, one noise image alone;
and inputs that are no images."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest

from advmatrix.detect import QueryEvent, build
from advmatrix.detect.noise import neighbour_correlation
from advmatrix.errors import UsageError
from tests.detect.test_boundary import _SeededState


def _send(det, x, client="key:k", t=1.0, address="198.51.100.7"):
    x = np.asarray(x, np.float32)
    return det.observe(QueryEvent(client, t, x, np.full((len(x), 10), 0.1, np.float32), address=address))


def test_arts_boundary_attack_is_caught_by_its_random_start(probs, digits):
    pytest.importorskip("art")
    from art.attacks.evasion import BoundaryAttack
    from art.estimators.classification import BlackBoxClassifierNeuralNetwork

    X, _ = digits
    for image in (1500, 1501, 1502):
        det = build("noise-probe")
        state = {"sent": 0, "first": None, "alert": None}

        def predict(batch, det=det, state=state):
            batch = np.asarray(batch, np.float32)
            out = np.eye(10, dtype=np.float32)[probs(batch).argmax(1)]
            for i in range(len(batch)):
                state["sent"] += 1
                alerts = det.observe(QueryEvent("key:attacker", float(state["sent"]), batch[i:i + 1], out[i:i + 1],
                                                address="198.51.100.7"))
                if alerts and state["first"] is None:
                    state["first"], state["alert"] = state["sent"], alerts[0]
            return out

        clf = BlackBoxClassifierNeuralNetwork(predict, (1, 8, 8), 10, clip_values=(0, 1))
        np.random.seed(image)
        with mock.patch.object(np.random, "RandomState", _SeededState):
            BoundaryAttack(clf, targeted=False, max_iter=5, num_trial=5, sample_size=5, init_size=50,
                           verbose=False).generate(X[image:image + 1])
        # ART sends its random starts one at a time until one is labelled otherwise
        assert state["first"] is not None and state["first"] <= 20, (image, state["first"], state["sent"])
        alert = state["alert"]
        assert alert.detector == "noise-probe" and "AML.T0043.001" in alert.technique_ids
        assert alert.evidence["keys"] == ["key:attacker"]


def test_benign_images_are_no_noise_probes(digits):
    X, _ = digits
    rng = np.random.default_rng(0)
    det = build("noise-probe")
    alerts = []
    # natural digits, many keys sharing one address, and one key's long session
    for i in range(400):
        alerts += _send(det, X[i:i + 1], client=f"key:{i % 20}", t=float(i))
    # video-like frames: a digit with sensor noise at the corpus's strongest level and above
    for i, sigma in enumerate((0.02, 0.05, 0.08)):
        for t in range(30):
            frame = X[500 + i] + rng.normal(0, sigma, X[500 + i].shape)
            alerts += _send(det, frame[None], client="key:video", t=1000.0 + t)
    # a dark frame: black plus sensor noise; and a flat grey one
    for t in range(10):
        alerts += _send(det, np.clip(rng.normal(0.02, 0.02, (1, 1, 8, 8)), 0, 1), client="key:dark", t=2000.0 + t)
        alerts += _send(det, np.full((1, 1, 8, 8), 0.5), client="key:flat", t=2000.0 + t)
    # larger colour images: smooth gradients and blobs, and a fine texture that is still an image
    yy, xx = np.mgrid[0:64, 0:64] / 63.0
    for t in range(10):
        smooth = np.stack([np.sin(3 * xx + t) * 0.4 + 0.5, yy, np.cos(2 * yy * xx + t) * 0.4 + 0.5])
        texture = np.clip(smooth + 0.15 * np.sin(40 * xx) * np.sin(40 * yy), 0, 1)
        alerts += _send(det, np.stack([smooth, texture]), client="key:photos", t=3000.0 + t)
    # a sparse, high-contrast drawing at low resolution: isolated one-pixel strokes correlate
    # little with their neighbours, but most of the image is background at one level
    for t in range(10):
        sketch = np.zeros((1, 1, 8, 8))
        sketch[0, 0, rng.integers(0, 8, 12), rng.integers(0, 8, 12)] = rng.uniform(0.6, 1.0, 12)
        alerts += _send(det, sketch, client="key:sketch", t=3500.0 + t)
    # raw 0-255 pixels, with the range said: a dark noisy frame is still no probe, noise still is
    raw = build("noise-probe", input_range=[0, 255])
    for t in range(5):
        alerts += _send(raw, np.clip(rng.normal(4, 3, (1, 8, 8, 3)), 0, 255), client="key:raw", t=3800.0 + t)
    assert alerts == []
    raw_noise = [_send(raw, rng.uniform(0, 255, (1, 8, 8, 3)), client="key:rawnoise", t=3900.0 + t) for t in range(2)]
    assert [len(a) for a in raw_noise] == [0, 1]
    # one noise image alone (a test request, a health check) is not yet a search
    assert _send(det, rng.uniform(0, 1, (1, 1, 8, 8)), client="key:once", t=4000.0) == []


def test_two_noise_images_alert_on_the_key_and_then_on_the_address():
    rng = np.random.default_rng(1)
    det = build("noise-probe", all_probes=0)
    assert _send(det, rng.uniform(0, 1, (1, 3, 32, 32)), client="key:a", t=1.0) == []
    alerts = _send(det, rng.uniform(0, 1, (1, 3, 32, 32)), client="key:a", t=2.0)
    assert len(alerts) == 1 and alerts[0].evidence["scope"] == "key:a" and alerts[0].evidence["probes"] == 2
    assert det.response == {"action": "alert"}
    # the same key is quiet for realert_s, and its address says nothing more while only it probed
    assert _send(det, rng.uniform(0, 1, (1, 3, 32, 32)), client="key:a", t=3.0) == []
    # one noise image each from two new keys at another address: the address alerts, naming both
    assert _send(det, rng.uniform(0, 1, (1, 3, 32, 32)), client="key:b", t=4.0, address="203.0.113.9") == []
    hit = _send(det, rng.uniform(0, 1, (1, 3, 32, 32)), client="key:c", t=5.0, address="203.0.113.9")
    assert [(a.evidence["scope"], a.evidence["keys"]) for a in hit] == [("address 203.0.113.9", ["key:b", "key:c"])]
    # probes older than window_s do not count
    det = build("noise-probe", window_s=10)
    assert _send(det, rng.uniform(0, 1, (1, 8, 8, 3)), client="key:slow", t=0.0) == []
    assert _send(det, rng.uniform(0, 1, (1, 8, 8, 3)), client="key:slow", t=60.0) == []


def test_noise_from_a_new_key_and_address_each_time_is_seen_across_all_clients():
    """A botnet: every request from a new key and a new address, so no key or address sends two.
    The scope 'all clients' counts them (no benign client sends noise) and names the keys."""
    rng = np.random.default_rng(5)
    det = build("noise-probe")
    alerts = []
    for i in range(3):
        alerts += _send(det, rng.uniform(0, 1, (1, 1, 8, 8)), client=f"key:bot{i}", t=float(i),
                        address=f"198.51.{i}.{i + 1}")
    assert alerts == []
    hit = _send(det, rng.uniform(0, 1, (1, 1, 8, 8)), client="key:bot3", t=3.0, address="203.0.113.77")
    assert [(a.evidence["scope"], a.evidence["keys"]) for a in hit] == \
        [("all clients", ["key:bot0", "key:bot1", "key:bot2", "key:bot3"])]
    # a probe that made its key alert still counts for everyone
    det = build("noise-probe", all_probes=3)
    assert _send(det, rng.uniform(0, 1, (1, 1, 8, 8)), client="key:a", t=0.0) == []
    assert [a.evidence["scope"] for a in _send(det, rng.uniform(0, 1, (1, 1, 8, 8)), client="key:a", t=1.0)] \
        == ["key:a"]
    hit = _send(det, rng.uniform(0, 1, (1, 1, 8, 8)), client="key:c", t=2.0, address="203.0.113.5")
    assert [(a.evidence["scope"], a.evidence["keys"]) for a in hit] == [("all clients", ["key:a", "key:c"])]
    # one key's own probes are its own scope's business, not everyone's
    det = build("noise-probe", probes=10)
    for t in range(6):
        assert _send(det, rng.uniform(0, 1, (1, 1, 8, 8)), client="key:solo", t=float(t)) == []


def test_inputs_that_are_no_images_get_no_opinion_and_bad_parameters_one_line():
    rng = np.random.default_rng(2)
    det = build("noise-probe")
    for shape in ((1, 64), (1, 3, 3), (1, 2, 2, 2, 2)):
        for t in range(3):
            assert _send(det, rng.uniform(0, 1, shape), t=float(t)) == []
    assert det.observe(QueryEvent("key:k", 1.0, None, None)) == []
    with pytest.raises(UsageError, match="noise-probe: parameter 'max_correlation'"):
        build("noise-probe", max_correlation=1.5)
    with pytest.raises(UsageError, match="noise-probe: parameter 'probes'"):
        build("noise-probe", probes=0)
    with pytest.raises(UsageError, match="noise-probe: parameter 'input_range'.*low < high"):
        build("noise-probe", input_range=[255, 0])


def test_neighbour_correlation_tells_noise_from_pictures_at_any_size():
    rng = np.random.default_rng(3)
    for size in (8, 32, 224):
        noise, _ = neighbour_correlation(rng.uniform(0, 1, (3, size, size)), (1, 2))
        yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
        picture, _ = neighbour_correlation(np.stack([xx, yy, xx * yy]), (1, 2))
        assert abs(noise) < 0.2 < 0.5 < picture, (size, noise, picture)
