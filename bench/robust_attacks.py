"""Attack sessions for the issue-14 corpus (bench/robust_corpus.py builds the corpus from them).

Each attack talks to the victim through a ``Spy`` that records every request (one call of the
attack's predict is one request, whatever its size) and the query at which the attacker first
held what it wanted. Evasion succeeds at the first sample the victim labels differently from the
true label within L-inf 0.3 of the original, for every evasion class alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

EPS = 0.3     # the L-inf budget that defines success for every evasion class
CAP = 1000    # queries per session; the first few hundred are what detection is judged on
ROTATE_KEYS = 100
LABEL_ONLY = ("hopskipjump", "boundary", "signopt")  # decision-based: the attack is given labels only


@dataclass
class Request:
    """One call to the classifier: who sent it and the samples in it."""

    key: str
    address: str
    inputs: np.ndarray  # (n, 1, 8, 8) float32 in [0, 1]


@dataclass
class Session:
    """One client's (or one attacker's) requests in the order sent, with the ground truth."""

    kind: str
    attack: bool
    requests: list[Request]
    success_at: int | None  # samples sent (cumulative) when the attack had succeeded; None if benign or never
    seed: int


class _Stop(Exception):
    """The session's query cap is reached; unwinds the attack from inside its predict call."""


def new_key(rng: np.random.Generator) -> str:
    """A fresh API key: random, so that its name links it to nothing."""
    return "ak_" + rng.bytes(8).hex()


def new_address(rng: np.random.Generator, net: str | None = None) -> str:
    """A public-looking IPv4 address, inside ``net`` (``"a.b.c"``, a /24) when given."""
    if net is None:
        # first octets outside private, loopback, multicast and shared ranges
        first = int(rng.choice([n for n in range(1, 224) if n not in (10, 100, 127, 169, 172, 192)]))
        net = f"{first}.{rng.integers(0, 256)}.{rng.integers(0, 256)}"
    return f"{net}.{rng.integers(1, 255)}"


Route = Callable[[int, int], tuple[str, str]]  # (samples sent so far, requests so far) -> (key, address)


def fixed(key: str, address: str) -> Route:
    """Every request from one key at one address."""
    return lambda _sent, _n: (key, address)


class Spy:
    """The victim as an attacker reaches it: records requests and judges evasion success."""

    def __init__(self, probs: Callable[[np.ndarray], np.ndarray], route: Route, cap: int = CAP):
        self.probs, self.route, self.cap = probs, route, cap
        self.requests: list[Request] = []
        self.sent = 0
        self.success_at: int | None = None
        self.x0: np.ndarray | None = None
        self.y0: int | None = None

    def aim(self, x0: np.ndarray, y0: int) -> None:
        """The image now under attack and its true label."""
        self.x0, self.y0 = x0.astype(np.float32), int(y0)

    def __call__(self, batch: np.ndarray, clean: np.ndarray | None = None, judge: bool = True) -> np.ndarray:
        """Send ``batch`` as one request. ``clean`` is the attack's own candidate when what is sent
        has been disguised (the distance budget applies to it); ``judge=False`` for cover traffic."""
        batch = np.clip(np.asarray(batch, np.float32).reshape(-1, 1, 8, 8), 0, 1)
        key, address = self.route(self.sent, len(self.requests))
        self.requests.append(Request(key, address, batch.copy()))
        out = self.probs(batch)
        if judge and self.x0 is not None and self.success_at is None:
            ref = batch if clean is None else np.asarray(clean, np.float32).reshape(batch.shape)
            dist = np.abs(ref - self.x0).reshape(len(batch), -1).max(1)
            hit = (out.argmax(1) != self.y0) & (dist <= EPS + 1e-5)
            if hit.any():
                self.success_at = self.sent + int(np.argmax(hit)) + 1
        self.sent += len(batch)
        if self.sent >= self.cap:
            raise _Stop
        return out


def _classifier(predict: Callable[[np.ndarray], np.ndarray]):
    from art.estimators.classification import BlackBoxClassifierNeuralNetwork

    class Remote(BlackBoxClassifierNeuralNetwork):  # the NeuralNetwork flavour: Square and SimBA require it
        # ART splits predict into batch_size chunks; the remote API sees the attack's whole call
        def predict(self, x, batch_size=128, **kwargs):
            return self._predict_fn(x)

    return Remote(predict, (1, 8, 8), 10, clip_values=(0.0, 1.0))


def _labels_only(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    # decision-based attacks are given what a label-only API returns
    return lambda b: np.eye(10, dtype=np.float32)[fn(b).argmax(1)]


def _attack(name: str, clf, rng: np.random.Generator):
    from art.attacks.evasion import BoundaryAttack, HopSkipJump, SignOPTAttack, SimBA, SquareAttack, ZooAttack

    if name == "hopskipjump":
        norm = [2, np.inf][int(rng.integers(2))]
        return HopSkipJump(clf, targeted=False, norm=norm, max_iter=20, max_eval=100, init_eval=20, init_size=50,
                           batch_size=100, verbose=False)
    if name == "boundary":
        return BoundaryAttack(clf, targeted=False, max_iter=100, num_trial=5, sample_size=10, init_size=50,
                              delta=0.05, epsilon=0.05, verbose=False)
    if name == "square":
        return SquareAttack(clf, norm=np.inf, eps=EPS, max_iter=CAP, nb_restarts=1, verbose=False)
    if name == "simba":
        method = ["px", "dct"][int(rng.integers(2))]
        return SimBA(clf, attack=method, max_iter=CAP, epsilon=0.2, freq_dim=4, verbose=False)
    # not in the corpus (bench/robust_spot.py runs them on fresh sessions): the other two
    # plain attacks, a label-only one and a score-based one with coordinate-wise gradient estimates
    if name == "signopt":
        return SignOPTAttack(clf, targeted=False, epsilon=0.001, num_trial=20, max_iter=50, query_limit=CAP, k=50,
                             batch_size=1, verbose=False)
    if name == "zoo":
        return ZooAttack(clf, confidence=0.0, targeted=False, learning_rate=0.1, max_iter=30, binary_search_steps=2,
                         initial_const=1.0, abort_early=True, use_resize=False, use_importance=False, nb_parallel=8,
                         batch_size=1, variable_h=0.2, verbose=False)
    if name == "zoo-default":  # ART's own step (1e-4) and rates: no visible change, slow progress
        return ZooAttack(clf, use_resize=False, use_importance=False, nb_parallel=32, max_iter=20, verbose=False)
    raise ValueError(name)


def _generate(name: str, predict: Callable[[np.ndarray], np.ndarray], spy: Spy, x0: np.ndarray, y0: int,
              rng: np.random.Generator) -> None:
    spy.aim(x0, y0)
    if name in LABEL_ONLY:
        predict = _labels_only(predict)
    attack = _attack(name, _classifier(predict), rng)
    seed = int(rng.integers(1 << 31))
    np.random.seed(seed)  # ART draws from numpy's global generator...
    unseeded = np.random.RandomState

    class Seeded(unseeded):
        # ...except HopSkipJump's and Boundary's starting points, from an unseeded RandomState():
        # seed it, or the cached corpus could not be regenerated as it was
        def __init__(self, s=None):
            super().__init__(seed if s is None else s)

    np.random.RandomState = Seeded
    try:
        attack.generate(x0[None], y=np.eye(10, dtype=np.float32)[[y0]])
    except _Stop:
        pass
    finally:
        np.random.RandomState = unseeded


def evasion(name: str, probs, x: np.ndarray, y: np.ndarray, seed: int) -> Session:
    """One image attacked by ART's ``name`` from one key at one address."""
    rng = np.random.default_rng(seed)
    spy = Spy(probs, fixed(new_key(rng), new_address(rng)))
    i = int(rng.integers(len(x)))
    _generate(name, spy, spy, x[i], int(y[i]), rng)
    return Session(name, True, spy.requests, spy.success_at, seed)


def square_noise(probs, x: np.ndarray, y: np.ndarray, seed: int) -> Session:
    """Square whose every sample is disguised with sensor-like noise and brightness/contrast jitter."""
    rng = np.random.default_rng(seed)
    spy = Spy(probs, fixed(new_key(rng), new_address(rng)))
    sigma = float(rng.uniform(0.02, 0.05))

    def disguised(b):
        b = np.asarray(b, np.float32)
        gain = rng.uniform(0.85, 1.15, (len(b), 1, 1, 1))
        offset = rng.uniform(-0.05, 0.05, (len(b), 1, 1, 1))
        return spy(b * gain + offset + rng.normal(0, sigma, b.shape), clean=b)

    i = int(rng.integers(len(x)))
    _generate("square", disguised, spy, x[i], int(y[i]), rng)
    return Session("square-noise", True, spy.requests, spy.success_at, seed)


def interleaved(probs, x: np.ndarray, y: np.ndarray, natural: np.ndarray, seed: int) -> Session:
    """Square or HopSkipJump with about three natural digits sent after every attack request."""
    rng = np.random.default_rng(seed)
    spy = Spy(probs, fixed(new_key(rng), new_address(rng)))
    name = ["square", "hopskipjump"][seed % 2]

    def covered(b):
        out = spy(b)
        for _ in range(int(rng.integers(2, 5))):
            spy(natural[rng.integers(len(natural))][None], judge=False)
        return out

    i = int(rng.integers(len(x)))
    _generate(name, covered, spy, x[i], int(y[i]), rng)
    return Session("interleaved", True, spy.requests, spy.success_at, seed)


def rotating(probs, x: np.ndarray, y: np.ndarray, seed: int, botnet: bool = False) -> Session:
    """One attacker over at least 100 keys, attacking image after image until it has used them.

    ``rotating-keys``: HopSkipJump with a new key per request, or Square with a new key every 15
    queries; half the sessions from one address, half from one /24. ``rotating-botnet``: a new key
    and a new address anywhere per request. ``success_at`` is the first image broken."""
    rng = np.random.default_rng(seed)
    name = ["hopskipjump", "square"][seed % 2]
    net = None if botnet else new_address(rng).rsplit(".", 1)[0]
    one_address = not botnet and (seed // 2) % 2 == 0
    home = new_address(rng, net)
    keys: dict[int, tuple[str, str]] = {}

    def route(sent: int, n: int) -> tuple[str, str]:
        slot = n if botnet or name == "hopskipjump" else sent // 15
        if slot not in keys:
            keys[slot] = (new_key(rng), home if one_address else new_address(rng, net))
        return keys[slot]

    # Square breaks a digit in ~15 queries: 100 keys at 15 queries each needs 1,500
    spy = Spy(probs, route, cap=CAP if name == "hopskipjump" else 15 * ROTATE_KEYS + 15)
    for i in rng.permutation(len(x)):
        if len(keys) >= ROTATE_KEYS or spy.sent >= spy.cap:
            break
        try:
            _generate(name, spy, spy, x[i], int(y[i]), rng)
        except _Stop:
            break
        if spy.sent >= spy.cap:
            break
    return Session("rotating-botnet" if botnet else "rotating-keys", True, spy.requests, spy.success_at, seed)


def extraction_natural(probs, natural: np.ndarray, seed: int, total: int = 400) -> Session:
    """Natural digits sent to label a surrogate: KnockoffNets-style random batches of 1-16 (even
    seeds) or CopycatCNN-style fixed batches through the shuffled pool (odd seeds).

    ``success_at`` is 100: where an MLP surrogate on such answers reaches ~92 % fidelity (RESULTS.md)."""
    rng = np.random.default_rng(seed)
    spy = Spy(probs, fixed(new_key(rng), new_address(rng)), cap=total + 1)
    order = np.concatenate([rng.permutation(len(natural)) for _ in range(-(-total // len(natural)))])[:total]
    size = int(rng.choice([4, 8, 16]))
    at = 0
    while at < total:
        n = int(rng.integers(1, 17)) if seed % 2 == 0 else size
        spy(natural[order[at:at + n]])
        at += n
    return Session("extraction-natural", True, spy.requests, 100, seed)


def extraction_synthetic(probs, natural: np.ndarray, seed: int, total: int = 300) -> Session:
    """Jacobian-based dataset augmentation (Papernot et al.): 20 natural seeds, then rounds that
    step every labelled point along the sign of a logistic surrogate's gradient for its label."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    spy = Spy(probs, fixed(new_key(rng), new_address(rng)), cap=total + 1)
    xs = natural[rng.choice(len(natural), 20, replace=False)].reshape(20, -1)
    known_x = np.zeros((0, 64), np.float32)
    known_y = np.zeros(0, int)
    step = 0.1
    rounds = 0
    while len(known_x) < total:
        xs = xs[: total - len(known_x)]
        for at in range(0, len(xs), 16):
            part = xs[at:at + 16]
            known_y = np.concatenate([known_y, spy(part).argmax(1)])
        known_x = np.concatenate([known_x, xs]).astype(np.float32)
        if len(np.unique(known_y)) < 2:
            xs = np.clip(known_x + rng.normal(0, 0.05, known_x.shape), 0, 1)
            continue
        sur = LogisticRegression(max_iter=300).fit(known_x, known_y)
        p = sur.predict_proba(known_x)
        w = sur.coef_ if len(sur.classes_) > 2 else np.vstack([-sur.coef_, sur.coef_])
        cls = np.searchsorted(sur.classes_, known_y)
        grad = w[cls] - p @ w  # d log p(label) / dx for a softmax over linear scores
        rounds += 1
        # the periodic step size of the paper: alternate directions so points do not run off
        sign = 1 if rounds % 2 else -1
        xs = np.clip(known_x + sign * step * np.sign(grad), 0, 1).astype(np.float32)
    return Session("extraction-synthetic", True, spy.requests, total, seed)
