"""Emulation: ATLAS-tagged attack procedures run against targets, each returning a Finding.

Procedures are plugins (kind ``procedure``, entry-point group ``advmatrix.procedures``);
:func:`assess` is the one engine that selects, runs, stores, reports and checks rules.
"""

from ._assess import AssessmentResult, assess, check_rules, load_run, report_run, select, write_reports
from ._base import Dataset, Example, Finding, Procedure
from ._campaign import Assessment, Coverage, run_assessment
from ._data import load_callable, load_dataset
from ._diff import ProcedureChange, RunDiff, diff_runs
from ._purple import GatewayAdmin, coverage_scores, run_through_gateway
from ._registry import get, procedures
from ._rules import Rule, parse_rule, violations

__all__ = ["Assessment", "AssessmentResult", "Coverage", "Dataset", "Example", "Finding", "GatewayAdmin",
           "Procedure", "ProcedureChange", "Rule", "RunDiff", "assess", "check_rules", "coverage_scores",
           "diff_runs", "get", "load_callable", "load_dataset",
           "load_run", "parse_rule", "procedures", "report_run", "run_assessment", "run_through_gateway", "select",
           "violations", "write_reports"]
