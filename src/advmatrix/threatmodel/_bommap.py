"""How one CycloneDX component becomes one entry of a ``system.yaml``-shaped dict: the model card's task
and modality, the pedigree's base model and origin, a data component's sensitivity, and the
``advmatrix:`` properties as fields or free properties. :mod:`.cyclonedx` walks the BOM with these.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ._words import a_kind, nearest
from .system import COMPONENT_CLASSES

__all__ = ["apply_properties", "assume", "kind_meant", "map_dataset", "map_model", "typed", "walk_nested"]

_NOT_SENSITIVE = {"", "public", "internal", "unclassified", "open"}
_LIST_FIELDS = {"controls", "used_for", "sources", "tools", "goals", "access", "outputs"}

# CycloneDX tasks are free text (Hugging Face pipeline names, mostly); ours is a closed list.
_TASKS = (
    ("speech-recognition", "speech-recognition"),
    # reading text off images (OCR, handwriting, documents): a decision on the input, as transcription is
    ("ocr", "text-recognition"), ("text-recognition", "text-recognition"),
    # Hugging Face's "x-to-y" pipelines (text-to-image, image-text-to-text, text-to-speech) make y
    ("-to-", "generation"),
    ("classification", "classification"), ("detection", "detection"), ("segmentation", "segmentation"),
    ("regression", "regression"), ("generation", "generation"), ("fill-mask", "generation"),
    ("text2text", "generation"), ("summarization", "generation"), ("question-answering", "generation"),
    ("embedding", "embedding"), ("feature-extraction", "embedding"), ("sentence-similarity", "embedding"),
    ("ranking", "ranking"), ("anomaly", "anomaly-detection"), ("translation", "translation"),
)


def _task(text: str) -> str:
    text = text.lower()
    return next((ours for key, ours in _TASKS if key in text), "other")


#: What the words of a task's name stand for, read on either side of "-to-".
_TASK_MEDIA = (("image", "image"), ("text", "text"), ("speech", "audio"), ("audio", "audio"), ("video", "video"),
               ("tabular", "tabular"))


def _media(words: str) -> list[str]:
    return [kind for key, kind in _TASK_MEDIA if key in words]


#: Words in a MIME type or format name that mean rows and columns.
_TABLES = ("csv", "tsv", "parquet", "arrow", "feather", "avro", "orc", "excel", "spreadsheet", "xlsx", "tabular")


def _format_kind(fmt: str) -> str | None:
    """The modality an input format names: a MIME type's first half, or a table whatever that says
    (application/x-parquet, text/csv); None for one that names none of ours."""
    fmt = "text" if fmt.lower() == "string" else fmt.lower()  # CycloneDX's examples write "string"
    if any(t in fmt for t in _TABLES):
        return "tabular"
    kind = fmt.split("/")[0]
    return kind if kind in ("image", "text", "audio") else None


def _modality(card: dict[str, Any], task: str) -> str | None:
    formats = [str(x.get("format", "")).lower() for x in card.get("inputs", []) if isinstance(x, dict)]
    if not formats and "-to-" in task.lower():  # text-to-image reads text, whatever it makes
        read = [k for k in _media(task.lower().split("-to-")[0]) if k != "video"]
        return read[0] if len(read) == 1 else "multimodal" if read else None
    found = {k for k in (_format_kind(f) for f in formats if f) if k}
    if len(found) > 1:
        return "multimodal"
    if found:
        return found.pop()
    for key, modality in (("image", "image"), ("text", "text"), ("speech", "audio"), ("audio", "audio"),
                          ("tabular", "tabular"), ("fill-mask", "text")):
        if key in task.lower():
            return modality
    return None


def _outputs(card: dict[str, Any]) -> list[str]:
    """What the model card's ``outputs`` formats say it produces (``image/png`` is an image, ``string`` text)."""
    kinds: dict[str, None] = {}
    for x in card.get("outputs", []):
        fmt = str(x.get("format", "")).lower() if isinstance(x, dict) else ""
        kind = "text" if fmt in ("string", "text") else fmt.split("/")[0]
        if kind in ("text", "image", "audio", "video"):
            kinds[kind] = None
    return list(kinds)


def _source_of(comp: dict[str, Any]) -> str | None:
    urls = [r.get("url", "") for r in comp.get("externalReferences", []) if isinstance(r, dict)]
    refs = [comp.get("purl", ""), *urls]
    text = " ".join(str(r) for r in refs).lower()
    if "huggingface" in text:
        return "huggingface"
    return "other" if text.strip() else None


def typed(kind: str, field: str, value: str) -> Any:
    """A property's text as the field's type: a list for list fields, a boolean for booleans."""
    cls = COMPONENT_CLASSES[kind]
    if field in _LIST_FIELDS:
        return [v.strip() for v in value.split(",") if v.strip()]
    annotation = str(cls.model_fields[field].annotation)
    return _boolean(value) if "bool" in annotation else value


def _boolean(value: str) -> bool | str:
    """A BOM's ``"true"``/``"false"`` (its values are all text) as a boolean; any other text as it is."""
    return value.lower() == "true" if value.lower() in ("true", "false") else value


def apply_properties(entry: dict[str, Any], props: dict[str, str], source: str,
                     at: Callable[[str, str], str] | None = None) -> None:
    """Set ``entry``'s fields from its ``advmatrix:`` properties; other names become free properties. ``at``
    gives ``file:line`` of a component's property (warnings name it; else ``source`` alone)."""
    fields = COMPONENT_CLASSES[entry["kind"]].model_fields
    for name, value in props.items():
        if name == "kind":
            continue
        if name in fields and name not in ("id", "properties"):
            entry[name] = typed(entry["kind"], name, value)
            continue
        _warn_free(entry, name, at(entry["id"], name) if at else source)
        # CycloneDX property values are text; "true"/"false" is how a BOM says a boolean (the rules'
        # free properties, on_device and the rest, are booleans and would never match the text).
        entry.setdefault("properties", {})[name] = _boolean(value)


def _warn_free(entry: dict[str, Any], name: str, source: str) -> None:
    # ``source`` is where to point: the property's own line where known
    """Warn when an ``advmatrix:`` name kept as a free property looks like a field: of another kind, or
    misspelt (a free property is silently read by no rule)."""
    kind = entry["kind"]
    if name in ("id", "properties"):  # fields of every kind, which no property sets
        what = ("does not set the id, which is the bom-ref (the name when there is none)" if name == "id" else
                "is not needed: any advmatrix: name that is not a field is a free property already")
        warnings.warn(f"{source}: component '{entry['id']}': advmatrix:{name} {what}; kept as a free property "
                      f"named '{name}'", UserWarning, stacklevel=2)
        return
    owners = [k for k, cls in COMPONENT_CLASSES.items() if name in cls.model_fields and k != kind]
    near = nearest(name, [f for f in COMPONENT_CLASSES[kind].model_fields if f not in ("id", "kind", "properties")],
                   cutoff=0.8)
    if owners:
        warnings.warn(f"{source}: component '{entry['id']}': advmatrix:{name} is a field of "
                      f"{' and '.join(owners)} components, not of {a_kind(kind)}; kept as a free property",
                      UserWarning, stacklevel=2)
    elif near:
        warnings.warn(f"{source}: component '{entry['id']}': advmatrix:{name} is not a field of {a_kind(kind)} "
                      f"(did you mean advmatrix:{near}?); kept as a free property", UserWarning, stacklevel=2)


def assume(entry: dict[str, Any], field: str, value: Any) -> None:
    """Set a field the BOM does not give, and list it in ``properties["assumed"]`` for the user to check."""
    entry[field] = value
    props = entry.setdefault("properties", {})
    props["assumed"] = ", ".join(filter(None, [props.get("assumed", ""), field]))


def map_model(comp: dict[str, Any], entry: dict[str, Any], ours: frozenset[str] = frozenset(),
              at: Callable[[str], str] | None = None) -> None:
    """The fields a ``machine-learning-model`` component gives: task, modality, outputs, base model, origin;
    ``ours`` holds the lower-cased names of the organisation the BOM is about (see :func:`own_names`)."""
    where = f"{at(entry['id'])}: " if at else ""  # the component's line: a model card's fields have none of ours
    card = comp.get("modelCard") or {}
    params = card.get("modelParameters") or {}
    task = params.get("task")
    if task:
        entry["task"] = _task(str(task))
        if entry["task"] == "other" and str(task).strip().lower() != "other":
            # a typo ("text-generaton") read as 'other' would quietly switch off the task's rules
            warnings.warn(f"{where}component '{entry['id']}': model card task '{task}' is none advmatrix reads "
                          "(classification, detection, generation, embedding, ...); read as 'other': say the task "
                          "in an overlay", UserWarning, stacklevel=2)
    modality = _modality(params, str(task or ""))
    if modality:
        entry["modality"] = modality
    # an input format named and not understood: the modality is then the task's guess, or unstated
    unread = [str(x["format"]) for x in params.get("inputs") or [] if isinstance(x, dict) and x.get("format")
              and _format_kind(str(x["format"])) is None]
    if unread:
        then = f"modality read from the task ({modality})" if modality else "modality left unstated"
        warnings.warn(f"{where}component '{entry['id']}': model card input format {', '.join(unread)} is none "
                      f"advmatrix reads (image, text, audio, tables); {then}: say it in an overlay", UserWarning,
                      stacklevel=2)
    outputs = _outputs(params) or (_media(str(task).lower().split("-to-", 1)[1]) if "-to-" in str(task or "") else [])
    if outputs:
        entry["outputs"] = outputs
    ancestors = [a for a in (comp.get("pedigree") or {}).get("ancestors", []) if isinstance(a, dict)]
    if ancestors:
        # the ancestor that says where it came from: a hub copy listed after a local one is the one to fear
        base = next((a for a in ancestors if _source_of(a) == "huggingface"), None) or \
            next((a for a in ancestors if _source_of(a)), ancestors[0])
        # a hub names a model by its namespace too (meta-llama/Llama-3.1-8B): CycloneDX keeps that in group
        name, group = base.get("name"), base.get("group")
        entry["base_model"] = f"{group}/{name}" if name and group else str(name or base.get("bom-ref"))
        entry["fine_tuned"] = True
        source = _source_of(base)
        if source:
            entry["source"] = source
    else:
        source = _source_of(comp)
        if source:
            entry["source"] = source
    supplier = (comp.get("supplier") or comp.get("manufacturer") or {}).get("name")
    if entry.get("source") == "huggingface":
        entry["trained_by"] = "open-source"
    elif supplier:
        # a supplier is a vendor unless it is the organisation the BOM is about; a guess either way
        assume(entry, "trained_by", "us" if str(supplier).strip().lower() in ours else "vendor")


def map_dataset(comp: dict[str, Any], entry: dict[str, Any]) -> None:
    """The fields a ``data`` component gives: sensitive when a classification is not a public one."""
    classes = {str(d.get("classification", "")).lower() for d in comp.get("data", []) if isinstance(d, dict)}
    if classes - _NOT_SENSITIVE:
        entry["sensitive"] = True


def walk_nested(items: list[Any], key: str = "components") -> list[dict[str, Any]]:
    """Every component (or service, with ``key="services"``), nested ones after their parent, in
    document order."""
    out = []
    for comp in items or []:
        if isinstance(comp, dict):
            out.append(comp)
            out.extend(walk_nested(comp.get(key, []), key))
    return out


def own_names(bom: dict[str, Any]) -> frozenset[str]:
    """The lower-cased names of the organisation the BOM is about: who made or supplies its subject, or
    the BOM. A model whose supplier is one of them was trained by us, not bought from a vendor."""
    meta = bom.get("metadata") or {}
    subject = meta.get("component") if isinstance(meta.get("component"), dict) else {}
    parties = [meta.get("manufacturer"), meta.get("manufacture"), meta.get("supplier"),
               subject.get("supplier"), subject.get("manufacturer")]
    return frozenset(str(p["name"]).strip().lower() for p in parties if isinstance(p, dict) and p.get("name"))


def kind_meant(kind: str) -> str:
    """' (did you mean 'llm-app'?)' for a misspelt kind, as system.yaml's loader says it; else ''."""
    near = nearest(str(kind).lower().replace("_", "-").replace(" ", "-"), COMPONENT_CLASSES, cutoff=0.8)
    return f" (did you mean '{near}'?)" if near else ""
