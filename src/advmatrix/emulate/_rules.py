"""``--fail-on`` rules: ``evasion.success>0.5``, ``pgd.success>=0.3``, ``membership.auc>0.6``,
``any.success>0.9``. The selector is a family, a procedure name or ``any``; the metric is
``success`` (the success rate) or any metric a finding reports."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

from ..errors import UsageError

_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}
_RULE = re.compile(r"^\s*([a-z][\w-]*)\.([a-z][\w@]*)\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Rule:
    """A ``--fail-on`` rule: ``SELECTOR.METRIC OP NUMBER``."""
    selector: str
    metric: str
    op: str
    value: float
    text: str

    def matches(self, finding) -> bool:
        if self.selector not in ("any", finding.family, finding.procedure) or finding.status == "skipped":
            return False
        actual = finding.success_rate if self.metric == "success" else finding.metrics.get(self.metric)
        return actual is not None and _OPS[self.op](actual, self.value)


def parse_rule(text: str) -> Rule:
    """One ``--fail-on`` rule; a malformed one is a one-line :class:`UsageError`."""
    m = _RULE.match(text)
    if not m:
        raise UsageError(f"--fail-on '{text}': expected SELECTOR.METRIC OP NUMBER, e.g. evasion.success>0.5")
    return Rule(m.group(1), m.group(2), m.group(3), float(m.group(4)), text.strip())


def violations(rules: list[Rule], assessment) -> list[tuple[Rule, object]]:
    """The (rule, finding) pairs where a rule holds."""
    return [(r, f) for r in rules for f in assessment.findings if r.matches(f)]
