"""Undo the obfuscations an LLM reads through, before intents are recognised.

:func:`variants` returns the text as written (the *plain* variant, the only one a keyword filter
sees) followed by every distinct reading it can decode, each with the steps that produced it:

- ``invisible``: zero-width characters removed; Unicode tag characters (U+E0020–U+E007E, the
  invisible "ASCII smuggling" block) turned back into the ASCII they shadow;
- ``confusables``: NFKC folding (full-width and mathematical letters), combining marks dropped
  ("Zalgo" text), and Cyrillic/Greek/Armenian look-alikes mapped to Latin letters;
- ``spaced``: letters spread out by single spaces, dots or dashes joined again (``i g n o r e``);
- ``base64`` (standard and URL-safe), ``hex`` (plain, spaced, ``\\x`` or ``0x`` pairs), ``binary``
  (8-bit groups), ``percent`` (URL escapes), ``entities`` (HTML character references) and
  ``unicode-escapes`` (``\\u0069``): encoded runs decoded in place when the result reads as text;
- ``leet``: digits and symbols standing for letters inside lowercase words (``1gn0r3``);
- ``typos``: words one edit (insertion, deletion, substitution, swap) away from a word that
  matters to intents (``ignroe``, ``instrucitons``, ``pasword``) read as that word;
- ``rot13``, ``caesar`` (any other shift, the best-reading one), ``atbash``, ``reversed``: whole-text
  ciphers, kept only when they produce more English; ``morse``: dots and dashes;
- ``split``: parts given separately (``a = "..."``, ``part 1: ...``) and an instruction to
  combine, concatenate or join them (``a + b``) — the joined text is appended.

The first three always run together (the ``normalize`` step, also applied after every other
transform). Transforms chain (base64 inside rot13, a split payload whose parts are hex) up to three
deep, for at most 16 readings; on texts over 20,000 characters the whole-text ciphers and the typo
reading are skipped.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
import string
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"), None)
_HOMOGLYPHS = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ӏ": "l", "ɡ": "g", "ı": "i", "ո": "n", "օ": "o", "ս": "u", "հ": "h",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ԛ": "Q", "Ԝ": "W",
    # Greek
    "α": "a", "ο": "o", "ρ": "p", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "τ": "t", "υ": "u", "χ": "x",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s",
                       "|": "l"})
_COMMON = frozenset(
    "the a an and or of to in on for with is are be you your me my i it this that what all any say print "
    "reply respond tell show reveal give send email ignore previous prior instructions prompt system rules "
    "secret please now only exactly from new task above following repeat output write word answer list "
    "customer records card key data call use tool fetch open delete file include image link".split())

_KEYWORDS = frozenset(
    "ignore disregard forget previous prior instructions instruction system prompt reveal repeat print customer "
    "customers records record secret secrets canary password passwords credentials override directive directives "
    "guidelines rules delete remove send email above everything confidential display output developer restrictions "
    "pretend imagine hypothetically story translate summarise summarize forward attacker image markdown include "
    "append respond reply exactly verbatim internal database numbers number address addresses phone".split())
_SUFFIXES = frozenset("s es d ed ing er ers ion ions al ly e".split())
_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"(?:(?:\\x|0x)?[0-9A-Fa-f]{2}[\s:]?){8,}")
_BIN = re.compile(r"(?:[01]{8}\s?){4,}")
_PCT = re.compile(r"\S*(?:%[0-9A-Fa-f]{2}\S*){3,}")
_UESC = re.compile(r"(?:\\u[0-9A-Fa-f]{4}){3,}")
_SPACED = re.compile(r"(?<!\w)(?:[A-Za-z0-9][ .\-_*]){2,}[A-Za-z0-9](?!\w)")
_ASSIGN = re.compile(r"(?P<name>\b[A-Za-z]\w{0,15})(?:\s*:?=\s*|\s*:\s*|\s+is\s+)"
                     r"(?:\"(?P<v1>[^\"\n]+)\"|'(?P<v2>[^'\n]+)'|“(?P<v3>[^”\n]+)”|‘(?P<v4>[^’\n]+)’|`(?P<v5>[^`\n]+)`)")
_PART = re.compile(r"(?im)^\s*(?P<name>(?:part|piece|fragment|segment|chunk|string)\s*\w{1,3})\s*[:=\-]\s*"
                   r"(?P<val>.+?)\s*$")
_COMBINE = re.compile(r"\b(?:combine|concatenat\w*|join|merge|put\s+(?:them\s+)?together|assemble|glue|stitch|"
                      r"append|add\s+(?:them\s+)?together|followed\s+by)\b|\w\s*\+\s*\w", re.I)


@dataclass(frozen=True)
class Variant:
    """One reading of a text: the text and the decoding steps that led to it (none: as written)."""

    text: str
    steps: tuple[str, ...] = ()

    @property
    def obfuscated(self) -> bool:
        """True for a reading that a filter looking at the raw text would not see."""
        return bool(self.steps)


def _english(text: str) -> int:
    return sum(1 for w in re.findall(r"[a-z]+", text.lower()) if w in _COMMON)


def _texty(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 4:
        return None
    printable = sum(ch.isprintable() or ch in "\n\t\r" for ch in text)
    letters = sum(ch.isalpha() or ch.isspace() for ch in text)
    if printable < 0.95 * len(text) or letters < 0.6 * len(text):
        return None
    return text


# -- whole-text normalisers ------------------------------------------------------------------------
def invisible(text: str) -> str:
    """Drop zero-width characters; turn tag characters into the ASCII they encode."""
    out = text.translate(_ZERO_WIDTH)
    if any(0xE0000 <= ord(ch) <= 0xE007F for ch in out):
        out = "".join(chr(ord(ch) - 0xE0000) if 0xE0020 <= ord(ch) <= 0xE007E else
                      ("" if 0xE0000 <= ord(ch) <= 0xE007F else ch) for ch in out)
    return out


def confusables(text: str) -> str:
    """NFKC-fold, drop combining marks, map Cyrillic, Greek and Armenian look-alikes to Latin."""
    out = unicodedata.normalize("NFKC", text)
    if any(unicodedata.combining(ch) for ch in out):
        out = unicodedata.normalize("NFC", "".join(ch for ch in unicodedata.normalize("NFD", out)
                                                   if not unicodedata.combining(ch)))
    return out.translate(_HOMOGLYPHS)


def spaced(text: str) -> str:
    """Join letters spread out with single separators (``r e v e a l`` -> ``reveal``)."""
    return _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), text)


def normalize(text: str) -> str:
    """The normalisers above, in order."""
    return spaced(confusables(invisible(text)))


def unleet(text: str) -> str | None:
    """Read digits and symbols inside lowercase words as the letters they imitate."""
    def word(m: re.Match) -> str:
        w = m.group(0)
        if "@" in w and re.fullmatch(r"[\w.+-]+@[\w-]+\.[\w.]+", w):
            return w  # an e-mail address, not leetspeak
        if (sum(c.isalpha() for c in w) >= 2 and not any(c.isupper() for c in w)
                and any(c in "0134578@$|" for c in w)):
            return w.translate(_LEET)
        return w
    out = re.sub(r"[\w@$|]+(?:\.[\w@$|]+)*", word, text)
    return out if out != text else None


def _one_edit(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                  and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1:]


def typos(text: str) -> str | None:
    """Words one edit away from an intent keyword, read as that keyword."""
    def word(m: re.Match) -> str:
        w = m.group(0)
        low = w.lower()
        if len(low) < 5 or low in _KEYWORDS or low in _COMMON:
            return w
        for k in _KEYWORDS:
            stem = k[:-1] if k.endswith("e") else k
            if low != k and low.startswith(stem) and low[len(stem):] in _SUFFIXES:
                continue  # an inflection (deleted, revealing), not a typo
            if len(k) >= 5 and _one_edit(low, k):
                return k
        return w
    out = re.sub(r"[A-Za-z]+", word, text)
    return out if out != text else None


# -- encoded runs, decoded in place ------------------------------------------------------------------
def _b64(m: re.Match) -> str:
    run = m.group(0)
    for alphabet in (None, b"-_"):
        raw = run.encode()
        try:
            raw = base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=alphabet, validate=True)
        except (binascii.Error, ValueError):
            continue
        text = _texty(raw)
        if text is not None:
            return text
    return run


def _hex(m: re.Match) -> str:
    run = m.group(0)
    digits = re.sub(r"\\x|0x|[\s:]", "", run)
    if len(digits) % 2 or not re.search(r"[A-Fa-f]", digits):
        return run
    text = _texty(bytes.fromhex(digits))
    return run if text is None else text + (" " if run[-1:].isspace() else "")


def _bin(m: re.Match) -> str:
    run = m.group(0)
    text = _texty(bytes(int(b, 2) for b in run.split()) if " " in run.strip() else
                  bytes(int(run[i:i + 8], 2) for i in range(0, len(run.strip()) - 7, 8)))
    return run if text is None else text + (" " if run[-1:].isspace() else "")


def _pct(m: re.Match) -> str:
    decoded = unquote(m.group(0))
    return decoded if _texty(decoded.encode()) is not None else m.group(0)


def encoded_runs(text: str) -> str | None:
    """Every encoded run of ``text`` decoded in place, when it decodes to text."""
    out = _B64.sub(_b64, text)
    out = _HEX.sub(_hex, out)
    out = _BIN.sub(_bin, out)
    if "%" in out:
        out = _PCT.sub(_pct, out)
    if "&" in out and ";" in out:
        out = html.unescape(out)
    if "\\u" in out:
        out = _UESC.sub(lambda m: m.group(0).encode().decode("unicode_escape"), out)
    return out if out != text else None


# -- ciphers and split payloads ----------------------------------------------------------------------
def rot13(text: str) -> str | None:
    """ROT13 of the whole text, when that reads as more English than the text."""
    out = codecs.encode(text, "rot13")
    return out if _english(out) >= 2 and _english(out) > _english(text) else None


def _shift(text: str, k: int) -> str:
    lower, upper = string.ascii_lowercase, string.ascii_uppercase
    return text.translate(str.maketrans(lower + upper, lower[k:] + lower[:k] + upper[k:] + upper[:k]))


def caesar(text: str) -> str | None:
    """The Caesar shift (other than 13) that reads as the most English, when it beats the text."""
    if len(text) > 5000:
        return None
    best = max((_shift(text, k) for k in range(1, 26) if k != 13), key=_english)
    return best if _english(best) >= 3 and _english(best) > _english(text) + 1 else None


def atbash(text: str) -> str | None:
    """The Atbash mirror alphabet (a<->z), when that reads as more English than the text."""
    lower, upper = string.ascii_lowercase, string.ascii_uppercase
    out = text.translate(str.maketrans(lower + upper, lower[::-1] + upper[::-1]))
    return out if _english(out) >= 2 and _english(out) > _english(text) else None


_MORSE = dict(zip(
    ".- -... -.-. -.. . ..-. --. .... .. .--- -.- .-.. -- -. --- .--. --.- .-. ... - ..- ...- .-- -..- -.-- --.. "
    "----- .---- ..--- ...-- ....- ..... -.... --... ---.. ----. .-.-.- --..-- ..--.. -.-.-- ---... .----. -..-. "
    ".--.-.".split(), "abcdefghijklmnopqrstuvwxyz0123456789.,?!:'/@", strict=True))


def morse(text: str) -> str | None:
    """Morse code (letters split by spaces, words by ``/`` or wide gaps) decoded in place."""
    def run(m: re.Match) -> str:
        words = re.split(r"\s*/\s*|\s{3,}", m.group(0).strip())
        out = " ".join("".join(_MORSE.get(code, "") for code in w.split()) for w in words)
        return out if _english(out) >= 1 else m.group(0)
    out = re.sub(r"(?:[.\-]{1,7}(?:\s+/\s+|\s+)){4,}[.\-]{1,7}", run, text)
    return out if out != text else None


def reverse(text: str) -> str | None:
    """The text read backwards, when that reads as more English than the text."""
    out = text[::-1]
    return out if _english(out) >= 2 and _english(out) > _english(text) else None


def split_payload(text: str) -> str | None:
    """The parts a text defines, joined in the order it asks for, appended to it."""
    if not _COMBINE.search(text):
        return None
    parts: dict[str, str] = {}
    for m in _ASSIGN.finditer(text):
        value = next(v for v in m.group("v1", "v2", "v3", "v4", "v5") if v is not None)
        parts.setdefault(m.group("name").lower(), value)
    for m in _PART.finditer(text):
        parts.setdefault(re.sub(r"\s+", "", m.group("name")).lower(), m.group("val"))
    if len(parts) < 2:
        return None
    order = list(parts)
    expr = re.search(r"\b(\w+(?:\s*\+\s*\w+)+)", text)
    if expr:
        named = [n.lower() for n in re.split(r"\s*\+\s*", expr.group(1))]
        if all(n in parts for n in named):
            order = named
    pieces = [parts[n] for n in order]
    tight = "".join(pieces)
    if tight in text:
        return None
    loose = " ".join(p.strip() for p in pieces)
    return f"{text}\n{tight}\n{loose}"


_TRANSFORMS = (("encoded", encoded_runs), ("morse", morse), ("split", split_payload), ("leet", unleet),
               ("typos", typos), ("rot13", rot13), ("reversed", reverse), ("atbash", atbash), ("caesar", caesar))


def variants(text: str, *, depth: int = 3, limit: int = 16) -> list[Variant]:
    """The plain text first, then every distinct decoded reading (see the module docstring)."""
    out = [Variant(text)]
    seen = {text}
    first = normalize(text)
    frontier = [out[0]]
    if first not in seen:
        seen.add(first)
        out.append(Variant(first, ("normalize",)))
        frontier.append(out[-1])
    long_text = len(text) > 20000  # whole-text ciphers on many-shot transcripts cost more than they find
    for _ in range(depth):
        nxt = []
        for v in frontier:
            for name, fn in _TRANSFORMS:
                if long_text and name in ("rot13", "reversed", "atbash", "caesar", "typos"):
                    continue
                res = fn(v.text)
                if res is None:
                    continue
                res = normalize(res)
                if res in seen:
                    continue
                seen.add(res)
                nv = Variant(res, (*v.steps, name))
                out.append(nv)
                nxt.append(nv)
                if len(out) >= limit:
                    return out
        frontier = nxt
    return out


__all__ = ["Variant", "atbash", "caesar", "confusables", "encoded_runs", "invisible", "morse", "normalize", "reverse",
           "rot13", "split_payload", "typos", "unleet", "variants"]
