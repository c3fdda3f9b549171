"""Prompt injection in what a client sends an LLM application (AML.T0051): instructions that try
to replace the application's own, typed by the user (direct, AML.T0051.000) or planted in content
the application reads, such as a tool's result (indirect, AML.T0051.001); with the jailbreaks
(AML.T0054), obfuscations (AML.T0068) and chat-template tokens (AML.T0069.000) they come with.

How it reads a turn: through every reading :func:`~advmatrix.detect._normalise.views` gives
of it (as sent, normalised, decoded), each cut into sentences. Signals are small weighted regexes
(:data:`~._injection_rules.TABLE`, one signal name for several phrasings; a name counts once, at
its strongest match); a turn's score is the sum of its signals' weights, and reaching the
threshold is an alert. The weights depend on where the text came from: an order addressed to
"the AI" is ordinary from a user and suspect in a web page, and so is the same order pasted below
the user's own first line (code, logs, documents).

How it stays fast: a regex that starts with a letter class tries every position of a text (tens
of µs a KB in CPython), and most of these would. So each rule is split into its top-level
alternatives, and from each alternative's parse tree come the sets of whole words one of which
every match must contain (:mod:`._injection_compile`; a leading ``\\b`` is checked in Python so
that sre can scan for the literal after it). A rule runs only in the sentences that hold one of
its rarer words (its anchor) and every word it needs; most rules never run on an ordinary text,
and a sentence's words are found once. Measured on one core of the development machine: about
30 µs for a one-line prompt, 250 µs for a 3 KB document, 1.4 ms at the 20,000-character cap.

Where the parts are: the signal table is plain data in :mod:`._injection_rules` (one module per
family of rules), :mod:`._injection_compile` compiles it and :mod:`._injection_engine` scans a
reading with it; this module reads each turn through its readings, sums the signals and alerts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from ..plugins import Context
from ._base import Alert, DetectorParams
from ._chat import ChatDetector, ChatEvent
from ._injection_engine import scan
from ._normalise import views

_TECHNIQUE = {"user": "AML.T0051.000", "tool_result": "AML.T0051.001"}
#: weight of a signal found only in a decoded or normalised reading that makes an alert obfuscated
_HIDDEN = 0.5


def _snippet(text: str, start: int, end: int, size: int = 120) -> str:
    """At most ``size`` characters of ``text`` around ``[start, end)``, on one line."""
    pad = max(0, (size - (end - start)) // 2)
    lo = max(0, start - pad)
    return " ".join(text[lo:lo + size].split())


@dataclass
class _Signal:
    weight: float
    how: str
    snippet: str
    group: str


def _sample(text: str, cap: int, rng: random.Random) -> str:
    """``text`` when it fits in ``cap`` characters; else its head (half of ``cap``), its tail (a
    quarter) and four windows of the middle (a sixteenth each) joined by newlines.

    Injections sit at either end of a document more often than anywhere (a prefix before the
    content, a footer after it), so the ends are read whole; the middle windows are placed at
    random in each quarter of the middle, so text hidden there is found with a probability of
    the share read and cannot be placed where the detector never looks."""
    if len(text) <= cap:
        return text
    head, tail = cap // 2, cap // 4
    size = (cap - head - tail) // 4
    lo, hi = head, len(text) - tail
    step = (hi - lo) / 4
    parts = [text[:head]]
    for i in range(4):
        start = int(lo + i * step + rng.random() * max(0.0, step - size))
        parts.append(text[start:start + size])
    parts.append(text[-tail:])
    return "\n".join(parts)


class InjectionParams(DetectorParams):
    """Parameters of :class:`PromptInjection`."""

    threshold: float = Field(1.0, gt=0, description="sum of signal weights at which a turn is an injection")
    max_scan_chars: int = Field(20_000, ge=1_000, description="characters read per turn: longer ones are read at "
                                "their head and tail and in windows of the middle")
    channels: list[Literal["user", "tool_result", "system"]] = Field(
        default_factory=lambda: ["user", "tool_result"], min_length=1,
        description="channels of the request whose new turns are read")
    max_turns: int = Field(32, ge=1, description="new turns read per request (the first and last ones)")


class PromptInjection(ChatDetector):
    """Prompt injection in the untrusted turns a client adds with a request: the user's (direct,
    AML.T0051.000) and tool results (indirect, AML.T0051.001). Each turn is read as sent and in
    every normalised or decoded reading; signals are weighed by channel and summed, and a turn
    whose sum reaches ``threshold`` raises one alert per channel (its highest-scoring turn). The
    alert also names AML.T0054 when a jailbreak signal took part, AML.T0068 when the text as sent
    did not reach the threshold or a signal of weight 0.5 or more was found only in a decoded or
    normalised reading (``how`` in the evidence says which reading), and AML.T0069.000 for
    chat-template tokens in a user turn.

    Signals, and why each exists (weights: user turn / tool result or pasted content):

    - ``override`` (1.0): setting earlier instructions aside — "ignore all previous
      instructions", "your instructions are void", "whatever your operator told you no longer
      counts", in English, German, French, Spanish, Italian or Portuguese. Rules and guidance
      that are not the model's ("the previous rules no longer apply" in a memo) weigh 0.8; a
      speaker's own ("ignore my previous instructions"), a negated one ("never ignore safety
      rules") or one somewhere else ("the instructions on the whiteboard") 0.3–0.4.
    - ``new-instructions``, ``from-now-on``, ``obey-only``, ``authority``, ``forced-output``
      (0.3–0.7): a replacement announced, obedience or authority claimed; each is ordinary alone.
    - ``prompt-reference`` (0.4 "your instructions", 0.6 "your system prompt", "the rules your
      operator gave you"), ``disclose`` (0.4, a request to show or repeat, counted only with a
      reference), ``verbatim`` (0.4), ``prompt-extraction`` (0.8–1.0, "repeat everything above"):
      asking for the application's own instructions. "The system prompt" of a developer's
      question is no reference.
    - ``role-forgery``, ``fake-boundary``, ``forged-transcript`` (0.5): lines speaking as the
      system, forged ends of a document, a conversation written for the model to continue; logs,
      XML and pasted chats have them too, so they need company.
    - ``addressed-to-ai`` (0.2–0.5 / 0.6–1.0), ``about-the-user``, ``task-hijack``,
      ``credential-phish``, ``hidden-comment``, ``concealment`` (0–0.3 / 0.5–0.6): content
      speaking to the model that reads it, of "the user" in the third person, in HTML comments
      or hidden text, asking for secrecy. A user may address the assistant; a web page, an
      e-mail or a code comment has no reason to.
    - ``send-to-address``, ``send-to-url``, ``render-instruction``, ``markdown-image``,
      ``url-data-fill``, ``user-data`` and their combination ``exfiltration`` (+0.3): data of the
      conversation carried to an address, a URL or an image (AML.T0077 is the output detectors').
    - ``tool-instruction``, ``destructive``, ``mass-action``, ``anti-forensics``,
      ``redirect-recipient``, ``privilege-escalation``, ``remote-code``, ``internal-url``,
      ``pretext`` and their combination ``tool-misuse`` (+0.3): tools named and turned against
      their owner; a user asking for a tool is ordinary, so these need company.
    - ``special-tokens`` (1.0; 0.5 for one token alone or tokens only inside code): chat-template
      markers (ChatML, Llama 2/3, Gemma, harmony).
    - jailbreaks: ``dan``, ``persona-unbound``, ``limits-off`` (0.6–0.8), ``special-mode``,
      ``hypothetical``, ``refusal-suppression``, ``many-shot`` (0.5–0.7), ``affirmative-prefix``,
      ``grandma``, ``no-limits``, ``fiction-frame``, ``persona-name``, ``realism``, ``role-play``,
      ``stay-in-character``, ``completion-bait`` (0.2–0.5), with ``harmful-goal`` (0.4): a framing
      alone is a game, a harmful goal alone a question; together they are a jailbreak.
    - ``decode-and-follow`` (0.6): an instruction to decode or assemble text and obey it.

    A phrase in quotation marks counts half when it is one people quote ("what does 'ignore
    previous instructions' do?"). False-positive budget: no alert on our hard negatives (code and
    base64 questions, documentation about system prompts, self-corrections, quoted manuals,
    markdown, German, French and Spanish text, long documents) nor on the benign prompts and tool
    results of the labelled bench set (0 of 419); at most 1 % of benign traffic. Work per turn is
    bounded by ``max_scan_chars`` and the readings' own caps, per request by ``max_turns``; no
    state is kept.
    """

    name = "prompt-injection"
    title = "Prompt injection (direct, indirect, obfuscated, jailbreak, special tokens)"
    technique_ids = ("AML.T0051", "AML.T0051.000", "AML.T0051.001", "AML.T0054", "AML.T0068", "AML.T0069.000")
    Params = InjectionParams
    response = {"action": "refuse"}

    def setup(self, context: Context) -> None:
        """Nothing to learn; a random source places the windows read in the middle of long texts."""
        self._rng = random.Random()

    def on_request(self, event: ChatEvent) -> list[Alert]:
        """One alert per channel whose new turns hold an injection (the highest-scoring turn)."""
        p = self.params
        turns = [(c, m.content) for c, m in event.new_turns() if c in p.channels and m.content]
        if len(turns) > p.max_turns:
            half = p.max_turns // 2
            turns = turns[:half] + turns[len(turns) - (p.max_turns - half):]
        best: dict[str, tuple[float, dict[str, _Signal], float]] = {}
        for channel, text in turns:
            score, signals, plain = self.score(text, channel)
            if score >= p.threshold and (channel not in best or score > best[channel][0]):
                best[channel] = (score, signals, plain)
        return [self._alert(event, channel, *found) for channel, found in best.items()]

    def score(self, text: str, channel: str = "user") -> tuple[float, dict[str, _Signal], float]:
        """The score of one turn's text on ``channel``, its signals (the strongest reading of each),
        and the score of the text as sent alone."""
        sample = _sample(text, self.params.max_scan_chars, self._rng)
        signals: dict[str, _Signal] = {}
        plain = 0.0
        for how, view in views(sample):
            found = scan(view, channel)
            # offsets are in the lower-cased reading, which a few letters ("İ") make longer
            shown = view if not found or len(view.lower()) == len(view) else view.lower()
            for name, (weight, start, end, group) in found.items():
                if how == "original":
                    plain += weight
                known = signals.get(name)
                if known is None or weight > known.weight:
                    signals[name] = _Signal(weight, how, _snippet(shown, start, end), group)
        return sum(s.weight for s in signals.values()), signals, plain

    def _alert(self, event: ChatEvent, channel: str, score: float, signals: dict[str, _Signal], plain: float) -> Alert:
        p = self.params
        ids = ["AML.T0051"]
        if channel in _TECHNIQUE:
            ids.append(_TECHNIQUE[channel])
        groups = {s.group for s in signals.values()}
        if "jailbreak" in groups:
            ids.append("AML.T0054")
        # obfuscation made the difference, or hid a strong part of the attack ("Ignоrе" in Cyrillic)
        obfuscated = plain < p.threshold or any(s.how != "original" and s.weight >= _HIDDEN for s in signals.values())
        if obfuscated:
            ids.append("AML.T0068")
        if "tokens" in groups and channel == "user":
            ids.append("AML.T0069.000")
        ranked = sorted(signals.items(), key=lambda kv: (-kv[1].weight, kv[0]))
        # the reading that made the difference: the strongest signal found only by decoding
        top = next((s for _, s in ranked if s.how != "original"), ranked[0][1]) if obfuscated else ranked[0][1]
        where = "a tool result" if channel == "tool_result" else f"a {channel} turn"
        kind = "obfuscated " if obfuscated else ""
        message = (f"{kind}prompt injection in {where} (score {score:.2f}: "
                   f"{', '.join(name for name, _ in ranked)})")
        severity = "high" if score >= 2 * p.threshold else "medium"
        evidence: dict[str, Any] = {"channel": channel, "score": round(score, 2),
                                    "signals": [name for name, _ in ranked], "how": top.how,
                                    "snippet": top.snippet}
        return self.chat_alert(event, severity, message, technique_ids=tuple(ids), **evidence)
