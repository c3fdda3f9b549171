"""structured-search against score-based searches written here (a square-window search, a
coordinate search, a cosine-basis search) on the test CNN, the same search over a new key per
query, and benign clients who re-send edited copies of their images (retries through JPEG-like
compression, crops, brightness/contrast sweeps, drifting video frames)."""

from __future__ import annotations

import numpy as np
import pytest

from advmatrix.detect import QueryEvent, build
from advmatrix.detect.boundary import log_margin
from advmatrix.detect.structured import _NEW

EPS = 0.3


def _search(probs, x0: np.ndarray, propose, send, budget: int = 60) -> int:
    """A greedy score-based search: each candidate is ``propose(best, rng)``; it is kept when the
    margin of the image's first label falls. Every query goes through ``send``; stops at the first
    alert (returns the queries sent) or after ``budget`` queries (returns 0)."""
    rng = np.random.default_rng(0)
    best = x0.copy()
    label = int(probs(best[None])[0].argmax())
    out, alerted = send(best)
    low = log_margin(out, label)
    for sent in range(2, budget + 1):
        cand = np.clip(propose(best, x0, rng), 0, 1).astype(np.float32)
        out, alerted = send(cand)
        if alerted:
            return sent
        margin = log_margin(out, label)
        if margin < low:
            best, low = cand, margin
    return 0


def _window(best, x0, rng):
    """Square's step: one h x h window set to x0 +- EPS, one sign for the window."""
    h = int(rng.integers(2, 5))
    r, c = rng.integers(0, 9 - h, 2)
    cand = best.copy()
    cand[0, r:r + h, c:c + h] = x0[0, r:r + h, c:c + h] + rng.choice([-1, 1]) * EPS
    return cand


def _coordinate(best, x0, rng):
    """SimBA's pixel step: one coordinate moved by +-0.2."""
    cand = best.copy()
    cand.reshape(-1)[rng.integers(cand.size)] += rng.choice([-1, 1]) * 0.2
    return cand


def _basis(best, x0, rng):
    """SimBA's DCT step: one low-frequency 2-D cosine added, +-0.2 in L2."""
    u, v = rng.integers(0, 4, 2)
    if u == v == 0:
        u = 1
    n = np.arange(8)
    wave = np.outer(np.cos(np.pi * (2 * n + 1) * u / 16), np.cos(np.pi * (2 * n + 1) * v / 16))
    return best + rng.choice([-1, 1]) * 0.2 * wave[None] / np.linalg.norm(wave)


def _one_key(det, probs, client="key:attacker"):
    """``send(x) -> (scores, alerts)``: every query from one key at one address."""
    state = {"n": 0}

    def send(x):
        state["n"] += 1
        out = probs(x[None])
        alerts = det.observe(QueryEvent(client, 1000.0 + state["n"], x[None], out, count=state["n"],
                                        address="198.51.100.7"))
        return out[0], alerts

    return send


@pytest.mark.parametrize("step", [_window, _coordinate, _basis], ids=["square-window", "coordinate", "cosine-basis"])
def test_a_score_based_search_is_caught_early(probs, digits, step):
    """Three images each; every one caught within 40 queries (the search changes one window, one
    coordinate or one basis vector per query, and the CNN's margin falls as it goes)."""
    X, _ = digits
    for image in (1500, 1501, 1502):
        det = build("structured-search")
        caught = _search(probs, X[image], step, _one_key(det, probs))
        assert 0 < caught <= 40, f"image {image}: not caught within 40 queries ({step.__name__})"


def test_the_alert_names_the_key_and_the_technique(probs, digits):
    X, _ = digits
    det = build("structured-search")
    alerts = []
    send = _one_key(det, probs)

    def keep(x):
        out, new = send(x)
        alerts.extend(new)
        return out, new

    assert _search(probs, X[1503], _window, keep)
    alert = alerts[0]
    assert alert.detector == "structured-search" and "AML.T0043.001" in alert.technique_ids
    assert alert.client == "key:attacker" and alert.evidence["probes"] >= det.params.probes


def test_a_search_over_a_new_key_and_address_per_query_is_still_one_chain(probs, digits):
    """Nothing ties the keys but the input they edit: each coordinate step leaves the other
    cells bit for bit as before, so the shared band table finds the base whoever sent it."""
    X, _ = digits
    det = build("structured-search")
    rng = np.random.default_rng(3)
    state = {"n": 0}

    def send(x):
        state["n"] += 1
        out = probs(x[None])
        address = ".".join(str(int(b)) for b in rng.integers(1, 250, 4))
        alerts = det.observe(QueryEvent(f"key:bot{state['n']}", 1000.0 + state["n"], x[None], out, count=1,
                                        address=address))
        return out[0], alerts

    caught = _search(probs, X[1504], _coordinate, send)
    assert 0 < caught <= 40


def _jpeg_like(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Re-compression: the 8x8 cosine coefficients quantised with a random step, and back."""
    n = np.arange(8)
    d = np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / 16) * np.sqrt(2 / 8)
    d[0] /= np.sqrt(2)
    coef = d @ x[0] @ d.T
    q = rng.uniform(0.05, 0.15)
    return (d.T @ (np.round(coef / q) * q) @ d)[None]


def _crop(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from scipy.ndimage import zoom

    z = zoom(x[0], rng.uniform(1.1, 1.4), order=1)
    top, left = rng.integers(0, z.shape[0] - 7, 2)
    return z[top:top + 8, left:left + 8][None]


def _benign_sessions(X: np.ndarray, rng: np.random.Generator) -> list[list[np.ndarray]]:
    """Each a list of single images: 10 clients of each kind."""
    from scipy.ndimage import shift

    sessions = []
    for _ in range(10):  # retries: each image sent, then re-sent 2-4 times through JPEG-like compression
        reqs = []
        for i in rng.choice(len(X), 30, replace=False):
            reqs.append(X[i])
            reqs += [_jpeg_like(X[i], rng) for _ in range(rng.integers(2, 5))]
        sessions.append(reqs)
    for _ in range(10):  # an app that crops and re-sends
        reqs = []
        for i in rng.choice(len(X), 30, replace=False):
            reqs.append(X[i])
            reqs += [_crop(X[i], rng) for _ in range(rng.integers(2, 5))]
        sessions.append(reqs)
    for _ in range(10):  # brightness/contrast sweeps over a grid, strong ones included
        reqs = []
        for i in rng.choice(len(X), 4, replace=False):
            for gain in (0.6, 0.8, 1.0, 1.2, 1.5):
                for offset in (-0.2, -0.1, 0.0, 0.1, 0.2):
                    reqs.append((X[i] - 0.5) * gain + 0.5 + offset)
        sessions.append(reqs)
    for _ in range(10):  # video: a digit drifting by sub-pixel steps, with sensor noise
        reqs = []
        for i in rng.choice(len(X), 6, replace=False):
            dy, dx = rng.uniform(-0.08, 0.08, 2)
            for t in range(20):
                frame = shift(X[i, 0], (dy * t, dx * t), order=1, mode="nearest")
                reqs.append((frame + rng.normal(0, 0.01, frame.shape))[None])
        sessions.append(reqs)
    return [[np.clip(r, 0, 1).astype(np.float32) for r in s] for s in sessions]


def test_benign_edits_raise_nothing(probs, digits):
    """40 clients (interleaved through one detector) re-send edited copies of their images:
    dense, continuous changes, never a window or a basis vector: no alert."""
    X, _ = digits
    det = build("structured-search")
    sessions = _benign_sessions(X[1000:], np.random.default_rng(1))
    alerts = []
    for step in range(max(len(s) for s in sessions)):
        for c, s in enumerate(sessions):
            if step < len(s):
                x = s[step][None]
                alerts += det.observe(QueryEvent(f"key:benign{c}", 1000.0 + step, x, probs(x), count=step + 1,
                                                 address=f"203.0.113.{c}"))
    assert alerts == [], [a.message for a in alerts]


def test_a_fading_thin_stroke_is_not_a_basis_vector_step():
    """A thin stroke (a '1': two columns) leaves few cells unclipped, and on so few cells a low
    cosine is nearly flat, as is a brightness/contrast re-mapping. Fading it while the score of
    its class falls is a re-mapping, not a search: silent by default, and caught only when the
    re-mapping test is turned off (``affine=1``), which is what the test half once showed."""

    def scores(x):
        z = np.zeros((len(x), 10))
        z[:, 1], z[:, 7] = 40 * x.reshape(len(x), -1).mean(1), 4.0
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    img = np.zeros((1, 8, 8), np.float32)
    img[0, :, 3:5] = 0.93
    img[0, 1::2, 5] = 0.12
    fades = [np.clip((img - 0.5) * (1 - 0.02 * t) + 0.5 - 0.01 * t, 0, 1).astype(np.float32)[None]
             for t in range(20)]
    alerted = {}
    for affine in (0.9, 1.0):
        det = build("structured-search", affine=affine)
        alerted[affine] = [a for t, x in enumerate(fades) for a in det.observe(QueryEvent("key:fade", float(t), x,
                                                                                          scores(x)))]
    assert alerted[0.9] == [] and alerted[1.0], alerted


def test_exact_resends_are_no_evidence(probs, digits):
    """The same image sent 50 times (an app retrying on timeouts) is one input, not a search."""
    X, _ = digits
    det = build("structured-search")
    x = X[1600:1601]
    out = probs(x)
    assert not any(det.observe(QueryEvent("key:retry", float(t), x, out)) for t in range(50))


def test_other_shapes_and_bounded_state():
    """Channels-first and channels-last images and plain vectors are summarised on the grid;
    clients beyond max_clients are dropped; without scores it has no opinion."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3 * 16 * 16, 10)).astype(np.float32)

    def scores(x):
        z = x.reshape(len(x), -1) @ w
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    for shape in [(3, 16, 16), (16, 16, 3), (768,)]:
        det = build("structured-search", max_clients=5)
        x = rng.uniform(0.3, 0.7, size=(1, *shape)).astype(np.float32)
        label = int(scores(x)[0].argmax())
        alerts = []
        for t in range(40):  # a coordinate search pushing the first label down
            cand = x.copy()
            cand.reshape(-1)[rng.integers(x.size)] += 0.3 * rng.choice([-1, 1])
            out = scores(cand)
            alerts += det.observe(QueryEvent("key:a", float(t), cand, out))
            if log_margin(out[0], label) < log_margin(scores(x)[0], label):
                x = cand
        assert alerts, f"coordinate search on {shape} not caught"
        for c in range(20):
            det.observe(QueryEvent(f"key:{c}", 100.0 + c, rng.uniform(size=(1, *shape)).astype(np.float32),
                                   scores(rng.uniform(size=(1, *shape)).astype(np.float32))))
        assert det.state_size() <= 5
    det = build("structured-search")
    assert det.observe(QueryEvent("c", 0.0, rng.uniform(size=(2, 1, 8, 8)).astype(np.float32), None)) == []
    assert det.state_size() == 0


def test_a_search_interleaved_with_new_inputs_from_its_key_is_still_caught(probs, digits):
    """Cover queries (other digits, new inputs) between the candidates do not dilute the key's
    share of structured edits: an input like none before is no edit at all. Counted as edits
    (``edit_cosine`` near 0), they hide the search."""
    X, _ = digits

    def run(**params):
        det = build("structured-search", **params)
        send = _one_key(det, probs)
        cover = iter(X[1600:1797])

        def with_cover(x):
            for _ in range(2):  # two natural queries before each of the search's
                send(next(cover))
            return send(x)

        return _search(probs, X[1530], _window, with_cover, budget=60)

    assert run() > 0
    assert run(edit_cosine=1e-6) == 0


def _stripes(x0: np.ndarray, rng: np.random.Generator, eps: float = EPS) -> np.ndarray:
    """Square's start: every column moved up or down by eps (clipped to the input range)."""
    signs = rng.choice([-1.0, 1.0], size=(1, 1, x0.shape[-1]))
    return np.clip(x0 + eps * signs, 0, 1).astype(np.float32)


def test_a_query_on_a_corner_of_the_linf_ball_that_lowers_the_margin_alerts_at_once(probs, digits):
    """A search that starts from a corner of the L-inf ball (every value moved by eps, up or
    down) and brings the margin down is caught on that query, before any window step: the
    sessions ART's Square wins within three queries."""
    X, _ = digits
    caught = falls = 0
    for image in range(1500, 1520):
        det = build("structured-search")
        x0 = X[image:image + 1]
        out0 = probs(x0)
        label = int(out0.argmax())
        corner = _stripes(x0[0], np.random.default_rng(image))[None]
        out = probs(corner)
        det.observe(QueryEvent("key:sq", 1.0, x0, out0))
        alerts = det.observe(QueryEvent("key:sq", 2.0, corner, out))
        fell = log_margin(out0[0], label) - log_margin(out[0], label) >= 0.5
        assert fell or not alerts, image  # the margin gate still decides
        falls += fell
        caught += bool(alerts)
        if alerts:
            assert alerts[0].evidence["corner_steps"] == 1 and "corner" in alerts[0].message
    # a start that moves nearly every free value one way (a sparse digit whose down columns are
    # background) is too like a brightness shift to count
    assert falls >= 10 and caught >= 0.8 * falls, (caught, falls)


def _scores(x: np.ndarray) -> np.ndarray:
    """A stand-in classifier for shapes the CNN does not take: class 0's score falls as the
    input moves away from mid-grey."""
    z = np.zeros((len(x), 3))
    z[:, 0] = 4.0 - 20 * np.abs(x.reshape(len(x), -1) - 0.5).mean(1)
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.mark.parametrize("shape", [(3, 32, 32), (32, 32, 3), (300,)])
def test_corner_steps_are_read_off_a_sample_of_larger_inputs(shape):
    """Inputs with more values than are kept (128) are compared at fixed positions: a corner
    step of 8/255 (a photo's budget) alerts; the same image with dense noise, a brightness
    shift (one way, one amount) or a contrast change does not."""
    rng = np.random.default_rng(0)
    x0 = rng.uniform(0.3, 0.7, size=shape).astype(np.float32)
    eps = 8 / 255
    corner = np.clip(x0 + eps * rng.choice([-1.0, 1.0], size=shape), 0, 1).astype(np.float32)
    benign = {"noise": x0 + rng.normal(0, eps, size=shape), "brightness": x0 + eps,
              "contrast": (x0 - 0.5) * 1.2 + 0.5}
    for name, x in {**benign, "corner": corner}.items():
        det = build("structured-search")
        det.observe(QueryEvent("key:c", 1.0, x0[None], _scores(x0[None])))
        x = np.clip(x, 0, 1).astype(np.float32)[None]
        alerts = det.observe(QueryEvent("key:c", 2.0, x, _scores(x) * [[0.2, 1, 1]]))  # class 0 falls
        assert bool(alerts) == (name == "corner"), name


def test_one_amount_below_corner_min_is_no_corner(probs, digits):
    """Values moved up and down by one quantisation level (noise on an 8-bit image, +-1/255) are
    not a corner step: below ``corner_min``."""
    X, _ = digits
    x0 = X[1500:1501]
    rng = np.random.default_rng(3)
    x = np.clip(x0 + rng.choice([-1.0, 1.0], size=x0.shape) / 255, 0, 1).astype(np.float32)
    det = build("structured-search")
    det.observe(QueryEvent("key:q", 1.0, x0, probs(x0)))
    out = probs(x)
    out[0] = out[0][::-1]  # whatever the scores do
    assert det.observe(QueryEvent("key:q", 2.0, x, out)) == []


def test_a_window_search_under_per_query_noise_and_gain_jitter_is_still_caught(probs, digits):
    """Every query of the window search disguised with sensor noise (sigma 0.03) and a
    brightness/contrast jitter: no value is bit-identical any more, yet after the re-mapping
    is undone the re-sends are re-sends and each window a window. Caught on most of six images;
    the same disguise on a drifting video and a brightness/contrast optimiser stays silent."""
    X, _ = digits
    rng = np.random.default_rng(11)

    def disguise(x):
        return np.clip(x * rng.uniform(0.85, 1.15) + rng.uniform(-0.05, 0.05) + rng.normal(0, 0.03, x.shape), 0, 1)

    caught = 0
    for image in range(1560, 1566):
        det = build("structured-search")
        send = _one_key(det, probs)
        caught += _search(probs, X[image], _window, lambda x, send=send: send(disguise(x).astype(np.float32)),
                          budget=80) > 0
    assert caught >= 4, caught
    # a noisy, drifting video and a noisy optimiser of brightness/contrast: re-sends, no window
    det = build("structured-search")
    alerts = []
    for c, image in enumerate(range(1570, 1580)):
        x = X[image]
        for t in range(30):
            frame = np.roll(x, t // 10, axis=2) if c % 2 else (x - 0.5) * (1 + 0.03 * t) + 0.5 - 0.01 * t
            frame = disguise(frame).astype(np.float32)[None]
            alerts += det.observe(QueryEvent(f"key:b{c}", float(t), frame, probs(frame), count=t + 1))
    assert alerts == [], [a.message for a in alerts]


def test_a_window_over_a_third_of_the_input_is_read_under_noise():
    """Early in a Square search one window rewrites much of a small input, and a least-squares
    fit of the brightness/contrast re-mapping leans toward it, shifting every unchanged value's
    residual alike. The noise's width is read about the median residual, so the window is still
    seen as one window pushed one way (read about zero, the shift counted as noise: another
    input); and a re-send is still a re-send."""
    yy, xx = np.mgrid[0:16, 0:16] / 15.0
    base = (0.25 + 0.5 * xx * (1 - yy))[None].astype(np.float32)            # unclipped, smooth
    window = base.copy()
    window[:, 1:10, 2:11] += 0.3                                             # 81 of 256 values
    det = build("structured-search")
    det._allocate(base.shape)
    kept = det.grid.sample
    for seed in range(10):
        rng = np.random.default_rng(seed)

        def noisy(x, rng=rng):
            return (x * 1.05 - 0.02 + rng.normal(0, 0.02, x.shape)).astype(np.float32).reshape(-1)[kept]

        resend, local, _ = det._noisy(noisy(window), noisy(base)[None])
        assert local.tolist() == [True] and resend.tolist() == [False], seed
        resend, local, _ = det._noisy(noisy(base), noisy(base)[None])
        assert resend.tolist() == [True] and local.tolist() == [False], seed



def test_kept_cell_statistics_follow_the_ring_as_it_wraps(digits):
    """Each entry's mean and centred norm, kept for the cosine when it is added, are those of the
    cell sums now in its slot after the ring has wrapped; a flat query is like nothing."""
    X, _ = digits
    det = build("structured-search", index_size=256)
    rng = np.random.default_rng(3)
    out = np.full((1, 10), 0.1, np.float32)
    for t in range(600):
        x = np.clip(X[t % len(X)] + rng.normal(0, 0.05, X[0].shape), 0, 1).astype(np.float32)
        det.observe(QueryEvent(f"key:{t % 7}", float(t), x[None], out))
    centred = det.sums - det.sums.mean(axis=1, keepdims=True)
    assert np.array_equal(det.means, det.sums.mean(axis=1))
    assert np.allclose(det.norms, np.linalg.norm(centred, axis=1), rtol=1e-6)
    flat = np.full((1, *X[0].shape), 0.5, np.float32)
    assert det.observe(QueryEvent("key:flat", 700.0, flat, out)) == []
    hashes, sums = det.grid.summary(flat[0])
    picked = flat.reshape(-1)[det.grid.sample]
    latest = [det.next - 2, det.next - 3]  # digits sent before it
    assert det._base(hashes, sums, (sums - sums.mean(), 0.0), picked, [], latest) == (-1, _NEW)
