"""One registry for every kind of plugin: procedures, detectors, responses, target kinds, wire
protocols and scanner formats.

A plugin is a class that declares itself with class attributes (:class:`Plugin`): its name, a
title, the ATLAS technique or mitigation IDs it stands for, its parameters as a pydantic model,
the optional extras it needs and the named context it needs (a reference sample, a system
prompt). Each kind has a base class; the registry finds the non-abstract subclasses in the
kind's own package (modules whose names start with ``_`` are skipped) and in the kind's
entry-point group, so a third-party package adds one by naming it in its metadata::

    [project.entry-points."advmatrix.detectors"]
    my-detector = "my_package.detectors"

The registry imports nothing of the engines until a kind is asked for, so the core stays at
the bottom of the layers.

>>> from advmatrix.plugins import KINDS
>>> sorted(KINDS)
['detector', 'procedure', 'protocol', 'response', 'scan-format', 'target']
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ._entry_points import _all as _all_entry_points
from ._entry_points import entry_points
from ._extras import missing_extras
from .errors import UsageError, first_problem

if TYPE_CHECKING:
    from pydantic import ValidationError

# pydantic is imported only by plugins that have parameters: `advmatrix scan` runs once per
# artifact in pipelines and its formats take none, so it never pays for the import.


def __getattr__(name: str) -> Any:
    if name == "NoParams":
        from pydantic import BaseModel, ConfigDict

        class NoParams(BaseModel):
            """Parameters of a plugin that takes none: any key is an error."""

            model_config = ConfigDict(extra="forbid")

        globals()["NoParams"] = NoParams
        return NoParams
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def validation_message(exc: ValidationError) -> str:
    """The first problem of a pydantic error as ``'field.path': message`` (one line)."""
    where, message = first_problem(exc)
    return f"'{where}': {message}" if where else message


class Plugin:
    """What every plugin declares. Subclasses of a kind's base set these as class attributes;
    the docstring of a plugin is its description for users."""

    kind: ClassVar[str] = ""                        # set by each kind's base class
    name: ClassVar[str]                             # unique within its kind
    title: ClassVar[str]
    technique_ids: ClassVar[tuple[str, ...]] = ()   # ATLAS techniques it emulates, detects or finds
    mitigation_ids: ClassVar[tuple[str, ...]] = ()  # ATLAS mitigations it implements
    Params: ClassVar[Any] = None                    # a pydantic model; None: takes no parameters
    extras: ClassVar[tuple[str, ...]] = ()          # advmatrix extras it needs (pyproject names)
    context: ClassVar[tuple[str, ...]] = ()         # named context it needs (see CONTEXT)

    @classmethod
    def parse_params(cls, params: Mapping[str, Any] | None = None) -> Any:
        """Validate parameters against ``Params``; a bad one is a one-line :class:`UsageError`.
        Returns the validated model (None for a plugin that takes no parameters)."""
        if cls.Params is None:
            if params:
                raise UsageError(f"{cls.kind} {cls.name}: takes no parameters (got {', '.join(map(repr, params))})")
            return None
        import json

        from pydantic import ValidationError

        try:
            try:
                text = json.dumps(dict(params or {}), allow_nan=False)
            except (TypeError, ValueError):  # not plain data (given from Python): pydantic's usual coercion
                return cls.Params(**dict(params or {}))
            # Strict, read as JSON: a file's "yes" is no boolean, true no count and "4" no number (lax
            # validation took all three), while a list still fills a tuple and 2 a float.
            return cls.Params.model_validate_json(text, strict=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            if first.get("type") == "extra_forbidden" and len(first.get("loc", ())) == 1:
                # a slip of a parameter's name: say which it takes, as the schema errors do
                import difflib

                name, known = str(first["loc"][0]), sorted(cls.Params.model_fields)
                near = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
                hint = f"did you mean '{near[0]}'? " if near else ""
                raise UsageError(f"{cls.kind} {cls.name}: unknown parameter '{name}' ({hint}it takes "
                                 f"{', '.join(known)})") from None
            raise UsageError(f"{cls.kind} {cls.name}: parameter {validation_message(exc)}") from None
        except TypeError as exc:  # keys that are not strings
            raise UsageError(f"{cls.kind} {cls.name}: parameters: {exc}") from None

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """What ``advmatrix plugins`` shows: identity, IDs, needs, parameters, availability."""
        lacking = missing_extras(cls.extras)
        return {"kind": cls.kind, "name": cls.name, "title": cls.title,
                "description": inspect.cleandoc(cls.__doc__ or ""),
                "technique_ids": list(cls.technique_ids), "mitigation_ids": list(cls.mitigation_ids),
                "extras": list(cls.extras), "context": list(cls.context),
                "params": {} if cls.Params is None else cls.Params.model_json_schema().get("properties", {}),
                "available": not lacking, "missing_extras": lacking, "source": origin(cls)}


#: context names plugins may declare, with what a user supplies for each
CONTEXT: dict[str, str] = {
    "reference": ".npy of natural inputs (a sample of what legitimate clients send)",
    "members": ".npy of the model's training inputs",
    "system_prompt": "the application's system prompt (text)",
}


class Context:
    """Named data that plugins declare they need, supplied once by whoever builds them (the
    gateway's configuration, a test, a user's script).

    A plugin asks with :meth:`need`; a missing item is one line naming the plugin and how to
    supply it.

    >>> ctx = Context({"system_prompt": "You are a helpful assistant."})
    >>> ctx.need("system_prompt", "detector demo")
    'You are a helpful assistant.'
    >>> "reference" in ctx
    False
    """

    def __init__(self, values: Mapping[str, Any] | None = None, *, where: str = "the configuration's 'context'"):
        self._values = dict(values or {})
        self.where = where

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def names(self) -> list[str]:
        """The context items supplied."""
        return sorted(self._values)

    def need(self, name: str, who: str) -> Any:
        """The item ``name`` for plugin ``who``; raises :class:`UsageError` when it is missing."""
        if name not in self._values:
            hint = CONTEXT.get(name, "")
            raise UsageError(f"{who} needs context '{name}'{f' ({hint})' if hint else ''}: set it in {self.where}")
        return self._values[name]


def load_array(path: str | Path, what: str) -> Any:
    """A numeric ``.npy`` array of inputs ``(n, features...)``, read without pickle."""
    import numpy as np

    p = Path(path)
    # a pipe would be waited on for ever and a device read to the end: only a regular file is opened
    if not p.exists():
        raise UsageError(f"{what} '{path}': no such file")
    if not p.is_file():
        raise UsageError(f"{what} '{path}': not a regular file (a directory, a pipe or a device); give a .npy file")
    try:
        array = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise UsageError(f"{what} '{path}': not a .npy array ({exc})") from None
    if not isinstance(array, np.ndarray) or array.ndim < 2 or not np.issubdtype(array.dtype, np.number) \
            or len(array) == 0:
        raise UsageError(f"{what} '{path}': expected a non-empty numeric array of inputs (n, features...), "
                         f"got shape {getattr(array, 'shape', '?')} and dtype {getattr(array, 'dtype', '?')}")
    if np.iscomplexobj(array) or not np.isfinite(array).all():
        # a NaN threshold is never exceeded: a detector fitted on it would watch and never alert
        bad = "complex values" if np.iscomplexobj(array) else "NaN or infinite values"
        raise UsageError(f"{what} '{path}': holds {bad}; inputs are finite real numbers")
    return array


# -- kinds ---------------------------------------------------------------------------------------

class Kind:
    """Where plugins of one kind come from: the base class (``"module:Class"``), the packages
    searched for plugin modules, the entry-point groups (the first is the documented one), and
    the ID attribute its plugins must fill (empty: none required)."""

    __slots__ = ("base", "groups", "ids", "name", "packages")

    def __init__(self, name: str, base: str, packages: tuple[str, ...], groups: tuple[str, ...],
                 ids: str = "technique_ids"):
        self.name, self.base, self.packages, self.groups, self.ids = name, base, packages, groups, ids

    def base_class(self) -> type:
        module, _, attr = self.base.partition(":")
        return getattr(importlib.import_module(module), attr)


KINDS: dict[str, Kind] = {k.name: k for k in (
    # "advmatrix.plugins" was the procedures' group before every kind had its own; still read
    Kind("procedure", "advmatrix.emulate._base:Procedure", ("advmatrix.emulate",),
         ("advmatrix.procedures", "advmatrix.plugins")),
    Kind("detector", "advmatrix.detect._base:Detector", ("advmatrix.detect",), ("advmatrix.detectors",)),
    Kind("response", "advmatrix.respond._base:Response", ("advmatrix.respond",), ("advmatrix.responses",),
         ids="mitigation_ids"),
    Kind("target", "advmatrix.targets._kinds:TargetKind", ("advmatrix.targets",), ("advmatrix.targets",), ids=""),
    Kind("protocol", "advmatrix.protocols._base:Protocol", ("advmatrix.protocols",), ("advmatrix.protocols",),
         ids=""),
    Kind("scan-format", "advmatrix.scan._format:Format", ("advmatrix.scan",), ("advmatrix.scan_formats",)),
)}

_lock = threading.RLock()
_cache: dict[str, dict[str, type]] = {}
_origins: dict[type, str] = {}


def kind(name: str) -> Kind:
    """The :class:`Kind` called ``name``; unknown names are a one-line error."""
    if name not in KINDS and name.removesuffix("s") in KINDS:  # 'detectors' for 'detector'
        name = name.removesuffix("s")
    try:
        return KINDS[name]
    except KeyError:
        raise UsageError(f"unknown plugin kind '{name}' (known: {', '.join(KINDS)})") from None


def registry(kind_name: str) -> dict[str, type]:
    """Every plugin of one kind by name: built-ins first, then entry points, sorted by name."""
    with _lock:
        if kind_name not in _cache:
            _cache[kind_name] = _discover(kind(kind_name))
        return _cache[kind_name]


def get(kind_name: str, name: str) -> type:
    """The plugin ``name`` of a kind; an unknown name is a one-line error with a suggestion."""
    table = registry(kind_name)
    if name in table:
        return table[name]
    import difflib

    close = difflib.get_close_matches(name, table, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise UsageError(f"unknown {kind_name} '{name}' ({hint}known: {', '.join(table)})")


def everything() -> dict[str, dict[str, type]]:
    """All kinds with their plugins."""
    return {name: registry(name) for name in KINDS}


def origin(cls: type) -> str:
    """``advmatrix`` for built-ins, else the distribution (or module) that provided the plugin."""
    return _origins.get(cls, "advmatrix" if cls.__module__.startswith("advmatrix.") else cls.__module__)


def clear_cache() -> None:
    """Forget what was discovered (after installing a plugin package into a running process)."""
    with _lock:
        _cache.clear()
        _all_entry_points.cache_clear()


def _discover(k: Kind) -> dict[str, type]:
    base = k.base_class()
    found: dict[str, type] = {}
    for package_name in k.packages:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                _collect(importlib.import_module(f"{package_name}.{info.name}"), base, found, "advmatrix")
    for group in k.groups:
        for ep in entry_points(group=group):
            source = ep.dist
            try:
                loaded = ep.load()
            except Exception as exc:
                warnings.warn(f"{k.name} plugin '{ep.name}' from {source}: cannot load: "
                              f"{exc.__class__.__name__}: {exc}", stacklevel=2)
                continue
            _collect(loaded, base, found, source)
    return dict(sorted(found.items()))


def _collect(obj: object, base: type, found: dict[str, type], source: str) -> None:
    members = [obj] if inspect.isclass(obj) else [v for _, v in inspect.getmembers(obj, inspect.isclass)]
    for cls in members:
        # a plugin names itself; bases and helpers that do not are skipped
        if not (issubclass(cls, base) and cls is not base and "name" in vars(cls)) or cls.__name__.startswith("_"):
            continue
        if inspect.isabstract(cls):
            continue
        known = found.get(cls.name)
        if known is not None and known is not cls:
            warnings.warn(f"{base.kind if hasattr(base, 'kind') else ''} plugin '{cls.name}' from {source} "
                          f"clashes with the one from {origin(known)}; keeping the first", stacklevel=3)
            continue
        found[cls.name] = cls
        if source != "advmatrix":
            _origins[cls] = source


__all__ = ["CONTEXT", "KINDS", "Context", "Kind", "Plugin", "clear_cache", "everything", "get",
           "kind", "load_array", "origin", "registry", "validation_message"]
