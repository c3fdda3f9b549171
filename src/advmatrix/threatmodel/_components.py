"""The components a ``system.yaml`` describes, one pydantic model per kind: closed enumerations and short
field names, so that threat rules can match on ``component.<field>``. ``None`` always means "not
stated"; booleans default to the riskier answer an analyst would otherwise have to check (not signed,
not rate limited, ...). The system, its flows and the graph questions are in :mod:`.system`.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ._ids import ID_PATTERN, ComponentId, MitigationId, control_in, one_or_many

__all__ = [
    "ADVERSARY_ACCESS",
    "ADVERSARY_ACTORS",
    "ADVERSARY_GOALS",
    "ALSO_HOLDS",
    "COMPONENT_CLASSES",
    "COMPONENT_KINDS",
    "IMPLIED_CONTROLS",
    "AdversaryComponent",
    "AnyComponent",
    "Component",
    "DatasetComponent",
    "ExternalComponent",
    "LlmAppComponent",
    "ModelComponent",
    "RetrievalStoreComponent",
    "ServiceComponent",
    "ToolComponent",
    "component_fields",
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
#: Fields that hold a control without the control implying the field: a signature checked before loading
#: is also code signing (AML.M0013), though code signing alone says nothing of the model's own check.
ALSO_HOLDS = {("model", "signed", True): "AML.M0013"}
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


@cache
def _field_names(cls: type[BaseModel]) -> frozenset[str]:
    # every rule reads fields of every component: pydantic's model_fields is a descriptor and a method
    # call on each read, a second or more of a system of thousands (the fields of a class never change)
    return frozenset(cls.model_fields)


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
    properties: dict[Annotated[str, Field(pattern=r"\S")], PropertyValue] = Field(
        default_factory=dict, description="Free facts for user rules; values are strings, booleans or integers.",
        # the key pattern alone would let a schema check pass a blank key the loader refuses
        json_schema_extra={"additionalProperties": False},
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
                # ``field`` lets the loader point at the field's own line, not the component's
                raise PydanticCustomError("contradicts_control", "{field}: {said} contradicts {mid} in controls",
                                          {"field": name, "said": said, "mid": mid})
        return data

    def get(self, field: str, default: Any = None) -> Any:
        """The value of ``field``, or ``default`` when this kind has no such field (rules read any field)."""
        return getattr(self, field, default) if field in _field_names(type(self)) else default

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
            "ranking", "anomaly-detection", "speech-recognition", "text-recognition", "translation", "other",
        ]
        | None
    ) = None
    modality: Literal["image", "text", "tabular", "audio", "multimodal"] | None = None
    # Apart from modality, which says what it reads: a model that reads images may write only text, and
    # only one that writes images, audio or video can fake a person.
    # None, not (): unstated is listed among what the description leaves open
    outputs: one_or_many(Literal["text", "image", "audio", "video", "tabular"]) | None = Field(
        None, description="What it produces, when that differs from what it reads (unstated: read from modality).")
    trained_by: Literal["us", "vendor", "open-source"] | None = Field(
        None, description="Who trained the weights in use (before any fine-tuning of ours)."
    )
    base_model: str | None = Field(None, description="The model it was fine-tuned or derived from.")
    source: Literal["huggingface", "model-hub", "vendor-api", "vendor", "internal", "other"] | None = Field(
        None, description="Where the weights (or the base model) came from."
    )
    artifact_format: (
        Literal["pickle", "joblib", "torch", "safetensors", "onnx", "gguf", "keras", "tensorflow", "numpy",
                "hosted", "other"]
        | None
    ) = Field(None, description="File format of the weights; 'hosted' when only a vendor holds them.")
    signed: StrictBool = Field(False, description="The artifact's signature or hash is checked before loading.")
    fine_tuned: StrictBool = Field(False, description="We fine-tuned it (on which data: see flows from datasets).")

    @model_validator(mode="after")
    def _who_holds_the_weights(self) -> ModelComponent:
        # each pair reads as two models: files we run, and weights only the vendor holds
        fmt = self.artifact_format
        if self.source == "vendor-api" and fmt not in (None, "hosted"):
            raise PydanticCustomError("contradicts_field", "{field}: {said} says we hold weight files, but source: "
                                      "vendor-api says only the vendor runs them (files a vendor delivers: source: "
                                      "vendor)", {"field": "artifact_format", "said": str(fmt)})
        if self.source == "vendor" and fmt == "hosted":
            raise PydanticCustomError("contradicts_field", "{field}: hosted says only the vendor holds the weights, "
                                      "but source: vendor says it delivered files we run (a vendor's API: source: "
                                      "vendor-api)", {"field": "artifact_format"})
        if self.signed and (fmt == "hosted" or self.source == "vendor-api"):
            # nothing is loaded here to check: the vendor runs the weights
            raise PydanticCustomError("contradicts_field", "{field}: true (or AML.M0014, Verify AI Artifacts, in "
                                      "controls) says we check the weight file before loading it, but {said} says "
                                      "only the vendor holds the weights: there is no file here to check",
                                      {"field": "signed", "said": "artifact_format: hosted" if fmt == "hosted"
                                       else "source: vendor-api"})
        return self


class ServiceComponent(Component):
    """An API or application endpoint that answers queries."""

    kind: Literal["service"]
    audience: Audience = Field(description="Who can send it queries.")
    authentication: Literal["none", "api-key", "oauth", "mtls"] | None = None
    returns: Literal["none", "labels", "scores", "explanations", "text", "embeddings", "images",
                     "audio"] | None = Field(
        None, description="The richest output a caller sees: 'scores' means confidences beside labels; "
                          "'explanations' scores with the reasons for them (feature attributions, reason codes); "
                          "'none' for an endpoint that takes uploads and answers nothing from the model."
    )
    rate_limited: StrictBool = Field(
        False, description="Queries per caller are limited; implied by AML.M0004 in controls.")
    open_signup: StrictBool | None = Field(
        None, description="Anyone can create an account (false: invited or vetted callers only).")
    # Apart from returns, which says what a model's answer shows the caller: a mail gateway returns a label
    # and still delivers the mail; a forum returns nothing and still shows every post to its readers.
    relays: StrictBool | None = Field(
        None, description="It hands what senders write on to other people (posts shown to readers, messages "
                          "delivered to members, mail to mailboxes), whatever a model says of it.")



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
    approver: Literal["requester", "staff"] | None = Field(
        None, description="Who approves its actions where a person does: the one who asked for them, or our staff.")
    memory: Literal["none", "session", "persistent"] | None = None
    shared_memory: StrictBool | None = Field(
        None, description="What it remembers is one store for every user (true) or each user's own (false).")
    renders_markdown: StrictBool = Field(
        False, description="Its output is shown as rendered Markdown/HTML (images load).")

    @model_validator(mode="after")
    def _memory_to_share(self) -> LlmAppComponent:
        if self.memory == "none" and self.shared_memory is True:
            # who shares a memory it does not keep? one of the two is a slip, and the rules would read neither
            # (false beside none agrees with it: nothing kept, nothing shared)
            raise PydanticCustomError("contradicts_field", "{field}: {said} says how a memory is shared, but "
                                      "memory: none keeps none", {"field": "shared_memory",
                                                                  "said": str(self.shared_memory).lower()})
        return self


class RetrievalStoreComponent(Component):
    """A vector store or search index whose results are put into prompts (RAG)."""

    kind: Literal["retrieval-store"]
    sources: one_or_many(DataSource) = Field((), description="How its documents were obtained.")
    writers: Audience | None = Field(None, description="The widest group that can add or change documents.")
    sensitive: StrictBool | None = Field(
        None, description="Holds data not every user of the app may see (unstated: maybe).")
    # Enterprise search trims results to the asker's rights: sensitive documents are there, but no one
    # is handed another's, so the leak between users (AML.T0057) is closed while injected text still works.
    per_user: StrictBool | None = Field(
        None, description="Each asker retrieves only the documents they may read (results trimmed by their "
                          "permissions).")
    # Per-user memory written from each user's own conversations: permission trimming alone (per_user) still
    # lets one user share a planted document with another; here nothing one user writes reaches another.
    partitioned: StrictBool | None = Field(
        None, description="Each user's (or tenant's) entries are kept apart: written by them or from their own "
                          "conversations, and retrieved only for them (per-user memory, a multi-tenant index). "
                          "Implies per_user.")

    @model_validator(mode="before")
    @classmethod
    def _partitions_are_per_user(cls, data: Any) -> Any:
        # said before the fields are read, so that the rules see per_user: true as if it had been written
        if not isinstance(data, dict) or data.get("partitioned") is not True:
            return data
        if data.get("per_user") is False:
            raise PydanticCustomError("contradicts_field", "{field}: false contradicts partitioned: true (each "
                                      "user's own entries are retrieved only for them)", {"field": "per_user"})
        return {**data, "per_user": True}


class ToolComponent(Component):
    """Something an LLM application can call: a function, a plugin, an MCP server's tool."""

    kind: Literal["tool"]
    side_effects: Literal["none", "read", "write", "external-communication", "code-execution"] | None = Field(
        None, description="The most dangerous thing a call can do."
    )
    source: Literal["first-party", "third-party", "mcp", "vendor"] | None = None
    # Apart from side_effects because one value cannot tell sending mail from opening pages, and the
    # browsing techniques (clickbait, drive-by) need the latter; unstated keeps them possible.
    browses: StrictBool | None = Field(
        None, description="It opens web pages: fetches a URL it is given or follows links from a page."
    )
    sensitive: StrictBool | None = Field(
        None, description="What it reads is not for every user of the app to see (unstated: maybe).")
    # Row-level security, permission-trimmed search: the data behind it is sensitive, yet no asker is handed
    # another's rows, as a store said per_user hands none of another's documents.
    per_user: StrictBool | None = Field(
        None, description="Each asker gets only the rows or documents they may see (row-level security).")
    # A mail or webhook sender communicates outward, yet brings nothing from outside back to the agent:
    # the rules about text that tools carry in must be able to leave it out.
    sends_only: StrictBool | None = Field(
        None, description="It only sends (mail, messages, webhooks): what it returns to the agent is a status, "
                          "never content from outside.")
    hosted: StrictBool | None = Field(
        None, description="It runs on its provider's servers: nothing of its code is installed or run here "
                          "(a search API, a remote MCP server).")
    # Who reads what it sends is not in side_effects: a payment API and a mail sender both communicate
    # outward, but only one writes to people (social engineering) or to where an outsider reads (exfiltration).
    readers: Literal["public", "partner", "internal", "none"] | None = Field(
        None, description="The widest group that reads what it writes or sends: public (mail to any address, a "
                          "public comment), partner, internal (a ticket queue only staff read), none (no person: "
                          "a payment or lookup API, rows only programs read).")
    append_only: StrictBool | None = Field(
        None, description="It only adds (posts a comment, opens a ticket, sends a message): nothing already there "
                          "can be changed or deleted through it.")

    @model_validator(mode="after")
    def _sends_or_browses(self) -> ToolComponent:
        if self.sends_only and self.browses:
            # opening pages brings their content back; a tool cannot do that and return only a status
            raise PydanticCustomError("contradicts_field", "{field}: true contradicts browses: true",
                                      {"field": "sends_only"})
        if self.sends_only and self.side_effects in ("read", "none"):
            # what a lookup returns is content: saying it returns a status would hide the text it brings in
            raise PydanticCustomError("contradicts_field", "{field}: true contradicts side_effects: {said}",
                                      {"field": "sends_only", "said": self.side_effects})
        if self.append_only and self.side_effects == "code-execution":
            # code it runs can delete whatever the process can reach, whatever the tool was meant for
            raise PydanticCustomError("contradicts_field", "{field}: true contradicts side_effects: code-execution",
                                      {"field": "append_only"})
        return self


class ExternalComponent(Component):
    """Anything outside the system: users, the internet, a partner, a vendor."""

    kind: Literal["external"]
    actor: Literal["user", "internet", "partner", "vendor", "other"] | None = None

    @model_validator(mode="after")
    def _controls_of_those_who_run_them(self) -> ExternalComponent:
        # A partner or vendor runs processes of its own (a model hub scans what it hands out); people, the
        # internet or the world at large hold none of ours: counted, a rate limit written on 'internet' would
        # clear the findings behind it and pass --fail-on.
        if self.controls and self.actor not in ("partner", "vendor"):
            raise PydanticCustomError(
                "contradicts_field", "{field}: an outside party that is not a partner or a vendor ({actor}) runs none "
                "of your controls ({ids}); list them on the component that applies them",
                {"ids": ", ".join(self.controls), "actor": self.actor or "actor unstated", "field": "controls"})
        return self


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

    @field_validator("access", mode="before")
    @classmethod
    def _says_something(cls, value: Any) -> Any:
        # read as "not stated", an empty list let the adversary take every way in (physical access too)
        if isinstance(value, (list, tuple)) and not value:
            raise PydanticCustomError("empty_access", "an empty list says nothing: leave 'access' out when it "
                                      "is not known, or name what they can reach")
        return value

    @field_validator("controls", mode="after")
    @classmethod
    def _not_theirs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # A control listed here would count as in place for the adversary's findings and pass --fail-on.
        if value:
            raise PydanticCustomError("adversary_controls", "an adversary holds none of your controls; list "
                                      "{ids} on the component that applies them", {"ids": ", ".join(value)})
        return value


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
