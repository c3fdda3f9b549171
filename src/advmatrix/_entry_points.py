"""Entry points of the installed distributions, read straight from their metadata folders.

``importlib.metadata`` does the same job, but importing it costs ~10 ms (it brings in the
``email`` package, ``socket`` and ``csv`` to parse metadata it does not need here) and finding
entry points ~4 ms more: about a fifth of ``advmatrix scan``'s start-up, and pipelines run that
command once per artifact (bench/RESULTS.md). Here: one directory listing per ``sys.path`` entry
and one small file per distribution that declares entry points. What is read is what
``importlib.metadata`` reads for ordinary installs (``*.dist-info`` and ``*.egg-info`` folders on
``sys.path``, the first distribution of a name winning); a test checks both agree. Distributions
that only a custom import finder knows of are not seen.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from functools import cache, lru_cache
from typing import Any


class EntryPoint:
    """One ``name = module:attr`` line of a distribution's ``entry_points.txt``. (A plain class:
    a dataclass costs more to define than this whole module takes to run.)"""

    __slots__ = ("_meta", "group", "name", "value")

    def __init__(self, name: str, value: str, group: str, meta: tuple[str, str]):
        self.name, self.value, self.group, self._meta = name, value, group, meta

    def __repr__(self) -> str:
        return f"EntryPoint({self.name!r}, {self.value!r}, {self.group!r}, {self.dist!r})"

    @property
    def dist(self) -> str:
        """The distribution's name as its metadata spells it (read when first asked for)."""
        return _dist_name(*self._meta)

    def load(self) -> Any:
        """Import the module and follow the attributes the value names."""
        module, _, attrs = self.value.partition(":")
        obj = importlib.import_module(module.strip())
        for attr in filter(None, attrs.strip().split(".")):
            obj = getattr(obj, attr)
        return obj


def entry_points(group: str) -> list[EntryPoint]:
    """Every entry point in ``group`` of the distributions on ``sys.path``."""
    return [ep for ep in _all(tuple(sys.path)) if ep.group == group]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@lru_cache(maxsize=4)
def _all(path: tuple[str, ...]) -> tuple[EntryPoint, ...]:
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for entry in path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for folder in names:
            if not folder.endswith((".dist-info", ".egg-info")):
                continue
            meta = os.path.join(entry or ".", folder)
            key = _normal(folder.rpartition(".")[0].partition("-")[0])
            if key in seen:
                continue
            seen.add(key)
            try:
                with open(os.path.join(meta, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            found += _parse(text, (meta, folder))
    return tuple(found)


@cache
def _dist_name(meta: str, folder: str) -> str:
    """The ``Name:`` of the metadata (folder names escape dashes), else the folder's."""
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(meta, filename), encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.startswith("Name:"):
                        return line[5:].strip()
                    if not line.strip():
                        break  # the headers end at the first blank line
        except OSError:
            continue
    return folder.rpartition(".")[0].partition("-")[0]


def _parse(text: str, dist: tuple[str, str]) -> list[EntryPoint]:
    out, group = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
        elif group is not None and "=" in line:
            name, _, value = line.partition("=")
            out.append(EntryPoint(name.strip(), value.strip(), group, dist))
    return out
