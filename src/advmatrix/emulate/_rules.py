"""``--fail-on`` rules: ``evasion.success>0.5``, ``pgd.success>=0.3``, ``membership.auc>0.6``,
``any.success>0.9``. The selector is a family, a procedure name or ``any``; the metric is
``success`` (the success rate) or any metric a finding reports."""

from __future__ import annotations

import difflib
import operator
import re
from dataclasses import dataclass

from ..errors import UsageError

_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}
#: metrics the built-in procedures report (beside ``success``); a rule naming another is a typo
#: unless a procedure from another package is installed (its metrics are known only after a run)
METRICS = frozenset({
    "success_rate", "successes", "queries_per_success", "trials", "wilson_low", "wilson_high",
    "first_success_query", "success_plain", "success_plain_low", "success_plain_high", "best_variant_is_plain",
    "clean_accuracy", "seeds", "attacked", "mean_linf", "mean_l2",
    "fidelity", "extraction_queries", "victim_accuracy",
    "auc", "advantage", "balanced_accuracy", "n_members", "n_nonmembers",
    "mean_confidence", "identified_classes", "classes_inverted",
    "attack_success", "clean_accuracy_before", "clean_accuracy_after", "poisoned_samples",
    "classes_seen", "classes_declared", "scores_per_answer", "score_decimals", "decision_flips_on_line",
    "exposes_full_scores", "amplification", "latency_amplification", "most_tool_calls",
})
#: metric families named with a suffix: fidelity@200, success_base64, uplift_base64, steps_...
METRIC_PREFIXES = ("fidelity@", "success_", "uplift_", "steps_")
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
    rule = Rule(m.group(1), m.group(2), m.group(3), float(m.group(4)), text.strip())
    _check_names(rule)
    return rule


def _check_names(rule: Rule) -> None:
    """Refuse a selector or metric no installed procedure knows, listing the valid ones: a CI
    gate with a typo must fail at once, not pass forever."""
    from ._registry import procedures

    installed = procedures().values()
    families = sorted({cls.family for cls in installed})
    if rule.selector not in {"any", *families, *(cls.name for cls in installed)}:
        close = difflib.get_close_matches(rule.selector, [*families, *(c.name for c in installed)], n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UsageError(f"--fail-on '{rule.text}': '{rule.selector}' is no family or procedure "
                         f"({hint}families: {', '.join(families)}; a procedure name (advmatrix procedures); or 'any')")
    if rule.metric == "success" or rule.metric in METRICS or rule.metric.startswith(METRIC_PREFIXES):
        return
    if any(not cls.__module__.startswith("advmatrix.") for cls in installed):
        return  # a plugin's metrics are known only from its findings: checked after the run
    close = difflib.get_close_matches(rule.metric, ["success", *METRICS], n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise UsageError(f"--fail-on '{rule.text}': no procedure reports a metric '{rule.metric}' ({hint}valid: success, "
                     f"{', '.join(sorted(METRICS))}, and {', '.join(p + '...' for p in METRIC_PREFIXES)})")


def violations(rules: list[Rule], assessment) -> list[tuple[Rule, object]]:
    """The (rule, finding) pairs where a rule holds."""
    return [(r, f) for r in rules for f in assessment.findings if r.matches(f)]
