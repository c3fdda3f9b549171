"""What an LLM application's output gives away of the application itself: its system prompt
and the canaries planted in it or its data (AML.T0056, AML.T0057). How a stream cut into pieces
is read is described in :mod:`advmatrix.detect._output`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from pydantic import Field, field_validator

from ..errors import UsageError
from ..plugins import Context
from ._base import Alert, DetectorParams
from ._chat import ChatDetector, ChatEvent, OutputPiece
from ._output import is_due, mask, scan_start

_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r"[^ ]+")
#: what may separate the characters of a canary the model spelled out ("Z X - 0 a ...")
_CANARY_GAP = r"[\W_]{0,3}"
_CANARY_MAX = 64


@functools.cache
def _separators() -> dict[int, str]:
    """Punctuation, symbols, controls and every whitespace as one plain space: after
    ``str.translate`` with it, words are what ``split()`` and ``rfind(" ")`` both see, at C speed."""
    import unicodedata

    return {code: " " for code in range(0x3040)
            if chr(code).isspace() or unicodedata.category(chr(code))[0] in "PSZC"}


def _words(text: str) -> list[str]:
    """The words of ``text`` as prompt and output are compared: lower-cased, punctuation dropped."""
    return text.translate(_separators()).lower().split()


class PromptLeakageParams(DetectorParams):
    canaries: list[str] = Field(default_factory=list, max_length=100, description="strings planted in the "
                                "application's prompt or data; any one in the output is a leak")
    ngram: int = Field(10, ge=3, le=20, description="words in a run of the system prompt that counts as repeated")
    min_grams: int = Field(3, ge=1, le=100, description="distinct runs of the prompt the output must repeat "
                           "(a 12-word verbatim passage makes 3 runs of 10)")
    max_prompt_chars: int = Field(32_000, ge=100, le=1_000_000, description="the system prompt is read up to "
                                  "this many characters")

    @field_validator("canaries")
    @classmethod
    def _canaries_are_distinctive(cls, value: list[str]) -> list[str]:
        for canary in value:
            letters = _WORD.findall(canary)
            if sum(map(len, letters)) < 6 or len(canary) > _CANARY_MAX:
                raise ValueError(f"canary {canary[:8]!r}…: needs 6 or more letters and digits (a shorter one "
                                 f"turns up in ordinary text) and at most {_CANARY_MAX} characters")
        return value


class _PromptState:
    """What one exchange has shown so far (kept in ``event.notes``)."""

    __slots__ = ("alerted", "canaries", "matched", "pos", "regions", "starts", "words")

    def __init__(self) -> None:
        self.pos = 0                  # whole-output offset up to which words were read
        self.words: list[str] = []    # the trailing run (< n) of words the prompt has
        self.starts: list[int] = []   # their offsets in the whole output
        self.matched: set[int] = set()
        self.regions: list[list[int]] = []
        self.canaries: list[tuple[str, list[int]]] = []
        self.alerted = False


class PromptLeakage(ChatDetector):
    """The application's own system prompt, or a canary planted in it or in its data, in the
    output: the prompt was extracted (AML.T0056) or data leaked (AML.T0057).

    Rules and why:

    - a canary (``canaries``), with case and separators ignored (``ZX-0a1b`` spelled ``zx 0A1B``
      still counts): an operator-planted string has no innocent reason to come out;
    - ``min_grams`` distinct word ``ngram``-grams of the registered system prompt (lower-cased,
      punctuation dropped) in the output. Ten words, not the red team's five (which judges a
      reply it provoked): an assistant introducing itself and its scope in its prompt's words
      ("I'm Kit, the customer-support assistant of the Cobalt Kettle Company. I can answer
      questions about orders, shipping, returns, warranty and accounts") repeats a 10-word and a
      9-word run — five 8-grams, one 10-gram — in a perfectly benign answer, while a leak repeats
      whole sentences. Three of them (a 12-word passage, or separate runs) so that one stock
      phrase the prompt shares with everyday speech does not fire.

    State per exchange, in ``event.notes``: the trailing run of prompt words and the runs
    matched. Work per piece is the new words, in C loops (translate, split, a set lookup per
    word); a tuple hash only where ``ngram`` prompt words stand in a row. A word counts once the
    character after it has arrived (the next piece may go on with it); a canary counts in the
    piece where it ends. One alert per exchange; its spans are the repeated passages seen up to
    that piece. False-positive budget: no alert on
    answers that share fewer than twelve consecutive words with the prompt; prompts should not
    hold public text (help-centre articles) the application is meant to quote — register only
    the confidential part.

    Limitations: a prompt translated, paraphrased or encoded (base64, or the output itself
    encoded) is not recognised; without ``system_prompt`` only canaries are looked for; a prompt
    shorter than ``ngram`` words is not compared (its words are everyday speech); scripts written
    without spaces (Chinese, Japanese) make long "words" between punctuation, so only verbatim
    sentences count there.
    """

    name = "prompt-leakage"
    title = "System prompt and canary leakage"
    technique_ids = ("AML.T0056", "AML.T0057")
    Params = PromptLeakageParams
    context = ("system_prompt",)
    response = {"action": "stop"}
    window = 400

    def setup(self, context: Context) -> None:
        p = self.params
        prompt = ""
        if "system_prompt" in context:
            prompt = str(context.need("system_prompt", f"detector {self.name}") or "")[:p.max_prompt_chars]
        if not prompt.strip() and not p.canaries:
            # it would run and never alert: the prompt let out through it would pass unseen
            raise UsageError(f"detector {self.name} has nothing to look for: give the system prompt (context "
                             "'system_prompt', or monitor --system-prompt FILE) or 'canaries'")
        words = _words(prompt) if prompt else []
        n = p.ngram
        if prompt.strip() and len(words) < n and not p.canaries:
            # runs of n words are what it compares: a shorter prompt (or a file name given as the text)
            # would never match, and the detector would watch without ever seeing
            raise UsageError(f"detector {self.name}: the system prompt has {len(words)} word(s), fewer than the {n} "
                             "it compares at a time, so it would never alert: give the whole prompt or 'canaries' "
                             "(context 'system_prompt' holds the text itself; monitor --system-prompt FILE reads "
                             "a file)")
        self.grams_: frozenset[int] = frozenset(hash(tuple(words[i:i + n])) for i in range(len(words) - n + 1))
        self.vocab_: frozenset[str] = frozenset(words) if self.grams_ else frozenset()
        self.needed_ = min(p.min_grams, len(self.grams_))
        lowered = prompt.lower()
        squeezed = ["".join(_WORD.findall(c)).lower() for c in p.canaries]
        self.canary_in_prompt_ = {s: c.lower() in lowered for s, c in zip(squeezed, p.canaries, strict=True)}
        self.canary_re_ = self.canary_ci_ = None
        self.canary_longest_ = 0
        if p.canaries:
            # searched in the lower-cased output: a literal first character lets the search skip ahead
            alternatives = sorted((_CANARY_GAP.join(map(re.escape, s)) for s in squeezed), key=len, reverse=True)
            self.canary_re_ = re.compile("|".join(alternatives))
            self.canary_ci_ = re.compile("|".join(alternatives), re.IGNORECASE)
            self.canary_longest_ = max(map(len, squeezed)) * 4

    def on_output(self, event: ChatEvent, piece: OutputPiece) -> list[Alert]:
        """Read the new words and canaries; alert once the prompt or a canary came out."""
        if not self.grams_ and self.canary_re_ is None:
            return []
        state = event.notes.get(self.name)
        if state is None:
            state = event.notes[self.name] = _PromptState()
        if state.alerted:
            return []
        if self.canary_re_ is not None:
            self._find_canaries(state, piece)
        if self.grams_:
            self._read_words(state, piece)
        grams = len(state.matched)
        if not state.canaries and (not self.needed_ or grams < self.needed_):
            return []
        state.alerted = True
        spans = sorted([span for _, span in state.canaries] + state.regions)
        evidence: dict[str, Any] = {"spans": spans, "grams": grams,
                                    "prompt_share": round(grams / len(self.grams_), 3) if self.grams_ else 0.0}
        if state.canaries:
            evidence["canaries"] = sorted({mask(text) for text, _ in state.canaries})
            in_prompt = any(self.canary_in_prompt_.get("".join(_WORD.findall(text)).lower(), False)
                            for text, _ in state.canaries)
            ids = ("AML.T0057", "AML.T0056") if in_prompt or grams >= max(self.needed_, 1) else ("AML.T0057",)
            message = f"output holds {len(state.canaries)} planted canar{'y' if len(state.canaries) == 1 else 'ies'}"
        else:
            ids = ("AML.T0056",)
            message = (f"output repeats the system prompt: {grams} distinct {self.params.ngram}-word runs "
                       f"({evidence['prompt_share']:.0%} of the prompt)")
        return [self.chat_alert(event, "high", message, technique_ids=ids, **evidence)]

    def _find_canaries(self, state: _PromptState, piece: OutputPiece) -> None:
        seen = piece.seen
        begin = scan_start(piece, self.canary_longest_)
        region = seen[begin:]
        lowered = region.lower()
        # lower() lengthens a few characters (İ): then the slower case-insensitive search keeps offsets
        pattern, text = (self.canary_re_, lowered) if len(lowered) == len(region) else (self.canary_ci_, region)
        for m in pattern.finditer(text):
            if is_due(piece, begin + m.end(), hold=0) and len(state.canaries) < 64:  # ends at its last character
                state.canaries.append((region[m.start():m.end()],
                                       [piece.start + begin + m.start(), piece.start + begin + m.end()]))

    def _read_words(self, state: _PromptState, piece: OutputPiece) -> None:
        """Advance over the words completed in this piece (a word touching the end of a piece
        that is not the last may go on in the next one, so it waits)."""
        seen, n = piece.seen, self.params.ngram
        begin = state.pos - piece.start
        text = seen[max(begin, 0):].translate(_separators())
        if begin < 0:  # a word longer than the window: no prompt word, so drop what is left of it
            cut = text.find(" ")
            begin, text = (-1, "") if cut < 0 else (cut + 1, text[cut + 1:])
            state.words.clear()
            state.starts.clear()
            if begin < 0:
                return
        if not piece.final:
            text = text[:text.rfind(" ") + 1]
        if not text:
            return
        base = piece.start + begin  # whole-output offset of text[0]
        state.pos = base + len(text)
        new = text.lower().split()
        if not new:
            return
        carry = len(state.words)
        words = state.words + new
        flags = b"\x01" * carry + bytes(map(self.vocab_.__contains__, new))
        run, hits = b"\x01" * n, []
        i = flags.find(run)
        while i >= 0:
            j = flags.find(b"\x00", i)
            j = len(flags) if j < 0 else j
            hits += [k for k in range(i, j - n + 1) if hash(tuple(words[k:k + n])) in self.grams_]
            i = flags.find(run, j)
        spans = None
        if hits:
            spans = [(base + m.start(), base + m.end()) for m in _TOKEN.finditer(text)]
            for k in hits:
                state.matched.add(hash(tuple(words[k:k + n])))
                first = state.starts[k] if k < carry else spans[k - carry][0]
                self._extend(state.regions, first, spans[k + n - 1 - carry][1])
        # carry the trailing run of prompt words (fewer than n): a run may go on in the next piece
        keep = min(len(flags) - len(flags.rstrip(b"\x01")), n - 1)
        if not keep:
            state.words, state.starts = [], []
            return
        if spans is None:
            spans = self._last_tokens(text, base, min(keep, len(new)))
        else:
            spans = spans[-min(keep, len(new)):]
        old = keep - len(spans)
        state.words = words[-keep:]
        state.starts = (state.starts[-old:] if old else []) + [s for s, _ in spans]

    @staticmethod
    def _last_tokens(text: str, base: int, count: int) -> list[tuple[int, int]]:
        """Offsets of the last ``count`` words of ``text`` (which ends after a space or a word)."""
        out, end = [], len(text)
        while len(out) < count and end > 0:
            while end > 0 and text[end - 1] == " ":
                end -= 1
            if not end:
                break
            start = text.rfind(" ", 0, end) + 1
            out.append((base + start, base + end))
            end = start
        return out[::-1]

    @staticmethod
    def _extend(regions: list[list[int]], begin: int, end: int) -> None:
        if regions and begin <= regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], end)
        elif len(regions) < 64:  # bounded: a longer leak is one region from the 64th on
            regions.append([begin, end])
        else:
            regions[-1][1] = end


__all__ = ["PromptLeakage"]
