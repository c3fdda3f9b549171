"""A finding's mitigations: which ATLAS mitigations fit it, the component each goes on, the lifecycle
stage, and whether one is already in place (see :mod:`._placement` for where a control counts).

Split from :mod:`.predict`, which decides what is found; this decides what to do about it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..kb import bundled
from ._direct import hears_back
from ._idle import ADMITS, THROUGH_INPUTS, idle_reason
from ._placement import (
    ASKS_NOTHING,
    AT_REST_GUARDS,
    AT_THE_API,
    deliverers,
    delivers_only,
    front_bits,
    holder,
    holds,
    in_front,
    is_the_control,
    needs_answers,
    places,
    shipped,
)
from ._tools import APPROVAL, PER_TOOL, TOOL_CONTROLS, acts, on_the_tools
from ._training import TRAINING_DATA, own_training_sets, trains
from .rules import Rule
from .system import Component, System

__all__ = [
    "DETECTS_ONLY",
    "DEVICE_ONLY",
    "GENERATIVE_ONLY",
    "MEDIA_ONLY",
    "OURS_TO_PUBLISH",
    "PER_TOOL",
    "PREFERRED_STAGE",
    "SENSOR_ONLY",
    "UNFIT",
    "MitigationAdvice",
    "advice",
    "behind",
]

#: The stage a mitigation is placed at when neither the rule nor the placement names one, if the
#: mitigation's lifecycle has it: most advice concerns a running system.
PREFERRED_STAGE = "Deployment"


@dataclass(frozen=True)
class MitigationAdvice:
    """One mitigation for one finding: where it goes and whether it is already there."""

    id: str
    name: str
    component: str
    stage: str
    in_place: bool
    in_place_at: str | None = None
    #: False for a control that only records the attack (see :data:`DETECTS_ONLY`): it is advised and
    #: shown in place, but in place it clears no finding at ``--fail-on``.
    prevents: bool = True
    #: Held, why it stops nothing here (a per-caller quota where anyone can sign up); empty otherwise.
    idle: str = ""
    #: Where else it is missing and needed, besides ``component`` (both tools a finding names): one report
    #: line, not a next missing place revealed only once the first is mended.
    also_on: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"id": self.id, "name": self.name, "component": self.component, "stage": self.stage,
                "in_place": self.in_place, "in_place_at": self.in_place_at, "prevents": self.prevents,
                "idle": self.idle,
                "also_on": list(self.also_on)}


def _default_stage(lifecycle: tuple[str, ...], preferred: str = PREFERRED_STAGE) -> str:
    if preferred in lifecycle or not lifecycle:
        return preferred
    return lifecycle[0]


#: (sub-technique, parent's mitigation) pairs that do not fit: supply-chain compromise covers hardware,
#: software, containers, data and models, and verifying AI artifacts (models, data sets) does nothing for
#: tampered hardware, a poisoned framework package or a container image swapped in its registry.
UNFIT = frozenset({("AML.T0010.000", "AML.M0014"), ("AML.T0010.001", "AML.M0014"), ("AML.T0010.004", "AML.M0014"),
                   # guardrails on a generative model sit far from a compromised chip
                   ("AML.T0010.000", "AML.M0020"),
                   # a planted trigger works on the first query: neither a query limit nor blurred scores
                   # stop it (ATLAS links them to crafting adversarial data, not to the trigger)
                   ("AML.T0043.004", "AML.M0004"), ("AML.T0043.004", "AML.M0002"),
                   # nor do they touch work that asks our model nothing (weights in hand, a stand-in, a download)
                   *((t, m) for t in ASKS_NOTHING for m in ("AML.M0004", "AML.M0002")),
                   # a link clicked in a reply loads no model file: the checks of artifacts and libraries that
                   # user execution inherits act on files, and ATLAS names none for a malicious link
                   *(("AML.T0011.003", m) for m in ("AML.M0011", "AML.M0013", "AML.M0014", "AML.M0016",
                                                     "AML.M0023")),
                   # guardrails on what a model writes do not see a tampered framework or a swapped container,
                   # and a backdoor trained into a model or its data answers as made to, past a filter made for
                   # prompts (audit S)
                   *(("AML.T0010." + s, "AML.M0020") for s in ("001", "002", "003", "004")),
                   # whoever wrote the content an app reads, or the instructions waiting in it, signs in nowhere:
                   # a user the door admits brings it in (audits S and U: a portal's sign-in counted as stopping
                   # the injection in the documents it takes)
                   ("AML.T0051.001", "AML.M0019"), ("AML.T0051.002", "AML.M0019")})
#: Mitigations that record an attack without stopping it. ATLAS links telemetry logging to extraction,
#: exfiltration and prompt injection alike, and a logged theft is still a theft: held, it is shown in
#: place but clears no finding at ``--fail-on`` (the other ATLAS mitigations stop or narrow the attack).
DETECTS_ONLY = frozenset({"AML.M0024"})
#: Mitigations that only a generative model can adopt (guardrails, guidelines, alignment), and those that
#: only media can use (deepfake detection): ATLAS links them to techniques that also reach other systems.
GENERATIVE_ONLY = frozenset({"AML.M0020", "AML.M0021", "AML.M0022"})
MEDIA_ONLY = frozenset({"AML.M0034"})
#: Sensor redundancy (Use Multi-Modal Sensors) is for models that sense the world, not for a text classifier.
SENSOR_ONLY = frozenset({"AML.M0009"})
#: Limit Public Release of Information: what we publish, about models we made (a vendor's are theirs to describe).
OURS_TO_PUBLISH = frozenset({"AML.M0000", "AML.M0001"})
#: Serving from the cloud rather than shipping to devices (AI Model Distribution Methods) is advice for a model
#: that is shipped: one on our servers already follows it, and being there stops no intruder from taking it.
DEVICE_ONLY = frozenset({"AML.M0017"})


def _generative(c: Component) -> bool:
    return c.kind == "llm-app" or (c.kind == "model" and c.get("task") in ("generation", "translation"))


def _answers_no_one(system: System, comp: Component) -> bool:
    """An LLM app whose output reaches no outside party and no service that answers (one behind an upload
    endpoint, writing into a store for staff): no one who sends it inputs sees what its model said."""
    if comp.kind != "llm-app":
        return False
    return not any(c.kind == "external" or (c.kind == "service" and c.get("returns") != "none")
                   for c in system.downstream_of(comp, inputs_only=True))


def _silent(comp: Component) -> bool | None:
    """For an outside party, whether it sends no queries (the scene a camera sees, a vendor's delivery);
    None for a component of ours."""
    return comp.get("actor") in ("other", "vendor") if comp.kind == "external" else None


def _fed_only_by_silent(system: System, comp: Component) -> bool:
    """Whether every flow into ``comp`` comes straight from an outside party that sends no queries, or over a
    flow marked trusted (our sonographer's probe: what passes it is not the adversary's to send), or from an
    outside party none of its answers are drawn going to (answered once per component: every finding asks)."""
    def compute() -> bool:
        sources = system.flows_into().get(comp.id, ())
        untrusted = system.flows_into(untrusted=True).get(comp.id, ())
        # nor, behind a door outsiders cannot use (internal, partner), one whose answers are drawn going to others
        # only: it passes staff their content (a post a journalist uploads), and they read none of its answers to
        # query with (audit L); a public one's recipients may be anyone, the sender too (scores in mail headers)
        heard = hears_back(system, comp) if comp.get("audience") in ("internal", "partner") else frozenset()
        asks = frozenset(system.flows_out().get(comp.id, ()))  # what the models it asks answer is no one's query
        outside = system.outside()
        return bool(sources) and all(_silent(system.component(a)) or (heard and a in outside and a not in heard)
                                     for a in untrusted if not (a in asks and system.component(a).kind == "model"))
    return system.memo(("fed-only-by-silent", comp.id), compute)


def behind(system: System, comp: Component) -> tuple[Component, ...]:
    """``comp`` and what its content reaches at inference time: not a model its outputs only train (voice
    samples uploaded through a generator's API train an encoder that is not behind the generator)."""
    return (comp, *system.downstream_of(comp, inputs_only=True))


#: An adversary's access that reaches inside: internal services, and flows our staff's trust marks speak for.
INSIDE_ACCESS = frozenset({"insider", "network", "physical"})

#: What a model reads that is media (unstated: it may be).
_MEDIA_READ = (None, "image", "audio", "multimodal")


def _reads_media(c: Component) -> bool:
    """Whether ``c`` is a model that reads media a fake could be slipped into (unstated: it may): for a model,
    its own inputs, not what lies behind it (a text classifier whose verdicts go to an API that also takes
    audio); not a generator, every output of which is synthetic (blind audit G)."""
    return c.kind == "model" and c.get("task") != "generation" and c.get("modality") in _MEDIA_READ


def _senses(c: Component) -> bool:
    """Whether ``c`` is a model that senses the world (see :data:`SENSOR_ONLY`): images, audio or the physical
    world, not uploads said not to be (``physical: false``), nor a generator's making of them."""
    return (c.kind == "model" and c.get("task") != "generation" and c.properties.get("physical") is not False
            and (c.get("modality") in _MEDIA_READ or c.properties.get("physical") is True))


def _near(system: System, comp: Component, what: str, fits: Callable[[Component], bool]) -> bool:
    """Whether a component at or behind ``comp`` (see :func:`behind`; anywhere, for an adversary, who meets the
    whole system) ``fits``; answered once per component and question (asked for every finding)."""
    return system.memo((what + "-near", comp.id), lambda: any(
        fits(c) for c in (system.components if comp.kind == "adversary" else behind(system, comp))))


def _makers_own(comp: Component, mid: str) -> bool:
    """Whether ``mid`` is the maker's to do for a model a vendor trained and we use as it came (see
    :data:`MAKERS_OWN`): a rule placing it on the model's data cannot make it ours either."""
    return (mid in MAKERS_OWN and comp.kind == "model" and comp.get("trained_by") == "vendor"
            and comp.get("fine_tuned") is not True)


def _fits(system: System, comp: Component, mid: str) -> bool:
    """Whether mitigation ``mid`` can apply where ``comp``'s finding is: a generative-AI control needs a
    generative component there or behind it, multi-modal sensors a model there or behind it that senses
    images, audio or the physical world, deepfake detection a system that handles images or audio.
    The adversary meets the whole system; a model whose task or modality is unstated may be either.
    Query limits, output obfuscation and logging need a service the queries pass: a model on people's
    devices with none in front is queried on the attacker's own copy, where none of them reaches. Nothing
    of a hosted tool is here to verify or sign."""
    # asked for every finding: answered once per component (a system-wide scan per finding was quadratic)
    if (mid in AT_THE_API or mid == "AML.M0024") and comp.kind == "model" and comp.properties.get("on_device") is True:
        # nor through a client on the same device (an antivirus agent): a quota in software the attacker holds
        # nor through a service that only pushes to it (a model CDN, an update service): no query passes it
        return any(c.kind == "service" and c.properties.get("on_device") is not True and not delivers_only(system, c)
                   for c in in_front(system, comp))
    if mid in AT_THE_API and comp.kind == "adversary" and comp.get("access") \
            and not INSIDE_ACCESS & set(comp.get("access")):
        # from outside, the adversary's queries are limited where some model's or app's are: not where every way
        # in is our own staff's over a trusted flow or a scene that sends none (a scanner's probe; a road
        # camera); an insider, or one on our network or at the hardware, sends to internal services itself
        return system.memo(("api-anywhere", mid), lambda: any(
            _fits(system, c, mid) for c in system.components if c.kind in ("model", "llm-app")))
    if mid in AT_THE_API and comp.kind == "service":
        # its own findings (a flood, chaff): limited where someone queries it, not where only a scene, our own
        # staff or the authors of what staff upload send to it
        return not _fed_only_by_silent(system, comp)
    if mid in AT_THE_API and comp.kind in ("model", "llm-app"):
        # queried through a service or an app, or straight by a party that sends queries: a camera on the
        # road ('other') or a vendor's delivery sends none, and an upload service is there for training data;
        # nor is a service only such a party feeds (the drone's own camera feed) a way to query
        # and blurring outputs needs a service that hands some back: not a recorder that answers nothing
        # and an app in front hands its answers to those who query it only when they write to it straight: one
        # behind an upload portal answers the recruiters who read its scores, not the candidates who probe it
        return any(c.kind in ("service", "llm-app") and not _fed_only_by_silent(system, c)
                   and not delivers_only(system, c)
                   and not (mid == "AML.M0002" and (c.get("returns") in ("none", "labels") or _answers_no_one(system, c)
                                                    or (c.kind == "llm-app" and not system.fed_by_outside(c.id))))
                   for c in in_front(system, comp)) or any(
            _silent(system.component(a)) is False for a in system.flows_into().get(comp.id, ()))
    if mid in ("AML.M0014", "AML.M0013") and (
            (comp.kind == "tool" and comp.get("hosted") is True)
            or hosted_by_vendor(comp)):
        # a vendor's API model: no weight file is loaded here, and listing the check is refused at load
        return False
    if mid in GENERATIVE_ONLY:
        return _near(system, comp, "generative",
                     lambda c: _generative(c) or (c.kind == "model" and c.get("task") is None))
    if mid in SENSOR_ONLY:  # a model of images said not to see the physical world (uploads) has no sensor
        return _near(system, comp, "sensing", _senses) if comp.kind != "model" else _senses(comp)
    if mid in DEVICE_ONLY:
        return _near(system, comp, "shipped", lambda c: c.kind == "model" and shipped(c))
    if mid in MEDIA_ONLY:  # a model that reads media: an intent classifier reading transcripts has no audio
        return _near(system, comp, "media", _reads_media) if comp.kind != "model" else _reads_media(comp)
    if mid in ACCESS_AT_REST and comp.kind == "model" and (
            comp.properties.get("on_device") is True or (mid == "AML.M0005" and comp.properties.get("published"))):
        return False  # weights on people's own machines, or published for anyone, are theirs to read
    if mid == "AML.M0005" and hosted_by_vendor(comp):
        return False  # a vendor's hosted model: no weights of it rest with us
    if mid in TOOL_CONTROLS and comp.kind == "llm-app":
        # an agent's tool settings need tools, and a person approves actions: not a lookup that only reads
        tools = [system.component(t) for t in comp.get("tools") or ()]
        return any(mid != APPROVAL or acts(t) for t in tools)
    if mid in OURS_TO_PUBLISH and comp.kind == "model":
        # limiting what we publish about a model is ours to do only for a model we made or tuned, and holding
        # back its files not for one whose release is the point (open weights)
        if mid == "AML.M0001" and comp.properties.get("published") is True:
            return False
        return comp.get("trained_by") in ("us", None) or comp.get("fine_tuned") is True
    return True


def advice(system: System, comp: Component, rules: Iterable[Rule], technique_id: str,
           named: frozenset[str] = frozenset()) -> tuple[MitigationAdvice, ...]:
    """The mitigations of ``comp``'s finding of ``technique_id`` that ``rules`` fired for: those the rules
    place and those ATLAS links to the technique (or its parent) that fit the system, each on the
    component it goes on (``named``: the components the reason names) and said in place or not."""
    matrix = bundled()
    rules = list(rules)
    placements: dict[str, Any] = {}
    for rule in rules:
        for mid, p in rule.mitigations.items():
            placements.setdefault(mid, (p, rule.stage))
    # A parent's mitigations hold for its sub-techniques (guardrails against prompt injection stop the
    # direct and the indirect kind); ATLAS often links them to the parent only.
    parent = matrix.technique(technique_id).parent
    linked = [m.id for m, _ in matrix.mitigations_of(technique_id)]
    linked += [m.id for m, _ in matrix.mitigations_of(parent) if (technique_id, m.id) not in UNFIT] if parent else []
    # a query control a rule places still needs a service the queries pass (not one on the attacker's own device)
    ids = [m for m in dict.fromkeys(linked + list(placements))
           if not _makers_own(comp, m) and not _nothing_to_act_on(system, comp, m, technique_id)
           and ((m in placements and m not in AT_THE_API and m not in TOOL_CONTROLS) or _fits(system, comp, m))]
    front = 0 if comp.kind == "adversary" else front_bits(system, comp)
    out = []
    for mid in ids:
        mitigation = matrix.mitigation(mid)
        placement, rule_stage = placements.get(mid, (None, rules[0].stage))
        # in place only when every component it must be on holds it; else advised where it is missing
        # held on the way in: named where it is placed when that one holds it (not the first holder that
        # happens to guard the component by another way)
        kind = placement.component if placement else AT_THE_API.get(mid) or _screened(comp, mid) or _around_hosted(
            comp, mid)
        held = [(t, t.id if h is not None and t.id != comp.id and holds(t, mid, technique_id) else h)
                for t, h in ((t, holder(system, comp, t, mid, front, technique_id))
                             for t in _people(system, comp, mid, technique_id) or _prompted(system, comp, mid)
                             or places(system, comp, kind, named))]
        lacking = [t for t, h in held if h is None]
        target, held_at = (lacking[0], None) if lacking else held[0]
        if held_at is None and mid in PER_TOOL and comp.kind == "llm-app":
            lacking, held_at = on_the_tools(system, mid, named, technique_id) or (lacking, held_at)
            target = lacking[0] if lacking else target
        # who may write the data a model learns from is checked where the data rest (audits J and L), not on the
        # model's own file (audit M)
        learnt = mid in TRAINING_DATA or (mid in ACCESS_AT_REST and technique_id == "AML.T0020")
        if learnt and mid in ACCESS_AT_REST and held_at == comp.id and own_training_sets(system, comp):
            held_at = None
        if held_at is None and learnt and comp.kind == "model" and target.id not in (
                own := [c.id for c in own_training_sets(system, comp)]):
            # the data this model learns from: not a set that retrains another model beside it, nor the
            # documents an app retrieves; drawn nowhere, its training is the model's own to check
            sets = [system.component(i) for i in own]
            lacking = [c for c in sets if not holds(c, mid)] if sets else [comp]
            target = lacking[0] if lacking else sets[0]
            held_at = None if lacking else target.id
        elif held_at is None and learnt and target.kind == "dataset" and not trains(target):
            # sanitising or tracing the data a model learns from: not the evaluation set or the documents it
            # retrieves, which the nearest data set may be, while its training set lies further up
            sets = [c for c in system.upstream_of(comp) if c.kind == "dataset" and trains(c)]
            if sets:
                target, lacking = sets[0], sets[:1]
                if holds(target, mid):  # the training set already has it: in place there
                    held_at, lacking = target.id, []
        if held_at is None and mid == "AML.M0005" and comp.kind == "model" and technique_id in AT_REST_GUARDS \
                and not shipped(comp):
            # where the weights rest: the registries that deliver them (audit J), not the model that loads them
            rests = [c for c in deliverers(system, comp) if c.kind == "service" and not holds(c, mid)]
            target, lacking = (rests[0], rests) if rests else (target, lacking)
        # (not for a model that is the control itself, a deepfake detector: what is beside it is no way around)
        if held_at is None and comp.kind != "adversary" and holds(target, mid) and not is_the_control(target, mid):
            # held where it was advised, but another way in passes nothing that holds it (a scraper feeding the
            # model beside the API that rate-limits): advise it on those ways, not again where it already is
            ways = [c for c in in_front(system, comp) if c.kind == target.kind and not holds(c, mid)
                    and not delivers_only(system, c)
                    and not (mid in AT_THE_API and needs_answers(technique_id) and c.get("returns") == "none")]
            if ways:
                target, lacking = ways[0], ways
        # where it is missing, as it would be held where advised: a control that would stop nothing there is not
        # advice (held, it is shown idle); a log is, since it is how one notices
        idle = idle_reason(system, comp, mid, technique_id, held_at if held_at is not None else target.id)
        if held_at is None and idle and mid not in DETECTS_ONLY:
            continue
        # the data a model learns from is cleaned and traced where it is prepared, whichever rule asks
        stage = (placement.stage if placement else None) or rule_stage or _default_stage(
            mitigation.lifecycle, "Data Preparation" if mid in TRAINING_DATA else PREFERRED_STAGE)
        out.append(MitigationAdvice(mid, mitigation.name, target.id, stage, held_at is not None, held_at,
                                    prevents=mid not in DETECTS_ONLY and not idle,
                                    idle=idle if held_at is not None else "",
                                    also_on=tuple(t.id for t in lacking[1:]) if held_at is None else ()))
    return tuple(out)


#: Controls that wrap a model rather than change it (guardrails, guidelines, detecting adversarial inputs, an
#: ensemble, who may call it): on a vendor's hosted model, which we cannot change, they go in our app (or
#: service) that calls it.
AROUND_THE_MODEL = frozenset({"AML.M0006", "AML.M0010", "AML.M0015", "AML.M0019", "AML.M0020", "AML.M0021"})
#: Generative AI Model Alignment: done to a model while it is trained or tuned, so for an app's finding it goes
#: on the model the app calls (and counts there), not on the app.
ALIGNMENT = "AML.M0022"


#: Acquiring the public model, or using it as a ready-made proxy: for a model tuned from a hub's, the public base.
BASE_IS_PUBLIC = frozenset({"AML.T0002.001", "AML.T0005.002"})
#: Access control on our copy, in production and at rest: against those, it locks away nothing the hub hands out.
OUR_COPY = frozenset({"AML.M0019", "AML.M0005"})


#: What is done with a model's weights read, not changed: full access, white-box crafting, collecting or taking
#: them. Against these, access control at rest on an open-source model used as published locks nothing away.
READ_WEIGHTS = frozenset({"AML.T0044", "AML.T0043.000", "AML.T0035", "AML.T0025"})
#: Controls that are taught to people (User Training): against an adversary's own lure, for those it reaches.
TAUGHT = frozenset({"AML.M0018"})


def _nothing_to_act_on(system: System, comp: Component, mid: str, technique_id: str) -> bool:
    """Whether ``mid`` has nothing to act on for this finding: training people against a lure made with our
    generator that no one of ours is shown, access control in production against an attack
    through the inputs of a model no party queries (the scene a camera sees: no caller to sign in; its weights
    are still its to guard), or holding back or locking away a hub model's tune against acquiring the public
    base it came from, or using that base as a stand-in."""
    if mid in TAUGHT and comp.kind == "model" and technique_id.startswith("AML.T0052"):
        # a lure made with our generator reaches our people only where our platform hands its outputs on to
        # others; what goes back to the one who asked is carried off by the adversary to victims nothing here
        # reaches (a cloned voice). Our staff who load a model file (AML.T0011) are ours to train all the same.
        return not any(c.kind == "service" and c.get("relays") is True for c in system.downstream_of(comp))
    if mid in MEDIA_ONLY and technique_id.startswith("AML.T0052") and comp.kind == "llm-app" and not any(
            set(c.get("outputs") or ()) & {"image", "audio", "video"}
            for c in (system.component(b) for b in system.flows_out().get(comp.id, ())) if c.kind == "model"):
        return True  # an app's replies turned phishing are text: no fake to detect (audits J, M), bar a voice it calls
    if mid in MEDIA_ONLY and technique_id == "AML.T0015" and comp.kind == "model" \
            and comp.properties.get("verifies_identity") is not True and mid not in comp.controls:
        return True  # an input crafted to evade a recogniser or a detector is no fake of anyone (audits G, L, O)
    if mid == "AML.M0005" and technique_id in READ_WEIGHTS and comp.kind == "model" \
            and comp.get("trained_by") == "open-source" and comp.get("fine_tuned") is not True:
        return True  # the hub hands these weights to anyone: locking our copy keeps no one from reading them
    if mid == ALIGNMENT and (prompted := _prompted(system, comp, mid)) and all(_makers_own(c, mid) for c in prompted):
        return True  # every model the app prompts is a vendor's as it came: aligning it is the vendor's work
    if mid in OURS_TO_PUBLISH | OUR_COPY and technique_id in BASE_IS_PUBLIC and comp.kind == "model" and (
            comp.get("trained_by") == "open-source" or comp.get("source") in ("huggingface", "model-hub")):
        return True  # what is downloaded is the public base, not our tune of it: not ours to hold back or lock
    return (mid == ADMITS and comp.kind == "model" and technique_id.startswith(THROUGH_INPUTS)
            and not _fits(system, comp, "AML.M0004"))


def _people(system: System, comp: Component, mid: str, technique_id: str = "") -> list[Component]:
    """For an adversary's finding, or a model's file that someone is led to load (AML.T0011), where a taught
    control for the people concerned is listed: the service the first outside party of users sends through
    (people hold no controls in a description; the service they use is where training them is recorded)."""
    if mid not in TAUGHT or not (comp.kind == "adversary" or (comp.kind == "model"
                                                               and technique_id.startswith("AML.T0011"))):
        return []
    users = [c.id for c in system.of_kind("external") if c.get("actor") == "user"]
    return [c for c in system.of_kind("service")
            if users and (users[0] in system.flows_into().get(c.id, ()) or c.id in system.flows_out().get(users[0], ()))
            ][:1]


def _prompted(system: System, app: Component, mid: str) -> list[Component]:
    """For alignment on an LLM app's finding, the models that write which the app prompts straight (a flow
    from it), not a speech model feeding it its transcript, nor one that reads its answers aloud (a
    text-to-speech model, whose only outputs are audio, follows no instructions)."""
    if mid != ALIGNMENT or app.kind != "llm-app":
        return []
    return [c for c in (system.component(b) for b in system.flows_out().get(app.id, ()))
            if c.kind == "model" and c.get("task") in ("generation", "translation", None)
            and tuple(c.get("outputs") or ()) != ("audio",)]


#: What only the maker of a model can do to it (harden it, align it, clean and trace what it learns from, hold
#: back its files): for a model a vendor trained and we use as it came, the vendor's obligation, not advice to us
#: (audits P, Q, T of alignment on a vendor's hosted LLM).
MAKERS_OWN = frozenset({"AML.M0001", "AML.M0003", "AML.M0007", "AML.M0022", "AML.M0025"})
#: Access controls on weights at rest or in production: nothing of ours on a machine the attacker runs.
ACCESS_AT_REST = frozenset({"AML.M0005", "AML.M0019"})


#: Guardrails and guidelines: they screen what a generative app is given and writes, so they sit in one.
SCREENS = frozenset({"AML.M0020", "AML.M0021"})


def _screened(comp: Component, mid: str) -> str | None:
    """``llm-app`` for a screen (:data:`SCREENS`) advised for a finding on what is not generative itself (a
    data set, a mailbox, an embedder): the nearest app screens what comes from it (audits Y, Z)."""
    return "llm-app" if mid in SCREENS and comp.kind not in ("llm-app", "adversary") and not _generative(comp) \
        else None


def _around_hosted(comp: Component, mid: str) -> str | None:
    """The kind a wrapping control goes on for a vendor-hosted model, else None: for a model that writes, the
    app that prompts it; for one that decides or transcribes (a speech API), the service its inputs pass on
    their way to it: the app its transcript goes on to sees no audio to restore or screen."""
    if not (hosted_by_vendor(comp) and mid in AROUND_THE_MODEL):
        return None
    return "llm-app" if _generative(comp) or comp.get("task") is None else "service"


def hosted_by_vendor(comp: Component) -> bool:
    """A model a vendor serves from its own servers: no weight file of it is loaded here."""
    return comp.kind == "model" and (comp.get("artifact_format") == "hosted" or comp.get("source") == "vendor-api")
