"""The system description (``system.yaml``): components, the flows between them, the controls in place.

Every enumeration is closed and every field has a short name, so threat rules can match on
``component.<field>`` and on the graph (:meth:`System.reachable_from`, :meth:`System.upstream_of`,
:meth:`System.is_exposed`). ``None`` always means "not stated"; booleans default to the riskier
answer an analyst would otherwise have to check (not signed, not rate limited, ...).

>>> s = System.model_validate({"name": "demo", "components": [
...     {"id": "users", "kind": "external"},
...     {"id": "api", "kind": "service", "audience": "public"},
...     {"id": "clf", "kind": "model", "modality": "image"}],
...     "flows": [{"from": "users", "to": "api"}, {"from": "api", "to": "clf"}]})
>>> s.is_exposed("clf"), [c.id for c in s.upstream_of("clf")]
(True, ['users', 'api'])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ConfigDict, Field, StrictBool, ValidationInfo, model_validator

from ._closure import members, reach_sets
from ._components import (
    ADVERSARY_ACCESS,
    ADVERSARY_ACTORS,
    ADVERSARY_GOALS,
    COMPONENT_CLASSES,
    COMPONENT_KINDS,
    IMPLIED_CONTROLS,
    AdversaryComponent,
    AnyComponent,
    Component,
    DatasetComponent,
    ExternalComponent,
    LlmAppComponent,
    ModelComponent,
    RetrievalStoreComponent,
    ServiceComponent,
    ToolComponent,
    _Base,
    component_fields,
)
from ._references import loc_text, reference_problems

__all__ = [
    "ADVERSARY_ACCESS",
    "ADVERSARY_ACTORS",
    "ADVERSARY_GOALS",
    "COMPONENT_CLASSES",
    "COMPONENT_KINDS",
    "IMPLIED_CONTROLS",
    "AdversaryComponent",
    "Component",
    "DatasetComponent",
    "ExternalComponent",
    "Flow",
    "LlmAppComponent",
    "ModelComponent",
    "RetrievalStoreComponent",
    "ServiceComponent",
    "System",
    "ToolComponent",
    "component_fields",
    "json_schema",
    "reference_problems",
]

#: Validation context key that makes :class:`System` skip its cross-reference checks, so a loader
#: can run them itself and report each problem against its own line.
DEFER_REFERENCES = "advmatrix.threatmodel.defer_references"


class Flow(_Base):
    """Content moving from one component to another (queries, data, documents, tool results)."""

    # the file says from/to; 'source'/'target' are the Python names only (a flow written with them in a
    # file was taken as a flow the documentation and the JSON Schema do not describe)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    source: str = Field(alias="from", description="Id of the component the content comes from.")
    target: str = Field(alias="to", description="Id of the component it goes to.")
    data: str | None = Field(None, max_length=1000, description="What moves, in words.")
    trusted: StrictBool = Field(False, description="The content is checked or comes from a party we trust.")


class System(_Base):
    """A whole system: its components and the flows between them."""

    # spaces alone name nothing: a report headed "   " and a blank SARIF category are no use
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    description: str | None = Field(None, max_length=10_000)
    components: tuple[AnyComponent, ...] = ()
    flows: tuple[Flow, ...] = ()

    @property
    def _cache(self) -> dict[Any, Any]:
        # Graph answers, computed once (every rule asks them of every component); the model is frozen, so
        # they cannot go stale. In __dict__ beside the fields, where pydantic's equality and dumps do not look.
        return self.__dict__.setdefault("graph_cache", {})

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> System:
        """A copy; an ``update`` may change components or flows, so the copy starts with no cached graph."""
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__["graph_cache"] = {}
        return copy

    @model_validator(mode="after")
    def _check_references(self, info: ValidationInfo) -> System:
        if info.context and info.context.get(DEFER_REFERENCES):
            return self
        problems = self.reference_problems()
        if problems:
            raise ValueError("; ".join(f"{loc_text(loc)}: {msg}" for loc, msg in problems))
        return self

    def reference_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Duplicate ids, flows and tool lists naming unknown components, as (location, message)."""
        return reference_problems(
            [(c.id, c.kind, c.tools if isinstance(c, LlmAppComponent) else ()) for c in self.components],
            [(f.source, f.target) for f in self.flows])

    # -- graph questions -------------------------------------------------------------------------

    def component(self, component_id: str) -> Component:
        """The component with this id; ``KeyError`` naming it when there is none."""
        # First wins: a duplicate id is a reference problem, reported elsewhere.
        index = self.memo("index", lambda: {c.id: c for c in reversed(self.components)})
        try:
            return index[component_id]
        except KeyError:
            raise KeyError(f"no component '{component_id}' in system '{self.name}'") from None

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, computed once per system under ``key`` (the rules' repeated graph questions)."""
        cache = self._cache
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def position(self, component_id: str) -> int:
        """Where a component stands in the file (its index in ``components``)."""
        return self.positions()[component_id]

    def positions(self) -> Mapping[str, int]:
        """Every component's index in ``components``, by id (a sort key without a call per item)."""
        return self.memo("position", lambda: {c.id: i for i, c in reversed(list(enumerate(self.components)))})

    def of_kind(self, kind: str) -> tuple[Component, ...]:
        """The components of one kind, in file order."""
        return self.memo(("kind", kind), lambda: tuple(c for c in self.components if c.kind == kind))

    def outside(self) -> frozenset[str]:
        """The ids of the outside parties: where content starts or ends, never a relay between others."""
        return self.memo("outside", lambda: frozenset(c.id for c in self.of_kind("external")))

    def flows_into(self, untrusted: bool = False, *, device_answers: bool = True) -> dict[str, list[str]]:
        """For each component, the components with an edge (:meth:`edges`) into it (with ``untrusted``,
        trusted flows left out; without ``device_answers``, a server's answers to people's devices, see
        :meth:`device_replies`); built once per system and shared by every backward walk."""
        def reverse() -> dict[str, list[str]]:
            skip = frozenset() if device_answers else self.device_replies()
            back: dict[str, list[str]] = {}
            for a, b, trusted in self.edges():
                if not (untrusted and trusted) and (a, b) not in skip:
                    back.setdefault(b, []).append(a)
            return back
        return self.memo(("flows-back", untrusted, device_answers), reverse)

    def flows_out(self, untrusted: bool = False) -> dict[str, list[str]]:
        """For each component, the components an edge (:meth:`edges`) goes to straight from it (with
        ``untrusted``, trusted flows left out); built once per system, the mirror of :meth:`flows_into`."""
        def ahead() -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            for a, b, trusted in self.edges():
                if not (untrusted and trusted):
                    out.setdefault(a, []).append(b)
            return out
        return self.memo(("flows-ahead", untrusted), ahead)

    def fed_by_outside(self, component_id: str) -> bool:
        """Whether an outside party (an ``external`` component) sends to ``component_id`` straight."""
        return any(self.component(a).kind == "external" for a in self.flows_into().get(component_id, ()))

    def edges(self) -> list[tuple[str, str, bool]]:
        """(from, to, trusted) for every flow, plus both directions between an LLM app and each of its
        tools: the app sends calls and reads back results, so tool output is content flowing into it;
        a tool that ``sends_only`` returns a status, not content, so only the call is an edge."""
        out = [(f.source, f.target, f.trusted) for f in self.flows]
        declared = {(a, b) for a, b, _ in out}
        senders = {c.id for c in self.components if c.get("sends_only") is True}
        for comp in self.components:
            if isinstance(comp, LlmAppComponent):
                for tool in comp.tools:
                    for pair in ((comp.id, tool),) if tool in senders else ((comp.id, tool), (tool, comp.id)):
                        if pair not in declared:
                            out.append((*pair, False))
        return out

    def device_replies(self) -> frozenset[tuple[str, str]]:
        """The flows (server, device) that answer a call from people's devices: from a service not on
        them (``properties.on_device``) to a component that is and that calls it, where the service only
        answers (everything flowing into it gets a flow back: its callers and the models it asks, no store
        or tool). Its other callers get their own answers, so in walks of what reaches a component while it
        runs (``inputs_only``) it is no way in to the device; what it says still reaches the device."""
        def compute() -> frozenset[tuple[str, str]]:
            pairs = {(a, b) for a, b, _ in self.edges()}
            into: dict[str, set[str]] = {}
            for a, b in pairs:
                into.setdefault(b, set()).add(a)
            out = set()
            for s in self.of_kind("service"):
                if s.properties.get("on_device") is True:
                    continue
                senders = into.get(s.id, set())
                if any((s.id, a) not in pairs or self.component(a).kind in ("dataset", "retrieval-store", "tool")
                       for a in senders):
                    continue  # a relay: something it passes on came from someone it does not answer
                out |= {(s.id, d) for d in senders if self.component(d).properties.get("on_device") is True}
            return frozenset(out)
        return self.memo("device-replies", compute)

    def inputs_apart(self) -> bool:
        """Whether walks of what reaches a component while it runs (``inputs_only``) differ from the plain
        ones: only where some data set only trains, or a server answers people's devices."""
        return self.memo("inputs-apart", lambda: self.has_training_data() or bool(self.device_replies()))

    def _walk(self, starts: Iterable[str], *, forward: bool, untrusted_only: bool,
              inputs_only: bool = False) -> list[str]:
        nxt = self.memo(("next", forward, untrusted_only, inputs_only),
                        lambda: self._adjacency(forward, untrusted_only, inputs_only))
        # An outside party is where content starts or ends, not a relay: answers drawn back to the user
        # do not flow on into every other service that user calls.
        outside = self.outside()
        # Training data is used up where it trains: a model that takes another model's outputs does not
        # learn from that model's training sets. Back from a model, another model on the way is not
        # traced into its training data; forward from training data, past one model no other is reached.
        # (An app behind the model still is: what the model learned can leak through its answers.)
        training, models = self._training_models()
        starts = list(starts)
        first = set(starts)
        from_model = not forward and first <= models
        from_training = forward and bool(first) and first <= training
        shared = self.shared()
        if not shared and not from_training:
            # no state to carry: a plain walk (most systems; the state below cost a long chain a fifth more)
            seen: dict[str, None] = {}
            todo = list(starts)
            while todo:
                node = todo.pop()
                skip = training if from_model and node in models and node not in first else ()
                for n in nxt.get(node, ()):
                    if n not in seen and n not in skip:
                        seen[n] = None
                        if n not in outside:
                            todo.append(n)
            return list(seen)
        seen = {}
        # the state carries, for each shared component entered on the way, the caller it was entered
        # from: a loop through a sub-agent's own tool or model comes back to it still answering that caller
        Entered = frozenset[tuple[str, str]]
        states: set[tuple[str, bool, Entered]] = set()
        stack: list[tuple[str, bool, Entered]] = [(s, False, frozenset()) for s in starts]
        while stack:
            node, passed, entered = stack.pop()
            callers = shared.get(node, frozenset())
            answers = next((c for shared_id, c in entered if shared_id == node), None)
            for n in nxt.get(node, ()):
                if from_model and node in models and node not in first and n in training:
                    continue
                if from_training and passed and n in models:
                    continue
                if answers is not None and n in callers and n != answers:
                    continue  # a model (or stateless sub-agent) shared by several callers answers each its own
                now = (frozenset((sid, c) for sid, c in entered if sid != n) | {(n, node)}
                       if node in shared.get(n, ()) else entered)
                state = (n, from_training and (passed or n in models), now)
                if state not in states:
                    states.add(state)
                    seen.setdefault(n, None)
                    if n not in outside:
                        stack.append(state)
        return list(seen)

    def _training_models(self) -> tuple[frozenset[str], frozenset[str]]:
        """The ids of the training sets and of the models."""
        return self.memo("training-models", lambda: (
            frozenset(c.id for c in self.components if is_training_data(c)),
            frozenset(c.id for c in self.of_kind("model"))))

    def walk_bits(self, component_id: str, *, forward: bool, untrusted_only: bool = False,
                  inputs_only: bool = False) -> int | None:
        """What the walk from one component reaches (:meth:`downstream_of` when ``forward``, else
        :meth:`upstream_of`), as a bit set over positions in ``components``, its own bit set only when
        a loop brings the walk back to it; ``None`` where the walk carries state (a shared component, or
        training data with the walk from a model or from training data), which only :meth:`_walk` answers.

        Every component's answer comes from one pass over the flows (see :mod:`._closure`): a walk per
        component was quadratic on a long chain, and a rule asking whether some matching component is
        downstream needs only an AND of two of these and a count."""
        inputs_only = inputs_only and self.inputs_apart()  # else the same walk: share its answer
        untrusted_only = untrusted_only and self.has_trusted_flows()
        if self.shared():
            return None
        training, models = self._training_models()
        if training and component_id in (training if forward else models):
            return None
        reach = self.memo(("reach", forward, untrusted_only, inputs_only),
                          lambda: self._reach_sets(forward, untrusted_only, inputs_only))
        return reach[self.position(component_id)]

    def _reach_sets(self, forward: bool, untrusted_only: bool, inputs_only: bool) -> list[int]:
        nxt = self.memo(("next", forward, untrusted_only, inputs_only),
                        lambda: self._adjacency(forward, untrusted_only, inputs_only))
        index = self.positions()
        succ: list[list[int]] = [[] for _ in self.components]
        for src, targets in nxt.items():
            succ[index[src]] = [index[t] for t in targets]
        outside = self.outside()
        return reach_sets(succ, [c.id not in outside for c in self.components])

    def at(self, bits: int, limit: int | None = None) -> tuple[Component, ...]:
        """The components at the positions set in ``bits``, in file order (the first ``limit``)."""
        return tuple(self.components[i] for i in members(bits, limit))

    def bits_of(self, ids: Iterable[str]) -> int:
        """The bit set of the components with these ids (see :meth:`walk_bits`)."""
        index = self.positions()
        bits = 0
        for i in ids:
            bits |= 1 << index[i]
        return bits

    def shared(self) -> Mapping[str, frozenset[str]]:
        """The components several callers share that answer each its own (see :meth:`_shared_models`),
        with their callers; empty when there are none, and the walks need carry no state."""
        return self.memo("shared-models", self._shared_models)

    def _shared_models(self) -> dict[str, frozenset[str]]:
        """For each model that two or more components call (a flow each way: prompts in, answers back),
        and each sub-agent with ``memory: none`` that two or more call, its callers. Neither keeps anything
        between calls, so what one caller sends goes back to that caller only: two agents on one LLM
        endpoint do not read each other's tools or documents."""
        pairs = {(a, b) for a, b, _ in self.edges()}
        models = {c.id for c in self.of_kind("model")}
        into: dict[str, list[str]] = {}  # each model's senders, not a scan of every flow per model
        for a, b in pairs:
            into.setdefault(b, []).append(a)
        out = {}
        for m in self.of_kind("model"):
            # a model answering another model is a step of one pipeline (a guard in front of a generator),
            # not a second caller: only the apps, services, tools and parties calling it count
            callers = frozenset(a for a in into.get(m.id, ()) if (m.id, a) in pairs and a != m.id
                                and a not in models)
            if len(callers) > 1:
                out[m.id] = callers
        # A sub-agent that keeps no memory is the same: what one planner asks it goes back to that planner
        # (two agents sharing a stateless research helper do not read each other's tools through it).
        for sub in self.of_kind("llm-app"):
            if sub.get("memory") != "none":
                continue
            callers = frozenset(
                {c.id for c in self.of_kind("llm-app") if sub.id in (c.get("tools") or ()) and c.id != sub.id}
                | {a for a, b in pairs if b == sub.id and (sub.id, a) in pairs
                   and self.component(a).kind in ("service", "external")})
            if len(callers) > 1:
                out[sub.id] = callers
        return out

    def _adjacency(self, forward: bool, untrusted_only: bool, inputs_only: bool) -> dict[str, list[str]]:
        held = {c.id for c in self.components if is_training_data(c)} if inputs_only else set()
        replies = self.device_replies() if inputs_only else frozenset()
        nxt: dict[str, list[str]] = {}
        for a, b, trusted in self.edges():
            src, dst = (a, b) if forward else (b, a)
            # training data is reached but not passed through: what lies beyond it only trains the model
            if (untrusted_only and trusted) or src in held or (a, b) in replies:
                continue
            nxt.setdefault(src, []).append(dst)
        return nxt

    def has_trusted_flows(self) -> bool:
        """Whether a flow is marked trusted (else walks over untrusted flows only are the plain ones)."""
        return self.memo("has-trusted-flows", lambda: any(f.trusted for f in self.flows))

    def has_training_data(self) -> bool:
        """Whether a data set here is used only to train (so inference-time walks differ from the rest)."""
        return self.memo("has-training-data", lambda: any(is_training_data(c) for c in self.components))

    def _select(self, selector: str | Callable[[Component], bool]) -> list[str]:
        match = (lambda c: c.kind == selector) if isinstance(selector, str) else selector
        return [c.id for c in self.components if match(c)]

    def _ordered(self, ids: Iterable[str]) -> tuple[Component, ...]:
        # sorted by position, not by scanning every component: a walk is asked for per component
        index = self.positions()
        return tuple(self.components[i] for i in sorted({index[j] for j in ids}))

    def reachable_from(
        self, selector: str | Callable[[Component], bool], *, untrusted_only: bool = False
    ) -> tuple[Component, ...]:
        """Components that content from any component matching ``selector`` (a kind, or a predicate)
        reaches along one or more flows; with ``untrusted_only`` trusted flows are not followed."""
        return self._ordered(self._walk(self._select(selector), forward=True, untrusted_only=untrusted_only))

    def upstream_of(self, component: str | Component, *, untrusted_only: bool = False,
                    inputs_only: bool = False) -> tuple[Component, ...]:
        """Components whose content flows, directly or through others, into ``component``; with
        ``inputs_only`` not through training data (a dataset not used for retrieval): what reaches it
        at inference time."""
        cid = component if isinstance(component, str) else component.id
        self.component(cid)
        inputs_only = inputs_only and self.inputs_apart()  # else the same walk: share its answer
        untrusted_only = untrusted_only and self.has_trusted_flows()  # likewise (each answer is n long)
        def compute() -> tuple[Component, ...]:
            bits = self.walk_bits(cid, forward=False, untrusted_only=untrusted_only, inputs_only=inputs_only)
            if bits is not None:
                return self.at(bits & ~(1 << self.position(cid)))
            return self._ordered(c for c in self._walk([cid], forward=False, untrusted_only=untrusted_only,
                                                       inputs_only=inputs_only) if c != cid)
        return self.memo(("up", cid, untrusted_only, inputs_only), compute)

    def downstream_of(self, component: str | Component, *, untrusted_only: bool = False,
                      inputs_only: bool = False) -> tuple[Component, ...]:
        """Components that content from ``component`` reaches along one or more flows; with
        ``inputs_only`` not through training data (what it reaches at inference time)."""
        cid = component if isinstance(component, str) else component.id
        self.component(cid)
        inputs_only = inputs_only and self.inputs_apart()
        untrusted_only = untrusted_only and self.has_trusted_flows()
        def compute() -> tuple[Component, ...]:
            bits = self.walk_bits(cid, forward=True, untrusted_only=untrusted_only, inputs_only=inputs_only)
            if bits is not None:
                return self.at(bits)
            return self._ordered(self._walk([cid], forward=True, untrusted_only=untrusted_only,
                                            inputs_only=inputs_only))
        return self.memo(("down", cid, untrusted_only, inputs_only), compute)

    def is_exposed(self, component: str | Component, *, untrusted_only: bool = False,
                   inputs_only: bool = False) -> bool:
        """True when ``component`` is, or is reached from, a public service or an external component;
        with ``untrusted_only`` content passing a trusted flow no longer counts as reaching it, with
        ``inputs_only`` neither does content that only reaches it as training data."""
        comp = self.component(component if isinstance(component, str) else component.id)
        if is_entry(comp):
            return True
        up = self.walk_bits(comp.id, forward=False, untrusted_only=untrusted_only, inputs_only=inputs_only)
        if up is not None:  # an AND, not a scan of everything upstream (thousands on a long chain)
            entries = self.memo("entry-bits", lambda: self.bits_of(c.id for c in self.components if is_entry(c)))
            return bool(up & entries & ~(1 << self.position(comp.id)))
        return any(is_entry(c) for c in self.upstream_of(comp, untrusted_only=untrusted_only, inputs_only=inputs_only))


def is_entry(comp: Component) -> bool:
    """Where content from outside comes in: an outside party or a public service."""
    return comp.kind == "external" or (isinstance(comp, ServiceComponent) and comp.audience == "public")


def is_training_data(comp: Component) -> bool:
    """A dataset whose content reaches a model through training, not as inputs at inference time
    (a dataset whose use is not stated is not assumed to be one)."""
    return isinstance(comp, DatasetComponent) and bool(comp.used_for) and "retrieval" not in comp.used_for


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``system.yaml`` (draft 2020-12), field names as written in the file."""
    schema = System.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "advmatrix system description"
    return schema
