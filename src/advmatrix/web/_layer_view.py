"""A Navigator layer as the matrix page draws it: a colour, score and comment per cell (one cell
per technique and tactic), a legend, and a numbered colour scale."""

from __future__ import annotations

from typing import Any

from ..kb import Matrix
from ..kb._ids import tactic_shortname
from ..kb.layer import Layer, gradient
from ..report.svg import cell_colours

#: the whole technique, every tactic it is listed under (an entry without a ``tactic``)
ALL_TACTICS = "*"


def tactic_keys(matrix: Matrix) -> dict[str, str]:
    """Every spelling of a tactic a layer may carry, to the shortname the page uses: the shortname,
    its older ``ml-`` form (ATLAS renamed "ML Model Access" to "AI Model Access") and the tactic ID."""
    out: dict[str, str] = {}
    for tactic in matrix.tactics:
        short = tactic_shortname(tactic.name)
        out[short] = out[tactic.id.lower()] = short
        if short.startswith("ai-"):
            out["ml-" + short[3:]] = short
    return out


def cells(matrix: Matrix, layer: Layer) -> dict[str, dict[str, dict[str, Any]]]:
    """Per technique, per tactic shortname (or :data:`ALL_TACTICS`), the colour, score and comment
    of that cell, as the ATT&CK Navigator reads an entry's ``tactic``: an entry naming a tactic
    colours only that tactic's cell, one without colours every cell of the technique."""
    known = {t.id for t in matrix.techniques}
    keys = tactic_keys(matrix)
    colour_of = gradient(layer.gradient.colors, layer.gradient.minValue, layer.gradient.maxValue)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for t in layer.techniques:
        if not t.enabled or t.techniqueID not in known or (not t.color and t.score is None):
            continue
        tactic = ALL_TACTICS if not t.tactic else keys.get(t.tactic.strip().lower())
        if tactic is None:
            continue  # a tactic this matrix does not have: no cell to colour
        cell = {"color": t.color or colour_of(t.score), "score": t.score, "comment": t.comment}
        out.setdefault(t.techniqueID, {}).setdefault(tactic, cell)
    return out


def scale(layer: Layer) -> list[dict[str, Any]]:
    """The gradient as numbered stops, at least three (low, middle, high), so a reader can tell a
    score from its colour."""
    g = layer.gradient
    colour_of = gradient(g.colors, g.minValue, g.maxValue)
    n = max(len(g.colors), 3)
    values = [g.minValue + (g.maxValue - g.minValue) * i / (n - 1) for i in range(n)]
    return [{"value": _number(v), "color": colour_of(v)} for v in values]


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def view(matrix: Matrix, layer: Layer) -> dict[str, Any]:
    """What the matrix page needs to draw ``layer``."""
    colours = cell_colours(layer)
    known = {t.id for t in matrix.techniques}
    return {"name": layer.name, "description": layer.description,
            "colours": {k: v for k, v in colours.items() if k in known},
            "scores": {k: v for k, v in layer.scores().items() if k in known},
            "comments": {t.techniqueID: t.comment for t in layer.techniques if t.comment and t.techniqueID in known},
            "cells": cells(matrix, layer),
            "unknown": sorted({t.techniqueID for t in layer.techniques} - known),
            "legend": [{"label": i.label, "color": i.color} for i in layer.legendItems],
            "scale": scale(layer) if any(t.score is not None for t in layer.techniques) else [],
            "gradient": layer.gradient.model_dump()}
