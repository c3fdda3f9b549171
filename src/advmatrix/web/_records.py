"""What the run and alert pages show: an assessment's findings joined to what the gateway saw of
them, and gateway alerts filtered as an analyst asks (client, detector, technique, time)."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from ..errors import UsageError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([mhd])")
_UNIT = {"m": 60, "h": 3600, "d": 86400}
#: how many of the newest alerts a technique filter looks through (the store filters the rest)
SCAN_LIMIT = 5000


def evidence_summary(finding: Any) -> str:
    """The evidence of a finding in a few words: how many examples, and what the attack changed."""
    examples = finding.evidence
    if not examples:
        return "none recorded"
    words = [f"{len(examples)} example" + ("" if len(examples) == 1 else "s")]
    flipped = [e for e in examples if e.adversarial_prediction is not None and e.label is not None]
    if flipped:
        wrong = sum(e.adversarial_prediction != e.label for e in flipped)
        words.append(f"{wrong} of {len(flipped)} misclassified after the attack")
    chats = sum(1 for e in examples if e.transcript)
    if chats:
        words.append(f"{chats} transcript" + ("" if chats == 1 else "s"))
    notes = [e.note for e in examples if e.note]
    if notes:
        words.append(notes[0] if len(notes[0]) <= 120 else notes[0][:117] + "...")
    return "; ".join(words)


def run_rows(assessment: Any) -> list[dict[str, Any]]:
    """One row per finding: its result, queries, evidence and, for gateway runs, the verdict."""
    from ..report._verdicts import procedure_verdicts, shown_result

    verdicts = {v.procedure: v for v in procedure_verdicts(assessment)}
    rows = []
    for f in assessment.findings:
        v = verdicts.get(f.procedure)
        rows.append({"f": f, "result": shown_result(f), "evidence": evidence_summary(f),
                     "verdict": v.words if v is not None and assessment.coverage is not None else "",
                     "metrics": ", ".join(f"{k} {_short(x)}" for k, x in sorted(f.metrics.items()))})
    return rows


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def parse_since(text: str, now: float | None = None) -> float:
    """Seconds since the epoch for a ``since`` filter: a duration back from now (``30m``, ``24h``,
    ``7d``) or an ISO 8601 date or time (UTC unless it names a zone)."""
    now = time.time() if now is None else now
    text = text.strip()
    if m := _DURATION.fullmatch(text):
        return now - float(m.group(1)) * _UNIT[m.group(2)]
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"since: '{text}' is neither a duration (30m, 24h, 7d) nor an ISO 8601 date or time") \
            from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def matches_technique(technique_ids: tuple[str, ...], wanted: str) -> bool:
    """Whether an alert names ``wanted`` or one of its sub-techniques."""
    return any(t == wanted or t.startswith(wanted + ".") for t in technique_ids)


def filtered_alerts(store: Any, *, client: str | None = None, detector: str | None = None,
                    technique: str | None = None, since: float | None = None, limit: int = 200) -> list[Any]:
    """Alerts through :meth:`EventStore.alerts`, latest first by the time they were raised; the
    technique is matched here, over the last :data:`SCAN_LIMIT` stored alerts that pass the other
    filters."""
    if not technique:
        found = store.alerts(client=client, detector=detector, since=since, limit=limit)
    else:
        found = store.alerts(client=client, detector=detector, since=since, limit=SCAN_LIMIT)
        found = [a for a in found if matches_technique(a.technique_ids, technique)][:limit]
    # the store returns them in the order written; a batch written late may hold older alerts
    return sorted(found, key=lambda a: a.time, reverse=True)


def utc(epoch: float) -> str:
    """An epoch time as a short UTC timestamp."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
