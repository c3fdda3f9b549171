"""7z archives, listed from their header and read member by member into memory with py7zr.

py7zr is imported only when a 7z archive is met, so ``advmatrix scan`` does not pay for it at
start-up. Nothing is written to disk: members go to in-memory writers, and the scanner decides
from the header's sizes which members to read before any is decompressed.
"""

from __future__ import annotations

import functools
import io
import mmap
import struct
from dataclasses import dataclass

MAGIC = b"7z\xbc\xaf\x27\x1c"
_SIGNATURE_HEADER = 32


class Unreadable(Exception):
    """The archive (or the members asked for) cannot be read; the message says why."""


class Encrypted(Unreadable):
    """The archive's header is encrypted: not even the member names can be read without the password."""


@dataclass(frozen=True)
class Member:
    """One entry of a 7z archive as its header describes it."""

    name: str
    size: int
    compressed: int | None
    kind: str          # file | dir | link
    encrypted: bool
    extractable: bool  # False where py7zr refuses the name (it climbs out of the target directory)


class _MapReader(io.RawIOBase):
    """A read-only file over bytes or a memory map: py7zr wants an ``io.IOBase``, and copying a
    large mapped archive into a BytesIO would double its footprint."""

    def __init__(self, data: bytes | mmap.mmap):
        self._view = memoryview(data)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        chunk = self._view[self._pos:self._pos + len(buffer)]
        buffer[:len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def close(self) -> None:
        self._view.release()
        super().close()


def _check_signature(data: bytes) -> None:
    # py7zr reads the next header wherever the signature header points; a pointer past the end
    # is a truncated archive, said plainly rather than as whatever the parser trips over.
    if len(data) < _SIGNATURE_HEADER:
        raise Unreadable(f"truncated: {len(data)} bytes, shorter than the 32-byte signature header")
    offset, size = struct.unpack("<QQ", data[12:28])
    if _SIGNATURE_HEADER + offset + size > len(data):
        raise Unreadable(f"truncated: the header lies at bytes {_SIGNATURE_HEADER + offset}-"
                         f"{_SIGNATURE_HEADER + offset + size} of a {len(data)}-byte file")


class Archive:
    """An open 7z archive. Raises ``ImportError`` when py7zr is missing, :class:`Encrypted` when
    its header needs a password, :class:`Unreadable` when the bytes are no readable 7z archive."""

    def __init__(self, data: bytes | mmap.mmap):
        import py7zr  # lazy: only 7z archives need it
        from py7zr.compressor import SupportedMethods
        from py7zr.helpers import get_sanitized_output_path

        _check_signature(data)
        # py7zr leaves a file object it was given open; closed here, so a memory map can be unmapped
        self._reader = io.BufferedReader(_MapReader(data))
        try:
            self._archive = py7zr.SevenZipFile(self._reader, "r")
        except py7zr.PasswordRequired as exc:
            self._reader.close()
            raise Encrypted("the archive's header is encrypted") from exc
        # py7zr parses hostile bytes with many exception types of its own and of the codecs under it;
        # whatever it raises, the archive is unreadable, and the scan must not end in a traceback.
        except Exception as exc:
            self._reader.close()
            raise Unreadable(f"{type(exc).__name__}: {exc}") from exc
        members = []
        for f in self._archive.files:
            kind = "dir" if f.is_directory else "link" if (f.is_symlink or f.is_junction) else "file"
            folder = f.folder
            try:
                get_sanitized_output_path(f.filename, None)
                extractable = True
            except Exception:  # py7zr refuses names that climb out (Bad7zFile) or are not valid paths
                extractable = False
            members.append(Member(f.filename, f.uncompressed or 0, f.compressed, kind,
                                  folder is not None and SupportedMethods.needs_password(folder.coders),
                                  extractable))
        self.members: list[Member] = members

    def read(self, names: list[str], limit: int) -> dict[str, bytes]:
        """The content of the named members (the header's names), decompressed in memory. py7zr
        stops at ``limit`` bytes decompressed in all (solid blocks decompress the members around
        the ones asked for too); going past it raises :class:`Unreadable`."""
        if not names:
            return {}
        import py7zr
        from py7zr.helpers import get_sanitized_output_path

        factory = _collector_type()()
        self._archive.reset()
        self._archive.max_extract_size = limit
        try:
            self._archive.extract(targets=names, factory=factory)
        except py7zr.exceptions.DecompressionBombError as exc:
            raise Unreadable(f"decompression stopped at the size budget: {exc}") from exc
        except Exception as exc:  # hostile content: any failure of the decoders means "not readable"
            raise Unreadable(f"{type(exc).__name__}: {exc}") from exc
        # the writers are named by py7zr's cleaned-up path ("./a" becomes "a"); map back to the header's names
        original = {get_sanitized_output_path(n, None).as_posix(): n for n in reversed(names)}
        return {original.get(s.name, s.name): bytes(s.buffer) for s in factory.sinks}

    def close(self) -> None:
        """Release the archive and the view of its bytes."""
        try:
            self._archive.close()
        finally:
            self._reader.close()


@functools.cache
def _collector_type() -> type:
    from py7zr.io import Py7zIO, WriterFactory

    class Sink(Py7zIO):
        def __init__(self, name: str):
            self.name, self.buffer = name, bytearray()

        def write(self, s: bytes | bytearray) -> int:
            self.buffer += s
            return len(s)

        def read(self, size: int | None = None) -> bytes:
            return bytes(self.buffer)

        def seek(self, offset: int, whence: int = 0) -> int:
            return 0

        def flush(self) -> None:
            return None

        def size(self) -> int:
            return len(self.buffer)

    class Collector(WriterFactory):
        def __init__(self):
            self.sinks: list[Sink] = []

        def create(self, filename: str) -> Sink:
            sink = Sink(filename)
            self.sinks.append(sink)
            return sink

    return Collector
