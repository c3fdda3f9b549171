"""The knowledge base that ships with advmatrix: ATLAS facts, descriptions in our own words."""

from __future__ import annotations

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


@lru_cache(maxsize=1)
def bundled() -> Matrix:
    """The bundled ATLAS matrix (loaded once per process)."""
    return load_data_dir(DATA_DIR)
