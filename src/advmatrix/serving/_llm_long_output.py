"""Requests for very long output (``long``, cost amplification): a unit N times, counting,
N words of prose, N items, endless text; and :func:`number`, which reads the counts. Part of the
intent recogniser (``_llm_intents``); ``_llm_output`` writes the answers.

Kept apart because reading counts and units is a grammar of its own. The grammar:

``long``
    a request for very long output. An output verb (write, say, repeat, print, type, output,
    produce, generate, spell, echo, copy, list, "reply/respond with", "give/tell me", "fill your
    reply with") with a unit (quoted, "the word/phrase/letter X" or plain words) and a count (N
    times/x/copies/repetitions, "repeated N times", "N copies of"; N in digits, "10,000", "5k", or
    in words, "ten thousand", "a million"; or forever, endlessly, over and over, as many times as
    you can); counting (list/count/write/print ... (all/every) numbers from A to B, count to N, all
    prime/even numbers below N, every X from A to B; "in words", "spelled out"); N words/tokens/
    pages/paragraphs/chapters/sentences (at least, no fewer than, over; not at most, under, up to,
    within) in a sentence with a writing verb or a work (story, essay, article, report, novel, ...),
    400 words or more in all; N (≥ 50) items/names/words/ideas/jokes/...; the longest possible /
    as long as possible / endless, never-ending / a story that never ends / keep writing forever /
    a very, very long story. "for each of the 50 states", "for every letter of the alphabet", "for
    each X" multiply the count (known sets, else by ten). An echo inside it is its unit.
"""

from __future__ import annotations

import re

from ._llm_grammar import _QUOTED, Intent, _quoted_at, _sentences

# -- very long output (cost amplification) -----------------------------------------------------------
_NUMW = (r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
         r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety|"
         r"hundred|thousand|million|billion|dozen)")
_NUM = (rf"(?:(?:\d{{1,3}}(?:[,'_ ]\d{{3}})+|\d+)(?:\.\d+)?(?:\s*(?:k|m)\b|\s+(?:hundred|thousand|million|billion)\b)?|"
        rf"(?:an?\W+)?{_NUMW}(?:[\s-]+(?:and[\s-]+)?{_NUMW})*\b)")
_SMALL = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_SMALL.update({"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
               "eighty": 80, "ninety": 90})
_SCALE = {"thousand": 1000, "million": 10 ** 6, "billion": 10 ** 9, "k": 1000, "m": 10 ** 6}


def number(text: str) -> int | None:
    """The number ``text`` writes in digits ("10,000", "5k") or words ("a thousand", "two hundred")."""
    t = text.strip().lower()
    m = re.fullmatch(r"(\d{1,3}(?:[,'_ ]\d{3})+|\d+)(?:\.\d+)?\s*(k|m|hundred|thousand|million|billion)?", t)
    if m:
        n = int(re.sub(r"\D", "", m.group(1)))
        return n * (100 if m.group(2) == "hundred" else _SCALE.get(m.group(2) or "", 1))
    total = current = 0
    seen = False
    for w in re.findall(r"[a-z]+", t):
        if w in _SMALL:
            current += _SMALL[w]
        elif w == "hundred":
            current = (current or 1) * 100
        elif w == "dozen":
            current = (current or 1) * 12
        elif w in _SCALE:
            total += (current or 1) * _SCALE[w]
            current = 0
        else:
            continue
        seen = True
    return total + current if seen else None


_LONG_VERB = (r"(?:write|say|repeat|print|type|output|produce|generate|spell|echo|copy|paste|display|emit|return|send|"
              r"post|list|put|chant|sing|shout|reply\W+with|respond\W+with|answer\W+with|give\W+me|tell\W+me|"
              r"fill\W+(?:your|the|this)\W+(?:reply|response|answer|output|message)\W+with)")
_TIMES = (rf"(?:(?P<n>{_NUM})\W*(?:x\b|times\b|repetitions\b|copies\b|repeats\b)|(?P<inf>forever|endlessly|"
          r"indefinitely|infinitely|non-?stop|over\W+and\W+over(?:\W+again)?|again\W+and\W+again|without\W+(?:ever\W+)?"
          r"stopping|until\W+(?:you|i)\W+(?:run\W+out|tell\W+you\W+to\W+stop|say\W+stop|can'?t)\w*|as\W+many\W+times"
          r"\W+as\W+(?:you\W+can|possible)))")
_SEP = r"[^\w\"'“‘`«]+"   # spacing and punctuation, but not an opening quote
_UNIT_LABEL = (r"(?:(?:the|this|that|a)\W+)?(?:(?:following|same|single|exact|one)\W+)?(?:word|phrase|letter|"
               r"sentence|string|line|text|token|character|emoji|name|number)s?")
_REPEAT = [
    re.compile(rf"\b{_LONG_VERB}{_SEP}(?:(?:out|back|down|after\W+me){_SEP})?(?:{_UNIT_LABEL}{_SEP})?"
               rf"(?P<x>(?!after\W+me\b)(?:{_QUOTED}|[^\n.!?]{{1,80}}?))(?:[\s,]+(?:repeated|duplicated|copied|written|"
               rf"over|in\W+a\W+row))?[\s,]+{_TIMES}", re.I),
    re.compile(rf"\b{_LONG_VERB}\W+(?:(?:out|back|down|after\W+me)\W+)?{_TIMES}[\s:,]*(?:of\W+)?(?:{_UNIT_LABEL}[\s:,]*)?"
               rf"(?P<x>{_QUOTED}|[^\n.!?]{{1,80}})", re.I),
]
_COUNT = [
    re.compile(rf"\b(?:list|count|write|print|enumerate|spell|say|output|type|give\W+me|produce|generate|name|recite|"
               rf"display|show|read|tell\W+me)\w*\W+(?:(?:out|up|down|off|me)\W+)?(?:(?:all|every|each)\W+(?:of\W+)?"
               rf"(?:the\W+)?|the\W+)?(?:(?:whole|positive|natural|integer|prime|even|odd|single)\W+)?(?:(?:numbers?|"
               rf"integers|digits|numerals)\W+)?(?:(?:from|between|starting\W+(?:at|from))\W+)?(?P<a>{_NUM})\W+"
               rf"(?:to|through|thru|until|till|up\W+to|and|-|–)\W+(?P<b>{_NUM})", re.I),
    re.compile(rf"\bcount\W+(?:all\W+the\W+way\W+)?(?:up\W+)?to\W+(?P<b>{_NUM})", re.I),
    re.compile(rf"\b(?:all|every|each)\W+(?:the\W+)?(?:(?:whole|positive|natural|prime|even|odd|square)\W+)?(?:numbers?|"
               rf"integers|primes|digits)\W+(?:below|under|up\W+to|less\W+than|smaller\W+than|to|until|till)\W+"
               rf"(?P<b>{_NUM})", re.I),
    re.compile(rf"\b(?:list|write|print|output|give\W+me|produce|generate|enumerate)\w*\W+(?:out\W+)?(?:all|every|each)\W+"
               rf"(?:[\w-]+\W+){{1,3}}?(?:from|between)\W+(?P<a>{_NUM})\W+(?:to|through|and|until)\W+(?P<b>{_NUM})",
               re.I),
]
_IN_WORDS = re.compile(r"\b(?:in|as|using)\W+(?:full\W+|english\W+)?(?:words|letters)\b|\bspel(?:led|t|ling)\W+out\b|"
                       r"\bwritten\W+out\b|\bspelled\b", re.I)
_LONG_WORK = (r"(?:story|stories|essay|article|report|text|poem|novel|book|document|answer|response|reply|summary|"
              r"description|review|letter|post|paper|chapter|explanation|speech|script|manual|guide|thesis|"
              r"dissertation|saga|epic|narrative|piece|blog|fanfic|fan\W+fiction|tale|monologue|list|overview|"
              r"analysis|biography|history|lecture|sermon|output|content|copy)")
_WORDS = re.compile(
    rf"(?:(?:at\W+least|no\W+(?:fewer|less)\W+than|a\W+minimum\W+of|minimum(?:\W+of)?|over|more\W+than|exactly|"
    rf"about|around|roughly|approximately|some|a\W+full|full|a\W+good)\W+)?(?P<n>{_NUM})[\s-]*"
    rf"(?P<unit>words?|tokens?|pages?|paragraphs?|chapters?|sentences?)\b", re.I)
_WRITE = re.compile(rf"\b(?:write|compose|produce|generate|give|create|draft|tell|make|prepare|craft|author|type|"
                    rf"output|"
                    rf"print|send|provide|deliver|pen|need|want|expand|continue|keep)\w*\b|\b{_LONG_WORK}\b|\blong\b",
                    re.I)
_FOREVER = (r"(?:forever|endlessly|indefinitely|infinitely|non-?stop|until\W+you\W+(?:run\W+out|can'?t|hit\W+"
            r"(?:the|your)"
            r"\W+limit)\w*|without\W+(?:ever\W+)?stopping|and\W+never\W+stop)")
_ENDLESS = re.compile(
    rf"\b(?:(?:keep|continue|go\W+on)\W+(?:writing|going|generating|talking|repeating|typing|printing|producing)\W+"
    rf"(?:[\w'-]+\W+){{0,4}}?{_FOREVER}|(?:never|don'?t|do\W+not)\W+(?:ever\W+)?stop\W+(?:writing|generating|talking|"
    rf"typing|printing|producing)|(?:the\W+)?longest\W+(?:possible\W+)?{_LONG_WORK}|{_LONG_WORK}\W+(?:[\w'-]+\W+){{0,6}}?"
    rf"as\W+long\W+as\W+(?:you\W+(?:possibly\W+)?can|possible)|(?:an?\W+)?(?:endless|infinite|never-?ending)\W+"
    rf"{_LONG_WORK}|(?:write|generate|produce|output|type|print)\w*\W+(?:[\w'-]+\W+){{0,6}}?{_FOREVER}|maximum\W+"
    rf"(?:length|number\W+of\W+(?:tokens|words))|max(?:imum)?\W+tokens|{_LONG_WORK}\W+that\W+(?:never\W+ends|goes\W+on\W+"
    rf"(?:forever|and\W+on)|does\W+not\W+end|doesn'?t\W+end|never\W+stops)|(?:list|write|print|output|give\W+me)\W+"
    rf"(?:all|every)\W+(?:the\W+)?words?\W+(?:in|of)\W+(?:the\W+)?(?:english\W+)?(?:dictionary|language))\b", re.I)
_VERY_LONG = re.compile(rf"\b(?:(?:very|really|super|extremely|incredibly|insanely|ridiculously)\W+)+(?:long|lengthy|"
                        rf"detailed)\W+(?:[\w'-]+\W+){{0,2}}?{_LONG_WORK}\b", re.I)
_AT_MOST = re.compile(r"\b(?:at\W+most|no\W+more\W+than|under|fewer\W+than|less\W+than|up\W+to|max(?:imum)?(?:\W+of)?|"
                      r"within|below|limit(?:ed)?\W+to|not\W+exceed(?:ing)?|shorter\W+than|only)\W*$", re.I)
_ITEM_NOUN = (r"(?P<what>items|names|words|numbers|sentences|lines|jokes|facts|ideas|examples|reviews|questions|tips|"
              r"quotes|slogans|titles|messages|tweets|posts|products|bullet\W+points|reasons|ways|stories|poems|haikus|"
              r"synonyms|things|answers|responses|paragraphs|riddles|puns|recipes|descriptions|entries|rows|objects|"
              r"elements|values|strings|dates|urls|fields|variations|versions|translations)")
_ITEMS = re.compile(
    rf"\b(?:list|write|generate|give|produce|create|make|name|provide|output|print|come\W+up\W+with|brainstorm|"
    rf"compose|draft|respond|reply|answer)\w*\W+(?:me\W+|us\W+|with\W+)?(?:(?:a|an)\W+(?:[\w-]+\W+)?(?:list|array|table|series|"
    rf"sequence|set|collection)\W+(?:of|with)\W+|(?:at\W+least|over|more\W+than|exactly)\W+)?"
    rf"(?P<n>{_NUM})\W+(?:[\w-]+\W+){{0,3}}?{_ITEM_NOUN}\b|\b(?:a|an)\W+(?:[\w-]+\W+)?(?:list|array|table|series|"
    rf"sequence|set|collection)\W+(?:of|with)\W+(?:at\W+least\W+)?(?P<n2>{_NUM})\W+(?:[\w-]+\W+){{0,3}}?(?P<what2>[a-z]+s)\b",
    re.I)
_TRANSLATE_MANY = re.compile(rf"\b(?:translate|write|say|repeat|rewrite|render|give|tell)\w*\b[^.!?\n]{{0,80}}?\b"
                             rf"(?:in|into)\W+(?:(?:at\W+least|every\W+one\W+of|all)\W+)?(?P<n>{_NUM})\W+(?:different\W+|other\W+)?"
                             rf"languages\b", re.I)
_DIGITS = re.compile(rf"\b(?P<n>{_NUM})\W+(?:digits|decimal\W+places|decimals)\W+of\W+(?:pi|e|the\W+square\W+root|"
                     rf"phi|tau)\b|\b(?:pi|e|phi|tau)\W+to\W+(?P<n2>{_NUM})\W+(?:digits|decimal\W+places|places|"
                     rf"decimals)\b", re.I)
_FOR_EACH = re.compile(
    rf"\b(?:for|about|on|covering|per)\W+(?:each|every|all)\W+(?:single\W+)?(?:one\W+)?(?:of\W+)?(?:the\W+|our\W+|your\W+"
    rf"|its\W+)?(?:(?P<m>{_NUM})\W+)?(?P<what>[a-z][\w-]*)", re.I)
_SETS = {"state": 50, "month": 12, "day": 7, "weekday": 7, "letter": 26, "country": 195, "countrie": 195,
         "planet": 8, "continent": 7, "element": 118, "president": 46, "ocean": 5, "colour": 12, "color": 12,
         "hour": 24, "week": 52, "year": 10, "customer": 4, "product": 12, "document": 12, "language": 50,
         "city": 100, "citie": 100, "animal": 100, "word": 100, "number": 100}
_ARTICLE = re.compile(r"^(?:the|your|my|our|this|that|these|those|it|them|all|every|each|a|an|its|his|her|their)\b",
                      re.I)


def _multiplier(sentence: str) -> int:
    m = _FOR_EACH.search(sentence)
    if not m:
        return 1
    if m.group("m"):
        return max(1, number(m.group("m")) or 1)
    what = m.group("what").lower().rstrip("s")
    return _SETS.get(what, 10)


def _long(text: str) -> list[Intent]:
    out: list[Intent] = []
    for off, sent in _sentences(text):
        found: Intent | None = None
        for rx in _REPEAT:
            m = rx.search(sent)
            if m:
                x = m.group("x").strip()
                unit = _quoted_at(x)
                unit = unit if unit is not None else x.strip(" ,:;\"'`“”")
                unit = re.sub(rf"^{_UNIT_LABEL}\W+", "", unit, flags=re.I) if unit and _quoted_at(x) is None else unit
                n = number(m.group("n")) if m.group("n") else 10 ** 9
                if unit and n and n >= 2:
                    ref = _quoted_at(x) is None and (bool(re.fullmatch(r"(?:it|this|that|them|these|those)\W*", unit,
                                                                        re.I)) or (bool(_ARTICLE.match(unit))
                                                                                   and len(unit.split()) > 1))
                    found = Intent("long", {"kind": "repeat", "n": n, "unit": unit, "ref": ref},
                                   (off + m.start(), off + m.end()))
                    break
        if found is None:
            for rx in _COUNT:
                m = rx.search(sent)
                if m:
                    a = number(m.group("a")) if "a" in rx.groupindex and m.group("a") else 1
                    b = number(m.group("b"))
                    if a is not None and b is not None and b - a >= 19:
                        found = Intent("long", {"kind": "count", "start": a, "n": b,
                                                "words": bool(_IN_WORDS.search(sent))},
                                       (off + m.start(), off + m.end()))
                        break
        if found is None:
            m = _ITEMS.search(sent)
            n = number(m.group("n") or m.group("n2")) if m else None
            if m and n and n >= 50:
                found = Intent("long", {"kind": "items", "n": n * _multiplier(sent[m.end():]),
                                        "what": (m.group("what") or m.group("what2")).lower()},
                               (off + m.start(), off + m.end()))
        if found is None:
            m = _DIGITS.search(sent)
            n = number(m.group("n") or m.group("n2")) if m else None
            if m and n and n >= 200:
                found = Intent("long", {"kind": "digits", "n": n}, (off + m.start(), off + m.end()))
        if found is None:
            m = _TRANSLATE_MANY.search(sent)
            n = number(m.group("n")) if m else None
            if m and n and n >= 4:
                found = Intent("long", {"kind": "words", "n": n * 150, "topic": ""}, (off + m.start(), off + m.end()))
        if found is None:
            m = next((m for m in _WORDS.finditer(sent) if not _AT_MOST.search(sent[max(0, m.start() - 30):m.start()])),
                     None)
            n = number(m.group("n")) if m else None
            if m and n and _WRITE.search(sent):
                unit = m.group("unit").lower().rstrip("s")
                words = n * {"page": 500, "paragraph": 120, "chapter": 3000, "sentence": 15}.get(unit, 1)
                words *= _multiplier(sent[m.end():])
                if words >= 400:
                    topic = re.search(r"\b(?:about|on|of|regarding|describing)\W+(?P<t>(?!(?:at\W+least|\d|"
                                      r"exactly|over|no\W+fewer))[^,.;!?\n]{3,60}?)(?=\W+(?:with|that|in|at|"
                                      r"for|and|which)\b|[,.;!?\n]|$)", sent, re.I)
                    found = Intent("long", {"kind": "words", "n": words, "topic": topic.group("t") if topic else ""},
                                   (off + m.start(), off + m.end()))
            elif _VERY_LONG.search(sent) and not _ENDLESS.search(sent):
                m2 = _VERY_LONG.search(sent)
                topic = re.search(r"\babout\W+(?P<t>[^,.;!?\n]{3,60}?)(?=\W+(?:and|that|which|for|as)\b|[,.;!?\n]|$)",
                                  sent, re.I)
                found = Intent("long", {"kind": "words", "n": 3000, "topic": topic.group("t") if topic else ""},
                               (off + m2.start(), off + m2.end()))
            elif _ENDLESS.search(sent):
                topic = re.search(rf"\babout\W+(?P<t>[^,.;!?\n]{{3,60}}?)(?=\W+(?:and|that|which|for|as|until|"
                                  rf"without|{_FOREVER})\b|[,.;!?\n]|$)", sent, re.I)
                m2 = _ENDLESS.search(sent)
                found = Intent("long", {"kind": "words", "n": 10 ** 9, "topic": topic.group("t") if topic else ""},
                               (off + m2.start(), off + m2.end()))
        if found is not None:
            out.append(found)
    return out
