"""Import a CycloneDX 1.5, 1.6 or 1.7 ML-BOM (JSON) as a :class:`~advmatrix.threatmodel.system.System`.

What CycloneDX says is mapped onto the schema:

- ``machine-learning-model`` components become ``model`` components; their ``modelCard`` gives the
  task and modality (read here from the JSON: cyclonedx-python-lib drops model cards), ``pedigree``
  ancestors give the base model and where it came from;
- ``data`` components become ``dataset`` components (``classification`` decides ``sensitive``; a
  model card's ``datasets`` references decide ``used_for``);
- ``services`` become ``service`` components (``x-trust-boundary`` means public, ``authenticated``
  false means no authentication) and their ``data`` flows become flows;
- ``dependencies`` become flows: when A depends on B, B's content flows into A;
- ``application`` components (the BOM's subject included) become services, ``framework`` and
  ``library`` components are left out unless a property gives them a kind.

What CycloneDX cannot say is given as component properties named ``advmatrix:<field>`` (for
example ``advmatrix:audience`` = ``public``, ``advmatrix:kind`` = ``llm-app``,
``advmatrix:controls`` = ``AML.M0004, AML.M0015``; list fields take comma-separated values), or by
an overlay: a YAML file in the ``system.yaml`` schema whose components are merged by id
(= ``bom-ref``) into the imported ones. Facts the importer had to assume are listed in the
component's ``properties["assumed"]``.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pydantic import ValidationError

from ..errors import FormatError
from ._bomcheck import (
    BomLines,
    bom_lines,
    check_shapes,
    describe_problems,
    parse_json,
    property_lines,
    read_properties,
    schema_parts,
    slug,
    validate_schema,
)
from ._bommap import apply_properties, assume, kind_meant, map_dataset, map_model, own_names, typed, walk_nested
from ._load import Located, _path, read_text, read_yaml
from ._validate import validation_problems, without_empty_fields
from ._words import nearest
from .system import COMPONENT_CLASSES, DEFER_REFERENCES, System

__all__ = ["PROPERTY_PREFIX", "bom_to_dict", "load_cyclonedx"]

#: Namespace of the CycloneDX properties this importer reads.
PROPERTY_PREFIX = "advmatrix:"
_SUPPORTED = ("1.5", "1.6", "1.7")
def bom_to_dict(bom: dict[str, Any], source: str = "bom.json", text: str | None = None,
                later: list[dict[str, Any]] | None = None, problems: list[str] | None = None) -> dict[str, Any]:
    """A parsed ML-BOM as a ``system.yaml``-shaped dict (not yet validated); a part of the wrong
    shape (text where CycloneDX has a list) is a ``FormatError`` naming its JSON path. With the BOM's
    ``text`` messages name lines too. Flows naming a party the BOM lacks are warned about and left out,
    or with ``later`` put there, for an overlay that may add the party (see :func:`load_cyclonedx`). With
    ``problems``, an ``advmatrix:kind`` no kind is put there and its component left out, so that one run
    can name every problem of the BOM, as one of a ``system.yaml`` does."""
    check_shapes(bom, source)
    lines = BomLines(text, source)
    local = _local_refs(bom)
    ours = own_names(bom)
    comps = walk_nested([(bom.get("metadata") or {}).get("component"), *(bom.get("components") or [])])
    if not any(c.get("type") == "machine-learning-model" for c in comps):
        raise FormatError(f"{source}: a CycloneDX BOM, but not an ML-BOM: no component of type machine-learning-model")
    # CycloneDX wants every bom-ref unique in the BOM; dependencies naming a ref two items hold are ambiguous,
    # whatever their type (the importer reads only some types, but a library's ref can shadow a model's)
    svcs = walk_nested(bom.get("services") or [], "services")
    refs = Counter(str(c["bom-ref"]) for c in (*comps, *svcs)
                   if isinstance(c, dict) and c.get("bom-ref") not in (None, ""))
    twice = next((ref for ref, n in refs.items() if n > 1), None)
    if twice is not None:
        among_services = any(isinstance(c, dict) and str(c.get("bom-ref")) == twice for c in svcs)
        raise FormatError(lines.twice(twice, "components or services" if among_services else "components"))
    entries: dict[str, dict[str, Any]] = {}
    used_for: dict[str, set[str]] = {}
    carded: dict[str, list[str]] = {}  # a model card's dataset reference -> the models whose cards name it
    inline: list[tuple[dict[str, Any], str]] = []  # a data set a model card describes in place, and its model
    for comp in comps:
        props = read_properties(comp, PROPERTY_PREFIX, lines)
        cid = str(comp.get("bom-ref") or slug(str(comp.get("name", ""))))
        if "kind" in props and not props["kind"].strip():
            who = comp.get("bom-ref") or comp.get("name")
            raise FormatError(f"{lines.prop_at(cid, 'kind')}: component '{who}': "
                              f"advmatrix:kind is empty; give a kind ({', '.join(COMPONENT_CLASSES)}) or leave the "
                              "property out")
        kind = props.get("kind") or {"machine-learning-model": "model", "data": "dataset",
                                     "application": "service"}.get(str(comp.get("type")))
        if kind is None:
            continue
        if kind not in COMPONENT_CLASSES:
            _bad_kind(f"{lines.prop_at(cid, 'kind')}: component '{comp.get('bom-ref') or comp.get('name')}'", kind,
                      problems)
            continue
        entry: dict[str, Any] = {"id": cid, "kind": kind, "name": comp.get("name")}
        if comp.get("description"):
            entry["description"] = comp["description"]
        if kind == "model" and comp.get("type") == "machine-learning-model":
            map_model(comp, entry, ours, lines.at)
            for ref in ((comp.get("modelCard") or {}).get("modelParameters") or {}).get("datasets", []):
                if isinstance(ref, dict) and ref.get("ref"):
                    name = local(str(ref["ref"]))
                    use = "evaluation" if ("eval" in name.lower() or "test" in name.lower()) else "training"
                    used_for.setdefault(name, set()).add(use)
                    carded.setdefault(name, []).append(cid)
                elif isinstance(ref, dict):
                    inline.append((ref, cid))
        elif kind == "dataset":
            map_dataset(comp, entry)
        elif kind == "service" and "audience" not in props:
            assume(entry, "audience", "internal")
        apply_properties(entry, props, source, lines.prop_at)
        if isinstance(entry.get("tools"), list):  # a tool named by BOM-Link, as dependencies may name it
            entry["tools"] = [local(str(t)) for t in entry["tools"]]
        if cid in entries:
            # Flows and dependencies name components by bom-ref: a second one would be silently merged away.
            raise FormatError(lines.twice(cid, "components"))
        entries[cid] = entry
    flows: list[dict[str, Any]] = []
    services = walk_nested(bom.get("services") or [], "services")
    refs = {str(c.get("bom-ref")) for c in [*comps, *services] if c.get("bom-ref")}
    # ids services will take (a bom-ref, else the slugged name): a data set made up here must not take one
    taken = set(entries) | refs | {slug(str(s.get("name", ""))) for s in services if not s.get("bom-ref")}
    made: dict[str, str] = {}  # an inline data set's own bom-ref or name -> the id it was given
    for n, (data, model) in enumerate(inline, 1):
        ref = str(data.get("bom-ref") or "")
        if ref and ref in taken and ref not in made:
            # a bom-ref names one thing: the data set would silently become that component
            raise FormatError(f"{lines.at(model)}: component '{model}': its model card describes a data set with "
                              f"bom-ref '{ref}', which {'is the model' if ref == model else 'another component has'}; "
                              "give the data set its own bom-ref")
        key = ref or str(data.get("name") or "")
        did = made.get(key) if key else None
        if did is None:
            # a name alone (or none, or one of only punctuation) gives an id that must not fall on another
            # component or on another data set described elsewhere: one is made up, after the model if need be
            did = ref or (slug(key) if key and slug(key) != "component" else f"{model}-dataset-{n}")
            while did in taken and did not in made.values():
                did += "-inline"
            if key:
                made[key] = did
            taken.add(did)
        use = "evaluation" if any(w in did.lower() for w in ("eval", "test")) else "training"
        entry = entries.setdefault(did, {"id": did, "kind": "dataset", "name": data.get("name") or did, "used_for": []})
        # described twice (two models' cards, or one card twice): what either says holds
        entry["used_for"] = sorted({*entry["used_for"], use})
        map_dataset({"data": [data]}, entry)
        flows.append({"from": did, "to": model})
    for ref, cid in ((r, c) for r, models in carded.items() for c in models):
        # each model whose card names the data set learns from it (one training set shared by two models)
        if ref not in refs and ref not in entries:  # a typo, as in a dependency: what it is used for is lost
            warnings.warn(f"{lines.at(cid)}: component '{cid}': its model card names dataset '{ref}', which no "
                          "component or service has; that reference is left out", stacklevel=2)
        elif ref in entries and entries[ref]["kind"] == "dataset":
            # the card says the model learns from it: that is a flow, dependencies listed or not
            flows.append({"from": ref, "to": cid})
        else:
            warnings.warn(f"{lines.at(cid)}: component '{cid}': its model card names '{ref}' as a data set, but it "
                          f"is a {entries[ref]['kind'] if ref in entries else 'service'}; that reference is left out",
                          stacklevel=2)
    for ref, uses in used_for.items():
        if ref in entries and entries[ref]["kind"] == "dataset" and "used_for" not in entries[ref]:
            entries[ref]["used_for"] = sorted(uses)

    said: set[str] = set()  # services whose data[] gives their flows
    for svc in services:
        props = read_properties(svc, PROPERTY_PREFIX, lines, "service")
        sid = str(svc.get("bom-ref") or slug(str(svc.get("name", ""))))
        entry = {"id": sid, "kind": props.get("kind", "service"), "name": svc.get("name")}
        if entry["kind"] not in COMPONENT_CLASSES:
            _bad_kind(f"{lines.prop_at(sid, 'kind')}: service '{sid}'", entry["kind"], problems)
            continue
        if sid in entries:
            raise FormatError(lines.twice(sid, "components or services"))
        if entry["kind"] == "service":
            if "audience" not in props:
                provider = str((svc.get("provider") or {}).get("name") or "").strip().lower()
                if provider and ours and provider not in ours:
                    # another organisation's API that we call (a vendor's model endpoint): the trust boundary
                    # it crosses is our way out, and only we send to it
                    assume(entry, "audience", "internal")
                else:
                    # a boundary crossed inward says outsiders reach it, not which outsiders: assumed, so
                    # the console and the report list it for the user to settle
                    assume(entry, "audience", "public" if svc.get("x-trust-boundary") is True else "internal")
            if svc.get("authenticated") is False:
                entry["authentication"] = "none"
            elif svc.get("authenticated") is True and "authentication" not in props:
                # CycloneDX says only that callers authenticate, not how; an API key is the common case
                assume(entry, "authentication", "api-key")
            if svc.get("endpoints"):
                entry.setdefault("properties", {})["endpoints"] = ", ".join(map(str, svc["endpoints"]))
        apply_properties(entry, props, source, lines.prop_at)
        entries[sid] = entry
        if any(isinstance(d, dict) and (d.get("source") or d.get("destination")) for d in svc.get("data") or []):
            said.add(sid)
        for data in svc.get("data") or []:
            if not isinstance(data, dict):
                continue
            what = data.get("name") or data.get("classification")
            for ref in data.get("source") or []:
                flows.append({"from": local(str(ref)), "to": sid, "data": what})
            for ref in data.get("destination") or []:
                flows.append({"from": sid, "to": local(str(ref)), "data": what})
    for dep in bom.get("dependencies") or []:
        if isinstance(dep, dict):
            for ref in dep.get("dependsOn") or []:
                if local(str(ref)) in said:
                    # a service whose data[] says where its data comes from and goes is read that way: a
                    # dependency on it (a backend that reads the events it collects) adds no flow against them
                    continue
                flows.append({"from": local(str(ref)), "to": local(str(dep.get("ref")))})
                # A service or app that depends on a model (or another service) calls it: its requests
                # flow there too, not only the answers back.
                # Not a service whose data[] says which way its data moves: one that only receives a model's
                # reads (a matcher fed by an OCR model) sends it nothing.
                caller, called = entries.get(local(str(dep.get("ref"))), {}), entries.get(local(str(ref)), {})
                if caller.get("kind") in _CALLERS and called.get("kind") in _CALLED and caller.get("id") not in said:
                    flows.append({"from": local(str(dep.get("ref"))), "to": local(str(ref))})
    for f in flows:  # a data flow without a name or classification says nothing of what moves
        if f.get("data") is None:
            f.pop("data", None)
    known = refs | set(entries)
    if later is not None:
        later += [dict(f) for f in flows if f["from"] not in known or f["to"] not in known]
        # an end the BOM has but the import leaves out (a scanner as a 'device', a library) may be one the
        # overlay adds by that id: kept then, dropped without a word otherwise, as without an overlay
        later += [{**f, "quiet": True} for f in flows if {f["from"], f["to"]} <= known
                  and not {f["from"], f["to"]} <= set(entries)]
    else:
        _warn_unknown(source, flows, known, text=text)
    # Dependencies name libraries and URLs the schema leaves out; keep only flows between kept components.
    # and not a component's dependency on itself, which says nothing about who reaches whom.
    flows = [f for f in flows if f["from"] in entries and f["to"] in entries and f["from"] != f["to"]]
    meta = (bom.get("metadata") or {}).get("component") or {}
    name = str(meta.get("name") or next((e["name"] or e["id"] for e in entries.values() if e["kind"] == "model"),
                                        Path(source).stem))
    return {"name": name, "components": list(entries.values()), "flows": _dedupe(flows)}


def _bad_kind(where: str, kind: Any, problems: list[str] | None) -> None:
    """Refuse an ``advmatrix:kind`` no kind: at once, or with ``problems`` kept for the run's one error."""
    said = f"{where}: advmatrix:kind '{kind}'{kind_meant(kind)} must be one of {', '.join(COMPONENT_CLASSES)}"
    if problems is None:
        raise FormatError(said)
    problems.append(said)


def _line_of(message: str) -> int:
    """The line a message names ('bom.json:74: ...'), for putting the problems of one run in file order."""
    found = re.match(r"[^\n]*?:(\d+): ", message)
    return int(found.group(1)) if found else 1 << 30  # a count of more problems stays last


def _local_refs(bom: dict[str, Any]) -> Callable[[str], str]:
    """A reader of references that turns a BOM-Link into this BOM (``urn:cdx:<serial>/<version>#<ref>``,
    CycloneDX's way to name a component of a BOM) into the plain ``bom-ref`` it names; others are kept."""
    serial = str(bom.get("serialNumber") or "").removeprefix("urn:uuid:").lower()
    version = str(bom.get("version", 1))

    def local(ref: str) -> str:
        # another version of this BOM may not hold the same components: only this one's are read
        if serial and ref.lower().startswith(f"urn:cdx:{serial}/{version}#"):
            return unquote(ref.split("#", 1)[1])
        return ref
    return local


def _warn_unknown(source: str, flows: list[dict[str, Any]], known: set[str], hint: str = "",
                  text: str | None = None) -> None:
    # A reference that names nothing in the BOM is a typo (or a case slip); the flow it meant is lost.
    unknown = sorted({r for f in flows for r in (f["from"], f["to"]) if r not in known})
    if unknown:
        # at the first place the text names it, after the dependencies where the BOM has them
        at = ""
        if text:
            start = max(text.find('"dependencies"'), 0)
            hit = text.find(json.dumps(unknown[0]), start)
            hit = hit if hit >= 0 else text.find(json.dumps(unknown[0]))
            at = f":{text.count(chr(10), 0, hit) + 1}" if hit >= 0 else ""
        warnings.warn(f"{source}{at}: dependencies or data flows name {', '.join(repr(r) for r in unknown[:5])}"
                      f"{' and more' if len(unknown) > 5 else ''}, which no component or service has; "
                      f"those flows are left out{hint}", stacklevel=3)


_CALLERS = frozenset({"service", "llm-app"})
_CALLED = frozenset({"model", "llm-app", "service", "tool"})


def _dedupe(flows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for f in flows:
        if (f["from"], f["to"]) not in seen:
            seen.add((f["from"], f["to"]))
            out.append(f)
    return out


def _settle_assumed(merged: dict[str, Any], given: dict[str, Any]) -> None:
    """Drop from ``merged``'s assumed fields those the overlay states and those its new kind lacks: an
    assumption about a field that no longer exists must not tell the user to state it."""
    props = merged.get("properties")
    if not isinstance(props, dict) or not props.get("assumed"):
        return
    kept = [f for f in (x.strip() for x in str(props["assumed"]).split(",")) if f and f in merged and f not in given]
    props = {k: v for k, v in props.items() if k != "assumed"}
    if kept:
        props["assumed"] = ", ".join(kept)
    merged["properties"] = props


def _rekinded(old: dict[str, Any], kind: Any) -> dict[str, Any]:
    """A BOM component's entry under the kind an overlay gives it: the fields every kind has, and its free
    properties that are fields of the new kind as those fields."""
    out = {k: old[k] for k in ("id", "name", "description", "controls", "properties") if k in old}
    fields = COMPONENT_CLASSES[kind].model_fields if kind in COMPONENT_CLASSES else {}
    free = dict(out.get("properties") or {})
    for name in [n for n in free if n in fields and n not in ("id", "kind", "properties")]:
        value = free.pop(name)
        out[name] = value if isinstance(value, bool) else typed(kind, name, str(value))
    if "properties" in out:
        out["properties"] = free
    return out


def merge_overlay(base: dict[str, Any], overlay: Located) -> dict[str, Any]:
    """``base`` with the overlay's name, description, components (merged by id) and flows added."""
    data = overlay.data
    if not isinstance(data, dict):
        raise FormatError(f"{overlay.source}:{overlay.line(())}: an overlay is a mapping like system.yaml")

    def fail(loc: tuple[str | int, ...], msg: str) -> FormatError:
        return FormatError(f"{overlay.source}:{overlay.line(loc)}: {_path(loc)}: {msg}")

    for key in data:
        if key not in ("name", "description", "components", "flows"):
            raise fail((key,), "unknown field (an overlay has name, description, components, flows)")
    for key in ("components", "flows"):
        if data.get(key) is not None and not isinstance(data[key], list):
            raise fail((key,), "expected a list")
    out = dict(base)
    for key in ("name", "description"):
        if data.get(key) is not None:  # written with no value: not stated, as in system.yaml
            out[key] = data[key]
    comps = {c["id"]: dict(c) for c in base["components"]}
    bom_ids = list(comps)
    seen_ids: set[str] = set()
    for i, comp in enumerate(data.get("components") or []):
        if isinstance(comp, dict) and isinstance(comp.get("id"), str):
            if comp["id"] in seen_ids:
                raise fail(("components", i, "id"), f"'{comp['id']}' is given twice in the overlay")
            seen_ids.add(comp["id"])
    for i, comp in enumerate(data.get("components") or []):
        if isinstance(comp, dict) and isinstance(comp.get("id"), (int, float, bool)):
            read = str(comp["id"]).lower() if isinstance(comp["id"], bool) else repr(comp["id"])
            raise fail(("components", i, "id"), f"expected text; YAML read this as {read}: put it in quotes")
        if not isinstance(comp, dict) or not isinstance(comp.get("id"), str):
            raise FormatError(f"{overlay.source}:{overlay.line(('components', i))}: components[{i}]: needs an 'id' "
                              "(text)")
        if comp["id"] not in bom_ids:
            _new_id(comp, bom_ids, overlay, i, fail)
        old = comps.get(comp["id"], {})
        if "kind" in comp and not isinstance(comp["kind"], str):
            raise fail(("components", i, "kind"), f"must be one of {', '.join(COMPONENT_CLASSES)}; "
                                                  f"got {comp['kind']!r}")
        if "kind" in comp and old and comp["kind"] != old.get("kind"):
            # A new kind invalidates the imported kind-specific fields, and makes fields of the BOM's
            # advmatrix: properties that were free under the old one (sends_only on an 'application').
            old = _rekinded(old, comp["kind"])
        merged = {**old, **comp}
        # A single control is a list of one, as in system.yaml; anything else is left for validation to report.
        given = [comp["controls"]] if isinstance(comp.get("controls"), str) else comp.get("controls")
        for j, item in enumerate(given if isinstance(given, list) else ()):
            if not isinstance(item, str):  # merged below by value: a list or mapping would not even hash
                raise fail(("components", i, "controls", j), f"expected an ATLAS mitigation ID such as AML.M0029; "
                                                             f"got {item!r}")
        if isinstance(given, list):
            merged["controls"] = list(dict.fromkeys([*old.get("controls", ()), *given]))
        if isinstance(old.get("properties"), dict) and isinstance(comp.get("properties"), dict):
            merged["properties"] = {**old["properties"], **comp["properties"]}
        _settle_assumed(merged, comp)
        comps[comp["id"]] = merged
    flows = data.get("flows") or []
    for i, flow in enumerate(flows):
        if not isinstance(flow, dict) or not isinstance(flow.get("from"), str) or not isinstance(flow.get("to"), str):
            raise FormatError(f"{overlay.source}:{overlay.line(('flows', i))}: flows[{i}]: a flow is a mapping with "
                              "'from' and 'to' (component ids)")
    out["components"] = list(comps.values())
    # An overlay flow between a pair the BOM already links completes that flow (trusted, data), as an
    # overlay component completes an imported one; the rest are added.
    merged_flows = {(f["from"], f["to"]): dict(f) for f in base["flows"]}
    pairs: set[tuple[str, str]] = set()
    for i, flow in enumerate(flows):
        key = (flow["from"], flow["to"])
        if key in pairs:
            raise fail(("flows", i), f"a flow {key[0]} -> {key[1]} is given twice in the overlay")
        pairs.add(key)
    for flow in flows:
        key = (flow["from"], flow["to"])
        merged_flows[key] = {**merged_flows.get(key, {}), **flow}
    out["flows"] = list(merged_flows.values())
    return out


def _new_id(comp: dict[str, Any], bom_ids: list[str], overlay: Located, i: int,
            fail: Callable[..., FormatError]) -> None:
    """An overlay id the BOM does not have adds a component, but one close to a BOM id (a slip of a key
    or of case) was likely meant to complete that one: an error without a kind, a warning with one."""
    cid = comp["id"]
    near = next((b for b in bom_ids if b.lower() == cid.lower()), None) or nearest(cid, bom_ids)
    if near and "kind" not in comp:
        raise fail(("components", i, "id"), f"'{cid}' is not in the BOM (did you mean '{near}'?)")
    if near:
        warnings.warn(f"{overlay.source}:{overlay.line(('components', i, 'id'))}: components[{i}].id: '{cid}' is not "
                      f"in the BOM (did you mean '{near}'?); added as a new component", UserWarning, stacklevel=3)


def load_cyclonedx(path: str | Path, overlay: str | Path | None = None, *, validate: bool = True) -> System:
    """A :class:`System` from a CycloneDX 1.5/1.6/1.7 ML-BOM JSON file and an optional overlay YAML.

    With ``validate`` the BOM is first checked against the CycloneDX JSON schema (when
    cyclonedx-python-lib is installed; a warning says so when it is not). Any problem raises one
    ``FormatError`` naming the file."""
    path = Path(path)
    source = str(path)
    text = read_text(path)
    bom = parse_json(text, source)
    if not isinstance(bom, dict) or bom.get("bomFormat") != "CycloneDX":
        raise FormatError(f"{source}: not a CycloneDX BOM (no \"bomFormat\": \"CycloneDX\")")
    version = str(bom.get("specVersion", ""))
    if version not in _SUPPORTED:
        newer = re.fullmatch(r"1\.(\d+)", version) and int(version.split(".")[1]) > 7
        raise FormatError(f"{source}: CycloneDX {version or '(no specVersion)'} "
                          + ("is newer than this reader; " if newer else "cannot describe ML models; ")
                          + f"ML-BOMs are read as {', '.join(_SUPPORTED)}")
    if validate:
        try:
            for part, offsets in schema_parts(bom, text):
                validate_schema(part, version, source, offsets, whole=text)
        except RecursionError:
            raise FormatError(f"{source}: components nested too deeply to check") from None
    early: list[str] = []  # a bad kind: said with whatever else is wrong, not alone and first
    try:
        pending: list[dict[str, Any]] = []
        with warnings.catch_warnings(record=True) as dropped:
            warnings.simplefilter("always")
            data = bom_to_dict(bom, source, text, pending if overlay is not None else None, early)
        for w in dropped if not early else ():  # flows to a component left out for its kind say nothing new
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    except (AttributeError, TypeError) as exc:
        # Only reachable when the schema check did not run (cyclonedx-python-lib missing): a field of
        # the wrong shape, such as a model card given as a list.
        raise FormatError(f"{source}: not a well-formed CycloneDX BOM ({exc}); "
                          "pip install 'advmatrix[threatmodel]' to be told where") from None
    except RecursionError:
        raise FormatError(f"{source}: components nested too deeply to read") from None
    bom_kinds = {str(c.get("id")): str(c.get("kind")) for c in data.get("components") or []}
    located = None
    if overlay is not None:
        overlay = Path(overlay)
        located = read_yaml(read_text(overlay), str(overlay))
        data = merge_overlay(data, located)
        # the BOM's flows to parties only the overlay describes (a partner, the users) are kept now
        ids = {c.get("id") for c in data.get("components") or [] if isinstance(c, dict)}
        drawn = {(f.get("from"), f.get("to")) for f in data.get("flows") or [] if isinstance(f, dict)}
        found = [{k: v for k, v in f.items() if k != "quiet"} for f in pending if f["from"] in ids and f["to"] in ids
                 and f["from"] != f["to"] and (f["from"], f["to"]) not in drawn]
        data["flows"] = [*(data.get("flows") or []), *_dedupe(found)]
        lost = [f for f in pending if (f["from"] not in ids or f["to"] not in ids) and not f.get("quiet")]
        _warn_unknown(source, lost, ids, f" (nor does {overlay})", text=text)
    data = without_empty_fields(data)  # an overlay's 'signed: ~' is not stated, as in system.yaml
    try:
        system = System.model_validate(data, context={DEFER_REFERENCES: True})
    except ValidationError as exc:
        said = describe_problems(validation_problems(exc), data, source, located, bom_kinds, bom_lines(text, source),
                                 property_lines(text, source)).split("\n")
        raise FormatError("\n".join(sorted([*early, *said], key=_line_of))) from None
    if early:
        raise FormatError("\n".join(early))
    problems = system.reference_problems()
    if problems:
        raise FormatError(describe_problems(problems, data, source, located, bom_kinds, bom_lines(text, source),
                                            property_lines(text, source)))
    return system
