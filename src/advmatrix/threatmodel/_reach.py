"""Where the described adversaries can start, what their steps give them, and what they are after.

An attack path begins with an entry technique (reconnaissance, resource development, initial access,
AI model access); when the description names adversaries and what they can reach, each path is one
adversary's: it begins with a technique found on that adversary or on a component within its reach
(:func:`adversary_reach`), each step that takes a kind of access (:data:`NEEDS`) has it from the start
or from an earlier step that gives it (:data:`GAINS`: phished credentials open accounts, an exploited
app is a foothold), and it ends, where the prediction allows, in a technique that serves one of the
adversary's goals (:data:`GOAL_ENDS`). Valid accounts on an internal chat are no first step for
someone who can only plant web pages: they would have to phish the accounts first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from .system import Component, System, is_training_data

__all__ = ["GAINS", "GETS_PAST", "GOAL_ENDS", "NEEDS", "PLANTED_BY_QUERY", "SENDS_INPUTS", "STEERED", "STEERS",
           "WHOLE_SYSTEM", "adversary_access", "adversary_reach", "can_take", "family", "goal_serves", "got_past",
           "needs", "stored_by_query"]

#: Access that reaches every component: an employee, a foothold on the hosts, or whatever the system
#: takes in (models, data, packages, tools) can sit anywhere in it.
WHOLE_SYSTEM = frozenset({"insider", "network", "supply-chain"})
#: Outside sources of content: what a store or data set built from them holds, outsiders wrote.
_OUTSIDE_SOURCES = frozenset({"scraped", "user-submitted", "public"})
_SENSING = frozenset({"image", "audio", "multimodal"})
#: Entry techniques that take one kind of access wherever they are found (sub-techniques included): a
#: compromised supply chain needs a hand in what the system takes in, valid accounts need credentials (an
#: adversary who opens their own account is opening accounts, AML.T0021), a physical change needs the
#: scene, a drive-by needs a page the system opens.
NEEDS: dict[str, frozenset[str]] = {
    "AML.T0010": frozenset({"supply-chain", "insider"}),
    "AML.T0012": frozenset({"account", "insider", "network"}),
    "AML.T0041": frozenset({"physical", "insider"}),
    # a package we install is one its publisher put on an index we pull from: a hand in the supply chain
    "AML.T0011.001": frozenset({"supply-chain", "insider", "network"}),
    "AML.T0078": frozenset({"content"}),
    # querying the model, or using the product, needs a way to send it inputs
    "AML.T0040": frozenset({"query", "account", "insider", "network"}),
    "AML.T0047": frozenset({"query", "account", "insider", "network"}),
    # evading a model is done with the inputs it is shown: a hand in the supply chain sends it none
    "AML.T0015": frozenset({"query", "account", "content", "physical", "insider", "network"}),
    # the weights themselves: from inside, from the supply chain, or from hardware in hand
    "AML.T0044": frozenset({"insider", "network", "supply-chain", "physical"}),
    # what sits on our machines is found, gathered and carried off from a foothold or from inside (an
    # account on an app reaches what the app shows, not its files); a repository also by its accounts
    "AML.T0007": frozenset({"insider", "network"}),
    "AML.T0035": frozenset({"insider", "network", "physical"}),
    "AML.T0037": frozenset({"insider", "network", "physical"}),
    "AML.T0025": frozenset({"insider", "network"}),
    "AML.T0036": frozenset({"account", "insider", "network"}),
    # command and control through an AI service's API: their code already runs on our machines
    "AML.T0096": frozenset({"insider", "network"}),
    # text planted where the system later reads it (a page, a ticket, a document), not typed to it: the
    # victim's session then carries it, and a rendered link sends the victim's data out
    "AML.T0051.001": frozenset({"content", "insider", "network", "supply-chain"}),
    "AML.T0093": frozenset({"content", "insider", "network"}),
    "AML.T0077": frozenset({"content", "insider", "network"}),
    # changing a model: its files from a hand in the supply chain or a foothold, or (poisoning) through the
    # data it learns from; a caller of a vendor's speech model holds neither
    "AML.T0018": frozenset({"supply-chain", "insider", "network", "content"}),
    "AML.T0018.001": frozenset({"supply-chain", "insider", "network"}),
    "AML.T0018.002": frozenset({"supply-chain", "insider", "network"}),
    # training data is poisoned by whoever writes it or supplies it, not by a caller whose queries go nowhere near it
    "AML.T0020": frozenset({"content", "insider", "network", "supply-chain"}),
}
#: Of those, the ones that send the component inputs: taken only on a component the adversary's access reaches.
SENDS_INPUTS = frozenset({"AML.T0040", "AML.T0047"})
#: Of those, the ones a user's queries can do too, where what they send comes to rest in a store or data set
#: that the component then reads (a chat whose messages become tickets a second app summarises; calls kept
#: as the training set of the model that flags them).
PLANTED_BY_QUERY = frozenset({"AML.T0051.001", "AML.T0093", "AML.T0077", "AML.T0018", "AML.T0018.000", "AML.T0020"})
#: Techniques on artifacts that ship in an app on people's devices: anyone who installs it holds them.
_ON_DEVICE_ANYONE = frozenset({"AML.T0044", "AML.T0035", "AML.T0037"})
#: What a step gives the adversary for the steps after it (sub-techniques included): credentials
#: phished, harvested or dumped open accounts; code of theirs run on our machines (an exploited app, a
#: drive-by, a tampered supply chain, an artifact or a script run) is a foothold on the network; an
#: account of their own opened where sign-up is open lets them query what it reaches.
GAINS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("AML.T0012", "AML.T0052", "AML.T0055", "AML.T0082", "AML.T0083", "AML.T0090", "AML.T0098",
                     "AML.T0106"), frozenset({"account"})),
    **dict.fromkeys(("AML.T0049", "AML.T0078", "AML.T0010", "AML.T0011", "AML.T0050"), frozenset({"network"})),
    # a link someone clicks in a reply sends their data out with the request; it runs nothing of the adversary's
    "AML.T0011.003": frozenset(),
    "AML.T0021": frozenset({"query"}),
}
#: Techniques that, found on an LLM app, turn the app's own replies against its users (its answers become
#: phishing, or speak in someone's name): a path takes them there only after a step that steers the app
#: (:data:`STEERS`), not as a way in of their own.
STEERED: frozenset[str] = frozenset({"AML.T0052", "AML.T0073"})
#: Steps that put the adversary's words into an LLM app's replies: injection, jailbreak, poisoned
#: retrieval or context, planted prompts, poisoned tool data.
STEERS: frozenset[str] = frozenset({"AML.T0051", "AML.T0054", "AML.T0070", "AML.T0071", "AML.T0080", "AML.T0093",
                                    "AML.T0099"})
#: The controls a defence-evasion step gets past: a prompt hidden from filters and detectors (AML.T0068) passes
#: guardrails and adversarial-input detection, a model file corrupted to break scanners (AML.T0076) the scan.
#: A step after one of these is not stopped by what it got past (audit T: every path of a chat behind a
#: filter was drawn stopped by the filter, the steps after obfuscating the prompt included).
GETS_PAST: dict[str, frozenset[str]] = {"AML.T0068": frozenset({"AML.M0020", "AML.M0015"}),
                                        "AML.T0076": frozenset({"AML.M0016"})}


def got_past(earlier: Iterable[str]) -> frozenset[str]:
    """The controls the ``earlier`` steps of a path got past (:data:`GETS_PAST`)."""
    return frozenset().union(*(GETS_PAST.get(t, frozenset()) for t in earlier))


#: The impact and exfiltration techniques that serve each goal an adversary can state (a technique
#: listed serves with its sub-techniques). A path of an adversary who states goals ends in one of these
#: where the prediction has one: a ransom crew's path ends in denial of service, not in a leak.
GOAL_ENDS: dict[str, frozenset[str]] = {
    "evade": frozenset({"AML.T0015"}),
    "steal-model": frozenset({"AML.T0024.002", "AML.T0048.004", "AML.T0025"}),
    "steal-data": frozenset({"AML.T0024", "AML.T0025", "AML.T0056", "AML.T0057", "AML.T0077", "AML.T0086"}),
    "fraud": frozenset({"AML.T0048.000", "AML.T0015", "AML.T0034"}),
    "disrupt": frozenset({"AML.T0029", "AML.T0046", "AML.T0034", "AML.T0101", "AML.T0031", "AML.T0059",
                          "AML.T0112"}),
    # harm done with the system's output or abilities: not the model's theft (AML.T0048.004), which is steal-model's
    "misuse": frozenset({"AML.T0048.001", "AML.T0048.002", "AML.T0048.003", "AML.T0034"}),
    "manipulate": frozenset({"AML.T0031", "AML.T0059", "AML.T0015", "AML.T0048.001", "AML.T0048.002",
                             "AML.T0048.003"}),
    "impersonate": frozenset({"AML.T0015", "AML.T0048.000", "AML.T0048.001", "AML.T0048.003"}),
    "embarrass": frozenset({"AML.T0048.001", "AML.T0048.002"}),
    "compromise": frozenset({"AML.T0112", "AML.T0025", "AML.T0086", "AML.T0101"}),
}


def family(technique_id: str) -> str:
    """A sub-technique's parent ID (``AML.T0010.003`` → ``AML.T0010``); a technique's own."""
    return technique_id if technique_id.count(".") < 2 else technique_id.rsplit(".", 1)[0]


def needs(system: System, technique_id: str, components: Iterable[str]) -> frozenset[str] | None:
    """The kinds of access one of which a technique found on ``components`` takes (:data:`NEEDS`);
    ``None`` when any adversary may take it. Weights inside an app on people's devices are anyone's."""
    need = NEEDS.get(technique_id) or NEEDS.get(family(technique_id))
    if need is not None and technique_id in _ON_DEVICE_ANYONE and any(
            system.component(c).get("properties", {}).get("on_device") is True for c in components):
        need = need | {"public", "query", "account"}
    return need


def can_take(system: System, technique_id: str, components: Iterable[str], access: frozenset[str],
             reach: frozenset[str] | None) -> bool:
    """Whether an adversary with ``access`` (reaching ``reach``) can take a technique found on
    ``components``: it needs none of :data:`NEEDS`, or one the adversary has, or it plants text a user's
    queries can plant (:data:`PLANTED_BY_QUERY`) where they come to rest in a store the component reads."""
    components = list(components)
    need = needs(system, technique_id, components)
    if family(technique_id) in SENDS_INPUTS and need is not None and need & access and reach is not None:
        # a way to send inputs must lead to the model: a query that lands in its training set does not
        return any(c in reach for c in components)
    return need is None or bool(need & access) or (
        technique_id in PLANTED_BY_QUERY and "query" in access
        and stored_by_query(system, components, reach, training=technique_id in _LEARNED_FROM))


#: Of :data:`PLANTED_BY_QUERY`, those a query plants only in what the model learns from: enrolment
#: templates or a lookup store it reads at inference poison no weights.
_LEARNED_FROM = frozenset({"AML.T0018", "AML.T0018.000", "AML.T0020"})


def stored_by_query(system: System, components: Iterable[str], reach: frozenset[str] | None,
                    training: bool = False) -> bool:
    """Whether one of ``components`` is, or reads (one flow back), a store or data set that a query reaches:
    what the adversary sends rests there until the component reads it; with ``training``, a training set."""
    if reach is None:
        return True
    held = system.memo(("held", training), lambda: frozenset(
        c.id for c in system.components
        if (is_training_data(c) if training else c.kind in ("dataset", "retrieval-store"))))
    back = system.flows_into()
    return any(s in reach and s in held for c in components for s in (c, *back.get(c, ())))


def goal_serves(technique_id: str, goals: Iterable[str]) -> bool:
    """Whether a goal technique serves one of ``goals`` (see :data:`GOAL_ENDS`)."""
    return any(technique_id in GOAL_ENDS[g] or family(technique_id) in GOAL_ENDS[g] for g in goals)


def adversary_access(system: System, adversary: Component | None = None) -> frozenset[str]:
    """Every kind of access the system's adversaries have, together, or ``adversary``'s alone (empty:
    none says)."""
    who = system.of_kind("adversary") if adversary is None else (adversary,)
    return frozenset(a for adv in who for a in adv.get("access") or ())


def adversary_reach(system: System, adversary: Component | None = None,
                    access: frozenset[str] | None = None) -> frozenset[str] | None:
    """The ids of the components the system's adversaries can act on first, the adversaries included;
    ``None`` (no limit) when the description names no adversary or none says what it can reach. With
    ``adversary``, that one's reach alone; with ``access``, the reach that access would give (what an
    adversary has once a step gave them more, :data:`GAINS`).

    - ``insider``, ``network``, ``supply-chain``: every component.
    - ``public`` (public information only): the public services, for what they show.
    - ``query``: what a caller's inputs reach from an outside party (over a flow not marked trusted) or a
      public service, not into a partner or internal service straight from an outside party (a public
      service passing their input on to one is their way in); ``account`` lets them into those too.
    - ``content``: what content read from outside reaches over flows not marked trusted, starting at an
      outside party other than a user (mail from the internet, a partner's files) or a store, data set or
      tool that outsiders write, that is built from scraped, public or user-submitted sources, that
      browses, or that an outside party feeds.
    - ``physical``: models that sense images or audio (or say ``properties.physical``), and what they feed.
    """
    adversaries = system.of_kind("adversary") if adversary is None else (adversary,)
    access = adversary_access(system, adversary) if access is None else access
    if not access:
        return None
    return system.memo(("adversary-reach", tuple(a.id for a in adversaries), access),
                       lambda: _reach(system, adversaries, access))


def _reach(system: System, adversaries: Iterable[Component], access: frozenset[str]) -> frozenset[str]:
    if access & WHOLE_SYSTEM:
        return frozenset(c.id for c in system.components)
    reach = {adv.id for adv in adversaries}
    # weights shipped in an app are anyone's who installs it, whatever else they reach
    reach |= {c.id for c in system.of_kind("model") if c.properties.get("on_device") is True}
    services = ("public", "partner", "internal") if "account" in access else ("public",)
    if "public" in access:
        reach |= {c.id for c in system.of_kind("service") if c.get("audience") == "public"}
    if access & {"query", "account"}:
        # from an outside party, only over a flow not marked trusted: staff whose messages we trust are
        # not the adversary, so a query does not come in their way; nor does it come in as a vendor's or
        # (without an account) a partner's delivery
        senders = ("user", "internet", "other", None) + (("partner",) if "account" in access else ())
        # a query that lands in a training set (feedback, ratings) reaches the model only by retraining:
        # the set is theirs to shape, the model is no more theirs to query
        # A partner's or staff's service is closed to them as callers, not as a hop: what a public service
        # passes on to an internal one behind it (an mTLS scoring microservice) is still their query.
        outside = system.outside()
        reach |= _forward(system, [c for c in system.components if (c.kind == "external" and c.get("actor") in senders)
                                   or (c.kind == "service" and c.get("audience") in services)],
                          lambda here, c: here in outside and c.kind == "service" and c.get("audience") not in services,
                          trusted_outside=False, stop=is_training_data)
    if "content" in access:
        outside = system.outside()
        fed = {b for a, b, trusted in system.edges() if a in outside and not trusted}
        # besides the stores and tools outsiders fill, a party that sends content in (mail from the
        # internet, a partner's files); a user typing to a service is a query, not placed content
        senders = [c for c in system.of_kind("external") if c.get("actor") != "user"]
        reach |= _forward(system, [*senders, *(c for c in system.components if _takes_outside_content(c, fed))],
                          untrusted_only=True)
    if "physical" in access:
        reach |= _forward(system, [c for c in system.of_kind("model")
                                   if c.get("modality") in _SENSING or c.get("properties", {}).get("physical") is True])
    return frozenset(reach)


def _takes_outside_content(comp: Component, fed: set[str]) -> bool:
    """A store, data set or tool whose content outsiders write: by who writes it, what it browses, what it
    is built from, or an outside party's flow into it (``fed``: the ids such a flow reaches)."""
    if comp.kind not in ("dataset", "retrieval-store", "tool"):
        return False
    if comp.get("writers") in ("public", "partner") or comp.get("browses") is True:
        return True
    return bool(_OUTSIDE_SOURCES.intersection(comp.get("sources") or ())) or comp.id in fed


def _forward(system: System, starts: Iterable[Component], blocked: Callable[[str, Component], bool] | None = None,
             *, untrusted_only: bool = False, trusted_outside: bool = True,
             stop: Callable[[Component], bool] | None = None) -> set[str]:
    """The starts and every component their content reaches, without entering one ``blocked`` from where the
    walk is (``blocked(here, there)``) or passing
    through an outside party (a source or a sink, never a relay) or a ``stop`` one (entered, not passed);
    without ``trusted_outside``, a trusted flow out of an outside party is not followed."""
    # By hand, not System.downstream_of: that walk cannot be told to stop at a service of the wrong audience.
    outside = system.outside()
    nxt: dict[str, list[str]] = {}
    for a, b, trusted in system.edges():
        if not (trusted and (untrusted_only or (not trusted_outside and a in outside))):
            nxt.setdefault(a, []).append(b)
    starts = list(starts)
    seen = {c.id for c in starts}
    queue = deque(seen)
    while queue:
        here = queue.popleft()
        for there in nxt.get(here, ()):
            # an outside party starts a walk but relays nothing it receives
            if there in seen or there in outside or (blocked and blocked(here, system.component(there))):
                continue
            seen.add(there)
            if not (stop and stop(system.component(there))):
                queue.append(there)
    # and only what the system's own walk reaches: a model two callers share answers each its own (a walk
    # per start, so only where some component is shared)
    if not system.shared():
        return seen
    walked = {c.id for st in starts for c in system.downstream_of(st, untrusted_only=untrusted_only)}
    return seen & (walked | {c.id for c in starts})
