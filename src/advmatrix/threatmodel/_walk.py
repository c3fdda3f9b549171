"""Walking an attack path on a system: which components each step is taken on, for whom, and when a
chain of learned moves is no walk at all (a harm before a way in, a trigger no one planted).

Public through :mod:`advmatrix.threatmodel.paths` (``walker``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .predict import Prediction
    from .system import Component, System

__all__ = ["BLACK_BOX", "CONSEQUENCES", "DRIVES", "EVADE", "PLANTS", "TAKEN", "THROUGH_TOOLS", "TRIGGER",
           "WEIGHTS_IN_HAND", "WHITE_BOX", "Walk", "topology", "walker"]

#: The components each step of a path is taken on, or ``None`` (see :func:`walker`).
Walk = Callable[[tuple[str, ...]], "tuple[tuple[str, ...], ...] | None"]
#: External harms are consequences (money lost, users hurt), not steps through the system: a path whose
#: only steps on the system are such harms shows no way in.
CONSEQUENCES = frozenset({"AML.T0048"})


def walker(system: System, prediction: Prediction, reach: frozenset[str] | None = None,
           adversary: Component | None = None) -> Walk:
    """For a path, the components each step is taken on when the path can be walked on the system as a
    whole; ``None`` where it cannot. It has a step on a component of the system that is not only an
    external harm (the adversary's own phishing, then user harm, shows no way through the system), and
    some component of each step's is joined to some component of the next one's, the same one carrying
    on. Moves checked
    one by one let a technique found on two unconnected components join them (one model's weights, then
    harm done through an agent on the far side of the system). With ``reach`` (see
    :func:`._reach.adversary_reach`) the path starts on a component the adversary reaches, and a step
    from the adversary's own lands on one.

    With ``adversary`` the walk is that adversary's: another adversary's own steps are not theirs, the
    reach is theirs (``reach`` is not read), and a step that takes a kind of access (:data:`._reach.NEEDS`)
    needs it from their ``access`` or from an earlier step that gave it (:data:`._reach.GAINS`), which
    widens the reach for the steps after it. An LLM app's replies become phishing (:data:`._reach.STEERED`)
    only after a step that steers the app (:data:`._reach.STEERS`), and so does a model only such apps feed."""
    from ._reach import GAINS, STEERED, STEERS, adversary_access, adversary_reach, can_take, family

    near, adversaries, on = topology(system, prediction)
    # a hedge is a step only where its harm is found outright nowhere (a goal of last resort, system_paths)
    on = {t: {c for c in cs if not prediction.hedged(t, c) or t in prediction.hedged_ids} for t, cs in on.items()}
    access: frozenset[str] = frozenset()
    if adversary is not None:
        others = adversaries - {adversary.id}
        adversaries = {adversary.id}
        # nor a finding that stands only because another adversary wants it (their theft of a model)
        on = {t: {c for c in cs - others if prediction.open_to(t, c, adversary.id)} for t, cs in on.items()}
        reach, access = adversary_reach(system, adversary), adversary_access(system, adversary)
    white_box = adversary is not None and adversary.get("knowledge") == "white-box"
    # a model only LLM apps feed (an app's text-to-speech voice) says what the app says: it speaks for an
    # adversary only once the app is steered (audit W: a caller drawn impersonating people through our voice)
    into = system.flows_into()
    voices = {c.id for c in system.of_kind("model")
              if into.get(c.id) and all(system.component(a).kind == "llm-app" for a in into[c.id])}

    def walk(ids: tuple[str, ...]) -> tuple[tuple[str, ...], ...] | None:
        if all(on.get(t, set()) <= adversaries for t in ids):
            return None  # the adversary's own steps alone (phishing, then harm) say nothing of the system
        have, where = access, reach
        start = on.get(ids[0], set())
        here = start if where is None else start & (where | adversaries)
        steps: list[set[str]] = []
        for i, t in enumerate(ids):
            if i:
                there = on.get(t, set())
                if here & adversaries:  # the adversary meets the whole system, or as much as it reaches
                    here = set(there) if where is None else there & (where | adversaries)
                else:
                    # the neighbours of all at once: testing each pair was quadratic on a star of 5,000 models
                    joined = set().union(*(near[x] for x in here))
                    here = there & (joined | adversaries)
            if family(t) in STEERED and not any(family(u) in STEERS for u in ids[:i]):
                here = {c for c in here if system.component(c).kind != "llm-app" and c not in voices}
            if (family(t) in CONSEQUENCES or family(t) in THROUGH_TOOLS) \
                    and not any(family(u) in STEERS or family(u) in DRIVES for u in ids[:i]):
                # harm done through an LLM app or its tools is done by steering it, or by holding its strings
                here = {c for c in here if system.component(c).kind not in ("llm-app", "tool")}
            if t == EVADE and i == len(ids) - 1 and adversary is not None:
                here = {c for c in here if _evading_serves(system.component(c), adversary)}
            if t == TRIGGER and not any(u in PLANTS or family(u) in PLANTS for u in ids[:i]) \
                    and not access & {"supply-chain", "insider", "network"}:
                return None  # a trigger no earlier step planted, and no hand where one could be
            if t == WHITE_BOX and access and not any(u in WEIGHTS_IN_HAND for u in ids[:i]) \
                    and not access & {"supply-chain", "insider", "network"} and not white_box:
                here = {c for c in here if _weights_public(system.component(c))}
            if t in BLACK_BOX:  # not on a model whose own weights an earlier step put in their hands
                here = here - set().union(*(cs for u, cs in zip(ids[:i], steps, strict=False) if u in TAKEN))
            if not here:
                return None
            if access:  # only a described access limits the steps
                if not can_take(system, t, here, have, where):
                    return None
                gain = GAINS[t] if t in GAINS else GAINS.get(family(t), frozenset())
                if not gain <= have:
                    have = have | gain
                    where = adversary_reach(system, adversary, have)
            steps.append(here)
        if all(family(t) in CONSEQUENCES for t, cs in zip(ids, steps, strict=True) if cs - adversaries):
            return None
        if any(family(t) in CONSEQUENCES and not cs - adversaries for t, cs in zip(ids[:-1], steps, strict=False)):
            # a harm found only on the adversary (they are after money) marks where a path ends: as a step on
            # the way it joins anything to anything (money taken, then inputs crafted)
            return None
        on_system = [(t, cs - adversaries) for t, cs in zip(ids, steps, strict=True)
                     if cs - adversaries and family(t) not in CONSEQUENCES]
        if any(family(t) in STEERED for t, _ in on_system) and all(
                system.component(c).kind == "service" for _, cs in on_system for c in cs):
            # a lure a service hands on and the harm it does take no step on the AI, nor do accounts opened there
            # first: mail fraud through a gateway is no attack on its spam model (audits P, Q, U drew it as the
            # top path), a sock-puppet review none on the summariser (audit W)
            return None
        if adversary is not None and EVADE in ids[:-1]:
            i = ids.index(EVADE)
            if all(not cs - adversaries for cs in steps[i + 1:]) and not any(
                    _evading_serves(system.component(c), adversary) for c in steps[i] - adversaries):
                # what follows the evasion is the adversary's own (posing as someone, being paid): the evasion
                # is where the path lands, so it must serve their goals as a last step would (audit W: fooling
                # a speech-to-text model that checks no one was drawn as impersonation, then fraud)
                return None
        if not steps[-1] - adversaries and family(ids[-1]) not in CONSEQUENCES:
            # the goal is the adversary's own finding alone (their wish to flood us, found on no service): the
            # path does not show where the impact lands; harm to people outside (AML.T0048) lands outside
            return None
        return tuple(tuple(sorted(cs, key=system.position)) for cs in steps)
    return walk


#: Besides the steps that steer an LLM app (:data:`._reach.STEERS`), those that drive it: its tools invoked,
#: its supply chain, model or data tampered with, a user's account taken over to ask it.
DRIVES = frozenset({"AML.T0053", "AML.T0010", "AML.T0018", "AML.T0020", "AML.T0012", "AML.T0011", "AML.T0050"})
#: What an LLM app's tools do for whoever steers or drives it (credentials searched for, data collected, sent
#: out or destroyed): like harm, a path takes these on the app or its tools only after such a step (audit O:
#: a screening model fooled was drawn as the recruiting agent's tools handed over). In every even case study
#: that used one, an injection or a planted prompt came first.
THROUGH_TOOLS = frozenset({"AML.T0098", "AML.T0085", "AML.T0086", "AML.T0101"})


#: Evading a model, as a goal: it serves evading or manipulating anywhere, but impersonating someone only
#: where the model checks who people are, and fraud only where it moves money or checks who they are
#: (audit O: passing a recruiting bot's pre-screen was drawn as impersonation and fraud).
EVADE = "AML.T0015"


def _evading_serves(comp: Component, adversary: Component) -> bool:
    """Whether evading ``comp`` ends a path for ``adversary``'s goals (see :data:`EVADE`)."""
    goals = set(adversary.get("goals") or ())
    if not goals or goals & {"evade", "manipulate"} or comp.kind == "adversary":
        return True
    identity = comp.properties.get("verifies_identity") is True
    return identity or ("fraud" in goals and comp.properties.get("financial") is True)


#: Presenting a planted trigger, and the steps that plant one (poisoned data or weights, a published or
#: supplied model): an adversary with no hand in the supply chain and no foothold presents one only after.
TRIGGER = "AML.T0043.004"
PLANTS = frozenset({"AML.T0018", "AML.T0020", "AML.T0010.003", "AML.T0058", "AML.T0019"})
#: White-box optimisation, and the steps that put weights in the adversary's hands (the model itself, its
#: files collected or carried off, a public copy, or a copy made from its answers): an adversary who does not
#: know the model inside out (``knowledge: white-box``) and has no foothold takes it only after one, or on
#: weights anyone holds (shipped to people's devices, or published): a model on robots in the street is
#: theirs to optimise against once they took one.
WHITE_BOX = "AML.T0043.000"
WEIGHTS_IN_HAND = frozenset({"AML.T0044", "AML.T0035", "AML.T0025", "AML.T0048.004", "AML.T0002.001",
                             "AML.T0024.002"})

#: Black-box optimisation and transfer from a stand-in, and the steps that take the model's own weights (not a
#: public base or a copy made from its answers, both stand-ins): with the weights in hand the attack is white-box.
BLACK_BOX = frozenset({"AML.T0043.001", "AML.T0043.002"})
TAKEN = WEIGHTS_IN_HAND - {"AML.T0002.001", "AML.T0024.002"}


def _weights_public(comp: Component) -> bool:
    """Weights anyone holds: shipped in an app on people's devices, released as open weights, or a hub model
    deployed as published."""
    return comp.properties.get("on_device") is True or comp.properties.get("published") is True or (
        (comp.get("trained_by") == "open-source" or comp.get("source") in ("huggingface", "model-hub"))
        and comp.get("fine_tuned") is False)


def topology(system: System, prediction: Prediction
              ) -> tuple[dict[str, set[str]], set[str], dict[str, set[str]]]:
    """Each component with those a flow or a tool list joins it to (itself included), the adversaries,
    and each predicted technique's components."""
    near: dict[str, set[str]] = {c.id: {c.id} for c in system.components}
    for a, b, _ in system.edges():
        near[a].add(b)
        near[b].add(a)
    on = {t: set(prediction.components_for(t)) for t in prediction.technique_ids}
    # a component nothing is found on relays: an agent's push tool hands its commit to the CI runner, and the
    # runner's steps follow the agent's though no step is taken on the tool itself
    found = {c for cs in on.values() for c in cs}
    relays = [c.id for c in system.of_kind("tool") if c.id not in found]
    for r in relays:
        for a in near[r]:
            near[a] |= near[r]
    return near, {c.id for c in system.of_kind("adversary")}, on
