"""What changed between two matrices: added, removed, renamed and otherwise changed objects."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ._matrix import Matrix

_KINDS = ("tactics", "techniques", "mitigations", "case_studies")
# Sets kept as lists: upstream reorders them between releases without changing what they say.
_UNORDERED = frozenset({"lifecycle", "category"})


@dataclass(frozen=True)
class Change:
    id: str
    kind: str
    fields: tuple[str, ...] = ()
    old_name: str = ""
    new_name: str = ""


@dataclass(frozen=True)
class MatrixDiff:
    old_version: str
    new_version: str
    added: tuple[Change, ...] = ()
    removed: tuple[Change, ...] = ()
    renamed: tuple[Change, ...] = ()
    changed: tuple[Change, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.renamed or self.changed)

    def as_dict(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        lines = [f"ATLAS {self.old_version} -> {self.new_version}"]
        for title, items in (("added", self.added), ("removed", self.removed),
                             ("renamed", self.renamed), ("changed", self.changed)):
            lines.append(f"{title}: {len(items)}")
            for c in items:
                if title == "renamed":
                    detail = f"'{c.old_name}' -> '{c.new_name}'"
                elif title == "changed":
                    detail = f"{c.new_name} ({', '.join(c.fields)})"
                else:
                    detail = c.new_name or c.old_name
                lines.append(f"  {c.kind:<12} {c.id:<15} {detail}")
        return "\n".join(lines)


def _same(key: str, a: object, b: object) -> bool:
    if key in _UNORDERED and isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return sorted(a) == sorted(b)
    return a == b


def diff(old: Matrix, new: Matrix) -> MatrixDiff:
    """What changed between two matrices: objects added, removed, renamed and otherwise changed."""
    added, removed, renamed, changed = [], [], [], []
    for kind in _KINDS:
        singular = kind[:-1].replace("_", "-") if kind != "case_studies" else "case-study"
        a = {o.id: o for o in getattr(old, kind)}
        b = {o.id: o for o in getattr(new, kind)}
        for oid in b.keys() - a.keys():
            added.append(Change(oid, singular, new_name=b[oid].name))
        for oid in a.keys() - b.keys():
            removed.append(Change(oid, singular, old_name=a[oid].name))
        for oid in a.keys() & b.keys():
            x, y = a[oid].model_dump(), b[oid].model_dump()
            fields = tuple(k for k in y if k != "name" and not _same(k, x.get(k), y[k]))
            if x["name"] != y["name"]:
                renamed.append(Change(oid, singular, old_name=x["name"], new_name=y["name"]))
            if fields:
                changed.append(Change(oid, singular, fields, old_name=x["name"], new_name=y["name"]))
    key = lambda c: (_KINDS.index(c.kind.replace("-", "_") + "s") if c.kind != "case-study" else 3, c.id)  # noqa: E731
    ordered = (tuple(sorted(x, key=key)) for x in (added, removed, renamed, changed))
    return MatrixDiff(old.version, new.version, *ordered)
