"""Which data sets a model learns from, and the controls that act on them.

Public through :mod:`advmatrix.threatmodel.predict` (the advice on a model's findings reads it).
"""

from __future__ import annotations

from .system import Component, System

__all__ = ["TRAINING_DATA", "own_training_sets", "trains"]

#: Controls of the data a model learns from (Sanitize Training Data, Maintain AI Dataset Provenance).
TRAINING_DATA = frozenset({"AML.M0007", "AML.M0025"})


def trains(c: Component) -> bool:
    """Whether a data set is said to train or fine-tune a model."""
    return bool({"training", "fine-tuning"} & set(c.get("used_for") or ()))


def own_training_sets(system: System, model: Component) -> tuple[Component, ...]:
    """The data sets ``model`` learns from: those used to train (or whose use is unstated) whose flows
    reach it without passing another model or an outside party (a preprocessing job between may)."""
    return system.memo("own-training-sets", lambda: _training_sets_by_model(system)).get(model.id, ())


def _training_sets_by_model(system: System) -> dict[str, tuple[Component, ...]]:
    # forward from each such data set, once per system: a walk back from every model crossed the whole
    # fan-in of a shared API per model (quadratic on a star of thousands of models)
    forward: dict[str, list[str]] = {}
    for a, b, _ in system.edges():
        forward.setdefault(a, []).append(b)
    out: dict[str, list[Component]] = {}
    for d in system.of_kind("dataset"):
        if not (trains(d) or not d.get("used_for")):  # unstated: it may train
            continue
        seen, todo = {d.id}, [d.id]
        while todo:
            for n in forward.get(todo.pop(), ()):
                c = system.component(n)
                if n in seen or c.kind == "external" or (c.kind == "dataset" and (trains(c) or not c.get("used_for"))):
                    continue  # another training set is its own start
                seen.add(n)
                if c.kind == "model":
                    out.setdefault(n, []).append(d)
                else:
                    todo.append(n)
    return {m: tuple(sorted(ds, key=lambda c: system.position(c.id))) for m, ds in out.items()}
