"""Targets from a URI on the command line or a YAML description.

URIs: ``torch:model.pt``, ``sklearn:model.skops``, ``onnx:model.onnx``,
``kserve+http://host:port/model``, ``tfserving+http://host:port/model``, and whatever schemes
installed target kinds answer. Anything the URI cannot say (class names, input range, a JSON
API's template) comes from a YAML file or overrides. The kind is looked up in the plugin
registry (:class:`advmatrix.targets.TargetKind`): by scheme for a URI, by ``protocol:`` for a
description.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

from ..errors import FormatError, UsageError
from ..plugins import registry
from ._base import Budget, Target


def open_target(spec: str | Path | dict, budget: Budget | None = None, **overrides: Any) -> Target:
    """A target from a URI, a path to a YAML description, or the description as a dict.

    Strings in the description may name environment variables as ``${NAME}`` (tokens stay out
    of files); ``overrides`` that are not None replace keys of the description.
    """
    desc, source = _described(spec)
    return _from_description(desc, budget, overrides, source)


def _is_file(text: str) -> bool:
    return text.endswith((".yaml", ".yml")) and "://" not in text


def _described(spec: str | Path | dict) -> tuple[dict, str]:
    """The description ``spec`` gives (itself, a .yaml file's mapping, or what a URI stands for) and the
    name its errors start with."""
    if isinstance(spec, dict):
        return spec, "<description>"
    text = str(spec)
    if _is_file(text):
        from ..kb._io import read_yaml

        desc = read_yaml(Path(text))
        if not isinstance(desc, dict):
            raise FormatError(f"{text}: a target description must be a mapping")
        return desc, text
    return _from_uri(text), text


def schemes() -> dict[str, type]:
    """Every URI scheme a registered target kind answers, with the kind."""
    return {scheme: kind for kind in registry("target").values() for scheme in kind.schemes}


def _from_uri(text: str) -> dict[str, Any]:
    scheme, colon, _ = text.partition(":")
    known = schemes()
    if not colon or scheme not in known:
        listed = ", ".join(f"{s}://" if "+" in s else f"{s}:" for s in known)
        raise UsageError(f"{text}: not a target URI ({listed}) or a .yaml description")
    return known[scheme].from_uri(text)


def _env(value: Any, source: str = "", key: str = "") -> Any:
    """``${NAME}`` in strings comes from the environment, so tokens stay out of files; a name
    that is not set is an error naming it and the key, not an empty token sent in silence."""
    if isinstance(value, str):
        def expand(m: re.Match) -> str:
            if m.group(1) not in os.environ:
                raise UsageError(f"{source}: '{key}' uses ${{{m.group(1)}}}, which is not set in the environment")
            return os.environ[m.group(1)]

        return re.sub(r"\$\{(\w+)\}", expand, value)
    if isinstance(value, dict):
        return {k: _env(v, source, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_env(v, source, f"{key}[{i}]") for i, v in enumerate(value)]
    return value


def _from_description(desc: dict, budget: Budget | None, overrides: dict, source: str) -> Target:
    desc = _env({**desc, **{k: v for k, v in overrides.items() if v is not None}}, source)
    return _kind(desc, source).open(desc, budget, source)


def _kind(desc: dict, source: str) -> type:
    kinds = registry("target")
    protocol = desc.get("protocol")
    kind = kinds.get(protocol) if isinstance(protocol, str) else None
    if kind is None:
        close = difflib.get_close_matches(str(protocol), kinds, n=1) if isinstance(protocol, str) else []
        hint = f"did you mean '{close[0]}'? " if close else ""
        typo = difflib.get_close_matches("protocol", [k for k in desc if isinstance(k, str)], n=1)
        said = (f"no 'protocol' given{f' (is {typo[0]!r} meant to be it?)' if typo else ''}" if protocol is None
                else f"unknown protocol {protocol!r}")
        raise UsageError(f"{source}: {said} ({hint}known: {', '.join(kinds)})")
    return kind


def check_target_spec(spec: str) -> None:
    """Check a target given as a URI or a .yaml path without opening it: a URI's scheme is known and
    a description file reads and describes a known protocol (``assess --check``)."""
    desc, source = _described(spec)
    if _is_file(source):  # a URI's description is its scheme's own: a known scheme is all there is to check
        check_description(desc, source)


def check_description(desc: dict, source: str) -> None:
    """Check a target description without opening it: its environment variables are set, its protocol
    is known and its keys and values are that protocol's. Each problem is the one line
    :func:`open_target` would give, raised before anything is sent (a judge model in a plan)."""
    desc = _env(dict(desc), source)
    kind = _kind(desc, source)
    check = getattr(kind, "check", None)
    if check is not None:
        check(desc, source)


__all__ = ["check_description", "check_target_spec", "open_target", "schemes"]
