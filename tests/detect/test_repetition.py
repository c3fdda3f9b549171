"""Benign repetition against the detectors that used to alarm on it (PRADA and
similarity-search on retries, video frames and brightness tuning), and key rotation seen from
the address the keys share."""

from __future__ import annotations

import numpy as np

from advmatrix.detect import QueryEvent, build


def _confident(n: int, label: int = 3) -> np.ndarray:
    out = np.full((n, 10), 0.001, dtype=np.float32)
    out[:, label] = 0.991
    return out


def test_prada_leaves_retries_and_brightness_tuning_out_of_its_test(digits):
    """Sixty inputs, each re-sent five times lightly changed: the tiny distances are repeats,
    not the synthetic probes whose distances PRADA tests (they once failed the test every time)."""
    X, _ = digits
    rng = np.random.default_rng(0)
    det = build("prada")
    alerts = []
    for i, x in enumerate(X[1000:1060]):
        for k in range(5):
            copy = np.clip(x * rng.uniform(0.95, 1.05) + rng.normal(0, 0.01, x.shape), 0, 1)[None]
            alerts += det.observe(QueryEvent("c", float(i), copy.astype(np.float32), _confident(1, i % 10),
                                             count=5 * i + k + 1))
    assert alerts == []
    assert len(det.clients.get("c").distances) < 150  # most of the 299 repeats never entered the test


def test_prada_still_catches_synthetic_extraction(cnn, digits):
    """The extraction procedure's synthetic (Jacobian-augmented) queries are still probes."""
    import torch

    from advmatrix.emulate import Dataset, get
    from advmatrix.targets import MockTarget, TargetInfo

    X, y = digits
    det = build("prada")
    state = {"n": 0, "alerts": []}

    def spy(batch):
        with torch.no_grad():
            out = torch.softmax(cnn(torch.from_numpy(np.asarray(batch, np.float32))), 1).numpy()
        for i in range(len(batch)):
            state["n"] += 1
            state["alerts"] += det.observe(QueryEvent("c", float(state["n"]), batch[i:i + 1], out[i:i + 1],
                                                      count=state["n"]))
        return out

    rng = np.random.default_rng(0)
    get("extraction")(checkpoints=[300], n_holdout=10, synthetic=True).run(
        MockTarget(spy, TargetInfo("digits", (1, 8, 8), tuple("0123456789"))),
        Dataset(x=X[1000:1010], y=y[1000:1010], x_pool=X[rng.choice(len(X), 400, replace=False)]), seed=0)
    assert state["alerts"] and state["alerts"][0].detector == "prada"


def test_similarity_search_counts_only_near_duplicates_that_move_the_answer(digits):
    X, _ = digits
    x = X[1200:1201]
    steady = build("similarity-search", near_duplicates=8)
    search = build("similarity-search", near_duplicates=8)
    blind = build("similarity-search", near_duplicates=8, moving=False)
    rng = np.random.default_rng(2)
    got = {"steady": [], "search": [], "blind": []}
    for k in range(40):
        copy = np.clip(x * (1 + 0.001 * rng.normal()), 0, 1).astype(np.float32)
        confident = _confident(1)
        falling = np.full((1, 10), 1e-7, dtype=np.float32)
        runner_up = 0.98 / (1 + np.exp(22 - 2 * k))  # the label's log-margin falls by 2 a query
        falling[0, 3], falling[0, 5] = 0.98 - runner_up, runner_up
        got["steady"] += steady.observe(QueryEvent("c", float(k), copy, confident, count=k + 1))
        got["search"] += search.observe(QueryEvent("c", float(k), copy, falling, count=k + 1))
        got["blind"] += blind.observe(QueryEvent("c", float(k), copy, confident, count=k + 1))
    assert got["steady"] == []           # a retrying app: same answer every time
    assert len(got["search"]) == 1       # the same inputs, driven toward the boundary
    assert len(got["blind"]) == 1        # the input-only behaviour is still there when asked for


def test_key_rotation_groups_new_keys_by_address_and_network_not_an_office():
    det = build("key-rotation", max_new_keys=5, network_new_keys=8)
    office = [det.observe(QueryEvent(f"key:staff{i % 4}", 1000.0 + i, None, address="198.51.100.20"))
              for i in range(400)]
    assert not any(office)  # four colleagues all day behind one NAT address
    alerts = [a for i in range(7) for a in det.observe(
        QueryEvent(f"key:burner{i}", 2000.0 + i, None, address="203.0.113.9"))]
    assert len(alerts) == 1 and alerts[0].evidence["scope"] == "address 203.0.113.9"
    assert alerts[0].evidence["keys"] == [f"key:burner{i}" for i in range(6)]
    spread = [a for i in range(12) for a in det.observe(
        QueryEvent(f"key:spread{i}", 3000.0 + i, None, address=f"192.0.2.{i + 1}"))]
    assert [a.evidence["scope"] for a in spread] == ["network 192.0.2.0/24"]
    late = det.observe(QueryEvent("key:later", 3000.0 + 2 * 600, None, address="192.0.2.99"))
    assert late == []  # the window has moved on


def test_key_rotation_bounds_what_it_remembers():
    det = build("key-rotation", max_clients=50)
    for i in range(1000):
        det.observe(QueryEvent(f"key:k{i}", float(i), None, address=f"10.{i // 250}.{i % 250}.1"))
    assert det.state_size() <= 50


def test_prada_rings_hold_exactly_the_last_queries_while_they_grow():
    """Rings start small and double: every size on the way must still hold the latest queries."""
    from advmatrix.detect.extraction import _Ring

    xs = np.random.default_rng(3).random((100, 4)).astype(np.float32)
    for size in (5, 8, 20, 37):
        ring = _Ring(size, 4)
        for i, x in enumerate(xs):
            ring.add(x)
            held = sorted(map(tuple, ring.data[: ring.n]))
            assert held == sorted(map(tuple, xs[max(0, i + 1 - size): i + 1])), (size, i)
