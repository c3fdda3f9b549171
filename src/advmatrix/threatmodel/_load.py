"""Reading YAML (``system.yaml``, rule files, overlays) with the line of every node, refusing what no reader
should walk (bombs, huge numbers, hidden line breaks); :mod:`._validate` turns it into a :class:`System`."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import yaml

from ..errors import FormatError
from ..kb._io import read_text as _read_file
from ..kb._io import untypable

__all__ = ["MAX_PROBLEMS", "Located", "is_cyclonedx", "is_spdx", "read_text", "read_yaml", "reads_as_mapping"]

#: How many problems one error message lists; past that a count says how many more there were.
MAX_PROBLEMS = 5

Loc = tuple[str | int, ...]


class Located:
    """Parsed YAML data together with the line of every mapping key and list item in it."""

    def __init__(self, data: Any, lines: dict[Loc, int], source: str):
        self.data = data
        self.lines = lines
        self.source = source

    def line(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of the nearest enclosing node that has one (a missing field is
        reported at the mapping it is missing from)."""
        loc = tuple(loc)
        if loc and loc not in self.lines and isinstance(loc[-1], str):
            # a key YAML read as a number or a boolean is known to the lines by its text ('yes', '01')
            for at, line in self.lines.items():
                if at[:-1] == loc[:-1] and len(at) == len(loc) and isinstance(at[-1], str) and \
                        str(_scalar(at[-1])) == loc[-1]:
                    return line
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())


def _scalar(text: str) -> Any:
    """What YAML reads ``text`` as, on its own (``yes`` is True, ``01`` is 1); the text where it reads none."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


#: Past these a file is refused, not walked: aliases can make a few lines into billions of nodes
#: (a YAML "bomb"), and nesting past Python's recursion limit would crash the reader. A system of
#: 5,000 components is about 50,000 nodes, 5 levels deep.
MAX_NODES = 200_000
MAX_SEPARATORS = 2_000_000
MAX_DEPTH = 50


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int], source: str, budget: list[int] | None = None) -> None:
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise FormatError(f"{source}: more than {MAX_NODES:,} YAML nodes once aliases are expanded; refusing it")
    if len(loc) > MAX_DEPTH:
        raise FormatError(f"{source}:{node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            child = (*loc, name)
            if name in seen:
                raise FormatError(f"{source}:{key.start_mark.line + 1}: {_path(child)}: key given twice")
            seen.add(name)
            lines[child] = key.start_mark.line + 1
            _walk(value, child, lines, source, budget)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*loc, i)] = item.start_mark.line + 1
            _walk(item, (*loc, i), lines, source, budget)
    elif isinstance(node, yaml.ScalarNode):
        _check_scalar(node, loc, source)


#: Python refuses to turn longer digit strings into an int (a denial-of-service guard).
MAX_DIGITS = 4000


def _whole(value: str, where: str) -> str:
    """``value`` with each surrogate pair made the character it stands for; a lone half is an error."""
    if not any("\ud800" <= ch <= "\udfff" for ch in value):
        return value
    try:
        return value.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        raise FormatError(f"{where}: holds an unpaired surrogate escape (\\ud800-\\udfff), which is not text") from None


def _check_scalar(node: yaml.ScalarNode, loc: Loc, source: str) -> None:
    where = f"{source}:{node.start_mark.line + 1}: {_path(loc) or 'value'}"
    if node.tag == "tag:yaml.org,2002:binary":
        # bytes, which pydantic would decode into text unseen: no field of a description is binary
        raise FormatError(f"{where}: a !!binary value; this file takes text, numbers and booleans, not bytes")
    if any("\ud800" <= ch <= "\udfff" for ch in node.value):
        # YAML reads "\ud83d\ude00" as two halves where JSON (which is read as YAML here) means one emoji,
        # as Python's json.dumps writes it: a pair becomes its character. A lone half ("\ud800") loads,
        # then fails every output that encodes it.
        node.value = _whole(node.value, where)
    if node.style is None and len(node.value) > MAX_DIGITS and node.value.lstrip("+-").isdigit():
        raise FormatError(f"{where}: a number of more than {MAX_DIGITS} digits")


#: Bigger than this, a file is not a system description (and /dev/zero would be read for ever).
MAX_BYTES = 64 * 1024 * 1024


def read_text(path: str | Path) -> str:
    """The text of ``path`` (see :func:`advmatrix.kb._io.read_text`), at most :data:`MAX_BYTES` long."""
    return _read_file(path, MAX_BYTES)


#: YAML allows an implicit (unmarked) key of at most 1,024 characters; JSON has no such limit.
YAML_KEY_LIMIT = 1024
_JSON_KEY = re.compile(rf'"((?:[^"\\\n]|\\.){{{YAML_KEY_LIMIT - 8},}})"(\s*:)')


_BREAKER_NAMES = {"\u2028": "a line separator", "\u2029": "a paragraph separator", "\x85": "a next-line character"}
_LINE_BREAKERS = re.compile("[\u2028\u2029\x85]")


def read_yaml(text: str, source: str) -> Located:
    """Parse one YAML document, keeping the line of each node; syntax errors become ``FormatError``.

    JSON is read as YAML, with one difference handled here: a JSON key longer than YAML's implicit-key
    limit is valid JSON, so such keys are read through short stand-ins on the same line and put back."""
    breaker = _LINE_BREAKERS.search(text)
    if breaker:
        # YAML counts these as line breaks and editors do not: every line after one would be misnamed,
        # and one in a comment ends the comment mid-line
        line = text.count("\n", 0, breaker.start()) + 1
        raise FormatError(f"{source}:{line}: holds U+{ord(breaker.group()):04X} ({_BREAKER_NAMES[breaker.group()]}), "
                          "which YAML reads as a line break; remove it")
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{") and _JSON_KEY.search(text) and _is_json(text):
        return _read_long_keys(text, source)
    return _read(text, source)


def _is_json(text: str) -> bool:
    # YAML in flow style also starts with '{', and its quoted text may look like a key: leave it alone
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _read_long_keys(text: str, source: str) -> Located:
    # A stand-in keeps every line where it was, so each node's line stays true; its random part keeps
    # it from meeting a key of the file's own.
    keys: dict[str, str] = {}
    tag = secrets.token_hex(6)

    def stand_in(m: re.Match[str]) -> str:
        return f'"{keys.setdefault(m.group(1), f"advmatrix-long-key-{tag}-{len(keys)}")}"{m.group(2)}'

    try:
        located = _read(_JSON_KEY.sub(stand_in, text), source)
    except FormatError as exc:
        message = str(exc)
        for k, v in keys.items():
            message = message.replace(v, _path((yaml.safe_load(f'"{k}"'),)))
        raise FormatError(message) from None
    back = {v: _whole(yaml.safe_load(f'"{k}"'), f"{source}: a key") for k, v in keys.items()}

    def restore(value: Any) -> Any:
        if isinstance(value, dict):
            return {back.get(k, k) if isinstance(k, str) else k: restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [restore(v) for v in value]
        return value

    lines = {tuple(back.get(p, p) if isinstance(p, str) else p for p in loc): n for loc, n in located.lines.items()}
    return Located(restore(located.data), lines, source)


class _Loader(yaml.SafeLoader):
    """A safe loader that stops composing past :data:`MAX_NODES` nodes: counting only once the whole
    document was composed let a 10 MB list take minutes and gigabytes before it was refused."""

    def __init__(self, text: str, source: str):
        super().__init__(text)
        self._left = MAX_NODES
        self._source = source

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._left -= 1
        if self._left < 0:
            raise FormatError(f"{self._source}: more than {MAX_NODES:,} YAML nodes (about {MAX_NODES // 10:,} "
                              "components); refusing it: threat-model the system in parts")
        return super().compose_node(parent, index)


def _read(text: str, source: str) -> Located:
    # The pure-Python parser takes seconds per million items: a file this long is refused before it
    # starts (a system of 5,000 components has about 50,000 lines).
    if sum(text.count(c) for c in ",\n") > MAX_SEPARATORS:
        raise FormatError(f"{source}: more than {MAX_SEPARATORS:,} lines and commas; not a system description")
    try:
        loader = _Loader(text, source)
        try:
            node = loader.get_single_node()
            if node is None:
                raise FormatError(f"{source}:1: the file is empty")
            lines: dict[Loc, int] = {(): node.start_mark.line + 1}
            _walk(node, (), lines, source)
            try:
                data = loader.construct_document(node)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                # an explicit tag with content it cannot take (!!float abc, !!bool maybe, !!timestamp x)
                raise FormatError(untypable(source, loader, node, exc)) from None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        if text.lstrip()[:1] in ("{", "[") or source.lower().endswith(".json"):
            # meant as JSON (a BOM, a JSON system): JSON's own complaint says more than YAML's
            try:
                json.loads(text)
            except json.JSONDecodeError as bad:
                at = text.splitlines()[bad.lineno - 1].lstrip() if bad.lineno <= len(text.splitlines()) else ""
                why = "JSON has no comments" if at.startswith(("//", "/*", "#")) else f"{bad.msg} (column {bad.colno})"
                raise FormatError(f"{source}:{bad.lineno}: not valid JSON: {why}") from None
            except (ValueError, RecursionError):
                pass
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        # The parser notices an unclosed bracket where the next item starts; say where it opened.
        opened = (f" ({exc.context} at line {exc.context_mark.line + 1})"
                  if exc.problem and exc.context and exc.context_mark and mark
                  and exc.context_mark.line != mark.line else "")
        raise FormatError(f"{source}{line}: not valid YAML: {exc.problem or exc.context}{opened}"
                          f"{_yaml_hint(exc.problem or '')}") from None
    except yaml.YAMLError as exc:
        # A reader error (a NUL or other control character) has a position, not a mark, and a message
        # over two lines.
        position = getattr(exc, "position", None)
        line = f":{text.count(chr(10), 0, position) + 1}" if isinstance(position, int) else ""
        raise FormatError(f"{source}{line}: not valid YAML: {str(exc).strip().splitlines()[0]}") from None
    except RecursionError:  # the parser itself recursing on deep flow-style nesting
        raise FormatError(f"{source}: nested too deeply to read") from None
    return Located(data, lines, source)


#: What the YAML parser's complaints usually mean in a hand-written description: its own words name tokens
#: ("found '?'", "<block end>") that are not in the file.
_YAML_HINTS = (("'\\t'", "YAML indents with spaces, not tabs: replace the tab on this line"),
               ("mapping values are not allowed", "a value holding ': ' must be quoted, or this line is indented "
                                                   "deeper than a key above it"),
               ("expected <block end>", "this line is indented differently from the lines above it: a key "
                                        "indented less or more than its neighbours"),
               ("could not find expected ':'", "a key without ':' after it, or a quoted text left open"))


def _yaml_hint(problem: str) -> str:
    return next((f"; {hint}" for said, hint in _YAML_HINTS if said in problem), "")


#: A key longer than this is cut in the middle when named in a message.
MAX_KEY_SHOWN = 60


def _path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, str) and not part.isprintable():
            # a key's escape sequences would act on the terminal, its line break forge a second message
            part = part.encode("unicode_escape").decode("ascii")
        if isinstance(part, str) and len(part) > MAX_KEY_SHOWN:
            part = f"{part[:40]}…{part[-10:]} ({len(part):,} characters)"
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def is_cyclonedx(text: str) -> bool:
    """Whether ``text`` is a CycloneDX BOM: JSON with ``bomFormat`` (a BOM with a JSON mistake too), or its XML form."""
    if text.lstrip().startswith("<"):
        # The XML form: the BOM reader says it is not read, where the system.yaml reader would not parse it.
        return re.search(r"cyclonedx\.org/schema/bom", text[:10_000]) is not None
    if not text.lstrip().startswith("{"):
        return False
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # ValueError: bad JSON, or an integer too long to convert
        # A BOM with a JSON mistake (a trailing comma) is still a BOM: the BOM reader names the bad line,
        # where the system.yaml reader would complain of missing 'name' and unknown '$schema'.
        return re.search(r'"bomFormat"\s*:\s*"CycloneDX"', text[:10_000]) is not None
    return isinstance(data, dict) and "bomFormat" in data


def is_spdx(text: str) -> bool:
    """Whether ``text`` is an SPDX document: JSON with ``spdxVersion``, or the tag-value form."""
    head = text.lstrip()[:10_000]
    return head.startswith("SPDXVersion:") or (
        head.startswith("{") and re.search(r'"spdxVersion"\s*:', head) is not None)


def reads_as_mapping(text: str) -> bool:
    """Whether ``text`` reads as YAML holding a mapping."""
    import yaml

    try:
        return isinstance(yaml.safe_load(text), dict)
    except (yaml.YAMLError, ValueError, RecursionError):
        return False
