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
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ._ids import ID_PATTERN, ComponentId, MitigationId, control_in, one_or_many
from ._references import loc_text, reference_problems

__all__ = [
    "ADVERSARY_ACCESS",
    "ADVERSARY_ACTORS",
    "ADVERSARY_GOALS",
    "COMPONENT_KINDS",
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

Kind = Literal["model", "service", "dataset", "llm-app", "retrieval-store", "tool", "external", "adversary"]
Audience = Literal["public", "partner", "internal"]
DataSource = Literal["collected", "scraped", "vendor", "user-submitted", "public"]
PropertyValue = Union[str, bool, int]


#: The ATLAS mitigation that is a per-caller query limit.
RATE_LIMIT = "AML.M0004"
#: Fields that say a control is in place, (kind, field, value) -> the ATLAS mitigation (a service that is
#: rate limited holds AML.M0004).
IMPLIED_CONTROLS = {("service", "rate_limited", True): RATE_LIMIT,
                    ("llm-app", "autonomy", "human-approval"): "AML.M0029",  # Human In-the-Loop for Agent Actions
                    ("model", "signed", True): "AML.M0014"}  # Verify AI Artifacts
#: Those controls that also imply their field, with the value that denies them (an error beside the
#: control). Not AML.M0029: an autonomous agent may still wait for a person before its weightier actions.
CONTRADICTS = {RATE_LIMIT: False, "AML.M0014": False}
#: Who the adversary is; see docs/threatmodel-system.md for what each means.
ADVERSARY_ACTORS = ("researcher", "red-team", "criminal", "insider", "nation-state", "hacktivist", "competitor",
                    "user", "unknown")
#: What the adversary wants from the system.
ADVERSARY_GOALS = ("evade", "steal-model", "steal-data", "fraud", "disrupt", "misuse", "manipulate", "impersonate",
                   "embarrass", "compromise")
#: What the adversary can reach or change.
ADVERSARY_ACCESS = ("public", "query", "account", "physical", "supply-chain", "content", "insider", "network")
Actor = Literal[ADVERSARY_ACTORS]  # type: ignore[valid-type]
Goal = Literal[ADVERSARY_GOALS]  # type: ignore[valid-type]
Access = Literal[ADVERSARY_ACCESS]  # type: ignore[valid-type]

#: Validation context key that makes :class:`System` skip its cross-reference checks, so a loader
#: can run them itself and report each problem against its own line.
DEFER_REFERENCES = "advmatrix.threatmodel.defer_references"


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        found = control_in(value)
        if found is not None:
            raise PydanticCustomError("control_character", "holds a control character (U+{code}); remove it",
                                      {"code": f"{ord(found):04X}"})
        return value


class Component(_Base):
    """Fields every component has; the subclasses add the fields of their kind."""

    id: ComponentId = Field(min_length=1, max_length=200, pattern=ID_PATTERN,
                    description="Unique name, used by flows and tool lists.")
    kind: Kind
    name: str | None = Field(None, max_length=200, pattern=r"\S", description="Display name; defaults to the id.")
    description: str | None = Field(None, max_length=10_000)
    controls: one_or_many(MitigationId) = Field(
        (), description="ATLAS mitigation IDs (AML.M....) already in place for this component."
    )
    properties: dict[str, PropertyValue] = Field(
        default_factory=dict, description="Free facts for user rules; values are strings, booleans or integers."
    )

    @model_validator(mode="before")
    @classmethod
    def _implied_controls(cls, data: Any) -> Any:
        # A control in place and the field that says the same (AML.M0004 and rate_limited) must agree:
        # saying one and not the other must not leave reasons claiming "without a rate limit".
        if not isinstance(data, dict):
            return data
        controls = data.get("controls")
        controls = [controls] if isinstance(controls, str) else controls if isinstance(controls, list) else []
        for (kind, name, value), mid in IMPLIED_CONTROLS.items():
            if data.get("kind") != kind or mid not in controls or mid not in CONTRADICTS:
                continue
            if name not in data:
                data = {**data, name: value}
            elif data[name] is CONTRADICTS[mid]:
                said = str(data[name]).lower() if isinstance(data[name], bool) else repr(data[name])
                raise PydanticCustomError("contradicts_control", "{name}: {said} contradicts {mid} in controls",
                                          {"name": name, "said": said, "mid": mid})
        return data

    def get(self, field: str, default: Any = None) -> Any:
        """The value of ``field``, or ``default`` when this kind has no such field (rules read any field)."""
        return getattr(self, field, default) if field in type(self).model_fields else default

    @property
    def label(self) -> str:
        """The display name, falling back to the id."""
        return self.name or self.id


class ModelComponent(Component):
    """A trained model: weights we run, or a model reached through a vendor API."""

    kind: Literal["model"]
    task: (
        Literal[
            "classification", "detection", "segmentation", "regression", "generation", "embedding",
            "ranking", "anomaly-detection", "speech-recognition", "translation", "other",
        ]
        | None
    ) = None
    modality: Literal["image", "text", "tabular", "audio", "multimodal"] | None = None
    trained_by: Literal["us", "vendor", "open-source"] | None = Field(
        None, description="Who trained the weights in use (before any fine-tuning of ours)."
    )
    base_model: str | None = Field(None, description="The model it was fine-tuned or derived from.")
    source: Literal["huggingface", "model-hub", "vendor-api", "internal", "other"] | None = Field(
        None, description="Where the weights (or the base model) came from."
    )
    artifact_format: (
        Literal["pickle", "joblib", "torch", "safetensors", "onnx", "gguf", "keras", "tensorflow", "numpy",
                "hosted", "other"]
        | None
    ) = Field(None, description="File format of the weights; 'hosted' when only a vendor holds them.")
    signed: StrictBool = Field(False, description="The artifact's signature or hash is checked before loading.")
    fine_tuned: StrictBool = Field(False, description="We fine-tuned it (on which data: see flows from datasets).")


class ServiceComponent(Component):
    """An API or application endpoint that answers queries."""

    kind: Literal["service"]
    audience: Audience = Field(description="Who can send it queries.")
    authentication: Literal["none", "api-key", "oauth", "mtls"] | None = None
    returns: Literal["labels", "scores", "text", "embeddings", "images"] | None = Field(
        None, description="The richest output a caller sees: 'scores' means confidences beside labels."
    )
    rate_limited: StrictBool = Field(
        False, description="Queries per caller are limited; implied by AML.M0004 in controls.")
    open_signup: StrictBool | None = Field(
        None, description="Anyone can create an account (false: invited or vetted callers only).")



class DatasetComponent(Component):
    """Data the system trains, fine-tunes, evaluates on or retrieves from."""

    kind: Literal["dataset"]
    source: DataSource | None = Field(None, description="How the data was obtained.")
    writers: Audience | None = Field(None, description="The widest group that can add or change records.")
    sensitive: StrictBool = Field(False, description="Holds personal, confidential or regulated data.")
    used_for: one_or_many(Literal["training", "fine-tuning", "evaluation", "retrieval"]) = ()


class LlmAppComponent(Component):
    """An LLM application or agent: prompts a model, may call tools, may remember."""

    kind: Literal["llm-app"]
    system_prompt: StrictBool | Literal["secret"] = Field(
        False, description="true when it has one; 'secret' when its text must not leak."
    )
    tools: one_or_many(str) = Field((), description="Ids of the tool components it can call.")
    autonomy: Literal["none", "human-approval", "autonomous"] | None = Field(
        None, description="Whether tool calls and actions wait for a person."
    )
    memory: Literal["none", "session", "persistent"] | None = None
    renders_markdown: StrictBool = Field(
        False, description="Its output is shown as rendered Markdown/HTML (images load).")


class RetrievalStoreComponent(Component):
    """A vector store or search index whose results are put into prompts (RAG)."""

    kind: Literal["retrieval-store"]
    sources: one_or_many(DataSource) = Field((), description="How its documents were obtained.")
    writers: Audience | None = Field(None, description="The widest group that can add or change documents.")
    sensitive: StrictBool | None = Field(
        None, description="Holds data not every user of the app may see (unstated: maybe).")


class ToolComponent(Component):
    """Something an LLM application can call: a function, a plugin, an MCP server's tool."""

    kind: Literal["tool"]
    side_effects: Literal["none", "read", "write", "external-communication", "code-execution"] | None = Field(
        None, description="The most dangerous thing a call can do."
    )
    source: Literal["first-party", "third-party", "mcp"] | None = None
    # Apart from side_effects because one value cannot tell sending mail from opening pages, and the
    # browsing techniques (clickbait, drive-by) need the latter; unstated keeps them possible.
    browses: StrictBool | None = Field(
        None, description="It opens web pages: fetches a URL it is given or follows links from a page."
    )
    sensitive: StrictBool | None = Field(
        None, description="What it reads is not for every user of the app to see (unstated: maybe).")
    # A mail or webhook sender communicates outward, yet brings nothing from outside back to the agent:
    # the rules about text that tools carry in must be able to leave it out.
    sends_only: StrictBool | None = Field(
        None, description="It only sends (mail, messages, webhooks): what it returns to the agent is a status, "
                          "never content from outside.")

    @model_validator(mode="after")
    def _sends_or_browses(self) -> ToolComponent:
        if self.sends_only and self.browses:
            # opening pages brings their content back; a tool cannot do that and return only a status
            raise PydanticCustomError("contradicts_field", "sends_only: true contradicts browses: true")
        return self


class ExternalComponent(Component):
    """Anything outside the system: users, the internet, a partner, a vendor."""

    kind: Literal["external"]
    actor: Literal["user", "internet", "partner", "vendor", "other"] | None = None


class AdversaryComponent(Component):
    """Who the system is defended against: who they are, what they want, what they can reach and know.

    Not part of the data flows (what it can reach is ``access``); rules read it through their
    ``adversary:`` leaf, and techniques that depend only on the adversary (preparing infrastructure,
    phishing, physical access) are found on it.
    """

    kind: Literal["adversary"]
    actor: Actor | None = Field(None, description="Who they are.")
    goals: one_or_many(Goal) = Field((), description="What they want from the system.")
    access: one_or_many(Access) = Field((), description="What they can reach or change.")
    knowledge: Literal["black-box", "gray-box", "white-box"] | None = Field(
        None, description="How much they know of the model: white-box when they hold its weights or a copy."
    )


AnyComponent = Annotated[
    Union[
        ModelComponent, ServiceComponent, DatasetComponent, LlmAppComponent,
        RetrievalStoreComponent, ToolComponent, ExternalComponent, AdversaryComponent,
    ],
    Field(discriminator="kind"),
]

COMPONENT_CLASSES: dict[str, type[Component]] = {
    "model": ModelComponent,
    "service": ServiceComponent,
    "dataset": DatasetComponent,
    "llm-app": LlmAppComponent,
    "retrieval-store": RetrievalStoreComponent,
    "tool": ToolComponent,
    "external": ExternalComponent,
    "adversary": AdversaryComponent,
}
#: The closed list of component kinds, in the order the documentation gives them.
COMPONENT_KINDS: tuple[str, ...] = tuple(COMPONENT_CLASSES)


def component_fields(kind: str | None = None) -> frozenset[str]:
    """Field names a component of ``kind`` has (all kinds together when ``kind`` is None), for rule checks."""
    classes = [COMPONENT_CLASSES[kind]] if kind else COMPONENT_CLASSES.values()
    return frozenset(name for cls in classes for name in cls.model_fields)


class Flow(_Base):
    """Content moving from one component to another (queries, data, documents, tool results)."""

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

    def _walk(self, starts: Iterable[str], *, forward: bool, untrusted_only: bool,
              inputs_only: bool = False) -> list[str]:
        nxt = self.memo(("next", forward, untrusted_only, inputs_only),
                        lambda: self._adjacency(forward, untrusted_only, inputs_only))
        # An outside party is where content starts or ends, not a relay: answers drawn back to the user
        # do not flow on into every other service that user calls.
        outside = self.outside()
        seen: dict[str, None] = {}
        stack = list(starts)
        while stack:
            for n in nxt.get(stack.pop(), ()):
                if n not in seen:
                    seen[n] = None
                    if n not in outside:
                        stack.append(n)
        return list(seen)

    def _adjacency(self, forward: bool, untrusted_only: bool, inputs_only: bool) -> dict[str, list[str]]:
        held = {c.id for c in self.components if is_training_data(c)} if inputs_only else set()
        nxt: dict[str, list[str]] = {}
        for a, b, trusted in self.edges():
            src, dst = (a, b) if forward else (b, a)
            # training data is reached but not passed through: what lies beyond it only trains the model
            if (untrusted_only and trusted) or src in held:
                continue
            nxt.setdefault(src, []).append(dst)
        return nxt

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
        inputs_only = inputs_only and self.has_training_data()  # else the same walk: share its answer
        return self.memo(("up", cid, untrusted_only, inputs_only), lambda: self._ordered(
            c for c in self._walk([cid], forward=False, untrusted_only=untrusted_only, inputs_only=inputs_only)
            if c != cid))

    def downstream_of(self, component: str | Component, *, untrusted_only: bool = False,
                      inputs_only: bool = False) -> tuple[Component, ...]:
        """Components that content from ``component`` reaches along one or more flows; with
        ``inputs_only`` not through training data (what it reaches at inference time)."""
        cid = component if isinstance(component, str) else component.id
        self.component(cid)
        inputs_only = inputs_only and self.has_training_data()
        return self.memo(("down", cid, untrusted_only, inputs_only), lambda: self._ordered(
            self._walk([cid], forward=True, untrusted_only=untrusted_only, inputs_only=inputs_only)))

    def is_exposed(self, component: str | Component, *, untrusted_only: bool = False,
                   inputs_only: bool = False) -> bool:
        """True when ``component`` is, or is reached from, a public service or an external component;
        with ``untrusted_only`` content passing a trusted flow no longer counts as reaching it, with
        ``inputs_only`` neither does content that only reaches it as training data."""
        comp = self.component(component if isinstance(component, str) else component.id)

        def entry(c: Component) -> bool:
            return c.kind == "external" or (isinstance(c, ServiceComponent) and c.audience == "public")

        return entry(comp) or any(entry(c) for c in self.upstream_of(comp, untrusted_only=untrusted_only,
                                                                      inputs_only=inputs_only))


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
