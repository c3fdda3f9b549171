"""What a scan reports: findings with a severity, a location and ATLAS technique IDs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntEnum


class Severity(IntEnum):
    """How serious a finding is; ordered, so ``>=`` compares."""
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity '{text}' (use {', '.join(s.name.lower() for s in cls)})") from None


# ATLAS techniques a finding can be evidence of.
UNSAFE_ARTIFACT = ("AML.T0011.000", "AML.T0018.002", "AML.T0010.003")
CORRUPT_ARTIFACT = ("AML.T0076", "AML.T0010.003")
ARCHIVE_ABUSE = ("AML.T0010.003", "AML.T0029")
ARCHITECTURE_CHANGE = ("AML.T0018.001", "AML.T0010.003")


@dataclass(frozen=True)
class Finding:
    """One thing found. ``path`` is the file on disk; ``member`` the path inside archives
    (``a.zip!inner.tar!data.pkl``); ``offset`` the byte offset inside that member."""

    rule: str
    severity: Severity
    message: str
    path: str
    member: str = ""
    offset: int | None = None
    construct: str = ""
    technique_ids: tuple[str, ...] = UNSAFE_ARTIFACT

    @property
    def location(self) -> str:
        where = f"{self.path}!{self.member}" if self.member else self.path
        return f"{where}@{self.offset}" if self.offset is not None else where

    def as_dict(self) -> dict:
        data = asdict(self)
        data["severity"] = self.severity.name.lower()
        data["technique_ids"] = list(self.technique_ids)
        return data


@dataclass
class FileReport:
    path: str
    member: str
    format: str
    size: int
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"path": self.path, "member": self.member, "format": self.format, "size": self.size,
                "findings": [f.as_dict() for f in self.findings]}


@dataclass
class ScanReport:
    files: list[FileReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    bytes_scanned: int = 0

    @property
    def findings(self) -> list[Finding]:
        return [f for report in self.files for f in report.findings]

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def at_or_above(self, severity: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity >= severity]

    @property
    def unanalysed(self) -> list[str]:
        """Files given (not archive members) whose content is no format the scanner knows: not
        looked into, so "no findings" says nothing about them."""
        return [r.path for r in self.files if not r.member and r.format == "unknown"]

    def as_dict(self) -> dict:
        return {"files": [r.as_dict() for r in self.files], "errors": list(self.errors),
                "unanalysed": self.unanalysed,
                "bytes_scanned": self.bytes_scanned,
                "summary": {s.name.lower(): sum(f.severity == s for f in self.findings) for s in Severity}}
