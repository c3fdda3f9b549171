"""ATT&CK Navigator layers on the ATLAS domain: build and write (format 4.3, which the hosted ATLAS
Navigator reads), read (any 4.x a Navigator writes)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import FormatError, UnknownObjectError, first_problem
from ._ids import tactic_shortname
from ._io import read_text
from ._matrix import Matrix

DOMAIN = "atlas-atlas"
# The hosted ATLAS Navigator (mitre-atlas/atlas-navigator, Navigator 4.7.1) alerts on import when
# versions.layer is not "4.3"; ATT&CK Navigator 4.9+ (format 4.5) reads a 4.3 layer whole, with a
# passing "out of date" note: 4.4 and 4.5 only added fields. Every field we write is in format 4.3
# but layout.expandedSubtechniques (see build_layer). No Navigator checks versions.navigator; "4.7.1"
# is what the hosted ATLAS Navigator writes beside layer 4.3 (MITRE's own ATLAS layers say 4.6.4).
LAYER_VERSION = "4.3"
NAVIGATOR_VERSION = "4.7.1"
# Neither end is white: a Navigator draws a technique with no entry white, so a lowest score drawn
# white would read as "not in this layer".
DEFAULT_GRADIENT = ("#ffe0e0", "#ff6666")
#: The colour of a measured nothing (an attack tried that failed, a procedure the gateway missed).
MEASURED_NONE = "#e6e6e6"


class _Layer(BaseModel):
    # Layers come from many tools; unknown fields are kept, not rejected.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class MetadataItem(_Layer):
    name: str = ""
    value: str = ""
    divider: bool | None = None


class LayerTechnique(_Layer):
    techniqueID: str  # noqa: N815 - names follow the layer format
    tactic: str | None = None
    score: float | None = None
    color: str = ""
    comment: str = ""
    enabled: bool = True
    metadata: list[MetadataItem] = Field(default_factory=list)
    links: list[dict[str, Any]] = Field(default_factory=list)
    showSubtechniques: bool = False  # noqa: N815

    @field_validator("score", mode="before")
    @classmethod
    def _blank_score(cls, v: Any) -> Any:
        return None if v == "" else v


class Gradient(_Layer):
    colors: list[str] = Field(default_factory=lambda: list(DEFAULT_GRADIENT), min_length=2)
    minValue: float = 0  # noqa: N815
    maxValue: float = 1  # noqa: N815


class LegendItem(_Layer):
    label: str
    color: str


class Layer(_Layer):
    """An ATT&CK Navigator layer (format 4.x): a score, colour and comment per technique."""

    name: str
    domain: str = DOMAIN
    description: str = ""
    versions: dict[str, str] = Field(default_factory=lambda: {"layer": LAYER_VERSION, "navigator": NAVIGATOR_VERSION})
    techniques: list[LayerTechnique] = Field(default_factory=list)
    gradient: Gradient = Field(default_factory=Gradient)
    legendItems: list[LegendItem] = Field(default_factory=list)  # noqa: N815
    metadata: list[MetadataItem] = Field(default_factory=list)
    sorting: int = 0
    hideDisabled: bool = False  # noqa: N815
    showTacticRowBackground: bool = False  # noqa: N815
    selectTechniquesAcrossTactics: bool = True  # noqa: N815
    selectSubtechniquesWithParent: bool = False  # noqa: N815

    def scores(self) -> dict[str, float]:
        """Score per technique ID (the highest where a technique appears under several tactics)."""
        out: dict[str, float] = {}
        for t in self.techniques:
            if t.score is not None:
                out[t.techniqueID] = max(t.score, out.get(t.techniqueID, t.score))
        return out

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True)


def gradient(colors: list[str] | tuple[str, ...], low: float, high: float) -> Callable[[float], str]:
    """The colour of a score on a layer's gradient (``#rrggbb``), as the Navigator draws it:
    stops spread evenly from ``low`` to ``high``, scores outside clamped.

    >>> gradient(("#ffffff", "#ff6666"), 0, 1)(0.5)
    '#ffb2b2'
    """
    def rgb(h: str) -> tuple[int, ...]:
        h = h.lstrip("#")
        return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4)) if len(h) == 6 else (255, 255, 255)

    stops = [rgb(c) for c in colors] or [rgb(c) for c in DEFAULT_GRADIENT]

    def colour(score: float) -> str:
        t = 0.0 if high <= low else min(max((score - low) / (high - low), 0.0), 1.0)
        pos = t * (len(stops) - 1)
        i = min(int(pos), len(stops) - 2) if len(stops) > 1 else 0
        a, b = stops[i], stops[min(i + 1, len(stops) - 1)]
        return "#{:02x}{:02x}{:02x}".format(*(round(a[k] + (b[k] - a[k]) * (pos - i)) for k in range(3)))

    return colour


def best_scores(rows: Iterable[tuple[Iterable[str], float | None]]) -> dict[str, float]:
    """The best score per technique over rows of (technique IDs, score); rows without a score
    are passed over. Every matrix view folds results this way (a technique counts as reached as
    soon as one procedure reached it).

    >>> best_scores([(["AML.T0015"], 0.2), (["AML.T0015", "AML.T0043"], 0.9), (["AML.T0024"], None)])
    {'AML.T0015': 0.9, 'AML.T0043': 0.9}
    """
    out: dict[str, float] = {}
    for ids, score in rows:
        if score is None:
            continue
        for tid in ids:
            out[tid] = max(out.get(tid, score), score)
    return out


def build_layer(matrix: Matrix, scores: Mapping[str, float], *, name: str, description: str = "",
                comments: Mapping[str, str] | None = None,
                metadata: Mapping[str, str] | None = None,
                technique_metadata: Mapping[str, Mapping[str, str]] | None = None,
                legend: Mapping[str, str] | None = None,
                gradient: tuple[str, ...] = DEFAULT_GRADIENT,
                min_value: float | None = None, max_value: float | None = None,
                strict: bool = True) -> Layer:
    """A layer with one entry per (technique, tactic) so every cell the Navigator draws is
    scored; sub-techniques appear under their parent's tactics, and every parent of a scored
    sub-technique opens unfolded (``showSubtechniques``), with an unscored entry where it has no score.

    Every layer advmatrix writes is built here, so this is the one place that decides how they open."""
    comments = comments or {}
    technique_metadata = technique_metadata or {}
    for tid in scores:
        if tid not in matrix and strict:
            raise UnknownObjectError(tid, "scores may only name techniques of the matrix")
    known = [tid for tid in scores if tid in matrix]
    parents = {p for tid in known if (p := matrix.technique(tid).parent)}
    entries = [LayerTechnique(techniqueID=tid, tactic=tactic, score=scores[tid], comment=comments.get(tid, ""),
                              metadata=[MetadataItem(name=k, value=str(v))
                                        for k, v in technique_metadata.get(tid, {}).items()],
                              showSubtechniques=tid in parents)
               for tid in known for tactic in _tactics(matrix, tid)]
    # A Navigator opens each parent folded unless its entry says otherwise, and the hosted ATLAS
    # Navigator (4.7.1) ignores layout.expandedSubtechniques; so a scored sub-technique under an
    # unscored parent needs an entry for that parent, under each tactic it is drawn in, only to unfold it.
    entries += [LayerTechnique(techniqueID=parent, tactic=tactic, showSubtechniques=True)
                for parent in sorted(parents - set(known)) for tactic in _tactics(matrix, parent)]
    values = list(scores.values())
    low = min_value if min_value is not None else (min(values) if values else 0)
    high = max_value if max_value is not None else (max(values) if values else 1)
    if high <= low:  # one distinct value: put it at the top of a 0-based scale, not the bottom
        low = min(low, 0.0)
        high = high if high > low else low + 1
    return Layer(
        name=name, description=description, techniques=entries,
        # expandedSubtechniques is the one field here format 4.3 lacks (4.5 added it); kept knowingly:
        # 4.7.1 skips layout keys it does not know, and 4.9+ reads it whatever version a layer declares,
        # so its sub-technique control opens on "annotated", matching what showSubtechniques unfolds.
        layout={"layout": "side", "showID": True, "showName": True, "expandedSubtechniques": "annotated"},
        gradient=Gradient(colors=list(gradient), minValue=low, maxValue=high),
        legendItems=[LegendItem(label=k, color=v) for k, v in (legend or {}).items()],
        metadata=[MetadataItem(name="atlas_version", value=matrix.version),
                  *(MetadataItem(name=k, value=str(v)) for k, v in (metadata or {}).items())],
    )


def _tactics(matrix: Matrix, technique_id: str) -> tuple[str | None, ...]:
    """The tactic shortnames a technique is drawn under (a sub-technique: its parent's); ``None``,
    meaning every tactic, for one the matrix lists under none."""
    return tuple(tactic_shortname(t.name) for t in matrix.tactics_of(technique_id)) or (None,)


def case_study_layer(matrix: Matrix) -> Layer:
    """How often each technique appears in the matrix's case studies: where real attacks went."""
    counts: dict[str, float] = {}
    comments: dict[str, str] = {}
    for technique in matrix.techniques:
        used = matrix.case_studies_using(technique.id)
        if used:
            counts[technique.id] = len(used)
            comments[technique.id] = ", ".join(c.id for c in used)
    # The scale starts at 1 in a visible colour: a technique used once must not look unscored (white).
    stops = ("#ffd8d8", "#ff8a8a", "#c81e1e")
    most = int(max(counts.values(), default=1))
    at = gradient(stops, 1, most)
    marks = sorted({1, (1 + most) // 2, most})
    return build_layer(matrix, counts, name=f"ATLAS {matrix.version}: techniques seen in case studies",
                       description="Score = number of case studies whose procedure uses the technique.",
                       comments=comments, legend={("used once" if n == 1 else f"used {n} times"): at(n) for n in marks},
                       gradient=stops, metadata={"generator": "advmatrix"}, min_value=1, max_value=max(most, 2))


def maturity_layer(matrix: Matrix) -> Layer:
    """Techniques scored by maturity: 1 feasible, 2 demonstrated, 3 realized in the wild."""
    levels = {"feasible": 1, "demonstrated": 2, "realized": 3}
    scores = {t.id: levels[t.maturity] for t in matrix.techniques if t.maturity}
    return build_layer(matrix, scores, name=f"ATLAS {matrix.version}: technique maturity",
                       description="1 = feasible, 2 = demonstrated, 3 = realized.",
                       legend={"feasible": "#fff3b0", "demonstrated": "#f4a259", "realized": "#bc4b51"},
                       gradient=("#fff3b0", "#f4a259", "#bc4b51"), min_value=1, max_value=3,
                       metadata={"generator": "advmatrix"})


def loads(text: str, source: str = "<string>") -> Layer:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    if isinstance(data, list):  # the Navigator can download several layers into one file
        if not data:
            raise FormatError(f"{source}: an empty list holds no layer")
        data = data[0]
    if not isinstance(data, dict):
        raise FormatError(f"{source}: a layer must be a JSON object")
    try:
        return Layer.model_validate(data)
    except ValidationError as exc:
        where, message = first_problem(exc)
        raise FormatError(f"{source}: not a Navigator layer: field '{where}': {message}") from None


def load(path: str | Path) -> Layer:
    return loads(read_text(path), str(path))
