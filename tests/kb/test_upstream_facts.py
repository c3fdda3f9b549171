"""Facts in the bundled data match the upstream ATLAS 5.6.0 release exactly; the prose does not.

Skipped when ../shared/fixtures/atlas is absent.
"""

from __future__ import annotations

import re

import pytest
import yaml

from advmatrix.kb import atlas_yaml


@pytest.fixture(scope="module")
def upstream(atlas_560):
    return atlas_yaml.load(atlas_560)


@pytest.fixture(scope="module")
def raw(atlas_560):
    return yaml.safe_load(atlas_560.read_text())


def _facts(obj) -> dict:
    data = obj.model_dump()
    for prose in ("description", "summary", "owasp_ml", "owasp_llm", "nist_ai_rmf"):
        data.pop(prose, None)
    if "techniques" in data and obj.kind == "mitigation":
        data["techniques"] = [u["technique"] for u in data["techniques"]]
    if "procedure" in data:
        data["procedure"] = [(s["tactic"], s["technique"]) for s in data["procedure"]]
    return data


def test_same_objects_in_the_same_order(matrix, upstream):
    for kind in ("tactics", "techniques", "mitigations", "case_studies"):
        assert [o.id for o in getattr(matrix, kind)] == [o.id for o in getattr(upstream, kind)], kind


def test_every_fact_matches(matrix, upstream):
    mismatches = []
    for ours, theirs in zip(matrix.iter_objects(), upstream.iter_objects(), strict=True):
        a, b = _facts(ours), _facts(theirs)
        mismatches += [f"{ours.id}.{k}" for k in a if a[k] != b[k]]
    assert mismatches == []


def test_mitigation_links_include_upstream_misplaced_ones(matrix, raw):
    # Upstream puts two AML.T0052.001 links inside 'ml-lifecycle'; we keep them as links.
    links = {m.id: [u.technique for u in m.techniques] for m in matrix.mitigations}
    for m in raw["matrices"][0]["mitigations"]:
        expected = [u["id"] for u in m["techniques"]] + [x["id"] for x in m["ml-lifecycle"] if isinstance(x, dict)]
        assert links[m["id"]] == expected


_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", _LINK.sub(" | ", text).lower())


def _longest_shared_run(a: str, b: str) -> int:
    wa, wb = _words(a), _words(b)
    n = 0
    while True:
        grams = {tuple(wb[i:i + n + 1]) for i in range(len(wb) - n)}
        if not any(tuple(wa[i:i + n + 1]) in grams for i in range(len(wa) - n)):
            return n
        n += 1


def test_prose_is_our_own(matrix, upstream):
    """No text copies upstream: short shared runs are names, numbers and lists of products."""
    pairs = []
    for ours, theirs in zip(matrix.iter_objects(), upstream.iter_objects(), strict=True):
        pairs.append((ours.id, getattr(ours, "description", None) or ours.summary,
                      getattr(theirs, "description", None) or theirs.summary))
    for ours, theirs in zip(matrix.case_studies, upstream.case_studies, strict=True):
        pairs += [(f"{ours.id} step {n}", a.description, b.description)
                  for n, (a, b) in enumerate(zip(ours.procedure, theirs.procedure, strict=True), 1)]
    for ours, theirs in zip(matrix.mitigations, upstream.mitigations, strict=True):
        pairs += [(f"{ours.id} use of {a.technique}", a.use, b.use)
                  for a, b in zip(ours.techniques, theirs.techniques, strict=True)]
    runs = {key: _longest_shared_run(a, b) for key, a, b in pairs}
    assert max(runs.values()) < 14, max(runs, key=runs.get)
    long_runs = [k for k, n in runs.items() if n >= 8]
    assert len(long_runs) < 0.03 * len(runs), long_runs
    assert sum(a == b for _, a, b in pairs) == 0
