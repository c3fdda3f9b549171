"""Supply-chain scanner for model artifacts: finds code-execution payloads without loading them.

Formats are plugins (kind ``scan-format``, entry-point group ``advmatrix.scan_formats``): a
:class:`Format` recognises its artifacts by content and checks them.

>>> from advmatrix.scan import scan_bytes
>>> scan_bytes(b"cos\\nsystem\\n(S'id'\\ntR.").worst().name
'CRITICAL'
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ._checks import Where
from ._findings import FileReport, Finding, ScanReport, Severity
from ._format import Format, formats
from ._scanner import Limits, Scanner


def scan_path(*paths: str | Path | Iterable[str | Path], limits: Limits | None = None) -> ScanReport:
    """Scan files and directories (recursively, archives included)."""
    flat: list[str | Path] = []
    for p in paths:
        flat.extend([p] if isinstance(p, (str, Path)) else p)
    return Scanner(limits).scan_paths(flat)


def scan_bytes(data: bytes, name: str = "<bytes>", *, limits: Limits | None = None) -> ScanReport:
    """Scan an artifact held in memory; ``name`` only labels findings."""
    return Scanner(limits).scan_bytes(data, name)


__all__ = ["FileReport", "Finding", "Format", "Limits", "ScanReport", "Scanner", "Severity", "Where", "formats",
           "scan_bytes", "scan_path"]
