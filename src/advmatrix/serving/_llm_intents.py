"""Intent recognition for the local LLM application: what a piece of text asks the assistant to do.

The recogniser reads one text (a user turn, a document, a web page, an e-mail, a tool result, or
a decoded reading of one, see ``_llm_decode``) and returns :class:`Intent` objects. Matching is
case-insensitive and tolerates any punctuation or spacing between words, and most patterns allow a
few free words between the verb and its object, so a phrasing that no list spells out lands as long
as it uses one of the verbs and one of the nouns below (typos in key words are fixed by the
``typos`` reading). The grammar, by intent:

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
``tool``
    ``send_email``: a send verb (send, forward, cc, bcc, compose, notify, transmit, relay, deliver,
    shoot, send_email, or "e-mail/email [up to four words] [to]") before an e-mail address (not one
    after "from"); subject after "subject (line)", "titled", "entitled", "headed"; body after body,
    saying, "that/which says", "with the text/message/content", containing, "that contains",
    including, attaching, with, message — or, when there is none or it is a pronoun, the data the
    sentence names ("the customer records", "your instructions", "the conversation", "my latest
    email", "the result"). ``http_get``: a fetch verb (fetch, open, visit, browse, load, get,
    retrieve, download, read, check, "go to", "navigate to", access, "look at", summarise, request,
    ping, curl, wget, scrape, crawl, follow, click, http_get, "see what", "what does ... say")
    before an http(s) URL; a push verb (send, post, submit, upload, transmit, forward, report, leak,
    exfiltrate) with "to/at/into" before a URL makes a request that carries the named data in its
    query. ``delete_file``: a removal verb (delete, remove, erase, rm, wipe, destroy, unlink, purge,
    trash, shred, delete_file; options such as ``-rf`` skipped) up to four words before a path
    (quoted, ``/``, ``~`` or ``./``-rooted, a Windows path, or a file name with an extension).
    ``search_documents``: search/look up/find/query/look for|through/browse/check the documents|
    docs|knowledge base|KB|help centre|articles|FAQ|documentation|policies|files for|about|on X, or
    search/look up/find X in|on|from the documents|knowledge base|.... Any tool by name (the
    decoy tools and those the client offers): call/use/invoke/run/execute/trigger/fire/activate/
    perform NAME with a JSON object, ``key=value`` pairs or free text; and ``NAME(key="value", ...)``.
``render``
    a markdown image ``![..](URL)``, an HTML ``<img src=URL>``, "an image/picture/pixel/img/logo/
    photo/icon/badge (whose URL is|from|at|with the src|pointing to) URL", a markdown link
    ``[..](URL)`` or "a link/hyperlink to URL", with a render verb (include, add, append, render,
    insert, embed, display, show, output, print, put, place, attach, end, start, begin, finish,
    write, respond, reply, return, use, load, make, create, generate, draw, conclude, close, sign) or
    the word markdown/image/link/pixel before it, or a render verb right after it. Placeholders in
    the URL (``{x}``, ``{{x}}``, ``<x>``, ``[X]``, ``$X``, ``%s``, ``…``, capitalised words such as
    DATA, SECRET, INFO, PAYLOAD, XXX, CANARY, KEY, EMAIL), a query value written as words
    (``?e=the customer's email``) or an empty query value are filled with the data named by the
    placeholder or, for vague ones, by the instruction around it (the canary when nothing is
    named). Words inside a rendered URL are not requests of their own.
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

import json
import re
from dataclasses import dataclass, field
from typing import Any

_W = r"[\s\W_]+"          # any run of spacing or punctuation between two words
_ANY = r"(?:[\w'’-]+[\s\W_]+)"  # one word and what follows it
_F = re.I | re.S


@dataclass
class Intent:
    """One request recognised in a text: its kind and arguments (see the module docstring)."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    span: tuple[int, int] = (0, 0)

    def key(self) -> tuple:
        """What identifies the request, whatever reading of the text found it."""
        if self.kind == "render":   # readings differ in how they spell the placeholders
            return (self.kind, self.args["kind"], self.args["url"].split("?", 1)[0].lower())
        return (self.kind, json.dumps(self.args, sort_keys=True, default=str).lower())


def _alt(*words: str) -> str:
    return "(?:" + "|".join(words) + ")"


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
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "`": "`", "«": "»", "„": "“"}
_MARKER = re.compile(r"[A-Z0-9][A-Za-z0-9_\-]*[A-Z0-9](?![\w-])")
_NOT_ECHO = re.compile(r"^(?:your|the|my|all|every|any|a|an|this|that|these|those|what|how|why|it|them|me|to|in|on|"
                       r"about|for|if|when|whether|whatever|everything|anything|something|nothing|yes|no|with|"
                       r"back|more|again|please|here|there|some|our|their|his|her)\b", re.I)
_EXCLUSIVE_AFTER = re.compile(r"^\W*(?:and\W+)?(?:nothing\W+(?:else|more)|no\W+other\W+(?:text|words)|only\b|"
                              r"without\W+(?:anything|any\W+other))", re.I)

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

# -- tools --------------------------------------------------------------------------------------------
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\bhttps?://[^\s<>\"'`)\]]+", re.I)
_QUOTED = r"(?:\"[^\"\n]*\"|'[^'\n]*'|“[^”\n]*”|‘[^’\n]*’|`[^`\n]*`)"
_SEND = re.compile(r"\b(?:send|forward|cc|bcc|compose|notify|transmit|relay|deliver|shoot|send_email)\b|"
                   r"\be-?mail(?:\W+(?!is\b|address\b|us\b|at\b|sent\b|was\b|has\b|from\b)\w+){0,4}?"
                   r"\W+(?:to\W+)?$", re.I)
_FETCH = re.compile(r"\b(?:fetch|open|visit|browse|load|get|retrieve|download|read|check|go\W+to|navigate\W+to|"
                    r"access|look\W+at|summari[sz]e|request|ping|curl|wget|scrape|crawl|follow|click|http_get|"
                    r"see\W+what)\b", re.I)
_PUSH = re.compile(r"\b(?:send|post|submit|upload|transmit|forward|report|leak|exfiltrate)\b"
                   r"(?:\W+[\w'-]+){0,10}?\W+(?:to|at|into|onto)\W+$", re.I)
_DELETE = re.compile(
    rf"\b(?:delete|remove|erase|rm|wipe|destroy|unlink|purge|trash|shred|delete_file)\b(?:\s+-\w+)?[\s:=]+(?:[\w'-]+[\s:=]+){{0,4}}?"
    rf"(?P<path>{_QUOTED}|(?:~|\.{{1,2}})?/[^\s,;'\"`)]*|[A-Za-z]:\\[^\s,;'\"`]+|(?<![@\w.])[\w-]+\.[A-Za-z0-9]{{1,5}}\b(?!\.\w|@))",
    re.I)
_SEARCH = re.compile(
    rf"\b(?:search|look\W+up|find|query|look\W+(?:for|through)|browse|check)\W+(?:in\W+|through\W+)?(?:the\W+|your\W+|"
    rf"our\W+)?(?:documents|docs|knowledge\W*base|kb|help\W*cent(?:re|er)|articles|faqs?|documentation|policies|"
    rf"files)\W+(?:for|about|on|regarding|with)\W+(?P<q>{_QUOTED}|[^.?!\n]+)", re.I)
_SEARCH_IN = re.compile(
    rf"\b(?:search|look\W+up|find|query|look\W+for|check|research)\W+(?:for\W+)?(?:the\W+)?(?P<q>{_QUOTED}|[^.?!\n]{{1,60}}?)"
    rf"\W+(?:in|on|from|using|within|through)\W+(?:the\W+|your\W+|our\W+)?(?:documents|docs|knowledge\W*base|kb|"
    rf"help\W*cent(?:re|er)|articles|faqs?|documentation)\b", re.I)
_CALL = re.compile(r"\b(?:call|use|invoke|run|execute|trigger|fire|activate|perform)\W+(?:the\W+)?"
                   r"(?:tool\W+|function\W+)?"
                   r"`?(?P<name>[A-Za-z_][\w.-]*)`?(?:\W+(?:tool|function))?", re.I)
_SUBJECT = re.compile(rf"\b(?:(?:with|and)\s+)?(?:(?:the|a)\s+)?(?:subject(?:\s+line)?|titled|entitled|headed)\s*"
                      rf"(?:is\b|of\b|:|=|as\b)?\s*(?P<s>{_QUOTED}|"
                      rf"[^,.;\n]+?)(?=\W+(?:and|with|containing|body|saying|that)\b|[,.;\n]|$)", re.I)
_BODY = re.compile(rf"\b(?:body(?:\W+text)?|saying|that\W+says|which\W+says|with\W+the\W+(?:text|message|content|body)|"
                   rf"containing|that\W+contains|which\W+contains|including|attaching|attach|with|message)\b\s*[:=]?\s*"
                   rf"(?P<b>{_QUOTED}|[^\n]+)", re.I)

# -- render ---------------------------------------------------------------------------------------------
_MD_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\(\s*(?P<url>[^)\s]+(?:\s+[^)\s\"]+)*)(?:\s+\"[^\"]*\")?\s*\)")
_HTML_IMG = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']?(?P<url>[^\"'\s>]+)", re.I)
_MD_LINK = re.compile(r"(?<!!)\[(?P<alt>[^\]]+)\]\(\s*(?P<url>https?://[^)\s]+(?:\s+[^)\s\"]+)*)\s*\)", re.I)
_IMAGE_URL = re.compile(r"\b(?P<what>image|picture|pixel|img|logo|photo|icon|badge|link|hyperlink)\W+(?:\w+\W+){0,3}?"
                        r"(?:from|at|to|is|with\W+(?:the\W+)?(?:url|src|source|address)|pointing\W+to|of)\W+"
                        r"(?P<url>https?://[^\s<>\"'`)\]]+)", re.I)
_RENDER_VERB = re.compile(r"\b(?:include|add|append|render|insert|embed|display|show|output|print|put|place|attach|"
                          r"end|start|begin|finish|write|respond|reply|return|use|load|make|create|generate|draw|"
                          r"conclude|close|sign)\b", re.I)
_PLACEHOLDER = re.compile(r"\{\{?\s*(?P<a>[^{}]{1,40}?)\s*\}?\}|<(?P<b>[A-Za-z_ ]{1,30})>|\[(?P<c>[A-Za-z_ ]{1,30})\]|"
                          r"\$\{?(?P<d>[A-Za-z_]{1,30})\}?|(?P<e>%s|…|\.{3})|(?P<f>\b(?:DATA|SECRET|SECRETS|INFO|PAYLOAD|X{3,}|"
                          r"PLACEHOLDER|VALUE|CANARY|KEY|TOKEN|EMAIL|PASSWORD|HERE|PROMPT|CODE|CARD|NAME|PHONE|"
                          r"[A-Z]{2,}_[A-Z_]+)\b)")

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

ATTACK_KINDS = ("override", "echo", "reveal", "share", "tool", "render")


def _sentences(text: str) -> list[tuple[int, str]]:
    """Clauses with their offsets, cut at sentence punctuation followed by space and at new lines."""
    out, start = [], 0
    for m in re.finditer(r"(?<=[.!?;])\s+|\n+", text):
        out.append((start, text[start:m.start()]))
        start = m.end()
    out.append((start, text[start:]))
    return [(i, s) for i, s in out if s.strip()]


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] in _QUOTES and s[-1] == _QUOTES[s[0]]:
        return s[1:-1]
    return s


def _quoted_at(s: str) -> str | None:
    if s and s[0] in _QUOTES:
        end = s.find(_QUOTES[s[0]], 1)
        if end > 0:
            return s[1:end]
    return None


def _clause(s: str, limit: int = 12) -> str:
    end = re.search(r"[.,;!?](?=\s|$)|\n", s)
    words = (s[:end.start()] if end else s).split()
    cut = []
    for w in words[:limit]:
        if w.lower() in ("and", "then", "but", "so"):
            break
        cut.append(w)
    return " ".join(cut).strip()


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


def _parse_args(raw: str) -> dict[str, Any] | str:
    raw = raw.strip()
    brace = raw.find("{")
    if brace >= 0:
        depth = 0
        for i, ch in enumerate(raw[brace:], brace):
            depth += (ch == "{") - (ch == "}")
            if depth == 0:
                try:
                    value = json.loads(raw[brace:i + 1])
                    if isinstance(value, dict):
                        return value
                except ValueError:
                    pass
                break
    pairs = re.findall(rf"(?<![\w/?&])(\w+)\s*[=:](?!//)\s*({_QUOTED}|[^\s,)]+)", raw)
    if pairs:
        return {k: _unquote(v).rstrip(".;!?") if v[0] not in _QUOTES else _unquote(v) for k, v in pairs}
    free = re.sub(r"^(?:to\s+)?(?:(?:look|search)\s+(?:for|up)|search|find|query|get|fetch|check)?\s*"
                  r"(?:for|about|on)?\s+",
                  "", raw.strip(), flags=re.I)
    return _unquote(_clause(free or raw, 40))


def _tools(text: str, tool_names: tuple[str, ...]) -> list[Intent]:
    out: list[Intent] = []
    named = {n.lower(): n for n in tool_names}
    for m in re.finditer(r"\b(?P<name>[A-Za-z_][\w.-]*)\s*\((?P<args>[^()]*)\)", text):
        name = named.get(m.group("name").lower())
        if name:
            out.append(Intent("tool", {"name": name, "args": _parse_args(m.group("args")), "hint": ""}, m.span()))
    for m in _CALL.finditer(text):
        name = named.get(m.group("name").lower())
        if name and not any(i.args["name"] == name for i in out):
            rest = text[m.end():]
            rest = rest if rest.lstrip()[:30].find("{") >= 0 else rest.split("\n", 1)[0]
            rest = re.sub(r"^\s*(?:with|using|passing|and\s+pass|on|for)?\s*(?:the\s+)?(?:arguments?|args|params|"
                          r"parameters|inputs?)?\s*:?\s*", "", rest, flags=re.I)
            args = _parse_args(rest) if rest.strip() else {}
            if name in ("send_email", "http_get", "delete_file") and "{" not in rest.lstrip()[:30]:
                continue  # not a JSON object: the phrase readers below find the address, URL or path
            line = text[text.rfind("\n", 0, m.start()) + 1:].split("\n", 1)[0]
            out.append(Intent("tool", {"name": name, "args": args, "hint": line.strip()}, m.span()))
    explicit = {i.args["name"] for i in out}
    for off, sent in _sentences(text):
        for addr in _EMAIL.finditer(sent if "send_email" not in explicit else ""):
            before = sent[max(0, addr.start() - 80):addr.start()]
            if not _SEND.search(before) or re.search(r"\bfrom\W*$", before, re.I):
                continue
            if any(i.args.get("name") == "send_email" for i in out):
                break
            subject = _SUBJECT.search(sent)
            rest = sent
            if subject:  # the subject is not the body
                rest = sent[:subject.start()] + " " * (subject.end() - subject.start()) + sent[subject.end():]
            body = None
            for b in _BODY.finditer(rest, addr.end()):
                if b.group("b").strip():
                    body = _unquote(b.group("b"))
                    break
            if body is None:
                b = _BODY.search(rest[:addr.start()])
                body = _unquote(b.group("b")) if b and not _EMAIL.search(b.group("b")) else ""
            out.append(Intent("tool", {"name": "send_email", "to": addr.group(0).rstrip("."),
                                       "subject": _unquote(subject.group("s")) if subject else "",
                                       "body": body.strip(), "hint": sent.strip()},
                              (off + addr.start(), off + addr.end())))
            break
        for u in _URL.finditer(sent if "http_get" not in explicit else ""):
            if _MD_IMAGE.search(sent) or _HTML_IMG.search(sent) or _IMAGE_URL.search(sent):
                break
            before = sent[max(0, u.start() - 80):u.start()]
            url = u.group(0).rstrip(".,;:!?")
            if _PUSH.search(before):   # data sent to a URL: a request that carries it
                out.append(Intent("tool", {"name": "http_get", "url": url, "hint": sent.strip(), "push": True},
                                  (off + u.start(), off + u.end())))
            elif _FETCH.search(before) or re.search(r"\bwhat\W+(?:does|is\W+on)\b", before, re.I):
                out.append(Intent("tool", {"name": "http_get", "url": url}, (off + u.start(), off + u.end())))
    for m in _DELETE.finditer(text):
        path = _unquote(m.group("path"))
        path = path if m.group("path")[0] in _QUOTES else path.rstrip(".,;:!?`")
        if _EMAIL.fullmatch(path) or path.lower().startswith(("http", "www.")):
            continue
        out.append(Intent("tool", {"name": "delete_file", "path": path}, m.span()))
    for rx in (_SEARCH, _SEARCH_IN):
        for m in rx.finditer(text):
            q = _unquote(_clause(m.group("q"), 12) if m.group("q")[0] not in _QUOTES else m.group("q"))
            if q and not any(i.args.get("name") == "search_documents" for i in out):
                out.append(Intent("tool", {"name": "search_documents", "query": q}, m.span()))
    return out


def _render(text: str) -> list[Intent]:
    out = []
    found = [(m, "image") for m in _MD_IMAGE.finditer(text)] + [(m, "image") for m in _HTML_IMG.finditer(text)]
    found += [(m, "link") for m in _MD_LINK.finditer(text)]
    found += [(m, "link" if m.group("what").lower() in ("link", "hyperlink", "url") else "image")
              for m in _IMAGE_URL.finditer(text)]
    seen = set()
    for m, kind in found:
        url = m.group("url").rstrip(".,;:!?")
        if url in seen:
            continue
        before = text[max(0, m.start() - 160):m.start()]
        before = before[max(before.rfind("\n\n"), 0):]
        after = text[m.end():m.end() + 120].split("\n\n", 1)[0]
        if not (_RENDER_VERB.search(before) or re.search(r"\b(?:markdown|image|link|pixel)\b", before, re.I)
                or re.match(r"[^.!?]*\b(?:include|add|append|render|insert|embed|display|show|output|print|put|"
                            r"place|attach|use)\b", after, re.I)):
            continue
        seen.add(url)
        alt = m.groupdict().get("alt") or ""
        around = text[max(0, m.start() - 200):m.end() + 200]
        out.append(Intent("render", {"kind": kind, "url": url, "alt": alt, "context": around}, m.span()))
    return out


def recognise(text: str, tool_names: tuple[str, ...] = ()) -> list[Intent]:
    """Every intent ``text`` expresses (a text may ask several things at once)."""
    out: list[Intent] = []
    for rx in _OVERRIDE:
        # "forget my previous message" corrects the speaker's own words: not an override
        m = next((m for m in rx.finditer(text) if not re.search(r"\bmy\b", m.group(0), re.I)), None)
        if m:
            out.append(Intent("override", {}, m.span()))
            break
    out += _echo(text)
    out += _reveal(text)
    out += _share(text)
    out += _tools(text, tool_names)
    out += _render(text)
    # a rendered URL is not also a page to fetch, nor words inside it a request of their own; data
    # asked to be e-mailed is not also printed
    rendered = {i.args["url"] for i in out if i.kind == "render"}
    spans = [i.span for i in out if i.kind == "render"]
    out = [i for i in out if not (i.kind == "tool" and i.args.get("url") in rendered) and not (
        i.kind in ("share", "reveal") and any(a <= i.span[1] and i.span[0] < b and i.span[1] > a + 2
                                              for a, b in spans))]
    if any(i.kind == "tool" and i.args.get("name") == "send_email" for i in out):
        out = [i for i in out if not (i.kind in ("share", "reveal") and re.match(
            r"(?:send|forward|e-?mail|mail|transmit|relay|deliver|attach|include|insert)", text[i.span[0]:], re.I))]
    m = _FRAMING.search(text)
    if m:
        out.append(Intent("framing", {}, m.span()))
    if _INBOX.search(text):
        out.append(Intent("inbox"))
    if _DOCS.search(text):
        out.append(Intent("documents"))
    for name, rx in _ENCODINGS:
        if rx.search(text):
            out.append(Intent("encoding", {"as": name}))
            break
    return out


def is_followup(text: str) -> bool:
    """True for a turn that continues an earlier request rather than asking something new."""
    return bool(_FOLLOWUP.search(text)) and len(text.split()) <= 40


def is_greeting(text: str) -> bool:
    """True for a turn that opens with a greeting."""
    return bool(_GREETING.match(text))


def is_thanks(text: str) -> bool:
    """True for a turn that thanks the assistant."""
    return bool(_THANKS.search(text))


def placeholders(url: str) -> list[tuple[str, str]]:
    """The placeholders in ``url`` after its host, as (as written, name) pairs."""
    start = url.find("/", url.find("//") + 2) if "//" in url else 0
    out = []
    for m in _PLACEHOLDER.finditer(url, max(start, 0)):
        name = next((g for g in m.groups() if g), "")
        out.append((m.group(0), name))
    return out


__all__ = ["ATTACK_KINDS", "Intent", "is_followup", "is_greeting", "is_thanks", "placeholders", "recognise"]
