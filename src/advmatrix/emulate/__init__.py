"""Emulation: ATLAS-tagged attack procedures run against targets, each returning a Finding."""

from ._base import Dataset, Example, Finding, Procedure
from ._campaign import Assessment, run_assessment
from ._registry import get, procedures

__all__ = ["Assessment", "Dataset", "Example", "Finding", "Procedure", "get", "procedures", "run_assessment"]
