"""Random-noise images sent as queries: where decision-based searches start (AML.T0043.001,
AML.T0043), and how an API's classes are found out (AML.T0013).

A decision-based attack needs a point that already carries another label before it can search
toward the input it wants to change. The Boundary attack and HopSkipJump (ART's, Foolbox's and
the papers' own code), and many label-only attacks after them, draw that point as uniform random
noise and query candidates until one is labelled differently; for a ten-class model the first
or second usually is. No camera, scanner or renderer sends such an image: in a picture of
anything, neighbouring pixels are alike, while in a noise image they are unrelated. The
detector measures, per query, the correlation between each value and its right and lower
neighbours (over the two spatial axes, every channel; mean taken off); a query whose
correlation is near zero while its values spread over a good part of the input range is a
*noise probe*, and ``probes`` of them from one key or one address within ``window_s`` alert;
so do ``all_probes`` from several keys wherever they come from (scope "all clients"): no benign
client sends noise, so a search that takes a new key and address for every request is seen too.
Probing an API with random inputs to see which classes come back (discovering its ontology)
sends the same images and is named too.

Inputs that are not images (vectors, tables, text) have no neighbours to compare and get no
opinion; neither do images smaller than 4 x 4. A dark, noisy frame is left alone by the spread
test (its values stay near black), and so is a flat one; a drawing, a scan or a thin digit at
low resolution, whose strokes may correlate little, is mostly background at one level, which
noise never is (``max_plateau``).

State: per key and per address (and for everyone) the times of its latest noise probes (at
most ``probes``, ``all_probes``), for at most ``max_clients`` of them. A query costs one pass
over at most ``rows`` rows and columns of it, whatever its size.
"""

from __future__ import annotations

from collections import OrderedDict, deque

import numpy as np
from pydantic import Field, field_validator

from ..plugins import Context
from ._base import Alert, Detector, DetectorParams, QueryEvent
from ._grid import spatial_axes


class NoiseParams(DetectorParams):
    """Defaults chosen on the tuning half of bench/robust_corpus.py (bench/RESULTS.md): among
    the settings that caught every Boundary session within 100 queries inside the default set
    with no benign session alerted, the one asking for the most evidence (two probes; |correlation|
    0.15, tied with 0.2 there; at 0.2 one brightness/contrast optimiser on the thin, one-pixel
    strokes of an 8 x 8 digit of the third split alerted)."""

    max_correlation: float = Field(0.15, gt=0, lt=1, description="largest |correlation| of neighbouring values at "
                                   "which a query is a noise probe")
    min_spread: float = Field(0.1, ge=0, description="least standard deviation of a noise probe's values, as a "
                              "share of input_range (a dark frame's sensor noise spreads far less)")
    max_plateau: float = Field(0.5, gt=0, le=1, description="largest share of a noise probe's values at its "
                               "lowest or highest value (a drawing or a scan is mostly background at one level)")
    input_range: tuple[float, float] = Field((0.0, 1.0), description="the scale of the model's inputs (e.g. "
                                             "[0, 255] for raw pixels): min_spread is a share of it")
    probes: int = Field(2, ge=1, description="noise probes from one key or address within window_s before it alerts")
    all_probes: int = Field(4, ge=0, description="noise probes from several keys, any address, within window_s "
                            "before the scope 'all clients' alerts, naming the keys (0: off)")
    window_s: float = Field(600.0, gt=0, description="how long a noise probe counts")
    rows: int = Field(16, ge=2, le=1024, description="rows and columns of a large image read (evenly spaced): "
                      "16 of a 224 x 224 x 3 image give ~10,000 pairs of neighbours")
    realert_s: float = Field(3600.0, ge=0, description="quiet time before the same key or address alerts again")

    @field_validator("input_range")
    @classmethod
    def _range(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not value[0] < value[1]:
            raise ValueError("must be [low, high] with low < high")
        return value


class _Scope:
    __slots__ = ("alerted", "probes")

    def __init__(self) -> None:
        self.probes: deque[tuple[float, str]] = deque()  # (time, client) of its latest noise probes
        self.alerted = -1e18


def _spatial(shape: tuple[int, ...]) -> tuple[int, int] | None:
    """The two spatial axes of one input of ``shape``, or None when it is no image of at least
    4 x 4."""
    axes = spatial_axes(shape)
    return axes if axes is not None and min(shape[axes[0]], shape[axes[1]]) >= 4 else None


def neighbour_correlation(x: np.ndarray, axes: tuple[int, int], rows: int = 16) -> tuple[float, float]:
    """(correlation of each value with its next neighbour along either spatial axis, standard
    deviation) of one image ``x``, its mean taken off; at most ``rows`` evenly spaced lines are
    read along each axis, so the cost is bounded whatever the size."""
    corr, std = _correlations(np.asarray(x)[None], tuple(a + 1 for a in axes), rows)
    return float(corr[0]), float(std[0])


def _correlations(batch: np.ndarray, axes: tuple[int, int], rows: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`neighbour_correlation` of every image of ``batch`` (``axes`` counted with the
    batch axis), in one pass; a flat image's correlation is 1. On a large image the mean, the
    spread and the neighbours are those of the lines read. (Few whole-array NumPy calls: it
    runs on every query the gateway sees.)"""
    img = np.asarray(batch, np.float32)
    if axes != (img.ndim - 2, img.ndim - 1):
        img = np.moveaxis(img, axes, (-2, -1))
    n, (h, w) = len(img), img.shape[-2:]
    img = img.reshape(n, -1, h, w)
    if h <= rows and w <= rows:
        flat = img.reshape(n, -1)
        z = (flat - flat.sum(axis=1, keepdims=True) / flat.shape[1]).reshape(img.shape)  # np.mean's value, cheaper
        across = down = z
        den = 2 * np.einsum("ij,ij->i", z.reshape(n, -1), z.reshape(n, -1)) / flat.shape[1]
    else:
        across = img[:, :, np.linspace(0, h - 1, min(h, rows)).astype(int), :]  # neighbours along a row
        down = img[..., np.linspace(0, w - 1, min(w, rows)).astype(int)]        # and down a column
        mu = ((across.mean(axis=(1, 2, 3)) + down.mean(axis=(1, 2, 3))) / 2)[:, None, None, None]
        across, down = across - mu, down - mu
        den = (across * across).mean(axis=(1, 2, 3)) + (down * down).mean(axis=(1, 2, 3))
    num = np.einsum("nchw,nchw->n", across[..., 1:], across[..., :-1]) / (across[0, ..., 1:].size or 1) \
        + np.einsum("nchw,nchw->n", down[..., 1:, :], down[..., :-1, :]) / (down[0, ..., 1:, :].size or 1)
    return np.divide(num, den, out=np.ones(n, np.float32), where=den > 0), np.sqrt(den / 2)


class NoiseProbe(Detector):
    """Alerts when one key or address sends ``probes`` random-noise images (neighbouring values
    uncorrelated, spread over the input range) within ``window_s``: the random starting points
    of decision-based searches (Boundary, HopSkipJump). Needs image-shaped inputs; no outputs.
    False-positive budget: <= 1 % of benign sessions of each class in bench/RESULTS.md (none of
    them sends noise); not budgeted, and likely to alert: a health check or a fuzzing job that
    sends random images from one key."""

    name = "noise-probe"
    # alert only: a fuzzing job or a health check that sends noise images looks the same
    response = {"action": "alert"}
    title = "Random-noise images queried (the start of a decision-based search)"
    technique_ids = ("AML.T0043.001", "AML.T0043", "AML.T0013")
    Params = NoiseParams
    #: The input modalities it reads (a threat model offers it only for models that take them).
    modalities = ("image",)

    def setup(self, context: Context) -> None:
        self.scopes: OrderedDict[str, _Scope] = OrderedDict()
        self.shape: tuple[int, ...] | None = None
        self.axes: tuple[int, int] | None = None

    def state_size(self) -> int:
        """Keys and addresses that sent a noise probe lately (at most ``max_clients``)."""
        return len(self.scopes)

    def observe(self, event: QueryEvent) -> list[Alert]:
        if event.inputs is None or not event.n:
            return []
        shape = tuple(event.inputs.shape[1:])
        if shape != self.shape:
            self.shape, self.axes = shape, _spatial(shape)
        if self.axes is None:
            return []
        p = self.params
        width = p.input_range[1] - p.input_range[0]
        corr, std = _correlations(event.inputs, tuple(a + 1 for a in self.axes), p.rows)
        probe = (np.abs(corr) <= p.max_correlation) & (std >= p.min_spread * width)
        if not probe.any():
            return []
        # a drawing, a scan, a thin digit at low resolution: mostly background at one level, whose
        # strokes may correlate little at this size; noise has no such plateau (checked only for
        # the rare queries that got this far)
        flat = np.asarray(event.inputs[probe], np.float32).reshape(int(probe.sum()), -1)
        plateau = ((flat == flat.min(axis=1, keepdims=True)).mean(axis=1)
                   + (flat == flat.max(axis=1, keepdims=True)).mean(axis=1))
        found = int((plateau <= p.max_plateau).sum())
        if not found:
            return []
        scopes = [(event.client, p.probes)]
        if event.address and event.client.startswith("key:"):
            scopes.append((f"address {event.address}", p.probes))
        if p.all_probes:
            # no benign client sends noise: several keys doing so at once, wherever from, is one
            # search spread over them (a new key and address per request hides in no other scope)
            scopes.append(("all clients", p.all_probes))
        alerts: list[Alert] = []
        for name, limit in scopes:
            scope = self.scopes.pop(name, None) or _Scope()
            self.scopes[name] = scope
            if len(self.scopes) > p.max_clients:
                self.scopes.popitem(last=False)
            scope.probes.extend([(event.time, event.client)] * found)
            while scope.probes and (scope.probes[0][0] <= event.time - p.window_s or len(scope.probes) > limit):
                scope.probes.popleft()
            keys = list(dict.fromkeys(client for _, client in scope.probes))
            # an address, or everyone, speaks for more than a key does only when the probes came
            # from several keys
            # every scope counts the probe; one alert per query is enough (the narrowest scope's)
            if not alerts and len(scope.probes) >= limit and (name == event.client or len(keys) > 1) \
                    and event.time - scope.alerted > p.realert_s:
                scope.alerted = event.time
                message = (f"{len(scope.probes)} random-noise images from {name} within {p.window_s:.0f} s "
                           "(neighbouring values uncorrelated): the random start of a decision-based search, or "
                           "a probe of which classes the model returns")
                alerts.append(self.alert(event, "high", message, probes=len(scope.probes), scope=name, keys=keys))
        return alerts
