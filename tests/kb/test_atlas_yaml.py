"""Reading every upstream ATLAS.yaml layout, tolerating its known slips, and writing it back."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from advmatrix.errors import FormatError, SchemaError
from advmatrix.kb import atlas_yaml
from tests.conftest import SHARED_ATLAS

FLAT_3X = """\
id: ATLAS
name: Adversarial Threat Landscape for Artificial-Intelligence Systems
version: 3.1.0
tactics:
- id: AML.TA0000
  name: ML Model Access
  description: Getting at the model.
  object-type: tactic
- id: AML.TA0001
  name: ML Attack Staging
  description: Preparing the attack.
  object-type: tactic
techniques:
- id: AML.T0040
  name: ML Model Inference API Access
  description: Using the API.
  object-type: technique
  tactics: [AML.TA0000]
  created_date: 2021-05-13
  modified_date: 2021-05-13
- id: AML.T0043
  name: Craft Adversarial Data
  description: Making bad inputs.
  object-type: technique
  tactics: [AML.TA0001]
  created_date: 2021-05-13
  modified_date: 2021-05-13
- id: AML.T0043.001
  name: Black-Box Optimization
  description: By queries.
  object-type: technique
  subtechnique-of: AML.T0043
  created_date: 2021-05-13
  modified_date: 2021-05-13
case-studies:
- id: AML.CS0001
  name: A study
  object-type: case-study
  summary: Something happened.
  incident-date: 2020-01-01
  incident-date-granularity: YEAR
  reported-by: Someone
  procedure:
  - tactic: AML.TA0000
    technique: AML.T0040
    description: Queried it.
  - tactic: AML.TA0001
    technique: AML.T0043.001
    description: Searched for an input.
"""

MATRICES_4X = """\
id: ATLAS
name: Adversarial Threat Landscape for AI Systems
version: 4.9.0
matrices:
- id: ATLAS
  name: ATLAS Matrix
  tactics:
  - id: AML.TA0001
    name: AI Attack Staging
    description: Preparing the attack.
    object-type: tactic
    created_date: 2022-01-24
    modified_date: 2025-04-09
  - id: AML.TA0002
    name: Reconnaissance
    description: Looking around.
    object-type: tactic
    ATT&CK-reference: {id: TA0043, url: 'https://attack.mitre.org/tactics/TA0043/'}
    created_date: 2022-01-24
    modified_date: 2025-04-09
  techniques:
  - id: AML.T0043
    name: Craft Adversarial Data
    description: Making bad inputs.
    object-type: technique
    tactics: [AML.TA0001]
    created_date: 2021-05-13
    modified_date: 2025-04-09
    future-field: something a later release added
  mitigations:
  - id: AML.M0003
    name: Model Hardening
    description: Robust models.
    object-type: mitigation
    techniques:
    - id: AML.T0043
      use: Harder to fool.
    ml-lifecycle:
    - ML Model Engineering
    - id: AML.T0043
      use: Indented one level too far upstream.
    category: [Technical - ML]
    created_date: 2023-04-12
    modified_date: 2025-04-09
case-studies:
- id: AML.CS0000
  name: A study
  object-type: case-study
  summary: Something happened.
  incident-date: 2020-01-01
  incident-date-granularity: YEAR
  procedure:
  - tactic: AML.TA0002
    technique: AML.T0043
    description: Step filed under a tactic the technique is not in.
  target: a model
  actor: someone
  case-study-type: exercise
"""


def test_reads_flat_3x_layout():
    m = atlas_yaml.loads(FLAT_3X, "flat.yaml")
    assert m.version == "3.1.0"
    assert [t.id for t in m.tactics] == ["AML.TA0000", "AML.TA0001"]
    assert m.technique("AML.T0043.001").parent == "AML.T0043"
    assert [t.id for t in m.tactics_of("AML.T0043.001")] == ["AML.TA0001"]
    cs = m.case_study("AML.CS0001")
    assert cs.reporter == "Someone" and cs.incident_date == dt.date(2020, 1, 1)
    assert m.warnings == ()


def test_reads_matrices_layout_and_reports_slips_as_warnings():
    m = atlas_yaml.loads(MATRICES_4X, "m.yaml")
    assert m.tactic("AML.TA0002").attack_reference.id == "TA0043"
    assert m.mitigation("AML.M0003").lifecycle == ("ML Model Engineering",)
    joined = "\n".join(m.warnings)
    assert "AML.M0003: technique link AML.T0043 found inside 'ml-lifecycle'" in joined
    assert "AML.T0043: ignored unknown field(s) future-field" in joined
    assert "technique AML.T0043 does not belong to tactic AML.TA0002" in joined
    # a misplaced link that repeats an existing one is not added twice
    assert [u.technique for u in m.mitigation("AML.M0003").techniques] == ["AML.T0043"]


def test_round_trip_of_small_files():
    for text in (FLAT_3X, MATRICES_4X):
        m = atlas_yaml.loads(text)
        assert atlas_yaml.loads(atlas_yaml.dumps(m)) == m


def test_round_trip_of_bundled_keeps_our_mappings(matrix):
    again = atlas_yaml.loads(atlas_yaml.dumps(matrix))
    assert again == matrix
    assert again.technique("AML.T0051").owasp_llm == matrix.technique("AML.T0051").owasp_llm


@pytest.mark.parametrize("text, message", [
    ("tactics: [\n", "not valid YAML (line 2"),
    ("- just a list\n", "the document is not a mapping"),
    ("id: ATLAS\nversion: 1\n", "neither a 'matrices' list nor top-level"),
    ("tactics: {}\ntechniques: []\n", "'tactics' should be a list"),
])
def test_bad_files_give_one_clear_error(text, message):
    with pytest.raises(FormatError, match=re.escape(message)):
        atlas_yaml.loads(text, "bad.yaml")


def test_schema_error_names_the_object_and_field():
    text = FLAT_3X.replace("incident-date-granularity: YEAR", "incident-date-granularity: DECADE")
    with pytest.raises(SchemaError, match=r"bad.yaml: AML.CS0001: field 'incident_date_granularity'"):
        atlas_yaml.loads(text, "bad.yaml")


def test_missing_file():
    with pytest.raises(FormatError, match="no such file"):
        atlas_yaml.load("/nonexistent/ATLAS.yaml")


@pytest.mark.parametrize("version, counts", [
    ("4.9.0", (15, 68, 47, 26, 32, 225)),
    ("5.6.0", (16, 101, 69, 35, 57, 449)),
])
def test_real_releases_reproduce_their_counts(version, counts):
    from tests.conftest import upstream_release
    m = atlas_yaml.load(upstream_release(version))
    s = m.stats()
    assert (s.tactics, s.techniques, s.subtechniques, s.mitigations, s.case_studies, s.procedure_steps) == counts
    assert s.version == version
    # the only slips in these releases are the known lifecycle ones
    assert all("inside 'ml-lifecycle'" in w for w in m.warnings) and len(m.warnings) == 2
    assert atlas_yaml.loads(atlas_yaml.dumps(m)) == m


# -- field spellings of past releases --------------------------------------------------------------
MITIGATION_SPELLINGS = """\
id: ATLAS
name: ATLAS
version: {version}
matrices:
- id: ATLAS
  name: ATLAS Matrix
  tactics:
  - {{id: AML.TA0001, name: Staging, description: Preparing., object-type: tactic}}
  techniques:
  - {{id: AML.T0043, name: Craft Adversarial Data, description: Bad inputs., object-type: technique,
     tactics: [AML.TA0001]}}
  mitigations:
  - id: AML.M0003
    name: Model Hardening
    description: Robust models.
    object-type: mitigation
    techniques: [{{id: AML.T0043, use: Harder to fool.}}]
{fields}
case-studies: []
"""


@pytest.mark.parametrize("version, fields, lifecycle, category", [
    ("4.4.0", "    tags: [Model Focused, Active]", (), ("Model Focused", "Active")),
    ("4.5.0", "    category: [Technical - ML]\n    ML-lifecycle: [ML Model Engineering, Deployment]",
     ("ML Model Engineering", "Deployment"), ("Technical - ML",)),
    ("4.7.0", "    category: [Technical - ML]\n    ml-lifecycle: [ML Model Engineering, Deployment]",
     ("ML Model Engineering", "Deployment"), ("Technical - ML",)),
])
def test_every_released_spelling_of_mitigation_fields(version, fields, lifecycle, category):
    m = atlas_yaml.loads(MITIGATION_SPELLINGS.format(version=version, fields=fields), f"{version}.yaml")
    assert m.warnings == ()
    assert (m.mitigation("AML.M0003").lifecycle, m.mitigation("AML.M0003").category) == (lifecycle, category)


def _release_with_old_lifecycle_spelling(path, tmp_path):
    """A real release as 4.5.0 to 4.6.0 spelled the lifecycle field."""
    text = path.read_text(encoding="utf-8")
    assert "    ml-lifecycle:" in text
    old = tmp_path / path.name.replace(".yaml", "-ML-lifecycle.yaml")
    old.write_text(text.replace("    ml-lifecycle:", "    ML-lifecycle:"), encoding="utf-8")
    return old


def test_old_lifecycle_spelling_reads_the_same_release(atlas_490, tmp_path):
    new, old = atlas_yaml.load(atlas_490), atlas_yaml.load(_release_with_old_lifecycle_spelling(atlas_490, tmp_path))
    assert old.mitigations == new.mitigations
    assert sum(bool(m.lifecycle) for m in old.mitigations) == 26
    assert [w.replace("ML-lifecycle", "ml-lifecycle") for w in old.warnings] == list(new.warnings)


def test_validate_and_diff_across_spellings(cli, atlas_490, atlas_560, tmp_path):
    old = _release_with_old_lifecycle_spelling(atlas_490, tmp_path)
    problems = cli("kb", "validate", old, "--json").json()["problems"]
    # what is left is the real upstream slip, which 4.9.0 has under either spelling
    assert problems and all("found inside 'ml-lifecycle'" in p for p in problems)
    changed = cli("kb", "diff", old, atlas_560, "--json").json()["changed"]
    lifecycle = sorted(c["id"] for c in changed if "lifecycle" in c["fields"])
    direct = cli("kb", "diff", atlas_490, atlas_560, "--json").json()["changed"]
    assert lifecycle == sorted(c["id"] for c in direct if "lifecycle" in c["fields"])


def test_release_450_validates_and_has_no_false_lifecycle_changes(cli, atlas_560):
    from tests.conftest import upstream_release
    release = upstream_release("4.5.0")
    r = cli("kb", "validate", release, "--json")
    assert (r.code, r.json()["problems"]) == (0, [])
    changed = cli("kb", "diff", release, atlas_560, "--json").json()["changed"]
    # the only lifecycle changes between these releases are real ones (M0002 and M0005 only reorder)
    assert sorted(c["id"] for c in changed if "lifecycle" in c["fields"]) == ["AML.M0012", "AML.M0016"]


@pytest.mark.parametrize("path", sorted(SHARED_ATLAS.glob("ATLAS-*.yaml")) or [None],
                         ids=lambda p: p.stem if p else "none")
def test_every_fixture_release_reads_without_unknown_fields(path):
    if path is None:
        pytest.skip("no upstream releases in ../shared/fixtures/atlas")
    m = atlas_yaml.load(path)
    assert [w for w in m.warnings if "found inside 'ml-lifecycle'" not in w] == []
    spelled = len(re.findall(r"^ +(?:ml|ML)-lifecycle:", path.read_text(encoding="utf-8"), re.M))
    assert sum(bool(x.lifecycle) for x in m.mitigations) == spelled
