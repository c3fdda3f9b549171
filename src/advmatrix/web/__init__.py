"""The web navigator: the matrix, its case studies and our results in the browser."""

from ._app import create_app

__all__ = ["create_app"]
