"""How the prompt-injection rules are compiled: each :class:`~._injection_rules_vocab.RuleSpec`
of the table becomes one :class:`Rule` per top-level alternative of its regex, each with the sets
of whole words one of which every match must contain, taken from the regex's parse tree
(:func:`_required`), and its anchor, the rarest of them free of common words. A rule runs only in
the sentences that hold its anchor and every word it needs (:mod:`._injection_engine`); a leading
``\\b`` is taken off the regex and checked in Python, so that sre can scan for the literal after
it (a regex that starts with a letter class tries every position of a text).
"""

from __future__ import annotations

import re
import re._parser as _parse  # the parse tree of each rule's regex yields the words it needs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from re._constants import (
    AT,
    AT_BOUNDARY,
    BRANCH,
    CATEGORY,
    CATEGORY_SPACE,
    IN,
    LITERAL,
    MAX_REPEAT,
    MIN_REPEAT,
    SUBPATTERN,
)

from ._injection_rules_vocab import RuleSpec

# The words of a text, for the rules' prerequisites, split where a regex sees a word boundary:
# ASCII punctuation and the underscore become spaces in the UTF-8 bytes (one C call), and so do
# the punctuation, spaces and symbols of the Latin-1, general-punctuation and CJK blocks for a
# text that is not ASCII.
WORD_BYTES = bytes(i if (chr(i).isalnum() or i >= 128) else 32 for i in range(256))
_UNICODE_GAPS = {c: 32 for c in (*range(0x80, 0xC0), 0xD7, 0xF7, *range(0x2000, 0x2070), *range(0x2190, 0x2400),
                                 *range(0x2500, 0x2800), *range(0x3000, 0x3040), 0xFEFF)
                 if not chr(c).isalnum()}


def word_source(low: str) -> str:
    """``low`` with the non-ASCII characters that are not parts of words made spaces (same length)."""
    return low if low.isascii() else low.translate(_UNICODE_GAPS)


@dataclass(frozen=True)
class Rule:
    """One compiled alternative of a :class:`~._injection_rules_vocab.RuleSpec`: its weights by
    channel, its regex, and the word sets and literals that must be in a text for it to match."""

    name: str
    group: str
    user: float
    tool: float
    embedded: float
    pattern: re.Pattern[str]
    words: tuple[frozenset[bytes], ...] = ()
    literals: tuple[str, ...] = ()
    case: bool = False
    after: str = ""
    pair: re.Pattern[str] | None = None
    weak: re.Pattern[str] | None = None
    weak_after: re.Pattern[str] | None = None
    weak_weight: float = 0.0
    quotable: bool = False
    #: the pattern began with ``\\b``, checked here instead: sre scans fast only for a pattern that
    #: starts with a literal or a set of characters
    boundary: bool = False
    #: rare words one of which every match holds: the regex runs only in the sentences around them
    anchor: frozenset[bytes] = frozenset()

    @property
    def top_user(self) -> float:
        """The most this rule adds in a user turn."""
        return max(self.user, self.embedded)


def compile_rule(spec: RuleSpec) -> list[Rule]:
    """The rules of one signal pattern, one per top-level alternative, each with the word sets it
    needs (``words`` given in the spec, and those its regex spells) and its anchor, the rarest of
    them free of common words."""
    case = spec.case
    user, tool = spec.weights[0], spec.weights[1]
    embedded = spec.weights[2] if len(spec.weights) > 2 else user
    given = [frozenset(t for word in w.split() for t in _tokens(word)) for w in spec.words]
    rules = []
    for boundary, body in _split(spec.pattern):
        parsed = _parse.parse(body).data
        ends = not case and _ends_in_word(parsed)
        if ends:  # a whole word at the end: what the gates assume
            body += r"(?!\w)"
        derived = [] if case else _required(parsed, boundary, ends)
        gates = tuple(dict.fromkeys(sorted(given + derived, key=_rarity, reverse=True)))
        rare = [g for g in gates if not (g & _COMMON)]
        rules.append(Rule(spec.name, spec.group, user, tool, embedded, re.compile(body), gates, spec.literals, case,
                          spec.after, re.compile(spec.pair) if spec.pair else None,
                          re.compile(spec.weak) if spec.weak else None,
                          re.compile(spec.weak_after) if spec.weak_after else None, spec.weak_weight, spec.quotable,
                          boundary, rare[0] if rare and not case else frozenset()))
    return rules


def compile_rules(specs: Iterable[RuleSpec]) -> tuple[Rule, ...]:
    """The rules of a table, in its order, except that a rule that needs another signal comes
    after every rule that can find it."""
    return tuple(sorted((rule for spec in specs for rule in compile_rule(spec)), key=lambda rule: bool(rule.after)))


_MAX_STRINGS = 64


def _wordy(text: str) -> bool:
    """Whether ``text`` is all characters that the detector's word splitting keeps in words."""
    return bool(text) and all(c.isalnum() for c in text)


def _strings(seq):
    """Every string ``seq`` (parsed regex) can match, when that is a small finite set; else None."""
    out = {""}
    for op, av in seq:
        if op is LITERAL:
            alts = {chr(av)}
        elif op is AT:
            continue
        elif op is BRANCH:
            alts = set()
            for alt in av[1]:
                sub = _strings(alt)
                if sub is None:
                    return None
                alts |= sub
        elif op is SUBPATTERN:
            alts = _strings(av[3])
        elif op in (MAX_REPEAT, MIN_REPEAT) and av[0] in (0, 1) and av[1] == 1:
            alts = _strings(av[2])
            if alts is not None and av[0] == 0:
                alts = alts | {""}
        elif op is IN and all(o is LITERAL for o, _ in av) and len(av) <= 4:
            alts = {chr(c) for _, c in av}
        else:
            return None
        if alts is None:
            return None
        out = {s + a for s in out for a in alts}
        if len(out) > _MAX_STRINGS:
            return None
    return out


def _is_space(item) -> bool:
    op, av = item
    if op in (MAX_REPEAT, MIN_REPEAT) and av[0] >= 1:
        return all(_is_space(x) for x in av[2])
    return (op is IN and all(o is CATEGORY and a is CATEGORY_SPACE for o, a in av)) or (op is LITERAL and av == 32)


def _is_boundary(item) -> bool:
    return item[0] is AT and item[1] is AT_BOUNDARY


def _tokens(text: str) -> list[bytes]:
    return word_source(text.lower()).encode().translate(WORD_BYTES).split()


def _edge(item, first: bool) -> bool:
    """Whether a parsed element, when it matches something, surely starts (``first``) or ends
    with a character that is not part of a word, so that a word next to it is delimited."""
    op, av = item
    if op is AT:
        return av is AT_BOUNDARY
    if _is_space(item):
        return True
    if op is IN:
        return all(o is LITERAL and not _wordy(chr(c)) for o, c in av)
    if op in (MAX_REPEAT, MIN_REPEAT):
        return bool(av[2]) and _edge(av[2][0] if first else av[2][-1], first)
    if op is SUBPATTERN:
        return bool(av[3]) and _edge(av[3][0] if first else av[3][-1], first)
    strings = _strings([item])
    return bool(strings) and all(s and not _wordy(s[0] if first else s[-1]) for s in strings)


def _delimited(seq, i: int, step: int, outer: bool) -> bool:
    """Whether the word at the edge of ``seq[i]`` is delimited by what comes before (``step``
    -1) or after (+1) it: optional elements are passed over when they are delimiters too."""
    j = i + step
    while 0 <= j < len(seq):
        item = seq[j]
        if _is_boundary(item):
            return True
        if not _edge(item, first=step > 0):
            return False
        if not (item[0] in (MAX_REPEAT, MIN_REPEAT) and item[1][0] == 0) and item[0] is not AT:
            return True
        j += step
    return outer


def _required(seq, left: bool = False, right: bool = False) -> list[frozenset[bytes]]:
    """Sets of words one of which every match of ``seq`` (parsed regex) contains, whole as the
    detector splits words: taken from its literal stretches where their ends are delimited
    (``left`` and ``right``: the sequence itself starts and ends at a word boundary)."""
    out: list[frozenset[bytes]] = []
    i, n = 0, len(seq)
    while i < n:
        op, av = seq[i]
        before = _delimited(seq, i, -1, left) or _is_boundary(seq[i])
        j = i
        while j < n and not (seq[j][0] is LITERAL and seq[j][1] == 32) \
                and (seq[j][0] is AT or _strings([seq[j]]) is not None):
            j += 1
        if j > i:  # a stretch of finite elements: the words it spells
            after = _delimited(seq, j - 1, 1, right) or _is_boundary(seq[j - 1])
            picks: set[bytes] | None = set()
            for frag in _strings(seq[i:j]) or ():
                toks = _tokens(frag)
                if toks and _wordy(frag[:1]) and not before:
                    toks = toks[1:]
                if toks and _wordy(frag[-1:]) and not after:
                    toks = toks[:-1]
                if not toks:
                    picks = None
                    break
                picks.add(max(toks, key=lambda t: (t not in _COMMON, len(t))))
            if picks:
                out.append(frozenset(picks))
            i = j
            continue
        after = _delimited(seq, i, 1, right)
        if op is SUBPATTERN:
            out += _required(av[3], before, after)
        elif op in (MAX_REPEAT, MIN_REPEAT) and av[0] >= 1:
            out += _required(av[2], before, after and av[1] == 1)
        elif op is BRANCH:
            union: set[bytes] | None = set()
            for alt in av[1]:
                req = _required(alt, before, after)
                if not req:
                    union = None
                    break
                union |= _best(req)
            if union:
                out.append(frozenset(union))
        i += 1
    return out


def _ends_in_word(seq) -> bool:
    """Whether every match of ``seq`` ends with a character of a word."""
    if not seq:
        return False
    op, av = seq[-1]
    if op is SUBPATTERN:
        return _ends_in_word(av[3])
    if op is BRANCH:
        return all(_ends_in_word(alt) for alt in av[1])
    if op in (MAX_REPEAT, MIN_REPEAT):  # an optional tail: what comes before it ends the match too
        return _ends_in_word(av[2]) and (av[0] >= 1 or _ends_in_word(seq[:-1]))
    if op is LITERAL:
        return _wordy(chr(av))
    return False


# words too common to pick sentences by, and to make a gate worth trying first
_COMMON = frozenset((
    b"a an the of to in on at for with from by as is are was were be been being do does did done can could will would "
    b"shall should must may might have has had not no yes all any every each some only now this that these those it "
    b"its i me my we our you your he she they them their what which who when where why how if then than so but or "
    b"and also just more most very here there out up about into s t m re ve ll d").split())


# words of everyday documents (orders, accounts, pages): a rule is better anchored on rarer ones
_ORDINARY = frozenset((
    b"account active add address after already another ask asked attendees back bank before begin book button "
    b"calendar call card changes check cleaning code contact content convert cover create current customer customers "
    b"data database day default delete describe details direct down download draft email end environment event "
    b"explain export file files filter fire first five follow following four full game get give guide higher history "
    b"hold image images information keep last let level like line link list log login mail make method name need "
    b"needs new next notes notice number numbers off old one ones open order orders other outside over page partner "
    b"party payment per personal phone place play please plus post print private provider read reading remain "
    b"remaining remote replace reply response return review rights run said say says search security send sent "
    b"service set settings share shared show site sites small staff start steps stop string switch test testing text "
    b"three time top turn turns twenty two update updates use using value version warn write writing written"
).split())


def _rarity(gate: frozenset[bytes]) -> tuple[bool, bool, int, int]:
    """How selective a gate is: free of common words, then of everyday ones, then by its shortest
    word, then small."""
    return (not (gate & _COMMON), not (gate & _ORDINARY), min(map(len, gate)), -len(gate))


def _best(sets: list[frozenset[bytes]]) -> frozenset[bytes]:
    return max(sets, key=_rarity)


def _split(pattern: str) -> list[tuple[bool, str]]:
    """A pattern as its top-level alternatives, each with whether it began with ``\\b`` (taken
    off: checked by :func:`~._injection_engine.matches`), unwrapping ``\\b(?:a|b)`` into ``a`` and ``b`` as well."""
    if pattern.startswith("(?") and not pattern.startswith("(?:"):
        return [(False, pattern)]  # inline flags apply to the whole pattern
    out = []
    for branch in _branches(_unwrap(pattern)):
        boundary = branch.startswith("\\b")
        body = branch[2:] if boundary else branch
        lead = _lead_group(body)
        if lead is not None and len(_branches(lead[0])) > 1 and (not lead[1] or lead[1] in ("\\b", r"(?!\w)")):
            # (?:a|b)tail is a tail|b tail: each alternative its own rule with its own gates
            out += [(boundary or b, x) for alt in _branches(lead[0]) for b, x in _split(alt + lead[1])]
        else:
            out.append((boundary, body))
    return out


def _structure(pattern: str) -> Iterator[tuple[int, str, int]]:
    """``(index, char, depth)`` for each parenthesis and bar of a regex that is not escaped or in
    a character class, with the group depth after it: what both readers below need."""
    depth, in_class, escaped = 0, False, False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch in "()|":
            depth += {"(": 1, ")": -1, "|": 0}[ch]
            yield i, ch, depth


def _lead_group(pattern: str) -> tuple[str, str] | None:
    """``(inner, tail)`` for a pattern that starts with a group ``(?:inner)``, else None."""
    if not pattern.startswith("(?:"):
        return None
    for i, ch, depth in _structure(pattern):
        if ch == ")" and depth == 0:
            return pattern[3:i], pattern[i + 1:]
    return None


def _branches(pattern: str) -> list[str]:
    """The top-level alternatives of a regex."""
    out, start = [], 0
    for i, ch, depth in _structure(pattern):
        if ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
    out.append(pattern[start:])
    return out


def _unwrap(pattern: str) -> str:
    """``X`` for a pattern that is one group ``(?:X)``, else the pattern."""
    lead = _lead_group(pattern)
    return lead[0] if lead is not None and not lead[1] else pattern
