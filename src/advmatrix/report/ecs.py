"""Alerts in the Elastic Common Schema (ECS), the shape SIEMs ingest as is.

The gateway writes ECS documents to its JSONL file, its webhook and its SIEM sinks and returns
them from its admin API; :func:`from_ecs` reads them back into typed :class:`~advmatrix.store.Alert` records (the
purple loop does, over HTTP). Field by field:

- ``@timestamp``: ISO 8601, UTC, milliseconds, ``Z``.
- ``event``: ``kind: alert``, ``category: [intrusion_detection]``, ``module``/``dataset``, and
  ``severity`` as a number (21, 47, 73, 99 for low, medium, high, critical: the scale of
  Elastic's detection rules); ``id`` is the alert's own ID (``Alert.uid``, given by the gateway
  when it raises the alert, so the JSONL line, the webhook, the SIEM sinks and the admin API all
  carry the same one), or the store's row number for an alert stored without one.
- ``rule``: ``id`` ``advmatrix.detector.<name>`` (stable), ``name`` the detector's title,
  ``ruleset`` ``advmatrix``.
- ``threat``: ``framework: MITRE ATLAS``; ``technique.id``, ``technique.name`` and
  ``technique.reference`` list techniques, ``technique.subtechnique.id``, ``.name`` and
  ``.reference`` sub-techniques, as ECS splits them (each three lists parallel, in the alert's
  order). A sub-technique's parent is listed among the techniques too, so a SIEM rule on the
  parent matches its sub-techniques' alerts. Names come from the bundled knowledge base; an ID it
  does not know keeps its ID with an empty name and reference (and is a sub-technique when its ID
  says so, ``AML.Tnnnn.nnn``).
- ``user.id``: the client as the gateway names it (``key:<hash>`` or ``ip:<address>``).
- ``advmatrix``: what ECS has no field for: ``detector``, ``severity`` (the label),
  ``action``, ``mitigation_ids``, ``query_count``, ``evidence``, ``technique_ids`` (the alert's
  own list: the ``threat`` fields cannot tell a parent the alert named from one added for its
  sub-technique) and ``id`` (the store's row number, once stored, for ``advmatrix alerts show``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import time
from typing import Any

from ..errors import AdvmatrixError, FormatError
from ..store import SEVERITIES, Alert

ECS_VERSION = "8.11.0"
#: ``event.severity`` per severity label (Elastic detection rules' risk scores)
SEVERITY_SCORES: dict[str, int] = {"low": 21, "medium": 47, "high": 73, "critical": 99}
RULE_PREFIX = "advmatrix.detector."
REFERENCE = "https://atlas.mitre.org/techniques/"
#: a sub-technique's ID and its parent's, for IDs the knowledge base does not know (a newer ATLAS)
_SUB_ID = re.compile(r"(AML\.T\d{4})\.\d{3}")


def timestamp(epoch: float) -> str:
    """``2024-05-01T12:00:00.123Z`` for seconds since the epoch (rounded to the millisecond)."""
    seconds, millis = divmod(round(epoch * 1000), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch for an ISO 8601 time (a time without zone is taken as UTC)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise FormatError(f"ECS alert: @timestamp {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return calendar.timegm(moment.timetuple()) + moment.microsecond / 1e6


def _title(detector: str) -> str:
    from ..plugins import registry

    try:
        return getattr(registry("detector").get(detector), "title", detector)
    except (AdvmatrixError, ImportError):  # a broken third-party plugin must not stop alerts going out
        return detector


def _known(tid: str, matrix: Any) -> Any:
    technique = matrix.get(tid) if tid in matrix else None
    return technique if technique is not None and technique.kind == "technique" else None


def _parent(tid: str, matrix: Any) -> str | None:
    """The parent technique of a sub-technique; None for a technique (or an ID of no known form)."""
    technique = _known(tid, matrix)
    if technique is not None:
        return technique.parent
    match = _SUB_ID.fullmatch(tid)
    return match.group(1) if match else None


def _listed(ids: dict[str, None], matrix: Any) -> dict[str, list[str]]:
    names, references = [], []
    for tid in ids:
        technique = _known(tid, matrix)
        # not in this knowledge base (a newer ATLAS, a plugin's own ID): its ID alone
        names.append(technique.name if technique is not None else "")
        references.append(REFERENCE + tid if technique is not None else "")
    return {"id": list(ids), "name": names, "reference": references}


def _threat(technique_ids: tuple[str, ...], matrix: Any) -> dict[str, Any]:
    techniques: dict[str, None] = {}  # ordered sets: the alert's order, each ID once
    subtechniques: dict[str, None] = {}
    for tid in technique_ids:
        parent = _parent(tid, matrix)
        if parent is None:
            techniques.setdefault(tid)
        else:
            techniques.setdefault(parent)
            subtechniques.setdefault(tid)
    technique: dict[str, Any] = _listed(techniques, matrix)
    if subtechniques:
        technique["subtechnique"] = _listed(subtechniques, matrix)
    return {"framework": "MITRE ATLAS", "technique": technique}


def to_ecs(alert: Alert, *, title: str | None = None, matrix: Any = None) -> dict[str, Any]:
    """The alert as an ECS document. ``title`` (the detector's title for ``rule.name``) and
    ``matrix`` (for technique names) default to the installed detectors and the bundled
    knowledge base."""
    if matrix is None:
        from ..kb import bundled

        matrix = bundled()
    event: dict[str, Any] = {"kind": "alert", "category": ["intrusion_detection"], "type": ["info"],
                             "module": "advmatrix", "dataset": "advmatrix.gateway",
                             "severity": SEVERITY_SCORES[alert.severity]}
    ours: dict[str, Any] = {"detector": alert.detector, "severity": alert.severity, "action": alert.action,
                            "mitigation_ids": list(alert.mitigation_ids), "query_count": alert.query_count,
                            "evidence": alert.evidence, "technique_ids": list(alert.technique_ids)}
    if alert.uid:
        event["id"] = alert.uid
    elif alert.id is not None:  # stored by a version that gave alerts no ID of their own
        event["id"] = str(alert.id)
    if alert.id is not None:
        ours["id"] = alert.id
    return {
        "@timestamp": timestamp(alert.time),
        "message": alert.message,
        "ecs": {"version": ECS_VERSION},
        "event": event,
        "rule": {"id": RULE_PREFIX + alert.detector, "name": title or _title(alert.detector),
                 "ruleset": "advmatrix"},
        "threat": _threat(alert.technique_ids, matrix),
        "user": {"id": alert.client},
        "advmatrix": ours,
    }


def _severity(doc: dict[str, Any]) -> str:
    label = doc.get("advmatrix", {}).get("severity")
    if label in SEVERITIES:
        return label
    score = doc.get("event", {}).get("severity")
    if isinstance(score, (int, float)):
        return next((s for s in SEVERITIES if score <= SEVERITY_SCORES[s]), "critical")
    raise FormatError("ECS alert: neither advmatrix.severity nor a numeric event.severity")


def _ids(value: Any) -> list[str]:
    # ECS keyword fields may hold one value or an array of them
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def technique_ids(doc: dict[str, Any]) -> tuple[str, ...]:
    """The ATLAS IDs an ECS alert names, as the alert had them: ``advmatrix.technique_ids`` when
    there (documents of this version), else the ``threat`` fields, where documents of older
    versions and of other writers list sub-techniques either among the techniques or under
    ``technique.subtechnique`` (each then put after its parent; a parent there may have been named
    by the alert or only added for its sub-technique, and is kept)."""
    ours = (doc.get("advmatrix") or {}).get("technique_ids")
    if isinstance(ours, list):
        return tuple(_ids(ours))
    technique = (doc.get("threat") or {}).get("technique")
    technique = technique if isinstance(technique, dict) else {}
    subtechnique = technique.get("subtechnique")
    parents = _ids(technique.get("id"))
    subs = _ids(subtechnique.get("id") if isinstance(subtechnique, dict) else None)
    if not subs:  # older versions' documents: the alert's list as it was
        return tuple(parents)
    found: dict[str, None] = {}
    for parent in parents:
        found.setdefault(parent)
        for sub in subs:
            if sub.startswith(parent + "."):
                found.setdefault(sub)
    for sub in subs:  # a sub-technique whose parent is not listed
        found.setdefault(sub)
    return tuple(found)


def from_ecs(doc: dict[str, Any]) -> Alert:
    """The typed alert an ECS document written by :func:`to_ecs` stands for (by this version or an
    older one)."""
    if not isinstance(doc, dict):
        raise FormatError(f"ECS alert: expected an object, got {type(doc).__name__}")
    ours = doc.get("advmatrix") or {}
    rule = doc.get("rule") or {}
    detector = ours.get("detector") or str(rule.get("id", "")).removeprefix(RULE_PREFIX) or rule.get("name")
    client = (doc.get("user") or {}).get("id")
    if not detector or not client or "@timestamp" not in doc:
        raise FormatError("ECS alert: needs @timestamp, user.id and advmatrix.detector (or rule.id)")
    event_id = (doc.get("event") or {}).get("id")
    event_id = str(event_id) if event_id not in (None, "") else None
    row = ours.get("id")
    if not isinstance(row, int) or isinstance(row, bool):  # older versions: the row number was event.id
        row = int(event_id) if event_id is not None and event_id.isdigit() else None
    uid = event_id if event_id != (None if row is None else str(row)) else None  # not the row number again
    return Alert(
        detector=detector,
        technique_ids=technique_ids(doc),
        client=client,
        severity=_severity(doc),
        message=doc.get("message", ""),
        evidence=dict(ours.get("evidence") or {}),
        time=parse_timestamp(doc["@timestamp"]),
        query_count=int(ours.get("query_count") or 0),
        action=ours.get("action", ""),
        mitigation_ids=tuple(ours.get("mitigation_ids") or ()),
        id=row,
        uid=uid,
    )
