"""Files advmatrix writes: never half-written, and caches where the platform keeps them."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import UsageError


def cache_dir(*parts: str) -> Path:
    """The user's cache directory for advmatrix (``$XDG_CACHE_HOME/advmatrix`` on Linux), with
    ``parts`` appended; not created."""
    import platformdirs

    return platformdirs.user_cache_path("advmatrix").joinpath(*parts)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block ends
    without error, removed otherwise. Readers see the old file or the new one, never a part."""
    # a link keeps pointing where it did: the file it names is the one replaced
    path = Path(path).resolve() if Path(path).is_symlink() else Path(path)
    check_writable(path)
    if is_special(path):
        raise UsageError(f"{path}: is a device or pipe; this output must be a regular file")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates 0600; give the file the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        try:
            os.replace(tmp, path)
        except OSError as exc:  # name the file the user asked for, not our temporary one
            raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(path: str | Path) -> None:
    """``UsageError`` naming ``path`` unless a file can be written there: its directory exists and is
    writable, and ``path`` is not a directory. Commands that write several files check them all
    first, so that a bad one leaves none written."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        # A file in the way reads differently from a missing directory: say which it is.
        blocker = next((p for p in (parent, *parent.parents) if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise UsageError(f"{path}: {blocker} is a file, not a directory")
        raise UsageError(f"{path}: directory {parent} does not exist")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory")
    if is_special(path):
        if not os.access(path, os.W_OK):
            raise UsageError(f"{path}: is not writable")
        return
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{path}: directory {parent} is not writable")


def is_special(path: Path) -> bool:
    """A device, pipe or socket (after links): written into, never replaced by a rename."""
    return path.exists() and not path.is_file() and not path.is_dir()


def write_atomic(path: str | Path, content: str | bytes) -> Path:
    """Write ``content`` (text as UTF-8) to ``path`` through :func:`atomic_path`; a device or pipe
    (``/dev/stdout``, a FIFO) is written into directly, since renaming over it would replace it."""
    if is_special(Path(path)):
        data = content.encode("utf-8") if isinstance(content, str) else content
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None
        return Path(path)
    with atomic_path(path) as tmp:
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")
    return Path(path)
