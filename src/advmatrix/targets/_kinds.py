"""Target kinds: how a URI or a YAML description becomes a :class:`Target`.

A target kind is a plugin: its ``name`` is the value of ``protocol:`` in a description, its
``schemes`` the URI schemes it answers (``kserve+http``, ``torch``). :func:`open_target` finds
both in the registry, so a kind from another package (entry-point group ``advmatrix.targets``)
works with no change here::

    class MyKind(TargetKind):
        \"\"\"Models on my platform.\"\"\"
        name, title, schemes = "mine", "My platform", ("mine",)

        @classmethod
        def open(cls, description, budget, source):
            info = cls.target_info(description, description["path"])
            return MyTarget(description["path"], info, budget)
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ..errors import UsageError
from ..plugins import Plugin
from ._base import Access, Budget, OutputKind, Target, TargetInfo

#: description keys that tune the HTTP transport (see :class:`advmatrix.targets.HttpTarget`)
HTTP_OPTIONS = ("max_batch", "concurrency", "timeout", "retries", "backoff", "headers")


class DescriptionParams(BaseModel):
    """The keys every target description may have; kinds add their own. Any other key is an
    error: a misspelt ``input_shpe`` must not be ignored in silence."""

    model_config = ConfigDict(extra="forbid")
    protocol: str | None = Field(None, description="the target kind")
    path: str | None = Field(None, description="the model file, for kinds that read one")
    name: str | None = Field(None, description="how reports name the target")
    classes: list[Any] | None = Field(None, description="class names, in output order")
    n_classes: int | None = Field(None, ge=1, description="number of classes, when names are unknown")
    input_shape: list[int] | None = Field(None, description="one sample's shape, without the batch dimension")
    output: str | None = Field(None, description="probabilities, logits, labels or top-k")
    access: str | None = Field(None, description="white-box, grey-box or black-box")
    modality: str | None = Field(None, description="image, tabular or text")
    input_range: list[float] | None = Field(None, description="[low, high] of valid input values")
    dtype: str | None = Field(None, description="input dtype (float32)")
    headers: dict[str, str] | None = Field(None, description="HTTP headers; ${ENV} expands")
    max_batch: int | None = Field(None, ge=1, description="most samples per request")
    concurrency: int | None = Field(None, ge=1, description="requests in flight")
    timeout: float | None = Field(None, gt=0, description="seconds per request")
    retries: int | None = Field(None, ge=0, description="retries on 429, 5xx and timeouts")
    backoff: float | None = Field(None, ge=0, description="first retry delay in seconds (doubles)")


def natural(description: dict[str, Any]) -> dict[str, Any]:
    """The description with the forms people write by hand made canonical: ``classes: 10``
    means ten unnamed classes, ``input_shape: 64`` a one-dimensional input."""
    out = dict(description)
    classes = out.get("classes")
    if isinstance(classes, int) and not isinstance(classes, bool):
        del out["classes"]
        out.setdefault("n_classes", classes)
    shape = out.get("input_shape")
    if isinstance(shape, int) and not isinstance(shape, bool):
        out["input_shape"] = [shape]
    return out


#: what a value of each JSON-schema type is, for messages
_WANTED = {"number": "a number", "integer": "a whole number", "string": "text", "array": "a list",
           "object": "a mapping (key: value)", "boolean": "true or false"}


_BOUNDS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _problem(params: type[BaseModel], exc: Any) -> str:
    """One line for the first problem of a validation error: the key, what it must be (from
    the key's type and description) and what it was."""
    error = exc.errors()[0]
    loc = [str(p) for p in error["loc"]]
    key = loc[0] if loc else ""
    where = ".".join(loc)
    field = params.model_fields.get(key)
    kind = error["type"]
    typed = kind.endswith(("_type", "_parsing")) or kind in _BOUNDS
    if field is None or len(loc) > 1 or not key or not typed:  # a validator's own message says it best
        return f"'{where}': {error['msg']}" if where else error["msg"]
    schema = params.model_json_schema()["properties"].get(key, {})
    kinds = [s.get("type") for s in schema.get("anyOf", [schema]) if s.get("type") not in (None, "null")]
    wanted = " or ".join(_WANTED.get(k, k) for k in kinds)
    if kind in _BOUNDS:
        wanted = f"{wanted}, {error['msg'].lower().removeprefix('input should be ')}" if wanted else error["msg"]
    about = f" ({field.description})" if field.description else ""
    return f"'{key}' must be {wanted or 'valid'}{about}, not {error.get('input')!r}"


class TargetKind(Plugin):
    """Base of every target kind. Kinds are used through their classmethods, never instantiated."""

    kind = "target"
    Params: ClassVar[type[BaseModel]] = DescriptionParams
    #: URI schemes this kind answers (``torch`` for ``torch:model.pt``)
    schemes: ClassVar[tuple[str, ...]] = ()
    #: description keys that must be present
    required: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_uri(cls, uri: str) -> dict[str, Any]:
        """The description a URI stands for; by default ``scheme:path`` is a file path."""
        return {"protocol": cls.name, "path": uri.partition(":")[2]}

    @classmethod
    def open(cls, description: dict[str, Any], budget: Budget | None, source: str) -> Target:  # pragma: no cover
        """The target ``description`` describes; ``source`` (a URI or a file name) starts error messages."""
        raise NotImplementedError

    # -- helpers for kinds ---------------------------------------------------------------------
    @classmethod
    def check(cls, description: dict[str, Any], source: str) -> Any:
        """Validate ``description`` against ``Params`` and ``required``; returns the parsed params.
        Every problem is one line naming the key: a key no kind knows (with the valid ones), a
        required key missing, a value of the wrong type (with what it should be)."""
        description = natural(description)
        valid = list(cls.Params.model_fields)
        closed = cls.Params.model_config.get("extra") == "forbid"
        unknown = [k for k in description if k not in valid] if closed else []
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]), valid, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise UsageError(f"{source}: unknown key '{unknown[0]}' for protocol '{cls.name}' "
                             f"({hint}valid keys: {', '.join(valid)})")
        missing = [k for k in cls.required if description.get(k) in (None, "")]
        if missing:
            keys = [f"'{k}'" for k in cls.required]
            listed = keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + f" and {keys[-1]}"
            absent = ", ".join(f"'{k}'" for k in missing)
            raise UsageError(f"{source}: protocol '{cls.name}' needs {listed} ({absent} missing)")
        from pydantic import ValidationError

        try:
            return cls.Params(**description)
        except ValidationError as exc:
            raise UsageError(f"{source}: {_problem(cls.Params, exc)}") from None

    @staticmethod
    def http_options(description: dict[str, Any]) -> dict[str, Any]:
        """The transport options a description sets (``timeout``, ``headers``...)."""
        options = {k: description[k] for k in HTTP_OPTIONS if description.get(k) is not None}
        if not options.get("headers", True):
            del options["headers"]
        return options

    @staticmethod
    def target_info(description: dict[str, Any], default_name: str, discovered: dict[str, Any] | None = None,
                    ) -> TargetInfo:
        """:class:`TargetInfo` from a description, falling back on what was ``discovered`` from
        the model itself (input shape, classes); a missing shape or class list is a one-line error."""
        merged = {**(discovered or {}), **{k: v for k, v in natural(description).items() if v is not None}}
        classes = merged.get("classes")
        if classes is None and merged.get("n_classes"):
            classes = [str(i) for i in range(int(merged["n_classes"]))]
        shape = merged.get("input_shape")
        if not classes or not shape:
            raise UsageError(f"{default_name}: say 'input_shape' and 'classes' (or 'n_classes'); "
                             "they could not be discovered from the target")
        for key, enum in (("output", OutputKind), ("access", Access)):
            if key in merged and merged[key] not in {e.value for e in enum}:
                raise UsageError(f"{default_name}: '{key}' must be one of {', '.join(e.value for e in enum)}, "
                                 f"not {merged[key]!r}")
        try:
            return TargetInfo(
                name=str(merged.get("name") or default_name), input_shape=tuple(int(d) for d in shape),
                classes=tuple(str(c) for c in classes), output=OutputKind(merged.get("output", "probabilities")),
                access=Access(merged.get("access", "black-box")),
                # (C, H, W) or (H, W) inputs are images unless the description says otherwise
                modality=str(merged.get("modality") or ("image" if len(shape) in (2, 3) else "tabular")),
                input_range=tuple(float(v) for v in merged.get("input_range", (0.0, 1.0))),  # type: ignore[arg-type]
                dtype=str(merged.get("dtype", "float32")))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{default_name}: {exc}") from None


__all__ = ["HTTP_OPTIONS", "DescriptionParams", "TargetKind", "natural"]
