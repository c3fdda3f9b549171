"""Readings of a text as an LLM would read it, for detectors that match words (AML.T0068 LLM
Prompt Obfuscation): a keyword filter sees the characters as sent, a model reads through
invisible characters, look-alike letters and encodings.

:func:`views` returns the text as written (``original``) followed by every distinct reading it
can produce, each named by the steps that made it (joined with ``+``, e.g. ``base64+homoglyphs``):

- ``invisible``: zero-width and bidirectional-control characters and soft hyphens removed;
  Unicode tag characters (U+E0020–U+E007E, "ASCII smuggling") turned into the ASCII they hide;
  runs of variation selectors (the bytes of "emoji smuggling") decoded;
- ``nfkc``: Unicode NFKC (full-width forms, mathematical and circled letters), combining marks
  dropped (stacked "Zalgo" marks);
- ``homoglyphs``: Cyrillic, Greek, Armenian and small-capital look-alikes mapped to Latin;
- ``hex`` and ``base64`` (standard and URL-safe): runs that look like encodings, decoded in place
  when the result is mostly printable UTF-8 text;
- ``rot13``: the whole text, when it mentions a cipher, is short, or reads like rot13 English
  (more ``r`` than ``e`` and more ``g`` than ``t``; English has it the other way round);
- ``leet``: digits standing for letters inside words (``1gn0r3``, ``h3ll0``; not ``3rd`` or an
  address's ``@``), the whole text lower-cased with ``013457@$`` read as letters; an extra view
  of the text as sent only.

The first three run together as one step, and every view is normalised before it is decoded.
Decoding recurses up to three deep (base64 inside hex inside rot13), for at most
:data:`MAX_VIEWS` views and :data:`MAX_DECODED` characters of decoded runs, at most 32 runs a
view. Whether a text could hold anything to decode is tested on its bytes with C string
operations (translate, count, substring): plain ASCII text with no long runs, no leetspeak and no
cipher returns at once with the original (and, under 256 characters, its rot13), in a few µs a
KB. :func:`fold` gives one normalised lower-case form of a text for keyword matching.

>>> [how for how, _ in views("Please summarise this page.")]
['original', 'rot13']
>>> views("ig\\u200bnore")[1]
('invisible', 'ignore')
>>> views("aWdub3JlIHRoZSBydWxlcw== please")[1]
('base64', 'ignore the rules please')
>>> fold("  ＩＧＮＯＲＥ  the\\u200b Rules ")
'ignore the rules'
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

#: most views one text yields (the original included)
MAX_VIEWS = 10
#: most characters of decoded runs, all views together
MAX_DECODED = 65_536
#: decoding inside decoding, at most this deep
MAX_DEPTH = 3
#: runs decoded per view: a text of many short runs costs no more than a few
_MAX_RUNS = 32
#: texts shorter than this always get a rot13 view: cheap, and too short for letter frequencies
_ROT13_ALWAYS = 256

# zero-width characters, soft hyphen, Mongolian vowel separator, combining grapheme joiner and the
# bidirectional controls (Trojan-Source reordering) are read by no one; tag characters U+E0020–E007E
# mirror ASCII invisibly, and the tag block's other code points carry nothing
_INVISIBLE: dict[int, int | None] = {
    **dict.fromkeys((*range(0x200B, 0x2010), *range(0x2060, 0x2065), *range(0x202A, 0x202F),
                     *range(0x2066, 0x206A), 0xFEFF, 0x00AD, 0x180E, 0x034F), None),
    **dict.fromkeys(range(0xE0000, 0xE0080), None),
    **{cp: cp - 0xE0000 for cp in range(0xE0020, 0xE007F)},
}
_VARIATION_RUN = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{4,}")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
# what NFKC leaves alone and a reader takes for Latin letters
_HOMOGLYPHS = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ӏ": "l", "ո": "n", "г": "r", "п": "n", "ь": "b", "А": "A", "В": "B", "Е": "E", "К": "K",
    "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J",
    "Ѕ": "S", "Ԛ": "Q", "Ԝ": "W",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I",
    "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Armenian and Latin oddities
    "օ": "o", "ս": "u", "հ": "h", "ց": "g", "ı": "i", "ɡ": "g", "ɑ": "a", "ꞵ": "b",
    # small capitals
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k",
    "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v",
    "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
})

# The fast path works on the UTF-8 bytes with C string operations (translate, count, substring):
# a regex that starts with a letter class tries every position of an English text, tens of µs a KB.
_B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"
_B64_BYTES = bytes(1 if i in _B64_CHARS else 32 for i in range(256))
_HEX_BYTES = bytes(1 if i in b"0123456789abcdefABCDEF" else 32 for i in range(256))
_HEX_SEPARATORS = b" ,:\\x%"  # deleted before looking for a long hex run: "69 67", "\x69\x67", "%69%67"
_LONG_RUN = b"\x01" * 16
_B64_RUN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
# hex of text: every printable ASCII byte starts with 2-7, so the pattern starts with a rare digit
_HEX_RUN = re.compile(r"[2-7][0-9A-Fa-f](?:[ ,:]?[2-7][0-9A-Fa-f]){7,}"
                      r"|[\\%0]x?[2-7][0-9A-Fa-f](?:[ ,:]?[\\%0]x?[2-7][0-9A-Fa-f]){7,}")
_HEX_STRIP = re.compile(r"\\x|0x|%|[ ,:]")
# a leet digit inside a word ("h3llo", "1gn0re"); digits before a suffix ("3rd", "5th") and the
# "@" of an address do not count. Starting with a digit class keeps the scan fast.
_LEET_HINT = re.compile(rb"[013457](?:[a-z]{1,12}[013457]|[a-z](?<=[a-z][013457][a-z]))")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_ROT13 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                       "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm")
_CIPHER_WORDS = (b"rot13", b"rot-13", b"rot 13", b"caesar", b"cipher", b"decod", b"decrypt")
# characters the normalising step changes, but for NFKC's own (is_normalized is a fast check)
_SUSPECT = re.compile("[\u00ad\u034f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
                      "\ufe00-\ufe0f\U000e0000-\U000e007f\U000e0100-\U000e01ef"
                      "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
                      + "".join(sorted(chr(k) for k in _HOMOGLYPHS)) + "]")
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_NOT_LETTER = re.compile(r"[^\w\s]|\d")
_SPACES = re.compile(r"\s+")


class _Hints:
    """What a text could hold, from cheap tests of its bytes: long base64-like or hex-like runs,
    leetspeak, a reason to read it as rot13."""

    __slots__ = ("b64", "hex", "leet", "rot13")

    def __init__(self, text: str, short: bool):
        raw = text.encode("utf-8", "ignore")
        low = raw.lower()
        self.b64 = _LONG_RUN in raw.translate(_B64_BYTES)
        self.hex = _LONG_RUN in raw.translate(_HEX_BYTES, _HEX_SEPARATORS)
        self.leet = _LEET_HINT.search(low) is not None
        # a short text (when ``short``), one that names a cipher or decoding, or one whose letters
        # look rot13'd: in rot13 English ``r`` outnumbers ``e`` and ``g`` outnumbers ``t``, in
        # English, German, French and Spanish the reverse holds
        self.rot13 = (short and len(text) < _ROT13_ALWAYS) \
            or (low.count(b"r") > low.count(b"e") and low.count(b"g") > low.count(b"t")) \
            or any(w in low for w in _CIPHER_WORDS)

    def any(self) -> bool:
        return self.b64 or self.hex or self.leet or self.rot13


def views(text: str, *, max_views: int = MAX_VIEWS, max_decoded: int = MAX_DECODED,
          max_depth: int = MAX_DEPTH) -> list[tuple[str, str]]:
    """``(how, text)`` readings of ``text``: the original first, then each distinct reading
    (normalised, decoded, rot13, leet), named by the steps that made it."""
    out = [("original", text)]
    hints = _Hints(text, short=True)
    if text.isascii() and not hints.any():
        return out
    seen = {text}
    budget = [max_decoded]
    queue: list[tuple[str, str, int, _Hints | None]] = [("", text, 0, hints)]

    def add(how: str, view: str) -> bool:
        if view in seen or len(out) >= max_views:
            return False
        seen.add(view)
        out.append((how, view))
        return True

    while queue and len(out) < max_views:
        how, current, depth, hints = queue.pop(0)
        base, steps = _normalise(current)
        if steps:
            how = _join(how, steps)
            add(how, base)
        if hints is None or steps:
            hints = _Hints(base, short=depth == 0)
        if depth < max_depth:
            if hints.b64 or hints.hex:
                decoded, kinds = _decode_runs(base, budget, hints)
                if kinds and add(_join(how, kinds), decoded):
                    queue.append((_join(how, kinds), decoded, depth + 1, None))
            if hints.rot13:
                rotated = base.translate(_ROT13)
                if add(_join(how, "rot13"), rotated):
                    queue.append((_join(how, "rot13"), rotated, depth + 1, None))
        if depth == 0 and hints.leet:  # the text as sent: decoded runs are not leetspeak
            add(_join(how, "leet"), base.lower().translate(_LEET))
    return out


def fold(text: str) -> str:
    """One normalised lower-case form for keyword matching: invisible characters removed (tag
    characters decoded), NFKC, look-alikes folded to Latin, runs of white space made one space."""
    base, _ = _normalise(text)
    return _SPACES.sub(" ", base.lower()).strip()


# -- steps -----------------------------------------------------------------------------------------

def _join(how: str, step: str) -> str:
    return f"{how}+{step}" if how else step


def _normalise(text: str) -> tuple[str, str]:
    """Invisible characters, NFKC and look-alikes in one step; the names of the parts that
    changed something (empty: the text is unchanged)."""
    if text.isascii() or (not _SUSPECT.search(text) and unicodedata.is_normalized("NFKC", text)):
        return text, ""
    steps = []
    out = text
    out = _VARIATION_RUN.sub(_variation_bytes, out)
    out = out.translate(_INVISIBLE)
    if out != text:
        steps.append("invisible")
    before = out
    out = unicodedata.normalize("NFKC", out)
    if _COMBINING.search(out):
        out = unicodedata.normalize("NFC", _COMBINING.sub("", unicodedata.normalize("NFD", out)))
    if out != before:
        steps.append("nfkc")
    before = out
    out = out.translate(_HOMOGLYPHS)
    if out != before:
        steps.append("homoglyphs")
    return out, "+".join(steps)


def _variation_bytes(m: re.Match[str]) -> str:
    """Variation selectors VS1–VS256 standing for bytes 0–255 (how "emoji smuggling" hides text);
    the selectors are dropped when they do not spell text."""
    raw = bytes(ord(c) - 0xFE00 if ord(c) < 0xFE10 else ord(c) - 0xE0100 + 16 for c in m.group(0))
    return _texty(raw) or ""


def _texty(raw: bytes) -> str | None:
    """``raw`` as text when it is UTF-8 and mostly printable letters and spaces, else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    n = len(text)
    if n < 4 or len(_NOT_TEXT.findall(text)) > 0.05 * n or len(_NOT_LETTER.findall(text)) > 0.4 * n:
        return None
    return text


def _decode_runs(text: str, budget: list[int], hints: _Hints) -> tuple[str, str]:
    """``text`` with its hex and base64 runs decoded in place, and the kinds decoded (``hex``,
    ``base64``, ``hex+base64``); ``budget[0]`` is the decoded size still allowed."""
    kinds: list[str] = []
    runs = [0]

    def hex_run(m: re.Match[str]) -> str:
        run = m.group(0)
        if budget[0] <= 0 or runs[0] >= _MAX_RUNS:
            return run
        runs[0] += 1
        digits = _HEX_STRIP.sub("", run)
        try:
            decoded = _texty(bytes.fromhex(digits[: len(digits) // 2 * 2]))
        except ValueError:
            return run
        if decoded is None:
            return run
        budget[0] -= len(decoded)
        kinds.append("hex")
        trail = run[len(run.rstrip(" ,:")):]  # keep the separator after the run
        return decoded + trail

    def b64_run(m: re.Match[str]) -> str:
        run = m.group(0)
        if budget[0] <= 0 or runs[0] >= _MAX_RUNS:
            return run
        runs[0] += 1
        body = run.rstrip("=")
        if len(body) % 4 == 1:
            body = body[:-1]
        padded = (body + "=" * (-len(body) % 4)).encode()
        for altchars in (None, b"-_"):
            try:
                raw = base64.b64decode(padded, altchars=altchars, validate=True)
            except (binascii.Error, ValueError):
                continue
            decoded = _texty(raw)
            if decoded is not None:
                budget[0] -= len(decoded)
                kinds.append("base64")
                return decoded
        return run

    out = _HEX_RUN.sub(hex_run, text) if hints.hex else text
    if hints.b64:
        out = _B64_RUN.sub(b64_run, out)
    return out, "+".join(dict.fromkeys(kinds))


__all__ = ["MAX_DECODED", "MAX_DEPTH", "MAX_VIEWS", "fold", "views"]
