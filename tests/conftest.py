"""Fixtures shared by every test package.

Upstream ATLAS releases are read from ``../shared/fixtures/atlas`` beside the repository when
that directory exists; tests that need them skip cleanly in a fresh clone without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from advmatrix.cli import main
from advmatrix.kb import Matrix, bundled

ROOT = Path(__file__).resolve().parents[1]
SHARED_ATLAS = ROOT.parent / "shared" / "fixtures" / "atlas"


def upstream_release(version: str) -> Path:
    path = SHARED_ATLAS / f"ATLAS-{version}.yaml"
    if not path.is_file():
        pytest.skip(f"upstream release {path.name} not available (no ../shared/fixtures/atlas)")
    return path


@pytest.fixture(scope="session")
def matrix() -> Matrix:
    return bundled()


@pytest.fixture(scope="session")
def atlas_560() -> Path:
    return upstream_release("5.6.0")


@pytest.fixture(scope="session")
def atlas_490() -> Path:
    return upstream_release("4.9.0")


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def json(self):
        import json
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """Run ``advmatrix ARGS`` in-process through the real entry point (error handling included)."""

    def run(*args: str) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
