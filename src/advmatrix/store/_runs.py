"""Assessment runs in a relational database through SQLAlchemy Core."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.engine import Engine

from ..errors import UnknownObjectError, UsageError
from ..kb.layer import best_scores
from ._engine import create_tables, open_engine, url_for

metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("id", String(32), primary_key=True),
    Column("label", String(200), nullable=False, default=""),
    Column("target_name", String(300), nullable=False),
    Column("access", String(20), nullable=False),
    Column("started", String(40), nullable=False),
    Column("finished", String(40), nullable=False),
    Column("document", Text, nullable=False),  # the whole assessment as JSON
)

findings = Table(
    "findings", metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("procedure", String(100), nullable=False),
    Column("family", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("success_rate", Float),
    Column("queries", Integer, nullable=False),
    Column("wall_time", Float, nullable=False),
    Column("technique_ids", Text, nullable=False),
)

# what the monitoring gateway noticed of each procedure, for runs made through it
detections = Table(
    "detections", metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("procedure", String(100), nullable=False),
    Column("detected", Integer, nullable=False),
    Column("queries_to_detection", Integer),
    Column("detectors", Text, nullable=False),
    Column("technique_ids", Text, nullable=False),
)


class RunStore:
    """Assessment runs: each whole as JSON, with its findings and gateway detections as rows
    for the matrix views."""

    def __init__(self, location: str | Path = "advmatrix.db"):
        self.url = url_for(location)
        self.engine: Engine = open_engine(location)
        create_tables(self.engine, metadata, location)

    def save(self, assessment: Any) -> str:
        doc = assessment.as_dict()
        with self.engine.begin() as conn:
            conn.execute(insert(runs).values(
                id=assessment.id, label=assessment.label, target_name=assessment.target["name"],
                access=assessment.target["access"], started=assessment.started, finished=assessment.finished,
                document=json.dumps(doc)))
            for i, f in enumerate(assessment.findings):
                conn.execute(insert(findings).values(
                    run_id=assessment.id, position=i, procedure=f.procedure, family=f.family, status=f.status,
                    success_rate=f.success_rate, queries=f.queries, wall_time=f.wall_time,
                    technique_ids=json.dumps(list(f.technique_ids))))
            for i, c in enumerate(assessment.coverage or ()):
                conn.execute(insert(detections).values(
                    run_id=assessment.id, position=i, procedure=c.procedure, detected=int(c.detected),
                    queries_to_detection=c.queries_to_detection, detectors=json.dumps(c.detectors),
                    technique_ids=json.dumps(list(c.technique_ids))))
        return assessment.id

    def list(self, limit: int = 50) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs.c.id, runs.c.label, runs.c.target_name, runs.c.access, runs.c.started,
                                       runs.c.finished).order_by(runs.c.started.desc()).limit(limit)).mappings().all()
            out = []
            for r in rows:
                fs = conn.execute(select(findings.c.status, findings.c.success_rate)
                                  .where(findings.c.run_id == r["id"])).all()
                rates = [f.success_rate for f in fs if f.success_rate is not None]
                seen = conn.execute(select(detections.c.detected).where(detections.c.run_id == r["id"])).all()
                gateway = {"procedures": len(seen), "detected": sum(d.detected for d in seen)} if seen else None
                out.append({**dict(r), "findings": len(fs), "max_success": max(rates) if rates else None,
                            "gateway": gateway})
            return out

    def document(self, run_id: str) -> dict[str, Any]:
        """The stored document of the run whose ID starts with ``run_id`` (the assessment as
        JSON; ``advmatrix.emulate.load_run`` makes it an ``Assessment`` again)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs.c.id, runs.c.document).where(runs.c.id.like(f"{run_id}%"))).all()
        if not rows:
            raise UnknownObjectError(run_id, f"see 'advmatrix runs list --db {self.url}'", where="the run store")
        if len(rows) > 1:
            raise UsageError(f"run ID prefix '{run_id}' matches {len(rows)} runs; give more characters")
        return json.loads(rows[0].document)

    def technique_scores(self) -> dict[str, float]:
        """Best success per technique over every stored run (for matrix views)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(findings.c.technique_ids, findings.c.success_rate)).all()
        return best_scores((json.loads(tids), rate) for tids, rate in rows)

    def detection_scores(self) -> dict[str, float]:
        """Per technique emulated through the gateway in any stored run: 1 if the gateway
        noticed some procedure emulating it, else 0."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(detections.c.technique_ids, detections.c.detected)).all()
        return best_scores((json.loads(tids), float(detected)) for tids, detected in rows)
