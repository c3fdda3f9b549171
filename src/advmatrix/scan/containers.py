"""The containers the scanner opens and walks (archives and compressed streams), as scanner
formats: recognised from their bytes, each with a tiny benign example of itself. Their members
are scanned by :class:`~advmatrix.scan._scanner.Scanner` within its limits."""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib

from . import _sevenzip
from ._findings import ARCHIVE_ABUSE
from ._format import Format

# -- containers the scanner opens ------------------------------------------------------------------

class Zip(Format):
    """Zip archives, PyTorch's zip checkpoints and Keras v3 files among them; every member is scanned."""

    name = "zip"
    title = "Zip archive"
    technique_ids = ARCHIVE_ABUSE
    order = 10
    opens = "archive"

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        if data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
            return True
        # a tar holding a zip member ends with that zip too; tarfile, not zipfile, is what opens it
        return data[257:262] != b"ustar" and archive_start(data) is not None

    @classmethod
    def example(cls) -> bytes:
        return b"PK\x05\x06" + b"\x00" * 18  # an empty archive: only its end-of-directory record


def archive_start(data: bytes) -> int | None:
    """Where a zip archive begins when, as Python's ``zipfile`` allows, other bytes precede it:
    found from the end-of-central-directory record, confirmed by a central directory where that
    record says one is. None when no such archive ends the data."""
    tail = max(0, len(data) - (22 + 0xFFFF))
    pos = data.rfind(b"PK\x05\x06", tail)
    while pos != -1:
        record = data[pos:pos + 22]
        if len(record) == 22:
            size_cd, offset_cd = struct.unpack("<II", record[12:20])
            if 0xFFFFFFFF in (size_cd, offset_cd):  # zip64: the locator sits just before this record
                if pos >= 20 and data[pos - 20:pos - 16] == b"PK\x06\x07":
                    return 0
            else:
                directory = pos - size_cd
                start = directory - offset_cd
                if start >= 0 and (size_cd == 0 or data[directory:directory + 4] == b"PK\x01\x02"):
                    return start
        pos = data.rfind(b"PK\x05\x06", tail, pos)
    return None


class Tar(Format):
    """POSIX tar archives; every regular member is scanned, links and escaping paths are findings."""

    name = "tar"
    title = "Tar archive"
    technique_ids = ARCHIVE_ABUSE
    order = 11
    opens = "archive"

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return data[257:262] == b"ustar"

    @classmethod
    def example(cls) -> bytes:
        import io
        import tarfile

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            info = tarfile.TarInfo("empty.txt")
            tar.addfile(info, io.BytesIO(b""))
        return buf.getvalue()


class SevenZip(Format):
    """7z archives; every member is read in memory and scanned, like zip and tar members."""

    name = "7z"
    title = "7z archive"
    technique_ids = ARCHIVE_ABUSE
    order = 9  # before zip: a stored zip member near a 7z's end would otherwise pass for a prefixed zip
    opens = "archive"

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return data[:6] == _sevenzip.MAGIC

    @classmethod
    def example(cls) -> bytes:
        # an empty archive as py7zr writes it
        return bytes.fromhex("377abcaf271c0004848726bd0600000000000000140000000000000042d130bf"
                             "01000101000017060001090600070b010001212101180c020000")


class _Stream(Format):
    """A compressed stream recognised by its magic number; the scanner decompresses it within
    limits and scans what comes out."""

    technique_ids = ARCHIVE_ABUSE
    opens = "stream"
    magic: bytes = b""

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return data[:len(cls.magic)] == cls.magic


class Gzip(_Stream):
    """gzip streams (joblib's and torch's compressed files); the content is scanned."""

    name = "gzip"
    title = "gzip stream"
    order = 12
    magic = b"\x1f\x8b"

    @classmethod
    def decompress(cls, data: bytes, limit: int) -> tuple[bytes, bool]:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return d.decompress(data, limit), d.eof

    @classmethod
    def example(cls) -> bytes:
        import gzip

        return gzip.compress(b"hello", mtime=0)


class Bz2(_Stream):
    """bzip2 streams; the content is scanned."""

    name = "bz2"
    title = "bzip2 stream"
    order = 13
    magic = b"BZh"

    @classmethod
    def decompress(cls, data: bytes, limit: int) -> tuple[bytes, bool]:
        d = bz2.BZ2Decompressor()
        return d.decompress(data, max_length=limit), d.eof

    @classmethod
    def example(cls) -> bytes:
        return bz2.compress(b"hello")


class Xz(_Stream):
    """xz streams; the content is scanned."""

    name = "xz"
    title = "xz stream"
    order = 14
    magic = b"\xfd7zXZ\x00"

    @classmethod
    def decompress(cls, data: bytes, limit: int) -> tuple[bytes, bool]:
        d = lzma.LZMADecompressor()
        return d.decompress(data, max_length=limit), d.eof

    @classmethod
    def example(cls) -> bytes:
        return lzma.compress(b"hello")


class Lz4(_Stream):
    """LZ4 frames (joblib's lz4 compression); scanned when the optional ``lz4`` package is installed."""

    name = "lz4"
    title = "LZ4 frame"
    order = 15
    magic = b"\x04\x22\x4d\x18"

    @classmethod
    def decompress(cls, data: bytes, limit: int) -> tuple[bytes, bool]:
        import lz4.frame  # optional: only joblib's lz4 compression needs it; ImportError is a finding

        d = lz4.frame.LZ4FrameDecompressor()
        return d.decompress(data, max_length=limit), d.eof

    @classmethod
    def example(cls) -> bytes:
        # an LZ4 frame header (magic, flags, block descriptor, checksum) and the end mark
        return b"\x04\x22\x4d\x18\x60\x40\x82" + b"\x00\x00\x00\x00"


class LzmaAlone(_Stream):
    """Legacy ``.lzma`` (LZMA-alone) streams, joblib's ``lzma`` compression; the content is scanned."""

    name = "lzma"
    title = "LZMA-alone stream"
    order = 16

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        # properties byte, a dictionary size liblzma accepts (2^n or 2^n + 2^(n-1)), then a trial decode
        if len(data) < 14 or data[0] >= 225:
            return False
        (dict_size,) = struct.unpack("<I", data[1:5])
        if dict_size != 0xFFFFFFFF:
            low = dict_size & -dict_size
            if dict_size == 0 or dict_size not in (low, low + (low << 1)):
                return False
        try:
            lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(bytes(data[:4096]), 1)
            return True
        except lzma.LZMAError:
            return False

    @classmethod
    def decompress(cls, data: bytes, limit: int) -> tuple[bytes, bool]:
        d = lzma.LZMADecompressor(lzma.FORMAT_ALONE)
        return d.decompress(data, max_length=limit), d.eof

    @classmethod
    def example(cls) -> bytes:
        return lzma.compress(b"hello", format=lzma.FORMAT_ALONE)


class Zlib(_Stream):
    """Bare zlib streams (joblib's default compression); the content is scanned."""

    name = "zlib"
    title = "zlib stream"
    order = 80  # after the protobuf formats: its two-byte header is weak evidence

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        if len(data) < 2 or data[0] & 0x0F != 8 or (data[0] * 256 + data[1]) % 31:
            return False
        try:
            zlib.decompressobj().decompress(data[:4096], 1)
            return True
        except zlib.error:
            return False

    @classmethod
    def decompress(cls, data: bytes, limit: int) -> tuple[bytes, bool]:
        d = zlib.decompressobj()
        return d.decompress(data, limit), d.eof

    @classmethod
    def example(cls) -> bytes:
        return zlib.compress(b"hello")
