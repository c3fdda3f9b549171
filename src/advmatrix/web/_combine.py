"""A layer made from other layers: a score expression evaluated per technique."""

from __future__ import annotations

from collections.abc import Mapping

from ..kb import Matrix, build_layer
from ..kb.layer import Layer
from ._expr import Expression


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def combine(matrix: Matrix, expression: Expression, layers: Mapping[str, Layer], *, name: str | None = None) -> Layer:
    """Per technique scored in any of ``layers`` (variable -> layer), the value of ``expression``
    with each layer's score for it (0 where the layer does not score it). A technique listed under
    several tactics takes its highest score, as the layer's own ``scores()`` reads it."""
    per_layer = {var: layer.scores() for var, layer in layers.items()}
    techniques = sorted({tid for scores in per_layer.values() for tid in scores if tid in matrix})
    scores: dict[str, float] = {}
    comments: dict[str, str] = {}
    undefined = []
    for tid in techniques:
        values = {var: s.get(tid, 0.0) for var, s in per_layer.items()}
        result = expression.evaluate(values)
        if result is None:
            undefined.append(tid)
            continue
        scores[tid] = result
        comments[tid] = ", ".join(f"{var}={_number(v)}" for var, v in sorted(values.items()))
    legend_of = ", ".join(f"{var} = {layers[var].name}" for var in sorted(layers))
    description = f"Score = {expression.text}, where {legend_of}; a technique missing from a layer counts as 0."
    if undefined:
        description += f" Unscored where the expression divides by zero: {', '.join(undefined)}."
    return build_layer(matrix, scores, name=name or f"Combined: {expression.text}", description=description,
                       comments=comments, metadata={"generator": "advmatrix", "expression": expression.text},
                       strict=False)
