"""Serve a local model over real model-server protocols, for the demo and for tests.

This is not a production model server: it exists so that ``advmatrix assess`` can be shown and
tested against the same HTTP protocols real servers speak (KServe/Open Inference Protocol v2,
TF Serving REST, a plain JSON API), on loopback.
"""

from ._app import ServedModel, make_app
from ._run import running_server

__all__ = ["ServedModel", "make_app", "running_server"]
