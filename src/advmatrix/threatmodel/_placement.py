"""Where a finding's mitigations go, and whether one is already in place.

A mitigation lands on the component a rule names (a query limit on the service in front of a model,
sanitising on the training set), else on the matched component. It is in place when that component,
or every way into the matched one at inference time, holds it: a control counts only for what
actually passes through it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterator

from ._closure import reach_sets
from ._components import ALSO_HOLDS, IMPLIED_CONTROLS
from ._direct import STORES, answered_walk
from .system import Component, System, is_entry, is_training_data

__all__ = ["AT_REST_GUARDS", "AT_THE_API", "deliverers", "delivers_only", "door", "front_bits", "holder", "holds",
           "in_front", "is_the_control", "places", "query_gates", "shipped"]


def delivers_only(system: System, comp: Component) -> bool:
    """A service that answers nothing and that nothing feeds but our own models and data sets: it pushes (a
    new model file to phones over the air, files), and no one queries through it, so no control on queries
    goes there."""
    return comp.kind == "service" and comp.get("returns") == "none" and all(
        system.component(a).kind in ("model", "dataset") for a in system.flows_into().get(comp.id, ()))


def places(system: System, comp: Component, kind: str | None, named: Collection[str] = ()) -> list[Component]:
    """Every component a mitigation meant for ``kind`` must be on: each of that kind the finding's reason
    names (``named``: the ids its graph leaves matched; two partner data sets both need sanitising, not
    whichever the file lists first), else the nearest of that kind its inputs pass through, else (not for
    a service) any upstream, else behind it, else the matched one; for an adversary, the first of that kind in the
    system. A mitigation with no kind, or meant for the matched one's kind, is on the matched one."""
    if kind is None or comp.kind == kind:
        return [comp]
    if not named and comp.kind != "adversary":
        # only the nearest is wanted: found without listing all around it (thousands on a long chain),
        # once per component and kind (each of its findings asks for each of their mitigations)
        def nearest() -> Component:
            for answering in ((True, False) if kind == "service" else (False,)):
                found = _nearest(system, comp, kind, answering)
                if found is not None:
                    return found
            # nothing of ours in front of an app on people's devices: its calls off the device pass the API
            # it calls, where the work they cost is spent
            return next(iter(called_apis(system, comp)), comp) if kind == "service" else comp
        return [system.memo(("nearest", comp.id, kind), nearest)]
    # An adversary is on no flow: it meets the whole system, so the first component of the kind will do.
    # The service controls (query limits, input detection, output obfuscation) act on the queries coming
    # in: a service the model's answers only go on to (an on-device model reporting to the cloud) sees
    # none of them, so it is no place for one.
    # Nor is one the model's training data comes in by (a clip uploader feeding a training set): only the
    # services its inputs pass at inference time.
    ways = in_front(system, comp)
    near = (query_gates(system) if kind == "service" else system.components) if comp.kind == "adversary" \
        else ways if kind == "service" else (
        *ways, *system.upstream_of(comp), *system.downstream_of(comp))
    candidates: list[Component] = []
    # a service that answers nothing (an upload endpoint, a weights registry) is where no query comes back:
    # a query limit or an output control goes on one that answers, and on it only when none does
    for answering in ((True, False) if kind == "service" else (False,)):
        seen: set[str] = set()
        for c in near:  # nearest first, each once (in front is also upstream)
            # nor, for a finding of the system's (a model's inputs), one that only pushes to it (over-the-air
            # updates): _fits counts none such as a way to query; an adversary meets whichever gate there is
            # nor software on a machine the attacker runs (an endpoint agent): no control of ours holds there
            if c.kind == kind and c.id not in seen and not (answering and c.get("returns") == "none") \
                    and not (comp.kind != "adversary" and delivers_only(system, c)) \
                    and not (kind == "service" and shipped(c)):
                seen.add(c.id)
                candidates.append(c)
                if not named:  # only the nearest is wanted
                    break
        if candidates:
            break
    doors = [c for c in candidates if kind == "service" and door(system, c)]  # as in _nearest
    return [c for c in candidates if c.id in named] or doors[:1] or candidates[:1] or [comp]


def called_apis(system: System, comp: Component) -> tuple[Component, ...]:
    """For an LLM app or model on people's devices or our field hardware (``on_device``, ``edge``), the
    services off them it calls (a flow there and an answer back): nothing of ours is in front of it, and
    its calls pass these. Empty for anything else."""
    def compute() -> tuple[Component, ...]:
        if comp.kind not in ("llm-app", "model") or not shipped(comp):
            return ()
        pairs = {(a, b) for a, b, _ in system.edges()}
        return tuple(c for c in system.of_kind("service")
                     if (comp.id, c.id) in pairs and (c.id, comp.id) in pairs and not shipped(c))
    return system.memo(("called-apis", comp.id), compute)


def shipped(c: Component) -> bool:
    """On people's devices or our field hardware (``properties.on_device`` or ``edge``)."""
    return c.properties.get("on_device") is True or c.properties.get("edge") is True


def query_gates(system: System) -> tuple[Component, ...]:
    """The components some model's or LLM app's inputs pass at inference time (see :func:`in_front`), in file
    order: where an adversary's queries can be limited. Not a service that only receives a model's verdicts."""
    def compute() -> tuple[Component, ...]:
        bits = 0
        for c in system.components:
            if c.kind in ("model", "llm-app"):
                bits |= front_bits(system, c)
        return system.at(bits)
    return system.memo("query-gates", compute)


def door(system: System, c: Component) -> bool:
    """Whether outsiders' queries come in at ``c``: a public service, or one an outside party's untrusted flow
    enters."""
    outside = system.outside()
    return is_entry(c) or any(a in outside for a in system.flows_into(untrusted=True).get(c.id, ()))


def _nearest(system: System, comp: Component, kind: str, answering: bool) -> Component | None:
    """The first component of ``kind`` (with ``answering``, one that returns something) that
    :func:`places` meets: in front of ``comp``, nearest first; else (not for a service) upstream, else
    behind it, in file order. Each part is looked at only when its bit set holds one."""
    def fits(c: Component) -> bool:
        return c.kind == kind and not (answering and c.get("returns") == "none") and not delivers_only(system, c) \
            and not (kind == "service" and shipped(c))

    mask = system.memo(("fits-bits", kind, answering),
                       lambda: system.bits_of(c.id for c in system.components if fits(c)))
    if front_bits(system, comp) & mask:
        if kind == "service":
            # the nearest that outsiders' queries reach, over flows not said trusted: not an internal batch job
            # fed from our own pool that happens to come first in the file
            # and of those the door they come in by (a public API, or one an outside party calls), not an
            # internal endpoint behind the app, where one limit is shared by every caller of the app
            front = [c for c in _breadth_first(system, comp) if fits(c)]
            return next((c for c in front if door(system, c)),
                        next((c for c in front if system.is_exposed(c, untrusted_only=True)), front[0]))
        return next(c for c in _breadth_first(system, comp) if fits(c))
    # a service goes only where queries come in (in front, above); other kinds upstream, else behind
    ways = [] if kind == "service" else [False, True]
    for forward in ways:
        reach = system.walk_bits(comp.id, forward=forward)
        if reach is None:  # a walk that carries state: list it
            walked = system.downstream_of(comp) if forward else system.upstream_of(comp)
            found = next((c for c in walked if fits(c)), None)
            if found is not None:
                return found
        elif reach & mask:  # comp itself is never of the kind: the lowest bit is another component
            return system.at(reach & mask, 1)[0]
    return None


#: Phishing and its sub-techniques (a prefix): lures sent to people, past every model of the system.
PHISHING = "AML.T0052"

#: Mitigations that act where queries come in; unless a rule places them, they go on the service in front.
AT_THE_API = {"AML.M0004": "service",  # Restrict Number of AI Model Queries
              "AML.M0002": "service"}  # Passive AI Output Obfuscation


def _guard_stops(system: System) -> frozenset[str]:
    return system.memo("guard-stops", lambda: frozenset(
        c.id for c in system.components if c.kind == "external" or is_training_data(c)))


def in_front(system: System, comp: Component) -> tuple[Component, ...]:
    """The components whose controls shield ``comp``: those its inputs pass through at inference time.
    The walk goes back along the flows but not past an outside party or a training set (a rate limit on
    another API that the same partner also calls, or encryption of the data a model was trained on,
    does nothing for this component)."""
    return system.memo(("in-front", comp.id), lambda: tuple(_breadth_first(system, comp)))


def _breadth_first(system: System, comp: Component) -> Iterator[Component]:
    """:func:`in_front` one at a time, nearest first (as places() wants them): the nearest of a kind is
    found without walking on to all the rest."""
    back = system.flows_into(device_answers=False)  # a limit on the API a phone calls shields the API only
    stops = _guard_stops(system)
    seen = {comp.id}
    queue = deque([comp.id])
    while queue:
        for n in back.get(queue.popleft(), ()):
            if n not in seen and n not in stops:
                seen.add(n)
                queue.append(n)
                yield system.component(n)


def front_bits(system: System, comp: Component) -> int:
    """:func:`in_front` as a bit set over positions (see :meth:`System.walk_bits`): every finding asks
    whether its mitigation's place is in front, and listing thousands of components in front of each
    component of a long chain to answer it was quadratic."""
    def compute() -> list[int]:
        back = system.flows_into(device_answers=False)
        stops = _guard_stops(system)
        index = system.positions()
        succ = [[index[n] for n in back.get(c.id, ()) if n not in stops] for c in system.components]
        return reach_sets(succ, [True] * len(succ))  # a stop is never entered, so what it relays is moot
    return system.memo("front-reach", compute)[system.position(comp.id)] & ~(1 << system.position(comp.id))


#: Controls done to a model itself (alignment while it is tuned): placed on the model an app calls, they hold
#: there for the app's findings though the model's answers come back into the app.
MODELS_OWN = frozenset({"AML.M0022"})
#: The controls that act on what passes through the component holding them (filters, limits, access checks,
#: logging of the traffic), and so guard what lies behind it. The others speak of their holder alone: one
#: model's hardening or alignment hardens no other, one agent's approvals gate no other agent's actions.
ON_THE_WAY = frozenset({"AML.M0002", "AML.M0004", "AML.M0010", "AML.M0015", "AML.M0019", "AML.M0020", "AML.M0024",
                        "AML.M0033", "AML.M0034"})
#: Access control at rest (Control Access to AI Models and Data at Rest): ATLAS names model registries as where
#: it goes, so held by every component that delivers a model's file (a registry), it is in place for the model.
AT_REST = "AML.M0005"
#: What access control where the weights rest guards against: taking or altering them there. Not checking an
#: attack on the live model, nor poisoning through its data, nor a copy shipped to devices or hardware in the
#: field, which rests there too.
AT_REST_GUARDS = frozenset({"AML.T0007", "AML.T0018", "AML.T0018.001", "AML.T0018.002", "AML.T0025", "AML.T0035",
                            "AML.T0044", "AML.T0048.004"})
#: Checks of files (signing, verification, scanning): a hub or registry that holds one checks the files that
#: come through it, but a model that holds one (``signed: true``) has checked only its own file.
FILE_CHECKS = frozenset({"AML.M0013", "AML.M0014", "AML.M0016"})
#: What a check of the weight file a registry delivers does not speak for: the framework that loads it, the
#: container it runs in, and the data it learnt from come by other ways (audit L: an update service's signature).
NOT_IN_THE_FILE = frozenset({"AML.T0010.001", "AML.T0010.002", "AML.T0010.004", "AML.T0020"})


def holder(system: System, comp: Component, target: Component, mid: str, front: int,
           technique_id: str = "") -> str | None:
    """Where mitigation ``mid`` is in place for ``comp``'s finding of ``technique_id``, or None: on the
    component itself; on the component a rule placed it on outside the query path (a training set, a
    tool); for an adversary's finding, held by any component, listed or by a field (but a model's file
    check, listed or ``signed``, speaks of that model's file only: it stops no file an adversary delivers);
    else, for a control that acts on what passes through (:data:`ON_THE_WAY`, and a file check held by
    something other than a model, :data:`FILE_CHECKS`), on the query path, and then only when every way
    in from an outside party or an unguarded start passes a component that holds it: a rate limit on one
    of two APIs in front of a model leaves the model open through the other. ``front`` is
    :func:`front_bits` of ``comp``."""
    if holds(comp, mid, technique_id) and not is_the_control(comp, mid):
        return comp.id
    if comp.kind == "adversary":
        # a query limit or output obfuscation counts only where queries pass on their way to a model
        gates = {c.id for c in query_gates(system)} if mid in AT_THE_API else None
        # held in either spelling (``rate_limited: true`` is AML.M0004 as much as the listed control is), but a
        # model's file check, listed or ``signed``, checked its own file only: no file an adversary delivers
        # and a model checks what it is shown: a deepfake detector in a verification pipeline reads no lure
        # sent to people (phishing), which a control on a channel to them would
        return next((c.id for c in system.components
                     if holds(c, mid, technique_id) and not (c.kind == "model" and mid in FILE_CHECKS)
                     and not (c.kind == "model" and mid in MODEL_AS_CONTROL and technique_id.startswith(PHISHING))
                     and (gates is None or c.id in gates)), None)
    # A tool is in front of its app only because results come back from it: a control a rule puts on the
    # tool (segmentation, a sandbox) is the tool's own, not a gate every way in must pass. A service's
    # control counts only on the way in (below): one beside or behind the model sees none of its queries.
    in_front_of_it = bool(front >> system.position(target.id) & 1)
    if mid in AT_THE_API and any(c.id == target.id for c in called_apis(system, comp)) and holds(target, mid):
        return target.id  # the API a device's app calls sees every call that costs us
    if (target.id != comp.id and target.kind != "service"
            and (not in_front_of_it or target.kind == "tool" or mid in MODELS_OWN) and holds(target, mid)):
        return target.id
    if ((mid in FILE_CHECKS and technique_id not in NOT_IN_THE_FILE)
            or (mid == AT_REST and technique_id in AT_REST_GUARDS and not shipped(comp))) and comp.kind == "model":
        delivered = _file_check(system, comp, mid)
        if delivered:  # else every way in must pass a holder, as for a filter
            return delivered
    if mid not in ON_THE_WAY and mid not in FILE_CHECKS:
        return None
    if mid in FILE_CHECKS and (comp.kind != "model" or technique_id in NOT_IN_THE_FILE):
        # a tool's or an app's files come by its own install, not through a component that checks others',
        # and a model's framework and training data not with its weight file
        return None

    answers = mid in AT_THE_API and needs_answers(technique_id)
    typed = technique_id in TYPED
    unguarded, labels = system.memo(("guard", mid, answers, typed), lambda: _guard(system, mid, answers, typed))
    at = None if comp.id in unguarded else labels.get(comp.id)
    if at == comp.id and is_the_control(comp, mid):
        at = None
    if at is None and mid in OUTPUT_GUARDS and _writes_only(comp):
        at = system.memo(("output-guard", mid, comp.id), lambda: _guarding_outputs(system, comp, mid))
    return at


#: The controls a model that decides can be (a guardrail classifier, a deepfake detector), listed on it as the
#: docs say: it then guards what lies behind it, not itself. A detector does not stop its own evasion.
MODEL_AS_CONTROL = frozenset({"AML.M0020", "AML.M0034"})


def is_the_control(comp: Component, mid: str) -> bool:
    """Whether ``comp`` is itself control ``mid`` (see :data:`MODEL_AS_CONTROL`): a model that decides rather
    than writes, listing it. A generative model listing guardrails has them around it, and they count for it."""
    # a voice or face matcher that lists deepfake detection has it built in (a liveness check): it counts for it
    return (mid in MODEL_AS_CONTROL and comp.kind == "model" and mid in comp.controls
            and comp.get("task") not in ("generation", "translation", None)
            and comp.properties.get("verifies_identity") is not True)


def _file_check(system: System, model: Component, mid: str) -> str | None:
    """For a file check of ``model``'s weights (or access control where they rest): the holder among the
    components that deliver its file when
    every one of them holds it, else None. What delivers a file feeds the model straight: a vendor or partner
    (a hub), or an internal service that answers nothing (a registry). A user's queries carry no weights, so
    a public API in front is no way around a hub's scan."""
    delivering = deliverers(system, model)
    held = [c for c in delivering if holds(c, mid)]
    return held[0].id if held and len(held) == len(delivering) else None


def deliverers(system: System, model: Component) -> list[Component]:
    """What delivers ``model``'s file: a vendor or partner feeding it straight (a hub), or an internal service
    that answers nothing and that no outside party feeds (a registry; a camera's feed carries the scene, not
    weights)."""
    sources = [system.component(a) for a in system.flows_into().get(model.id, ())]
    return [c for c in sources if (c.kind == "external" and c.get("actor") in ("vendor", "partner"))
            or (c.kind == "service" and c.get("returns") == "none" and c.get("audience") == "internal"
                and not system.fed_by_outside(c.id))]


#: Controls that also act on what a model writes (a guardrail after a generator, filtering its images).
OUTPUT_GUARDS = frozenset({"AML.M0020"})


def _writes_only(comp: Component) -> bool:
    """A generator, or an LLM app with no tools: what an attack on it achieves is what it writes, so a check
    on its way out stops it. An agent acts through its tools before any answer is checked."""
    return (comp.kind == "model" and comp.get("task") in ("generation", "translation")) or (
        comp.kind == "llm-app" and not comp.get("tools"))


def _guarding_outputs(system: System, comp: Component, mid: str) -> str | None:
    """The holder of ``mid`` that everything ``comp`` writes passes before it leaves the system (reaches an
    outside party or a service that answers its callers), or None: a way out passes none, or none is drawn."""
    forward: dict[str, list[str]] = system.memo("guard-flows", lambda: _inference_flows(system))[0]
    if comp.id in system.memo(("output-unguarded", mid), lambda: _leaks_unchecked(system, mid, forward)):
        return None  # answered once per mitigation: a walk per generator was quadratic on a long chain
    seen, todo, holders = {comp.id}, [comp.id], []
    while todo:
        for n in forward.get(todo.pop(), ()):
            if n in seen:
                continue
            seen.add(n)
            node = system.component(n)
            if holds(node, mid):
                holders.append(n)
            elif node.kind == "external" or (node.kind == "service" and node.get("returns") != "none"):
                return None  # out, unchecked
            else:
                todo.append(n)
    return holders[0] if holders else None


def _leaks_unchecked(system: System, mid: str, forward: dict[str, list[str]]) -> frozenset[str]:
    """The components from which some way out of the system (an outside party, a service that answers) is
    reached without passing a holder of ``mid``: one walk back from those exits."""
    back: dict[str, list[str]] = {}
    for a, targets in forward.items():
        for b in targets:
            back.setdefault(b, []).append(a)
    held = {c.id for c in system.components if holds(c, mid)}
    exits = [c.id for c in system.components if c.id not in held
             and (c.kind == "external" or (c.kind == "service" and c.get("returns") != "none"))]
    found, todo = set(exits), list(exits)
    while todo:
        for n in back.get(todo.pop(), ()):
            if n not in found and n not in held:
                found.add(n)
                todo.append(n)
    return frozenset(found)


#: The techniques a control held by a field alone (ALSO_HOLDS) is held against: a checked signature on
#: the weights is code signing of the weights, against changing the file after it was signed (a layer
#: added, malware embedded); against poisoning (AML.T0018.000) it is held but stops nothing (weights trained
#: on poisoned data, or poisoned by whoever published them, are signed as they are: see _idle's
#: HELD_BUT_IDLE), so the report says so rather than advising a signature the model already has.
ALSO_FOR = ("AML.T0018", "AML.T0018.000", "AML.T0018.001", "AML.T0018.002")


def holds(comp: Component, mid: str, technique_id: str = "") -> bool:
    """Whether ``comp`` holds mitigation ``mid``: in its controls, or by a field that says the same thing
    (``rate_limited: true`` on a service is AML.M0004, ``autonomy: human-approval`` AML.M0029, ``signed:
    true`` on a model AML.M0014, and AML.M0013 against changed weights, ``technique_id`` in
    :data:`ALSO_FOR`, not against poisoning or a tampered framework)."""
    if mid in comp.controls:
        return True
    if any(m == mid and comp.kind == kind and comp.get(name) == value
           for (kind, name, value), m in IMPLIED_CONTROLS.items()):
        return True
    return technique_id in ALSO_FOR and any(
        m == mid and comp.kind == kind and comp.get(name) == value for (kind, name, value), m in ALSO_HOLDS.items())


#: The techniques that learn from a model's answers (extraction, inversion, membership, a copy trained on its
#: replies): an endpoint that hands nothing back is no way to them around a query limit.
ANSWERED = ("AML.T0024", "AML.T0005")
#: The techniques done on weights in hand, on a stand-in or on published artifacts, which ask our model
#: nothing: white-box optimisation, a transfer attack, a proxy from gathered artifacts or a downloaded model.
ASKS_NOTHING = frozenset({"AML.T0043.000", "AML.T0043.002", "AML.T0005.000", "AML.T0005.002"})


def needs_answers(technique_id: str) -> bool:
    """Whether the technique learns from the model's answers (see :data:`ANSWERED`)."""
    return any(technique_id == t or technique_id.startswith(t + ".") for t in ANSWERED) \
        and technique_id not in ASKS_NOTHING


#: What an adversary types to an app (a direct injection, a jailbreak, crafting and probing its prompt): its ways
#: in are those a message comes by, so a filter every question passes guards against it, whatever else the app
#: retrieves unscreened (that is indirect injection's way, and its finding's).
TYPED = frozenset({"AML.T0051.000", "AML.T0054", "AML.T0056", "AML.T0065", "AML.T0068", "AML.T0069",
                   "AML.T0069.000", "AML.T0069.001", "AML.T0069.002"})


def _guard(system: System, mid: str, answers: bool = False,
           typed: bool = False) -> tuple[frozenset[str], dict[str, str]]:
    """For mitigation ``mid``, over the inference-time flows (none leaving a training set): the
    components some way in reaches without passing a holder (from an outside party or a component
    nothing feeds), and for every component a holder reaches, one such holder. Two passes over the
    flows per mitigation, however many findings ask: a walk per finding was quadratic on a long chain.
    With ``answers`` (a query control against a technique that learns from replies), an endpoint that
    answers nothing is no way in; with ``typed`` (against what is typed to an app, :data:`TYPED`), as for a
    query control, only the ways a message comes by count."""
    held = {c.id for c in system.components if holds(c, mid) and (mid in ON_THE_WAY or c.kind != "model")}
    if not held:
        return frozenset(c.id for c in system.components), {}
    every, fed = system.memo("guard-flows", lambda: _inference_flows(system))
    # The ways in are walked over the flows not marked trusted: what crosses a trusted flow (our staff's lessons
    # read by a lookup tool) is no adversary's, so it is no way in that a filter must see. What a holder
    # guards is walked over every flow: a trusted hop behind the guardrail still carries what it let through.
    forward = system.memo("guard-flows-untrusted", lambda: _inference_flows(system, untrusted_only=True)[0])
    # A store nothing feeds is a way in for content (an input filter must see it), but not for queries:
    # a query limit or output obfuscation at the API is bypassed only by another way to ask.
    queries_only = mid in AT_THE_API or typed
    # An outside party is where content starts or ends, not a relay; for a query limit, a store (or a
    # crawler's output resting in one) passes content on, not queries.
    outside = system.outside()
    # Nor, against what learns from replies, is an endpoint that answers nothing (a seller's upload portal, a
    # weights registry): who sends through it sees no reply, so it is no way around the limit on those that do.
    stores = {c.id for c in system.components if c.kind in STORES
              or (answers and c.kind == "service" and c.get("returns") == "none")} if queries_only else set()
    # A start is where content comes from that no flow describes: an outside party, or a component nothing
    # feeds. Not one fed only its training data (a voice encoder trained on uploads): what it hands on at
    # inference it learned, and the data's own ways in are the poisoning findings' concern.
    fed_at_all = system.memo("fed-by-any-flow", lambda: frozenset(f.target for f in system.flows))
    starts = [c.id for c in system.components
              if c.id not in held and (c.kind == "external" or (c.id not in fed and c.id not in fed_at_all))
              and c.id not in stores]
    # a model several apps call answers each alone: an unguarded app's words do not reach a guarded sibling
    unguarded = answered_walk(system, starts, forward, stops=outside, skip=held | stores)
    labels: dict[str, str] = {}
    queue = deque(sorted(held, key=system.position))
    for h in queue:
        labels[h] = h
    while queue:
        node = queue.popleft()
        for n in every.get(node, ()):
            if n not in labels:
                labels[n] = labels[node]
                if n not in outside:
                    queue.append(n)
    return frozenset(unguarded), labels


def _inference_flows(system: System, untrusted_only: bool = False) -> tuple[dict[str, list[str]], frozenset[str]]:
    """The flows that carry content at inference time (none leaves a training set), as successor
    lists, and the components some such flow feeds; the same for every mitigation."""
    forward: dict[str, list[str]] = {}
    for a, b, trusted in system.edges():
        if not is_training_data(system.component(a)) and not (untrusted_only and trusted):
            forward.setdefault(a, []).append(b)
    return forward, frozenset(b for targets in forward.values() for b in targets)
