"""Data carried off in markdown or HTML that the client renders from an LLM application's
output: images that fetch by themselves and links that send their URL when clicked (AML.T0077).
How a stream cut into pieces is read is described in :mod:`advmatrix.detect._output`.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

from pydantic import Field, field_validator

from ._base import Alert, DetectorParams
from ._chat import ChatDetector, ChatEvent, OutputPiece
from ._output import HOLD, Reported, card_network, is_due, is_settled, luhn, mask, scan_start

#: longest URL read whole; a longer one is cut there (and is data by its length alone)
_URL_CAP = 1600
#: where a construct may be: one pass over the output with a literal alternation on rare characters
_RENDER_ANCHOR = re.compile(r"\]\(|\]:|\]\[|!\[|<img|<a[\s>]", re.IGNORECASE)
#: inline image or link: ![alt](url "title") / [text](<url>)
_INLINE = re.compile(
    r"(?P<bang>!?)\[(?P<text>[^\[\]\n]{0,200})\]\([ \t]{0,3}<?(?P<url>[^\s()<>]{1,CAP})"
    r"(?P<close>>?(?:[ \t]{1,3}(?:\"[^\"\n]{0,100}\"|'[^'\n]{0,100}'))?[ \t]{0,3}\))?".replace("CAP", str(_URL_CAP)))
#: reference definition, at the start of a line: [label]: url
_DEF = re.compile(r"[ ]{0,3}\[(?P<label>[^\[\]\n]{1,100})\]:[ \t]{0,3}<?(?P<url>[^\s<>]{1,CAP})"
                  .replace("CAP", str(_URL_CAP)))
#: reference use: ![alt][label] or ![alt][]
_REF = re.compile(r"(?P<bang>!?)\[(?P<text>[^\[\]\n]{1,200})\]\[(?P<label>[^\[\]\n]{0,100})\]")
#: shortcut reference image: ![label] (a shortcut link, [label], is any bracketed word: not paired)
_SHORTCUT = re.compile(r"(?P<bang>!)\[(?P<text>[^\[\]\n]{1,100})\](?![\[(:])")
#: raw HTML image or anchor
_HTML = re.compile(r"<(?P<tag>img|a)\b(?P<attrs>[^<>]{0,CAP})(?P<tclose>>)?".replace("CAP", str(_URL_CAP)),
                   re.IGNORECASE)
_CONSTRUCT_LONGEST = 2 + 200 + 5 + _URL_CAP + 110 + 8
_ATTR = {"img": re.compile(r"\bsrc[ \t]*=[ \t]*(?:\"([^\"]*)\"?|'([^']*)'?|([^\s\"'>]+))", re.IGNORECASE),
         "a": re.compile(r"\bhref[ \t]*=[ \t]*(?:\"([^\"]*)\"?|'([^']*)'?|([^\s\"'>]+))", re.IGNORECASE)}
_B64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
#: the host of an absolute or protocol-relative http(s) URL (no user, no port)
_HOST = re.compile(r"(?:https?:)?//(?:[^/?#@\s]*@)?(\[[^\]/?#]*\]|[^/?#:\s]*)", re.IGNORECASE)
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]{8,}")
_HAS_DIGIT = re.compile(r"[0-9]")
_HAS_LETTER = re.compile(r"[A-Za-z]")
_HEX_RUN = re.compile(r"[0-9a-f]+|[0-9A-F]+")
_LETTERS_OR_DIGITS = re.compile(r"[A-Za-z]+|[0-9]+")
_CASE_RUNS = re.compile(r"[A-Z]+|[a-z]+")
_NOT_LETTER = re.compile(r"[^A-Za-z]")
_VOWEL = re.compile(r"[aeiouAEIOU]")
_CARDISH = re.compile(r"[0-9][0-9 -]+[0-9]")
_NOT_DIGIT = re.compile(r"[^0-9]")
_MAX_REFS = 64


class _RenderState:
    """Reference-style markdown of one exchange (kept in ``event.notes``): definitions by label,
    uses waiting for theirs, and where the constructs already handled begin."""

    __slots__ = ("defs", "done", "uses")

    def __init__(self) -> None:
        self.defs: dict[str, list[Any]] = {}
        self.uses: dict[str, list[tuple[str, list[int]]]] = {}
        self.done = Reported(_CONSTRUCT_LONGEST)


class RenderingParams(DetectorParams):
    allowed_hosts: list[str] = Field(default_factory=list, description="hosts (and their subdomains) the "
                                     "application may link to or show images from")
    min_data_chars: int = Field(12, ge=4, le=256, description="characters of data (decoded) a URL value must "
                                "carry to count")
    links: bool = Field(True, description="alert on links carrying data too (a click sends them), not only "
                        "images (fetched when rendered)")

    @field_validator("allowed_hosts")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [h.strip().lower().lstrip("*.") for h in value if h.strip()]


def _printable_text(raw: bytes) -> bool:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return len(text) >= 6 and sum(ch.isprintable() or ch in "\t\n\r" for ch in text) >= 0.95 * len(text)


def _random_token(text: str) -> bool:
    """Whether ``text`` holds a random-looking token: a run of 8 or more letters and digits, with
    both, that is hexadecimal, or switches between letters and digits five times or more, or
    between upper and lower case eight times, or has few vowels (a quarter of its letters or
    fewer, in 10 or more characters). Words, slugs and product names (``company-logo-2024``,
    ``iphone15promax``, ``MacBookPro2024``) do not; about one 16-character base-62 token in
    twelve passes for one of them."""
    for run in _ALNUM_RUN.findall(text):
        if not (_HAS_DIGIT.search(run) and _HAS_LETTER.search(run)):
            continue
        if _HEX_RUN.fullmatch(run) or len(_LETTERS_OR_DIGITS.findall(run)) > 5:
            return True
        letters = _NOT_LETTER.sub("", run)
        if len(run) >= 10 and len(letters) >= 4 and len(_VOWEL.findall(letters)) * 4 <= len(letters):
            return True
        if len(_CASE_RUNS.findall(letters)) > 8:
            return True
    return False


def _data_in(value: str, min_chars: int, plus: bool) -> str | None:
    """What kind of data one URL value carries, if any: ``text`` (URL-encoded words), ``base64``
    or ``hex`` that decodes to text, ``card`` (a Luhn-valid card number) or ``token`` (random
    looking); None for words, slugs and short values."""
    if len(value) < min_chars:  # decoding only shortens
        return None
    text = unquote_plus(value) if plus else unquote(value)
    if len(text) < min_chars:
        return None
    if len(text.split()) >= 3:
        return "text"
    if len(value) >= max(min_chars, 16):
        if _HEX.fullmatch(value):
            if _printable_text(bytes.fromhex(value)):
                return "hex"
        elif _B64.fullmatch(value):
            try:
                raw = base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_").rstrip("=") + "==")
            except (binascii.Error, ValueError):
                raw = b""
            if _printable_text(raw):
                return "base64"
    if 13 <= len(text) <= 25 and _CARDISH.fullmatch(text):
        digits = _NOT_DIGIT.sub("", text)
        if 13 <= len(digits) <= 19 and card_network(digits) and luhn(digits):
            return "card"
    return "token" if _random_token(text) else None


class RenderingExfiltration(ChatDetector):
    """Markdown or HTML in the output that makes the user's client send data to a host off the
    allow-list when it renders the answer (AML.T0077, LLM Response Rendering): an image fetches
    by itself, a link sends its URL when clicked.

    Looked at: inline ``![alt](url)`` and ``[text](url)``, reference style (``![alt][r]`` with
    ``[r]: url``, in either order, tracked per exchange), raw ``<img src>`` and ``<a href>``.
    A construct alerts when its host is not in ``allowed_hosts`` (subdomains included; relative
    URLs stay on the application's own origin) and a URL value carries data: a query value, path
    segment or subdomain label of ``min_data_chars`` decoded characters or more that is
    URL-encoded text (three words or more), base64 or hex that decodes to text, a Luhn-valid
    card number, or (images only) a random-looking token. Images alert on data anywhere (a fetch
    needs no click; high severity); links (``links``; medium) only on text, base64, hex or cards
    — a random ID in a link (a commit, a document, a parcel to track) is ordinary, and a click
    is needed.

    Why not every external image: an image without data tells the attacker only that the
    answer was viewed, and answers legitimately show images from hosts nobody listed; the
    allow-list is the control for applications that should show none. A URL longer than 1,600
    characters is cut there and counts as data by its length. ``data:`` URLs are not looked at:
    they fetch nothing. The fragment (``#...``) is not data: clients do not send it.

    Spans cover the whole construct (for ``<a href>`` the opening tag; and a reference's
    definition) so that the ``neutralise`` response can replace it; a construct is acted on in
    the piece that closes it (``)``, ``]``, ``>``), before the gateway forwards it, and a
    definition whose URL already carries data for a pending use even before its URL ends. The
    URL in the evidence has its data masked. False-positive budget: no alert on answers linking
    to allowed hosts, links carrying IDs rather than text, or images named after products,
    dates and words; an image off the allow-list with a random-looking name (a CDN hash) does
    alert — list the host.

    Limitations: data spread over many data-free images (one per character), CSS ``url()``,
    ``srcset``, autolinks and bare URLs, shortcut reference links (``[label]``), and a linked
    image's outer link are not looked at; about one random 16-character base-62 token in twelve
    reads as a word and is missed (base64 of text, hex and the red team's canaries are not).
    """

    name = "rendering-exfiltration"
    title = "Data exfiltration through rendered markdown"
    technique_ids = ("AML.T0077",)
    Params = RenderingParams
    response = {"action": "neutralise"}
    window = 2048

    def on_output(self, event: ChatEvent, piece: OutputPiece) -> list[Alert]:
        """Report the images and links completed in this piece that carry data off the allow-list."""
        begin = scan_start(piece, _CONSTRUCT_LONGEST)
        if piece.seen.find("]", begin) < 0 and piece.seen.find("<", begin) < 0:
            return []  # every construct has one of these
        items: list[dict[str, Any]] = []
        state = None
        for _, _, kind, m, settled in self._constructs(piece, begin):
            end = m.end()
            span = [piece.start + m.start(), piece.start + end]
            if kind in ("def", "shortcut"):
                if state is None:
                    state = event.notes.get(self.name)
                    if state is None:
                        state = event.notes[self.name] = _RenderState()
                self._reference(state, piece, kind, m, span, settled, items)
            elif kind == "inline":
                self._judge(items, "image" if m.group("bang") else "link", m.group("url"), [span])
            elif kind == "html":
                tag = m.group("tag").lower()
                a = _ATTR[tag].search(m.group("attrs"))
                if a:
                    self._judge(items, "image" if tag == "img" else "link", a.group(1) or a.group(2) or a.group(3)
                                or "", [span])
            else:
                if state is None:
                    state = event.notes.get(self.name)
                    if state is None:
                        state = event.notes[self.name] = _RenderState()
                self._reference(state, piece, kind, m, span, True, items)
        if not items:
            return []
        images = [i for i in items if i["kind"] == "image"]
        first = items[0]
        message = (f"output renders {len(images)} image(s) and {len(items) - len(images)} link(s) carrying data "
                   f"to hosts off the allow-list ({first['host']})")
        spans = sorted(s for i in items for s in i.pop("spans"))
        return [self.chat_alert(event, "high" if images else "medium", message, url=first["url"],
                                host=first["host"], kind=first["kind"], items=items, spans=spans)]

    @staticmethod
    def _constructs(piece: OutputPiece, begin: int) -> list[tuple[int, int, str, re.Match, bool]]:
        """The constructs due in this piece, in the order their ends came (the order a stream
        shows them in, so reference uses and definitions pair the same way), each with whether
        it is settled. A construct that ends with its own closing character (``)``, ``]``, ``>``)
        or at the length cap is settled where it ends; a definition's URL or a shortcut
        reference needs the character after it."""
        seen, done = piece.seen, len(piece.window)
        out: dict[tuple[int, str], tuple[int, int, str, re.Match, bool]] = {}
        for a in _RENDER_ANCHOR.finditer(seen, begin):
            h, what = a.start(), a.group()[:2]
            if what != "<i" and what != "<a":
                line_end = seen.find("\n", h)
                if 0 <= line_end and line_end + HOLD <= done:
                    continue  # markdown constructs are one line: this one ended before the new text
            if what == "![":
                kind, start, pattern = "shortcut", h, _SHORTCUT
            elif what[0] == "<":
                kind, start, pattern = "html", h, _HTML
            else:
                start = seen.rfind("[", max(begin, h - 201), h)
                if start < 0:
                    continue
                if what == "]:":
                    line = seen.rfind("\n", 0, start) + 1
                    if start - line > 3 or seen[line:start].strip(" ") or (not line and piece.start):
                        continue  # not at the start of a line (or the line's start is out of sight)
                    kind, start, pattern = "def", line, _DEF
                else:
                    kind, pattern = ("inline", _INLINE) if what == "](" else ("ref", _REF)
                    start -= start > 0 and seen[start - 1] == "!"
            m = pattern.match(seen, start)
            if m is None or (kind, start) in out:
                continue
            if kind == "inline" and m.group("close") is None and len(m.group("url")) < _URL_CAP:
                continue  # not a link after all ("[x](y z)"), or its closing parenthesis is still to come
            if kind == "html" and m.group("tclose") is None and len(m.group("attrs")) < _URL_CAP:
                continue
            hold = 1 if kind == "shortcut" or (kind == "def" and len(m.group("url")) < _URL_CAP) else 0
            if is_due(piece, m.end(), hold):
                out[kind, start] = (m.end(), start, kind, m, is_settled(piece, m.end(), hold))
        return sorted(out.values(), key=lambda c: c[:2])

    def _reference(self, state: _RenderState, piece: OutputPiece, kind: str, m: re.Match, span: list[int],
                   settled: bool, items: list[dict[str, Any]]) -> None:
        """Pair reference uses with their definitions, whichever comes first. A definition whose
        URL may still go on is acted on only when it already makes a pending use alert."""
        defs, uses = state.defs, state.uses
        key = (span[0], kind)
        if key in state.done:
            return
        if kind == "def":
            label = " ".join(m.group("label").lower().split())
            if label in defs or len(defs) >= _MAX_REFS:
                state.done.add(piece, key)
                return  # the first definition of a label is the one a renderer uses
            definition = [m.group("url"), span, False]
            pending = uses.get(label, [])
            if not settled:
                trial: list[dict[str, Any]] = []
                if not any(self._judge(trial, k, definition[0], []) for k, _ in pending):
                    return  # nothing rendered would carry data yet: wait for the rest of the URL
            state.done.add(piece, key)
            defs[label] = definition
            for use_kind, use_span in uses.pop(label, []):
                self._judge_reference(definition, use_kind, use_span, items)
            return
        label = " ".join((m.group("label") if kind == "ref" and m.group("label") else m.group("text")).lower().split())
        if not settled and label not in defs:
            return  # "![a]" may still become "![a][b]" or "![a](url)": wait for the next character
        state.done.add(piece, key)
        use_kind = "image" if m.group("bang") else "link"
        if label in defs:
            self._judge_reference(defs[label], use_kind, span, items)
        elif len(uses) < _MAX_REFS or label in uses:
            pending = uses.setdefault(label, [])
            if len(pending) < 8:
                pending.append((use_kind, span))

    def _judge_reference(self, definition: list[Any], kind: str, span: list[int], items: list[dict[str, Any]]) -> None:
        url, def_span, reported = definition
        if self._judge(items, kind, url, [span] if reported else [span, def_span]):
            definition[2] = True

    def _judge(self, items: list[dict[str, Any]], kind: str, url: str, spans: list[list[int]]) -> bool:
        """Add a finding for ``url`` when it leaves the allow-list carrying data."""
        p = self.params
        if kind == "link" and not p.links:
            return False
        url = url.strip()
        h = _HOST.match(url)  # relative (same origin), data:, mailto: and the like fetch nothing elsewhere
        host = h.group(1).lower().strip("[]").rstrip(".") if h else ""
        if not host or any(host == a or host.endswith("." + a) for a in p.allowed_hosts):
            return False
        try:
            parts = urlsplit(url if url[0] != "/" else "https:" + url)
        except ValueError:
            return False
        found = self._data(parts, host, kind, len(url) >= _URL_CAP)
        if found is None:
            return False
        data, value = found
        # the data itself stays out of the evidence: masked, or (a cut URL) left out past the host
        at = url.lower().find(value.lower()) if value else -1
        shown = url[:at] + mask(value) + url[at + len(value):] if at >= 0 else url[:h.end()] + "/…"
        if value and value in host:  # data in a subdomain
            host = host.replace(value, mask(value))
        items.append({"kind": kind, "url": shown[:200], "host": host, "data": data, "spans": spans})
        return True

    def _data(self, parts: Any, host: str, kind: str, cut: bool) -> tuple[str, str] | None:
        """The kind of data the URL carries and the value holding it, or None."""
        if cut:
            return "long", ""
        n = self.params.min_data_chars
        image = kind == "image"
        strong = ("text", "base64", "hex", "card")
        for pair in parts.query.split("&") if parts.query else ():
            for value in reversed(pair.split("=", 1)):
                found = _data_in(value, n, plus=True)
                if found and (image or found in strong):
                    return found, value
        for segment in parts.path.split("/"):
            stem = segment.rsplit(".", 1)[0] if "." in segment[-6:] else segment
            found = _data_in(stem, n, plus=False)
            if found and (image or found in strong):
                return found, stem
        labels = host.split(".")[:-2]
        for label in labels:
            found = _data_in(label, n, plus=False)
            if found and (image or found in strong):
                return found, label
        return None


__all__ = ["RenderingExfiltration"]
