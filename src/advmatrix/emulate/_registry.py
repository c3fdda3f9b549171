"""Find procedures: plugins of kind ``procedure`` (this package, and the ``advmatrix.procedures``
entry-point group; ``advmatrix.plugins`` is still read for older plugin packages)."""

from __future__ import annotations

from .. import plugins
from ._base import Procedure


def procedures() -> dict[str, type[Procedure]]:
    """Every installed procedure by name."""
    return plugins.registry("procedure")


def get(name: str) -> type[Procedure]:
    """The procedure called ``name``; unknown names are a one-line error."""
    return plugins.get("procedure", name)
