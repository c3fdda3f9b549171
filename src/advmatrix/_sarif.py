"""The parts of a SARIF 2.1.0 log every advmatrix emitter shares (scanner, assessment, threat model).

GitHub code scanning is the consumer that asks most: artifact URIs relative to the repository root
and valid as URI references, and for each rule a ``fullDescription``, a ``help`` text and a
``security-severity`` to rank alerts by. The schema requires none of these; GitHub does.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from . import __version__

__all__ = ["ATLAS_SITE", "SCHEMA", "SRCROOT", "artifact_uri", "category_id", "endpoint_location", "help_texts",
           "is_endpoint", "line_hash", "location", "log", "plain", "raise_severity", "rule", "source_root"]

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# Characters a URI path keeps as they are (RFC 3986 pchar without '%', plus '/').
_PATH_SAFE = "/!$&'()*+,;=@-._~"


#: The base a relative artifact URI is resolved against (``originalUriBaseIds``): the source root.
SRCROOT = "%SRCROOT%"


def source_root() -> Path:
    """The root code scanning resolves paths against: the git work tree the command runs in (its top,
    found by its ``.git``), else the working directory."""
    cwd = Path.cwd().resolve()
    return next((d for d in (cwd, *cwd.parents) if (d / ".git").exists()), cwd)


def artifact_uri(path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> str:
    """A SARIF artifact URI for ``path``.

    URLs (a live MCP server) stay as they are; labels with a scheme such as ``mcp-stdio:<command>``
    are percent-encoded; a file is made relative to ``base`` (by default :func:`source_root`, the top
    of the git work tree, since code scanning resolves locations against the repository root) when
    it lies below it, and is percent-encoded (a space or ``#`` in a name is not a valid URI reference);
    a file elsewhere becomes a ``file://`` URI.
    """
    text = os.fspath(path)
    if re.match(r"^https?://", text) and _has_scheme(text):
        return text
    if _has_scheme(text):
        return quote(text, safe=":/@!$&'()*+,;=-._~")
    # "a/../b.yaml" names b.yaml; code scanning matches the path as written, so write it plainly.
    p = Path(os.path.normpath(Path.cwd() / text))
    root = Path(base) if base is not None else source_root()
    try:
        p = p.resolve().relative_to(root.resolve())
    except ValueError:
        return p.as_uri()
    posix = p.as_posix()
    if posix.startswith("../") or posix == "..":
        # A path above the root cannot be resolved against it; say exactly where the file is.
        return p.resolve().as_uri()
    # ':' in a first segment would read as a scheme, so it is encoded too.
    return quote(posix, safe=_PATH_SAFE)


#: Where ATLAS's own links (``/techniques/AML.T0040``) point: GitHub resolves a relative one against itself.
ATLAS_SITE = "https://atlas.mitre.org/"
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def help_texts(markdown: str) -> dict[str, str]:
    """SARIF ``help`` from Markdown (knowledge-base descriptions link with site-relative paths): the
    Markdown with every link made absolute, and a plain text with the links reduced to their words."""
    return {"text": _LINK.sub(r"\1", markdown),
            "markdown": _LINK.sub(lambda m: f"[{m[1]}]({urljoin(ATLAS_SITE, m[2])})", markdown)}


def category_id(*parts: str) -> str:
    """A ``runs[].automationDetails.id`` whose category (GitHub reads the id up to its last ``/``) is
    ``parts`` joined: each part slugged, and a trailing ``/`` so that two systems or targets do not share
    one category and overwrite each other's alerts. A part the slug changes gets a short hash of its
    exact text: "fraud model" and "fraud-model", or two names in another script, stay apart."""
    return "/".join(_slug(p) for p in parts) + "/"


def _slug(part: str) -> str:
    kept = re.sub(r"[^A-Za-z0-9._-]+", "-", part).strip("-")
    if kept == part:
        return kept
    return f"{kept or 'unnamed'}-{hashlib.sha256(part.encode('utf-8')).hexdigest()[:8]}"


def is_endpoint(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names something that is not a file: a URL or a ``scheme:`` label (a live MCP server)."""
    return _has_scheme(os.fspath(path)) and not os.fspath(path).startswith("file:")


def _has_scheme(text: str) -> bool:
    # a file named "a:b" is still a file: only a name no file answers to is taken for a scheme
    return (bool(re.match(r"^[a-z][a-z0-9+.-]*:", text)) and not re.match(r"^[A-Za-z]:[\\/]", text)
            and not os.path.lexists(text))


def endpoint_location(label: str) -> dict[str, Any]:
    """An ``artifactLocation`` for an endpoint (:func:`is_endpoint`): a relative path under ``endpoints/``
    made from ``label``, which the location's description gives as it is. GitHub code scanning rejects a
    whole upload when one URI's scheme differs from the checkout's (``file``), so a server's URL or
    command cannot be the URI; a path that is no file of the repository is shown, without a preview."""
    return {"uri": "endpoints/" + _slug(label), "description": {"text": label}}


def tree_of(path: str | os.PathLike[str]) -> Path:
    """The git work tree ``path`` lies in (its top, symlinks resolved), else :func:`source_root`: code scanning
    places a file of the repository it checks out, wherever the command that described it ran from."""
    here = Path(os.path.normpath(Path.cwd() / os.fspath(path))).resolve().parent
    return next((d for d in (here, *here.parents) if (d / ".git").exists()), None) or source_root()


def location(path: str | os.PathLike[str], base: Path | None = None) -> dict[str, Any]:
    """An ``artifactLocation`` for ``path``: its URI, and for a path below the source root (or ``base``) the
    base (``uriBaseId``) it is relative to, which :func:`log` defines."""
    uri = artifact_uri(path, base)
    relative = not re.match(r"^[a-z][a-z0-9+.-]*:", uri)
    return {"uri": uri, "uriBaseId": SRCROOT} if relative else {"uri": uri}


def plain(text: str) -> str:
    """User text for a SARIF message: ``[x](y)`` in a plain-text message is an embedded link, which
    viewers make clickable, so brackets are escaped."""
    return text.replace("[", "\\[").replace("]", "\\]")


def line_hash(*parts: str) -> str:
    """A ``primaryLocationLineHash`` (the fingerprint GitHub matches alerts by) from what identifies a
    result, not from the text of its line, so editing the file does not make it a new alert."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16] + ":1"


def rule(rule_id: str, short: str, full: str, help_text: str, *, help_uri: str, tags: list[str],
         severity: str, **properties: Any) -> dict[str, Any]:
    """A ``reportingDescriptor``: ``severity`` is GitHub's ``security-severity`` (0.0 to 10.0, as text);
    ``help_text`` is Markdown (see :func:`help_texts`)."""
    return {"id": rule_id, "name": "".join(w.capitalize() for w in re.findall(r"[A-Za-z0-9]+", short)) or rule_id,
            "shortDescription": {"text": short}, "fullDescription": {"text": full},
            "help": help_texts(help_text), "helpUri": help_uri,
            "properties": {"tags": tags, "security-severity": severity, **properties}}


def raise_severity(descriptor: dict[str, Any], severity: str) -> None:
    """Keep the highest ``security-severity`` of the results a rule has."""
    props = descriptor["properties"]
    if float(props["security-severity"]) < float(severity):
        props["security-severity"] = severity


#: GitHub code scanning rejects a run of more results than this (and shows only the first 5,000).
MOST_RESULTS = 25_000


def capped(results: list[dict[str, Any]], most: int = MOST_RESULTS) -> tuple[list[dict[str, Any]], int]:
    """``results`` cut to ``most`` so that code scanning takes the file: notes go first, errors and warnings
    last (in their order); with how many were left out."""
    if len(results) <= most:
        return results, 0
    keep = {id(r) for r in results if r.get("level") != "note"}
    room = most - len(keep)
    for r in results:
        if room <= 0:
            break
        if id(r) not in keep:
            keep.add(id(r))
            room -= 1
    kept = [r for r in results if id(r) in keep][:most]
    return kept, len(results) - len(kept)


def log(rules: list[dict[str, Any]], results: list[dict[str, Any]], root: Path | None = None,
        **run: Any) -> dict[str, Any]:
    """A one-run SARIF log from advmatrix; ``run`` adds members of the run (``automationDetails``...).
    When a result's location is relative to the source root (``root``, when the locations were made
    relative to it), the run says where that root is."""
    based = any(loc.get("physicalLocation", {}).get("artifactLocation", {}).get("uriBaseId") == SRCROOT
                for r in results for loc in r.get("locations", ()))
    top = root or source_root()
    bases = {"originalUriBaseIds": {SRCROOT: {"uri": top.as_uri().rstrip("/") + "/"}}} if based else {}
    return {"$schema": SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "advmatrix", "version": __version__,
                                          "informationUri": "https://atlas.mitre.org", "rules": rules}},
                      "results": results, **bases, **run}]}
