"""``advmatrix kb``: read, search, compare and export the knowledge base."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from .._files import write_atomic
from ..errors import UsageError
from ._output import emit_json, err, out, warn_all


def escape(text: str) -> str:
    # rich is imported only when something is drawn: importing it here would cost every
    # command, `scan` included, ~20 ms of start-up
    from rich.markup import escape as rich_escape

    return rich_escape(text)

if TYPE_CHECKING:
    from .. import kb

app = typer.Typer(help="Read, search, compare and export the ATLAS knowledge base.", no_args_is_help=True)

SourceOpt = typer.Option(None, "--source", "-s", metavar="PATH",
                         help="An ATLAS.yaml, STIX bundle or knowledge-base directory instead of the bundled data.")
JsonOpt = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")


class Kind(str, Enum):
    tactics = "tactics"
    techniques = "techniques"
    mitigations = "mitigations"
    case_studies = "case-studies"


class Maturity(str, Enum):
    feasible = "feasible"
    demonstrated = "demonstrated"
    realized = "realized"


class ExportFormat(str, Enum):
    atlas_yaml = "atlas-yaml"
    stix = "stix"
    layer = "layer"


class LayerScore(str, Enum):
    case_studies = "case-studies"
    maturity = "maturity"


def _open(source: Optional[Path]) -> kb.Matrix:
    # Imported here so commands that never touch the knowledge base (scan) start faster.
    from ..kb import load_source

    matrix = load_source(source)
    if matrix.warnings:
        warn_all(matrix.warnings)
    return matrix


@app.command()
def stats(source: Optional[Path] = SourceOpt, json: bool = JsonOpt) -> None:
    """Count tactics, techniques, sub-techniques, mitigations, case studies and procedure steps."""
    counts = _open(source).stats().as_dict()
    if json:
        emit_json(counts)
        return
    from rich.table import Table

    table = Table(title=f"ATLAS {counts['version']}", show_header=False)
    for key, value in counts.items():
        if key != "version":
            table.add_row(key.replace("_", " "), str(value))
    out.print(table)


_LINK = re.compile(r"\[([^\]]+)\]\((?:/(?:techniques|tactics|mitigations|studies)/)?([^)\s]+)\)")


def _plain(text: str) -> str:
    """Markdown links as a terminal can show them: "name (AML.T0043)"."""
    return _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)


def _rows(items: list[dict], *keys: str) -> str:
    return "\n".join(f"  {escape(i['id'])}  {escape(i['name'])}" + "".join(
        f" — {escape(str(i[k]))}" for k in keys if i.get(k)) for i in items) or "  (none)"


def _render(data: dict) -> None:
    kind = data["kind"]
    lines: list[str] = []
    if kind == "technique":
        if data["parent"]:
            lines.append(f"[b]Sub-technique of[/] {data['parent']['id']} {escape(data['parent']['name'])}")
        lines.append("[b]Tactics[/] " + ", ".join(f"{t['id']} {escape(t['name'])}" for t in data["tactics"]))
        if data.get("maturity"):
            lines.append(f"[b]Maturity[/] {data['maturity']}")
        if data.get("attack_reference"):
            lines.append(f"[b]ATT&CK[/] {data['attack_reference']['id']}")
        owasp = [f"{x['id']} {x['name']}" for x in data["owasp_ml"] + data["owasp_llm"]]
        if owasp:
            lines.append("[b]OWASP[/] " + "; ".join(owasp))
        if data["nist_ai_rmf"]:
            lines.append("[b]NIST AI RMF[/] " + ", ".join(data["nist_ai_rmf"]))
    if kind == "case-study":
        lines.append(f"[b]Type[/] {data['case_study_type'] or '-'}   [b]Date[/] {data['incident_date']} "
                     f"({data['incident_date_granularity'].lower()})")
        lines.append(f"[b]Target[/] {escape(data['target'])}   [b]Actor[/] {escape(data['actor'])}")
        if data.get("reporter"):
            lines.append(f"[b]Reporter[/] {escape(data['reporter'])}")
    body = data.get("description") or data.get("summary") or ""
    lines += ["", escape(_plain(body))]
    if kind == "tactic":
        lines += ["", "[b]Techniques[/]", _rows(data["techniques"])]
    elif kind == "technique":
        if data["subtechniques"]:
            lines += ["", "[b]Sub-techniques[/]", _rows(data["subtechniques"])]
        lines += ["", "[b]Mitigations[/]", _rows(data["mitigations"], "use")]
        lines += ["", "[b]Case studies[/]", _rows(data["case_studies"])]
    elif kind == "mitigation":
        lines += ["", "[b]Techniques addressed[/]", _rows(data["techniques"], "use")]
    elif kind == "case-study":
        lines += ["", "[b]Procedure[/]"]
        for n, step in enumerate(data["procedure"], 1):
            lines.append(f"  {n:>2}. [cyan]{step['technique']}[/] {escape(step['technique_name'])} "
                         f"[dim]({escape(step['tactic_name'])})[/]\n      {escape(_plain(step['description']))}")
    if data.get("references"):
        lines += ["", "[b]References[/]"] + [f"  {escape(r['title'] or r['url'])} {escape(r['url'])}"
                                              for r in data["references"]]
    from rich.panel import Panel

    # soft_wrap (on for this console so that piped lines stay whole) would crop a panel's text at its edge
    out.print(Panel("\n".join(lines), title=f"[b]{data['id']}[/] {escape(data['name'])}",
                    subtitle=kind, title_align="left"), soft_wrap=False)


@app.command()
def show(object_id: str = typer.Argument(..., metavar="ID", help="Any ATLAS ID, e.g. AML.T0043 or AML.CS0003."),
         source: Optional[Path] = SourceOpt, json: bool = JsonOpt) -> None:
    """Show one tactic, technique, mitigation or case study with everything linked to it."""
    from ..kb import details

    data = details(_open(source), object_id)
    if json:
        emit_json(data)
    else:
        _render(data)


@app.command("list")
def list_(kind: Kind = typer.Argument(..., help="What to list."),
          tactic: Optional[str] = typer.Option(None, "--tactic", "-t", help="Only techniques (or case studies) of this tactic: ID or name."),
          maturity: Optional[Maturity] = typer.Option(None, "--maturity", "-m", help="Only techniques of this maturity."),
          subtechniques: bool = typer.Option(True, "--subtechniques/--no-subtechniques", help="Include sub-techniques."),
          source: Optional[Path] = SourceOpt, json: bool = JsonOpt) -> None:
    """List tactics, techniques, mitigations or case studies, optionally filtered."""
    matrix = _open(source)
    tactic_id = _resolve_tactic(matrix, tactic) if tactic else None
    if maturity and kind is not Kind.techniques:
        raise UsageError("--maturity applies to techniques only")
    if tactic and kind not in (Kind.techniques, Kind.case_studies):
        raise UsageError("--tactic applies to techniques and case studies only")
    if kind is Kind.tactics:
        rows = [{"id": t.id, "name": t.name, "techniques": len(matrix.techniques_of_tactic(t.id))}
                for t in matrix.tactics]
    elif kind is Kind.techniques:
        rows = []
        for t in matrix.techniques:
            tactics = [x.id for x in matrix.tactics_of(t.id)]
            if (tactic_id and tactic_id not in tactics) or (maturity and t.maturity != maturity.value) \
                    or (t.parent and not subtechniques):
                continue
            rows.append({"id": t.id, "name": t.name, "tactics": tactics, "maturity": t.maturity,
                         "parent": t.parent})
    elif kind is Kind.mitigations:
        rows = [{"id": m.id, "name": m.name, "category": list(m.category),
                 "techniques": len(m.techniques)} for m in matrix.mitigations]
    else:
        rows = [{"id": c.id, "name": c.name, "type": c.case_study_type, "date": str(c.incident_date),
                 "steps": len(c.procedure)} for c in matrix.case_studies
                if not tactic_id or any(s.tactic == tactic_id for s in c.procedure)]
    if json:
        emit_json(rows)
        return
    from rich.table import Table

    table = Table(title=f"{kind.value} ({len(rows)})")
    for col in rows[0].keys() if rows else ("id", "name"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(", ".join(v) if isinstance(v, list) else ("" if v is None else str(v))
                        for v in row.values()))
    out.print(table)


def _resolve_tactic(matrix: kb.Matrix, text: str) -> str:
    for t in matrix.tactics:
        if text.strip().lower() in (t.id.lower(), t.name.lower()):
            return t.id
    # unknown, as an unknown ID is (exit 3), but said of --tactic, which takes a name too
    import difflib

    from ..errors import UnknownObjectError

    names = {t.name.lower(): t.name for t in matrix.tactics}
    near = difflib.get_close_matches(text.strip().lower(), list(names), n=1)
    hint = f" (did you mean '{names[near[0]]}'?)" if near else " (see advmatrix kb list tactics)"
    exc = UnknownObjectError(text)
    exc.args = (f"--tactic '{text}': no tactic with that ID or name{hint}",)  # a name is not an ID
    raise exc


@app.command()
def search(text: str = typer.Argument(..., help="Words, a name or an ID."),
           kind: Optional[str] = typer.Option(None, "--kind", "-k", help="tactic, technique, mitigation or case-study."),
           limit: int = typer.Option(20, "--limit", "-n", min=1, max=1_000_000, help="Most results to show."),
           source: Optional[Path] = SourceOpt, json: bool = JsonOpt) -> None:
    """Search names, IDs and descriptions; best matches first."""
    kinds = {"tactic", "technique", "mitigation", "case-study"}
    if kind:  # 'kb list' takes the plural: take it here too
        kind = {"case-studies": "case-study"}.get(kind, kind.removesuffix("s") if kind.removesuffix("s") in kinds
                                                  else kind)
    if kind and kind not in kinds:
        raise UsageError(f"--kind must be one of {', '.join(sorted(kinds))}, not '{kind}'")
    from ..kb import search as search_kb

    hits = search_kb(_open(source), text, kinds={kind} if kind else None, limit=limit)
    rows = [{"id": h.object.id, "kind": h.object.kind, "name": h.object.name, "score": round(h.score, 2)}
            for h in hits]
    if json:
        emit_json(rows)
        return
    if not rows:
        err.print(f"no match for '{escape(text)}'")
        return
    from rich.table import Table

    table = Table(title=f"search: {escape(text)}")
    for col in ("id", "kind", "name", "score"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["id"], r["kind"], escape(r["name"]), f"{r['score']:g}")
    out.print(table)


@app.command()
def diff(old: str = typer.Argument(..., help="Path, or 'bundled'."),
         new: str = typer.Argument(..., help="Path, or 'bundled'."),
         json: bool = JsonOpt) -> None:
    """Compare two matrices from any two sources: added, removed, renamed, changed."""
    a = _open(None if old == "bundled" else Path(old))
    b = _open(None if new == "bundled" else Path(new))
    from ..kb import diff as diff_kb

    result = diff_kb(a, b)
    if json:
        emit_json(result.as_dict())
    else:
        print(result.to_text())


@app.command()
def export(fmt: ExportFormat = typer.Option(..., "--format", "-f", help="Output format."),
           out_path: Path = typer.Option(..., "--out", "-o", help="File to write ('-' for stdout)."),
           score: LayerScore = typer.Option(LayerScore.case_studies, "--score",
                                            help="For layers: what scores the techniques."),
           source: Optional[Path] = SourceOpt, json: bool = JsonOpt) -> None:
    """Export as upstream ATLAS.yaml, a STIX 2.1 bundle, or a Navigator layer."""
    from ..kb import atlas_yaml, layer, stix

    if source is not None and str(out_path) != "-" and out_path.exists() and source.exists() \
            and out_path.resolve() == source.resolve():
        # the export would replace the matrix it was read from (newcomer walkthrough N2)
        raise UsageError(f"--out {out_path}: is the --source being read; the export would overwrite it")
    matrix = _open(source)
    if fmt is ExportFormat.atlas_yaml:
        text = atlas_yaml.dumps(matrix)
    elif fmt is ExportFormat.stix:
        text = stix.dumps(matrix)
    else:
        built = layer.case_study_layer(matrix) if score is LayerScore.case_studies else layer.maturity_layer(matrix)
        text = built.to_json() + "\n"
    if str(out_path) == "-":
        print(text, end="")
        return
    write_atomic(out_path, text)
    if json:
        emit_json({"format": fmt.value, "path": str(out_path), "bytes": len(text.encode())})
    else:
        err.print(f"wrote {fmt.value} to {escape(str(out_path))} ({len(text.encode()):,} bytes)")


@app.command()
def validate(source: Path = typer.Argument(..., help="ATLAS.yaml, STIX bundle or knowledge-base directory."),
             json: bool = JsonOpt) -> None:
    """Check a source for schema and cross-reference problems; exit 1 when there are any."""
    from ..kb import load_source

    matrix = load_source(source)
    problems = list(matrix.warnings)
    if json:
        emit_json({"source": str(source), "version": matrix.version, "problems": problems})
    elif problems:
        for p in problems:
            err.print(f"{escape(str(source))}: {escape(p)}")
    else:
        out.print(f"{escape(str(source))}: ATLAS {matrix.version}, no problems")
    if problems:
        raise typer.Exit(1)
