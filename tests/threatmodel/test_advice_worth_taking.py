"""Advice is only what would help: a control that, held where it would go, would stop nothing is not advised
(it is still shown held and idle where a description holds it), and a check at a gate stops only those who
must pass it. (Blind audits H and J: guidelines in the prompt and validation listed as missing with "would
stop nothing"; access control on a scheduled scoring job credited against vitals anyone writes upstream.)"""

from __future__ import annotations

from advmatrix.threatmodel import System
from advmatrix.threatmodel.predict import predict


def system(components, flows=()) -> System:
    return System.model_validate({"name": "t", "components": components, "flows": list(flows)})


def rows(s: System, component: str) -> dict[tuple[str, str], object]:
    return {(f.technique_id, m.id): m for f in predict(s).findings if f.component == component
            for m in f.mitigations}


def chat(**app) -> System:
    return system([{"id": "users", "kind": "external", "actor": "user"},
                   {"id": "api", "kind": "service", "audience": "public", "authentication": "oauth",
                    "open_signup": True, "returns": "text"},
                   {"id": "bot", "kind": "llm-app", "system_prompt": True, **app},
                   {"id": "llm", "kind": "model", "task": "generation", "modality": "text", "trained_by": "us"}],
                  [{"from": "users", "to": "api"}, {"from": "api", "to": "bot"}, {"from": "bot", "to": "api"},
                   {"from": "api", "to": "users"}, {"from": "bot", "to": "llm"}, {"from": "llm", "to": "bot"}])


def test_a_control_that_would_stop_nothing_is_not_advised_but_is_shown_idle_where_held():
    missing = rows(chat(), "bot")
    assert ("AML.T0051.000", "AML.M0020") in missing  # a guardrail would help
    assert ("AML.T0051.000", "AML.M0021") not in missing  # guidelines are what the injection overrides
    held = rows(chat(controls=["AML.M0021"]), "bot")[("AML.T0051.000", "AML.M0021")]
    assert held.in_place and not held.prevents and held.idle
    # a query limit on an API anyone may open accounts at would stop no query attack: not advised there
    quota = {k for k, m in rows(chat(), "llm").items() if k[1] == "AML.M0004"}
    assert not quota, quota
    telemetry = [m for k, m in rows(chat(), "bot").items() if k[1] == "AML.M0024"]
    assert telemetry  # a log records and stops nothing, and is advised all the same: it is how one notices


def test_validation_before_release_does_not_see_a_file_swapped_after_it():
    s = system([{"id": "registry", "kind": "service", "audience": "internal", "authentication": "mtls",
                 "returns": "none"},
                {"id": "m", "kind": "model", "task": "classification", "modality": "tabular", "trained_by": "us",
                 "artifact_format": "joblib", "controls": ["AML.M0008"]},
                {"id": "crew", "kind": "adversary", "actor": "criminal", "goals": ["manipulate"],
                 "access": ["network"]}],
               [{"from": "registry", "to": "m", "trusted": True}])
    got = rows(s, "m")
    for technique in ("AML.T0018", "AML.T0018.002"):
        if (technique, "AML.M0008") in got:
            m = got[technique, "AML.M0008"]
            assert m.in_place and not m.prevents, technique
    assert ("AML.T0018", "AML.M0008") in got


def scoring(gate_controls) -> System:
    """Bedside monitors write vitals into the record system with no sign-in; a scheduled job reads them and
    scores each patient; the job is where access control was put."""
    return system([{"id": "monitors", "kind": "external", "actor": "other"},
                   {"id": "clinicians", "kind": "external", "actor": "user"},
                   {"id": "ehr-intake", "kind": "service", "audience": "internal", "authentication": "none",
                    "returns": "none"},
                   {"id": "ehr", "kind": "dataset", "source": "collected", "writers": "internal",
                    "used_for": ["evaluation"]},
                   {"id": "job", "kind": "service", "audience": "internal", "authentication": "mtls",
                    "returns": "scores", "controls": gate_controls},
                   {"id": "m", "kind": "model", "task": "classification", "modality": "tabular", "trained_by": "us"}],
                  [{"from": "monitors", "to": "ehr-intake"}, {"from": "clinicians", "to": "ehr-intake"},
                   {"from": "ehr-intake", "to": "job"}, {"from": "job", "to": "m"}, {"from": "m", "to": "job"},
                   {"from": "job", "to": "clinicians"}])


def test_access_control_at_a_gate_outsiders_do_not_pass_checks_no_one_who_writes_the_inputs():
    got = rows(scoring(["AML.M0019"]), "m")
    crafted = [m for (t, mid), m in got.items() if mid == "AML.M0019" and t.startswith(("AML.T0043", "AML.T0015"))]
    assert crafted and all(m.in_place and not m.prevents and "job" in m.idle for m in crafted), crafted


def test_outputs_that_are_a_bare_label_are_not_told_to_be_blurred():
    def labelled(returns):
        return system([{"id": "users", "kind": "external", "actor": "user"},
                       {"id": "api", "kind": "service", "audience": "public", "returns": returns},
                       {"id": "m", "kind": "model", "task": "classification", "modality": "tabular",
                        "trained_by": "us"}],
                      [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"},
                       {"from": "api", "to": "users"}])
    assert not {k for k in rows(labelled("labels"), "m") if k[1] == "AML.M0002"}
    assert {k for k in rows(labelled("scores"), "m") if k[1] == "AML.M0002"}


def test_a_finding_left_with_no_advice_says_whether_atlas_has_none_or_none_would_help():
    from advmatrix.kb import bundled
    from advmatrix.threatmodel import report as tmr

    tm = tmr.build(chat(), k=0)
    md = tmr.report_markdown(tm)
    bare = [f for f in tm.prediction.findings if not f.mitigations]
    matrix = bundled()
    def linked(tid):  # ATLAS often links a parent's controls only (they hold for its sub-techniques)
        parent = matrix.technique(tid).parent
        return matrix.mitigations_of(tid) or (parent and matrix.mitigations_of(parent))
    helpless = [f for f in bare if linked(f.technique_id)]
    assert helpless, "a finding whose linked controls would all stop nothing here"
    for f in bare:
        row = next(line for line in md.splitlines() if line.startswith(f"| {f.technique_id} ")
                   and f.reasons[0][:30] in line)
        said = "none that would stop it here" if f in helpless else "none known in ATLAS"
        assert row.endswith(f"| {said} |"), row


def test_access_control_against_poisoning_goes_on_the_data_a_model_learns_from():
    """Who may write the training set is checked where it rests, the set, not the model (audits J and L); where
    outsiders write it as of right, that check lets the poisoner in (audit G)."""
    def trained(writers, controls):
        return system([{"id": "extract", "kind": "dataset", "source": "collected", "writers": writers,
                        "used_for": ["training"], "controls": controls},
                       {"id": "m", "kind": "model", "task": "classification", "modality": "tabular",
                        "trained_by": "us"},
                       {"id": "crew", "kind": "adversary", "actor": "criminal", "goals": ["manipulate"],
                        "access": ["network"]}],
                      [{"from": "extract", "to": "m"}])

    held = rows(trained("internal", ["AML.M0005"]), "m")[("AML.T0020", "AML.M0005")]
    assert held.in_place and held.in_place_at == "extract" and held.prevents
    advised = rows(trained("internal", []), "m")[("AML.T0020", "AML.M0005")]
    assert not advised.in_place and advised.component == "extract"
    assert ("AML.T0020", "AML.M0005") not in rows(trained("partner", []), "m")
    idle = rows(trained("partner", ["AML.M0005"]), "m")[("AML.T0020", "AML.M0005")]
    assert idle.in_place and not idle.prevents and "partner" in idle.idle


def test_controls_held_on_the_model_file_stop_no_live_check_no_label_poisoning_and_no_tampered_library():
    """Audit M (a card issuer's fraud model): access control on the weights at rest was credited against
    checking crafted transactions on the live model and against poisoned dispute labels; an ensemble against
    a tampered gradient-boosting library; provenance of disputes anyone files against eroding that set."""
    s = system([{"id": "processors", "kind": "external", "actor": "partner"},
                {"id": "auth-api", "kind": "service", "audience": "partner", "authentication": "mtls",
                 "returns": "labels"},
                {"id": "m", "kind": "model", "task": "classification", "modality": "tabular", "trained_by": "us",
                 "artifact_format": "joblib", "controls": ["AML.M0005", "AML.M0006"]},
                {"id": "labels", "kind": "dataset", "source": "user-submitted", "writers": "public",
                 "used_for": ["training"], "controls": ["AML.M0025"]},
                {"id": "ring", "kind": "adversary", "actor": "criminal", "goals": ["fraud", "evade"],
                 "access": ["query"]}],
               [{"from": "processors", "to": "auth-api"}, {"from": "auth-api", "to": "m"},
                {"from": "m", "to": "auth-api"}, {"from": "auth-api", "to": "processors"},
                {"from": "labels", "to": "m"}])
    got = rows(s, "m")
    for technique, mid in (("AML.T0042", "AML.M0005"), ("AML.T0010.001", "AML.M0006")):
        if (technique, mid) in got:
            assert not got[technique, mid].prevents, (technique, mid)
    assert ("AML.T0042", "AML.M0005") in got
    poison = got.get(("AML.T0020", "AML.M0005"))
    assert poison is None or poison.in_place_at != "m", poison  # the file's guard is no guard of the labels
    eroded = rows(s, "labels").get(("AML.T0059", "AML.M0025"))
    assert eroded is not None and eroded.in_place and not eroded.prevents


def test_weights_anyone_may_download_are_not_told_to_be_locked_away():
    s = system([{"id": "users", "kind": "external", "actor": "user"},
                {"id": "api", "kind": "service", "audience": "public", "returns": "text"},
                {"id": "m", "kind": "model", "task": "generation", "modality": "text", "trained_by": "us",
                 "artifact_format": "safetensors", "properties": {"published": True}}],
               [{"from": "users", "to": "api"}, {"from": "api", "to": "m"}, {"from": "m", "to": "api"}])
    assert not {k for k in rows(s, "m") if k[1] == "AML.M0005"}, rows(s, "m").keys()


def test_access_control_at_rest_is_advised_where_the_weights_rest():
    # the scoring job loads the model from a registry: that is where its file can be swapped or taken (audit J)
    s = system([{"id": "registry", "kind": "service", "audience": "internal", "authentication": "mtls",
                 "returns": "none"},
                {"id": "m", "kind": "model", "task": "classification", "modality": "tabular", "trained_by": "us",
                 "artifact_format": "joblib"},
                {"id": "crew", "kind": "adversary", "actor": "criminal", "goals": ["manipulate", "compromise"],
                 "access": ["network"]}],
               [{"from": "registry", "to": "m", "trusted": True}])
    got = rows(s, "m")
    at_rest = {t: m for (t, mid), m in got.items() if mid == "AML.M0005" and t in ("AML.T0018", "AML.T0025")}
    assert at_rest and all(m.component == "registry" and not m.in_place for m in at_rest.values()), at_rest
