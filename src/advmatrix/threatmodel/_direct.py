"""Who talks to a component straight: the entry points whose content reaches it without resting in a store
or a tool, and of those, for an LLM app, the outside parties its answers reach (the rest pass it content it
reads, as a store would). The ``exposed: {direct|replies|unanswered}`` leaves of :mod:`._conditions` read these.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from .system import Component, ServiceComponent, System, is_entry

__all__ = ["STORES", "VERDICTS", "answered_walk", "direct_entries", "hears_back", "passed_to", "unanswered"]

#: content that rests in these before it reaches a component was stored, not sent to it
STORES = frozenset({"dataset", "retrieval-store", "tool"})


#: Up to this many entry points, the direct ones of every component are found by one walk forward from
#: each entry; with more, by one walk back from each component that asks.
_FORWARD_ENTRIES = 64


def direct_entries(system: System, comp: Component, untrusted: bool, replies: bool = False) -> frozenset[str]:
    """The entry points whose content reaches ``comp`` without resting in a store or a tool on the way
    (``comp`` itself when it is one); with ``replies`` nor passing a service that answers with a verdict; for
    an LLM app, not an outside party its answers do not reach (:func:`unanswered`)."""
    return passed_to(system, comp, untrusted, replies) - unanswered(system, comp, untrusted, replies)


def passed_to(system: System, comp: Component, untrusted: bool, replies: bool = False) -> frozenset[str]:
    """The entry points whose content reaches ``comp`` without resting in a store or a tool on the way
    (``comp`` itself when it is one), whether or not they hear back from it (see :func:`unanswered`)."""
    direct = system.memo(("direct-map", untrusted, replies), lambda: _direct_map(system, untrusted, replies))
    if direct is not None:
        found = direct.get(comp.id, frozenset())
        return found | ({comp.id} if is_entry(comp) else frozenset())

    def compute() -> frozenset[str]:
        holds = {c.id for c in system.components if _holds_content(c, replies)}
        back = system.flows_into(untrusted, device_answers=False)  # a server's answer to a phone: no way in
        seen = answered_walk(system, (comp.id,), back, holds | system.outside())
        return frozenset(i for i in seen if is_entry(system.component(i)) and (i == comp.id or i not in holds))
    return system.memo(("direct-entries", comp.id, untrusted, replies), compute)


def unanswered(system: System, comp: Component, untrusted: bool, replies: bool = False) -> frozenset[str]:
    """For an LLM app, the outside parties among :func:`passed_to` that its answers do not reach, where the
    description draws its answers reaching some outside party: a counterparty whose draft a lawyer uploads,
    a candidate whose recording a recruiter reads the score of. Their words are content it reads (indirect
    injection), not messages to it: they are neither answered nor able to iterate. Empty for anything else,
    and where no answer is drawn (a description that leaves the way back out is read as before)."""
    if comp.kind != "llm-app":
        return frozenset()
    heard = hears_back(system, comp)
    if not heard:
        return frozenset()
    outside = system.outside()
    return frozenset(e for e in passed_to(system, comp, untrusted, replies) if e in outside and e not in heard)


def hears_back(system: System, comp: Component) -> frozenset[str]:
    """The outside parties ``comp``'s output reaches without resting in a store or a tool, nor passing an
    endpoint that answers nothing (an e-mail a tool sends is no answer to whoever wrote the draft)."""
    heard = system.memo("hears-back-map", lambda: _hears_back_map(system))
    if heard is not None:
        return heard.get(comp.id, frozenset())

    def compute() -> frozenset[str]:
        stops = {c.id for c in system.components if _holds_content(c)} | system.outside()
        return frozenset(answered_walk(system, (comp.id,), system.flows_out(), stops) & system.outside())
    return system.memo(("hears-back", comp.id), compute)


def _hears_back_map(system: System) -> dict[str, frozenset[str]] | None:
    """:func:`hears_back` of every component, by one walk back from each outside party (a walk forward from
    each of 1,500 chained agents was quadratic); None when there are too many parties for that."""
    outside = system.outside()
    if len(outside) > _FORWARD_ENTRIES:
        return None
    stops = {c.id for c in system.components if _holds_content(c)} | outside
    out: dict[str, set[str]] = {}
    for party in outside:
        for n in answered_walk(system, (party,), system.flows_into(), stops) - {party}:
            out.setdefault(n, set()).add(party)
    return {k: frozenset(v) for k, v in out.items()}


def answered_walk(system: System, starts: Iterable[str], nxt: Mapping[str, Iterable[str]], stops: Collection[str],
                  skip: Collection[str] = ()) -> set[str]:
    """``starts`` and what the adjacency ``nxt`` (forward or back) reaches from them without passing through
    ``stops`` (entered, not passed) or entering ``skip``. A shared model or stateless sub-agent
    (:meth:`System.shared`) answers only the caller that asked: reached from one caller, the walk does not go
    on to the others (a public chat's words reach the back-office summariser on the same LLM endpoint only
    through the tickets it stores; an unguarded agent's words do not come back to its guarded sibling)."""
    shared = system.shared()
    stack: list[tuple[str, str | None]] = [(s, None) for s in starts]
    seen = {s for s, _ in stack}
    visited = set(stack)
    while stack:
        node, answers = stack.pop()
        callers = shared.get(node, ())
        for n in nxt.get(node, ()):
            if n in skip or (answers is not None and n in callers and n != answers):
                continue
            state = (n, node if node in shared.get(n, ()) else None)
            if state in visited:
                continue
            visited.add(state)
            seen.add(n)
            if n not in stops:
                stack.append(state)
    return seen


def _direct_map(system: System, untrusted: bool, replies: bool = False) -> dict[str, frozenset[str]] | None:
    """For every component, the entries whose content reaches it without resting in a store or a tool: a
    walk forward from each entry, where a walk back from every component was quadratic in a long chain
    (3,000 delegating agents took most of a minute); None when there are too many entries for that."""
    # an entry that answers nothing (a public upload or mail endpoint) is no one's direct way in
    entries = [c.id for c in system.components if is_entry(c) and not _holds_content(c, replies)]
    if len(entries) > _FORWARD_ENTRIES:
        return None
    stores = {c.id for c in system.components if _holds_content(c, replies)}
    answers = system.device_replies()  # a server's answer to a phone's call is no one else's way in
    forward: dict[str, list[str]] = {}
    for a, b, trusted in system.edges():
        if not (untrusted and trusted) and (a, b) not in answers:
            forward.setdefault(a, []).append(b)
    out: dict[str, set[str]] = {}
    # an outside party starts content but relays none: the walk takes it in and stops there
    stops = stores | system.outside()
    for entry in entries:
        for n in answered_walk(system, (entry,), forward, stops) - {entry}:
            out.setdefault(n, set()).add(entry)
    return {k: frozenset(v) for k, v in out.items()}


def _holds_content(comp: Component, replies: bool = False) -> bool:
    """Content passing this is stored or carried, not said to what follows: a store or a tool, or a
    service that answers nothing (a mail gateway: whoever sends through it gets no reply to talk to); with
    ``replies`` also a service that answers only with a verdict (what comes back is not the app's words)."""
    return comp.kind in STORES or (isinstance(comp, ServiceComponent) and (
        comp.returns in (VERDICTS if replies else ("none",))))


#: What a service hands back that is a verdict drawn from a model's work, not its words.
VERDICTS = ("none", "labels", "scores", "embeddings", "explanations")
