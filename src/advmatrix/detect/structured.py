"""Score-based black-box search told apart from benign edits by the shape of what changed
(AML.T0043.001, AML.T0043, AML.T0040).

A score-based search (Square, SimBA) builds each candidate from the best input so far with one
small, structured change: Square rewrites one axis-aligned window with values pushed one way by
the budget, SimBA-pixel changes one coordinate, SimBA-DCT adds one low-frequency basis vector.
Everything else is left bit-identical. What a benign client re-sends is edited densely and
continuously: a retry goes through JPEG or a resize, a video frame carries sensor noise, a
brightness/contrast tweak moves every pixel that is not clipped, in both directions around the
pivot. Consecutive Square candidates can differ as much as two different digits do, so cosine
near-duplicates miss them; the shape of the difference does not.

Each query is summarised on a coarse grid (at most ``grid`` x ``grid`` cells over its two spatial
axes, all channels together): per cell a hash of its raw bytes and the sum of its values. The
change from a *base* is read off the cells: which changed (their hashes differ), and whether it
is *local* (its bounding box leaves part of every axis untouched, it goes one way, and its cells
moved by at least ``min_change``) or a *basis-vector step* (one low-frequency 2-D cosine, not the
constant, explains ``spectral`` of it wherever the query is not clipped). A *corner step* is read
off ``corner_values`` values kept per query at fixed positions: every value that moved and is not
clipped moved by one amount, some up and some down, so the query sits on a corner of the L-inf
ball around its base. That is where an L-inf search puts its candidates (Square's start, a sign
gradient step, HopSkipJump's L-inf projection); noise, compression and resizing move each value
by its own amount, a brightness shift moves all one way. It counts ``corner_probes`` (2): alone
enough, so that a Square session won by its first query past the start is still seen. Candidate bases are the
client's latest ``recent`` queries and the queries, any client's, that share a band of cells with
it bit for bit (a sparse change leaves most bands as they were, so the base is found whoever
sent it: an attacker that rotates keys or addresses still edits the same input); the first kind
found wins (unchanged, corner, local, basis vector), the fewest changed cells among them.

A query that is unchanged or structured links to its base and continues the base's chain (a
search grows a tree of candidates around its best input; the chain counts the whole tree); any
other starts a chain. A chain keeps the label and log-margin it started with, its lowest
log-margin for that label and its structured changes. A structured query alerts when its chain
has ``probes`` structured changes, the chain's margin has fallen ``fall`` below where it started
(a flipped label counts: the margin goes negative), and at least ``min_share`` of the client's
latest edits were structured (an edit: a query like an input before it, ``edit_cosine``; a new
input is none, so cover queries a search is interleaved with do not dilute the share; a search
builds nearly every edit so; a brightness/contrast
optimiser, whose candidates now and then differ by a local shift, builds few, and it raises its
margin). Not told apart: an application that sends a drawing canvas after each pen stroke while
its label changes (local, one-signed edits of one input).

A search that disguises every query with noise and a brightness/contrast jitter leaves no value
bit-identical. Against each candidate a query is then also read on its kept values once
``a * base + b`` is fitted and taken off: a re-send when nothing
stands out of the noise (then it is treated as unchanged, so a drifting video or an optimiser's
re-mappings are no edits), else a local change when the values that stand out (``min_change``
and four noise widths, the width measured about the median residual: the fit leans toward a
window that rewrote much of a small input) form one window pushed one way, else Square's
striped start (every column pushed up or down by one step, read by :mod:`._stripes`; it counts
as a corner step). Such a chain needs its margin to fall ``noisy_fall``.

State is bounded: one ring of ``index_size`` summaries shared by every client (``cells`` x 8
bytes and ``corner_values`` x 4 bytes each, 32 MiB at the defaults on inputs of 128 values or
more), a band table with at most
``bands`` entries per summary, the latest ``recent`` entry IDs of at most ``max_clients`` clients
and at most ``max_clients`` chains. The cost per query is one pass over its values plus work on
at most ``recent + bands`` candidates, whatever the history.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from pydantic import Field

from ..plugins import Context
from ._affine import fit_affine
from ._base import NUMERIC, Alert, Detector, DetectorParams, QueryEvent
from ._grid import Grid
from ._stripes import striped_step
from .boundary import log_margin


class StructuredParams(DetectorParams):
    """Defaults chosen on the tuning half of bench/robust_corpus.py (``robust_bench.py
    tune-structured``): the most attack sessions caught within 100 queries with no benign session
    alerted; ``min_change`` 0.15 over 0.1 (tied) because it alerted on fewer optimisers with the
    margin gate off (bench/RESULTS.md). ``min_change`` is in units of the input range: searches
    with steps smaller than that (an L-inf budget of 8/255 on a photo) are not local changes."""

    grid: int = Field(8, ge=2, le=32, description="cells per spatial axis of a query's summary")
    box: float = Field(0.875, gt=0, le=1, description="largest share of each axis of the grid that the changed "
                       "cells' bounding box may span for a local change")
    purity: float = Field(0.9, gt=0, le=1, description="|sum of the change| / sum of |change| at which a local "
                          "change goes one way")
    spectral: float = Field(0.95, gt=0, le=1, description="share of a change (where the query is not clipped) that "
                            "one low-frequency cosine basis vector must explain for a basis-vector step")
    affine: float = Field(0.9, gt=0, le=1, description="share of a basis-vector step that a brightness/contrast "
                          "re-mapping of its base (a * base + b) may explain; more, and it is such a re-mapping")
    corner: float = Field(0.9, gt=0, le=1, description="share of a corner step's changed, unclipped values that "
                          "must have moved by one common amount")
    corner_probes: int = Field(2, ge=1, description="structured changes a corner step counts for: one is as telling "
                               "as two local changes (nothing benign in the corpus made one)")
    corner_values: int = Field(128, ge=16, le=4096, description="values of each query (at fixed positions) kept to "
                               "read corner steps off")
    corner_min: float = Field(0.01, ge=0, description="smallest common amount of a corner step, as a share of "
                              "input_range (finer, and one quantisation level of noise would be one)")
    spectral_cells: float = Field(0.25, gt=0, le=1, description="least share of the cells a basis-vector step must "
                                  "change (and leave unclipped): fewer are explained by any basis vector")
    min_change: float = Field(0.15, ge=0, description="smallest mean |change| of a changed cell's sum, as a share of "
                              "input_range, for a local change")
    input_range: tuple[float, float] = (0.0, 1.0)
    probes: int = Field(2, ge=1, description="structured changes in a chain before it may alert")
    noisy_fall: float = Field(1.0, ge=0, description="fall of the margin a chain needs when some of its changes "
                              "were read under noise (tuning half: 0.5 and 1.0 caught as many, no benign alerted)")
    fall: float = Field(0.5, ge=0, description="fall of the chain's log-margin below its start before it may alert")
    recent: int = Field(8, ge=1, le=64, description="a client's latest queries always compared")
    edit_cosine: float = Field(0.9, gt=0, le=1, description="centred cosine (of the cell sums) to the nearest "
                               "candidate from which a query that is no structured change is an edit of an input "
                               "like it; below, a new input, left out of ``min_share``")
    near_cosine: float = Field(0.7, ge=-1, le=1, description="centred cosine (of the cell sums) to a candidate "
                               "below which the readings under noise and along a basis vector are not tried (each "
                               "keeps the picture: >= 0.77 for every such reading on the tuning half); a cost bound")
    stripe_noise: float = Field(0.1, gt=0, description="most noise (a robust standard deviation, as a share of "
                                "input_range) under which Square's striped start is read")
    stripe_lines: float = Field(0.75, gt=0, le=1, description="share of the lines that must have moved by the "
                                "striped start's one step, one way each")
    min_share: float = Field(0.5, ge=0, le=1, description="share of the client's latest edits (of those ``recent`` "
                             "queries) that must be structured")
    bands: int = Field(8, ge=1, le=64, description="bands of cells looked up bit for bit in the shared table")
    index_size: int = Field(1 << 15, ge=256, description="recent queries (any client's) held in the shared ring")
    realert_s: float = Field(3600.0, ge=0, description="quiet time before the same key alerts again")


#: what a query's change from its base is
# what a query is to its base: unchanged, a local change, a basis-vector step, a corner step,
# another edit (dense, of an input like it), a new input (like none of the candidates), a local
# change read under noise, or Square's striped start read under noise
_NIL, _LOCAL, _SPECTRAL, _OTHER, _NEW, _CORNER, _NOISY, _STRIPES = 0, 1, 2, 3, 4, 5, 6, 7
_STRUCTURED = (_LOCAL, _SPECTRAL, _CORNER, _NOISY, _STRIPES)


class _Chain:
    __slots__ = ("corners", "label", "low", "noisy", "probes", "start")

    def __init__(self, label: int, start: float) -> None:
        self.label, self.start, self.low, self.probes, self.corners, self.noisy = label, start, start, 0, 0, 0


def _affine_share(weight: np.ndarray, delta: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Per row of ``delta``, the share of its energy (over the cells ``weight`` marks) that
    a * base + b explains, by least squares."""
    a, b = fit_affine(base, delta, weight, flat=0.0)
    d = delta * weight
    sdd = (d * d).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sdd > 0, ((a[:, None] * base + b[:, None]) * d).sum(-1) / sdd, 1.0)


class StructuredSearch(Detector):
    """Alerts when a chain of queries (one key's or several) is built by small structured
    changes (one window pushed one way, one coordinate, one cosine basis vector; the rest bit
    for bit as before) while the victim's margin for the chain's first label falls. Needs the
    model's outputs in the replies (none: no opinion; with labels only, only a flipped label
    counts as a fall, and decision-based attacks are ``boundary-search``'s). False-positive
    budget: <= 1 % of benign sessions of each class in bench/RESULTS.md (natural use, retries
    with light edits, near-duplicate video frames, brightness/contrast optimisers, batch
    scoring); not budgeted, and likely to alert: an application that sends a drawing canvas
    after each stroke while its label changes."""

    name = "structured-search"
    modalities = NUMERIC  # it compares input values
    # alert only: two structured edits are little evidence, and an editor that erases or paints
    # a region of one image while its score falls looks the same (not in the benign corpus)
    response = {"action": "alert"}
    title = "Score-based black-box search (structured edits of one input)"
    technique_ids = ("AML.T0043.001", "AML.T0043", "AML.T0040")
    Params = StructuredParams

    def setup(self, context: Context) -> None:
        self.shape: tuple[int, ...] | None = None
        self.grid: Grid | None = None
        self.recent: OrderedDict[str, list[tuple[int, int]]] = OrderedDict()  # per client
        self.alerted: OrderedDict[str, float] = OrderedDict()     # per client, when it last alerted
        self.bands: dict[int, int] = {}                            # band key -> latest entry with it
        # per chain (by the entry it started from): its first label and log-margin, its lowest
        # margin for that label, its structured changes; a search grows a tree of candidates
        # around its best input, and the chain counts the whole tree
        self.chains: OrderedDict[int, _Chain] = OrderedDict()
        self.next = 0

    def _allocate(self, shape: tuple[int, ...]) -> None:
        p = self.params
        self.shape = shape
        g = self.grid = Grid(shape, p.grid, p.bands, p.corner_values, np.random.default_rng(0))
        n = p.index_size
        self.hashes = np.zeros((n, g.cells), np.uint32)
        self.sums = np.zeros((n, g.cells), np.float32)
        self.samples = np.zeros((n, len(g.sample)), np.float32)
        self.ids = np.full(n, -1, np.int64)
        self.keys = np.zeros((n, len(g.band_of)), np.int64)   # the band keys each entry holds (0: none)
        self.chain = np.zeros(n, np.int64)                     # the entry its chain started from
        self.means = np.zeros(n, np.float32)                   # its cell sums' mean
        self.norms = np.zeros(n, np.float32)                   # and their norm about it
        self.values = int(np.prod(shape))

    def state_size(self) -> int:
        """The larger of its tables of clients (latest entry IDs) and of chains, each bounded by
        ``max_clients``; the shared ring and band table are fixed in size (``index_size``)."""
        return max(len(self.recent), len(self.chains))

    def observe(self, event: QueryEvent) -> list[Alert]:
        if event.inputs is None or event.outputs is None or event.outputs.ndim != 2 or not event.n \
                or len(event.outputs) != event.n:
            return []
        shape = tuple(event.inputs.shape[1:])
        if self.grid is None:
            self._allocate(shape)
        elif shape != self.shape:
            return []
        p = self.params
        recent = self.recent.pop(event.client, None) or []
        self.recent[event.client] = recent  # its latest entries, each with its change's kind
        if len(self.recent) > p.max_clients:
            self.recent.popitem(last=False)
        alerts: list[Alert] = []
        for x, out in zip(event.inputs, event.outputs, strict=True):
            hashes, sums = self.grid.summary(x)
            picked = np.asarray(x, np.float32).reshape(-1)[self.grid.sample]
            keys = self.grid.band_keys(hashes)
            mean = sums.mean()
            centred = sums - mean
            norm = np.sqrt((centred * centred).sum())
            base, change = self._base(hashes, sums, (centred, norm), picked, keys, [e for e, _ in recent])
            entry, chain = self._add(hashes, sums, (mean, norm), picked, keys, base, change, out)
            recent.append((entry, change))
            if len(recent) > p.recent:
                del recent[0]
            fall = p.noisy_fall if chain.noisy else p.fall
            if change in _STRUCTURED and chain.probes >= p.probes and chain.start - chain.low >= fall \
                    and self._share(recent) >= p.min_share \
                    and event.time - self.alerted.get(event.client, -1e18) > p.realert_s:
                self.alerted[event.client] = event.time
                self.alerted.move_to_end(event.client)
                if len(self.alerted) > p.max_clients:
                    self.alerted.popitem(last=False)
                alerts.append(self._alert(event, chain))
        return alerts

    @staticmethod
    def _share(recent: list[tuple[int, int]]) -> float:
        """The share of a client's latest edits that were structured: a search builds nearly
        every query so; an optimiser whose candidates now and then differ by a local shift
        builds few."""
        edits = [kind for _, kind in recent if kind in (*_STRUCTURED, _OTHER)]
        return sum(kind in _STRUCTURED for kind in edits) / len(edits) if edits else 0.0

    def _base(self, hashes: np.ndarray, sums: np.ndarray, centred: tuple[np.ndarray, float], picked: np.ndarray,
              keys: list[int], recent: list[int]) -> tuple[int, int]:
        """The earlier entry this query is best read as an edit of, and what the change from it
        is (:data:`_NIL`, :data:`_CORNER`, :data:`_LOCAL`, :data:`_SPECTRAL` or :data:`_OTHER`, the first that any
        candidate gives; among those, the fewest changed cells); (-1, _NEW) when no candidate is
        like it (``edit_cosine``): a new input, which is no edit at all (cover queries a search
        is interleaved with must not count against its share of structured edits). ``centred``:
        the query's cell sums less their mean, and their norm."""
        p, g = self.params, self.grid
        bands = self.bands
        # sorted, as np.unique would give them (ties go to the oldest), at a fraction of its cost
        cand = np.array(sorted({*recent, *(bands[k] for k in keys if k in bands)}), np.int64)
        cand = cand[self.ids[cand % p.index_size] == cand] if len(cand) else cand
        if not len(cand):
            return -1, _NEW
        slots = cand % p.index_size
        mask = self.hashes[slots] != hashes                             # (m, cells)
        delta = np.where(mask, sums - self.sums[slots], 0.0)
        counts = mask.sum(axis=1)
        lo, hi = p.input_range
        scale = (hi - lo) * self.values / g.cells                       # a cell's sum over the input range
        # nothing changed, or the same input recomputed (float rounding): not an edit
        nil = (counts == 0) | (np.abs(delta).max(axis=1) <= 1e-5 * scale)
        if nil.any():
            return int(cand[int(np.argmin(np.where(nil, counts, g.cells + 1)))]), _NIL
        # centred cosine of the cell sums: brightness and contrast do not make an input new
        # each entry's mean and centred norm were kept when it was added (the same values
        # recomputing them per candidate gives, for a third of the cost); a flat input or
        # candidate (norm 0) is like nothing
        a, norm = centred
        b = self.sums[slots] - self.means[slots, None]
        den = self.norms[slots] * norm
        cos = np.divide(b @ a, den, out=np.zeros(len(slots), np.float32), where=den > 0)
        # the costlier readings only against candidates whose picture the query keeps
        near = cos >= p.near_cosine
        # a corner step first: the most telling, and a step along a cosine that happens to fit it
        # would count for less
        readings = ((_CORNER, lambda: self._corner(picked, self.samples[slots])),
                    (_LOCAL, lambda: self._local(mask, delta, counts, sums, scale)),
                    (_SPECTRAL, lambda: near & self._spectral(mask, delta, counts, sums, scale)
                     if near.any() else near))
        for kind, read in readings:
            hit = read()
            if hit.any():
                best = int(np.argmin(np.where(hit, counts, g.cells + 1)))
                return int(cand[best]), kind
        if near.any():
            # every value differs: a re-send or a local change under per-query noise and a
            # brightness/contrast jitter, read off the kept values after the re-mapping is undone
            close = np.flatnonzero(near)
            bases = self.samples[slots[close]]
            resend, local, changed = self._noisy(picked, bases)
            # a re-send of any candidate first: a drifting video frame re-sends the last one, and
            # only against an older frame leaves an edge that looks like a window
            if resend.any():
                return int(cand[close[int(np.argmax(resend))]]), _NIL
            if local.any():
                return int(cand[close[int(np.argmin(np.where(local, changed, 1 << 30)))]]), _NOISY
            striped = self._striped(picked, bases)
            if striped is not None:
                return int(cand[close[striped]]), _STRIPES
        return -1, _OTHER if cos.max() >= p.edit_cosine else _NEW

    def _local(self, mask: np.ndarray, delta: np.ndarray, counts: np.ndarray, sums: np.ndarray,
               scale: float) -> np.ndarray:
        """One window (or one coordinate) pushed one way, by a visible amount."""
        p, g = self.params, self.grid
        if p.box < 1 and g.cells > 1 and (counts == g.cells).all():
            # a window leaves cells as they were; under noise, or for a new input, every cell
            # changed (most queries), and the bounding box spans the grid
            return np.zeros(len(counts), bool)
        total = np.abs(delta).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            purity = np.abs(delta.sum(axis=1)) / total
            # per changed cell, not per value: one coordinate moved by a step in a cell of many
            # values is as visible as a whole window moved by it
            mean = total / counts
        hit = (purity >= p.purity) & (mean >= p.min_change * (p.input_range[1] - p.input_range[0]))
        # the bounding box last, and only where the rest holds: it is the costliest test
        return hit & (g.extent(mask, g.rc) <= p.box) if hit.any() else hit

    def _spectral(self, mask: np.ndarray, delta: np.ndarray, counts: np.ndarray, sums: np.ndarray,
                  scale: float) -> np.ndarray:
        """One low-frequency cosine basis vector (not the constant: a brightness shift) is the
        whole change, wherever the query is not clipped (clipping is the only thing that bends
        such a step)."""
        p, g = self.params, self.grid
        wide = counts >= p.spectral_cells * g.cells
        if not wide.any():
            return wide
        lo = p.input_range[0] * self.values / g.cells
        inside = ((sums > lo) & (sums < lo + scale)).astype(np.float64)
        if inside.sum() < p.spectral_cells * g.cells:
            return np.zeros(len(delta), bool)
        d = delta * inside
        fit = (d @ g.basis.T) ** 2 / np.maximum((d * d).sum(1, keepdims=True) * (inside @ g.basis_sq.T), 1e-30)
        # on a small unclipped area (a thin digit) a low cosine is nearly flat, and so is a
        # brightness/contrast re-mapping of it: a change that a * base + b explains is such a
        # re-mapping, whatever cosine it also fits
        step = wide & (fit.max(axis=1) >= p.spectral)
        return step & (_affine_share(inside, d, sums - delta) < p.affine) if step.any() else step

    def _corner(self, picked: np.ndarray, bases: np.ndarray) -> np.ndarray:
        """Every value moved by one amount, up or down, unless clipped: the query sits on a corner
        of the L-inf ball around its base, where sign-based searches (Square's start, sign
        gradient estimates, searches over the ball's vertices) put their candidates. Nothing
        benign moves values so: noise, compression and resizing move each by its own amount,
        brightness moves them all one way, contrast by an amount that follows the value."""
        p = self.params
        lo, hi = p.input_range
        width = hi - lo
        tol = 1e-3 * width  # a float32 or a decimal round trip of base + amount
        d = picked - bases                                                  # (m, values kept)
        size = np.abs(d)
        changed = size > tol
        free = changed & (picked > lo + tol) & (picked < hi - tol)         # not clipped
        n_free = free.sum(axis=1)
        ok = (changed.sum(axis=1) >= 0.25 * picked.size) & (n_free >= 8)
        if not ok.any():
            return ok
        # the smallest move of a free value: clipping only shortens moves, and it is not free
        amount = np.where(free, size, np.inf).min(axis=1)
        on = free & (np.abs(size - amount[:, None]) <= tol)
        ok &= (on.sum(axis=1) >= p.corner * n_free) & (amount >= p.corner_min * width)
        if not ok.any():  # most queries: the ways need not be counted
            return ok
        # both ways: one way by one amount is a brightness shift. Few values need to go against
        # the rest (a sparse image pushed down where it is background moves nowhere), and a
        # shift sends none
        up, down = (on & (d > 0)).sum(axis=1), (on & (d < 0)).sum(axis=1)
        return ok & (np.minimum(up, down) >= np.maximum(2, 0.05 * n_free))

    def _striped(self, picked: np.ndarray, bases: np.ndarray) -> int | None:
        """The first of ``bases`` the query is Square's striped start from under noise, if any.
        Tried only where the kept values of most lines moved one way (a cheap test that noise
        passes rarely and the striped start always)."""
        p, g = self.params, self.grid
        if not g.shared_lines.shape[1]:
            return None
        move = picked - bases
        sums = np.concatenate([move, np.abs(move)]) @ g.shared_lines  # one product for both
        across = sums[len(move):]
        pure = (np.abs(sums[:len(move)]) >= 0.8 * across) & (across > 0)
        maybe = np.flatnonzero(pure.sum(axis=1) >= p.stripe_lines * pure.shape[1])
        if not len(maybe):
            return None
        lo, hi = p.input_range
        hit = striped_step(picked, bases[maybe], g.lines, lo, hi, min_step=p.min_change * (hi - lo),
                           max_noise=p.stripe_noise * (hi - lo), lines_ok=p.stripe_lines)
        return int(maybe[np.argmax(hit)]) if hit.any() else None

    def _noisy(self, picked: np.ndarray, bases: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per base: whether the query is it re-sent, or it with one window pushed one way, once
        a brightness/contrast re-mapping (a * base + b, fitted, outliers trimmed) and noise well
        under ``min_change`` are taken off; and how many kept values changed."""
        p, g = self.params, self.grid
        lo, hi = p.input_range
        width = hi - lo
        x, y = bases.astype(np.float64), np.broadcast_to(picked.astype(np.float64), bases.shape)
        use = (y > lo) & (y < hi) & (x > lo) & (x < hi)  # clipped values follow no re-mapping
        limit = 0.5 * p.min_change * width  # the most noise a re-send or a window is read under
        for _ in range(2):
            a, b = fit_affine(x, y, use)
            r = np.where(use, y - a[:, None] * x - b[:, None], 0.0)
            # the noise's width: the median absolute deviation from the median residual. The
            # least-squares fit leans toward a window that rewrote much of a small input (early in
            # a search one can), shifting every unchanged value's residual alike; widths read about
            # zero would measure that shift. (Row sorts: nanmedian costs more.)
            rows, half = np.arange(len(x)), np.minimum(use.sum(axis=1) // 2, x.shape[1] - 1)
            centre = np.sort(np.where(use, r, np.inf), axis=1)[rows, half]
            centre = np.where(np.isfinite(centre), centre, 0.0)
            middle = np.sort(np.where(use, np.abs(r - centre[:, None]), np.inf), axis=1)[rows, half]
            noise = 1.4826 * np.where(np.isfinite(middle), middle, width)
            if (noise > 2 * limit).all():  # another input, not this one under noise: no refit can
                none = np.zeros(len(x), bool)  # take it under the limit (most queries end here)
                return none, none, np.zeros(len(x), np.int64)
            use = use & (np.abs(r - centre[:, None]) <= 3 * noise[:, None] + 1e-9)
        r = y - np.clip(a[:, None] * x + b[:, None], lo, hi)
        changed = np.abs(r) > np.maximum(4 * noise, p.min_change * width)[:, None]
        count = changed.sum(axis=1)
        quiet = (noise <= limit) & (np.abs(a - 1) <= 0.5)
        resend = quiet & (count == 0)
        moved = np.where(changed, r, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            purity = np.abs(moved.sum(axis=1)) / np.abs(moved).sum(axis=1)
        local = quiet & (count >= 2) & (g.extent(changed, g.sample_rc) <= p.box) & (np.nan_to_num(purity) >= p.purity)
        return resend, local, count

    def _add(self, hashes: np.ndarray, sums: np.ndarray, spread: tuple[float, float], picked: np.ndarray,
             keys: list[int], base: int, change: int, out: np.ndarray) -> tuple[int, _Chain]:
        p = self.params
        entry, slot = self.next, self.next % p.index_size
        self.next += 1
        old = self.ids[slot]
        if old >= 0:  # forget the overwritten entry's bands, unless a later entry took them
            for k in self.keys[slot]:
                if k and self.bands.get(int(k)) == old:
                    del self.bands[int(k)]
        chain = self.chains.pop(int(self.chain[base % p.index_size]), None) if base >= 0 else None
        if chain is None:
            root = entry
            label = int(out.argmax())
            chain = _Chain(label, log_margin(out, label))
        else:
            root = int(self.chain[base % p.index_size])
            chain.low = min(chain.low, log_margin(out, chain.label))
            chain.probes += p.corner_probes if change in (_CORNER, _STRIPES) else change != _NIL
            chain.corners += change in (_CORNER, _STRIPES)
            chain.noisy += change in (_NOISY, _STRIPES)
        self.chains[root] = chain
        if len(self.chains) > p.max_clients:
            self.chains.popitem(last=False)
        self.hashes[slot], self.sums[slot], self.ids[slot], self.chain[slot] = hashes, sums, entry, root
        self.samples[slot] = picked
        self.means[slot], self.norms[slot] = spread  # its cell sums' mean, and their norm about it
        self.keys[slot] = 0
        self.keys[slot, :len(keys)] = keys
        for k in keys:
            self.bands[k] = entry
        return entry, chain

    def _alert(self, event: QueryEvent, chain: _Chain) -> Alert:
        fell = chain.start - chain.low
        shape = "a window, a coordinate or a basis vector changed, the rest bit for bit as before"
        if chain.corners:
            shape = f"{chain.corners} onto a corner of the L-inf ball around it (every value up or down by one " \
                    f"amount); others: {shape}"
        message = (f"{chain.probes} structured edits of one input ({shape}) while its margin fell by {fell:.1f}: "
                   f"score-based black-box search")
        return self.alert(event, "high", message, probes=chain.probes, corner_steps=chain.corners,
                          margin_fall=round(fell, 2), keys=[event.client])
