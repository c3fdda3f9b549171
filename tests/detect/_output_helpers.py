"""Helpers shared by the output detector tests (test_leakage, test_credentials, test_rendering):
feeding a detector a whole reply or a stream cut anywhere, and comparing what it found."""

from __future__ import annotations

import random

from advmatrix.detect import ChatEvent, OutputPiece
from advmatrix.protocols import ChatRequest, Message


def _event(*messages: Message) -> ChatEvent:
    return ChatEvent(client="c", time=0.0, request=ChatRequest(messages=list(messages) or [Message("user", "hi")]))


def _whole(detector, text: str, event: ChatEvent | None = None) -> list:
    """A non-streamed reply: one final piece."""
    return detector.on_output(event or _event(), OutputPiece(text, "", 0, final=True))


def _stream(detector, text: str, cuts: list[int], event: ChatEvent | None = None, extra: int = 0) -> list:
    """A streamed reply cut at ``cuts``, each piece with the window the gateway guarantees
    (exactly the detector's ``window`` characters before it, or ``extra`` more)."""
    event = event or _event()
    alerts, pos = [], 0
    bounds = [c for c in sorted(set(cuts)) if 0 < c < len(text)] + [len(text)]
    for cut in bounds:
        start = max(0, pos - detector.window - extra)
        alerts += detector.on_output(event, OutputPiece(text[pos:cut], text[start:pos], start, final=cut == len(text)))
        pos = cut
    return alerts


def _splits(text: str, seed: int = 0):
    """Every way of cutting the text in two, one character at a time, and random chunk sizes."""
    for k in range(1, len(text)):
        yield [k]
    yield list(range(1, len(text)))
    rng = random.Random(seed)
    for _ in range(20):
        cuts, pos = [], 0
        while pos < len(text):
            pos += rng.randint(1, 40)
            cuts.append(pos)
        yield cuts


def _secret_findings(alerts) -> list:
    return sorted((f["kind"], tuple(f["span"])) for a in alerts for f in a.evidence["found"])


def _same_findings(streamed: list, whole: list, cuts: list[int]) -> None:
    """The same findings, each once: a stream cut inside one reports it early, as far as it got
    (the gateway forwards each piece once the detectors have seen it), never again."""
    assert [(k, s) for k, (s, _) in streamed] == [(k, s) for k, (s, _) in whole], cuts
    for (_, (start, end)), (_, (_, full)) in zip(streamed, whole, strict=True):
        assert start < end <= full, cuts
        assert end == full or any(start < c < full + 2 for c in cuts), cuts  # cut short only by a cut


def _first_alert_piece(detector, text: str, cuts: list[int]) -> int | None:
    """Which piece of a stream the first alert came with."""
    event, pos = _event(), 0
    for i, cut in enumerate([*cuts, len(text)]):
        start = max(0, pos - detector.window)
        if detector.on_output(event, OutputPiece(text[pos:cut], text[start:pos], start, final=cut == len(text))):
            return i
        pos = cut
    return None
