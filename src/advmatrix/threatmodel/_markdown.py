"""The Markdown report of a threat model, and the prose it shares with the HTML report and the CLI
(what the attack paths' figures mean, what the description leaves open, a move's evidence)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ._reach import adversary_reach
from ._words import technique_title
from .diagram import system_mermaid

if TYPE_CHECKING:
    from .gaps import Gap
    from .report import ThreatModel

__all__ = ["PATHS_NOTE", "advised_on", "component_aside", "evidence_text", "gap_lines", "held_note", "md_text",
           "pathless_line", "report_markdown"]


#: What user text must not carry into Markdown: raw HTML (most renderers pass it through, so a
#: component named <script> would run), link, emphasis, strikethrough and code syntax, a heading's
#: closing hashes, the pipes and newlines that split tables, and the backslash that would turn the
#: next escape back into syntax (``\\|`` is a backslash and then a live pipe).
_MD_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\\": "\\\\", "|": "\\|", "[": "\\[",
                             "]": "\\]", "`": "\\`", "*": "\\*", "_": "\\_", "~": "\\~", "#": "\\#",
                             "\n": " ", "\r": " "})
#: Where GitHub's renderer starts a link without any link syntax: a scheme's ``://`` and ``www.``. An
#: escaped colon or dot reads the same and links nothing. (It also links e-mail addresses, and no
#: escape stops that; a mailto link opens a mail program, not a page.)
_AUTOLINK = re.compile(r"(?<=[A-Za-z])(:)(?=//)|(?<![A-Za-z0-9])(www)(\.)", re.IGNORECASE)


def _unlink(m: re.Match[str]) -> str:
    return "\\:" if m.group(1) else m.group(2) + "\\."


def md_text(text: str) -> str:
    """User text made safe to place in Markdown prose or a table cell: it reads as the same text and
    renders as nothing else (no HTML, link, emphasis or extra cell)."""
    return _AUTOLINK.sub(_unlink, str(text).translate(_MD_ESCAPES))


def evidence_text(edge: Any) -> str:
    """What supports a move of an attack path, in words: the case studies that show it, or that none do."""
    if edge.basis == "case-study":
        return "case studies " + ", ".join(edge.supported_by)
    if edge.basis == "parent":
        return "parent techniques in case studies " + ", ".join(edge.parent_supported_by)
    if edge.basis == "skip":
        return "with a step between in case studies " + ", ".join(edge.skip_supported_by)
    return "no case study shows this move"


def component_aside(tm: ThreatModel, component: str) -> str:
    """What a report's heading for ``component`` (its id) says beside the id: its kind, after its display
    name where that differs, since the diagrams label components by name and the findings by id."""
    comp = tm.system.component(component)
    return f"{comp.label}, {comp.kind}" if comp.label != comp.id else comp.kind


def advised_on(tm: ThreatModel, m: Any) -> str:
    """Where a missing mitigation ``m`` is advised, as the reports say it: an adversary's own finding is
    countered wherever the system holds the control, not on the adversary."""
    if tm.system.component(m.component).kind == "adversary":
        return "any component"
    return " and ".join((", ".join((m.component, *m.also_on[:-1])), *m.also_on[-1:])) if m.also_on else m.component


def held_note(m: Any) -> str:
    """What the reports add to a mitigation in place: where it is held, if not where it was advised, and
    that logging records an attack without stopping it. Plain text: each report escapes it as its format needs."""
    at = f" (at {m.in_place_at})" if m.in_place_at and m.in_place_at != m.component else ""
    # telemetry records the attack; a hub file's checked signature vouches for the code's own author
    return at + ("" if m.prevents else " (records, does not stop)" if m.id == "AML.M0024" else
                 f" (held, does not stop this: {m.idle})" if m.idle else " (held, does not stop this)")


def report_markdown(tm: ThreatModel) -> str:
    """A Markdown report: per component its techniques, reasons and mitigations; the attack paths."""
    p = tm.prediction
    overlay = f", completed by the overlay {md_text(tm.overlay)}" if tm.overlay else ""
    out = [f"# Threat model of {md_text(tm.system.name)}", "",
           f"Source: {md_text(tm.source)}{overlay}. {len(p.technique_ids)} ATLAS techniques predicted, "
           f"{len(p.likely_technique_ids)} of them likely.", "",
           "## System", "", "```mermaid", system_mermaid(tm.system).rstrip(), "```", ""]
    out += _short_list_md(tm)
    for comp in p.components:
        out += [f"## {md_text(comp.component)} ({md_text(component_aside(tm, comp.component))})", ""]
        if not comp.findings:
            out += ["No technique predicted.", ""]
            continue
        out += ["| Technique | Tier | Why | Mitigations in place | Mitigations missing (stage) |",
                "|---|---|---|---|---|"]
        for f in comp.findings:
            done = ", ".join(f"{m.id} {m.name}{held_note(m)}" for m in f.mitigations if m.in_place) or "none"
            todo = (", ".join(f"{m.id} {m.name} on {advised_on(tm, m)} ({m.stage})" for m in f.missing) or "none"
                    if f.mitigations else none_to_advise(f.technique_id))
            out.append(f"| {f.technique_id} {md_text(technique_title(f.technique_id))} | {f.tier} | "
                       f"{md_text('; '.join(f.reasons))} "
                       f"| {md_text(done)} | {md_text(todo)} |")
        out.append("")
    out += _open_questions_md(tm)
    out += ["## Attack paths", "", PATHS_NOTE, ""]
    if not tm.paths:
        out += ["No path from an entry technique to an impact or exfiltration technique among those predicted.", ""]
    out += [*(md_text(line) for line in tm.pathless_lines()), ""] if tm.pathless else []
    for i, path in enumerate(tm.paths, 1):
        by = f" by {md_text(path.adversary)}" if path.adversary else ""
        out += [f"### Path {i}{by} ({path.score:.3g} per step, {path.probability:.3g} overall)", ""]
        out += [f"{j}. {s.technique} {s.name} ({s.tactic_name}), {md_text(on)}{held_step(held)}"
                for j, (s, on, held) in enumerate(zip(path.steps, tm.step_places(path), tm.step_held(path),
                                                      strict=True), 1)]
        out.append("")
        out += [f"- {e.source} → {e.target}: p = {e.probability:.3f}, {evidence_text(e)}" for e in path.edges]
        out += ["", "```mermaid", path.mermaid().rstrip(), "```", ""]
    return "\n".join(out)


def held_step(held: tuple[str, ...]) -> str:
    """What a report adds to a path's step that controls in place already stop (nothing for an open one)."""
    return f" — stopped by {', '.join(held)} (in place)" if held else ""


#: What a path is and what its two figures mean, for every report that lists paths.
PATHS_NOTE = ("Each path runs from an entry technique (reconnaissance, resource development, initial access or AI "
              "model access) to an impact or exfiltration technique, through the predicted techniques. Moves are "
              "weighted by how often one technique followed another in the ATLAS case studies; paths are ranked "
              "per step (the geometric mean of their moves' probabilities, so a longer chain of common moves is not "
              "pushed out by a two-step jump), and overall is the product. A path one step away from a better one "
              "is left out. Where the system describes adversaries, each path is one adversary's: it starts with a "
              "technique found on them or on a component their access reaches, takes a step that needs accounts, "
              "a foothold or the supply chain only when they have it or an earlier step gave it, and ends, where "
              "the prediction allows, in a technique that serves a goal they state. Paths with no step a control in "
              "place stops come first; each adversary's best path is kept, whatever its rank.")


def _merged(free: list[Gap]) -> list[Gap]:
    """The unset free properties, one per property and what it would add or rule out: a line per component
    buried the few that matter under those of every component it may apply to (audit N: 29 of 31 lines)."""
    from .gaps import Gap

    groups: dict[tuple[str, tuple[str, ...], tuple[str, ...], bool], list[Gap]] = {}
    for g in free:
        groups.setdefault((g.field, g.techniques, g.removes, g.removed_by), []).append(g)
    return [Gap(", ".join(x.component for x in gs), f, adds,
                elsewhere=tuple(dict.fromkeys(e for x in gs for e in x.elsewhere)), removes=removes,
                removed_from=tuple(dict.fromkeys(r for x in gs for r in x.removed_from)), removed_by=gs[0].removed_by)
            for (f, adds, removes, _), gs in groups.items()]


def gap_lines(tm: ThreatModel, most: int | None = None) -> list[str]:
    """One sentence per unstated field that would change the prediction and per value a BOM import
    assumed, most telling first (the first ``most`` of each)."""
    from ..kb import bundled
    from .gaps import UNDRAWN_SOURCE

    matrix = bundled()
    out = []
    fields = [g for g in tm.gaps if not g.field.startswith("properties.")]
    free = [g for g in tm.gaps if g.field.startswith("properties.")]
    def listed(ids: tuple[str, ...]) -> str:
        more = f" and {len(ids) - 4} more" if len(ids) > 4 else ""
        return ", ".join(f"{t} {matrix.technique(t).name}" for t in ids[:4]) + more

    # a field that would only rule findings out is worth a line too, in the short list after those that add
    shown = fields[:most] if most is None else sorted(fields, key=lambda g: not g.techniques)[:most]
    for g in shown + (_merged(free) if most is None else []):
        if g.field == UNDRAWN_SOURCE:  # a flow to draw, not a field to state
            out.append(f"{g.component}: nothing is drawn flowing into it, so what it returns is read as written by "
                       "outsiders; drawing its source (a flow marked trusted where only we write it) could rule out "
                       f"{len(g.removes)}: {listed(g.removes)} (for {', '.join(g.removed_from)}).")
            continue
        unset = g.field.startswith("properties.")  # a free property (not 'g in free': a scan per gap)
        said = "is unset; where it holds, setting it" if unset else "is not stated; stating it"
        on = f" (some for {', '.join(g.elsewhere)})" if g.elsewhere else ""
        parts = [f"{said} could add {len(g.techniques)} technique(s): {listed(g.techniques)}{on}"
                 ] if g.techniques else []
        if g.removes:
            lead = '' if g.techniques else 'is unset; ' if unset else 'is not stated; '
            # a field of many values read on the components next to it rules out by whichever is stated (a tool's
            # readers): no one value to name
            said_so = "stating which value holds could" if g.removed_by is None else \
                f"saying it is {str(g.removed_by).lower()}, where that holds, would"
            there = f" (for {', '.join(g.removed_from)})" if g.removed_from else ""
            parts.append(f"{lead}{said_so} rule out {len(g.removes)}: {listed(g.removes)}{there}")
        out.append(f"{g.component}: '{g.field}' {'; '.join(parts)}.")
    if most is not None and free:
        # A short list folds the free properties into one line of names: they are hints to check, not
        # gaps, and which component each could apply to is in the reports.
        # each named with the components it is unset on (a card issuer's `financial` went unnoticed: audit M)
        where: dict[str, list[str]] = {}
        for g in free:
            where.setdefault(g.field.split(".", 1)[1], []).append(g.component)
        names = [f"{name} ({', '.join(comps[:3])}{f' and {len(comps) - 3} more' if len(comps) > 3 else ''})"
                 for name, comps in sorted(where.items())]
        out.append(f"free properties the rules read, unset on some components (read as no there): {'; '.join(names)}; "
                   "set those that hold (docs/threatmodel-system.md; all of them in the reports).")
        hedges = [g for g in free if g.removes][:most]
        if hedges:
            out.append("saying false, where it holds, would rule out: " + "; ".join(
                f"{g.component} {g.field} ({', '.join(g.removes)})" for g in hedges) + ".")
    for a in tm.assumptions[:most]:
        out.append(f"{a.component}: '{a.field}' was assumed to be '{a.value}' (CycloneDX has no field for it: "
                   "inferred from what the BOM says, such as a trust boundary); state it in an overlay.")
    if most is not None and len(tm.assumptions) > most:
        out.append(f"... and {len(tm.assumptions) - most} more values the BOM import assumed (in the reports and "
                   "--json, 'assumed').")
    return out


#: Reconnaissance and Resource Development: what an adversary does away from the system, before touching it.
PREPARATION_TACTICS = frozenset({"AML.TA0002", "AML.TA0003"})
#: The heading of the short list's second part.
PREPARATION = "Preparation away from the system (reconnaissance, resource development)"


def prepares(technique_id: str) -> bool:
    """Whether every tactic of ``technique_id`` is done away from the system (see :data:`PREPARATION_TACTICS`)."""
    from ..kb import bundled

    return all(ta.id in PREPARATION_TACTICS for ta in bundled().tactics_of(technique_id))


def short_list(tm: ThreatModel) -> list[tuple[int, str]]:
    """The likely techniques as (rank, id): those done on the system first, then the preparation done away
    from it (the same few generic steps top every ranking, and an analyst reads first what is about this
    system), each part best first, each keeping its rank."""
    ranked = list(enumerate(tm.prediction.likely_technique_ids, 1))
    return sorted(ranked, key=lambda r: prepares(r[1]))


def none_to_advise(technique_id: str) -> str:
    """What a finding with no mitigation listed says: ATLAS links none to the technique (or its parent), or
    those it links would stop nothing here (a check of who calls where anyone may sign up)."""
    from ..kb import bundled

    matrix = bundled()
    parent = matrix.technique(technique_id).parent
    linked = matrix.mitigations_of(technique_id) or (matrix.mitigations_of(parent) if parent else ())
    return "none that would stop it here" if linked else "none known in ATLAS"


def _short_list_md(tm: ThreatModel) -> list[str]:
    """The likely techniques, best first, with their scores and components: the short list to act on,
    before the per-component tables (which keep rule order); the preparation away from the system last."""
    p = tm.prediction
    scores = dict(p.scores)
    if not p.likely_technique_ids:
        return []
    out = ["## Likely techniques, best first", "", "| # | Technique | Score | Components |", "|---|---|---|---|"]
    names = {f.technique_id: technique_title(f.technique_id) for f in p.findings}
    apart = False
    for i, tid in short_list(tm):
        if prepares(tid) and not apart:
            apart = True
            out.append(f"| | {PREPARATION} | | |")
        out.append(f"| {i} | {tid} {md_text(names[tid])} | {scores[tid]:.3f} | "
                   f"{md_text(', '.join(p.components_for(tid)))} |")
    return [*out, ""]


def _open_questions_md(tm: ThreatModel) -> list[str]:
    lines = gap_lines(tm)
    if not lines:
        return []
    return ["## What the description leaves open", "",
            "Rules read these fields; while they are unstated, those rules cannot fire.", "",
            *(f"- {md_text(line)}" for line in lines), ""]


def pathless_line(system: Any, a: str, paths: Any, missing: Any = None, prediction: Any = None) -> str:
    """Why adversary ``a`` has no path to its goals, in one sentence: its access opens no component (with how
    to say a signed-in caller of a staff service), or no learned move leads there (``paths``: those found).
    Where only some of its goals are ``missing``, why those: nothing serving them is predicted (known with
    ``prediction``), or no learned move leads there."""
    from ._reach import goal_serves

    adv = system.component(a)
    stated = tuple(adv.get("goals") or ())
    missing = tuple(missing or stated)
    if set(missing) < set(stated):
        reached = ", ".join(g for g in stated if g not in missing)
        served = prediction is not None and any(goal_serves(t, missing) for t in prediction.technique_ids)
        why = ("no learned move leads from what they reach to a predicted technique serving "
               + ("that goal" if len(missing) == 1 else "those goals")) if served or prediction is None else (
            "no technique serving " + ("that goal" if len(missing) == 1 else "those goals")
            + " is predicted on this system")
        return f"No path found for {a} to {', '.join(missing)}: {why}; paths found for them serve {reached}."
    goals = ", ".join(stated)
    access = adv.get("access") or ()
    # their access opens no component (the people beside them are no part of the system to act on)
    if all(c == a or system.component(c).kind == "external" for c in adversary_reach(system, adv) or ()):
        closed = [c.id for c in system.of_kind("service") if c.get("audience") in ("internal", "partner")]
        hint = (f"; a caller of an internal or partner service ({', '.join(closed)}) who signs in to it has "
                "'account' access" if closed and "query" in access and "account" not in access else "")
        return (f"No path found for {a}: their access ({', '.join(access)}) reaches no "
                f"component of the system, so nothing serves their goals ({goals}){hint}.")
    return (f"No path found for {a}: no learned move leads from what they reach to a predicted technique "
            f"serving their goals ({goals})"
            + ("; the paths shown for them end in other harms." if any(p.adversary == a for p in paths) else "."))
