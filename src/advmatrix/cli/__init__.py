"""The ``advmatrix`` command line: parses, calls the engines, formats. Nothing more."""

from ._app import app, main

__all__ = ["app", "main"]
