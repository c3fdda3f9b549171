"""Find procedures: subclasses in this package, and plugins in the ``advmatrix.plugins`` group."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings
from functools import lru_cache
from importlib.metadata import entry_points

from ..errors import UsageError
from ._base import Procedure


@lru_cache(maxsize=1)
def procedures() -> dict[str, type[Procedure]]:
    found: dict[str, type[Procedure]] = {}
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        _collect(module, found)
    for ep in entry_points(group="advmatrix.plugins"):
        try:
            _collect(ep.load(), found)
        except Exception as exc:  # a broken plugin must not break the tool
            warnings.warn(f"plugin {ep.name}: cannot load: {exc}", stacklevel=2)
    return dict(sorted(found.items()))


def _collect(obj: object, found: dict[str, type[Procedure]]) -> None:
    members = [obj] if inspect.isclass(obj) else [v for _, v in inspect.getmembers(obj, inspect.isclass)]
    for cls in members:
        if issubclass(cls, Procedure) and cls is not Procedure and getattr(cls, "name", None) \
                and not cls.__name__.startswith("_"):
            found[cls.name] = cls


def get(name: str) -> type[Procedure]:
    table = procedures()
    if name not in table:
        raise UsageError(f"unknown procedure '{name}' (known: {', '.join(table)})")
    return table[name]
