"""Drawings of the system and its attack paths: a Mermaid chart for Markdown viewers and the JSON,
and an inline SVG for the self-contained HTML report.

Mermaid draws the diagram in Markdown viewers, but the HTML report loads no script, and a Mermaid
block without its library is only text. Graph-drawing libraries (graphviz, ELK) need a binary or a
JavaScript engine, so the layout here is written by hand and kept plain: components in columns by
their distance (in flows) from where content enters, arrows curved between them, trusted flows
dashed as in the Mermaid chart.

>>> from advmatrix.threatmodel import load_system_text
>>> svg = system_svg(load_system_text("name: d\\ncomponents: [{id: api, kind: service, audience: public}]"))
>>> svg.startswith("<svg") and "api" in svg
True
"""

from __future__ import annotations

from collections import deque
from html import escape

from ._transitions import _mermaid_text
from .system import System

__all__ = ["path_svg", "system_mermaid", "system_svg"]

BOX_W, BOX_H, COL_GAP, ROW_GAP, PAD = 170, 46, 70, 18, 12
#: Vertical distance between the lanes of flows that skip a column.
LANE_GAP = 9
#: Fill per kind; outside parties warm, our own parts cool.
_FILL = {"external": "#fde2c8", "adversary": "#f8c4c4", "service": "#dbe9fb", "model": "#d6f0e0",
         "llm-app": "#e6dcf7", "dataset": "#f1efd9", "retrieval-store": "#f1efd9", "tool": "#ececec"}


#: Mermaid's node shape per kind, so the chart tells kinds apart as the SVG's colours do.
_SHAPES = {"external": ('(["', '"])'), "service": ('["', '"]'), "model": ('[["', '"]]'), "dataset": ('[("', '")]'),
           "retrieval-store": ('[("', '")]'), "llm-app": ('{{"', '"}}'), "tool": ('>"', '"]'),
           "adversary": ('(("', '"))')}


#: Mermaid refuses a chart of 500 edges or 50,000 characters (secure settings a chart cannot raise, which
#: GitHub keeps): past these the chart says so instead of failing to render.
MERMAID_MOST_EDGES, MERMAID_MOST_CHARS = 490, 48_000


def system_mermaid(system: System) -> str:
    """The system as a Mermaid flowchart: a shape per kind, untrusted flows solid, trusted dotted, a flow each
    way one two-headed arrow; a system too large for Mermaid gets a one-node chart saying so."""
    ids = {c.id: f"c{i}" for i, c in enumerate(system.components)}
    lines = ["flowchart LR"]
    for c in system.components:
        left, right = _SHAPES[c.kind]
        lines.append(f"    {ids[c.id]}{left}{_mermaid_text(c.label)}<br/>{c.kind}{right}")
    edges = {(a, b): trusted for a, b, trusted in system.edges()}
    drawn = 0
    for (a, b), trusted in edges.items():
        back = edges.get((b, a))
        if back is not None and (b, a) < (a, b) and back == trusted:
            continue  # drawn with its pair
        both = back == trusted
        arrow = ("<-.->" if both else "-.->") if trusted else ("<-->" if both else "-->")
        lines.append(f"    {ids[a]} {arrow} {ids[b]}")
        drawn += 1
    text = "\n".join(lines) + "\n"
    if drawn > MERMAID_MOST_EDGES or len(text) > MERMAID_MOST_CHARS:
        return (f'flowchart LR\n    c0["{len(system.components):,} components and {drawn:,} arrows: more than '
                'Mermaid draws (500 arrows, 50,000 characters); the HTML report draws the system"]\n')
    return text


def _columns(system: System) -> dict[str, int]:
    """Each component's column: its shortest distance, in flows, from a component no flow enters."""
    edges = system.edges()
    entered = {b for _, b, _ in edges}
    nxt: dict[str, list[str]] = {}
    for a, b, _ in edges:
        nxt.setdefault(a, []).append(b)
    roots = [c.id for c in system.components if c.id not in entered] or [system.components[0].id]
    column = dict.fromkeys(roots, 0)
    todo = deque(roots)
    while todo:
        here = todo.popleft()
        for there in nxt.get(here, ()):
            if there not in column:
                column[there] = column[here] + 1
                todo.append(there)
    return {c.id: column.get(c.id, 0) for c in system.components}


#: The most characters a name in a box shows, ellipsis included: DejaVu Sans (a common system-ui font
#: and one of the widest) sets 20 capitals in about 163 px bold at 11 px, or regular at 12 px, so a
#: cut name stays inside the 170 px box; 24 characters of bold 12 px ran up to 209 px.
LABEL_CHARS = 20


def _clip(text: str, most: int = LABEL_CHARS) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def system_svg(system: System) -> str:
    """An SVG drawing of the components (a box per component, coloured by kind) and the flows."""
    if not system.components:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0" role="img"></svg>'
    column = _columns(system)
    rows: dict[int, int] = {}
    at: dict[str, tuple[int, int]] = {}
    for c in system.components:
        col = column[c.id]
        row = rows.get(col, 0)
        rows[col] = row + 1
        at[c.id] = (PAD + col * (BOX_W + COL_GAP), PAD + row * (BOX_H + ROW_GAP))
    width = PAD * 2 + (max(column.values()) + 1) * (BOX_W + COL_GAP) - COL_GAP
    height = PAD * 2 + max(rows.values()) * (BOX_H + ROW_GAP) - ROW_GAP
    # A flow that skips a column would cross its boxes and read as coming from one of them (users writing a
    # store two columns on looked like the app writing it): each runs in a lane of its own below the boxes.
    long = [(a, b) for a, b, _ in system.edges() if abs(column[a] - column[b]) > 1]
    lane = {edge: height - PAD + ROW_GAP + i * LANE_GAP for i, edge in enumerate(long)}
    height += (ROW_GAP + len(long) * LANE_GAP) if long else 0
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{escape(system.name)}: components and flows" '
           'font-family="system-ui, sans-serif" font-size="12">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    for a, b, trusted in system.edges():
        (x1, y1), (x2, y2) = at[a], at[b]
        if (a, b) in lane:
            # out of the side it faces, down the gap beside its column (no box there), along its lane, and up
            # the gap beside the target's column into the side facing back
            ly, k = lane[(a, b)], list(lane).index((a, b))
            step = 14 + (k % 4) * 9  # lanes sharing a gap keep apart
            if x2 > x1:
                sx, sy, tx, ty = x1 + BOX_W, y1 + BOX_H / 2 - 5, x2, y2 + BOX_H / 2 - 5
                gx1, gx2 = sx + step, tx - step
            else:
                sx, sy, tx, ty = x1, y1 + BOX_H / 2 + 7, x2 + BOX_W, y2 + BOX_H / 2 + 7
                gx1, gx2 = sx - step, tx + step
            bend = f"L{gx1},{sy} L{gx1},{ly} L{gx2},{ly} L{gx2},{ty} L{tx},{ty}"
        elif x2 > x1:  # forward: right side to left side
            sx, sy, tx, ty = x1 + BOX_W, y1 + BOX_H / 2 - 5, x2, y2 + BOX_H / 2 - 5
            bend = f"C{sx + 40},{sy} {tx - 40},{ty} {tx},{ty}"
        elif x2 < x1:  # back (a tool's result, a reply): left side to right side, a little lower
            sx, sy, tx, ty = x1, y1 + BOX_H / 2 + 7, x2 + BOX_W, y2 + BOX_H / 2 + 7
            bend = f"C{sx - 40},{sy} {tx + 40},{ty} {tx},{ty}"
        else:  # same column: bottom to top, or top to bottom
            down = y2 > y1
            sx, tx = x1 + BOX_W / 2 + (8 if down else -8), x2 + BOX_W / 2 + (8 if down else -8)
            sy, ty = (y1 + BOX_H, y2) if down else (y1, y2 + BOX_H)
            bend = f"L{tx},{ty}"
        dash = ' stroke-dasharray="5,4"' if trusted else ""
        out.append(f'<path d="M{sx},{sy} {bend}" fill="none" stroke="#555" stroke-width="1.3"{dash} '
                   'marker-end="url(#arrow)"/>')
    for c in system.components:
        x, y = at[c.id]
        radius = 22 if c.kind in ("external", "adversary") else 4
        out.append(f'<g><title>{escape(c.id)} ({c.kind})</title>'
                   f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="{radius}" '
                   f'fill="{_FILL.get(c.kind, "#eee")}" stroke="#777"/>'
                   f'<text x="{x + BOX_W / 2}" y="{y + 19}" text-anchor="middle" font-weight="600" font-size="11">'
                   f'{escape(_clip(c.label))}</text>'
                   f'<text x="{x + BOX_W / 2}" y="{y + 35}" text-anchor="middle" fill="#555">{c.kind}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


def path_svg(steps: list[tuple[str, str, str]], key: str = "path") -> str:
    """An attack path as a row of boxes (technique ID and name, tactic below) joined by arrows;
    ``steps`` are (technique ID, name, tactic name); ``key`` makes its element ids unique in a page
    holding several paths."""
    width = PAD * 2 + len(steps) * (BOX_W + COL_GAP) - COL_GAP
    height = PAD * 2 + BOX_H + 16
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="attack path" font-family="system-ui, sans-serif" '
           'font-size="12">',
           f'<defs><marker id="{key}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" '
           'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    for i, (tid, name, tactic) in enumerate(steps):
        x = PAD + i * (BOX_W + COL_GAP)
        if i:
            out.append(f'<path d="M{x - COL_GAP},{PAD + BOX_H / 2} L{x},{PAD + BOX_H / 2}" stroke="#555" '
                       f'stroke-width="1.3" marker-end="url(#{key}-arrow)"/>')
        out.append(f'<g><title>{escape(tid)} {escape(name)} ({escape(tactic)})</title>'
                   f'<rect x="{x}" y="{PAD}" width="{BOX_W}" height="{BOX_H}" rx="4" fill="#fbe3d6" '
                   'stroke="#777"/>'
                   f'<text x="{x + BOX_W / 2}" y="{PAD + 19}" text-anchor="middle" font-weight="600">'
                   f'{escape(tid)}</text>'
                   f'<text x="{x + BOX_W / 2}" y="{PAD + 35}" text-anchor="middle">{escape(_clip(name))}</text>'
                   f'<text x="{x + BOX_W / 2}" y="{PAD + BOX_H + 14}" text-anchor="middle" fill="#666" '
                   f'font-size="11">{escape(_clip(tactic, 28))}</text></g>')
    out.append("</svg>")
    return "\n".join(out)
