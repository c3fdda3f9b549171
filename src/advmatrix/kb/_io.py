"""Reading structured files and turning schema failures into one readable line."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import FormatError, SchemaError, first_problem

M = TypeVar("M", bound=BaseModel)


#: Bigger than this, a file is none of ours (ATLAS and its STIX bundle are a few MiB); /dev/zero would
#: otherwise be read until memory runs out.
MAX_BYTES = 256 * 2**20
#: Nodes a YAML document may have once its aliases are expanded: a few nested aliases can stand for
#: billions of nodes that the code reading the data then walks ("billion laughs").
MAX_NODES = 2_000_000


def read_text(path: str | Path, limit: int = MAX_BYTES) -> str:
    """A regular file's UTF-8 text (a byte-order mark dropped), or one FormatError line that says why it
    cannot be had: missing, a directory, not a regular file (a pipe or a device, which could be read for
    ever), larger than ``limit`` bytes, or not UTF-8 (with the line of the first bad byte)."""
    p = Path(path)
    try:
        if not p.exists():
            # exists() is false for a link to nothing and for a loop of links too: say which
            if p.is_symlink():
                try:
                    p.resolve(strict=True)
                except (RuntimeError, OSError) as exc:  # Python 3.11 says a loop with RuntimeError, later ones ELOOP
                    if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP:
                        raise FormatError(f"{path}: a loop of symbolic links; give a file") from None
                    raise FormatError(f"{path}: a symbolic link to nothing ({os.readlink(p)})") from None
            raise FormatError(f"{path}: no such file")
        if p.is_dir():
            raise FormatError(f"{path}: is a directory, expected a file")
        if not p.is_file():
            raise FormatError(f"{path}: not a regular file (a pipe or a device); give a file")
        if p.stat().st_size > limit:
            raise FormatError(f"{path}: larger than {limit // 2**20} MiB; not a file this reads")
        data = p.read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        raise FormatError(f"{path}: is UTF-32; save it as UTF-8")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FormatError(f"{path}: is UTF-16; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FormatError(f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8") from None


def read_yaml(path: Path, lines: dict[tuple[Any, ...], int] | None = None) -> Any:
    """A YAML (or JSON) file's data, read by :func:`read_text` and :func:`parse_yaml`."""
    return parse_yaml(read_text(path), str(path), lines)


def parse_yaml(text: str, source: str, lines: dict[tuple[Any, ...], int] | None = None) -> Any:
    """One YAML document's data (safe: no tags that build objects); a syntax error, or aliases that expand
    past :data:`MAX_NODES` nodes, is one FormatError naming ``source`` and the line. Given ``lines``, it
    is filled with the line of each key and list item by its path (``("responses", "volume")``), so that
    a schema error can be reported at its line."""
    import yaml  # deferred: a warm start reads JSON and never needs it

    # libyaml is several times faster than the pure-Python parser; wheels normally include it.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, source)
        if lines is not None:
            _lines(node, lines)
        try:
            return loader.construct_document(node)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise FormatError(untypable(source, loader, node, exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FormatError(f"{source}: not valid YAML{where}: {problem}") from None
    finally:
        loader.dispose()


def untypable(source: str, loader: Any, node: Any, exc: Exception) -> str:
    """The message for a value its explicit tag cannot take (``!!int lots``, ``!!timestamp x``) or an
    integer longer than Python converts: PyYAML raises plain errors for these, some internal ('NoneType'
    has no 'groupdict'), naming no line; the line is that of the first scalar that fails alone."""
    detail = ("not what its tag says" if isinstance(exc, (AttributeError, KeyError, TypeError)) else
              (str(exc).splitlines() or [repr(exc)])[0].split(";")[0].strip()[:120])
    at = _failing_scalar(loader, node)
    return f"{source}{f':{at}' if at else ''}: not valid YAML: a value cannot be read as its type ({detail})"


def _failing_scalar(loader: Any, node: Any) -> int | None:
    import yaml

    todo = [node]
    while todo:
        n = todo.pop(0)
        if isinstance(n, yaml.ScalarNode):
            # the failed document left the loader mid-construction: each try starts it afresh
            loader.constructed_objects, loader.recursive_objects, loader.state_generators = {}, {}, []
            try:
                loader.construct_object(n)
            except (ValueError, TypeError, KeyError, AttributeError, yaml.YAMLError):
                return n.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            todo.extend(n.value)
        elif isinstance(n, yaml.MappingNode):
            todo.extend(x for pair in n.value for x in pair)
    return None


def _lines(root: Any, lines: dict[tuple[Any, ...], int]) -> None:
    import yaml

    seen: set[int] = set()  # a node reached again through an alias keeps the path it was first seen at
    todo: list[tuple[Any, tuple[Any, ...]]] = [(root, ())]
    while todo:
        node, path = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    lines.setdefault((*path, key.value), key.start_mark.line + 1)
                    todo.append((value, (*path, key.value)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines.setdefault((*path, i), item.start_mark.line + 1)
                todo.append((item, (*path, i)))


def _check_nodes(root: Any, source: str) -> None:
    """A key given twice in one mapping (YAML keeps the last silently: a second response for a detector
    replaced the first), or aliases that expand past :data:`MAX_NODES`, is one FormatError with its line."""
    import yaml

    # Post-order over the node graph, without recursion (a deeply nested file would exhaust the stack):
    # an alias is the same node object, so each node's expanded size is computed once and used many times.
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes and not children_done:
            continue
        if isinstance(node, yaml.MappingNode):
            kids = [x for pair in node.value for x in pair]
        else:
            kids = list(node.value) if isinstance(node, yaml.SequenceNode) else []
        if not children_done:
            if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:binary":
                # bytes, which a pydantic text field decodes unseen: no configuration here takes binary
                raise FormatError(f"{source}:{node.start_mark.line + 1}: a !!binary value; this file takes text, "
                                  "numbers and booleans, not bytes")
            if isinstance(node, yaml.MappingNode):
                seen: set[str] = set()
                for key, _ in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                        if key.value in seen:
                            raise FormatError(f"{source}:{key.start_mark.line + 1}: key '{key.value}' given twice")
                        seen.add(key.value)
            sizes[id(node)] = 1  # provisional: a node reached again inside itself counts once
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(k), 1) for k in kids)
        sizes[id(node)] = total
        if total > MAX_NODES:
            raise FormatError(f"{source}:{node.start_mark.line + 1}: its aliases expand to more than "
                              f"{MAX_NODES:,} values; write the data out instead")


def dump_yaml(data: Any) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


def build(model: type[M], data: Any, source: str) -> M:
    """Validate ``data`` as ``model``; a failure names the file, the object ID and the field."""
    object_id = data.get("id", "") if isinstance(data, dict) else ""
    if not isinstance(data, dict):
        raise SchemaError(f"expected a mapping, found {type(data).__name__}", source=source)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        field, message = first_problem(exc)
        raise SchemaError(message, source=source, object_id=str(object_id), field=field) from None
