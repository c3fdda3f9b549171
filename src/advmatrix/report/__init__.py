"""Reports for people and machines: an assessment as JSON, self-contained HTML, Markdown,
SARIF and Navigator layers (success, detection coverage, the gap between them); scanner
findings as SARIF; gateway alerts as Elastic Common Schema documents.

Names are imported on first use: ``advmatrix scan`` needs only SARIF and must not pay for the
rest at start-up.

>>> from advmatrix.report import to_ecs
>>> from advmatrix.store import Alert
>>> to_ecs(Alert("volume", ("AML.T0034",), "key:abc", "high", "too many"))["threat"]["framework"]
'MITRE ATLAS'
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"detection_layer": ".assessment", "gap_layer_json": ".assessment", "layer_json": ".assessment",
         "report_data": ".assessment", "report_html": ".assessment", "report_json": ".assessment",
         "report_markdown": "._markdown", "summary": ".assessment", "write_coverage": ".assessment",
         "write_reports": ".assessment", "findings_sarif": ".assessment_sarif", "from_ecs": ".ecs",
         "to_ecs": ".ecs", "to_sarif": ".sarif"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
