"""The matrix as an SVG heatmap: tactic columns, technique cells coloured by score."""

from __future__ import annotations

from html import escape
from typing import Any

CELL_W, CELL_H, GAP, HEAD_H = 150, 28, 4, 36


def cell_colours(layer: Any) -> dict[str, str]:
    """Colour per technique ID: the layer's explicit colour, else the gradient at its score."""
    from ..kb.layer import gradient

    colour = gradient(layer.gradient.colors, layer.gradient.minValue, layer.gradient.maxValue)
    out: dict[str, str] = {}
    for t in layer.techniques:
        if not t.enabled:
            continue
        if t.color:
            out[t.techniqueID] = t.color
        elif t.score is not None:
            out.setdefault(t.techniqueID, colour(t.score))
    return out


def matrix_svg(matrix: Any, layer: Any) -> str:
    """The matrix as a standalone SVG heatmap of ``layer`` (what the navigator downloads). A
    sub-technique the layer scores or colours gets a row of its own under its parent, indented
    (drawing all of them would make the picture four times as tall for nothing)."""
    colours = cell_colours(layer)
    columns = [(tactic, _rows(techniques, colours)) for tactic, techniques in matrix.columns()]
    height = HEAD_H + max((len(c) for _, c in columns), default=0) * (CELL_H + GAP) + 60
    width = len(columns) * (CELL_W + GAP) + GAP
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="10">',
             f'<text x="{GAP}" y="14" font-size="13" font-weight="bold">{escape(layer.name)}</text>']
    for col, (tactic, rows) in enumerate(columns):
        x = GAP + col * (CELL_W + GAP)
        parts.append(f'<rect x="{x}" y="20" width="{CELL_W}" height="{HEAD_H - 6}" fill="#333"/>'
                     f'<text x="{x + 4}" y="{20 + 18}" fill="#fff" font-weight="bold">{escape(tactic.name)}</text>')
        for row, (tech, depth) in enumerate(rows):
            y = HEAD_H + 14 + row * (CELL_H + GAP)
            indent = 12 * depth
            fill = colours.get(tech.id, "#ffffff")
            room = 26 - 2 * depth
            label = tech.name if len(tech.name) <= room else tech.name[:room - 1] + "…"
            parts.append(f'<rect x="{x + indent}" y="{y}" width="{CELL_W - indent}" height="{CELL_H}" '
                         f'fill="{escape(fill)}" stroke="#bbb"><title>{escape(tech.id)} {escape(tech.name)}'
                         f'</title></rect><text x="{x + indent + 4}" y="{y + 17}">{escape(label)}</text>')
    y = height - 30
    for i, item in enumerate(layer.legendItems[:8]):
        x = GAP + i * 160
        parts.append(f'<rect x="{x}" y="{y}" width="14" height="14" fill="{escape(item.color)}" stroke="#999"/>'
                     f'<text x="{x + 20}" y="{y + 11}">{escape(item.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _rows(techniques: Any, colours: dict[str, str]) -> list[tuple[Any, int]]:
    """(technique, depth) rows of one column: each technique, then its coloured sub-techniques."""
    rows: list[tuple[Any, int]] = []
    for technique, subs in techniques:
        rows.append((technique, 0))
        rows += [(sub, 1) for sub in subs if sub.id in colours]
    return rows
