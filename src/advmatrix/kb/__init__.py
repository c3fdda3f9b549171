"""The knowledge base: ATLAS tactics, techniques, mitigations and case studies as typed data.

>>> from advmatrix.kb import bundled
>>> bundled().technique("AML.T0043").name
'Craft Adversarial Data'
"""

from ._bundled import bundled, load_data_dir
from ._details import details, rmf_functions
from ._matrix import Matrix, Stats
from ._models import (
                      OWASP_LLM_TOP10,
                      OWASP_ML_TOP10,
                      AttackReference,
                      CaseStudy,
                      KnowledgeObject,
                      Mitigation,
                      MitigationUse,
                      ProcedureStep,
                      Reference,
                      Tactic,
                      Technique,
)
from ._source import load_source
from ._validate import Problem, check_matrix
from .diff import MatrixDiff, diff
from .layer import Layer, best_scores, build_layer
from .search import Hit, search

__all__ = [
                      "OWASP_LLM_TOP10",
                      "OWASP_ML_TOP10",
                      "AttackReference",
                      "CaseStudy",
                      "Hit",
                      "KnowledgeObject",
                      "Layer",
                      "Matrix",
                      "MatrixDiff",
                      "Mitigation",
                      "MitigationUse",
                      "Problem",
                      "ProcedureStep",
                      "Reference",
                      "Stats",
                      "Tactic",
                      "Technique",
                      "best_scores",
                      "build_layer",
                      "bundled",
                      "check_matrix",
                      "details",
                      "diff",
                      "load_data_dir",
                      "load_source",
                      "rmf_functions",
                      "search",
]
