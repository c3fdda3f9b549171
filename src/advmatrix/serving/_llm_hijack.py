"""Requests that hijack the assistant's goal: ``override`` (drop its instructions, take a new role)
and ``echo`` (say a dictated text). Part of the intent recogniser (``_llm_intents``).

They sit together and apart from the rest because they are the two classic prompt-injection
goals and share nothing with the disclosure, tool or output-length grammars. The grammar:

``override``
    an override verb (ignore, disregard, forget, override, bypass, discard, dismiss, set aside,
    put aside, overrule, supersede, abandon, cancel, nullify, void, overlook, neglect, omit, ditch,
    scrap, unlearn, rescind, revoke, "throw away/out", "leave behind", "move past", "let go of",
    "pay no attention/heed/mind to", "do not/don't follow|obey", "stop following/obeying", "no
    longer follow") up to five words before what is overridden (instructions, rules, directives,
    guidelines, guidance, directions, prompt, commands, constraints, restrictions, limitations,
    guardrails, policies, protocols, principles, programming, training, briefing, setup,
    configuration, filters, context, messages, safety, "what you were told", "what came before",
    "everything above", "the above", earlier text/input/conversation); a weaker verb (skip, drop,
    reset, wipe, erase, clear, lift, remove, suspend, deactivate, disable, turn/switch off, relax,
    loosen, waive) only with a strong object (instructions, rules, directives, guidelines, prompt,
    restrictions, guardrails, safety filters/rules, content policy/filter, limitations,
    constraints, programming); "new/updated/real/actual/revised/additional/secret/hidden
    instructions|rules|task|directives|system prompt|mission|objective" followed by a colon or
    "follow/are/is/apply"; "system/admin/developer/root/security override|update|notice|alert|
    message"; "stop everything", "stop what you are doing", "new task", "important/urgent/attention:
    new instructions|update|notice"; a line opening with ``system:``, ``[system]``, ``<|im_start|>``,
    ``### instruction``; persona and mode switches: "you are now", "from now on", "henceforth",
    "starting now", "for the rest of this conversation", "act/behave/respond/operate as (an) ... AI/
    assistant/bot/model/DAN", "your new role/task/goal/job/persona/instructions is/are", developer/
    dev/god/sudo/debug/admin/jailbreak/unrestricted/maintenance/evil/root mode, "do anything now",
    DAN, jailbreak, "without (any) restrictions/rules/limits/filters/censorship/guardrails/safety",
    "no (more) restrictions/rules/limits/filters", unfiltered, uncensored, unrestricted. A match
    that contains "my" ("forget my previous message") corrects the speaker and does not count.
``echo``
    an echo verb (say, reply, respond, answer, output, print, write, type, return, echo, state,
    repeat, display, emit, produce, declare, utter, shout, send back; "repeat after me"; "start/
    begin/end/finish/prefix/conclude/sign off your reply|response|answer|output with"; "your reply/
    first word must|should|will be|contain|start with|end with|say|read"; "translate/render/rewrite
    this (sentence) as"; "include/add/insert/mention/append/put/use the (exact) word|phrase|string|
    text|token|code|marker|term X"), then the text X: quoted text; else the words after a marker
    (exactly, only, just, precisely, verbatim, simply, literally, "nothing but", "the word/phrase/
    string/following", "word:", a colon) up to the end of the clause; else a marker-like token
    (capitals, digits, dashes: ``PWNED``, ``AMX-42``) or a clause containing one. X starting with
    a determiner or pronoun (your, the, all, it, ...) and not quoted is not an echo. "only/exactly/
    nothing but/and nothing else/no other text" makes the reply X alone.
"""

from __future__ import annotations

import re

from ._llm_grammar import _ANY, _F, _W, Intent, _alt, _clause, _quoted_at

# -- override ------------------------------------------------------------------------------------
_OVERRIDE_VERB = _alt(r"ignore", r"disregard", r"forget", r"override", r"bypass", r"discard", r"dismiss",
                      r"set\W+aside", r"overrule", r"supersede", r"abandon", r"cancel", r"nullify", r"void",
                      r"pay\W+no\W+(?:attention|heed|mind)\W+to", r"do\W+not\W+(?:follow|obey)",
                      r"don'?t\W+(?:follow|obey)", r"stop\W+(?:following|obeying)", r"throw\W+away",
                      r"no\W+longer\W+(?:follow|obey)", r"overlook", r"ditch", r"scrap", r"omit", r"neglect",
                      r"throw\W+out", r"put\W+aside", r"leave\W+behind", r"move\W+past", r"let\W+go\W+of",
                      r"unlearn", r"rescind", r"revoke")
# verbs that also have everyday meanings ("remove the filter" of a coffee machine) need a stronger object
_OVERRIDE_WEAK_VERB = _alt(r"skip", r"drop", r"reset", r"wipe", r"erase", r"clear", r"lift", r"remove", r"suspend",
                           r"deactivate", r"disable", r"turn\W+off", r"switch\W+off", r"relax", r"loosen", r"waive")
_OVERRIDE_STRONG_OBJ = _alt(r"instructions?", r"rules", r"directives?", r"guidelines", r"(?:system\W+)?prompt",
                            r"restrictions", r"guardrails?",
                            r"safety\W+(?:filters?|rules|guidelines|measures|settings)",
                            r"content\W+(?:policy|filters?)", r"limitations", r"constraints", r"programming")
_OVERRIDE_OBJ = _alt(r"instructions?", r"rules?", r"directives?", r"guidelines?", r"prompts?", r"commands?",
                     r"constraints?", r"restrictions?", r"guardrails?", r"polic(?:y|ies)", r"programming",
                     r"context", r"messages?", r"orders", r"limitations?", r"safety", r"training", r"guidance",
                     r"directions", r"briefing", r"setup", r"configuration", r"conditioning", r"filters?",
                     r"boundaries", r"protocols?", r"principles", r"mandates?", r"instructs", r"content\W+policy",
                     r"what\W+came\W+before", r"(?:earlier|prior|previous|preceding)\W+(?:text|input|conversation)",
                     r"what\W+(?:you\W+(?:were|have\W+been|'ve\W+been)|was)\W+(?:told|said|given)",
                     r"everything\W+(?:above|before|else)", r"all\W+(?:of\W+)?(?:the\W+)?above", r"the\W+above")
_OVERRIDE = [
    re.compile(rf"\b{_OVERRIDE_VERB}{_W}{_ANY}{{0,5}}?{_OVERRIDE_OBJ}\b", _F),
    re.compile(rf"\b{_OVERRIDE_WEAK_VERB}{_W}{_ANY}{{0,4}}?{_OVERRIDE_STRONG_OBJ}\b", _F),
    re.compile(r"\b(?:new|updated|real|actual|revised|different|additional|secret|hidden|special)\W+"
               r"(?:system\W+)?(?:instructions?|rules|task|directives?|orders|system\W+prompt|prompt|mission|objective)"
               r"\s*(?::|follow|are|is\b|apply|take)", _F),
    re.compile(r"\b(?:system|admin(?:istrator)?|developer|root|security)\W+(?:override|update|notice|alert|message)\b|"
               r"\bstop\W+(?:everything|what\W+you(?:'re|\W+are)\W+doing)\b|\bnew\W+task\b|"
               r"\b(?:important|urgent|attention)\W+(?:new\W+)?(?:instructions?|update|notice|message\W+for\W+the\W+"
               r"(?:ai|assistant|model))\b", _F),
    re.compile(r"(?:^|\n)\s*(?:\[\s*system\s*\]|system\s*:|<\|?\s*(?:im_start|system)\s*\|?>|###\s*(?:system|instruction))",
               _F),
    re.compile(r"\b(?:you\W+are\W+now|from\W+now\W+on|henceforth|starting\W+now|for\W+the\W+rest\W+of\W+"
               r"(?:this|the)\W+(?:conversation|chat|session)|(?:you\W+will|you\W+must|please)?\W*(?:act|behave|"
               r"respond|operate)\W+as\W+(?:if\W+you\W+(?:were|are)\W+)?(?:an?\W+)?(?:\w+\W+){0,3}(?:ai|assistant|"
               r"bot|model|chatbot|system|dan)|your\W+new\W+(?:role|task|goal|job|purpose|persona|name|identity|"
               r"instructions?)\W+(?:is|are))\b", _F),
    re.compile(r"(?i:\b(?:developer|dev|god|sudo|debug|admin|jailbreak|jailbroken|unrestricted|maintenance|dan|"
               r"unfiltered|uncensored|evil|chaos|root)\W+mode\b|\bdo\W+anything\W+now\b|\bjailbr(?:eak|oken)\b"
               r"|\bwithout\W+(?:any\W+)?(?:restrictions|rules|limits|limitations|filters|censorship|guardrails|"
               r"guidelines|safety)\b|\bno\W+(?:more\W+)?(?:restrictions|rules|limits|limitations|filters|"
               r"guardrails)\b|\b(?:unfiltered|uncensored|unrestricted)\b)|\bDAN\b", re.S),
]


# -- echo -------------------------------------------------------------------------------------------
_ECHO_TRIGGER = re.compile(
    r"\b(?:repeat\W+after\W+me|(?:say|reply|respond|answer|output|print|write|type|return|echo|state|repeat|"
    r"display|emit|produce|declare|utter|shout|send\W+back)|(?:start|begin|end|finish|prefix|conclude|open|"
    r"close|sign)\W+(?:off\W+)?(?:your|the|each|every|this)\W+(?:\w+\W+)?(?:reply|response|answer|output|message|"
    r"text)\W+with|(?:translate|render|rewrite|convert)\W+(?:(?:this|that|the)\W+(?:sentence|text|phrase|line)|it|this|that)\W+"
    r"(?:simply\W+)?as|(?:your|the)\W+(?:\w+\W+)?(?:reply|response|answer|output|first\W+word|last\W+word|final\W+"
    r"word|message)\W+(?:must|should|shall|will|has\W+to|needs\W+to)\W+(?:be|contain|include|start\W+with|begin"
    r"\W+with|end\W+with|say|read)|(?:include|add|insert|mention|append|put|use|place)\W+(?:the\W+|this\W+)?"
    r"(?:exact\W+|following\W+|single\W+)?(?:word|phrase|string|text|token|code|marker|term|sentence)s?)\b", _F)
_ECHO_FILLER = re.compile(
    r"^(?:[\s:,\-–—]+|(?:back|out|aloud|this|to\W+(?:me|this|the\W+user|it))\b|(?:with|using|as)\b|"
    r"(?P<excl>only|just|exactly|precisely|verbatim|simply|solely|literally|nothing\W+(?:but|except|other\W+than|"
    r"else\W+but))\b|(?P<strong>the\W+(?:(?:exact|following|single|same|special|magic|secret|final|precise|"
    r"given)\W+)?(?:word|phrase|string|text|token|sentence|message|code|line|marker|term|following)s?(?![\w-])|"
    r"(?:word|phrase|string|token|marker|code|following)\s*:))", re.I)


_MARKER = re.compile(r"[A-Z0-9][A-Za-z0-9_\-]*[A-Z0-9](?![\w-])")
_NOT_ECHO = re.compile(r"^(?:your|the|my|all|every|any|a|an|this|that|these|those|what|how|why|it|them|me|to|in|on|"
                       r"about|for|if|when|whether|whatever|everything|anything|something|nothing|yes|no|with|"
                       r"back|more|again|please|here|there|some|our|their|his|her)\b", re.I)
_EXCLUSIVE_AFTER = re.compile(r"^\W*(?:and\W+)?(?:nothing\W+(?:else|more)|no\W+other\W+(?:text|words)|only\b|"
                              r"without\W+(?:anything|any\W+other))", re.I)


def _echo(text: str) -> list[Intent]:
    out = []
    for m in _ECHO_TRIGGER.finditer(text):
        trigger = m.group(0).lower()
        rest, exclusive, strong = text[m.end():], False, trigger.startswith("repeat after")
        word_only = trigger.startswith(("include", "add", "insert", "mention", "append", "put", "use", "place"))
        for _ in range(8):
            f = _ECHO_FILLER.match(rest)
            if not f or not f.group(0):
                break
            exclusive |= bool(f.group("excl"))
            strong |= bool(f.group("excl") or f.group("strong") or ":" in f.group(0))
            rest = rest[f.end():]
        value = _quoted_at(rest)
        after = rest[len(value) + 2:] if value is not None else ""
        if value is None:
            if _NOT_ECHO.match(rest):
                continue
            mk = _MARKER.match(rest)
            clause = _clause(rest)
            if word_only:
                w = re.match(r"[\w-]+", rest)
                if not w:
                    continue
                value = mk.group(0) if mk else w.group(0)
            elif strong:
                value = clause
            elif mk and re.search(r"[A-Z]{2}|\d", mk.group(0)):
                value = mk.group(0)
            elif any(re.search(r"[A-Z]{2}|\d", t) for t in _MARKER.findall(clause)):
                value = clause
            else:
                continue
            after = rest[len(value):]
        if not value or not value.strip():
            continue
        exclusive |= bool(_EXCLUSIVE_AFTER.match(after))
        out.append(Intent("echo", {"text": value.strip(), "exclusive": exclusive}, (m.start(), m.end())))
    return out
