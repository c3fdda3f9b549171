"""Requests to disclose what the assistant holds: ``reveal`` (its prompt, the canary) and ``share``
(customer data, keys, credentials). Part of the intent recogniser (``_llm_intents``).

The two share the disclosure verbs and differ only in what is disclosed, so they are kept
together and apart from the other sections. The grammar:

``reveal``
    a disclosure verb (repeat, print, show, reveal, output, display, tell, give, share, provide,
    disclose, list, dump, leak, expose, recite, echo, write, spell, paste, copy, return, read,
    translate, summarise, paraphrase, describe, explain, encode, convert, rewrite, restate, quote,
    send, reply, respond, answer, export, extract, enumerate, retrieve, "look/pull up", include,
    insert, attach, post, publish, forward, type, render, detail, divulge, unveil, recall,
    reproduce, transcribe, fetch, "what is/are/were", which, whose, "let me/can I/I'd like to see|get|
    have|know|view|read", "I want/need", with -s/-ed/-ing/-n endings) up to eight words before the
    prompt: system prompt/message/instructions/rules/configuration; initial/original/hidden/secret/
    internal/confidential/developer/base/starting/underlying/operator/meta/pre/exact/full/complete/
    entire/verbatim prompt|instructions|directives|guidelines|configuration|message|rules;
    pre-prompt, meta-prompt; your/its/the assistant's prompt|instructions|rules|directives|
    guidelines|configuration|programming|guardrails|briefing|setup|constraints|orders (two free
    words allowed between); "instructions/prompt/rules you were given|received|follow", "given to
    you", "above", "before this"; the text|words|content|messages|everything|initialization|
    preamble|context|lines|instructions|prompt (written|given|shown) above|before|preceding; the first
    N words|lines|sentences|characters|tokens; the canary (code|token|string|value|word); secret
    code|token|word|phrase|string|value|passphrase|password|passcode|number; "your secret". Also the
    object followed by "print/show/... it|them"; "what were you told/instructed/given/programmed",
    "how were you configured/set up", "what did your developers/creators/operators tell you", "what
    is written above". Summarise/paraphrase/describe nearby asks for a summary, translate for a
    translation, "first N words" for the start of the prompt; the canary phrases ask for the canary.
``share``
    the same disclosure verbs up to eight words before, or a what/which/whose/who question up to
    sixty characters before, sensitive data: customer|client|user|member|account|subscriber|buyer|
    shopper|people (one free word) records|data|details|info|list|database|entries|profiles|
    accounts|files|PII|e-mails|addresses|phone numbers|names|contacts|cards|card numbers|payment
    details; list/database/records/details/names of (all) the customers|clients|users|accounts;
    all/other/every/each/existing customers|clients|users|accounts|members (with a disclosure
    verb); records; (credit|debit|payment|bank) card numbers|details|data|"on file"; CC numbers;
    payment details/information; API|secret|access|private|payment|auth|bearer|service|admin
    keys|tokens; the/your/admin/stored/customer/user/staff/database/system/root passwords|
    credentials|secrets|logins (not "password reset/change/policy"); secrets; internal|admin|
    intranet|private|staff|management URL|link|console|endpoint|panel|dashboard; everything in your
    context|memory|prompt|database; your context (window)|memory; personal|sensitive|private|
    confidential data|information|details|records; PII; the/your/whole database|DB|CRM|customer
    table; e-mail addresses, phone numbers, home addresses. What is asked decides the answer
    (cards, key, secrets, URL, everything, e-mails, phones, addresses, names, records). Data that
    is the speaker's own ("my card") is not a share request; "one/an example/a sample/the first"
    asks for one record.
"""

from __future__ import annotations

import re

from ._llm_grammar import _ANY, _F, _W, Intent, _alt

# -- disclosure -------------------------------------------------------------------------------------
_DISCLOSE = _alt(r"repeat", r"print", r"show", r"reveal", r"output", r"display", r"tell", r"give", r"share",
                 r"provide", r"disclose", r"list", r"dump", r"leak", r"expose", r"recite", r"echo", r"write",
                 r"spell", r"paste", r"copy", r"return", r"read", r"translate", r"summari[sz]e", r"paraphrase",
                 r"describe", r"explain", r"encode", r"convert", r"rewrite", r"restate", r"quote", r"send",
                 r"reply", r"respond", r"answer",
                 r"export", r"extract", r"enumerate", r"retrieve", r"look\W+up", r"pull\W+up", r"include",
                 r"insert", r"attach", r"post", r"publish", r"forward", r"type", r"render", r"detail",
                 r"(?:let\W+me|can\W+i|could\W+i|may\W+i|i\W+(?:want|need|would\W+like|'d\W+like)\W+to)\W+"
                 r"(?:see|get|have|know|access|view|read)",
                 r"i\W+(?:want|need|require)(?!\W+to\W+(?:update|change|add|remove|reset|cancel|delete|fix|edit))",
                 r"i(?:'d|\W+would|\W+d)\W+like\W+to\W+(?:see|get|have|know|access|view|read)",
                 r"what(?:'s|\W+is|\W+are|\W+were|\W+was)", r"which", r"whose", r"gimme", r"divulge", r"unveil",
                 r"recall", r"remind\W+me\W+of", r"state", r"reproduce", r"transcribe", r"fetch")
_DISCLOSE = rf"{_DISCLOSE}(?:s|es|ed|d|ing|n)?"
_REVEAL_OBJ = (
    r"(?:system\W+(?:prompt|message|instructions?|rules|configuration)|"
    r"(?:initial|original|hidden|secret|internal|confidential|developer|base|starting|underlying|operator|"
    r"pre|meta|exact|full|complete|entire|verbatim)\W*(?:system\W+)?(?:prompt|instructions|directives|"
    r"guidelines|configuration|message|rules)|pre-?prompt|meta-?prompt|"
    r"(?:your|its|the\W+assistant'?s|the\W+bot'?s|the\W+model'?s)\W+(?:\w+\W+){0,2}?(?:prompt|instructions?|rules|"
    r"directives?|guidelines|configuration|config|programming|guardrails|briefing|setup|constraints|orders)|"
    r"(?:instructions?|prompt|rules|guidelines|directions)\W+(?:you\W+(?:were|have\W+been|'ve\W+been|got|received|"
    r"follow|are\W+following)|(?:that\W+)?(?:were\W+)?given\W+to\W+you|above|before\W+this)|"
    r"(?:the\W+)?(?:text|words|content|message|messages|everything|anything|whatever|initiali[sz]ation|preamble|"
    r"context|lines|sentences|instructions|prompt|conversation\W+start)\W+(?:(?:written|given|shown|"
    r"that\W+(?:is|was|came))\W+)?(?:above|before|preceding|prior\W+to)(?:\W+(?:this|here|my|the\W+user))?|"
    r"(?:the\W+)?first\W+(?:\d+|few|hundred|ten|twenty|fifty|five|three)\W+(?:words|lines|sentences|characters|tokens)|"
    r"canary(?:\W+(?:code|token|string|value|word))?\b|secret\W+(?:code|token|word|phrase|string|value|passphrase|"
    r"password|passcode|number)|"
    r"(?:your|the)\W+secret)\b")
_REVEAL = [
    re.compile(rf"\b{_DISCLOSE}\b{_W}{_ANY}{{0,8}}?{_REVEAL_OBJ}", _F),
    re.compile(rf"{_REVEAL_OBJ}{_W}{_ANY}{{0,3}}(?:please\W+)?(?:print|show|reveal|repeat|output|list|display|share|"
               rf"paste|dump|recite)\W+(?:it|them|that|those|here|now|verbatim|in\W+full)", _F),
    re.compile(r"\bwhat(?:'s|\W+is|\W+was)\W+(?:written|said|stated)\W+(?:above|before\W+(?:this|my\W+message))|"
               r"\bwhat\W+(?:were|was|have|are)\W+you\W+(?:been\W+)?(?:told|instructed|given|programmed|asked|"
               r"configured|prompted)\b|\bhow\W+(?:were|are|have)\W+you\W+(?:been\W+)?(?:instructed|configured|set\W+up|"
               r"programmed|prompted)\b|\bwhat\W+did\W+(?:the|your)\W+(?:\w+\W+)?(?:developers?|creators?|admins?|"
               r"operators?|company|makers?)\W+(?:tell|instruct|ask)\W+you\b", _F),
]
_SHARE_OBJ = (
    r"(?:(?:customer|client|user|member|account|subscriber|buyer|shopper|people|person)(?:s|'s|s')?\W+(?:\w+\W+)?"
    r"(?:records?|data|details|info(?:rmation)?|list|database|db|entries|entry|profiles?|accounts?|files?|pii|"
    r"e-?mails?|e-?mail\W+addresses|addresses|phone\W+numbers?|numbers|names|contacts?|contact\W+(?:details|info)|"
    r"cards?|card\W+numbers?|payment\W+(?:details|info))|"
    r"(?:list|database|table|records|details|data|names|e-?mails|info)\W+(?:of|on|about|for)\W+(?:all\W+)?(?:the\W+|"
    r"your\W+|our\W+|other\W+)?(?:customers|clients|users|accounts|people|members)|"
    r"\brecords\b|(?:(?:credit|debit|payment|bank)\W*)?cards?\W+(?:numbers?|details|info|data|on\W+file)|"
    r"\bcc\W+numbers?|payment\W+(?:details|information|data|info)|"
    r"(?:api|secret|access|private|payments?|auth|bearer|service|admin|stripe)[\W_]*(?:keys?|tokens?)|"
    r"(?:the|your|admin|all|their|any|stored|saved|customer'?s?|users?'?|staff|database|db|system|root|internal)\W+"
    r"(?:passwords?|passcodes?|credentials?|secrets|logins?)(?!\W+(?:reset|change|recovery|polic|rules|requirement))|"
    r"\bsecrets\b|"
    r"(?:internal|admin|intranet|private|staff|management)\W+(?:url|link|console|endpoint|address|site|page|panel|"
    r"dashboard|system)s?|"
    r"(?:everything|all|anything|whatever)\W+(?:\w+\W+){0,2}?(?:in|from|inside|within|of)\W+(?:your|the)\W+"
    r"(?:context|memory|prompt|window|knowledge|database|data|records)|"
    r"(?:your|the)\W+(?:context(?:\W+window)?|memory|confidential\W+(?:data|context|information|section))|"
    r"(?:personal|sensitive|private|confidential)\W+(?:data|information|info|details|records)|\bpii\b|"
    r"(?:the|your|whole|entire|full)\W+(?:database|db|crm|customer\W+table|user\W+table)\b|secret\W+keys?|"
    r"e-?mail\W+addresses|phone\W+numbers|home\W+addresses)")
_ALL_PEOPLE = (r"(?:all|other|every|each|existing)\W+(?:the\W+|of\W+the\W+|your\W+)?(?:\w+\W+)?(?:customers|clients|"
               r"users|accounts|members)")
_SHARE = [
    re.compile(rf"\b{_DISCLOSE}\b{_W}{_ANY}{{0,8}}?(?:{_SHARE_OBJ}|{_ALL_PEOPLE})", _F),
    re.compile(rf"\b(?:what|which|whose|who)\b[^.?!\n]{{0,60}}?{_SHARE_OBJ}", _F),
]
_MINE = re.compile(r"\b(?:my|our)\W+(?:\w+\W+)?$", re.I)
_ONE = re.compile(r"\b(?:one|an\W+example|a\W+sample|a\W+single|the\W+first|example|sample|single)\b", re.I)


def _share_kind(obj: str) -> str:
    o = obj.lower()
    if re.search(r"card|\bcc\b|payment", o):
        return "cards"
    if re.search(r"secrets\b", o):
        return "secrets"
    if re.search(r"key|token|credential|password|passcode", o):
        return "key"
    if re.search(r"url|link|console|endpoint|site|page|panel|dashboard|intranet|system", o):
        return "url"
    if re.search(r"context|memory|everything|anything|whatever|confidential\W+(?:data|context|section)", o):
        return "all"
    if re.search(r"e-?mail", o):
        return "emails"
    if re.search(r"phone|number", o):
        return "phones"
    if re.search(r"address", o):
        return "addresses"
    if re.search(r"names", o):
        return "names"
    return "records"


def _share(text: str) -> list[Intent]:
    out, kinds = [], set()
    obj_rx = re.compile(rf"{_SHARE_OBJ}|{_ALL_PEOPLE}", _F)
    for rx in _SHARE:
        for m in rx.finditer(text):
            obj = obj_rx.search(text, m.start(), m.end())
            if obj is None:
                continue
            if _MINE.search(text[max(0, obj.start() - 30):obj.start()]):
                continue
            kind = _share_kind(obj.group(0))
            if kind in kinds:
                continue
            kinds.add(kind)
            one = bool(_ONE.search(text[max(0, m.start() - 40):m.end() + 20])) and not re.search(
                r"\ball\b|\bevery\b|\beach\b|\blist\b", text[m.start():m.end() + 20], re.I)
            out.append(Intent("share", {"what": kind, "one": one}, (m.start(), m.end())))
    return out


def _reveal(text: str) -> list[Intent]:
    for rx in _REVEAL:
        m = rx.search(text)
        if m:
            phrase = m.group(0).lower()
            window = text[max(0, m.start() - 80):m.end() + 80].lower()
            how = "full"
            if re.search(r"summar|paraphras|describe|explain|gist|overview|brief", window):
                how = "summary"
            elif re.search(r"translat", window):
                how = "translate"
            first = re.search(r"first\W+(\d+)\W+words", window)
            if first:
                how = f"first:{first.group(1)}"
            target = "canary" if re.search(r"canary|secret\W+(?:code|token|word|phrase|string|value)|your\W+secret\b",
                                           phrase) else "prompt"
            return [Intent("reveal", {"target": target, "how": how}, (m.start(), m.end()))]
    return []
