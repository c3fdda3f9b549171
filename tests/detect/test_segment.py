"""segment-search against a decision-based search written here (a random start with another
label, then bisection toward the input, as HopSkipJump and the Boundary attack begin) on the
test CNN, alone and interleaved with natural queries from the same key, and against benign
clients whose queries also line up: a cross-fade, a contrast sweep bisected on purpose, near
copies of one input seen from another, a video."""

from __future__ import annotations

import numpy as np
import pytest

from advmatrix.detect import QueryEvent, build, segment
from advmatrix.errors import UsageError


class _Key:
    """Every query from one key, one image per request; counts the queries and keeps alerts."""

    def __init__(self, det, predict, client="key:k"):
        self.det, self.predict, self.client = det, predict, client
        self.sent, self.alerts = 0, []

    def __call__(self, x: np.ndarray) -> int:
        x = np.asarray(x, np.float32)[None]
        out = self.predict(x)
        self.sent += 1
        self.alerts += self.det.observe(QueryEvent(self.client, float(self.sent), x, out, count=self.sent))
        return int(out[0].argmax())


def _bisect(send, x0: np.ndarray, rng: np.random.Generator, steps: int = 12, covers=None) -> None:
    """Query x0, random starts until one has another label, then bisect the segment between them
    (after each query, ``covers()`` may send unrelated natural queries)."""
    label = send(x0)
    start = None
    for _ in range(50):
        u = rng.uniform(0, 1, x0.shape)
        if send(u) != label:
            start = u
            break
        if covers:
            covers()
    assert start is not None
    lo, hi = 0.0, 1.0  # fraction of the way from x0 to the start
    for _ in range(steps):
        mid = (lo + hi) / 2
        if send(x0 + mid * (start - x0)) != label:
            hi = mid
        else:
            lo = mid
        if covers:
            covers()


def test_a_bisection_to_the_boundary_is_caught_within_a_dozen_queries(probs, digits):
    X, _ = digits
    for image in (1500, 1501, 1502, 1503):
        key = _Key(build("segment-search"), probs)
        _bisect(key, X[image], np.random.default_rng(image))
        assert key.alerts, f"image {image}: not caught"
        first = key.alerts[0]
        assert first.evidence["points"] >= 6 and first.evidence["turns"] >= 3 and first.evidence["labels"] >= 2
        assert first.technique_ids[0] == "AML.T0043.001" and first.evidence["keys"] == ["key:k"]
        assert len(key.alerts) == 1  # once per key and realert_s


def test_natural_queries_interleaved_from_the_same_key_do_not_hide_it(probs, digits):
    X, _ = digits
    rng = np.random.default_rng(5)
    key = _Key(build("segment-search"), probs)
    natural = iter(X[1000:1400])
    _bisect(key, X[1504], rng, steps=14, covers=lambda: [key(next(natural)) for _ in range(3)])
    assert key.alerts and key.alerts[0].query_count <= 100


def _benign_lines(probs, digits, **params) -> dict[str, list]:
    """Alerts per benign client whose queries line up, through one detector with ``params``."""
    X, _ = digits
    rng = np.random.default_rng(6)
    det = build("segment-search", **params)
    # a cross-fade between two digits of different classes: on one line, one way only
    fade = _Key(det, probs, "key:fade")
    a, b = X[1510], X[1520]
    for t in np.linspace(0, 1, 30):
        fade((1 - t) * a + t * b)
    # a client bisecting the contrast of its own image on purpose, toward black (no clipping:
    # a straight line), to find where the CNN's label changes (between 0.2 and 0.3)
    tune = _Key(det, probs, "key:contrast")
    image = X[1530]
    lo, hi = 0.0, 1.0
    first = tune(image)
    for _ in range(15):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if tune(mid * image) != first else (lo, mid)
    # near copies of one image (brightness +-0.002), then a digit of another class: offsets from
    # it to the tight cluster are parallel, but the cluster is no line
    near = _Key(det, probs, "key:near")
    for _ in range(8):
        near(np.clip(X[1540] + rng.choice([-0.002, 0.002]), 0, 1))
    near(X[1541])
    # a video: one digit drifting with sensor noise
    video = _Key(det, probs, "key:video")
    for t in range(40):
        video(np.clip(np.roll(X[1550], t // 10, axis=2) + rng.normal(0, 0.01, X[1550].shape), 0, 1))
    return {"fade": fade.alerts, "contrast": tune.alerts, "near": near.alerts, "video": video.alerts}


def test_lines_that_are_not_bisections_raise_nothing(probs, digits):
    assert _benign_lines(probs, digits) == {"fade": [], "contrast": [], "near": [], "video": []}


def test_each_exclusion_is_what_keeps_its_line_silent(probs, digits, monkeypatch):
    """Without the deviation test the cluster seen from afar alerts; without the order test the
    contrast bisection does: the benign test above exercises both."""
    assert _benign_lines(probs, digits, deviation=1e9)["near"]
    monkeypatch.setattr(segment.SegmentSearch, "_remapping", staticmethod(lambda a, b: False))
    assert _benign_lines(probs, digits)["contrast"]


def test_the_same_bisection_with_contrast_unchanged_but_toward_noise_alerts(probs, digits):
    """The contrast-bisecting client above, with its line bent toward a noise image instead of a
    re-mapping of its own input, is the attack: the exclusion is about the order of values."""
    X, _ = digits
    rng = np.random.default_rng(7)
    key = _Key(build("segment-search"), probs)
    _bisect(key, X[1530], rng)
    assert key.alerts


@pytest.mark.parametrize("shape", [(3, 32, 32), (300,)])
def test_other_shapes_bounded_state_and_bad_parameters(shape):
    rng = np.random.default_rng(0)
    det = build("segment-search", max_clients=50)
    x0, far = rng.uniform(0, 1, shape), rng.uniform(0, 1, shape)

    def scores(x):  # the label flips 0.3 of the way along
        t = float(np.dot((x - x0).ravel(), (far - x0).ravel()) / np.dot((far - x0).ravel(), (far - x0).ravel()))
        return np.array([[0.9, 0.1]] if t < 0.3 else [[0.1, 0.9]], np.float32)

    lo, hi, alerts = 0.0, 1.0, []
    for i, t in enumerate([0.0, 1.0] + [None] * 10):
        if t is None:
            t = (lo + hi) / 2
        x = (x0 + t * (far - x0)).astype(np.float32)[None]
        out = scores(x[0])
        if t not in (0.0, 1.0):
            lo, hi = (lo, t) if out[0].argmax() else (t, hi)
        alerts += det.observe(QueryEvent("key:v", float(i), x, out))
    assert alerts
    for i in range(200):
        det.observe(QueryEvent(f"key:{i}", 0.0, rng.uniform(0, 1, (1, *shape)).astype(np.float32),
                               np.array([[0.5, 0.5]], np.float32)))
    assert det.state_size() == 50
    # a client's ring grows with its queries, up to ``recent``
    assert len(det.clients["key:199"].labels) == 8 and "key:v" not in det.clients  # dropped: least recent
    for _ in range(100):
        det.observe(QueryEvent("key:v", 0.0, rng.uniform(0, 1, (1, *shape)).astype(np.float32),
                               np.array([[0.5, 0.5]], np.float32)))
    assert len(det.clients["key:v"].labels) == det.params.recent == 32
    # another shape than the first: no opinion, no error
    assert det.observe(QueryEvent("key:v", 1.0, np.zeros((1, 5), np.float32), np.array([[1.0, 0.0]]))) == []
    with pytest.raises(UsageError, match="segment-search: parameter 'points'"):
        build("segment-search", points=2)


def test_arts_hopskipjump_label_only_is_caught_by_its_first_line_search(probs, digits):
    """The real attack (ART's HopSkipJump, one-hot replies, the run seeded as in
    test_boundary): caught within its first 20 queries on three images, the alert on the
    attacker's key."""
    from tests.detect.test_boundary import _hopskipjump

    X, _ = digits
    for image in (1500, 1501, 1502):
        det = build("segment-search")
        state = {"sent": 0, "first": None}

        def send(batch, predict, det=det, state=state):
            out = predict(batch)
            for i in range(len(batch)):
                state["sent"] += 1
                alerts = det.observe(QueryEvent("key:attacker", 1000.0 + state["sent"], batch[i:i + 1],
                                                out[i:i + 1], count=state["sent"]))
                if alerts and state["first"] is None:
                    state["first"] = state["sent"]
            return out

        _hopskipjump(probs, X[image:image + 1], send)
        assert state["first"] is not None and state["first"] <= 20, (image, state)


def test_a_bisection_along_a_direction_the_bounds_clip_is_caught(probs, digits):
    """Sign-OPT's and OPT's line searches run along ``x0 + t * direction``, which pushes many
    values past 0 or 1; clipped, the queries are not on one line unless the clipped values are
    left out. Caught within its first 16 queries on four images."""
    X, _ = digits
    for image in (1500, 1501, 1502, 1503):
        rng = np.random.default_rng(image)
        key = _Key(build("segment-search"), probs)
        x0 = X[image]
        label = key(x0)
        for _ in range(50):
            direction = rng.normal(0, 1.5, x0.shape)
            if key(np.clip(x0 + direction, 0, 1)) != label:
                break
        else:
            pytest.fail(f"image {image}: no direction changes the label")
        lo, hi = 0.0, 1.0
        for _ in range(12):
            mid = (lo + hi) / 2
            if key(np.clip(x0 + mid * direction, 0, 1)) != label:
                hi = mid
            else:
                lo = mid
        assert key.alerts, f"image {image}: not caught"
        assert key.alerts[0].query_count - (key.sent - 12) <= 10, f"image {image}: caught late"
