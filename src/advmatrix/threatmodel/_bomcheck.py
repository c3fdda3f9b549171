"""Checks on a CycloneDX BOM before it is read: the official schema (when cyclonedx-python-lib is
installed), the shapes the import reads, and text no output could encode; where in the file each
component is, for reports that point at it; and the problems found once it is read, at their lines."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping
from typing import Any

from ..errors import FormatError
from ._load import Located, read_yaml
from ._references import loc_text
from ._words import a_kind, more

__all__ = [
    "BomLines", "bom_lines", "check_shapes", "describe_problems", "parse_json", "property_lines", "read_properties",
    "slug", "surrogate_at", "validate_schema",
]


class _KeyTwice(Exception):
    pass


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) < len(pairs):
        raise _KeyTwice
    return out


def parse_json(text: str, source: str) -> Any:
    """The BOM's JSON, or one ``FormatError`` naming the line: bad JSON, a key given twice in one
    object (which JSON readers settle without a word by keeping one of the values), text that is not
    text (a lone surrogate escape), and XML, the other form of CycloneDX."""
    if text.lstrip().startswith("<"):
        line = text[:len(text) - len(text.lstrip())].count("\n") + 1
        raise FormatError(f"{source}:{line}: XML, not JSON: the XML form of CycloneDX is not read; export the BOM "
                          "as JSON (the CycloneDX tools convert one form into the other)")
    try:
        bom = json.loads(text, object_pairs_hook=_once)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{source}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise FormatError(f"{source}: nested too deeply to read") from None
    except ValueError as exc:  # an integer of thousands of digits (Python refuses to convert it)
        # Python's message ends with how to raise its own limit, which is no advice for a BOM's author
        long_number = re.search(r"(?<![\w.\"])\d{4000,}", text)
        at = f":{text.count(chr(10), 0, long_number.start()) + 1}" if long_number else ""
        raise FormatError(f"{source}{at}: not readable JSON: {str(exc).split(';')[0]}") from None
    except _KeyTwice:
        line, where = _key_twice_at(text)
        raise FormatError(f"{source}:{line}: {where}: key given twice in one object (a JSON reader silently keeps "
                          "only one of the values); give it once") from None
    bad = surrogate_at(bom)
    if bad is not None:
        # the first escape of a surrogate in the text: a pair is text, so one not followed by its other half
        lone = re.search(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|"
                         r"(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}", text)
        at = f":{text.count(chr(10), 0, lone.start()) + 1}" if lone else ""
        raise FormatError(f"{source}{at}: {bad or 'value'}: holds an unpaired surrogate escape (\\ud800-\\udfff), "
                          "which is not text")
    return bom


_TOKEN = re.compile(r'("(?:[^"\\]|\\.)*")(\s*:)?|[{}\[\],]')


def _key_twice_at(text: str) -> tuple[int, str]:
    """The line and JSON path of the first key given twice in one object of ``text`` (valid JSON)."""
    stack: list[list[Any]] = []  # [keys seen, last key] for an object, [None, index] for a list
    for m in _TOKEN.finditer(text):
        token = m.group()
        if m.group(1) and not m.group(2):
            continue  # a value
        if m.group(2):
            keys = stack[-1][0]
            key = json.loads(m.group(1))
            if key in keys:
                where = "".join(f"[{k}]" if seen is None else f".{k}" for seen, k in stack[:-1])
                return text.count("\n", 0, m.start()) + 1, f"{where}.{key}".lstrip(".")
            keys.add(key)
            stack[-1][1] = key
        elif token in "{[":
            stack.append([set(), None] if token == "{" else [None, 0])
        elif token in "}]":
            stack.pop()
        elif token == "," and stack[-1][0] is None:
            stack[-1][1] += 1
    return 1, "a key"  # not reached: the parser found one


def validate_schema(text: str, version: str, source: str, offsets: Mapping[str, int] | None = None,
                    whole: str | None = None) -> None:
    """Check a BOM's JSON ``text`` against the CycloneDX ``version`` schema; ``offsets`` say where the lists of
    a part of a BOM (see :func:`schema_parts`) start in ``whole``, the text of the whole one, so that a
    message points there, at its line."""
    try:
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator

        error = JsonStrictValidator(SchemaVersion.from_version(version)).validate_str(text)
    except ImportError:
        warnings.warn(
            f"{source}: not checked against the CycloneDX schema; pip install 'advmatrix[threatmodel]' to check it",
            stacklevel=3,
        )
        return
    except Exception as exc:  # the library raises its own MissingOptionalDependencyException
        if type(exc).__name__ != "MissingOptionalDependencyException":
            raise
        warnings.warn(f"{source}: not checked against the CycloneDX schema: {exc}", stacklevel=3)
        return
    if error is not None:
        # The library's message is jsonschema's, with the schema fragment dumped after it: keep the
        # first line and say where in the BOM it is.
        detail = getattr(error, "data", None)
        message = getattr(detail, "message", None) or str(error).strip().splitlines()[0]
        if len(message) > 300:  # jsonschema quotes the whole offending value (thousands of components)
            message = message[:200] + " … " + message[-80:]
        path = list(getattr(detail, "absolute_path", None) or ())
        if len(path) > 1 and isinstance(path[1], int) and path[0] in (offsets or {}):
            path[1] += offsets[path[0]]  # type: ignore[index]
        where = "/".join(map(str, path))
        line = _line_of(whole or text, source, path, getattr(detail, "instance", None), message)
        raise FormatError(f"{source}{f':{line}' if line else ''}: does not follow the CycloneDX {version} schema"
                          f"{' at ' + where if where else ''}: {message}")


def _line_of(text: str, source: str, path: list[Any], instance: Any, message: str) -> int | None:
    """The line of ``path`` in the BOM ``text``; for a key the schema does not allow, the key's own line.
    Read again only here, once a check has failed: keeping every line of a BOM of thousands of components
    costs more than the check."""
    # jsonschema reports an unknown key at the object holding it, naming the key only in its message
    unexpected = re.search(r"\('([^']+)'(?:, '[^']+')* (?:was|were) unexpected\)", message)
    if unexpected and isinstance(instance, dict) and unexpected.group(1) in instance:
        path = [*path, unexpected.group(1)]
    elif message.endswith("has non-unique elements") and isinstance(instance, list):
        # at the second of two equal items, not the list's first line
        seen: list[Any] = []
        for i, item in enumerate(instance):
            if item in seen:
                path = [*path, i]
                break
            seen.append(item)
    try:
        return read_yaml(text, source).line(tuple(path))
    except (FormatError, RecursionError):
        return None


#: The schema's uniqueness checks compare every pair of a list's items: a BOM with longer lists is checked
#: in parts of this many (5,000 components took a minute in one piece, 20,000 four).
SCHEMA_PART = 2_000
_LISTS = ("components", "services", "dependencies")


def schema_parts(bom: dict[str, Any], text: str) -> list[tuple[str, dict[str, int]]]:
    """``text`` as JSON texts to check against the schema, each with where its lists start in the whole
    BOM: the text itself when no list is longer than :data:`SCHEMA_PART`, else the BOM with each long list
    cut into parts (the first part keeps everything else). Duplicates across parts are the importer's to
    find; it refuses a bom-ref given twice."""
    lists = {k: bom[k] for k in _LISTS if isinstance(bom.get(k), list)}
    if all(len(v) <= SCHEMA_PART for v in lists.values()):
        return [(text, {})]
    out = []
    for start in range(0, max(len(v) for v in lists.values()), SCHEMA_PART):
        part = dict(bom) if start == 0 else {k: bom[k] for k in ("bomFormat", "specVersion") if k in bom}
        for key, items in lists.items():
            part[key] = items[start:start + SCHEMA_PART]
        out.append((json.dumps(part), {k: start for k in lists}))
    return out


def surrogate_at(value: Any) -> str | None:
    """The JSON path of the first string holding a lone surrogate ("\\ud800" parses, then no output can
    encode it), or None. Walked with a stack: nesting deep enough to matter was refused by the parser."""
    todo: list[tuple[str, Any]] = [("", value)]
    while todo:
        where, v = todo.pop()
        if isinstance(v, str):
            if any("\ud800" <= ch <= "\udfff" for ch in v):
                return where
        elif isinstance(v, dict):
            for k, item in v.items():
                if any("\ud800" <= ch <= "\udfff" for ch in k):
                    return f"{where}.{k!r}".lstrip(".")
                todo.append((f"{where}.{k}".lstrip("."), item))
        elif isinstance(v, list):
            todo += [(f"{where}[{i}]", item) for i, item in enumerate(v)]
    return None


def check_shapes(bom: dict[str, Any], source: str) -> None:
    """The parts the import reads have the shape CycloneDX gives them: the schema check says so too,
    but it needs cyclonedx-python-lib, and without it a list given as text was read one character at
    a time or a misshapen service silently dropped."""
    def need(value: Any, kind: type, where: str) -> Any:
        if value is not None and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
            name = {list: "a list", dict: "an object", bool: "true or false", str: "text"}[kind]
            got = {bool: "a boolean", str: "text", int: "a number", float: "a number", list: "a list",
                   dict: "an object"}.get(type(value), type(value).__name__)
            raise FormatError(f"{source}: {where}: expected {name}, got {got}")
        return value if value is not None else kind()

    def card(item: dict[str, Any], where: str) -> None:
        # what the import reads of a model: its card's task, inputs and outputs, its pedigree and supplier
        params = need(need(item.get("modelCard"), dict, f"{where}.modelCard").get("modelParameters"), dict,
                      f"{where}.modelCard.modelParameters")
        for part in ("inputs", "outputs"):
            for at, io in each(params.get(part), f"{where}.modelCard.modelParameters.{part}"):
                need(io.get("format"), str, f"{at}.format")
        each(params.get("datasets"), f"{where}.modelCard.modelParameters.datasets")
        each(need(item.get("pedigree"), dict, f"{where}.pedigree").get("ancestors"), f"{where}.pedigree.ancestors")
        for party in ("supplier", "manufacturer", "provider"):
            need(need(item.get(party), dict, f"{where}.{party}").get("name"), str, f"{where}.{party}.name")
        need(item.get("bom-ref"), str, f"{where}.bom-ref")
        need(item.get("name"), str, f"{where}.name")

    def each(items: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
        return [(f"{where}[{i}]", need(item, dict, f"{where}[{i}]")) for i, item in enumerate(need(items, list, where))]

    services = each(bom.get("services"), "services")
    todo = each(bom.get("components"), "components") + services
    meta = need(bom.get("metadata"), dict, "metadata")
    if meta.get("component") is not None:
        todo.append(("metadata.component", need(meta["component"], dict, "metadata.component")))
    while todo:
        where, item = todo.pop()
        card(item, where)
        each(item.get("properties"), f"{where}.properties")
        need(item.get("endpoints"), list, f"{where}.endpoints")
        need(item.get("data"), list, f"{where}.data")
        todo += each(item.get("components"), f"{where}.components")
    for where, svc in services:  # a service's data names where its content comes from and goes
        need(svc.get("x-trust-boundary"), bool, f"{where}.x-trust-boundary")
        need(svc.get("authenticated"), bool, f"{where}.authenticated")
        for at, flow in each(svc.get("data"), f"{where}.data"):
            need(flow.get("source"), list, f"{at}.source")
            need(flow.get("destination"), list, f"{at}.destination")
    for where, dep in each(bom.get("dependencies"), "dependencies"):
        need(dep.get("ref"), str, f"{where}.ref")
        for i, ref in enumerate(need(dep.get("dependsOn"), list, f"{where}.dependsOn")):
            if not isinstance(ref, str):
                need(ref if ref is not None else 0, str, f"{where}.dependsOn[{i}]")


def slug(text: str) -> str:
    """The id a BOM component or service without a ``bom-ref`` gets from its name."""
    return re.sub(r"[^A-Za-z0-9._:/@-]+", "-", text).strip("-") or "component"


def bom_lines(text: str, source: str) -> dict[str, int]:
    """The line of each component and service of a CycloneDX JSON text, by the id the import gives it:
    its ``bom-ref``, else its slugged name (a component without a bom-ref still gets a line); ``{}``
    when the text does not parse."""
    out: dict[str, int] = {}
    for number, ref in _ref_lines(text):
        out.setdefault(ref, number)
    try:
        located = read_yaml(text, source)  # JSON is YAML, and the reader keeps each item's line
    except FormatError:
        return out
    data = located.data if isinstance(located.data, dict) else {}
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    items = [(("metadata", "component"), meta.get("component"))]
    items += [((key, i), item) for key in ("components", "services")
              for i, item in enumerate(data.get(key) if isinstance(data.get(key), list) else [])]
    for loc, item in items:
        if isinstance(item, dict) and not item.get("bom-ref") and loc in located.lines:
            out.setdefault(slug(str(item.get("name", ""))), located.lines[loc])
    return out



def property_lines(text: str, source: str, prefix: str = "advmatrix:") -> dict[tuple[str, str], list[int]]:
    """The lines of each ``prefix<field>`` property of a CycloneDX JSON text, by (component id, field), in
    the order of the text: an error about a value a property set is shown there, not at the component's
    bom-ref. Read only once an import has failed. Components and services are found wherever they nest."""
    try:
        located = read_yaml(text, source)
    except FormatError:
        return {}
    out: dict[tuple[str, str], list[int]] = {}
    todo: list[tuple[tuple[str | int, ...], Any]] = [((), located.data)]
    while todo:  # a stack, not recursion: nesting deep enough to matter was refused by the parser
        loc, node = todo.pop()
        if isinstance(node, list):
            todo += [((*loc, i), item) for i, item in enumerate(node)]
            continue
        if not isinstance(node, dict):
            continue
        props = node.get("properties")
        if isinstance(props, list) and (node.get("bom-ref") or node.get("name")):
            cid = str(node.get("bom-ref") or slug(str(node.get("name", ""))))
            for j, prop in enumerate(props):
                name = str(prop.get("name", "")) if isinstance(prop, dict) else ""
                # at its value, where the error is (one key per line, as exporters write; else the item)
                line = located.lines.get((*loc, "properties", j, "value")) or located.lines.get((*loc, "properties", j))
                if name.startswith(prefix) and line:
                    out.setdefault((cid, name[len(prefix):]), []).append(line)
        todo += [((*loc, k), v) for k, v in node.items() if k in ("metadata", "component", "components", "services")]
    return out


def _ref_lines(text: str) -> list[tuple[int, str]]:
    """Each ``"bom-ref"`` of a CycloneDX JSON text, with its line, in the order of the text."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        # every one on the line: a BOM written without newlines has them all on line 1
        for m in re.finditer(r'"bom-ref"\s*:\s*("(?:[^"\\]|\\.)*")', line):
            out.append((number, json.loads(m.group(1))))
    return out


class BomLines:
    """Where in a BOM's text its components are, looked up only when a message needs it."""

    def __init__(self, text: str | None, source: str):
        self.text, self.source = text, source
        self._lines: dict[str, int] | None = None
        self._props: dict[tuple[str, str], list[int]] | None = None

    def at(self, cid: str) -> str:
        """``file:line`` of the component or service with id ``cid``; the file alone when not known."""
        if self._lines is None:
            self._lines = bom_lines(self.text, self.source) if self.text else {}
        return f"{self.source}:{self._lines[cid]}" if cid in self._lines else self.source

    def prop_at(self, cid: str, field: str, nth: int = 0) -> str:
        """``file:line`` of the ``nth`` ``advmatrix:<field>`` property of ``cid``; its component's when unknown."""
        if self._props is None:
            self._props = property_lines(self.text, self.source) if self.text else {}
        found = self._props.get((cid, field), [])
        return f"{self.source}:{found[nth]}" if len(found) > nth else self.at(cid)

    def twice(self, ref: str, what: str) -> str:
        """The message for a ``bom-ref`` that two components (``what``) have, at the second one's line."""
        lines = [n for n, r in _ref_lines(self.text or "") if r == ref]
        if not lines:
            # ids made from names: the file has no such bom-ref to point at
            return (f"{self.source}: two {what} without a bom-ref have the name '{ref}', which is their id; "
                    "give each a bom-ref")
        if len(lines) < 2:
            return f"{self.source}:{lines[0]}: bom-ref '{ref}' names two {what} (one by its name, having no bom-ref)"
        return f"{self.source}:{lines[1]}: bom-ref '{ref}' names two {what} (the first at line {lines[0]})"


def read_properties(comp: dict[str, Any], prefix: str, lines: BomLines, what: str = "component") -> dict[str, str]:
    """The values of a component's (or service's) properties named ``prefix<field>``, by field. A name
    given twice with two values is an error (which one was meant?); with the same value, a warning."""
    cid = str(comp.get("bom-ref") or slug(str(comp.get("name", ""))))
    out: dict[str, str] = {}
    for prop in comp.get("properties", []):  # null is not a list: the caller says the BOM is not well-formed
        name = str(prop.get("name", "")) if isinstance(prop, dict) else ""
        slip = re.match(rf"\s*{re.escape(prefix[:-1])}\s*[:._/-]\s*", name, re.IGNORECASE)
        if slip and not name.startswith(prefix):  # ADVMATRIX:audience, advmatrix.audience: read by no one
            warnings.warn(f"{lines.at(cid)}: {what} '{cid}': property '{name}' is not read; the namespace is "
                          f"'{prefix}' (did you mean {prefix}{name[slip.end():]}?)", stacklevel=3)
        if not name.startswith(prefix):
            continue
        field, value = name[len(prefix):], str(prop.get("value", ""))
        if not field.strip():
            warnings.warn(f"{lines.at(cid)}: {what} '{cid}': property '{name}' names no field after "
                          f"'{prefix}'; not read", stacklevel=3)
            continue
        # 'true' and 'TRUE' say the same thing (booleans are read without case); 'pickle' and 'PICKLE' do not
        same = out.get(field) == value or (field in out and {out[field].lower(), value.lower()} <= {"true", "false"}
                                           and out[field].lower() == value.lower())
        if field in out and not same:
            raise FormatError(f"{lines.prop_at(cid, field, 1)}: {what} '{cid}': {name} is given twice, as "
                              f"'{out[field]}' and '{value}'; keep the one you mean")
        if field in out:
            warnings.warn(f"{lines.prop_at(cid, field, 1)}: {what} '{cid}': {name} is given twice (both '{value}')",
                          stacklevel=3)
        out[field] = value
    return out


def describe_problems(problems: list[tuple[tuple[str | int, ...], str]], data: dict[str, Any], source: str,
                      overlay: Located | None, bom_kinds: dict[str, str] | None = None,
                      bom_at: dict[str, int] | None = None,
                      prop_at: Mapping[tuple[str, str], list[int]] | None = None) -> str:
    """Validation problems of a system imported from the BOM ``source`` and completed by ``overlay``, one
    line each, at the line of the file that set the field; ``bom_kinds`` is each imported id's kind,
    ``bom_at`` each component's line and ``prop_at`` each ``advmatrix:`` property's (see :func:`property_lines`)."""
    bom_kinds = bom_kinds or {}

    def remade(cid: Any) -> tuple[str, str] | None:
        """Where the overlay gives a BOM component another kind, and a note saying so: the fields and
        flows that kind lacks or refuses are the overlay's doing, not the BOM's."""
        if not overlay or cid not in overlay_index or cid not in bom_kinds:
            return None
        given = overlay.data["components"][overlay_index[cid]]
        if "kind" not in given or given["kind"] == bom_kinds[cid]:
            return None
        at = f"{source}:{bom_at[cid]}" if bom_at and cid in bom_at else source
        return (f"{overlay.source}:{overlay.line(('components', overlay_index[cid], 'kind'))}",
                f"the overlay makes the BOM's {bom_kinds[cid]} at {at} {a_kind(str(given['kind']))}")
    # The merged dict has no lines: a field the overlay set is reported at its overlay line, any other
    # by the component's id (its bom-ref) in the BOM.
    overlay_index = {c.get("id"): i for i, c in enumerate((overlay.data or {}).get("components") or [])
                     if isinstance(c, dict)} if overlay else {}
    overlay_flows = ((overlay.data or {}).get("flows") or []) if overlay else []
    lines = []
    for loc, msg in problems[:5]:
        if len(loc) >= 2 and loc[0] == "components" and isinstance(loc[1], int):
            cid = data["components"][loc[1]].get("id")
            field = loc_text(loc[2:])
            given = overlay.data["components"][overlay_index[cid]] if overlay and cid in overlay_index else {}
            # The overlay's line when it set the field, or when the component is its own (a missing field
            # of a component the BOM never had is the overlay's to add).
            if overlay and cid in overlay_index and ((loc[2:3] and loc[2] in given) or cid not in bom_kinds):
                line = overlay.line(("components", overlay_index[cid], *loc[2:]))
                lines.append(f"{overlay.source}:{line}: component '{cid}'{': ' + field if field else ''}: {msg}")
            elif (why := remade(cid)) is not None:
                lines.append(f"{why[0]}: component '{cid}'{': ' + field if field else ''}: {msg} ({why[1]})")
            else:
                # A BOM's values are all text: "true", not an unquoted true, is what it can say.
                msg = msg.replace("must be true or false (unquoted)", 'must be "true" or "false"')
                line = ((prop_at or {}).get((cid, str(loc[2]))) or [None])[0] if len(loc) > 2 else None
                line = line or (bom_at or {}).get(cid)
                at = f"{source}:{line}" if line else source
                lines.append(f"{at}: component '{cid}'{': ' + field if field else ''}: {msg}")
        elif len(loc) >= 2 and loc[0] == "flows" and isinstance(loc[1], int):
            flow = data["flows"][loc[1]]
            where = next((j for j, f in enumerate(overlay_flows) if isinstance(f, dict)
                          and (f.get("from"), f.get("to")) == (flow.get("from"), flow.get("to"))), None)
            field = f"{loc[2]}: " if len(loc) > 2 else ""
            # a BOM flow has no line of its own: the component its faulty end names has one
            end = flow.get(loc[2]) if loc[2:3] in (("from",), ("to",)) else flow.get("to")
            at = (f"{overlay.source}:{overlay.line(('flows', where, *loc[2:]))}" if overlay and where is not None
                  else f"{source}:{bom_at[end]}" if bom_at and end in bom_at else source)
            why = remade(flow.get(loc[2])) if where is None and loc[2:3] in (("from",), ("to",)) else None
            if why:  # a BOM flow the overlay's new kind refuses
                at, msg = why[0], f"{msg} (the flow is the BOM's; {why[1]})"
            lines.append(f"{at}: flow {flow.get('from')} -> {flow.get('to')}: {field}{msg}")
        elif overlay and loc and loc[0] in (overlay.data or {}):
            lines.append(f"{overlay.source}:{overlay.line(loc)}: {'.'.join(map(str, loc))}: {msg}")
        else:
            lines.append(f"{source}: {'.'.join(map(str, loc))}: {msg}")
    if len(problems) > 5:
        lines.append(f"... and {more(len(problems) - 5, 'problem')}")
    return "\n".join(lines)
