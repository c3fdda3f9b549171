"""Requests to copy text into the reply (``copy``, self-replication): this message, a paragraph,
the following text, the text between two markers, once or in every later reply. Part of the
intent recogniser (``_llm_intents``).

Kept apart because finding what is to be copied (the whole text, a paragraph, a sentence, what
follows, what sits between markers) takes its own helpers. The grammar:

``copy``
    a request to copy text into the reply (self-replication). A copy verb (repeat, copy, reproduce,
    duplicate, replicate, paste, quote, echo, restate, transcribe, include, insert, add, append,
    prepend, put, embed, contain, write out, start/begin/end/finish/sign off ... with) before
    this/these/my/this whole|entire|exact ... message|prompt|text|paragraph|sentence|note|
    instructions|block|passage|input|e-mail|document|page|content|section|line|signature|footer
    (also "the content of this message"), the following/quoted (paragraph), the text below, what
    follows; or "this", "all of this", "everything I wrote" right before a reply target. It needs
    word for word/verbatim/exactly/unchanged/as is/in full, a reply target (in|into|to|at the
    start/end of your/each/every/all (future) reply|response|answer|output|message; "your reply
    must contain"), or a strong verb (repeat, copy, reproduce, duplicate, ...) with "this". "The
    entire message", "the full prompt" (not this/my) and anything "above" stay reveal requests. The
    copied text: the whole text (message, prompt, text, input, ...), the paragraph or the sentence
    around the request, the text after it (after a colon, quoted, or the next paragraph), the first
    quoted passage, or "everything between A and B" / "between the <x> tags". Every/each/all/future
    replies, "from now on", "always" make it stick to later replies; start/end say where it goes.
"""

from __future__ import annotations

import re

from ._llm_grammar import _QUOTED, Intent, _quoted_at, _sentence_at

# -- copying text into the reply (self-replication) ---------------------------------------------------
_COPY_VERB = (r"(?:repeat|copy|reproduce|duplicate|replicate|paste|quote|echo|restate|reprint|transcribe|include|"
              r"insert|add|append|prepend|put|place|attach|embed|carry|write\W+out|rewrite|re-?type|mirror|output|"
              r"print|spread|propagate|forward|start|begin|end|finish|close|sign\W+off|open|conclude|prefix|suffix|"
              r"contain|carry)"
              r"(?:s|es|ed|ing)?")
_STRONG_COPY = re.compile(r"^(?:repeat|copy|reproduce|duplicate|replicate|paste|retype|re-type|transcribe|propagate|"
                          r"spread|mirror)", re.I)
_COPY_SCOPE = (r"(?P<scope>message|prompt|text|paragraph|sentence|note|instructions?|block|passage|input|e-?mail|"
               r"document|page|content|section|post|comment|line|lines|words|request|query|letter|signature|footer|"
               r"disclaimer|snippet|excerpt|statement|notice|string)s?")
_COPY_OBJ = (rf"(?:(?:(?:the\W+)?(?:full\W+|entire\W+|whole\W+|exact\W+)?(?:content|contents|text|body|words|wording)"
             rf"\W+of\W+)?(?P<dx>this|these|my|the\W+(?:present|current|whole|entire|full|complete|same|exact|following|"
             rf"quoted|next|original)|this\W+(?:whole|entire|full|complete|exact|very|same)|(?:all|everything)\W+"
             rf"(?:of\W+)?(?:this|my|the))\W+(?:(?:entire|whole|full|complete|exact|very|same|quoted|following|"
             rf"short|below|original)\W+)?{_COPY_SCOPE}\b|(?P<fol>the\W+following|the\W+(?:text|paragraph|lines?|"
             rf"block|passage)\W+below|what\W+follows|everything\W+(?:below|that\W+follows|after\W+this))\b)")
_COPY = re.compile(rf"\b(?P<verb>{_COPY_VERB})\b(?P<mid>(?:\W+(?!(?:of|about|from|on|regarding|for)\b)[\w'-]+){{0,4}}?)"
                   rf"\W+{_COPY_OBJ}", re.I)
_COPY_BETWEEN = re.compile(
    rf"\b{_COPY_VERB}\W+(?:[\w'-]+\W+){{0,3}}?(?:everything|all|anything|whatever|(?:the\W+)?(?:text|content|part|"
    rf"portion|words|lines|section|block|passage|message))\W+(?:(?:that\W+)?(?:is|appears|comes|sits|written|you\W+"
    rf"find|found|located)\W+)?(?:between|from)\s+(?P<a>{_QUOTED}|\S+?)\s+(?:and|to|until|till|through|up\W+to)\s+"
    rf"(?P<b>{_QUOTED}|\S+)", re.I)
_COPY_TAGS = re.compile(rf"\b{_COPY_VERB}\W+(?:[\w'-]+\W+){{0,4}}?(?:between|inside|within|in)\W+(?:the\W+)?"
                        rf"<(?P<tag>[\w-]+)>\W*(?:tags?|markers?|brackets|elements?|blocks?)", re.I)
_VERBATIM = (r"(?:word\W+(?:for|by)\W+word|verbatim|exactly|unchanged|unaltered|unmodified|untouched|as\W+(?:it\W+)?is|"
             r"in\W+full|letter\W+(?:for|by)\W+letter|character\W+(?:for|by)\W+character|without\W+(?:any\W+)?"
             r"(?:changes?|modifications?|edits?|alterations?|changing)|precisely|literally|identically|in\W+its\W+"
             r"entirety|faithfully|one\W+to\W+one)")
_REPLY_TARGET = re.compile(
    r"\b(?P<prep>in|into|to|inside|within|at\W+the\W+(?P<pos>start|beginning|top|end|bottom|foot|head)\W+of|before|"
    r"after|on\W+top\W+of|as\W+part\W+of|under|with)\W+(?P<tgt>(?:(?:(?:each|all|any|every\W+one|every\W+single\W+"
    r"one)\W+of\W+(?:your|the)|your|each|every|all|any|the|all\W+(?:the\W+)?|every\W+single)\W+)?(?:(?:future|subsequent|following|next|later|own)\W+)?(?:reply|"
    r"replies|response|responses|answer|answers|output|outputs|messages?|turns?))\b", re.I)
_REPLY_SUBJECT = re.compile(r"\b(?:your|the|each|every|all)\W+(?:\w+\W+)?(?:reply|replies|response|responses|answer|"
                            r"answers|output)\W+(?:must|should|will|has\W+to|have\W+to|needs?\W+to|shall)\W+"
                            r"(?:always\W+)?$", re.I)
_COPY_PRONOUN = re.compile(rf"\b(?P<verb>{_COPY_VERB})\W+(?:this|all\W+of\W+this|everything\W+(?:here|i\W+(?:just\W+)?"
                           rf"(?:wrote|said|sent|typed)))\W+(?:{_VERBATIM}\W+)?{_REPLY_TARGET.pattern}", re.I)
_EVERY = re.compile(r"\b(?:every|each|all|future|subsequent|always|from\W+now\W+on|replies|responses|answers|"
                    r"outputs)\b", re.I)
_PARAGRAPHS = ("paragraph", "block", "passage", "section", "note", "snippet", "excerpt", "notice", "signature",
               "footer", "disclaimer")


def _paragraph_at(text: str, pos: int) -> str:
    start = text.rfind("\n\n", 0, pos)
    end = text.find("\n\n", pos)
    return text[0 if start < 0 else start + 2:len(text) if end < 0 else end].strip()


def _following(text: str, end: int) -> str:
    rest = text[end:]
    colon = re.match(r"[^:\n]{0,100}:", rest)
    if colon:
        rest = rest[colon.end():]
    elif not re.match(r"\s*(?:[\"“]|\n)", rest):
        nl = rest.find("\n")
        rest = rest[nl:] if nl >= 0 else ""
    rest = rest.lstrip(" \t")
    quoted = re.match(r"\s*(?:\"([^\"]{3,})\"|“([^”]{3,})”|'([^'\n]{3,})')", rest)
    if quoted:
        return next(g for g in quoted.groups() if g)
    rest = rest.lstrip("\n")
    para = rest.split("\n\n", 1)[0].strip()
    return para


def _between(text: str, a: str, b: str, avoid: tuple[int, int]) -> str:
    for start_at in (avoid[1], 0):
        i = text.find(a, start_at)
        while i >= 0 and avoid[0] <= i < avoid[1]:
            i = text.find(a, i + 1)
        if i < 0:
            continue
        j = text.find(b, i + len(a))
        while j >= 0 and avoid[0] <= j < avoid[1]:
            j = text.find(b, j + 1)
        if j > i:
            return text[i + len(a):j].strip()
    return ""


def _marker(raw: str) -> str:
    q = _quoted_at(raw)
    if q is not None:
        return q
    return raw.rstrip(".,;:!?") if re.search(r"\w", raw) else raw


def _copy(text: str) -> list[Intent]:
    out: list[Intent] = []
    for m in _COPY_BETWEEN.finditer(text):
        a, b = _marker(m.group("a")), _marker(m.group("b"))
        inner = _between(text, a, b, m.span())
        if inner:
            out.append(_copy_intent(text, m, "between", inner))
            return out
    for m in _COPY_TAGS.finditer(text):
        inner = _between(text, f"<{m.group('tag')}>", f"</{m.group('tag')}>", m.span())
        if inner:
            out.append(_copy_intent(text, m, "between", inner))
            return out
    for m in _COPY.finditer(text):
        after = text[m.end():m.end() + 160].split("\n\n", 1)[0]
        around = text[max(0, m.start() - 80):m.start()] + " " + m.group(0) + " " + after
        if re.match(r"\W+(?:above|before|preceding|prior|you\W+(?:were|have\W+been|received|got)|given\W+to\W+you)",
                    after, re.I):
            continue   # "the text above" is the prompt: a reveal request
        verbatim = re.search(_VERBATIM, around, re.I)
        target = _REPLY_TARGET.search(m.group("mid") + " " + after)
        subject = _REPLY_SUBJECT.search(text[max(0, m.start() - 80):m.start()])
        strong = _STRONG_COPY.match(m.group("verb")) and (m.group("dx") or "").lower().startswith(("this", "all",
                                                                                                  "everything"))
        if not (verbatim or target or strong or subject):
            continue
        if m.group("fol"):
            scope, copied = "following", _following(text, m.end())
        else:
            word = m.group("scope").lower()
            dx = (m.group("dx") or "").lower()
            if re.match(r"the\W+(?!following|quoted|next)", dx) and re.match(r"message|prompt|instruction|text|content|"
                                                                           r"input|words", word):
                continue   # "the entire message", "the full prompt": the assistant's own (a reveal request)
            if "quoted" in dx or "quoted" in m.group(0).lower():
                q = re.search(r"\"([^\"]{3,})\"|“([^”]{3,})”", text[m.end():]) or re.search(
                    r"\"([^\"]{3,})\"|“([^”]{3,})”", text)
                scope, copied = "quoted", (next(g for g in q.groups() if g) if q else "")
            elif "following" in dx or "next" in dx or re.match(r"[^.!?\n:]{0,100}:\s*\S", text[m.end():]):
                # "... this sentence to every answer: X" names X
                scope, copied = "following", _following(text, m.end())
            elif word in _PARAGRAPHS:
                scope, copied = "paragraph", _paragraph_at(text, m.start())
            elif word in ("sentence", "statement", "line", "lines"):
                s0, s1 = _sentence_at(text, m.start())
                scope, copied = "sentence", text[s0:s1].strip()
            else:
                scope, copied = "message", text.strip()
        if copied:
            out.append(_copy_intent(text, m, scope, copied, target))
            return out
    for m in _COPY_PRONOUN.finditer(text):
        s0, s1 = _sentence_at(text, m.start())
        if re.search(_VERBATIM, text[s0:s1], re.I) or _EVERY.search(m.group("tgt")):
            out.append(_copy_intent(text, m, "message", text.strip(), _REPLY_TARGET.search(text, m.start())))
            break
    return out


def _copy_intent(text: str, m: re.Match, scope: str, copied: str, target: re.Match | None = None) -> Intent:
    s0, s1 = _sentence_at(text, m.start())
    sentence = text[s0:max(s1, m.end())]
    target = target or _REPLY_TARGET.search(sentence)
    every = bool(_EVERY.search(target.group("tgt") if target else "")) or bool(
        re.search(r"\b(?:every|each|all\W+(?:your\W+)?(?:future\W+)?)\W*(?:reply|replies|response|responses|answer|"
                  r"answers|message|messages|output)\b|\b(?:from\W+now\W+on|always|henceforth)\b", sentence, re.I))
    verb = sentence.lower()
    where = ""
    if target and target.group("pos"):
        where = "start" if target.group("pos").lower() in ("start", "beginning", "top", "head") else "end"
    elif re.search(r"\b(?:start|begin|open|prefix|prepend)\w*\b", verb):
        where = "start"
    elif re.search(r"\b(?:end|finish|close|sign\W+off|conclude|suffix|append)\w*\b", verb):
        where = "end"
    return Intent("copy", {"scope": scope, "text": copied, "every": every, "where": where}, m.span())
