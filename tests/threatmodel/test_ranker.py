"""The ranking model: features of the rules' evidence, its fit, and the scores it gives."""

from __future__ import annotations

import math

import pytest

from advmatrix.errors import FormatError
from advmatrix.threatmodel import load_system_text
from advmatrix.threatmodel._ranker import FEATURES, Ranker, evidence, fit_ranker
from advmatrix.threatmodel.predict import Weights, bundled_weights, learn_weights, predict, technique_scores
from advmatrix.threatmodel.rules import load_rules

pytest.importorskip("sklearn")

RULES = """\
rules:
  - {id: AML.T0015, when: {kind: model}, reason: r}
  - {id: AML.T0015, when: {kind: model, task: classification, exposed: true}, reason: r}
  - {id: AML.T0040, when: {kind: service}, reason: r}
  - {id: AML.T0047, tier: possible, when: {kind: service}, reason: r}
  - {id: AML.T0024.002, tier: possible, when: {kind: model}, reason: r}
"""


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(RULES)
    return list(load_rules([path], include_bundled=False))


def test_evidence_counts_distinct_rules_and_reads_tier_rate_and_depth(rules):
    plain, deep, service, product, extraction = rules
    ev = evidence([plain, deep, plain, service, product, extraction], {"AML.T0015": 3}, 9)
    assert set(ev) == {"AML.T0015", "AML.T0040", "AML.T0047", "AML.T0024.002"}
    named = {t: dict(zip(FEATURES, x, strict=True)) for t, x in ev.items()}
    assert named["AML.T0015"]["rules"] == pytest.approx(math.log(3))  # plain counted once
    assert named["AML.T0015"]["rate"] == pytest.approx(math.log(3.5 / 10))
    assert named["AML.T0040"]["rate"] == pytest.approx(math.log(0.5 / 10))  # never used is not impossible
    assert named["AML.T0015"]["specificity"] > named["AML.T0040"]["specificity"]
    assert named["AML.T0015"]["likely"] == 1.0 and named["AML.T0047"]["likely"] == 0.0
    assert named["AML.T0024.002"]["sub"] == 1.0 and named["AML.T0015"]["sub"] == 0.0


def test_the_model_learns_what_the_evidence_says(rules):
    plain, deep, service, product, extraction = rules
    # Techniques two rules found, or a likely rule found, were used; those one possible rule found were not.
    obs = [([plain, deep, service, product, extraction], {"AML.T0015", "AML.T0040"})] * 6
    obs += [([plain, service, product], {"AML.T0015", "AML.T0040"})] * 3
    ranker = fit_ranker(obs)
    assert ranker.cases == 9 and ranker.used == {"AML.T0015": 9, "AML.T0040": 9}
    assert ranker.coef["likely"] > 0
    p = ranker.scores([plain, service, product, extraction])
    assert min(p["AML.T0015"], p["AML.T0040"]) > max(p["AML.T0047"], p["AML.T0024.002"])
    # The reverse record reverses the order: the fit, not a fixed formula, decides; but evidence never
    # counts against a technique, so the author's tier is weighed at zero, not below, and the record
    # of use (the rate) carries the reversal.
    reverse = fit_ranker([(f, {"AML.T0047", "AML.T0024.002"}) for f, _ in obs])
    assert reverse.coef["likely"] == 0 and reverse.coef["rate"] > 0
    p = reverse.scores([plain, service, product, extraction])
    assert max(p["AML.T0015"], p["AML.T0040"]) < min(p["AML.T0047"], p["AML.T0024.002"])


def test_a_fit_with_nothing_to_learn_says_so(rules):
    with pytest.raises(ValueError, match="was used and one where it was not"):
        fit_ranker([(rules, set())] * 3)


def test_the_learned_table_carries_the_model_and_it_scores(rules):
    plain, deep, service, product, extraction = rules
    obs = [((plain, deep, service, product, extraction), {"AML.T0015", "AML.T0040"})] * 4
    obs += [((plain, service, product, extraction), {"AML.T0040"})] * 4
    table = learn_weights(obs, rules, ranker_c=0.3)
    assert table["ranker"]["c"] == 0.3 and set(table["ranker"]["coef"]) == set(FEATURES)
    weights = Weights.from_dict(table)
    assert weights.ranker == Ranker.from_dict(table["ranker"])
    got = technique_scores([plain, service, product], weights)
    assert got == {t: round(p, 6) for t, p in weights.ranker.scores([plain, service, product]).items()}
    # Without the model the per-rule estimates score as before: the two differ.
    assert technique_scores([plain, service, product], Weights.from_dict(learn_weights(obs, rules))) != got


def test_a_malformed_model_fails_with_the_file_named():
    good = bundled_weights().ranker.as_dict()
    with pytest.raises(FormatError, match="w.yaml.*unknown ranker feature 'speed'"):
        Weights.from_dict({"ranker": {**good, "coef": {**good["coef"], "speed": 1.0}}}, "w.yaml")
    with pytest.raises(FormatError, match="w.yaml"):
        Weights.from_dict({"ranker": {"coef": good["coef"]}}, "w.yaml")


def test_bundled_weights_rank_with_the_model():
    w = bundled_weights()
    assert w.ranker is not None and w.ranker.cases >= 20
    # docs/threatmodel-system.md promises that more evidence never lowers a score
    assert all(w.ranker.coef[f] >= 0 for f in ("rules", "likely", "specificity"))
    assert w.ranker.coef["rules"] > 0 and w.ranker.coef["likely"] > 0
    system = load_system_text("""\
name: t
components:
  - {id: users, kind: external}
  - {id: api, kind: service, audience: public, returns: scores}
  - {id: clf, kind: model, task: classification, modality: image}
flows: [{from: users, to: api}, {from: api, to: clf}, {from: clf, to: api}]
""")
    p = predict(system)
    assert p.ranked() and all(0.0 < s < 1.0 for _, s in p.ranked())
    assert [s for _, s in p.ranked()] == sorted((s for _, s in p.ranked()), reverse=True)


def test_a_users_rule_is_scored_by_its_evidence(tmp_path):
    # A rule of one's own has no record in the table; its tier and depth still place it.
    path = tmp_path / "mine.yaml"
    path.write_text("rules:\n"
                    "  - {id: AML.T0015, when: {kind: model}, reason: r}\n"
                    "  - {id: AML.T0015, tier: possible, when: {kind: model, task: generation}, reason: r}\n")
    likely, possible = load_rules([path], include_bundled=False)
    w = bundled_weights()
    assert technique_scores([likely], w)["AML.T0015"] > technique_scores([possible], w)["AML.T0015"]
