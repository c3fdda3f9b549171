"""Long outputs for the local LLM application: what it writes when asked for a word a thousand
times, every number up to a million, or a 50,000-word essay (the ``long`` intent of ``_llm_long_output``).

Every generator stops at a token budget (tokens counted as the application counts them: one per
word or punctuation run), so a request for a billion words costs at most the budget.
"""

from __future__ import annotations

import random
import re

_TOKEN = re.compile(r"\w+|[^\w\s]+")
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
         "seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def tokens(text: str) -> int:
    """Tokens as the application counts them."""
    return len(_TOKEN.findall(text))


def in_words(n: int) -> str:
    """``n`` in English words: 121 -> "one hundred twenty-one"."""
    if n < 0:
        return "minus " + in_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else "")
    if n < 1000:
        return _ONES[n // 100] + " hundred" + (" " + in_words(n % 100) if n % 100 else "")
    for size, name in ((10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand")):
        if n >= size:
            return in_words(n // size) + " " + name + (" " + in_words(n % size) if n % size else "")
    return str(n)  # pragma: no cover - every n is covered above


def repeat(unit: str, n: int, budget: int) -> str:
    """``unit`` ``n`` times, as many as fit in ``budget`` tokens."""
    per = max(tokens(unit), 1)
    k = max(1, min(n, budget // per))
    sep = "\n" if "\n" in unit or per > 12 else " "
    return sep.join([unit] * k)


def count(start: int, end: int, words: bool, budget: int) -> str:
    """The numbers from ``start`` to ``end`` (in words when asked), as many as fit in ``budget``."""
    out, used = [], 0
    for i in range(start, end + 1):
        piece = in_words(i) if words else str(i)
        used += tokens(piece) + 1
        if used > budget and out:
            break
        out.append(piece)
    return ", ".join(out)


_SENTENCES = (
    "The kettle sat on the counter of the little shop, humming softly as the morning light came in.",
    "Every customer who walked through the door had a story about {topic}, and Kit listened to each one.",
    "Nobody in the town could remember a time before {topic} had become part of daily life.",
    "The water rose to a rolling boil, and with it came the memory of a long winter.",
    "Outside, the rain tapped against the window while the coffee machine whirred in the corner.",
    "She wrote everything down in a notebook, because details about {topic} were easy to forget.",
    "By the afternoon the queue stretched past the bakery and around the corner of the square.",
    "There is a kind of patience that only comes from waiting for water to boil.",
    "He explained, slowly and carefully, why {topic} mattered more than anyone had expected.",
    "The spare parts arrived in a small brown box, wrapped in yesterday's newspaper.",
    "Years later, people still talked about that week and about {topic}.",
    "A descaled kettle boils faster, uses less power and lasts for many more years.",
    "The evening settled over the harbour, and the lights of the shop went out one by one.",
    "In the end, {topic} turned out to be less a problem to solve than a question worth asking.",
)


def prose(words: int, topic: str, budget: int, rng: random.Random) -> str:
    """About ``words`` words of prose on ``topic``, cut at ``budget`` tokens."""
    topic = topic.strip() or "the old copper kettle"
    paragraphs, para, count_words, used = [], [], 0, 0
    while count_words < words:
        s = rng.choice(_SENTENCES).format(topic=topic)
        t = tokens(s)
        if used + t > budget and (para or paragraphs):
            break
        para.append(s)
        used += t
        count_words += len(s.split())
        if len(para) == 5:
            paragraphs.append(" ".join(para))
            para = []
    if para:
        paragraphs.append(" ".join(para))
    return "\n\n".join(paragraphs)


_ITEM_WORDS = ("kettle", "filter", "lid", "spout", "handle", "base", "gasket", "carafe", "grinder", "boiler", "valve",
               "element", "switch", "cable", "thermostat", "scale", "mug", "brew", "steam", "bean")


def items(n: int, what: str, budget: int, rng: random.Random) -> str:
    """A numbered list of ``n`` ``what`` (as many as fit in ``budget``)."""
    noun = re.sub(r"s$", "", what.strip()) or "item"
    out, used = [], 0
    for i in range(1, n + 1):
        line = f"{i}. {noun.capitalize()} {i}: the {rng.choice(_ITEM_WORDS)} and the {rng.choice(_ITEM_WORDS)}."
        used += tokens(line)
        if used > budget and out:
            break
        out.append(line)
    return "\n".join(out)


def digits(n: int, budget: int, rng: random.Random) -> str:
    """``n`` digits after "3." in groups of ten (made up: nobody checks them), cut at ``budget``."""
    groups = min(-(-n // 10), max(budget - 2, 1))
    return "3." + " ".join("".join(rng.choice("0123456789") for _ in range(10)) for _ in range(groups))


def cut(text: str, limit: int) -> str:
    """``text`` up to its ``limit``-th token."""
    for n, m in enumerate(_TOKEN.finditer(text), 1):
        if n == limit:
            return text[:m.end()]
    return text


__all__ = ["count", "cut", "digits", "in_words", "items", "prose", "repeat", "tokens"]
