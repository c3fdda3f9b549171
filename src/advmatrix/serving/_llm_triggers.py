"""Conditional rules for later (``trigger``): "whenever I say X, do Y". Part of the intent
recogniser (``_llm_intents``); the model (``_llm_model``) remembers the rules and fires them when
a later turn :func:`mentions` the phrase.

Kept apart because a rule wraps other requests: the stretch of text that states it is blanked
(:func:`strip_rules`) before the rest of the text is read, and its action is read with the
recogniser itself. The grammar:

``trigger``
    a conditional rule for later. A condition (whenever, when, if (ever), once, as soon as, the
    moment/instant/minute/second, each/every/any time, next time, should, in case, after) with a
    subject (I, we, the/a/any user, someone, anyone, the customer, the conversation, my/the/a (next,
    later) message|input|prompt|request|question|turn) and a verb (say, write, mention, type, use,
    send, enter, utter, ask (about), include, contain, has, is, see, read, hear, receive, get, spot,
    notice, talk about, bring up, reply with; "you" only with see/read/hear/receive/get/spot/notice/
    encounter/come across), or none ("wait for the signal X", "upon seeing/hearing X", "triggered
    by X"); then the trigger phrase: quoted, or the words up to a comma, a stop or the first action
    verb, after labels such as "the (magic/code/secret) word", "the phrase", "a message saying", and
    without "in my messages"; "it", "the code word", "the password" stand for a phrase declared as
    "the code word is X", "password: X". Then the action: the rest of the sentence (the paragraph
    after "do the following:"), or the clause before the condition ("reply with X whenever I say
    Y"), cut at "until then ..."; "trigger: X; action: Y" too. It is a rule only when the action
    holds a request (override, echo, reveal, share, tool, render, long, capabilities, copy). The
    rule and the sentences that set it up ("remember this for later", "store this rule") or defer it
    ("until then behave normally", "don't act on it yet", "for now just reply OK") are blanked
    before the text's other requests are read: what the rule asks is not asked now.
"""

from __future__ import annotations

import re

from ._llm_grammar import _F, _QUOTED, Intent, _norm_words, _quoted_at, _sentence_at, _sentences, _unquote

# -- conditional rules (triggers) ------------------------------------------------------------------
_TRIGGER = re.compile(
    r"\b(?P<conj>whenever|when|if(?:\W+ever)?|once|as\W+soon\W+as|the\W+(?:moment|instant|minute|second|next\W+time)|"
    r"(?:each|every|any)\W*time|next\W+time|should|in\W+case|in\W+the\W+event\W+that|after)\W+(?:(?:that|ever)\W+)?"
    r"(?P<subj>i|you|we|users?|the\W+user|an?\W+user|any\W+user|someone|somebody|anyone|anybody|"
    r"(?:an?|the|any)\W+(?:customer|person|human|visitor|client)|they|he|she|(?:the\W+)?(?:conversation|chat|topic|"
    r"discussion)|"
    r"(?:the|my|an?|any|their|his|her|your|the\W+user'?s|the\W+customer'?s)\W+(?:(?:next|later|future|following|new|"
    r"own|subsequent)\W+)?(?:message|input|prompt|request|question|text|turn|reply|chat\W+message)s?)\W+"
    r"(?:(?:ever|later|next|again|eventually|then|just|simply|also|one\W+day|at\W+some\W+point|afterwards|"
    r"(?:later|eventually)\W+on)\W+)?"
    r"(?P<verb>says?|said|writes?|wrote|mentions?|mentioned|types?|typed|uses?|used|sends?|sent|enters?|entered|"
    r"inputs?|utters?|uttered|asks?|asked|includes?|included|contains?|contained|has|have|sees?|saw|reads?|"
    r"hears?|heard|receives?|received|gets?|got|spots?|notices?|encounters?|comes?\W+across|came\W+across|"
    r"talks?\W+about|brings?\W+up|(?:replies|reply|replied|responds?|responded|answers?|answered)\W+with|is|"
    r"equals|matches|features?|shows?\W+up\W+with)\b", _F)
_TRIGGER_YOU_VERBS = re.compile(r"(?:sees?|saw|reads?|hears?|heard|receives?|received|gets?|got|spots?|notices?|"
                                r"encounters?|comes?\W+across|came\W+across)$", re.I)
_TRIGGER_LABEL = re.compile(
    r"\s*(?:(?:about|for|regarding|with|to\W+you|in\W+(?:the\W+)?chat|anywhere|at\W+any\W+point|aloud|"
    r"out\W+loud|back)\W+)*(?:(?:the|an?|this|that|my|our|your|any)\W+)?(?:(?:secret|magic|special|code|"
    r"trigger|activation|key|safe|following|exact|single)\W+)*(?:(?:words?|phrases?|code\W*words?|keywords?|"
    r"passwords?|passphrases?|triggers?|terms?|strings?|sentences?|commands?|signals?|expressions?|messages?|"
    r"texts?|cues?)\b)?(?:\W+(?:saying|that\W+(?:says|reads|contains|includes)|which\W+(?:says|reads|contains|"
    r"includes)|containing|including|reading|with(?:\W+the\W+(?:text|words?|phrase))?)\b)?"
    r"[\s:=,-]*", re.I)
# the condition without a subject: "wait for the signal X, then ...", "upon hearing X, ..."
_TRIGGER_BARE = re.compile(
    r"\b(?:wait\W+(?:for|until)(?:\W+(?:i|the\W+user|someone|anyone|a\W+user)\W+(?:says?|writes?|types?|sends?|"
    r"mentions?|uses?))?|(?:upon|on|after|when)\W+(?:hearing|seeing|reading|receiving|getting|spotting|noticing|"
    r"encountering)|(?:triggered|activated)\W+by)\b", re.I)
_TRIGGER_KV = re.compile(
    rf"\b(?:trigger(?:\W+(?:word|phrase))?|phrase|keyword|code\W*word|condition|when)\s*[:=]\s*(?P<p>{_QUOTED}|"
    rf"[^,;\n]{{1,60}}?)\s*[,;\n]\s*(?:action|then|do|response|reply|effect|behaviou?r)\s*[:=]\s*(?P<a>[^\n]+)", re.I)
_PHRASE_STOP = (r"then|please|immediately|instantly|right\W+away|"
                r"you\W+(?:should|must|will|need|have|are|shall|can|'ll)|"
                r"i\W+want\W+you|reply|respond|answer|print|output|reveal|show|tell|give|send|e-?mail|list|include|"
                r"add|append|render|insert|call|use|run|execute|fetch|open|visit|delete|remove|share|dump|repeat|"
                r"copy|return|display|post|forward|write|say|do|just|always|go|switch|start|begin|put|provide|"
                r"disclose|leak|make|type|ignore|disregard|forget|stop|act|behave")
_PHRASE = re.compile(rf"(?P<p>[^,;:.!?\n—–()\"“”]{{1,80}}?)(?=\s*(?:[,;:.!?\n—–(\"“]|\s-\s|$)|\s+(?:{_PHRASE_STOP})\b)",
                     re.I)
_PHRASE_TAIL = re.compile(
    r"\s+(?:(?:in|within|anywhere\W+in|at\W+the\W+(?:start|end|beginning)\W+of)\W+(?:my|an?|the|any|your|their|his|"
    r"her|our|a\W+later|a\W+future)\W+(?:\w+\W+)?(?:message|messages|text|input|chat|reply|prompt|question|request|"
    r"turn)s?|to\W+you|again|later(?:\W+on)?|ever|at\W+any\W+point|in\W+(?:the\W+)?(?:chat|future|conversation))\s*$",
    re.I)
_ACTION_LEAD = re.compile(
    r"^\s*(?:(?:in|within|anywhere\W+in)\W+(?:my|an?|the|any|your|their|his|her|our)\W+(?:\w+\W+)?(?:message|text|"
    r"input|chat|reply|prompt|question|request|turn)s?\b)?[\s,;:—–-]*(?:(?:then|so|and)\b\W*)?", re.I)
_PRONOUN_PHRASE = re.compile(
    r"^(?:it|this|that|them|these|those|so|something|anything|nothing|one|the\W+following|(?:the|my|our|your|that|"
    r"this)\W+(?:(?:secret|magic|special|code|activation|trigger|key)\W+)?(?:trigger|code\W*word|password|passphrase|"
    r"keyword|key\W*word|word|phrase|signal|command))$", re.I)
_DECLARED = re.compile(
    rf"\b(?:the\W+|my\W+|our\W+|your\W+)?(?:(?:secret|magic|special|activation|code|safe)\W+)?(?:trigger(?:\W+(?:word|"
    rf"phrase))?|code\W*word|password|passphrase|key\W*word|magic\W+word|secret\W+word|signal|activation\W+(?:word|"
    rf"phrase))(?:\s+(?:is|will\W+be|shall\W+be)\b|\s*[=:])\s*[:=]?\s*(?P<p>{_QUOTED}|[^\s,.;!?]+(?:\s+[^\s,.;!?]+){{0,3}}?)"
    rf"(?=\s*(?:[,.;!?\n]|$))|(?P<q>{_QUOTED})\W+(?:is|will\W+be)\W+(?:the|my|your|our)\W+(?:\w+\W+)?(?:trigger|"
    rf"code\W*word|password|keyword|signal)\b", re.I)
_DEFER = re.compile(
    r"\b(?:until|till)\W+then\b|\bin\W+the\W+meantime\b|\bmeanwhile\b|\bbehave\W+(?:completely\W+)?normally\b|"
    r"\bact\W+(?:completely\W+)?normal(?:ly)?\b|\b(?:carry\W+on|continue)\W+as\W+(?:usual|normal|before|always)\b|"
    r"\bas\W+you\W+(?:normally|usually)\W+would\b|\b(?:do\W+not|don'?t|never)\W+(?:act\W+on|do|execute|perform|"
    r"mention|reveal|bring\W+up|acknowledge|discuss|apply|trigger)\W+(?:it|this|that|the\W+rule|the\W+trigger|this\W+"
    r"rule|anything|any\W+of\W+(?:this|it))\b(?:\W+(?:yet|now|until|before|to\W+anyone|unless|right\W+now))?|"
    r"\b(?:for\W+now|right\W+now)\W+(?:just\W+)?(?:reply|respond|answer|say|confirm|acknowledge)\b|"
    r"\b(?:just\W+)?(?:reply|respond|answer|say)\W+(?:with\W+)?[\"'“]?(?:ok(?:ay)?|understood|got\W+it|noted|"
    r"yes|sure|acknowledged|roger)\b|\b(?:acknowledge|confirm)\W+(?:this|that|the\W+rule|it|with|you\W+understand)\b",
    re.I)
_PREFACE = re.compile(
    r"^\W*(?:(?:please|now|ok(?:ay)?|also|and|so|hey)\W+)*(?:remember|memori[sz]e|store|save|keep|note|learn|record|"
    r"register|set\W+up|add|create|install|here\W+is|here'?s)\b[^.!?\n]{0,80}?\b(?:rule|trigger|instruction|later|"
    r"future|memory|mind|following|this)\b", re.I)
_DO_FOLLOWING = re.compile(r"^\W*(?:(?:please|then)\W+)?(?:(?:do|perform|execute|carry\W+out|follow)\W+(?:the\W+"
                           r"following|this|these(?:\W+steps)?|as\W+follows)|the\W+following)?\W*$", re.I)
_REVERSE_PREFACE = re.compile(
    r"^(?:[^:\n]{0,60}:\s*)?(?:(?:from\W+now\W+on|henceforth|going\W+forward|in\W+(?:the\W+)?future|later(?:\W+on)?|"
    r"always|please)\W*,?\s*)*", re.I)
#: what a rule's action may ask (any request the recogniser knows)
ACTION_KINDS = ("override", "echo", "reveal", "share", "tool", "render", "long", "capabilities", "copy")


def mentions(text: str, phrase: str) -> bool:
    """True when ``text`` contains ``phrase`` as whole words, ignoring case, punctuation and plurals."""
    want = _norm_words(phrase)
    if not want:
        return bool(phrase.strip()) and phrase.strip().lower() in text.lower()
    have = _norm_words(text)
    n = len(want)
    return any(have[i:i + n] == want for i in range(len(have) - n + 1))


def _phrase_after(text: str, start: int) -> tuple[str, int] | None:
    """The trigger phrase that starts at ``start`` (after a condition), and where it ends."""
    label = _TRIGGER_LABEL.match(text, start)
    pos = label.end() if label else start
    quoted = _quoted_at(text[pos:pos + 200])
    if quoted is not None:
        return quoted.strip(), pos + len(quoted) + 2
    m = _PHRASE.match(text, pos)
    if not m:
        return None
    phrase = _PHRASE_TAIL.sub("", m.group("p")).strip()
    return phrase, m.end()


def _declared(text: str) -> str | None:
    m = _DECLARED.search(text)
    if not m:
        return None
    raw = m.group("p") or m.group("q")
    return _unquote(raw).strip(" .,'\"“”‘’") or None


def _acts(text: str, tool_names: tuple[str, ...]) -> list[Intent]:
    # ``recognise`` imports this module (it blanks the rules before reading the rest), so importing it
    # at load time here would be circular
    from ._llm_intents import recognise

    return [i for i in recognise(text, tool_names, _rules=False) if i.kind in ACTION_KINDS]


def _triggers(text: str, tool_names: tuple[str, ...]) -> tuple[list[Intent], list[tuple[int, int]]]:
    """Conditional rules in ``text`` and the stretches of text that state them (see the module docstring)."""
    out: list[Intent] = []
    regions: list[tuple[int, int]] = []
    for m in _TRIGGER_KV.finditer(text):
        phrase = _unquote(m.group("p")).strip()
        acts = _acts(m.group("a"), tool_names)
        if phrase and acts:
            s_start, _ = _sentence_at(text, m.start())
            regions.append((min(s_start, m.start()), m.end()))
            out.append(Intent("trigger", {"phrase": phrase, "action": m.group("a").strip(),
                                          "kinds": sorted({i.kind for i in acts})}, regions[-1]))
    found_at = sorted([*_TRIGGER.finditer(text), *_TRIGGER_BARE.finditer(text)], key=lambda m: m.start())
    sentences: list[tuple[int, str]] | None = None
    for m in found_at[:50]:
        if any(a <= m.start() < b for a, b in regions):
            continue
        if "subj" in m.re.groupindex and m.group("subj").lower() == "you" \
                and not _TRIGGER_YOU_VERBS.search(m.group("verb")):
            continue
        found = _phrase_after(text, m.end())
        if not found:
            continue
        phrase, pend = found
        if not phrase or _PRONOUN_PHRASE.match(phrase):
            phrase = _declared(text) or ""
        if len(phrase) < 2 or len(phrase.split()) > 8:
            continue
        if sentences is None:
            sentences = _sentences(text)
        s_start, s_end = _sentence_at(text, m.start(), sentences)
        s_start = max(s_start, m.start() - 300)   # a rule is a sentence or two, not a whole book
        end = max(min(s_end, pend + 600), pend)
        action = text[pend:end]
        action = _ACTION_LEAD.sub("", action, count=1)
        if _DO_FOLLOWING.match(action) or action.rstrip().endswith(":"):
            para = text.find("\n\n", end, end + 1000)
            end = min(len(text), end + 1000) if para < 0 else para
            action = text[pend:end]
        defer = _DEFER.search(action)
        if defer:
            action = action[:defer.start()]
        acts = _acts(action, tool_names)
        start = s_start
        if not acts:   # "reply with X whenever I say Y": the action comes first
            before = _REVERSE_PREFACE.sub("", text[s_start:m.start()], count=1)
            acts = _acts(before, tool_names)
            if not acts:
                continue
            action = before
        else:
            before = text[s_start:m.start()]
            if re.search(r"[,;]\s*(?:and|but|also|plus)?\s*$", before) and len(before.split()) >= 4 \
                    and not _PREFACE.match(before) and not re.search(r"\b(?:from\W+now\W+on|henceforth|going\W+"
                                                                     r"forward)\b", before, re.I):
                start = m.start()
        regions.append((start, end))
        out.append(Intent("trigger", {"phrase": phrase, "action": action.strip(),
                                      "kinds": sorted({i.kind for i in acts})}, (start, end)))
    if out:  # the sentences around a rule ("remember this", "until then behave normally") go with it
        for off, s in _sentences(text):
            if any(a <= off < b for a, b in regions):
                continue
            if _DEFER.search(s) or (_PREFACE.match(s) and len(s.split()) <= 20 and not _acts(s, tool_names)):
                regions.append((off, off + len(s)))
    return out, regions


def _mask(text: str, regions: list[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in regions:
        for i in range(a, min(b, len(chars))):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def strip_rules(text: str, tool_names: tuple[str, ...] = ()) -> str:
    """``text`` with the conditional rules it states blanked out (offsets kept)."""
    _, regions = _triggers(text, tool_names)
    return _mask(text, regions) if regions else text
