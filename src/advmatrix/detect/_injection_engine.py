"""How the prompt-injection detector scans one reading of a turn: the compiled rule table
(:data:`RULES`), the sentences of the text with their words, the rules an anchor word picks and
the sentences they run in, the weight of each match by channel (a user turn, a tool result, or
content pasted below a user's first line), quotations and negations that weaken it, and the
signals found by code rather than by a rule (chat-template tokens, forged transcripts and
answers, combinations).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._injection_compile import WORD_BYTES, Rule, compile_rules, word_source
from ._injection_rules import TABLE

#: the rules, in the order they are tried
RULES: tuple[Rule, ...] = compile_rules(TABLE)
# rules by the words of their first gate: a text's words pick the rules worth trying
_INDEX: dict[bytes, list[int]] = {}
for _i, _r in enumerate(RULES):
    for _w in _r.anchor:
        _INDEX.setdefault(_w, []).append(_i)
_INDEX_KEYS = frozenset(_INDEX)
_UNGATED = tuple(i for i, r in enumerate(RULES) if not r.anchor)

_SPECIAL = re.compile(
    r"<\|(?:im_start|im_end|im_sep|endoftext|eot_id|eom_id|start_header_id|end_header_id|begin_of_text|end_of_text"
    r"|system|user|assistant|end|endofprompt|python_tag|channel|message|start|return|call|constrain|fim_prefix"
    r"|fim_middle|fim_suffix|tool_call|tool_response|reserved_special_token_\d+)\|>"
    r"|\[/?inst\]|<</?sys>>|<(?:start|end)_of_turn>|</s>\s*<s>|<s>\s*\[inst\]")
_SPECIAL_ROLE = re.compile(
    r"(?:<\|im_start\|>|<\|start_header_id\|>|<start_of_turn>)\s*(?:system|user|assistant|model|developer|tool)"
    r"|\[inst\]|<<sys>>|<\|(?:system|assistant|user)\|>")
_SPECIAL_LITERALS = ("<|", "[inst", "[/inst", "<<sys", "_of_turn>", "</s>")
_CODE_SPAN = re.compile(r"```.*?(?:```|$)|`[^`\n]+`", re.DOTALL)

_OPEN_QUOTE = re.compile(r"(?:^|(?<=[\s(\[:]))'(?=\w)")
_CLOSE_QUOTE = re.compile(r"(?<=[\w.!?,])'(?=[\s.,;:!?)\]]|$)")
_MARKUP = frozenset("#<{`=|;")
_MARKUP_PAIRS = ("--", "//", "/*", "('", '("', ': "', ":'", "='", '="', "'''", '"""')
# pairs of signals that together say more than their weights: data of the conversation with a
# place to send it is exfiltration; a tool named with a destructive or evasive aim is its misuse
_COMBOS = (
    ("exfiltration", 0.3, "user-data", frozenset({"send-to-url", "send-to-address", "markdown-image", "url-data-fill",
                                                  "render-instruction", "internal-url"})),
    ("tool-misuse", 0.3, "tool-instruction", frozenset({"destructive", "anti-forensics", "redirect-recipient",
                                                        "internal-url", "privilege-escalation", "remote-code"})),
)
_ROLE_LABEL = re.compile(r"(?m)^[ \t>*#\[<]*(system|user|human|assistant|ai|bot|model)[ \t]*[\]>]?[ \t]*:"
                         r"|</?(system|user|assistant)>|[.!?…]\s+(user|human|assistant)\s*:")
_ROLE_WORDS = frozenset(b"system user human assistant ai bot model".split())
_ROLE_ALIASES = {"human": "user", "ai": "assistant", "bot": "assistant", "model": "assistant"}


def scan(view: str, channel: str) -> dict[str, tuple[float, int, int, str]]:
    """The signals in one reading: name -> (weight, start, end, group), the strongest match each."""
    low = view.lower()
    focus = _Focus(low)
    words = focus.words
    tool = channel == "tool_result"
    first_line = 0 if channel == "user" else -1
    found: dict[str, tuple[float, int, int, str]] = {}
    literal_cache: dict[tuple[str, ...], bool] = {}
    for index in focus.rules():
        rule = RULES[index]
        top = rule.tool if tool else rule.top_user
        known = found.get(rule.name)
        if top <= 0 or (known is not None and known[0] >= top) or (rule.after and rule.after not in found):
            continue
        if rule.literals:
            present = literal_cache.get(rule.literals)
            if present is None:
                present = literal_cache[rule.literals] = any(lit in low for lit in rule.literals)
            if not present:
                continue
        if rule.anchor:  # the gates are checked sentence by sentence
            spans = focus.spans(rule)
        else:
            for gate in rule.words:
                if gate.isdisjoint(words):
                    break
            else:
                gate = None
            if gate is not None:
                continue
            spans = ((0, len(low)),)
        if not spans:
            continue
        text = view if rule.case else low
        best = None
        for start, end in matches(rule, text, spans):
            phrase = start
            if rule.pair is not None:
                other = rule.pair.search(low, *sentence(low, start, end))
                if other is None:
                    continue
                phrase = min(start, other.start())
            w = rule.tool if tool else rule.embedded if first_line >= 0 and _embedded(low, start) else rule.user
            if (rule.weak is not None and rule.weak.search(low, max(0, start - 12), end)) \
                    or (rule.weak_after is not None and rule.weak_after.match(low, end)):
                w = min(w, rule.weak_weight)
            if rule.quotable and _quoted(text, phrase):  # quoted phrases are more often talked about than meant
                w /= 2
            if best is None or w > best[0]:
                best = (w, start, end)
            if w >= top:
                break
        if best is not None and best[0] > 0 and (rule.name not in found or best[0] > found[rule.name][0]):
            found[rule.name] = (*best, rule.group)
    if ("<" in low or "[" in low) and any(lit in low for lit in _SPECIAL_LITERALS):
        special = _special_tokens(low)
        if special is not None:
            found["special-tokens"] = (*special, "tokens")
    transcript = _forged_transcript(low, words)
    if transcript is not None:
        found["forged-transcript"] = (*transcript, "injection")
    if ":" in low:
        found.update(_forged_answers(low))
    for name, weight, first, second in _COMBOS:
        if first in found and not second.isdisjoint(found):
            _, start, end, _ = found[first]
            found[name] = (weight, start, end, "injection")
    return found


def matches(rule: Rule, text: str, spans) -> Iterator[tuple[int, int]]:
    """Spans of the rule's matches inside the given spans of ``text``, its leading word boundary
    checked here."""
    pattern = rule.pattern
    for pos, stop in spans:
        while True:
            m = pattern.search(text, pos, stop)
            if m is None:
                break
            start = m.start()
            if rule.boundary and start and (text[start - 1].isalnum() or text[start - 1] == "_"):
                pos = start + 1
                continue
            yield start, m.end()
            pos = max(m.end(), start + 1)


class _Focus:
    """A text cut into sentences, each with its words, and where the rules' anchor words are: a
    rule runs only in the sentences that hold one of its anchor words and every word it needs (a
    regex run over the whole text would try every position of it)."""

    __slots__ = ("_index", "_sets", "_spans", "words")

    def __init__(self, low: str):
        self._spans = _sentences(low)
        if low.isascii():  # byte offsets are character offsets: one translation for all sentences
            marked = low.encode().translate(WORD_BYTES)
            self._sets = [frozenset(marked[a:b].split()) for a, b in self._spans]
        else:
            source = word_source(low)
            self._sets = [frozenset(source[a:b].encode("utf-8", "ignore").translate(WORD_BYTES).split())
                          for a, b in self._spans]
        self.words: frozenset[bytes] = frozenset().union(*self._sets)
        index: dict[bytes, list[int]] = {}
        for i, words in enumerate(self._sets):
            for word in words & _INDEX_KEYS:
                index.setdefault(word, []).append(i)
        self._index = index

    def rules(self) -> list[int]:
        """Indices of the rules worth trying: those without an anchor, those whose anchor is here."""
        picked = set(_UNGATED)
        for word in self._index:
            picked.update(_INDEX[word])
        return sorted(picked)

    def spans(self, rule: Rule) -> list[tuple[int, int]]:
        """The sentences where ``rule`` can match."""
        found: set[int] = set()
        for word in rule.anchor:
            hits = self._index.get(word)
            if hits:
                found.update(hits)
        out = []
        for i in sorted(found):
            words = self._sets[i]
            for gate in rule.words:
                if gate.isdisjoint(words):
                    break
            else:
                out.append(self._spans[i])
        return out


def _sentences(low: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``low``: cut after a line break and after a full stop, question
    or exclamation mark followed by a space (the dots of a URL or an address do not cut). String
    splits, not a regex: a match object per sentence costs more than the whole split."""
    spans, pos, size = [], 0, len(low)
    for line in low.split("\n"):
        parts = line.replace("! ", ". ").replace("? ", ". ").split(". ")
        start = pos
        for part in parts[:-1]:
            cut = pos + len(part) + 1  # after the mark; the space begins the next sentence
            spans.append((start, cut))
            start, pos = cut, cut + 1
        end = min(pos + len(parts[-1]) + 1, size)  # with the line break
        if end > start:
            spans.append((start, end))
        pos = end
    return spans


def _embedded(low: str, start: int) -> bool:
    """Whether ``start`` lies in content a user pasted rather than in their own words: after the
    first line, or after code or markup on the same line (a comment sign, a tag, a quotation)."""
    if low.rfind("\n", 0, start) >= 0:
        return True
    head = low[:start + 4]  # a match may begin with the comment sign it follows
    return any(c in _MARKUP for c in head) or any(p in head for p in _MARKUP_PAIRS)


def _quoted(text: str, start: int) -> bool:
    """Whether ``start`` is inside quotation marks on its line: after an opening mark that no
    closing one follows (a single quote opens after a space and closes before one, so that the
    apostrophes of "don't" are neither)."""
    first = text.rfind("\n", 0, start) + 1
    line = text[first:start]
    if line.count('"') % 2 == 1 or line.count("“") > line.count("”") or line.count("«") > line.count("»") \
            or line.count("‘") > line.count("’") or line.count("`") % 2 == 1:
        return True
    stop = min(len(text), start + 1)  # a quote right before ``start`` opens on the character at it
    return len(_OPEN_QUOTE.findall(text, first, stop)) > len(_CLOSE_QUOTE.findall(text, first, start))


def sentence(low: str, start: int, end: int, reach: int = 200) -> tuple[int, int]:
    """The bounds of the sentence around ``[start, end)``, at most ``reach`` characters each side:
    a sentence ends at a line break or at a full stop, question or exclamation mark before a space
    (so that the dots of an address or a URL do not end it)."""
    lo = max(0, start - reach)
    cut = max(low.rfind(c, lo, start) for c in (". ", "! ", "? ", "\n"))
    hi = min(len(low), end + reach)
    stops = [i for i in (low.find(c, end, hi) for c in (". ", "! ", "? ", "\n")) if i >= 0]
    return (cut + 1 if cut >= 0 else lo), (min(stops) + 1 if stops else hi)


_AFFIRMATIVE = re.compile(r":\s*(?:sure|here(?:'s| is| are)|absolutely|of course|certainly|yes)\b")
_ANSWER_LABEL = re.compile(r"(?:^|[^a-z])(?:a|assistant|ai|answer|response)\s*$")


def _forged_answers(low: str) -> dict[str, tuple[float, int, int, str]]:
    """Answers the client wrote for the model: two or more compliant ones ("A: Sure, here is
    how"; many-shot jailbreaking) and a text that ends on an answer label for the model to
    complete."""
    out = {}
    starts = [m.start() for m in _AFFIRMATIVE.finditer(low) if _ANSWER_LABEL.search(low, max(0, m.start() - 12),
                                                                                      m.start())]
    if len(starts) >= 2:
        out["many-shot"] = (0.6, starts[0], starts[1], "jailbreak")
    tail = low.rstrip()
    if tail.endswith(":") and _ANSWER_LABEL.search(tail, max(0, len(tail) - 13), len(tail) - 1):
        out["completion-bait"] = (0.3, len(tail) - 12, len(tail), "jailbreak")
    return out


def _forged_transcript(low: str, words: frozenset[bytes]) -> tuple[float, int, int] | None:
    """Two or more different speakers labelled at line starts (or as tags), one of them the system
    or the assistant: a conversation written by the client for the model to continue."""
    if len(_ROLE_WORDS & words) < 2:
        return None
    roles = {}
    for m in _ROLE_LABEL.finditer(low):
        role = next(g for g in m.groups() if g)
        roles.setdefault(_ROLE_ALIASES.get(role, role), m.span())
    if len(roles) < 2 or not ({"system", "assistant"} & roles.keys()):
        return None
    start = min(s for s, _ in roles.values())
    return 0.5, start, min(len(low), start + 40)


def _special_tokens(low: str) -> tuple[float, int, int] | None:
    """Chat-template tokens: a role-bearing one or two different ones weigh 1; one alone, or only
    inside code (a developer asking about a template), half."""
    matches = list(_SPECIAL.finditer(low))
    if not matches:
        return None
    first = matches[0]
    strong = _SPECIAL_ROLE.search(low) is not None or len({m.group(0) for m in matches}) >= 2
    if strong and "`" in low:
        code = [m.span() for m in _CODE_SPAN.finditer(low)]
        if all(any(a <= m.start() < b for a, b in code) for m in matches):
            strong = False
    return (1.0 if strong else 0.5), first.start(), first.end()

