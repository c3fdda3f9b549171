"""Attack paths: the likeliest chains of predicted techniques, learned from the case studies.

Each ATLAS case study tells an incident as an ordered list of techniques. Counting which
technique follows which gives transition probabilities; an attack path is a chain of predicted
techniques from an entry point (reconnaissance, resource development, initial access, AI model
access) to a goal (impact, exfiltration). Paths are ranked per step, by the geometric mean of their
transition probabilities: ranked by the product, every extra step costs a factor below one, so the
top paths were nearly all two steps, jumping from the entry straight to the goal. Per step, a
longer chain wins when its moves are as common as a short one's; on the case studies' own techniques
(transitions learned without the case study) per-step ranking follows the incidents more closely
(bench/RESULTS.md). ``rank="probability"`` gives the product ranking.

About a fifth of consecutive case-study steps go *backward* in the matrix's tactic order (an
adversary stages an attack, then goes back to discovery), so no tactic order is imposed: the
order is whatever the case studies show, moves they show with one step between (which a system may
lack), and a small back-off for moves they never show.

>>> from advmatrix.kb import bundled
>>> from advmatrix.threatmodel.paths import TransitionModel, attack_paths
>>> model = TransitionModel.learn(bundled())
>>> 0 < model.backward_share < 1
True
>>> cs = bundled().case_study("AML.CS0000")
>>> [p.steps[-1].tactic for p in attack_paths(model, {s.technique for s in cs.procedure}, k=1)]
['AML.TA0011']
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Literal

from ..errors import UsageError
from ._search import Search, distance_to_goals
from ._transitions import ENTRY_TACTICS, GOAL_TACTICS, Edge, Path, Step, TransitionModel

if TYPE_CHECKING:
    from .predict import Prediction
    from .system import Component, System

__all__ = ["ENTRY_TACTICS", "GOAL_TACTICS", "MAX_GENERATED", "RANKS", "Edge", "Path", "PathSearch", "Step",
           "TransitionModel", "adversary_entries", "attack_paths", "find_paths", "goal_ends", "near_duplicate",
           "system_paths", "topology_links", "walkable", "walker"]

MAX_GENERATED = 200_000
"""Partial paths a search may put on its queue before it stops with what it has found."""
#: Candidates drawn per path asked for, so that near-duplicates can be skipped (``distinct``).
POOL = 4
Rank = Literal["per-step", "probability"]
#: Whether a move from one technique to the next is possible on the system (see :func:`topology_links`).
Linked = Callable[[str, str], bool]
#: Whether a whole path can be walked on the system (see :func:`walkable`).
Accept = Callable[[tuple[str, ...]], bool]
#: The components each step of a path is taken on, or ``None`` (see :func:`walker`).
Walk = Callable[[tuple[str, ...]], "tuple[tuple[str, ...], ...] | None"]
#: External harms are consequences (money lost, users hurt), not steps through the system: a path whose
#: only steps on the system are such harms shows no way in.
CONSEQUENCES = frozenset({"AML.T0048"})
RANKS: tuple[str, ...] = ("per-step", "probability")
"""How paths are ordered: the geometric mean of their transition probabilities, or their product."""


@dataclass(frozen=True)
class PathSearch:
    """What one search found, and what it cost: ``expanded`` partial paths taken off the queue,
    ``generated`` put on it; ``truncated`` when it ran out of its budget (``max_generated``). Ranked by
    probability, the paths found until then are still the best, in order, but there may be fewer than
    asked. Ranked per step, each length has its share of the budget, so a length cut short may miss
    paths that would have ranked among those returned."""

    paths: list[Path]
    expanded: int
    generated: int
    truncated: bool = False


def attack_paths(model: TransitionModel, techniques: set[str], entries: set[str] | None = None,
                 goals: set[str] | None = None, k: int = 5, max_len: int = 8, rank: Rank = "per-step",
                 distinct: bool = True, linked: Linked | None = None,
                 accept: Accept | None = None) -> list[Path]:
    """The ``k`` likeliest attack paths over ``techniques``, best first; ``[]`` when none exists.

    A path starts at an entry technique (default: the predicted techniques under
    :data:`ENTRY_TACTICS`), ends at a goal (default: those under :data:`GOAL_TACTICS`), visits
    each technique at most once and has at least two and at most ``max_len`` steps. ``rank``:
    ``per-step`` (default) orders by the geometric mean of the transition probabilities,
    ``probability`` by their product (which favours the shortest paths). With ``distinct`` (default) a
    path one step away from a better one (a step inserted, removed or replaced, or two neighbouring
    steps exchanged) is left out, so the list shows different chains. Entries and goals given must be
    among ``techniques``. With ``linked`` a move from one technique to another is taken only where it
    says the two can follow each other (see :func:`topology_links`), and with ``accept`` only a path it
    accepts as a whole is kept (see :func:`walkable`).
    """
    return find_paths(model, techniques, entries, goals, k=k, max_len=max_len, rank=rank, distinct=distinct,
                      linked=linked, accept=accept).paths


def find_paths(model: TransitionModel, techniques: set[str], entries: set[str] | None = None,
               goals: set[str] | None = None, *, k: int = 5, max_len: int = 8, rank: Rank = "per-step",
               distinct: bool = True, max_generated: int = MAX_GENERATED, linked: Linked | None = None,
               accept: Accept | None = None) -> PathSearch:
    """:func:`attack_paths` with the search's cost reported beside the paths."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (k, max_len)) or k < 1 or max_len < 2:
        raise UsageError(f"attack paths need whole numbers k >= 1 and max_len >= 2 (got k={k!r}, max_len={max_len!r})")
    if not isinstance(max_generated, int) or isinstance(max_generated, bool) or max_generated < 1:
        raise UsageError(f"attack paths need a whole number max_generated >= 1 (got {max_generated!r})")
    if rank not in RANKS:
        raise UsageError(f"attack paths are ranked {' or '.join(RANKS)} (got '{rank}')")
    matrix = model.matrix
    nodes = sorted({matrix.technique(t).id for t in techniques})  # unknown IDs: UnknownObjectError
    entry_ids = _endpoints(model, nodes, entries, ENTRY_TACTICS, "entry")
    goal_ids = _endpoints(model, nodes, goals, GOAL_TACTICS, "goal")
    if not entry_ids or not goal_ids:
        return PathSearch([], 0, 0)

    # -log p turns the best product of probabilities into the shortest sum of weights.
    members = set(nodes)
    succ = {a: [(b, -math.log(p)) for b, p in model.probabilities.get(a, {}).items()
                if b in members and b != a and (linked is None or linked(a, b))]
            for a in nodes}
    h, hops = distance_to_goals(succ, goal_ids)
    search = Search(succ, h, hops, goal_ids, sorted(entry_ids), max_generated)
    # Variants of one chain (a step more, less or swapped) would fill the list with one idea, so more
    # candidates are drawn than asked for and a path within one such edit of a better one is skipped.
    pool = k * POOL if distinct else k
    if rank == "probability":
        found = search.best(pool, max_len, exact=False)
    else:
        # Among paths of one length the per-step order is the product's, so the best per step are
        # among the best of each length: search each length, then merge by cost per move.
        found = []
        for length in range(2, max_len + 1):
            # Each length gets its share of what is left of the budget: spent in order, the short
            # lengths could leave nothing for the long ones, whose paths often rank best per step.
            search.limit = search.generated + (max_generated - search.generated) // (max_len + 1 - length)
            found += search.best(pool, length, exact=True)
        found.sort(key=lambda cp: (cp[0] / (len(cp[1]) - 1), cp[1]))
    kept: list[tuple[str, ...]] = []
    for _, ids in found:
        if len(kept) == k:
            break
        if accept is not None and not accept(ids):
            continue
        if not (distinct and any(near_duplicate(ids, other) for other in kept)):
            kept.append(ids)
    return PathSearch([_build(model, p, rank) for p in kept], search.expanded, search.generated, search.truncated)


def topology_links(system: System, prediction: Prediction) -> Linked:
    """The moves a system allows: one technique can follow another where they are found on the same
    component, on two a flow or a tool list joins, or where either is the adversary's own (the adversary
    meets the whole system). A learned move between techniques found on unconnected parts of the system
    (the weights of one model, then the theft of another's) is no path an attacker can walk."""
    near, adversaries, on = _topology(system, prediction)

    def linked(a: str, b: str) -> bool:
        ca, cb = on.get(a, set()), on.get(b, set())
        return bool(ca & adversaries or cb & adversaries) or any(near[x] & cb for x in ca)
    return linked


def walkable(system: System, prediction: Prediction, reach: frozenset[str] | None = None,
             adversary: Component | None = None) -> Accept:
    """Whether a path can be walked on the system as a whole (see :func:`walker`)."""
    return _accepting(walker(system, prediction, reach, adversary))


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
    only after a step that steers the app (:data:`._reach.STEERS`)."""
    from ._reach import GAINS, STEERED, STEERS, adversary_access, adversary_reach, can_take, family

    near, adversaries, on = _topology(system, prediction)
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
                here = {c for c in here if system.component(c).kind != "llm-app"}
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
        if all(family(t) in STEERED and all(system.component(c).kind == "service" for c in cs - adversaries)
               for t, cs in zip(ids, steps, strict=True) if cs - adversaries and family(t) not in CONSEQUENCES):
            # a lure a service hands on and the harm it does take no step on the AI: mail fraud through a
            # gateway is no attack on its spam model (audits P, Q, U drew it as the top path)
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


def adversary_entries(system: System, prediction: Prediction, model: TransitionModel,
                      adversary: Component | None = None) -> set[str] | None:
    """The predicted entry techniques an attack path may start with, given who attacks: those found on an
    adversary or on a component within its access (:func:`._reach.adversary_reach`); ``None`` (every entry
    technique) when the description does not say what its adversaries can reach. A technique that takes
    one kind of access (:data:`._reach.NEEDS`: supply chain, accounts, the scene, a page) needs it too.
    With ``adversary``, that adversary's alone."""
    from ._reach import adversary_access, adversary_reach, can_take

    reach = adversary_reach(system, adversary)
    if reach is None:
        return None
    access = adversary_access(system, adversary)
    others = set() if adversary is None else {a.id for a in system.of_kind("adversary")} - {adversary.id}
    out = set()
    for t in prediction.technique_ids:
        if not any(ta.id in ENTRY_TACTICS for ta in model.matrix.tactics_of(t)):
            continue
        mine = {c for c in reach.intersection(prediction.components_for(t)) - others
                if adversary is None or prediction.open_to(t, c, adversary.id)}
        if mine and can_take(system, t, mine, access, reach):
            out.add(t)
    return out


RETRY_K = 40  #: how many paths an adversary's search asks for before saying it found none


def goal_ends(system: System, prediction: Prediction, model: TransitionModel,
              adversary: Component | None) -> set[str] | None:
    """The predicted goal techniques that serve ``adversary``'s goals (:data:`._reach.GOAL_ENDS`);
    ``None`` (every goal technique) when it states none or none of them is predicted."""
    from ._reach import goal_serves

    goals = () if adversary is None else adversary.get("goals") or ()
    ends = {t for t in prediction.technique_ids if goal_serves(t, goals)
            and any(ta.id in GOAL_TACTICS for ta in model.matrix.tactics_of(t))}
    return ends or None


def _accepting(walk: Walk) -> Accept:
    return lambda ids: walk(ids) is not None


def system_paths(system: System, prediction: Prediction, model: TransitionModel, *, k: int = 5,
                 rank: Rank = "per-step", distinct: bool = True) -> list[Path]:
    """The ``k`` likeliest attack paths of a system, best first, as the reports draw them: each walked by
    one of its adversaries (or by anyone, when it describes none) from what that adversary reaches to a
    goal it states (see :func:`walker`, :func:`adversary_entries`, :func:`goal_ends`), through the
    likely techniques first and through every finding where those give fewer than ``k``. Each path
    names its adversary and, per step, the components it is taken on."""
    from ._reach import got_past

    linked = topology_links(system, prediction)
    # a hedge ("where that moves money") waits on a field left open: no path ends in it while another can
    hedged = prediction.hedged_ids
    every = set(prediction.technique_ids) - hedged
    # each adversary's own short list (another's wishes do not make a step likely for them)
    likely_of = {a and a.id: set(prediction.likely_for(a and a.id)) - hedged
                 for a in (system.of_kind("adversary") or (None,))}
    adversaries = system.of_kind("adversary") or (None,)
    # keyed by id: components hold dicts, so they do not hash
    walks = {a and a.id: walker(system, prediction, None, a) for a in adversaries}
    entries = {a and a.id: adversary_entries(system, prediction, model, a) for a in adversaries}
    ends = {a and a.id: goal_ends(system, prediction, model, a) for a in adversaries}

    def stopped(ids: tuple[str, ...], on: tuple[tuple[str, ...], ...]) -> bool:  # a held control stops a step
        return any(prediction.stopped(t, cs, got_past(ids[:i])) for i, (t, cs) in enumerate(zip(ids, on, strict=True)))

    def search(who: str | None, goals: set[str] | None, k: int = k) -> list[Path]:
        mine: list[Path] = []
        walk, first = walks[who], entries[who]
        # Paths through the likely techniques first: a chain of long shots is not the likeliest attack
        # even when its transitions are common. (Not only open ones: incidents pass controls in place, and
        # the case studies' paths agree less with a search that avoids them; they are listed after, marked.)
        for pool in (likely_of[who], every):
            wanted = None if goals is None else goals & pool
            if len(mine) >= k or wanted == set():
                continue
            for p in attack_paths(model, pool, None if first is None else first & pool, wanted, k=k, rank=rank,
                                  distinct=distinct, linked=linked, accept=_accepting(walk)):
                if len(mine) < k and not (distinct and any(near_duplicate(p.techniques, q.techniques) for q in mine)):
                    mine.append(dataclasses.replace(p, adversary=who, on=walk(p.techniques)))
        return mine

    def search_some(who: str | None, goals: set[str] | None) -> list[Path]:
        # the best few may all fail the walk on this system: look further before saying there is no path
        return search(who, goals) or search(who, goals, RETRY_K)[:1]

    found = [p for who in walks for p in search_some(who, ends[who])]
    if not found and hedged:
        likely_of = {who: pool | (hedged & set(prediction.likely_for(who))) for who, pool in likely_of.items()}
        every = every | hedged
        found = [p for who in walks for p in search(who, ends[who])]
    if not found and any(e is not None for e in ends.values()):
        # no learned move leads to a goal any adversary states: their ways in to any goal, rather than none
        found = [p for who, e in ends.items() if e is not None for p in search(who, None)]

    def order(p: Path) -> tuple[bool, float]:  # open paths first, then by score
        return stopped(p.techniques, p.on or tuple(prediction.components_for(t) for t in p.techniques)), -p.score

    found.sort(key=order)  # stable: an adversary listed first wins a tie
    # each adversary's best path first, then the rest by score: one adversary's many strong variants must
    # not hide the insider the description also names
    firsts = list({p.adversary: p for p in reversed(found)}.values())
    firsts.sort(key=order)
    # an adversary's best path stays even when another walks the same chain (two threats, not one); the
    # rest must differ from every path kept, or one chain would fill the list once per adversary
    kept: list[Path] = firsts[:k]
    for p in found:
        if len(kept) < k and p not in kept and not (
                distinct and any(near_duplicate(p.techniques, q.techniques) for q in kept)):
            kept.append(p)
    kept.sort(key=order)
    return kept


def _topology(system: System, prediction: Prediction
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


def near_duplicate(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether one step inserted, removed or replaced, or two neighbouring steps exchanged, turns ``a``
    into ``b``."""
    if len(a) == len(b):
        differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(differ) <= 1 or (len(differ) == 2 and differ[1] == differ[0] + 1
                                    and a[differ[0]] == b[differ[1]] and a[differ[1]] == b[differ[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    if len(long_) - len(short) != 1:
        return False
    i = next((i for i, (x, y) in enumerate(zip(short, long_, strict=False)) if x != y), len(short))
    return short[i:] == long_[i + 1:]


def _endpoints(model: TransitionModel, nodes: list[str], given: set[str] | None,
               tactics: tuple[str, ...], role: str) -> set[str]:
    if given is None:
        return {t for t in nodes if any(ta.id in tactics for ta in model.matrix.tactics_of(t))}
    chosen = {model.matrix.technique(t).id for t in given}
    outside = sorted(chosen.difference(nodes))
    if outside:
        raise UsageError(f"{role} technique {outside[0]} is not among the predicted techniques")
    return chosen


def _build(model: TransitionModel, ids: tuple[str, ...], rank: Rank) -> Path:
    steps = [model.step(t) for t in ids[1:-1]]
    steps.insert(0, model.step(ids[0], ENTRY_TACTICS))
    steps.append(model.step(ids[-1], GOAL_TACTICS))
    edges = tuple(e for a, b in pairwise(ids) if (e := model.edge(a, b)) is not None)
    probability = math.prod(e.probability for e in edges)
    score = probability if rank == "probability" else probability ** (1 / len(edges))
    return Path(tuple(steps), edges, score, probability)
