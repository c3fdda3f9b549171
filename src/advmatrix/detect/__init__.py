"""Detectors over the stream of query events, each tagged with ATLAS technique IDs.

Detectors are plugins (kind ``detector``): the built-ins below and any registered in the
``advmatrix.detectors`` entry-point group. Build one by name with :func:`build`:

>>> from advmatrix.detect import build
>>> build("volume", max_client_queries=100).name
'volume'
"""

from __future__ import annotations

from typing import Any

from ..plugins import Context
from ..plugins import get as _get
from ..plugins import registry as _registry
from ..store._records import SERVICE
from ._base import Alert, ClientStates, Detector, DetectorParams, QueryEvent, client_key_id
from ._chat import ChatDetector, ChatEvent, OutputPiece, conversation_id, replay
from .boundary import BoundarySearch
from .extraction import Prada, QueryCoverage
from .membership import MembershipProbing
from .ood import OutOfDistribution
from .similarity import SimilaritySearch
from .volume import Volume


def detectors() -> dict[str, type[Detector]]:
    """Every installed detector by name (built-in and from entry points)."""
    return _registry("detector")


def build(name: str, context: Context | None = None, **params: Any) -> Detector:
    """The detector ``name`` with validated parameters and its declared context."""
    return _get("detector", name)(context, **params)


__all__ = ["SERVICE", "Alert", "BoundarySearch", "ChatDetector", "ChatEvent", "ClientStates", "Detector",
           "DetectorParams", "MembershipProbing", "OutOfDistribution", "OutputPiece", "Prada", "QueryCoverage",
           "QueryEvent", "SimilaritySearch", "Volume", "build", "client_key_id", "conversation_id", "detectors",
           "replay"]
