"""Emulation: ATLAS-tagged attack procedures run against targets, each returning a Finding."""

from ._base import Dataset, Example, Finding, Procedure
from ._campaign import Assessment, Coverage, run_assessment
from ._data import load_callable, load_dataset
from ._purple import GatewayAdmin, coverage_scores, run_through_gateway
from ._registry import get, procedures
from ._rules import Rule, parse_rule, violations

__all__ = ["Assessment", "Coverage", "Dataset", "GatewayAdmin", "Example", "Finding", "Procedure", "Rule", "get", "load_callable", "load_dataset",
           "coverage_scores", "parse_rule", "procedures", "run_assessment", "run_through_gateway", "violations"]
