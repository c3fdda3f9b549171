"""What a threat model hands to the other engines: an assessment plan for ``advmatrix assess`` (the
procedures that test the predicted techniques) and a gateway configuration for ``advmatrix monitor``
(the detectors that watch them)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._load import read_yaml
from .predict import TechniqueFinding
from .system import System

if TYPE_CHECKING:
    from .report import ThreatModel

__all__ = ["ENABLING", "PLACEHOLDER_TARGET", "PLACEHOLDER_UPSTREAM", "assess_plan", "monitor_config",
           "read_assess_plan"]

PLACEHOLDER_TARGET = "<TARGET: a target URI or target .yaml>"
#: ``.invalid`` never resolves (RFC 2606): a configuration used unedited fails at once, not silently.
PLACEHOLDER_UPSTREAM = "http://model-server.invalid:8080"


def _related(a: str, b: str) -> bool:
    """One technique is the other, or one is a sub-technique of the other: a procedure or detector
    for AML.T0043 covers a predicted AML.T0043.001 and the other way round."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


#: Techniques that almost every procedure and detector lists because attacks go through them
#: (AI Model Inference API Access, LLM Prompt Crafting): matching on them would pick every plugin.
ENABLING = frozenset({"AML.T0040", "AML.T0065"})
#: Model tasks whose model is a classifier-like target (answers with classes or scores), not a chat.
_CLASSIFIER_TASKS = {None, "classification", "detection", "segmentation", "regression", "ranking",
                     "anomaly-detection", "other"}


def _target_kinds(system: System, *, numeric: bool = False) -> set[str]:
    """The kinds of assess target the system has: ``chat`` for an LLM application, ``classifier``
    for a model whose task is not generation-like; with ``numeric``, only a classifier that may take
    numeric inputs (images, tabular, audio; unstated may), which is what the classifier procedures perturb."""
    # an LLM served as a model behind a chat API, no app of ours around it, is a chat target all the same
    kinds = {"chat"} if any(c.kind == "llm-app" or (c.kind == "model" and c.get("task") == "generation"
                                                     and ("text" in (c.get("outputs") or ("text",))))
                            for c in system.components) else set()
    if any(c.kind == "model" and c.get("task") in _CLASSIFIER_TASKS and not (numeric and c.get("modality") == "text")
           for c in system.components):
        kinds.add("classifier")
    return kinds


def _covering(kind: str, findings: Iterable[TechniqueFinding]) -> dict[str, list[TechniqueFinding]]:
    from .. import plugins

    out: dict[str, list[TechniqueFinding]] = {}
    for name, cls in sorted(plugins.registry(kind).items()):
        ids = [t for t in cls.technique_ids if t not in ENABLING]
        hits = [f for f in findings if any(_related(f.technique_id, t) for t in ids)]
        if hits:
            out[name] = hits
    return out


def _traffic(system: System, comp: Any) -> set[str]:
    """What the gateway sees of the traffic reaching ``comp``: ``tensor`` (classifier queries), ``chat``
    (LLM exchanges) or both. A service carries what the models and applications behind it take; a
    component off the request path (a dataset, the adversary) whatever the system serves."""

    def own(c: Any) -> set[str]:
        if c.kind == "llm-app" or (c.kind == "model" and c.get("task") not in _CLASSIFIER_TASKS):
            return {"chat"}
        return {"tensor"} if c.kind == "model" else set()

    found = own(comp) or {t for c in system.downstream_of(comp) for t in own(c)}
    if not found:
        kinds = _target_kinds(system)
        found = {"tensor" if k == "classifier" else k for k in kinds}
    return found


def _reads(detector: Any, traffic: set[str]) -> bool:
    """Whether a detector sees that traffic: a tensor detector reads classifier queries (``volume``
    also counts chat requests), a chat detector LLM exchanges."""
    if detector.modality == "chat":
        return "chat" in traffic
    return "tensor" in traffic or ("chat" in traffic and detector.counts_chat)


def _takes(detector: Any, system: System, comp: Any) -> bool:
    """Whether the models behind ``comp`` may take the input a detector reads (``modalities``; a model
    that does not say its modality may)."""
    wanted = getattr(detector, "modalities", None)
    if not wanted:
        return True
    models = [c for c in (comp, *system.downstream_of(comp)) if c.kind == "model"] or \
        [c for c in system.components if c.kind == "model"]
    return not models or any(c.get("modality") in (None, *wanted) for c in models)


def _on_devices_only(system: System, comp: Any) -> bool:
    """A model or LLM app on people's devices that no service or app of ours off the device sits in front of:
    its queries never cross a server where a gateway could watch them (face unlock on a phone, an on-device
    keyboard assistant)."""
    from ._placement import in_front

    return comp.kind in ("model", "llm-app") and comp.properties.get("on_device") is True and not any(
        c.kind in ("service", "llm-app") and c.properties.get("on_device") is not True for c in in_front(system, comp))


#: What a side-effect tool does, in the system's words (the guard's own globs cover the common names).
_ACTING = ("write", "external-communication", "code-execution")


def _params(name: str, system: System) -> dict[str, Any]:
    """Parameters the system description settles for a detector: the tool-call guard learns which of
    the system's tools act, by their ids and as an agent would spell them, and treats the user turn as
    untrusted when an agent is reached from a public service or an outside party."""
    if name != "tool-call-guard":
        return {}
    from ..detect.agents import ToolCallGuardParams

    acting = [c.id for c in system.components if c.kind == "tool" and c.get("side_effects") in _ACTING]
    spelt = list(dict.fromkeys(v for t in acting for v in (t, t.replace("-", "_"))))
    out: dict[str, Any] = {}
    if spelt:
        out["side_effect_tools"] = [*ToolCallGuardParams().side_effect_tools, *spelt]
    if any(c.kind == "llm-app" and system.is_exposed(c) for c in system.components):
        out["user_is_untrusted"] = True
    return out


def _what(hits: list[TechniqueFinding], names: Iterable[str] = (), most: int = 6) -> str:
    """The findings a plugin covers, those of a technique it names (``names``) first; the rest, of a parent
    or sub-technique of one it names, said to be related, not tested as such (direct injection names
    AML.T0051 and .000; the indirect kind on the same app is only its sibling)."""
    named = set(names)
    exact = list(dict.fromkeys(f"{f.technique_id} on {f.component}" for f in hits if f.technique_id in named))
    related = list(dict.fromkeys(f"{f.technique_id} on {f.component}" for f in hits if f.technique_id not in named))
    if not named:
        exact, related = related, []
    text = "; ".join(exact[:most]) + (f"; and {len(exact) - most} more" if len(exact) > most else "")
    if related:
        shown = "; ".join(related[:3]) + (f"; and {len(related) - 3} more" if len(related) > 3 else "")
        text += ("; " if text else "") + f"related (parent or sub-technique of one it names): {shown}"
    return text


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML string


def assess_plan(tm: ThreatModel) -> str:
    """The emulation procedures that test the predicted techniques, as YAML: one assessment per
    kind of target (classifier, chat), each with a target placeholder, the ``advmatrix assess``
    command to run and a comment per procedure naming the techniques and components it tests."""
    from .. import plugins

    registry = plugins.registry("procedure")
    kinds = _target_kinds(tm.system, numeric=True)
    covering = {n: hits for n, hits in _covering("procedure", tm.prediction.findings).items()
                if registry[n].target_kind in kinds}
    # a text classifier takes strings; the classifier procedures perturb arrays (pixels, features, samples)
    text_only = "classifier" in _target_kinds(tm.system) and "classifier" not in kinds
    lines = [f"# advmatrix assess plan for the system {_q(tm.system.name)}, written by `advmatrix threatmodel`.",
             "# Each assessment lists the procedures that test the techniques the threat model predicts.",
             "# Run it with `advmatrix assess TARGET --plan THIS_FILE` (a target URI or target .yaml): assess",
             "# runs the assessment for the target's kind. Or run one assessment's command, its placeholder",
             "# replaced, or pass its 'procedures' to advmatrix.emulate.assess(target, procedures=...).",
             "version: 1", f"system: {_q(tm.system.name)}", "assessments:"]
    groups: dict[str, list[str]] = {}
    for name in covering:
        groups.setdefault(registry[name].target_kind, []).append(name)
    if text_only:
        lines.insert(5, "# The system's classifiers read text; the classifier procedures perturb numeric inputs "
                        "(images, tabular features, audio), so none is planned for them.")
    if not groups:
        lines[-1] += " []  # " + ("nothing to run: see above" if text_only else
                                  "no installed procedure tests a predicted technique")
    for kind, names in sorted(groups.items()):
        what = "an LLM application (openai+http://..., ollama+http://...)" if kind == "chat" else \
            "a classifier (kserve+http://..., torch:..., sklearn:..., onnx:...)"
        lines += [f"  - kind: {kind}", f"    target: {_q(PLACEHOLDER_TARGET)}  # {what}",
                  f"    command: {_q('advmatrix assess ' + PLACEHOLDER_TARGET + ' --procedures ' + ','.join(names))}",
                  "    procedures:"]
        for name in names:
            needs = registry[name].needs
            train = ": --train" if "train" in needs else ""
            how = f" (needs {', '.join(needs)} in the data set{train})" if needs else ""
            # a procedure that runs only with a parameter the plan cannot give is skipped unless it is passed
            how += "".join(f" (skipped without --param {name}.{key}=...: {what})"
                           for key, what in registry[name].needs_params.items())
            lines += [f"      # {name}: tests {_what(covering[name], registry[name].technique_ids)}{how}",
                      f"      {name}: {{}}"]
    return "\n".join(lines) + "\n"


def read_assess_plan(path: str | Path) -> list[dict[str, Any]]:
    """The assessments of a plan written by :func:`assess_plan`, as written (each with ``kind``,
    ``target``, ``command`` and ``procedures``), after :func:`advmatrix.threatmodel.plan.read_plan`
    has validated it (a ``FormatError`` naming file, line and field)."""
    from .plan import read_plan

    read_plan(path)
    return read_yaml(Path(path).read_text(encoding="utf-8"), str(path)).data["assessments"]


def monitor_config(tm: ThreatModel) -> str:
    """A gateway configuration (``advmatrix monitor --config``) running the detectors that watch
    the predicted techniques, each with its default response written out. Detectors that need
    context (a reference sample, the training inputs, the system prompt) are left commented out,
    with the context to add, since the system description does not hold it. A detector is offered
    only for findings whose traffic it reads (no classifier-query detector for an LLM application)."""
    from .. import plugins

    registry = plugins.registry("detector")
    covering = {}
    for name, hits in _covering("detector", tm.prediction.findings).items():
        hits = [f for f in hits if _reads(registry[name], _traffic(tm.system, tm.system.component(f.component)))
                and _takes(registry[name], tm.system, tm.system.component(f.component))
                and not _on_devices_only(tm.system, tm.system.component(f.component))]
        if hits:
            covering[name] = hits
    ready = [n for n in covering if not registry[n].context]
    waiting = [n for n in covering if registry[n].context]
    lines = [f"# advmatrix gateway configuration for the system {_q(tm.system.name)}, written by "
             "`advmatrix threatmodel`.",
             f"# It {'runs' if ready else 'lists'} the detectors that watch the techniques the threat model predicts, "
             "each with its default",
             "# response. Set 'upstream' to your model server (or pass --upstream), then:",
             "#   advmatrix monitor --config THIS_FILE",
             f"upstream: {_q(PLACEHOLDER_UPSTREAM)}",
             # A section with every entry commented out reads as none, so uncommenting one needs no other edit.
             "detectors:" + ("" if ready or waiting else " {}")
             + ("" if ready or not waiting else "  # none runs until one below is uncommented")]
    for name in ready:
        params = _params(name, tm.system)
        lines += [f"  # {name}: watches {_what(covering[name], registry[name].technique_ids)}",
                  f"  {name}: {json.dumps(params) if params else '{}'}"]
    for name in waiting:
        needs = ", ".join(registry[name].context)
        lines += [f"  # {name}: watches {_what(covering[name], registry[name].technique_ids)}",
                  f"  # needs context '{needs}': add it under 'context:' below, then uncomment",
                  f"  # {name}: {{}}"]
    lines.append("responses:" + ("" if ready or waiting else " {}"))
    for name in ready:
        lines.append(f"  {name}: {json.dumps(dict(registry[name].response))}")
    for name in waiting:
        lines.append(f"  # {name}: {json.dumps(dict(registry[name].response))}")
    if not ready:
        # Said at the top, where someone about to run the file reads: 'monitor' warns only once started.
        lines.insert(1, "# No detector runs until one below is uncommented with its context; until then the gateway "
                        "only proxies and records traffic." if waiting else
                        "# No installed detector watches a technique predicted here: the gateway only proxies and "
                        "records traffic.")
    if waiting:
        lines += ["# context:", *[f"#   {c}: ...  # {'text' if c == 'system_prompt' else 'an .npy file'}"
                                  for c in sorted({c for n in waiting for c in registry[n].context})]]
    return "\n".join(lines) + "\n"
