"""Reading structured files and turning schema failures into one readable line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import FormatError, SchemaError, first_problem

M = TypeVar("M", bound=BaseModel)


def read_text(path: str | Path) -> str:
    """A file's text, or one FormatError line that says why it cannot be had."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FormatError(f"{path}: is a directory, expected a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: cannot read: {exc}") from None


def read_yaml(path: Path) -> Any:
    return parse_yaml(read_text(path), str(path))


def parse_yaml(text: str, source: str) -> Any:
    import yaml  # deferred: a warm start reads JSON and never needs it

    # libyaml is several times faster than the pure-Python parser; wheels normally include it.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FormatError(f"{source}: not valid YAML{where}: {problem}") from None


def dump_yaml(data: Any) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


def build(model: type[M], data: Any, source: str) -> M:
    """Validate ``data`` as ``model``; a failure names the file, the object ID and the field."""
    object_id = data.get("id", "") if isinstance(data, dict) else ""
    if not isinstance(data, dict):
        raise SchemaError(f"expected a mapping, found {type(data).__name__}", source=source)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        field, message = first_problem(exc)
        raise SchemaError(message, source=source, object_id=str(object_id), field=field) from None
