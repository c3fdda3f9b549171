"""Walk paths, archives and compressed streams; hand each artifact to the check for its format."""

from __future__ import annotations

import io
import json
import lzma
import mmap
import os
import posixpath
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from . import _checks, _sevenzip
from ._checks import Where
from ._findings import (
    ARCHIVE_ABUSE,
    CORRUPT_ARTIFACT,
    FileReport,
    ScanReport,
    Severity,
)
from ._format import Format, sniff
from .containers import archive_start


@dataclass(frozen=True)
class Limits:
    """Bounds that keep hostile archives (zip bombs, deep nesting) from exhausting the scanner."""

    max_depth: int = 6
    max_members: int = 20_000
    max_expanded: int = 8 << 30
    max_ratio: int = 250
    max_member: int = 4 << 30


_MODEL_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".joblib", ".ckpt", ".npy", ".npz",
                   ".h5", ".hdf5", ".keras", ".onnx", ".safetensors", ".pb", ".dill", ".sav", ".model")
_TORCH_PAYLOAD = re.compile(
    r"(^|/)(data/\d+|\.data/serialization_id|byteorder|version|\.format_version|\.storage_alignment)$")

# how many times max_depth compressed layers are still peeled past the nesting limit
_MAX_STREAM_DEPTH = 8


class _Budget:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.members = 0
        self.expanded = 0


class Scanner:
    """Walks files, directories, archives and streams and runs each artifact's format check."""
    def __init__(self, limits: Limits | None = None, progress: Callable[[str, int], None] | None = None):
        self.limits = limits or Limits()
        self.progress = progress

    # -- entry points --------------------------------------------------------------------------
    def scan_paths(self, paths: Iterable[str | Path]) -> ScanReport:
        report = ScanReport()
        for path in paths:
            path = Path(path)
            if path.is_dir():
                for root, dirs, files in os.walk(path):
                    dirs.sort()
                    for name in sorted(files):
                        self._scan_file(Path(root) / name, report)
            elif path.exists():
                self._scan_file(path, report)
            else:
                report.errors.append(f"{path}: no such file or directory")
        return report

    def scan_bytes(self, data: bytes, name: str = "<bytes>") -> ScanReport:
        report = ScanReport()
        report.bytes_scanned += len(data)
        self._scan_blob(data, name, "", 0, report, _Budget(self.limits))
        return report

    def _scan_file(self, path: Path, report: ScanReport) -> None:
        if path.is_symlink() and not path.exists():
            report.errors.append(f"{path}: dangling symbolic link")
            return
        if not path.is_file():
            # a pipe would be waited on for ever, a device read to no end
            report.errors.append(f"{path}: not a regular file (a pipe, a socket or a device); not read")
            return
        try:
            with path.open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                # Map rather than read: most checks look at headers and a pickle's opcodes, so
                # the bulk of large weight files is never touched.
                data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        except (OSError, ValueError) as exc:
            report.errors.append(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}")
            return
        report.bytes_scanned += size
        if self.progress:
            self.progress(str(path), size)
        try:
            self._scan_blob(data, str(path), "", 0, report, _Budget(self.limits))
        finally:
            if isinstance(data, mmap.mmap):
                data.close()

    # -- dispatch ------------------------------------------------------------------------------
    def _scan_blob(self, data: bytes, path: str, member: str, depth: int, report: ScanReport,
                   budget: _Budget) -> None:
        name = member.rsplit("!", 1)[-1] if member else path
        fmt = sniff(data, name)
        entry = FileReport(path, member, fmt.name if fmt else "unknown", len(data))
        report.files.append(entry)
        where = Where(path, member)
        add = entry.findings.extend
        if fmt is not None and fmt.opens != "check" and depth >= self.limits.max_depth:
            # Streams are still peeled (each within the size budget) so that a payload buried under
            # many compression layers is reported, not only the nesting; archives stay closed.
            peel = fmt.opens == "stream" and depth < _MAX_STREAM_DEPTH * self.limits.max_depth
            if depth == self.limits.max_depth or not peel:
                tail = "compressed layers below are still decompressed and scanned" if peel else "not opened"
                add([where.finding("archive-too-deep", Severity.MEDIUM,
                                   f"archive nested more than {self.limits.max_depth} levels deep; {tail}",
                                   techniques=ARCHIVE_ABUSE)])
            if not peel:
                return
        if fmt is None:
            if name.lower().endswith(_MODEL_SUFFIXES) and data:
                add([where.finding("unrecognised-model-file", Severity.LOW,
                                   "named like a model file but its content is no format advmatrix knows; not analysed",
                                   techniques=CORRUPT_ARTIFACT)])
        elif fmt.opens == "check":
            add(fmt.check(data, where))
        elif fmt.opens == "stream":
            self._scan_compressed(fmt, data, where, depth, report, budget, entry)
        elif fmt.name == "tar":
            self._scan_tar(data, where, depth, report, budget, entry)
        elif fmt.name == "7z":
            self._scan_7z(data, where, depth, report, budget, entry)
        else:
            entry.format = self._scan_zip(data, where, depth, report, budget, entry)

    # -- containers ----------------------------------------------------------------------------
    def _admit(self, where: Where, inner: str, size: int, compressed: int, budget: _Budget,
               entry: FileReport) -> bool:
        lim = budget.limits
        budget.members += 1
        if budget.members > lim.max_members:
            if budget.members == lim.max_members + 1:
                entry.findings.append(where.finding("archive-too-many-members", Severity.MEDIUM,
                                                    f"more than {lim.max_members} members; the rest were not scanned",
                                                    techniques=ARCHIVE_ABUSE))
            return False
        if size > lim.max_member or budget.expanded + size > lim.max_expanded or \
                (size > 1 << 20 and compressed and size / compressed > lim.max_ratio):
            entry.findings.append(where.finding(
                "archive-bomb", Severity.HIGH,
                f"member '{inner}' expands to {size} bytes from {compressed} (limits: ratio {lim.max_ratio}, "
                f"{lim.max_expanded} bytes in all); not extracted", construct=inner, techniques=ARCHIVE_ABUSE))
            return False
        budget.expanded += size
        return True

    def _traversal(self, where: Where, inner: str, entry: FileReport) -> None:
        if ".." not in inner and inner[:1] not in ("/", "\\") and inner[1:2] != ":":
            return  # nothing that could climb out or name a drive (the usual case, thousands of times)
        normal = posixpath.normpath(inner.replace("\\", "/"))
        climbs = normal == ".." or normal.startswith("../")
        if inner.startswith(("/", "\\")) or climbs or re.match(r"^[A-Za-z]:", inner):
            entry.findings.append(where.finding("archive-path-traversal", Severity.HIGH,
                                                f"member path '{inner}' escapes the extraction directory",
                                                construct=inner, techniques=ARCHIVE_ABUSE))

    def _scan_zip(self, data: bytes, where: Where, depth: int, report: ScanReport, budget: _Budget,
                  entry: FileReport) -> str:
        try:
            archive = zipfile.ZipFile(_as_file(data))
            infos = archive.infolist()
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error) as exc:
            entry.findings.append(where.finding("zip-malformed", Severity.MEDIUM,
                                                f"zip directory unreadable ({exc}); members read from local headers",
                                                techniques=CORRUPT_ARTIFACT))
            for inner, payload in _local_entries(data):
                if self._admit(where, inner, len(payload), len(payload), budget, entry):
                    self._scan_blob(payload, where.path, _join(where.member, inner), depth + 1, report, budget)
            return "zip"
        start = 0 if data[:4] == b"PK\x03\x04" else archive_start(data)
        if start:
            # zipfile skips bytes before the archive; loaders that read from offset 0 (pickle,
            # torch's legacy format) run them, so they are scanned as an artifact of their own.
            self._scan_blob(data[:start], where.path, _join(where.member, "<before-zip>"), depth + 1, report, budget)
        names = [i.filename for i in infos]
        torch = any(n.endswith("/data.pkl") or n == "data.pkl" for n in names)
        keras = "config.json" in names and "metadata.json" in names
        for info in infos:
            inner = info.filename
            self._traversal(where, inner, entry)
            if info.is_dir() or (torch and _TORCH_PAYLOAD.search(inner)):
                continue
            if not self._admit(where, inner, info.file_size, info.compress_size, budget, entry):
                continue
            payload = _read_member(archive, info, data)
            if payload is None:
                entry.findings.append(where.finding("zip-member-unreadable", Severity.MEDIUM,
                                                    f"member '{inner}' cannot be decompressed; not scanned",
                                                    construct=inner, techniques=CORRUPT_ARTIFACT))
                continue
            if keras and inner == "config.json":
                try:
                    entry.findings.extend(_checks.check_keras_config(json.loads(payload),
                                                                     Where(where.path, _join(where.member, inner))))
                except (ValueError, RecursionError):
                    pass
                continue
            self._scan_blob(payload, where.path, _join(where.member, inner), depth + 1, report, budget)
        return "pytorch-zip" if torch else "keras" if keras else "zip"

    def _scan_tar(self, data: bytes, where: Where, depth: int, report: ScanReport, budget: _Budget,
                  entry: FileReport) -> None:
        try:
            archive = tarfile.open(fileobj=_as_file(data), mode="r:")
            members = archive.getmembers()
        except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
            entry.findings.append(where.finding("tar-malformed", Severity.MEDIUM, f"tar unreadable: {exc}",
                                                techniques=CORRUPT_ARTIFACT))
            return
        for m in members:
            self._traversal(where, m.name, entry)
            if m.issym() or m.islnk():
                entry.findings.append(where.finding("archive-link", Severity.MEDIUM,
                                                    f"member '{m.name}' links to '{m.linkname}'",
                                                    construct=m.name, techniques=ARCHIVE_ABUSE))
                continue
            if not m.isfile() or not self._admit(where, m.name, m.size, m.size, budget, entry):
                continue
            fh = archive.extractfile(m)
            if fh is not None:
                self._scan_blob(fh.read(), where.path, _join(where.member, m.name), depth + 1, report, budget)

    def _scan_7z(self, data: bytes, where: Where, depth: int, report: ScanReport, budget: _Budget,
                 entry: FileReport) -> None:
        add = entry.findings.append
        try:
            archive = _sevenzip.Archive(data)
        except ImportError as exc:
            add(where.finding("7z-unsupported", Severity.MEDIUM,
                              f"7z archive could not be inspected: py7zr cannot be imported ({exc}); "
                              "run: pip install py7zr", techniques=CORRUPT_ARTIFACT))
            return
        except _sevenzip.Encrypted as exc:
            add(where.finding("7z-encrypted", Severity.MEDIUM,
                              f"7z archive could not be inspected: {exc}; its members are unknown",
                              techniques=ARCHIVE_ABUSE))
            return
        except _sevenzip.Unreadable as exc:
            add(where.finding("7z-malformed", Severity.MEDIUM, f"7z archive unreadable: {exc}",
                              techniques=CORRUPT_ARTIFACT))
            return
        try:
            wanted: list[str] = []
            for m in archive.members:
                self._traversal(where, m.name, entry)
                if m.kind == "dir":
                    continue
                if m.kind == "link":
                    add(where.finding("archive-link", Severity.MEDIUM, f"member '{m.name}' is a symbolic link",
                                      construct=m.name, techniques=ARCHIVE_ABUSE))
                    continue
                if m.encrypted:
                    add(where.finding("7z-encrypted", Severity.MEDIUM,
                                      f"member '{m.name}' is encrypted; its content cannot be inspected",
                                      construct=m.name, techniques=ARCHIVE_ABUSE))
                    continue
                # py7zr refuses names that climb out (reported above), so no loader extracts them
                if m.extractable and self._admit(where, m.name, m.size, m.compressed or len(data), budget, entry):
                    wanted.append(m.name)
            # a solid block decompresses the members around the wanted ones too, so those count
            # against py7zr's own stop; bounded by the scanner's limits whatever the header says
            lim = budget.limits
            allowed = min(lim.max_expanded, sum(m.size for m in archive.members
                                                if m.kind != "dir" and m.size <= lim.max_member))
            try:
                payloads = archive.read(wanted, allowed)
            except _sevenzip.Unreadable as exc:
                add(where.finding("7z-member-unreadable", Severity.MEDIUM,
                                  f"7z members cannot be decompressed ({exc}); not scanned",
                                  techniques=CORRUPT_ARTIFACT))
                return
        finally:
            archive.close()
        for name in dict.fromkeys(wanted):
            payload = payloads.get(name)
            if payload is None:
                add(where.finding("7z-member-unreadable", Severity.MEDIUM, f"member '{name}' was not decompressed",
                                  construct=name, techniques=CORRUPT_ARTIFACT))
                continue
            self._scan_blob(payload, where.path, _join(where.member, name), depth + 1, report, budget)

    def _scan_compressed(self, stream: type[Format], data: bytes, where: Where, depth: int, report: ScanReport,
                         budget: _Budget, entry: FileReport) -> None:
        fmt = stream.name
        limit = min(budget.limits.max_member, budget.limits.max_expanded - budget.expanded)
        try:
            payload, complete = stream.decompress(data, limit + 1)
        except ImportError:
            entry.findings.append(where.finding("compressed-unsupported", Severity.MEDIUM,
                                                f"{fmt} content not scanned: install the '{fmt}' package",
                                                techniques=CORRUPT_ARTIFACT))
            return
        except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as exc:
            entry.findings.append(where.finding("compressed-malformed", Severity.MEDIUM,
                                                f"{fmt} stream cannot be decompressed: {exc}",
                                                techniques=CORRUPT_ARTIFACT))
            return
        ratio = len(payload) / max(len(data), 1)
        if len(payload) > limit or (len(payload) > 1 << 20 and ratio > budget.limits.max_ratio):
            entry.findings.append(where.finding("archive-bomb", Severity.HIGH,
                                                f"{fmt} stream expands past the limits; not scanned",
                                                techniques=ARCHIVE_ABUSE))
            return
        budget.expanded += len(payload)
        if not complete:
            entry.findings.append(where.finding("compressed-truncated", Severity.LOW,
                                                f"{fmt} stream is truncated; scanned what it holds",
                                                techniques=CORRUPT_ARTIFACT))
        self._scan_blob(payload, where.path, _join(where.member, f"<{fmt}>"), depth + 1, report, budget)


class _MappedFile:
    """A mapped file as the seekable file object zipfile and tarfile expect (mmap lacks
    ``seekable``), so archives on disk are read in place rather than copied."""

    def __init__(self, mapped: mmap.mmap):
        self._m = mapped
        mapped.seek(0)

    def seekable(self) -> bool:
        return True

    def __getattr__(self, name: str):
        return getattr(self._m, name)


def _as_file(data: bytes | mmap.mmap) -> io.BytesIO | _MappedFile:
    return _MappedFile(data) if isinstance(data, mmap.mmap) else io.BytesIO(data)


def _join(member: str, inner: str) -> str:
    return f"{member}!{inner}" if member else inner


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> bytes | None:
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, NotImplementedError, zlib.error, OSError, EOFError, ValueError, RuntimeError):
        pass
    # A wrong CRC or a mismatched local header stops zipfile but not every loader: read the
    # member's bytes straight from its local header.
    return _raw_member(data, info.header_offset)


def _raw_member(data: bytes, offset: int) -> bytes | None:
    try:
        header = struct.unpack("<IHHHHHIIIHH", data[offset:offset + 30])
        sig, _, flags, method, *_rest, csize, usize, nlen, xlen = header
    except struct.error:
        return None
    if sig != 0x04034B50:
        return None
    start = offset + 30 + nlen + xlen
    if method == 0 and not (usize or csize) and flags & 0x08:
        # sizes deferred to a data descriptor after the member (torch.save writes a stream so): the member
        # runs to the next signature, as a loader reading local headers would find it
        ends = [e for sig_ in (b"PK\x07\x08", b"PK\x03\x04", b"PK\x01\x02") if (e := data.find(sig_, start)) != -1]
        return data[start:min(ends, default=len(data))]
    if method == 0:
        return data[start:start + (usize or csize)]
    if method == 8:
        try:
            return zlib.decompressobj(-15).decompress(data[start:], 1 << 31)
        except zlib.error:
            return None
    return None


def _local_entries(data: bytes) -> Iterable[tuple[str, bytes]]:
    # from 0 said outright: an mmap's find starts at its file position, which the failed zipfile read moved
    # to the end (a zip with no central directory had its members reported read and none scanned)
    pos = data.find(b"PK\x03\x04", 0)
    while pos != -1:
        try:
            nlen, _xlen = struct.unpack("<HH", data[pos + 26:pos + 30])
            name = data[pos + 30:pos + 30 + nlen].decode("utf-8", "replace")
        except struct.error:
            break
        payload = _raw_member(data, pos)
        if payload is not None:
            yield name, payload
        pos = data.find(b"PK\x03\x04", pos + 4)
