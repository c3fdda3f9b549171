"""The outputs of a threat model: JSON, Markdown, self-contained HTML, a Navigator layer, SARIF,
an assessment plan for ``advmatrix assess`` and a gateway configuration for ``advmatrix monitor``.

Everything is rendered from one :class:`ThreatModel` (the system, its prediction, its attack
paths, the file it came from and the line of each component there), and every file is written
through :func:`~advmatrix._files.write_atomic` after all of them rendered.

>>> from advmatrix.threatmodel import load_system_text
>>> tm = build(load_system_text("name: demo\\ncomponents: [{id: api, kind: service, audience: public}]"))
>>> system_mermaid(tm.system).splitlines()[0]
'flowchart LR'
"""

from __future__ import annotations

import contextlib
import json
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from .._files import atomic_path, check_writable, is_special, write_atomic
from ..errors import FormatError, UsageError
from ._bomcheck import bom_lines
from ._load import is_cyclonedx, is_spdx, read_text, read_yaml, reads_as_mapping
from ._markdown import (
    PATHS_NOTE,
    PREPARATION,
    advised_on,
    component_aside,
    evidence_text,
    gap_lines,
    held_note,
    held_step,
    none_to_advise,
    pathless_line,
    prepares,
    report_markdown,
    short_list,
)
from ._reach import got_past
from ._references import mixed_script
from ._sarif import findings_sarif
from ._transitions import Path as AttackPath
from ._validate import merge_capped, system_from_located
from ._words import technique_title
from .diagram import path_svg, system_mermaid, system_svg
from .emit import ENABLING, PLACEHOLDER_TARGET, PLACEHOLDER_UPSTREAM, assess_plan, monitor_config, read_assess_plan
from .gaps import (
    Assumption,
    Gap,
    assumed,
    check_property_types,
    field_where,
    idle_controls,
    raw_property_problems,
    unstated,
    unused_controls,
)
from .predict import Prediction, TechniqueFinding, predict
from .rules import RuleSet
from .system import System

__all__ = ["ENABLING", "FAIL_ON", "FORMATS", "JSON_FORMAT_VERSION", "PLACEHOLDER_TARGET", "PLACEHOLDER_UPSTREAM",
           "PREPARATION", "ThreatModel", "assess_plan", "build", "component_lines", "findings_sarif", "gap_lines",
           "gate", "layer", "load_input", "monitor_config", "none_to_advise", "prepares", "read_assess_plan", "render",
           "report_html", "report_json", "report_markdown", "short_list", "system_mermaid", "technique_title",
           "unmitigable", "write_outputs"]

#: Output formats and the file each is written to.
FORMATS = {"json": "threatmodel.json", "md": "threatmodel.md", "html": "threatmodel.html",
           "layer": "threatmodel-layer.json", "sarif": "threatmodel.sarif"}
#: The tiers ``--fail-on`` accepts, and the tiers each one counts.
FAIL_ON = {"likely": ("likely",), "possible": ("likely", "possible")}
#: The version of ``threatmodel.json``: raised when a key is removed or renamed or changes meaning, so a
#: reader can refuse a file it would misread; new keys may appear without it.
JSON_FORMAT_VERSION = 1
_TIER_SCORE = {"likely": 2.0, "possible": 1.0}
_TIER_COLOUR = {"possible": "#ffe08a", "likely": "#e8590c"}


@dataclass(frozen=True)
class ThreatModel:
    """One system's threat model and where it came from."""

    system: System
    prediction: Prediction
    paths: tuple[AttackPath, ...] = ()
    source: str = "system.yaml"
    lines: dict[str, int] = field(default_factory=dict)
    """Per component id, its line in ``source`` (absent: not known, e.g. a component an overlay added)."""
    overlay: str | None = None
    """The overlay that completed a BOM, if any."""
    overlay_lines: dict[str, int] = field(default_factory=dict)
    """Per component id, its line in ``overlay`` (used where ``source`` has none)."""
    gaps: tuple[Gap, ...] = ()
    """Fields the description leaves unstated that would change the prediction (see :mod:`.gaps`)."""
    assumptions: tuple[Assumption, ...] = ()
    """Values a BOM import assumed."""
    pathless: tuple[str, ...] = ()
    """Adversaries stating a goal that no path found for them ends in (see :attr:`unreached`)."""
    fail_on: str | None = None
    """The ``--fail-on`` tier the SARIF levels follow (``likely`` when not given)."""

    unreached: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per adversary in :attr:`pathless`, the goals it states that no path found for it ends in."""

    def pathless_lines(self) -> list[str]:
        """One sentence per adversary in :attr:`pathless`, as every report says it."""
        return [pathless_line(self.system, a, self.paths, self.unreached.get(a), self.prediction)
                for a in self.pathless]

    def location(self, component: str) -> tuple[str, int | None]:
        """(file, line) where ``component`` is described: its line in the source, else in the overlay,
        else the source file alone."""
        if component in self.lines:
            return self.source, self.lines[component]
        if self.overlay is not None and component in self.overlay_lines:
            return self.overlay, self.overlay_lines[component]
        return self.source, None

    def path_components(self, path: AttackPath) -> tuple[tuple[str, ...], ...]:
        """For each step of ``path``, the components it is taken on along the walk (every component the
        technique was found on, for a path not walked on this system)."""
        return path.on or tuple(self.prediction.components_for(t) for t in path.techniques)

    def step_places(self, path: AttackPath) -> tuple[str, ...]:
        """For each step of ``path``, where it is taken as the reports word it: "on app, store", or "by scammer"
        for an adversary's own step (preparing, phishing, being paid), which "on scammer" would read as harm done
        to them."""
        return tuple(("by " if all(self.system.component(c).kind == "adversary" for c in on) else "on ")
                     + ", ".join(on) for on in self.path_components(path))

    def step_held(self, path: AttackPath) -> tuple[tuple[str, ...], ...]:
        """For each step of ``path``, the controls in place that stop it on every component it is taken on
        (empty where one of them lacks any): a path through a held approval step is still drawn, but said."""
        ids = path.techniques
        return tuple(self.prediction.stopped(t, on, got_past(ids[:i]))
                     for i, (t, on) in enumerate(zip(ids, self.path_components(path), strict=True)))

    def as_dict(self) -> dict[str, Any]:
        """The prediction, the attack paths and the source, as plain data (``threatmodel.json``; its keys are
        documented in docs/threatmodel-system.md, "The JSON report")."""
        return {"format_version": JSON_FORMAT_VERSION, "generator": f"advmatrix {__version__}", "source": self.source,
                "overlay": self.overlay, **self.prediction.as_dict(),
                "scores": {f"{f.component}/{f.technique_id}": s for f in self.prediction.findings
                           if (s := getattr(f, "score", None)) is not None},
                "paths": [{**p.to_dict(), "mermaid": p.mermaid(),
                           "components": {t: list(on) for t, on in zip(p.techniques, self.path_components(p),
                                                                      strict=True)},
                           "held": {t: list(h) for t, h in zip(p.techniques, self.step_held(p), strict=True) if h}}
                          for p in self.paths],
                "pathless": [{"adversary": a, "goals": list(self.unreached.get(a) or ())} for a in self.pathless],
                "unstated": [g.as_dict() for g in self.gaps],
                "assumed": [a.as_dict() for a in self.assumptions],
                "system_mermaid": system_mermaid(self.system)}


# -- input ---------------------------------------------------------------------------------------


def load_input(path: str | Path, overlay: str | Path | None = None, *, bom: bool | None = None,
               rules: RuleSet | None = None) -> System:
    """A system from ``path``: a CycloneDX ML-BOM (JSON with ``bomFormat``; forced with ``bom=True``)
    or a ``system.yaml``. An ``overlay`` is only for BOMs. A ``system.yaml`` that fails its schema check
    is refused with its free properties of the wrong type for ``rules`` (the bundled ones by default)
    named too, which :func:`build` would otherwise refuse on the next run."""
    path = Path(path)
    text = read_text(path)
    if bom or (bom is None and is_cyclonedx(text)):
        from .cyclonedx import load_cyclonedx

        if bom and not text.strip():  # JSON's "Expecting value" would not say the file has nothing in it
            raise FormatError(f"{path}:1: the file is empty")
        if bom and not text.lstrip().startswith(("{", "<")) and reads_as_mapping(text):
            # JSON's "Expecting value" at line 1 would hide what the file is
            raise FormatError(f"{path}: --bom reads a CycloneDX BOM in JSON; this file is YAML (a system "
                              "description? leave out --bom)")

        return load_cyclonedx(path, overlay)
    if is_spdx(text):  # else three 'unknown field' lines for the SBOM's top-level keys
        raise FormatError(f"{path}: an SPDX document: only a system.yaml or a CycloneDX 1.5-1.7 ML-BOM in JSON is "
                          "read (export the SBOM as CycloneDX JSON)")
    if overlay is not None:
        raise UsageError(f"{path}: an overlay completes a CycloneDX BOM; this is a system description")
    located = read_yaml(text, str(path))
    try:
        return system_from_located(located)
    except FormatError as exc:
        also = raw_property_problems(located, rules)
        if not also:
            raise
        raise FormatError("\n".join(merge_capped(str(exc).split("\n"), also))) from None


def component_lines(path: str | Path, system: System) -> dict[str, int]:
    """The line of each component in ``path``: its list item in a ``system.yaml`` or an overlay, its
    ``bom-ref`` in a CycloneDX JSON file. Components not found there are left out."""
    try:
        text = read_text(path)
    except FormatError:
        return {}
    if is_cyclonedx(text):
        out = bom_lines(text, str(path))
        found = {c.id: out[c.id] for c in system.components if c.id in out}
        # a data set a model card describes in place, with no bom-ref of its own, is at that model
        for a, b, _ in system.edges():
            if a not in found and b in found and system.component(a).kind == "dataset" \
                    and system.component(b).kind == "model":
                found[a] = found[b]
        return found
    try:
        located = read_yaml(text, str(path))
    except FormatError:
        return {}
    # By id, not position: an overlay lists only some of the system's components.
    items = (located.data or {}).get("components") if isinstance(located.data, dict) else None
    ids = {c.id for c in system.components}
    out = {}
    for i, item in enumerate(items if isinstance(items, list) else []):
        cid = item.get("id") if isinstance(item, dict) else None
        if cid in ids and ("components", i) in located.lines:
            out.setdefault(cid, located.lines[("components", i)])
    return out


def build(system: System, rules: RuleSet | None = None, *, k: int = 5, source: str = "system.yaml",
          lines: dict[str, int] | None = None, overlay: str | None = None,
          overlay_lines: dict[str, int] | None = None) -> ThreatModel:
    """Predict the techniques of ``system`` and find its ``k`` likeliest attack paths (none when ``k`` is 0);
    ``lines`` and ``overlay_lines`` locate its components (see :func:`component_lines`)."""
    from ..kb import bundled
    from .paths import TransitionModel, search_system

    if k < 0:
        raise UsageError(f"--paths must be 0 or more (got {k})")
    check_property_types(system, rules, source, lines, overlay, overlay_lines)
    prediction = predict(system, rules)
    for cid, mid, first, n in idle_controls(system, prediction):
        where = field_where(cid, "controls", source, lines, overlay, overlay_lines)
        more = f" (and {n - 1} more finding{'' if n == 2 else 's'} like it)" if n > 1 else ""
        warnings.warn(f"{where}: component '{cid}' lists {mid} in controls, but no finding counts it there: "
                      f"{first}{more}", stacklevel=2)
    for cid, mid in unused_controls(system, prediction):
        where = field_where(cid, "controls", source, lines, overlay, overlay_lines)
        warnings.warn(f"{where}: component '{cid}' lists {mid} in controls, but no finding of this system names "
                      "it, held or advised, so it is credited for nothing (ATLAS links it to none of the techniques "
                      "predicted here, or it would stop none of them)", stacklevel=2)
    paths: list[AttackPath] = []
    unreached: dict[str, tuple[str, ...]] = {}
    if k and prediction.technique_ids:
        found = search_system(system, prediction, TransitionModel.learn(bundled()), k=k)
        paths, unreached = found.paths, found.unreached
    return ThreatModel(system, prediction, tuple(paths), source, dict(lines or {}), overlay, dict(overlay_lines or {}),
                       unstated(system, rules, predicted={c.component: [f.technique_id for f in c.findings]
                                                          for c in prediction.components}), assumed(system),
                       tuple(unreached), unreached=unreached)


# -- JSON, Markdown, HTML --------------------------------------------------------------------------


def report_json(tm: ThreatModel) -> str:
    """The threat model as indented JSON."""
    return json.dumps(tm.as_dict(), indent=2, ensure_ascii=False) + "\n"


def report_html(tm: ThreatModel) -> str:
    """A self-contained HTML report (no script, nothing loaded from elsewhere): the system and each
    attack path drawn as inline SVG, their Mermaid source beside them."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("advmatrix.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("threatmodel.html.j2").render(
        tm=tm, p=tm.prediction, system_mermaid=system_mermaid(tm.system), system_svg=system_svg(tm.system),
        path_svg=lambda path, n: path_svg([(s.technique, s.name, s.tactic_name) for s in path.steps], f"path{n}"),
        evidence=evidence_text, aside=lambda component: component_aside(tm, component), gaps=gap_lines(tm),
        advised_on=advised_on, held_note=held_note, held_step=held_step, scores=dict(tm.prediction.scores),
        names={f.technique_id: technique_title(f.technique_id) for f in tm.prediction.findings},
        short_list=short_list(tm), prepares=prepares, preparation=PREPARATION, none_to_advise=none_to_advise,
        paths_note=PATHS_NOTE, colour=_TIER_COLOUR, version=__version__)


# -- Navigator layer -----------------------------------------------------------------------------


def layer(tm: ThreatModel) -> Any:
    """A Navigator layer: likely techniques score 2, possible ones 1; the comment gives, per
    component, the tier and the reasons."""
    from ..kb import build_layer, bundled

    scores: dict[str, float] = {}
    comments: dict[str, list[str]] = {}
    for f in tm.prediction.findings:
        scores[f.technique_id] = max(scores.get(f.technique_id, 0.0), _TIER_SCORE[f.tier])
        comments.setdefault(f.technique_id, []).append(f"{f.component} ({f.tier}): {'; '.join(f.reasons)}")
    return build_layer(bundled(), scores, name=f"advmatrix threat model: {tm.system.name}",
                         description="Techniques predicted for the system: 2 = likely, 1 = possible.",
                         # a tooltip, not a report: ten components, then how many more (the reports have all)
                         comments={t: " | ".join(c[:10]) + (f" | and {len(c) - 10} more components" if len(c) > 10
                                                            else "") for t, c in comments.items()},
                         legend={"possible": _TIER_COLOUR["possible"], "likely": _TIER_COLOUR["likely"]},
                         gradient=(_TIER_COLOUR["possible"], _TIER_COLOUR["likely"]), min_value=1, max_value=2,
                         metadata={"generator": "advmatrix", "system": tm.system.name})


def _tiered(prediction: Prediction, fail_on: str) -> list[TechniqueFinding]:
    if fail_on not in FAIL_ON:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON)} (got {fail_on!r})")
    return [f for f in prediction.findings if f.tier in FAIL_ON[fail_on]]


def description_warnings(system: System, rules: Any, source: str, lines: Mapping[str, int] | None = None,
                         overlay: str | None = None, overlay_lines: Mapping[str, int] | None = None) -> list[str]:
    """What a valid description may still get wrong, one line each (the command line and the web page
    both show them): free properties no rule reads that nearly name one, free properties on a kind the
    rules do not read them on, a model said not fine-tuned that a fine-tuning set flows into, and a system
    with no components ("0 techniques" alone would read as "nothing threatens it"). Each names the component's line (see
    :func:`component_lines`): in the overlay where it lists the component, else in ``source``."""
    from .gaps import misplaced_properties, misspelt_properties, property_where

    def at(cid: str) -> str:
        if overlay and overlay_lines and cid in overlay_lines:
            return f"{overlay}:{overlay_lines[cid]}"
        return f"{source}:{lines[cid]}" if lines and cid in lines else source

    def prop(cid: str, name: str) -> str:
        return property_where(cid, name, source, lines, overlay, overlay_lines)

    out = [f"{prop(cid, name)}: component '{cid}': properties.{name} is read by no rule (did you mean {near}?)"
           for cid, name, near in misspelt_properties(system, rules)]
    out += [f"{prop(cid, name)}: component '{cid}' ({system.component(cid).kind}): properties.{name} is read by the "
            "rules "
            f"only on {', '.join(kinds[:-1]) + ' or ' if len(kinds) > 1 else ''}{kinds[-1]} components; here it "
            "changes nothing"
            for cid, name, kinds in misplaced_properties(system, rules)]
    seen: dict[str, str] = {}
    for c in system.components:  # 'api' and 'API' both load; a flow naming one may have meant the other
        twin = seen.setdefault(unicodedata.normalize("NFKC", c.id).casefold(), c.id)
        if twin != c.id:
            out.append(f"{source}: components {twin!a} and {c.id!a} differ only in case or in how their characters "
                       "are encoded; flows and tool lists naming one may have meant the other")
        elif odd := mixed_script(c.id):
            out.append(f"{at(c.id)}: component {c.id!a} mixes Latin letters with {odd}, which only looks Latin; "
                       "flows and tool lists typed on a Latin keyboard will not name it")
    for c in system.of_kind("model"):  # a said 'no' the flows contradict: the rules read the 'no'
        tuning = [a for a in system.flows_into().get(c.id, ())
                  if "fine-tuning" in (system.component(a).get("used_for") or ())]
        if c.get("fine_tuned") is False and tuning:
            out.append(f"{at(c.id)}: component '{c.id}' says fine_tuned: false, yet {', '.join(tuning)} (used for "
                       "fine-tuning) flows into it; say which holds")
    for c in system.of_kind("llm-app"):
        # approval of actions where there are none to approve
        if c.get("autonomy") == "human-approval" and not c.get("tools"):
            out.append(f"{at(c.id)}: component '{c.id}' says autonomy: human-approval but calls no tools: there "
                       "are no actions to approve, so it changes nothing (a person reviewing every output is "
                       "not a field: say it in the description)")
        # a said 'no money' its own tools contradict: the rules read the 'no'
        paying = [t for t in c.get("tools") or () if system.component(t).properties.get("financial") is True]
        if c.properties.get("financial") is False and paying:
            out.append(f"{prop(c.id, 'financial')}: component '{c.id}' says properties.financial: false, yet its tool "
                       f"{', '.join(paying)} says financial: true; the app's financial harm (AML.T0048.000) is left "
                       "out while it says false: say which holds")
    for c in system.of_kind("retrieval-store"):  # a said 'each user's own' the flows contradict
        if c.get("partitioned") is True and (outsider := _fed_around_the_apps(system, c.id)):
            out.append(f"{at(c.id)}: component '{c.id}' says partitioned: true (each user's entries reach only their "
                       f"own prompts), yet {outsider}'s content flows into it other than through an app they use; "
                       "what they send lands in others' partitions, and the rules about planted entries are off: "
                       "leave partitioned out, or mark that flow trusted if it is checked")
    if not system.components:
        out.append(f"{source}: the description has no components, so nothing can be predicted")
    return out


def _fed_around_the_apps(system: System, store: str) -> str | None:
    """An outside party other than the app's users whose content reaches ``store`` over flows not marked
    trusted without passing an LLM app (opposing counsel's filings through a document-management intake; not
    a user uploading their own files, nor writing notes through the assistant)."""
    back, seen, queue = system.flows_into(untrusted=True), {store}, [store]
    while queue:
        for a in back.get(queue.pop(), ()):
            if a in seen or system.component(a).kind in ("llm-app", "adversary"):
                continue
            if system.component(a).kind == "external":
                if system.component(a).get("actor") != "user":
                    return a
                continue
            seen.add(a)
            queue.append(a)
    return None


def gate(prediction: Prediction, fail_on: str) -> list[TechniqueFinding]:
    """The findings that fail ``--fail-on``: of a counted tier, with mitigations to adopt that would stop
    them, none of those in place (a held telemetry log records the attack and clears nothing).

    A finding neither ATLAS nor its rule names a stopping mitigation for (an adversary opening
    accounts, most reconnaissance) is listed by :func:`unmitigable` instead: no control can clear it,
    so counting it would make a gate that never passes.
    """
    return [f for f in _tiered(prediction, fail_on) if f.preventive and not f.mitigated]


def unmitigable(prediction: Prediction, fail_on: str) -> list[TechniqueFinding]:
    """The findings of a counted tier that no mitigation stops: reported beside the gate, not in it."""
    return [f for f in _tiered(prediction, fail_on) if not f.preventive]


# -- writing -----------------------------------------------------------------------------------------


def render(tm: ThreatModel, formats: Iterable[str]) -> dict[str, str]:
    """The text of each output format asked for."""
    makers = {"json": report_json, "md": report_markdown, "html": report_html,
              "layer": lambda t: layer(t).to_json() + "\n",
              "sarif": lambda t: json.dumps(findings_sarif(t), indent=2) + "\n"}
    out = {}
    for name in formats:
        if name not in makers:
            raise UsageError(f"--format must be one of {', '.join([*FORMATS, 'all'])} (got {name!r})")
        out[name] = makers[name](tm)
    return out


def write_outputs(tm: ThreatModel, out_dir: str | Path | None, formats: Iterable[str],
                  extra: Mapping[str, tuple[str | Path, str]] | None = None,
                  read: Iterable[str | Path] = ()) -> dict[str, str]:
    """Render every format, then write each atomically into ``out_dir`` (``.`` when None), and each
    ``extra`` (name -> (path, text): the assess plan, the monitor config); returns name -> path.

    Every destination is checked before the first file is written, so a bad one (a directory in
    the way, a missing or read-only directory, the system, overlay or a file in ``read``) is a
    ``UsageError`` naming it and leaves none behind."""
    texts = render(tm, formats)
    out = Path(out_dir) if out_dir is not None else Path(".")
    destinations = {name: out / FORMATS[name] for name in texts}
    extra = dict(extra or {})
    every = {**destinations, **{name: Path(p) for name, (p, _) in extra.items()}}
    # Two outputs on one path, or an output on the file being read, would silently lose one of them.
    inputs = {Path(p).resolve(): p for p in (tm.source, tm.overlay, *read) if p and Path(p).exists()}
    taken: dict[Path, str] = {}
    for name, path in every.items():
        where = path.resolve()
        if where in inputs:
            raise UsageError(f"{path}: is the input {inputs[where]}; the {name} output would overwrite it")
        if where in taken and not is_special(path):  # two outputs into one pipe both arrive
            raise UsageError(f"{path}: both the {taken[where]} and the {name} output would be written there")
        taken[where] = name
    created = texts and not out.exists()
    for name, (path, _) in extra.items():
        if texts and Path(path).resolve() == out.resolve():
            raise UsageError(f"{path}: is the --out directory; the {name.replace('_', ' ')} needs a file name")
    for name, (path, _) in extra.items():
        # An --emit-... file may go into the --out directory this run is about to create.
        if not (created and Path(path).parent.resolve() == out.resolve()):
            try:
                check_writable(path)
            except UsageError as exc:  # which option gave the path, as --out's errors say
                raise UsageError(f"--emit-{name.replace('_', '-')} {exc}") from None
    if texts:
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out}: is a file, not a directory")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot create: {exc.strerror or exc}") from None
    try:
        for path in [*destinations.values(), *(Path(p) for p, _ in extra.values())]:
            check_writable(path)
    except UsageError:
        if created:  # nothing is written, so the directory this run made goes too
            out.rmdir()
        raise
    # Every file is written to its temporary copy first and the copies are renamed only when all are
    # written: a full disk or Ctrl-C part-way leaves the old set, not half of a new one.
    todo = {**{name: (destinations[name], text) for name, text in texts.items()}, **extra}
    try:
        with contextlib.ExitStack() as stack:
            for path, text in todo.values():
                if is_special(Path(path)):  # a device or pipe is written into, not renamed over
                    write_atomic(path, text)
                    continue
                try:
                    stack.enter_context(atomic_path(path)).write_text(text, encoding="utf-8")
                except OSError as exc:
                    raise UsageError(f"{path}: cannot write: {exc.strerror or exc}; nothing was written") from None
    except BaseException:
        # a write that failed (a full disk, /dev/full, Ctrl-C) leaves no empty directory of this run's behind
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise
    return {name: str(path) for name, (path, _) in todo.items()}
