"""What a scanner format is: a plugin that recognises its artifacts by content and checks them.

Formats are tried in ``order`` (magic numbers first, name hints and loose heuristics last);
the first whose :meth:`Format.sniff` accepts the bytes decides. ``opens`` says what the scanner
does with it: ``"check"`` runs :meth:`Format.check` (single artifacts), ``"stream"`` calls
:meth:`Format.decompress` and scans what comes out, ``"archive"`` is one of the scanner's own
containers (zip, tar). A format that takes no parameters is used as a class; none loads or
imports the artifact with the library it belongs to.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from ..plugins import Plugin, registry
from ._checks import Where
from ._findings import UNSAFE_ARTIFACT, Finding


class Format(Plugin):
    """Base of every scanner format."""

    kind = "scan-format"
    technique_ids: ClassVar[tuple[str, ...]] = UNSAFE_ARTIFACT
    order: ClassVar[int] = 100
    opens: ClassVar[str] = "check"    # check | stream | archive
    example_name: ClassVar[str] = "example.bin"  # the name :meth:`example` would have on disk

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:  # pragma: no cover - abstract
        """Whether ``data`` (``name`` is a hint only) is an artifact of this format."""
        raise NotImplementedError

    @classmethod
    def sniff_late(cls, data: bytes, name: str) -> bool:
        """A looser test, tried only when no format's :meth:`sniff` accepted the bytes."""
        return False

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        """Findings in one artifact of this format. Files on disk arrive as a read-only memory
        map, so slicing and ``data.find(...)`` work but ``needle in data`` does not."""
        return []

    @classmethod
    def decompress(cls, data: bytes, limit: int) -> tuple[bytes, bool]:
        """For streams: at most ``limit`` bytes of content, and whether the stream ended cleanly."""
        raise NotImplementedError(cls.name)

    @classmethod
    def example(cls) -> bytes:  # pragma: no cover - abstract
        """A small benign artifact of this format (the conformance suite sniffs it)."""
        raise NotImplementedError


_lock = threading.Lock()
_ordered: tuple[dict, list[type[Format]], list[type[Format]]] | None = None


def formats() -> dict[str, type[Format]]:
    """Every installed scanner format by name (built-in and from entry points)."""
    return registry("scan-format")


def _order() -> tuple[list[type[Format]], list[type[Format]]]:
    global _ordered
    table = formats()
    with _lock:
        if _ordered is None or _ordered[0] is not table:  # ranked again when the registry is rebuilt
            ranked = sorted(table.values(), key=lambda f: (f.order, f.name))
            late = [f for f in ranked if f.sniff_late.__func__ is not Format.sniff_late.__func__]
            _ordered = (table, ranked, late)
        return _ordered[1], _ordered[2]


def sniff(data: bytes, name: str = "") -> type[Format] | None:
    """The format of ``data``, or None when no installed format recognises it."""
    ranked, late = _order()
    for fmt in ranked:
        if fmt.sniff(data, name):
            return fmt
    for fmt in late:
        if fmt.sniff_late(data, name):
            return fmt
    return None
