"""The sources an upstream description cites in its Markdown, as references.

Upstream ATLAS cites most sources inside the prose (``[\\[1\\]][label]`` with ``[label]: URL
"Title"`` below, or an inline ``[text](URL)``) rather than in a ``references`` list. The bundled
data rewrites that prose, so the citations would be lost with it; they are kept as references.
Text in code spans and fenced blocks is an example payload (AML.T0077's exfiltration image),
not a citation, and is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._models import Reference

_FENCED = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
# [label]: URL "Title"   (the title may also be in single quotes or parentheses, or absent)
_DEFINITION = re.compile(
    r"""^[ ]{0,3}\[(?P<label>[^\]]+)\]:[ \t]*<?(?P<url>https?://[^\s>]+)>?"""
    r"""(?:[ \t]+(?:"(?P<t1>[^"\n]*)"|'(?P<t2>[^'\n]*)'|\((?P<t3>[^)\n]*)\)))?[ \t]*$""",
    re.M,
)
# [text][label] and [text][] uses of a definition
_USE = re.compile(r"\[((?:\\.|[^\]\\])*)\]\[([^\]]*)\]")
# [text](URL "title") and ![alt](URL); upstream sometimes leaves a space after the parenthesis
_INLINE = re.compile(r"""!?\[((?:\\.|[^\]\\])*)\]\(\s*<?(https?://[^\s)>]+)>?(?:\s+"[^"]*")?\s*\)""")
_BARE = re.compile(r"""<?(https?://[^\s<>"'\]\[)]+)""")
_TRAILING = ".,;:!?"


def _prose(text: str) -> str:
    return _CODE_SPAN.sub(" ", _FENCED.sub(" ", text))


def _label(text: str) -> str:
    label = re.sub(r"\\(.)", r"\1", text).strip()
    return "" if re.fullmatch(r"\[?\d+\]?", label) else label  # "[3]" names nothing


def cited_references(text: str | None) -> tuple[Reference, ...]:
    """Every http(s) source cited in ``text``, in the order the prose first cites it.

    A reference definition gives its quoted title; an inline link gives its link text; a bare
    address has no title. Definitions the prose never uses still count: upstream lists them as
    its sources.
    """
    if not text:
        return ()
    prose = _prose(text)
    definitions: dict[str, Reference] = {}
    for m in _DEFINITION.finditer(prose):
        title = m.group("t1") or m.group("t2") or m.group("t3") or ""
        definitions.setdefault(m.group("label").strip().lower(), Reference(title=title.strip(), url=m.group("url")))
    body = _DEFINITION.sub(" ", prose)
    found: list[tuple[int, Reference]] = []
    for m in _USE.finditer(body):
        ref = definitions.get((m.group(2) or m.group(1)).strip().lower())
        if ref is not None:
            found.append((m.start(), ref))
    inline_spans = []
    for m in _INLINE.finditer(body):
        inline_spans.append(m.span())
        found.append((m.start(), Reference(title=_label(m.group(1)), url=m.group(2))))
    for m in _BARE.finditer(body):
        if any(a <= m.start() < b for a, b in inline_spans):
            continue
        found.append((m.start(), Reference(url=m.group(1).rstrip(_TRAILING))))
    found.sort(key=lambda item: item[0])
    return merge_references([r for _, r in found], definitions.values())


def merge_references(*groups: Iterable[Reference]) -> tuple[Reference, ...]:
    """The references of all groups in order, each address once (the first one's title wins)."""
    out: dict[str, Reference] = {}
    for group in groups:
        for ref in group:
            key = ref.url or f"title:{ref.title}"
            out.setdefault(key, ref)
    return tuple(out.values())
