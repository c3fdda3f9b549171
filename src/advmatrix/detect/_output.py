"""What the output detectors (:mod:`.leakage`, :mod:`.credentials`, :mod:`.rendering`) share:
reading a stream cut into pieces, remembering what was reported, masking, card numbers.

The detectors read output only (:meth:`~advmatrix.detect.ChatDetector.on_output`) and find the
same things however a stream was cut into pieces. Every pattern has a bounded length shorter
than the detector's ``window``, so a match is always seen whole. The gateway forwards a piece as
soon as the detectors have seen it, so a match is reported in the piece where it ends, even when
the characters that could still lengthen it (an API key cut at a chunk boundary) have not
arrived: waiting for them would let the whole key out first. Such an early match is reported
with the extent seen so far, and the exchange's notes (:class:`Reported`) remember where it
starts, so it is never reported twice. The price: a stream cut there may report what the text
still to come would have spoilt (a key run on into 300 more letters), never the reverse. Spans
in the evidence are offsets in the whole output.
"""

from __future__ import annotations

from ._chat import OutputPiece

#: characters after a match that could still change it (greedy runs, lookaheads need two)
HOLD = 2


def scan_start(piece: OutputPiece, longest: int) -> int:
    """Where in ``piece.seen`` a match that is looked at now can begin: no match is longer than
    ``longest``, and one that was settled before this piece is not looked at again."""
    return max(0, len(piece.window) - HOLD - longest)


def is_due(piece: OutputPiece, end: int, hold: int = HOLD) -> bool:
    """Whether a match ending at ``end`` (in ``piece.seen``) is looked at in this piece: the
    ``hold`` characters after it, which could still change it, were not all seen before."""
    return end + hold > len(piece.window)


def is_settled(piece: OutputPiece, end: int, hold: int = HOLD) -> bool:
    """Whether nothing still to come can change a match ending at ``end``."""
    return piece.final or end + hold <= len(piece.window) + len(piece.text)


class Reported:
    """The matches already acted on in an exchange (whole-output offset where each begins, and
    its kind), kept in ``event.notes``: an early match is not reported again once it is settled.
    Only those that can come up again are kept: the ones within ``longest`` characters of the
    end of what was seen."""

    __slots__ = ("keys", "limit", "longest")

    def __init__(self, longest: int) -> None:
        self.longest = longest
        self.keys: set[tuple[int, str]] = set()
        self.limit = 64

    def __contains__(self, key: tuple[int, str]) -> bool:
        return key in self.keys

    def add(self, piece: OutputPiece, key: tuple[int, str]) -> None:
        """Remember a match (``(offset in the whole output, kind)``)."""
        horizon = piece.start + len(piece.window) + len(piece.text) - HOLD - self.longest
        if piece.final or key[0] < horizon:
            return  # no later piece looks at a match beginning there
        if len(self.keys) >= self.limit:  # bounded by the matches that fit in ``longest`` characters
            self.keys = {k for k in self.keys if k[0] >= horizon}
            self.limit = max(64, 2 * len(self.keys))
        self.keys.add(key)

    def fresh(self, piece: OutputPiece, start: int, kind: str = "") -> bool:
        """Whether the match beginning at ``start`` (in ``piece.seen``) is new; remember it."""
        key = (piece.start + start, kind)
        if key in self.keys:
            return False
        self.add(piece, key)
        return True


def mask(value: str) -> str:
    """What evidence shows of a secret: its first four characters."""
    return value[:4] + "…"


def luhn(digits: str) -> bool:
    """Whether ``digits`` passes the Luhn check that card numbers carry."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_network(digits: str) -> bool:
    """Whether ``digits`` has the prefix and length of a payment card network (Visa, Mastercard,
    American Express, Discover, JCB, Diners, UnionPay, Maestro): most digit runs that pass the
    Luhn check by chance (one in ten) do not."""
    n, p2, p3, p4 = len(digits), int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    if p2 in (36, 38, 39) or 300 <= p3 <= 305:
        return 14 <= n <= 19
    if p4 == 6011 or p2 == 65 or 644 <= p3 <= 649 or p2 in (35, 62):
        return 16 <= n <= 19
    return p2 in (50, 56, 57, 58, 63, 67) and 13 <= n <= 19


__all__ = ["HOLD", "Reported", "card_network", "is_due", "is_settled", "luhn", "mask", "scan_start"]
