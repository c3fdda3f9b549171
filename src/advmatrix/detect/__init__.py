"""Detectors over the stream of query events, each tagged with ATLAS technique IDs."""

from ._base import Alert, ClientStates, Detector, QueryEvent, client_key_id
from .extraction import Prada, QueryCoverage
from .membership import MembershipProbing
from .ood import OutOfDistribution
from .similarity import SimilaritySearch
from .volume import Volume

DETECTORS: dict[str, type[Detector]] = {d.name: d for d in (SimilaritySearch, Prada, QueryCoverage, Volume,
                                                           OutOfDistribution, MembershipProbing)}

__all__ = ["DETECTORS", "Alert", "ClientStates", "Detector", "MembershipProbing", "OutOfDistribution", "Prada",
           "QueryCoverage", "QueryEvent", "SimilaritySearch", "Volume", "client_key_id"]
