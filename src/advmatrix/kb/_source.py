"""Open any knowledge-base source: our data directory, an ATLAS.yaml, or a STIX bundle."""

from __future__ import annotations

from pathlib import Path

from ..errors import FormatError
from . import atlas_yaml, stix
from ._bundled import bundled, load_data_dir
from ._matrix import Matrix


def load_source(path: str | Path | None = None) -> Matrix:
    """The bundled matrix when ``path`` is None; otherwise whatever the file holds, judged by
    its content rather than its name."""
    if path is None:
        return bundled()
    path = Path(path)
    if path.is_dir():
        if (path / "matrix.yaml").is_file():
            return load_data_dir(path)
        raise FormatError(f"{path}: a directory, but not a knowledge-base directory (no matrix.yaml)")
    try:
        with path.open("rb") as fh:
            head = fh.read(4096).lstrip()
    except FileNotFoundError:
        raise FormatError(f"{path}: no such file") from None
    except OSError as exc:
        raise FormatError(f"{path}: cannot read: {exc}") from None
    if head.startswith(b"{") or head.startswith(b"["):
        return stix.load(path)
    return atlas_yaml.load(path)
