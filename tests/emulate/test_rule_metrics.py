"""The metric names `--fail-on` accepts stay in step with what the built-in procedures write: a
metric a procedure sets by name must be in the table, or a gate naming it would be refused."""

from __future__ import annotations

import re
from pathlib import Path

from advmatrix.emulate._rules import METRIC_PREFIXES, METRICS

SRC = Path(__file__).resolve().parents[2] / "src" / "advmatrix" / "emulate"
SET = re.compile(r"metrics\[f?\"([a-z_@]+)")
IN_DICT = re.compile(r"metrics(?:\.update\(|\s*=\s*)\{([^}]*)\}", re.S)
KEY = re.compile(r"\"([a-z_@]+)\"\s*:")


def test_every_metric_a_procedure_sets_by_name_is_accepted_by_the_gate():
    names = set()
    for path in SRC.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(SET.findall(text))
        for body in IN_DICT.findall(text):
            names |= set(KEY.findall(body))
    assert len(names) > 20
    unknown = sorted(n for n in names if n not in METRICS and not n.startswith(METRIC_PREFIXES))
    assert not unknown, f"add to advmatrix.emulate._rules.METRICS: {unknown}"
