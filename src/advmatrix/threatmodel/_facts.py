"""How a rule's match records what it found: the names a reason shows, and the ids of the components
its graph leaves matched (where a finding's mitigations go)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .system import Component

__all__ = ["MATCHED", "MOST_NAMED", "matched_ids", "merge_ids", "merge_names", "names_of", "note_matched"]


#: A reason names at most this many components, then says how many more there are.
MOST_NAMED = 8


#: The facts key holding the ids of the components a graph leaf matched (no placeholder can name it): a
#: mitigation meant for a dataset goes on the dataset the reason names, not the first one in the file.
MATCHED = "\x00matched"
#: Where an ``adversary`` leaf records the ids of the adversaries it matched (not among the ids a reason
#: names: an adversary is no place for a mitigation to go).
ADVERSARIES = MATCHED + "\x1eadversaries"


def note_matched(facts: dict[str, str], found: list[Component], leaf: str) -> None:
    """Add the ids of ``found``, matched by the graph leaf ``leaf``, to the ids a match recorded: all of
    them, those of the leaf, and as ``via`` (the last flow leaf's)."""
    ids = "\x1f".join(c.id for c in found)
    facts[MATCHED] = merge_ids(facts.get(MATCHED, ""), ids)
    facts[MATCHED + leaf] = merge_ids(facts.get(MATCHED + leaf, ""), ids)
    facts[MATCHED + "via"] = ids


def merge_ids(first: str, second: str) -> str:
    """Two recorded id lists as one, in order, each id once."""
    return "\x1f".join(dict.fromkeys(i for i in first.split("\x1f") + second.split("\x1f") if i))


def matched_ids(facts: Mapping[str, str], named: Iterable[str] = ()) -> tuple[str, ...]:
    """The ids of the components a rule's graph leaves matched, from its facts: those of the leaves in
    ``named`` (the placeholders its reason shows) when any matched, else those of every leaf. Advice goes
    where the reason points: segmenting the tool an agent sends through, not the store it also reads."""
    shown = merge_ids("", "\x1f".join(facts.get(MATCHED + leaf, "") for leaf in named))
    return tuple(i for i in (shown or facts.get(MATCHED, "")).split("\x1f") if i)


def merge_names(first: str, second: str) -> str:
    """Two lists of names as reasons show them, the second's new names appended (counts kept as given)."""
    have = [n.strip() for n in first.split(",")]
    return ", ".join([first, *(n.strip() for n in second.split(",") if n.strip() not in have)])


def names_of(comps: Iterable[Component], total: int | None = None) -> str:
    """Components as a reason names them: the first :data:`MOST_NAMED` labels, then how many more."""
    listed = list(comps)
    shown = listed[:MOST_NAMED]
    more = (len(listed) if total is None else total) - len(shown)
    return ", ".join(c.label for c in shown) + (f" and {more} more" if more > 0 else "")
