"""Attack paths: transitions learned from the bundled case studies, and the k best paths over a
predicted technique set."""

from __future__ import annotations

import json
import math
from itertools import pairwise

import pytest

from advmatrix.errors import UnknownObjectError, UsageError
from advmatrix.threatmodel.paths import (
    ENTRY_TACTICS,
    GOAL_TACTICS,
    Edge,
    Path,
    Step,
    TransitionModel,
    attack_paths,
    find_paths,
    walker,
)


@pytest.fixture(scope="module")
def model(matrix) -> TransitionModel:
    return TransitionModel.learn(matrix)


def techniques_of(matrix, case_id: str) -> set[str]:
    return {s.technique for s in matrix.case_study(case_id).procedure}


def test_consecutive_steps_of_a_case_study_are_learned_with_it_as_support(model, matrix):
    steps = matrix.case_study("AML.CS0000").procedure
    for a, b in pairwise(steps):
        assert model.counts[a.technique, b.technique] >= 1
        assert "AML.CS0000" in model.support[a.technique, b.technique]
    # AML.T0002.000 -> AML.T0005 rolls up to its parent AML.T0002 at family level.
    assert "AML.CS0000" in model.family_support["AML.T0002", "AML.T0005"]


def test_every_pair_is_counted_once_repeats_apart(model, matrix):
    pairs = sum(len(cs.procedure) - 1 for cs in matrix.case_studies)
    assert model.pairs == pairs
    assert sum(model.counts.values()) == pairs - model.repeats
    assert sum(model.family_counts.values()) == pairs - model.repeats
    assert all(set(ids) <= {cs.id for cs in matrix.case_studies} for ids in model.support.values())


def test_backward_share_is_measured_not_assumed(model, matrix):
    order = {t.id: i for i, t in enumerate(matrix.tactics)}
    backward = sum(order[b.tactic] < order[a.tactic]
                   for cs in matrix.case_studies for a, b in pairwise(cs.procedure))
    assert model.backward == backward
    assert 0 < model.backward_share < 1
    print(f"backward share of consecutive case-study steps: {model.backward_share:.3f}")


def test_probabilities_out_of_each_technique_sum_to_at_most_one(model):
    for source, out in model.probabilities.items():
        assert all(p > 0 for p in out.values())
        assert source not in out
        assert 0.9 < sum(out.values()) <= 1 + 1e-9, source


def test_an_observed_move_is_likelier_than_an_unseen_one(model):
    # AML.T0002.000 -> AML.T0005 is in the case studies; AML.T0002.000 -> AML.T0015 only allowed
    # by back-off (AML.T0015 serves Initial Access, the tactic after Resource Development).
    seen, unseen = model.edge("AML.T0002.000", "AML.T0005"), model.edge("AML.T0002.000", "AML.T0015")
    assert seen.basis == "case-study" and "AML.CS0000" in seen.supported_by
    assert unseen.basis == "back-off" and unseen.supported_by == () and unseen.parent_supported_by == ()
    assert seen.probability > 10 * unseen.probability > 0


def test_a_move_seen_only_between_parents_names_parent_level_support(model):
    parent_only = [(a, b) for (a, b) in
                   ((a, b) for a, out in model.probabilities.items() for b in out)
                   if (a, b) not in model.support and model.edge(a, b).basis == "parent"]
    assert parent_only
    for a, b in parent_only[:20]:
        edge = model.edge(a, b)
        assert edge.supported_by == ()
        fam = (model.matrix.technique(a).parent or a, model.matrix.technique(b).parent or b)
        assert edge.parent_supported_by == model.family_support[fam] != ()


def test_a_move_the_case_studies_take_with_a_step_between_is_open_and_names_them(model):
    # A deepfake goes on to AI model access only through an account opened between (AML.CS0034 and the
    # case study before it): on a phone line with no accounts the two must still join.
    assert ("AML.T0088", "AML.T0047") not in model.counts
    edge = model.edge("AML.T0088", "AML.T0047")
    assert edge.basis == "skip" and edge.supported_by == () and "AML.CS0034" in edge.skip_supported_by
    back_off = model.edge("AML.T0002.000", "AML.T0015")
    assert back_off.basis == "back-off" and edge.probability > 10 * back_off.probability
    assert model.edge("AML.T0088", "AML.T0021").probability > edge.probability  # the move itself still wins
    assert edge.to_dict()["skip_supported_by"] == list(edge.skip_supported_by)
    assert "a step between: AML.CS0033, AML.CS0034" in attack_paths_mermaid(model, edge)
    from advmatrix.threatmodel._markdown import evidence_text
    assert evidence_text(edge) == "with a step between in case studies AML.CS0033, AML.CS0034"


def attack_paths_mermaid(model, edge):
    from advmatrix.threatmodel.paths import Path
    steps = (model.step(edge.source), model.step(edge.target))
    return Path(steps, (edge,), edge.probability, edge.probability).mermaid()


def test_a_move_neither_seen_nor_allowed_has_no_edge(model):
    # Impact (the last tactic) back to Reconnaissance: no case study shows it, no back-off allows it.
    assert ("AML.T0048", "AML.T0000") not in model.counts
    assert model.edge("AML.T0048", "AML.T0000") is None
    assert model.probability("AML.T0048", "AML.T0000") == 0.0


def assert_valid(paths: list[Path], techniques: set[str], max_len: int) -> None:
    assert len({p.techniques for p in paths}) == len(paths)
    assert [p.score for p in paths] == sorted((p.score for p in paths), reverse=True)
    for p in paths:
        assert set(p.techniques) <= techniques
        assert len(set(p.techniques)) == len(p.steps)
        assert 2 <= len(p.steps) <= max_len
        assert p.steps[0].tactic in ENTRY_TACTICS
        assert p.steps[-1].tactic in GOAL_TACTICS
        assert [(e.source, e.target) for e in p.edges] == list(pairwise(p.techniques))
        assert p.probability == pytest.approx(math.prod(e.probability for e in p.edges))
        assert p.score == pytest.approx(p.probability ** (1 / len(p.edges)))


@pytest.mark.parametrize("case_id", ["AML.CS0000", "AML.CS0003", "AML.CS0019", "AML.CS0041"])
def test_paths_over_a_case_studys_techniques_run_from_entry_to_goal(model, matrix, case_id):
    techniques = techniques_of(matrix, case_id)
    paths = attack_paths(model, techniques, k=5)
    assert paths
    assert_valid(paths, techniques, 8)


def test_the_best_path_over_a_case_study_follows_its_own_steps(model, matrix):
    best, second = attack_paths(model, techniques_of(matrix, "AML.CS0000"), k=2, distinct=False)
    assert best.techniques == ("AML.T0000.001", "AML.T0002.000", "AML.T0005", "AML.T0043.003", "AML.T0015")
    assert all(e.basis == "case-study" for e in best.edges)
    # The last move skips a step of AML.CS0000 (AML.T0042); other case studies make it directly.
    assert ["AML.CS0000" in e.supported_by for e in best.edges] == [True, True, True, False]
    assert best.edges[-1].supported_by
    assert best.steps[0].tactic == "AML.TA0002" and best.steps[-1].tactic == "AML.TA0011"
    # The incident's own six steps come next; ranked by the product, its extra steps sink it.
    assert second.techniques == tuple(s.technique for s in matrix.case_study("AML.CS0000").procedure)
    by_product = attack_paths(model, techniques_of(matrix, "AML.CS0000"), k=5, rank="probability",
                              distinct=False)
    assert [p.techniques for p in by_product].index(second.techniques) > 1
    assert by_product[0].score == by_product[0].probability


def test_the_list_shows_different_chains_not_one_chain_with_a_step_more_or_less(model, matrix):
    from advmatrix.threatmodel.paths import near_duplicate as _one_edit_apart

    assert _one_edit_apart(("a", "b", "c"), ("a", "c")) and _one_edit_apart(("a", "c"), ("a", "b", "c"))
    assert _one_edit_apart(("a", "b", "c"), ("a", "x", "c")) and not _one_edit_apart(("a", "b"), ("x", "y"))
    assert not _one_edit_apart(("a", "b", "c", "d"), ("a", "d"))
    assert _one_edit_apart(("a", "b", "c", "d"), ("a", "c", "b", "d"))
    assert not _one_edit_apart(("a", "b", "c", "d"), ("c", "b", "a", "d"))
    techniques = techniques_of(matrix, "AML.CS0000") | techniques_of(matrix, "AML.CS0019")
    every = attack_paths(model, techniques, k=8, distinct=False)
    assert any(_one_edit_apart(a.techniques, b.techniques) for i, a in enumerate(every) for b in every[:i])
    distinct = attack_paths(model, techniques, k=8)
    assert len(distinct) == 8 and distinct[0].techniques == every[0].techniques
    assert not any(_one_edit_apart(a.techniques, b.techniques) for i, a in enumerate(distinct) for b in distinct[:i])
    assert_valid(distinct, techniques, 8)


def test_per_step_ranking_lets_longer_chains_through(model, matrix):
    """Ranked by the product nearly every top path over all techniques has two or three steps; per step
    the longer ones compete on how common their moves are."""
    everything = {t.id for t in matrix.techniques}
    per_step = attack_paths(model, everything, k=20)
    product = attack_paths(model, everything, k=20, rank="probability")
    assert_valid(per_step, everything, 8)
    assert max(len(p.steps) for p in per_step) > max(len(p.steps) for p in product)
    assert sum(len(p.steps) for p in per_step) > sum(len(p.steps) for p in product)


def test_back_off_edges_are_marked_without_support(model, matrix):
    # nothing the case studies show joins these two (see test_an_observed_move_is_likelier_than_an_unseen_one)
    paths = attack_paths(model, {"AML.T0002.000", "AML.T0015"}, k=5)
    backed_off = [e for p in paths for e in p.edges if e.basis == "back-off"]
    assert backed_off
    for e in backed_off:
        d = e.to_dict()
        assert d["supported_by"] == d["parent_supported_by"] == d["skip_supported_by"] == []


def test_no_entry_or_no_goal_gives_no_path(model, matrix):
    impact = {t.id for t in matrix.techniques_of_tactic("AML.TA0011")}
    recon = {t.id for t in matrix.techniques_of_tactic("AML.TA0002")}
    assert attack_paths(model, impact - {"AML.T0015"}) == []
    assert attack_paths(model, recon) == []
    assert attack_paths(model, set()) == []


def test_length_bound_and_explicit_endpoints(model, matrix):
    techniques = techniques_of(matrix, "AML.CS0000")
    short = attack_paths(model, techniques, k=10, max_len=2)
    assert short and all(len(p.steps) == 2 for p in short)
    paths = attack_paths(model, techniques, entries={"AML.T0000.001"}, goals={"AML.T0015"}, k=3)
    assert paths and all(p.techniques[0] == "AML.T0000.001" and p.techniques[-1] == "AML.T0015" for p in paths)


def test_bad_arguments_raise_one_clear_error(model):
    with pytest.raises(UsageError, match="entry technique AML.T0000 is not among"):
        attack_paths(model, {"AML.T0015"}, entries={"AML.T0000"})
    with pytest.raises(UsageError, match="k >= 1"):
        attack_paths(model, {"AML.T0015"}, k=0)
    for bad in ({"k": 1.5}, {"k": True}, {"max_len": 2.5}):
        with pytest.raises(UsageError, match="whole numbers k >= 1"):
            attack_paths(model, {"AML.T0015"}, **bad)
    for budget in (0, -1, 1.5):
        with pytest.raises(UsageError, match="max_generated >= 1"):
            find_paths(model, {"AML.T0015"}, max_generated=budget)
    with pytest.raises(UsageError, match="ranked per-step or probability"):
        attack_paths(model, {"AML.T0015"}, rank="length")
    with pytest.raises(UnknownObjectError, match="AML.T9999"):
        attack_paths(model, {"AML.T9999"})


def test_same_input_same_output(model, matrix):
    techniques = techniques_of(matrix, "AML.CS0003") | techniques_of(matrix, "AML.CS0019")
    first = [p.to_dict() for p in attack_paths(model, techniques, k=8)]
    again = [p.to_dict() for p in attack_paths(TransitionModel.learn(matrix), set(sorted(techniques, reverse=True)),
                                               k=8)]
    assert first == again
    assert json.loads(json.dumps(first)) == first


def test_search_over_every_technique_stays_small(model, matrix):
    everything = {t.id for t in matrix.techniques}
    result = find_paths(model, everything, k=5)
    assert len(result.paths) == 5 and not result.truncated
    assert_valid(result.paths, everything, 8)
    # The bounds keep the search to a few thousand partial paths, not the ~170^7 simple ones.
    assert result.expanded < 1_000 and result.generated < 10_000
    many = find_paths(model, everything, k=50, max_len=10)
    assert len(many.paths) == 50 and not many.truncated and many.generated < 100_000
    product = find_paths(model, everything, k=5, rank="probability")
    assert product.expanded < 200 and product.generated < 5_000


def test_a_truncated_search_keeps_the_best_paths_in_order(model, matrix):
    everything = {t.id for t in matrix.techniques}
    full = find_paths(model, everything, k=20, rank="probability").paths
    cut = find_paths(model, everything, k=20, rank="probability", max_generated=150)
    assert cut.truncated and len(cut.paths) < 20
    assert [p.techniques for p in cut.paths] == [p.techniques for p in full[:len(cut.paths)]]
    # Per step, every length gets a share of the budget, so the long paths are still searched.
    short = find_paths(model, everything, k=20, max_generated=3000)
    assert short.truncated and short.paths
    assert_valid(short.paths, everything, 8)
    assert max(len(p.steps) for p in short.paths) >= 5


def test_mermaid_quotes_ids_and_names(model, matrix):
    best = attack_paths(model, techniques_of(matrix, "AML.CS0000"), k=1)[0]
    chart = best.mermaid()
    assert chart.startswith("flowchart LR\n")
    assert all(f'["{s.technique} {s.name}<br/>{s.tactic_name}"]' in chart for s in best.steps)
    assert chart.count("-->") == len(best.edges)
    odd = Path((Step("AML.T0001", 'Say "hi" #1 <b>', "AML.TA0002", "Recon"),
                Step("AML.T0002", "Plain", "AML.TA0011", "Impact")),
               (Edge("AML.T0001", "AML.T0002", 0.5, "back-off"),), 0.5, 0.5)
    chart = odd.mermaid()
    assert 'Say #34;hi#34; #35;1 #60;b#62;' in chart
    assert chart.count('"') % 2 == 0
    assert '-->|"0.500 · no case study"| s1' in chart
    # a name cannot carry a Mermaid directive, an HTML entity or a line break into the chart
    hostile = Path((Step("AML.T0001", "x %%{init: {'theme':'dark'}}%% Tom &amp; C:\\path\\n", "AML.TA0002", "Recon"),
                    Step("AML.T0002", "Plain", "AML.TA0011", "Impact")),
                   (Edge("AML.T0001", "AML.T0002", 0.5, "back-off"),), 0.5, 0.5).mermaid()
    assert "%" not in hostile and "&" not in hostile and "\\" not in hostile
    assert "#37;#37;{init: {'theme':'dark'}}#37;#37; Tom #38;amp; C:#92;path#92;n" in hostile


def test_report_paths_move_only_between_joined_parts_of_the_system():
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel import report as tmr

    text = ("name: two\ncomponents:\n"
            "  - {id: u, kind: external}\n  - {id: api, kind: service, audience: public, returns: scores}\n"
            "  - {id: clf, kind: model, task: classification, modality: image, trained_by: us}\n"
            "  - {id: other, kind: model, task: generation, artifact_format: pickle, source: huggingface,"
            " trained_by: open-source}\n"
            "flows: [{from: u, to: api}, {from: api, to: clf}, {from: clf, to: api}, {from: api, to: u}]\n")
    tm = tmr.build(load_system_text(text), k=10)
    on = {t: set(tm.prediction.components_for(t)) for t in tm.prediction.technique_ids}
    joined = {"u": {"u", "api"}, "api": {"u", "api", "clf"}, "clf": {"api", "clf"}, "other": {"other"}}
    assert tm.paths
    for path in tm.paths:
        for a, b in pairwise(path.techniques):
            assert any(joined[x] & on[b] for x in on[a]), (a, b)


FRAUD = "examples/systems/fraud-model.yaml"


def _with_adversary(access: list[str]) -> str:
    from pathlib import Path as FilePath

    text = (FilePath(__file__).parents[2] / FRAUD).read_text()
    adversary = (f"  - {{id: mallory, kind: adversary, actor: criminal, goals: [fraud, steal-model], "
                 f"access: {access}}}\n")
    return text.replace("\nflows:\n", "\n" + adversary + "flows:\n")


@pytest.mark.parametrize(("access", "starts_with_accounts"), [
    (["content"], False), (["query"], False), (["account"], True), (["insider"], True)])
def test_a_path_starts_only_where_the_adversarys_access_lets_them_in(access, starts_with_accounts):
    # The fraud model sits behind internal services only: valid accounts (AML.T0012), or using the product as
    # a signed-in member (AML.T0047 on an internal service), are a first step for someone holding credentials
    # or working inside, not for one who can only query or plant content.
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel import report as tmr

    tm = tmr.build(load_system_text(_with_adversary(access)), k=10)
    assert tm.paths
    firsts = {p.techniques[0] for p in tm.paths}
    assert bool(firsts & {"AML.T0012", "AML.T0047"}) is starts_with_accounts
    if not starts_with_accounts:
        # every first step is the adversary's own or on what their access reaches
        for t in firsts:
            assert set(tm.prediction.components_for(t)) & {"mallory", "fraud-model", "partner-cases"}, t


def test_without_an_adversarys_access_paths_start_at_any_entry():
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel import report as tmr

    plain = tmr.build(load_system_text(_with_adversary([]).replace(", access: []", "")), k=10)
    assert "AML.T0012" in {p.techniques[0] for p in plain.paths}


def test_what_each_kind_of_access_reaches():
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel._reach import adversary_reach

    def reach(access: str, extra: str = "") -> set[str] | None:
        adversary = f"  - {{id: eve, kind: adversary, access: [{access}]}}\n" if access else ""
        s = load_system_text(
            "name: r\ncomponents:\n"
            "  - {id: web, kind: external, actor: internet}\n  - {id: staff, kind: external, actor: user}\n"
            "  - {id: shop, kind: service, audience: public}\n  - {id: desk, kind: service, audience: internal}\n"
            "  - {id: clf, kind: model, task: classification, modality: tabular}\n"
            "  - {id: cam, kind: model, task: detection, modality: image}\n"
            "  - {id: kb, kind: retrieval-store, writers: public}\n  - {id: bot, kind: llm-app}\n"
            "  - {id: vault, kind: dataset, writers: internal}\n  - {id: console, kind: llm-app}\n"
            + adversary + extra +
            "flows:\n  - {from: web, to: shop}\n  - {from: shop, to: clf}\n  - {from: staff, to: desk}\n"
            "  - {from: desk, to: bot}\n  - {from: kb, to: bot}\n  - {from: vault, to: bot, trusted: true}\n"
            "  - {from: cam, to: desk}\n  - {from: staff, to: console, trusted: true}\n")
        got = adversary_reach(s)
        return None if got is None else set(got) - {"eve"}

    assert reach("") is None
    assert reach("public") == {"shop"}
    # a query from outside stops at an internal service (credentials open it) and comes in over no flow
    # marked trusted (the staff's own console)
    assert reach("query") == {"web", "staff", "shop", "clf"}
    assert reach("account") == {"web", "staff", "shop", "clf", "desk", "bot"}
    # planted content: from a store outsiders write, or sent in by an outside party other than a user (the
    # web), over flows not marked trusted; the staff typing to their desk place no content
    assert reach("content") == {"kb", "bot", "web", "shop", "clf"}
    assert reach("physical") == {"cam", "desk", "bot"}
    assert reach("insider") == reach("network") == reach("supply-chain") == {
        "web", "staff", "shop", "desk", "clf", "cam", "kb", "bot", "vault", "console"}
    # weights shipped in an app are anyone's who installs it
    app = "  - {id: phone, kind: model, task: generation, modality: text, properties: {on_device: true}}\n"
    assert reach("public", app) == {"shop", "phone"} and "phone" in reach("physical", app)


@pytest.mark.parametrize(("access", "queries"), [("content", False), ("query", True)])
def test_querying_the_model_is_a_first_step_only_for_someone_who_can_send_it_inputs(model, access, queries):
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import adversary_entries

    s = load_system_text(
        "name: api\ncomponents:\n  - {id: u, kind: external}\n"
        "  - {id: api, kind: service, audience: public, returns: scores}\n"
        "  - {id: clf, kind: model, task: classification, modality: image, trained_by: us}\n"
        "  - {id: reviews, kind: dataset, writers: public, used_for: [training]}\n"
        f"  - {{id: eve, kind: adversary, access: [{access}]}}\n"
        "flows: [{from: u, to: api}, {from: api, to: clf}, {from: clf, to: api}, {from: api, to: u},"
        " {from: reviews, to: clf}]\n")
    prediction = predict(s)
    assert "AML.T0040" in prediction.technique_ids
    assert ("AML.T0040" in adversary_entries(s, prediction, model)) is queries


def test_a_path_is_walked_through_one_part_of_the_system_not_joined_by_a_technique_found_on_two():
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import topology_links, walkable

    # a triage model and a door agent with nothing between them: both can harm people (AML.T0048.003)
    s = load_system_text(
        "name: two parts\ncomponents:\n"
        "  - {id: triage, kind: model, task: classification, modality: image, trained_by: us,"
        " properties: {safety_critical: true}}\n"
        "  - {id: worklist, kind: service, audience: internal, returns: labels}\n"
        "  - {id: door-agent, kind: llm-app, tools: [lock]}\n"
        "  - {id: lock, kind: tool, side_effects: write, properties: {physical: true, financial: true}}\n"
        "flows: [{from: triage, to: worklist}]\n")
    p = predict(s)
    assert {"triage", "door-agent"} <= set(p.components_for("AML.T0048.003"))
    jump = ("AML.T0015", "AML.T0048.003", "AML.T0048.000")
    assert set(p.components_for("AML.T0015")) == {"triage"} and "door-agent" in p.components_for("AML.T0048.000")
    linked = topology_links(s, p)
    assert all(linked(a, b) for a, b in pairwise(jump))  # each move alone looks possible
    assert not walkable(s, p)(jump)                      # the whole path is not
    assert walkable(s, p)(("AML.T0015", "AML.T0048.003"))
    # harms alone are consequences: no step shows how the system was attacked
    assert set(p.components_for("AML.T0048.004")) == {"triage"}
    assert not walkable(s, p)(("AML.T0048.004", "AML.T0048.003"))


def test_weights_shipped_in_an_app_are_a_first_step_for_anyone_who_downloads_it(model):
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import adversary_entries

    def entries(where: str) -> tuple[set[str], set[str]]:
        s = load_system_text(
            "name: app\ncomponents:\n  - {id: u, kind: external}\n"
            f"  - {{id: m, kind: model, task: classification, trained_by: us, properties: {{{where}: true}}}}\n"
            "  - {id: eve, kind: adversary, access: [query]}\nflows: [{from: u, to: m}]\n")
        p = predict(s)
        return set(p.technique_ids), adversary_entries(s, p, model)

    found, first = entries("on_device")
    assert "AML.T0044" in found and "AML.T0044" in first
    found, first = entries("edge")  # our own hardware in the field: in hand only with physical access
    assert "AML.T0044" in found and "AML.T0044" not in first


def test_a_path_of_the_adversarys_own_steps_alone_is_no_attack_path_on_the_system():
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import walkable

    s = load_system_text("name: s\ncomponents:\n  - {id: u, kind: external}\n"
                         "  - {id: api, kind: service, audience: public, returns: text}\n"
                         "  - {id: crook, kind: adversary, actor: criminal, goals: [fraud, manipulate],"
                         " access: [query, content]}\nflows: [{from: u, to: api}]\n")
    p = predict(s)
    own = [t for t in p.technique_ids if set(p.components_for(t)) == {"crook"}]
    assert len(own) >= 2
    assert not walkable(s, p)((own[0], own[1]))


def test_a_query_only_adversary_comes_in_neither_as_a_vendors_delivery_nor_through_a_model_it_shares():
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel._reach import adversary_reach
    from advmatrix.threatmodel.paths import walkable

    s = load_system_text(
        "name: bank\ncomponents:\n  - {id: customer, kind: external, actor: user}\n"
        "  - {id: vendor, kind: external, actor: vendor}\n"
        "  - {id: chat, kind: service, audience: public, returns: text}\n"
        "  - {id: bot, kind: llm-app}\n  - {id: gpt, kind: model, task: generation, source: vendor-api}\n"
        "  - {id: internal-api, kind: service, audience: internal, authentication: mtls, returns: scores}\n"
        "  - {id: risk, kind: model, task: classification, trained_by: us, artifact_format: onnx}\n"
        "  - {id: feed, kind: dataset, writers: partner, used_for: [training]}\n"
        "  - {id: eve, kind: adversary, access: [query], goals: [evade]}\n"
        "flows: [{from: customer, to: chat}, {from: chat, to: bot}, {from: bot, to: chat}, {from: chat, to: customer},"
        " {from: bot, to: gpt}, {from: gpt, to: bot}, {from: internal-api, to: risk}, {from: risk, to: internal-api},"
        " {from: internal-api, to: gpt}, {from: gpt, to: internal-api}, {from: vendor, to: feed},"
        " {from: feed, to: risk}]\n")
    reach = adversary_reach(s)
    assert {"chat", "bot", "gpt"} <= reach and not {"risk", "feed", "internal-api"} & reach
    p = predict(s)
    accept = walkable(s, p, reach)
    on_risk = [t for t in p.technique_ids if set(p.components_for(t)) == {"risk"}]
    assert on_risk and all(not accept((t, t2)) for t in on_risk for t2 in p.technique_ids if t2 != t)


TWO_ADVERSARIES = """name: two doors
components:
  - {id: users, kind: external, actor: user}
  - {id: staff, kind: external, actor: user}
  - {id: web, kind: service, audience: public, authentication: none, returns: text}
  - {id: desk, kind: service, audience: internal, authentication: oauth, returns: text}
  - {id: app, kind: llm-app, system_prompt: true, tools: [crm]}
  - {id: crm, kind: tool, side_effects: read, sensitive: true}
  - {id: eve, kind: adversary, actor: criminal, goals: [steal-data], access: [query]}
  - {id: rex, kind: adversary, actor: criminal, goals: [disrupt], access: [network]}
flows:
  - {from: users, to: web}
  - {from: web, to: app}
  - {from: staff, to: desk}
  - {from: desk, to: app}
"""


def test_a_step_that_takes_accounts_needs_them_from_the_start_or_from_an_earlier_step(model):
    from advmatrix.threatmodel import load_system_text, predict

    s = load_system_text(TWO_ADVERSARIES)
    p = predict(s)
    assert p.components_for("AML.T0012") == ("desk",) and "eve" in p.components_for("AML.T0052")
    eve = walker(s, p, adversary=s.component("eve"))
    # a caller of the public chat holds no staff account: valid accounts on the desk are no step of theirs...
    assert eve(("AML.T0012", "AML.T0053", "AML.T0057")) is None
    # ...until they phished one, which also lets them in where staff sign in
    assert eve(("AML.T0052", "AML.T0012", "AML.T0053", "AML.T0057")) == (("eve",), ("desk",), ("app",), ("app",))
    # a foothold on the network takes no accounts to be given
    rex = walker(s, p, adversary=s.component("rex"))
    assert rex(("AML.T0012", "AML.T0053", "AML.T0057")) == (("desk",), ("app",), ("app",))
    # another adversary's own steps are not theirs
    # (the staff desk is floodable only from inside, by the disruptor on the network)
    assert p.components_for("AML.T0029") == ("web", "desk", "rex") and eve(("AML.T0047", "AML.T0029"))[-1] == ("web",)


def test_each_path_is_one_adversarys_and_ends_in_a_goal_it_states(model):
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel._reach import goal_serves
    from advmatrix.threatmodel.paths import system_paths

    for who in ("eve", "rex"):
        text = "\n".join(line for line in TWO_ADVERSARIES.splitlines()
                         if "kind: adversary" not in line or f"id: {who}," in line) + "\n"
        s = load_system_text(text)
        p = predict(s)
        paths = system_paths(s, p, model, k=5)
        assert paths and all(path.adversary == who for path in paths)
        # the disruptor's paths end in disruption, eve's in the data the app's CRM tool reads (her injection
        # reaches the leak through a move the case studies take with a step between)
        goals = s.component(who).goals
        assert all(goal_serves(path.techniques[-1], goals) for path in paths)
        # the steps' components are those of the walk, each a component the technique was found on
        for path in paths:
            assert all(set(on) <= set(p.components_for(t)) for t, on in zip(path.techniques, path.on, strict=True))
    both = load_system_text(TWO_ADVERSARIES)
    paths = system_paths(both, predict(both), model, k=10)
    assert {path.adversary for path in paths} == {"rex", "eve"}
    assert all(("rex" if path.adversary == "eve" else "eve") not in {c for on in path.on for c in on} for path in paths)
    # where eve has no path to her goals (a foothold), her goal-less ways in do not push in
    none = load_system_text(TWO_ADVERSARIES.replace("goals: [steal-data]", "goals: [compromise]"))
    assert {path.adversary for path in system_paths(none, predict(none), model, k=10)} == {"rex"}


def test_an_account_reaches_what_the_app_shows_not_its_files(model):
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import walker

    s = load_system_text("""name: x
components:
  - {id: users, kind: external, actor: user}
  - {id: api, kind: service, audience: public, returns: scores}
  - {id: clf, kind: model, task: classification, trained_by: us, artifact_format: pickle}
  - {id: eve, kind: adversary, actor: criminal, goals: [steal-model], access: [query, account]}
flows: [{from: users, to: api}, {from: api, to: clf}, {from: clf, to: api}]
""")
    p = predict(s)
    assert "clf" in p.components_for("AML.T0035") and "clf" in p.components_for("AML.T0025")
    eve = walker(s, p, adversary=s.component("eve"))
    # signed in, they can query the model, not copy its files off our machines...
    assert eve(("AML.T0012", "AML.T0035", "AML.T0025")) is None
    # ...unless an exploited app gave them a foothold first
    assert eve(("AML.T0049", "AML.T0035", "AML.T0025")) is not None


def test_a_query_that_lands_in_a_training_set_does_not_reach_the_model():
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel._reach import adversary_reach

    s = load_system_text("""name: x
components:
  - {id: public, kind: external, actor: internet}
  - {id: form, kind: service, audience: public, returns: none}
  - {id: feedback, kind: dataset, used_for: training, writers: public}
  - {id: clf, kind: model, task: classification, trained_by: us}
  - {id: staff-api, kind: service, audience: internal, returns: labels}
  - {id: outsider, kind: adversary, actor: criminal, goals: [evade], access: [query]}
flows: [{from: public, to: form}, {from: form, to: feedback}, {from: feedback, to: clf},
        {from: staff-api, to: clf}, {from: clf, to: staff-api}]
""")
    reach = adversary_reach(s, s.component("outsider"))
    assert "feedback" in reach and "clf" not in reach  # theirs to shape, not to query


def test_every_adversary_gets_its_best_path_into_the_list(model):
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import system_paths

    # the embarrasser's best path scores below four of the disruptor's
    s = load_system_text(TWO_ADVERSARIES.replace("goals: [steal-data], access: [query]}",
                                                 "goals: [embarrass], access: [query]}"))
    p = predict(s)
    many = system_paths(s, p, model, k=10)
    assert {x.adversary for x in many} == {"eve", "rex"}
    both = system_paths(s, p, model, k=2)
    assert {x.adversary for x in both} == {"eve", "rex"}  # not one adversary's two best, however they score
    assert [x.score for x in both] == sorted((x.score for x in both), reverse=True)


def test_an_apps_replies_become_phishing_only_after_a_step_that_steers_the_app():
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import walker

    s = load_system_text("""name: x
components:
  - {id: users, kind: external, actor: user}
  - {id: chat, kind: llm-app, renders_markdown: true, system_prompt: true}
  - {id: eve, kind: adversary, actor: criminal, goals: [fraud], access: [query]}
flows: [{from: users, to: chat}, {from: chat, to: users}]
""")
    p = predict(s)
    assert "chat" in p.components_for("AML.T0052") and "AML.T0051.000" in p.technique_ids
    harm = "AML.T0048.000"  # the money they are after
    assert harm in p.technique_ids
    eve = walker(s, p, adversary=s.component("eve"))
    # the app's reply is no phishing message of theirs until they have steered it
    assert eve(("AML.T0052", harm)) is None
    assert eve(("AML.T0051.000", "AML.T0052", harm)) is not None


def test_planted_text_needs_a_way_to_plant_it_and_misuse_ends_in_harm_not_theft(model):
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel._reach import goal_serves
    from advmatrix.threatmodel.paths import walker

    s = load_system_text("""name: x
components:
  - {id: staff, kind: external, actor: user}
  - {id: ui, kind: service, audience: internal, authentication: oauth, returns: text}
  - {id: agent, kind: llm-app, tools: [run-sql], autonomy: autonomous, memory: session, renders_markdown: true}
  - {id: run-sql, kind: tool, side_effects: read, browses: false, sensitive: true}
  - {id: warehouse, kind: dataset, writers: public, sensitive: true, used_for: [retrieval]}
  - {id: clerk, kind: adversary, actor: insider, goals: [steal-data], access: [account]}
  - {id: planter, kind: adversary, actor: criminal, goals: [steal-data], access: [content]}
flows: [{from: staff, to: ui}, {from: ui, to: agent}, {from: agent, to: ui}, {from: warehouse, to: run-sql}]
""")
    p = predict(s)
    assert {"AML.T0051.001", "AML.T0077"} <= set(p.technique_ids)
    clerk, planter = (walker(s, p, adversary=s.component(a)) for a in ("clerk", "planter"))
    # signed in, the clerk types to the agent; planting text for someone else's session is the planter's way
    assert clerk(("AML.T0051.001", "AML.T0077")) is None
    assert planter(("AML.T0051.001", "AML.T0077")) is not None
    assert not goal_serves("AML.T0048.004", ["misuse"]) and goal_serves("AML.T0048.002", ["misuse"])
    assert goal_serves("AML.T0048.004", ["steal-model"])


def test_an_adversary_with_no_path_to_its_goals_is_named_in_every_report(cli, tmp_path):
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel.report import build, report_html, report_json, report_markdown

    # a caller of the public chat who wants a foothold: nothing a query reaches leads to one
    text = TWO_ADVERSARIES.replace("goals: [steal-data], access: [query]", "goals: [compromise], access: [query]")
    tm = build(load_system_text(text), k=10)
    assert {p.adversary for p in tm.paths} == {"rex"} and tm.pathless == ("eve",)
    said = ("No path found for eve: no learned move leads from what they reach to a predicted technique serving "
            "their goals (compromise).")
    assert json.loads(report_json(tm))["pathless"] == [{"adversary": "eve", "goals": ["compromise"]}]
    assert said in report_markdown(tm) and said in report_html(tm)
    # the search says who has none, not the list: one too short for a path each still names them
    assert build(load_system_text(text), k=1).pathless == ("eve",)
    (tmp_path / "s.yaml").write_text(text)
    console = cli("threatmodel", tmp_path / "s.yaml", "--paths", "10").out
    assert "no path: No path found for eve" in " ".join(console.split())


def test_each_goal_an_adversary_states_gets_a_path_or_a_line_saying_none_does(cli, tmp_path):
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel._reach import goal_serves
    from advmatrix.threatmodel.report import build, report_json, report_markdown

    def with_goals(goals: str) -> str:
        return TWO_ADVERSARIES.replace("goals: [steal-data], access: [query]", f"goals: {goals}, access: [query]")

    def served(tm, who: str) -> set[str]:
        goals = tm.system.component(who).get("goals")
        return {g for p in tm.paths if p.adversary == who for g in goals if goal_serves(p.techniques[-1], [g])}

    # the likeliest chains of the caller who wants data and the model all ended in the model's theft, and the
    # prompt-extraction path to the data (found for them alone) was not shown, nor said to be missing
    both = build(load_system_text(with_goals("[steal-data, steal-model]")), k=5)
    assert served(both, "eve") == {"steal-data", "steal-model"} and both.pathless == ()
    assert any(p.adversary == "rex" for p in both.paths)  # the other adversary keeps their place
    # a goal nothing predicted serves (there is no model here to evade) is said, beside the goal they reach
    tm = build(load_system_text(with_goals("[steal-data, evade]")), k=5)
    assert served(tm, "eve") == {"steal-data"} and tm.pathless == ("eve",) and tm.unreached == {"eve": ("evade",)}
    assert json.loads(report_json(tm))["pathless"] == [{"adversary": "eve", "goals": ["evade"]}]
    said = ("No path found for eve to evade: no technique serving that goal is predicted on this system; "
            "paths found for them serve steal-data.")
    assert tm.pathless_lines() == [said] and said in report_markdown(tm)
    (tmp_path / "s.yaml").write_text(with_goals("[steal-data, evade]"))
    assert "no path: No path found for eve to evade" in " ".join(cli("threatmodel", tmp_path / "s.yaml").out.split())


def test_two_adversaries_walking_one_chain_each_keep_their_best_path(model):
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import near_duplicate, system_paths

    text = """name: x
components:
  - {id: users, kind: external, actor: user}
  - {id: api, kind: service, audience: public, returns: scores}
  - {id: clf, kind: model, task: classification, trained_by: us}
  - {id: eve, kind: adversary, actor: criminal, goals: [evade], access: [query]}
  - {id: mallory, kind: adversary, actor: competitor, goals: [evade], access: [query]}
flows: [{from: users, to: api}, {from: api, to: clf}, {from: clf, to: api}]
"""
    s = load_system_text(text)
    paths = system_paths(s, predict(s), model, k=5)
    best = {who: next(p for p in paths if p.adversary == who) for who in ("eve", "mallory")}
    assert near_duplicate(best["eve"].techniques, best["mallory"].techniques)  # the same threat twice
    others = [p for p in paths if p not in best.values()]
    assert not any(near_duplicate(p.techniques, q.techniques) for i, p in enumerate(others) for q in others[:i])


def test_a_users_queries_plant_text_where_they_come_to_rest_in_a_store_another_app_reads(model):
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import walker

    s = load_system_text("""name: x
components:
  - {id: customers, kind: external, actor: user}
  - {id: chat-api, kind: service, audience: public, returns: text}
  - {id: chatbot, kind: llm-app}
  - {id: tickets, kind: dataset, writers: public, used_for: [retrieval]}
  - {id: summariser, kind: llm-app, renders_markdown: true}
  - {id: eve, kind: adversary, actor: criminal, goals: [steal-data], access: [query]}
flows:
  - {from: customers, to: chat-api}
  - {from: chat-api, to: chatbot}
  - {from: chatbot, to: chat-api}
  - {from: chatbot, to: tickets}
  - {from: tickets, to: summariser}
""")
    p = predict(s)
    assert {"AML.T0051.001", "AML.T0077"} <= set(p.technique_ids)
    # what eve types rests in the tickets the summariser reads: planted text, though eve only queries
    assert walker(s, p, adversary=s.component("eve"))(("AML.T0051.001", "AML.T0077")) is not None


def _built(components: list[str], flows: list[str]):
    """The report's threat model (20 paths) of a system written as its component and flow lines."""
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel import report as tmr

    text = "name: t\ncomponents:\n" + "".join(f"  - {{{c}}}\n" for c in components) + "flows:\n" + "".join(
        f"  - {{from: {a}, to: {b}}}\n" for a, b in (f.split(" -> ") for f in flows))
    return tmr.build(load_system_text(text), k=20)


@pytest.mark.parametrize("access", ["query", "supply-chain"])
def test_a_caller_poisons_only_the_model_that_learns_from_their_calls(access):
    # The vendor's speech model learns nothing from the calls; the flagger is retrained on their transcripts.
    tm = _built(["id: callers, kind: external, actor: user",
                 "id: phone, kind: service, audience: public, authentication: none, returns: none",
                 "id: stt, kind: model, task: speech-recognition, modality: audio, trained_by: vendor, source: vendor",
                 "id: flagger, kind: model, task: classification, modality: text, trained_by: us",
                 "id: transcripts, kind: dataset, source: collected, writers: internal, used_for: [training]",
                 "id: dashboard, kind: service, audience: internal, returns: labels",
                 f"id: eve, kind: adversary, actor: criminal, goals: [evade, manipulate], access: [{access}]"],
                ["callers -> phone", "phone -> stt", "stt -> flagger", "stt -> transcripts", "transcripts -> flagger",
                 "flagger -> dashboard"])
    poisoned = {c for p in tm.paths for t, cs in zip(p.techniques, tm.path_components(p), strict=True)
                if t.startswith("AML.T0018") for c in cs}
    if access == "query":
        assert "stt" not in poisoned, poisoned
    # whether the step is open to them, apart from whether the ranking keeps it among the likely ones
    steps = walker(tm.system, tm.prediction, adversary=tm.system.component("eve"))(("AML.T0018.000",))
    assert (steps is not None and "stt" in steps[0]) is (access == "supply-chain"), steps


@pytest.mark.parametrize(("access", "poisons"), [("query", False), ("content", True)])
def test_a_caller_whose_queries_go_nowhere_near_the_training_data_does_not_poison_it(access, poisons):
    tm = _built(["id: people, kind: external, actor: user", "id: api, kind: service, audience: public, returns: text",
                 "id: nmt, kind: model, task: translation, modality: text, trained_by: us",
                 "id: corpora, kind: dataset, source: scraped, writers: public, used_for: [training]",
                 f"id: eve, kind: adversary, actor: criminal, goals: [manipulate, disrupt], access: [{access}]"],
                ["people -> api", "api -> nmt", "nmt -> api", "corpora -> nmt"])
    assert tm.paths
    # a foothold taken first (exploiting the public API) is another matter: it gives network access
    foothold = {"AML.T0049", "AML.T0078", "AML.T0010", "AML.T0011", "AML.T0050"}
    assert any("AML.T0020" in p.techniques[:p.techniques.index("AML.T0020") + 1] and
               not foothold & set(p.techniques[:p.techniques.index("AML.T0020")])
               for p in tm.paths if "AML.T0020" in p.techniques) is poisons


def test_a_path_ends_where_its_impact_lands_not_on_the_adversarys_own_wish():
    # a packet flooder facing an internal sensor: a denial of service found only on the adversary (no service
    # of ours takes public floods) shows no target; external harm to people may still end a path outside
    from advmatrix.threatmodel import load_system_text
    from advmatrix.threatmodel import report as tmr

    tm = tmr.build(load_system_text("""\
name: nids
components:
  - {id: internet, kind: external, actor: internet}
  - {id: sensor, kind: service, audience: internal, returns: none}
  - {id: detector, kind: model, task: anomaly-detection, modality: tabular, trained_by: us}
  - {id: siem, kind: service, audience: internal, returns: labels}
  - {id: analysts, kind: external, actor: user}
  - {id: noise, kind: adversary, actor: criminal, goals: [disrupt, manipulate], access: [query, content]}
flows:
  - {from: internet, to: sensor}
  - {from: sensor, to: detector}
  - {from: detector, to: siem}
  - {from: siem, to: analysts}
"""), k=10)
    for path, on in ((p, tm.path_components(p)) for p in tm.paths):
        assert set(on[-1]) - {"noise"} or path.techniques[-1].startswith("AML.T0048"), (path.techniques, on)


def test_an_apps_tools_search_and_send_for_an_adversary_only_after_a_step_that_steers_or_drives_it():
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import walker

    # a screening model in front of a recruiting agent: fooling the model hands over none of the agent's tools
    s = load_system_text("""name: x
components:
  - {id: candidates, kind: external, actor: user}
  - {id: chat, kind: service, audience: public, returns: text, authentication: none}
  - {id: agent, kind: llm-app, tools: [drive, mailer], autonomy: autonomous, system_prompt: true}
  - {id: judge, kind: model, task: classification, modality: text}
  - {id: drive, kind: tool, side_effects: read, browses: false}
  - {id: mailer, kind: tool, side_effects: external-communication, browses: false, readers: public}
  - {id: thief, kind: adversary, actor: criminal, goals: [steal-data, compromise], access: [query]}
flows: [{from: candidates, to: chat}, {from: chat, to: agent}, {from: agent, to: chat}, {from: chat, to: candidates},
        {from: agent, to: judge}, {from: judge, to: agent}]
""")
    p = predict(s)
    assert {"AML.T0015", "AML.T0098", "AML.T0086", "AML.T0051.000"} <= set(p.technique_ids)
    thief = walker(s, p, adversary=s.component("thief"))
    assert thief(("AML.T0015", "AML.T0098")) is None
    assert thief(("AML.T0015", "AML.T0086")) is None
    assert thief(("AML.T0051.000", "AML.T0098", "AML.T0086")) is not None


def test_a_lure_a_mail_gateway_delivers_and_its_harm_is_no_attack_path_on_the_ai():
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import walker

    # mail reaches staff through the gateway whatever the spam model says: phishing through it, then the harm,
    # takes no step on the AI (audits P, Q, U: plain business-email fraud drawn as the top path)
    s = load_system_text("""name: x
components:
  - {id: senders, kind: external, actor: internet}
  - {id: mx, kind: service, audience: public, authentication: none, returns: none, relays: true}
  - {id: spam, kind: model, task: classification, modality: text, trained_by: us}
  - {id: staff, kind: external, actor: user}
  - {id: crook, kind: adversary, actor: criminal, goals: [fraud], access: [content, query]}
flows: [{from: senders, to: mx}, {from: mx, to: spam}, {from: spam, to: staff}]
""")
    p = predict(s)
    assert "mx" in p.components_for("AML.T0052")
    harm = next(t for t in p.technique_ids if t.startswith("AML.T0048"))
    crook = walker(s, p, adversary=s.component("crook"))
    assert crook(("AML.T0052", harm)) is None
    assert crook(("AML.T0015", "AML.T0052", harm)) is not None  # past the spam model first, then the lure


def test_an_account_opened_on_a_service_then_a_lure_through_it_is_no_attack_path_on_the_ai():
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import walker

    # a sock-puppet review that poses as someone, shown by the site: accounts and a lure, all on services, take
    # no step on the summariser (audit W: drawn as the top path of a review summariser)
    s = load_system_text("""name: x
components:
  - {id: shoppers, kind: external, actor: user}
  - {id: reviews-in, kind: service, audience: public, authentication: oauth, open_signup: true, returns: none,
     relays: true}
  - {id: reviews, kind: retrieval-store, sources: [user-submitted], writers: public}
  - {id: summariser, kind: llm-app, system_prompt: true}
  - {id: page, kind: service, audience: public, authentication: none, returns: text, relays: true}
  - {id: visitors, kind: external, actor: user}
  - {id: rival, kind: adversary, actor: competitor, goals: [fraud], access: [query, content]}
flows: [{from: shoppers, to: reviews-in}, {from: reviews-in, to: reviews}, {from: reviews-in, to: page},
        {from: reviews, to: summariser}, {from: summariser, to: page}, {from: page, to: visitors}]
""")
    p = predict(s)
    lure = next(t for t in ("AML.T0073", "AML.T0052") if "reviews-in" in p.components_for(t))
    harm = "AML.T0048.000"
    assert {"AML.T0021", harm} <= set(p.technique_ids)
    rival = walker(s, p, adversary=s.component("rival"))
    assert rival(("AML.T0021", lure, harm)) is None
    assert rival(("AML.T0051.001", lure, harm)) is not None  # the summariser steered first, then the lure


def test_the_voice_an_app_speaks_through_impersonates_for_an_adversary_only_once_the_app_is_steered():
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import walker

    # the text-to-speech model reads out what the agent writes: a caller impersonates no one with it until
    # they steer the agent (audit W: phishing, then impersonation through our voice, was a phone agent's top path)
    s = load_system_text("""name: x
components:
  - {id: callers, kind: external, actor: user}
  - {id: phone, kind: service, audience: public, authentication: none, returns: text}
  - {id: stt, kind: model, task: speech-recognition, modality: audio, outputs: [text], trained_by: vendor}
  - {id: agent, kind: llm-app, system_prompt: true, tools: [swap], autonomy: autonomous}
  - {id: swap, kind: tool, side_effects: write, properties: {financial: true}}
  - {id: tts, kind: model, task: generation, modality: audio, outputs: [audio], trained_by: vendor}
  - {id: crook, kind: adversary, actor: criminal, goals: [fraud, impersonate], access: [query]}
flows: [{from: callers, to: phone}, {from: phone, to: stt}, {from: stt, to: agent}, {from: agent, to: tts},
        {from: tts, to: phone}, {from: phone, to: callers}]
""")
    p = predict(s)
    assert "tts" in p.components_for("AML.T0073")
    crook = walker(s, p, adversary=s.component("crook"))
    assert crook(("AML.T0052", "AML.T0073", "AML.T0048.000")) is None
    steered = crook(("AML.T0051.000", "AML.T0073", "AML.T0048.000"))
    assert steered is not None and "tts" in steered[1]


def test_an_evasion_followed_only_by_the_adversarys_own_steps_must_serve_their_goals_as_a_last_step_would():
    from advmatrix.threatmodel import load_system_text, predict
    from advmatrix.threatmodel.paths import walker

    # fooling a speech-to-text model that checks no one, then posing as someone and being paid, all of it the
    # adversary's own after the evasion: no path (audit W); a voiceprint check fooled the same way is one
    text = """name: x
components:
  - {id: callers, kind: external, actor: user}
  - {id: phone, kind: service, audience: public, authentication: none, returns: text}
  - {id: stt, kind: model, task: speech-recognition, modality: audio, outputs: [text], trained_by: vendor,
     properties: {verifies_identity: %s}}
  - {id: desk, kind: service, audience: internal, authentication: oauth, returns: text}
  - {id: crook, kind: adversary, actor: criminal, goals: [fraud, impersonate], access: [query]}
flows: [{from: callers, to: phone}, {from: phone, to: stt}, {from: stt, to: desk}]
"""
    for checks in ("false", "true"):
        s = load_system_text(text % checks)
        p = predict(s)
        assert {"AML.T0015", "AML.T0073", "AML.T0048.000"} <= set(p.technique_ids)
        crook = walker(s, p, adversary=s.component("crook"))
        got = crook(("AML.T0047", "AML.T0015", "AML.T0073", "AML.T0048.000"))
        assert (got is not None) is (checks == "true"), (checks, got)
