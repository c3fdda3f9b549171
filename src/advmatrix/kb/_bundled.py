"""The knowledge base that ships with advmatrix: ATLAS facts, descriptions in our own words."""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from ..errors import KnowledgeBaseError, SchemaError
from ._io import build, read_yaml
from ._matrix import Matrix
from ._models import CaseStudy, Mitigation, Tactic, Technique
from ._validate import check_matrix

DATA_DIR = Path(__file__).with_name("data")


def _list(path: Path, key: str | None = None) -> list:
    data = read_yaml(path)
    if key is not None:
        data = data.get(key) if isinstance(data, dict) else None
    if not isinstance(data, list):
        raise SchemaError("expected a list" + (f" under '{key}'" if key else ""), source=str(path))
    return data


def load_data_dir(data_dir: Path, *, check: bool = True) -> Matrix:
    """Load a knowledge base kept in our file layout. Every problem is an error here."""
    head_path = data_dir / "matrix.yaml"
    head = read_yaml(head_path)
    if not isinstance(head, dict) or "version" not in head:
        raise SchemaError("expected a mapping with 'version'", source=str(head_path))
    tactics = tuple(build(Tactic, x, str(head_path)) for x in _list(head_path, "tactics"))
    tech_path = data_dir / "techniques.yaml"
    techniques = tuple(build(Technique, x, str(tech_path)) for x in _list(tech_path))
    mit_path = data_dir / "mitigations.yaml"
    mitigations = tuple(build(Mitigation, x, str(mit_path)) for x in _list(mit_path))
    case_studies = []
    for path in sorted((data_dir / "case_studies").glob("*.yaml")):
        cs = build(CaseStudy, read_yaml(path), str(path))
        if cs.id != path.stem:
            raise SchemaError(f"file name does not match ID {cs.id}", source=str(path),
                              object_id=cs.id, field="id")
        case_studies.append(cs)
    matrix = Matrix(
        id=head.get("id", "ATLAS"), name=head.get("name", ""), version=str(head["version"]),
        tactics=tactics, techniques=techniques, mitigations=mitigations,
        case_studies=tuple(case_studies), source=str(data_dir),
    )
    if check:
        problems = check_matrix(matrix)
        if problems:
            raise KnowledgeBaseError(f"{data_dir}: {problems[0]}"
                                     + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    return matrix


def _cache_path(data_dir: Path) -> Path | None:
    """Where a validated copy of ``data_dir`` is kept as JSON, keyed by the files' size and
    mtime. Parsing 60 YAML files dominates a cold ``advmatrix kb show``; JSON is ~10x faster."""
    if os.environ.get("ADVMATRIX_NO_CACHE"):
        return None
    from .._files import cache_dir

    base = cache_dir()
    digest = hashlib.sha256()
    for path in sorted(data_dir.rglob("*.yaml")):
        st = path.stat()
        digest.update(f"{path.relative_to(data_dir)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return base / f"kb-{digest.hexdigest()[:24]}.json"


def _from_cache(path: Path, data_dir: Path) -> Matrix | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Matrix(
            id=data["id"], name=data["name"], version=data["version"],
            tactics=tuple(Tactic.model_validate(x) for x in data["tactics"]),
            techniques=tuple(Technique.model_validate(x) for x in data["techniques"]),
            mitigations=tuple(Mitigation.model_validate(x) for x in data["mitigations"]),
            case_studies=tuple(CaseStudy.model_validate(x) for x in data["case_studies"]),
            source=str(data_dir),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, stale or damaged: rebuild from the YAML


def _to_cache(path: Path, matrix: Matrix) -> None:
    data = {"id": matrix.id, "name": matrix.name, "version": matrix.version,
            **{kind: [o.model_dump(mode="json") for o in getattr(matrix, kind)]
               for kind in ("tactics", "techniques", "mitigations", "case_studies")}}
    from .._files import write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(data))
    except OSError:
        pass  # a read-only home only costs speed


def load_cached(data_dir: Path) -> Matrix:
    """``load_data_dir`` through the JSON cache."""
    cache = _cache_path(data_dir)
    if cache is not None and cache.is_file():
        matrix = _from_cache(cache, data_dir)
        if matrix is not None:
            return matrix
    matrix = load_data_dir(data_dir)
    if cache is not None:
        _to_cache(cache, matrix)
    return matrix


@lru_cache(maxsize=1)
def bundled() -> Matrix:
    """The bundled ATLAS matrix (loaded once per process, from a JSON cache when fresh)."""
    return load_cached(DATA_DIR)
