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
        """Validate ``description`` against ``Params`` and ``required``; returns the parsed params."""
        missing = [k for k in cls.required if description.get(k) in (None, "")]
        if missing:
            keys = [f"'{k}'" for k in cls.required]
            listed = keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + f" and {keys[-1]}"
            raise UsageError(f"{source}: protocol '{cls.name}' needs {listed}")
        try:
            return cls.parse_params(description)
        except UsageError as exc:
            raise UsageError(f"{source}: {exc}") from None

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
        merged = {**(discovered or {}), **{k: v for k, v in description.items() if v is not None}}
        classes = merged.get("classes")
        if classes is None and merged.get("n_classes"):
            classes = [str(i) for i in range(int(merged["n_classes"]))]
        shape = merged.get("input_shape")
        if not classes or not shape:
            raise UsageError(f"{default_name}: say 'input_shape' and 'classes' (or 'n_classes'); "
                             "they could not be discovered from the target")
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


__all__ = ["HTTP_OPTIONS", "DescriptionParams", "TargetKind"]
