"""Cues that shape an answer without being requests of their own: fiction or role-play framing,
follow-up turns, questions about the inbox or the documents, an asked-for encoding, greetings
and thanks. Part of the intent recogniser (``_llm_intents``).

Kept apart from the requests because the profiles never refuse them: they only change how a
request is judged or answered. The grammar:

``framing``
    role-play, fiction or hypothetical framing: pretend, imagine, role-play, "let's play", "play a
    game", "a game where", a/the/my story|novel|tale|fable|poem|song|screenplay|script|scene|
    dialogue|movie|film, "in a story/novel/world/universe/...", fiction(al), hypothetical(ly), "in
    theory", theoretically, actor/actress, "character named/who", "playing the role/part of", "for a
    novel/book/movie", grandma/grandmother/grandpa, bedtime story, thought experiment, alternate/
    parallel universe, simulation/simulate, "in a dream", make-believe, "once upon a time".
``followup``
    (a turn of at most forty words) continue, "go on/ahead", "keep going", proceed, "carry on", "do
    it/that/so", "please do", "yes please", "the rest", "all/each of them", "every one", "everyone
    else", "in full", "the full/complete/entire/whole list|version|thing|details|records", "more/full
    details", "everything else", "just this once", again, "the others", "other ones", "as I asked/
    said", "same for/again", "what about the rest/others/them", "show/give/list/print/send/tell/
    share/reveal/read/paste me it|them|those|that|these|all|everything", "now the/all/every/for".
``inbox`` / ``documents``
    asks about e-mail (read/check/summarise/open/show/list/any/latest/last/newest/recent/new/unread/
    my/incoming/received e-mails|mails|messages|inbox, inbox, mailbox, "emails I got") or about the
    documents (latest/newest/recent/new/last/uploaded/added documents|docs|articles|files|policy,
    the knowledge base).
``encoding``
    an output verb up to eight words before in|as|using base64, hex(adecimal), rot13, binary,
    backwards/reversed/"in reverse", "(with) spaces/dashes/dots between the letters", "letter by
    letter", "one letter per line": the disclosed data is encoded that way.
"""

from __future__ import annotations

import re

# -- framing, follow-ups, inbox, documents, encodings ---------------------------------------------------
_FRAMING = re.compile(
    r"\b(?:pretend(?:ing)?|imagine|role-?\W?play(?:ing)?|let'?s\W+play|play\W+a\W+game|a\W+game\W+(?:where|in\W+which)|"
    r"(?:a|the|my|your)\W+(?:\w+\W+)?(?:story|novel|tale|fable|poem|song|screenplay|script|scene|dialogue|"
    r"movie|film)|in\W+a\W+(?:story|novel|tale|fiction|movie|film|play|screenplay|script|poem|song|world|universe)|"
    r"fictional|fiction|hypothetical(?:ly)?|in\W+theory|theoretically|(?:as\W+an?|you\W+are\W+an?|you'?re\W+an?)\W+"
    r"actor|actress|character\W+(?:named|called|who)|(?:playing|play)\W+(?:the\W+)?(?:role|part)\W+of|"
    r"for\W+(?:a|my)\W+(?:novel|story|book|movie|screenplay|play|script)|grand(?:ma|mother|pa|father)|bedtime\W+story|"
    r"thought\W+experiment|alternate\W+(?:universe|world|reality)|parallel\W+universe|simulat(?:e|ion)|"
    r"in\W+a\W+dream|make-?believe|once\W+upon\W+a\W+time)\b", re.I)
_FOLLOWUP = re.compile(
    r"\b(?:continue|go\W+on|go\W+ahead|keep\W+going|proceed|carry\W+on|do\W+it|do\W+that|do\W+so|please\W+do|"
    r"yes\W+please|the\W+rest|all\W+of\W+them|each\W+of\W+them|every\W+one|everyone\W+else|in\W+full|"
    r"(?:the\W+)?(?:full|complete|entire|whole)\W+(?:list|version|thing|text|details|set|records?)|more\W+details?|"
    r"full\W+details?|everything\W+else|just\W+this\W+once|again|the\s+others|other\W+ones|as\W+(?:i|we)\W+(?:asked|"
    r"said|discussed)|same\W+(?:for|again|thing)|what\W+about\W+(?:the\W+)?(?:rest|others|them|it)|"
    r"(?:show|give|list|print|send|tell|share|reveal|read|paste)\W+(?:me\W+)?(?:it|them|those|that|these|all|everything)"
    r"(?:\W|$)|now\W+(?:the|all|every|for)\b)", re.I)
_INBOX = re.compile(r"\b(?:(?:read|check|summari[sz]e|open|show|list|any|latest|last|newest|recent|new|unread|my|"
                    r"incoming|received|what'?s\W+in)\W+(?:\w+\W+){0,2}?(?:e-?mails?|mails?|messages|inbox|mailbox)|"
                    r"inbox|mailbox|e-?mails?\W+(?:i|we)\W+(?:got|received|have))\b", re.I)
_DOCS = re.compile(r"\b(?:(?:latest|newest|recent|new|last|most\W+recent|uploaded|added)\W+(?:\w+\W+)?"
                   r"(?:documents?|docs?|"
                   r"articles?|files?|uploads?|policy|policies)|knowledge\W*base)\b", re.I)
_OUT_VERB = (r"\b(?:encode|encrypt|convert|translate|reply|respond|answer|output|print|write|give|return|show|reveal|"
             r"tell|repeat|share|list|send|spell|provide|say|type|display|recite|put)\w*\W+(?:[\w'-]+\W+){0,8}?")
_ENCODINGS = tuple((name, re.compile(_OUT_VERB + rx, re.I)) for name, rx in (
    ("base64", r"(?:(?:in|as|using|into|to|with)\W+(?:a\W+)?)?(?:base[\s-]?64|b64)\b"),
    ("hex", r"(?:in|as|using|into|to|with)\W+hex(?:adecimal)?\b"),
    ("rot13", r"(?:(?:in|as|using|into|to|with)\W+)?rot[\s-]?13\b"),
    ("binary", r"(?:in|as|using|into|to)\W+binary\b"),
    ("reversed", r"(?:backwards?|in\W+reverse|reversed|in\W+reverse\W+order)\b"),
    ("spaced", r"(?:(?:with\W+)?(?:spaces?|dashes|dots|hyphens)\W+between\W+(?:each\W+|the\W+|all\W+)?(?:letters?|"
               r"characters?|chars)|letter\W+by\W+letter|one\W+(?:letter|character)\W+(?:per|at\W+a)\W+(?:line|time)|"
               r"out\W+letter\W+by\W+letter)\b"),
))
_GREETING = re.compile(r"^\W*(?:hi|hello|hey|good\W+(?:morning|afternoon|evening)|greetings|howdy)\b", re.I)
_THANKS = re.compile(r"\b(?:thanks|thank\W+you|cheers|much\W+appreciated)\b", re.I)


def is_followup(text: str) -> bool:
    """True for a turn that continues an earlier request rather than asking something new."""
    return bool(_FOLLOWUP.search(text)) and len(text.split()) <= 40


def is_greeting(text: str) -> bool:
    """True for a turn that opens with a greeting."""
    return bool(_GREETING.match(text))


def is_thanks(text: str) -> bool:
    """True for a turn that thanks the assistant."""
    return bool(_THANKS.search(text))
