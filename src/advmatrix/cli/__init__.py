"""The ``advmatrix`` command line: parses, calls the engines, formats. Nothing more."""

from ._main import main, run

__all__ = ["main", "run"]
