"""Copy the references of an upstream ATLAS release into the bundled knowledge base.

The bundled data tells ATLAS in this project's own words, but the sources an object cites are
facts and must match upstream. Upstream cites most of them inside its prose, which the rewrite
drops; ``advmatrix.kb.atlas_yaml`` turns those citations into references when it reads a
release, and this script writes the result into ``src/advmatrix/kb/data`` so the bundled objects
carry the same references, in the same order.

    .venv/bin/python tools/kb_cited_references.py ../shared/fixtures/atlas/ATLAS-5.6.0.yaml

Only ``references`` keys change; the files are rewritten with the same YAML layout they were
written with, so running it twice changes nothing. ``tests/kb/test_upstream_facts.py`` checks
the outcome.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from advmatrix.kb import atlas_yaml
from advmatrix.kb._bundled import DATA_DIR

WIDTH = 96  # the line width the bundled files were written with


def _dump(data: object) -> str:
    return yaml.dump(data, Dumper=yaml.SafeDumper, sort_keys=False, allow_unicode=True, width=WIDTH)


def _with_references(raw: dict, refs: list[dict], before: str) -> dict:
    out: dict = {}
    for key, value in raw.items():
        if key == "references":
            continue
        if key == before and refs:
            out["references"] = refs
        out[key] = value
    return out


def _update(raw: dict, upstream_refs: dict[str, list[dict]], before: str) -> dict:
    refs = upstream_refs.get(raw["id"], [])
    extra = [r for r in raw.get("references") or () if r not in refs]
    if extra:
        sys.exit(f"{raw['id']}: bundled references not in upstream: {extra}")
    return _with_references(raw, refs, before)


def main(release: str) -> int:
    upstream = atlas_yaml.load(release)
    refs = {o.id: [r.model_dump() for r in o.references] for o in upstream.iter_objects()}
    changed = []

    def rewrite(path: Path, data: object) -> None:
        text = _dump(data)
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            changed.append(path)

    head_path = DATA_DIR / "matrix.yaml"
    head = yaml.safe_load(head_path.read_text(encoding="utf-8"))
    head["tactics"] = [_update(t, refs, "description") for t in head["tactics"]]
    rewrite(head_path, head)
    for name in ("techniques.yaml", "mitigations.yaml"):
        path = DATA_DIR / name
        rewrite(path, [_update(o, refs, "description") for o in yaml.safe_load(path.read_text(encoding="utf-8"))])
    for path in sorted((DATA_DIR / "case_studies").glob("*.yaml")):
        rewrite(path, _update(yaml.safe_load(path.read_text(encoding="utf-8")), refs, "summary"))
    for path in changed:
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} ATLAS.yaml")
    sys.exit(main(sys.argv[1]))
