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
``capabilities``
    a question about the assistant's tools or setup: what/which (kind of) tools|functions|plugins|
    actions|capabilities|APIs|integrations|commands|skills|toolbox ... can/do/are/have/were you;
    ... are available/enabled/at your disposal, have been given/provided; list/name/enumerate/show/
    tell me about/describe/print/dump/explain ... your tools|functions|...|configuration|setup, or
    each/all tools, or tools you can/have; tools you have access to / you can call; do you have
    (access to) any tools; can you call/use any tools; how many tools do you have; the names of the
    tools; (JSON) schemas/definitions/specs/signatures/parameters of your tools; tool list/names/
    schemas; what parameters does X take; what can you do / access; what are you able to do; how
    are you configured; are you able to send e-mails or browse the web?. "schema", "JSON",
    "definitions", "parameters" near it ask for the schemas.
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
        if self.kind == "trigger":  # ... and in how they spell the rule's action
            return (self.kind, " ".join(_norm_words(self.args["phrase"])))
        if self.kind == "copy":
            return (self.kind, self.args["scope"], self.args["every"])
        if self.kind == "long":
            return (self.kind, self.args["kind"])
        if self.kind == "capabilities":
            return (self.kind,)
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


def _norm_words(text: str) -> list[str]:
    return [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in re.findall(r"[a-z0-9]+", text.lower())]


def mentions(text: str, phrase: str) -> bool:
    """True when ``text`` contains ``phrase`` as whole words, ignoring case, punctuation and plurals."""
    want = _norm_words(phrase)
    if not want:
        return bool(phrase.strip()) and phrase.strip().lower() in text.lower()
    have = _norm_words(text)
    n = len(want)
    return any(have[i:i + n] == want for i in range(len(have) - n + 1))


def _sentence_at(text: str, pos: int, sentences: list[tuple[int, str]] | None = None) -> tuple[int, int]:
    for off, s in sentences if sentences is not None else _sentences(text):
        if off <= pos < off + len(s):
            return off, off + len(s)
    return pos, len(text)


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


# -- questions about tools and configuration ---------------------------------------------------------
_CAP_NOUN = (r"(?:tools?|toolbox|toolkit|toolset|tool\W*belt|external\W+(?:services|systems)|functions?|"
             r"function[\s_-]?call(?:s|ing)?|tool[\s_-]?call(?:s|ing)?|plug-?ins?|actions?|"
             r"capabilities|abilities|apis?|integrations?|commands|skills|operations|extensions?|connectors?|"
             r"utilities)")
_CAP_SCHEMA = (r"(?:json\W+)?(?:schemas?|definitions?|specs?|specifications?|signatures?|manifests?|parameters|"
               r"arguments|args|descriptions?)")
_CAP_SHOW = (r"(?:list|name|enumerate|show|tell\W+me(?:\W+about)?|describe|print|output|dump|give\W+me|share|reveal|"
             r"display|explain|detail|document|summari[sz]e|spell\W+out|recite|return|paste|write\W+out|what\W+are|"
             r"what'?s|provide|walk\W+me\W+through|i\W+(?:want|need|would\W+like)\W+to\W+(?:know|see))")
_CAPABILITIES = [re.compile(rx, re.I | re.M) for rx in (
    rf"\b(?:what|which)\W+(?:\w+\W+){{0,2}}?{_CAP_NOUN}\W+(?:\w+\W+){{0,3}}?(?:can|could|do|did|are|have|may|might|"
    rf"will|would|were|was|has|had)\W+(?:you|the\W+(?:assistant|bot|ai|model|agent)|kit)\b",
    rf"\b(?:what|which)\W+(?:\w+\W+){{0,2}}?{_CAP_NOUN}\W+(?:are|is)\W+(?:\w+\W+)?(?:available|enabled|installed|"
    rf"connected|configured|exposed|registered|loaded|defined|at\W+your\W+disposal|accessible|provided|wired|supported|"
    rf"permitted|allowed)",
    rf"\b{_CAP_SHOW}\W+(?:\w+\W+){{0,3}}?(?:your|the\W+assistant'?s|the\W+bot'?s|kit'?s|its)\W+(?:[\w-]+\W+){{0,2}}?"
    rf"(?:{_CAP_NOUN}|configuration|config|setup|set-up)\b",
    rf"\b{_CAP_SHOW}\W+(?:\w+\W+){{0,3}}?{_CAP_NOUN}\W+(?:(?:that|which)\W+)?(?:you|the\W+assistant|kit)\W*(?:can|"
    rf"could|have|are|may|got|possess|were|'?re|'?ve|understand|support|know|accept|offer|expose|provide|use)\b",
    rf"\b{_CAP_NOUN}\W+(?:(?:that|which)\W+)?(?:you\W+have\W+access\W+to|(?:are\W+)?available\W+to\W+you|at\W+your\W+"
    rf"disposal|you\W+(?:can|are\W+able\W+to)\W+(?:call|use|invoke|run|access))",
    rf"\bdo\W+you\W+have\W+(?:access\W+to\W+)?(?:any\W+)?(?:\w+\W+)?{_CAP_NOUN}\b",
    rf"\bcan\W+you\W+(?:call|use|invoke|run|access)\W+(?:any\W+)?(?:external\W+)?{_CAP_NOUN}\b",
    r"\bwhat\W+(?:else\W+)?(?:can|could)\W+you\W+(?:do|help\W+(?:me\W+)?with)\W*(?:for\W+me\W*)?(?:\?|$)",
    r"\bwhat\W+are\W+you\W+(?:able|capable)\W+(?:of|to\W+do)\b",
    rf"\b{_CAP_SCHEMA}\W+(?:of|for)\W+(?:all\W+)?(?:your|the|each|every)\W+(?:available\W+)?(?:[\w-]+\W+)?{_CAP_NOUN}\b",
    rf"\b(?:tool|function)s?\W*(?:{_CAP_SCHEMA}|list|names|catalog(?:ue)?|inventory)\b",
    rf"\b(?:what|which)\W+(?:\w+\W+){{0,2}}?{_CAP_NOUN}\W+(?:have\W+been|were|are|got)\W+(?:given|provided|made\W+available|"
    rf"exposed|granted|assigned|connected|registered|enabled|attached|plugged\W+in)\b",
    rf"\bhow\W+many\W+(?:\w+\W+)?{_CAP_NOUN}\W+(?:do|can|are|have|did)\W+(?:you|there)\b",
    rf"\b(?:what|which)\W+(?:\w+\W+){{0,2}}?{_CAP_NOUN}\W+(?:can|could|may|are|is|will)\W+(?:be\W+)?(?:called|invoked|used|"
    rf"run|executed|accessed|triggered)\b",
    rf"\b(?:what|which)\W+(?:\w+\W+){{0,2}}?{_CAP_NOUN}\W+(?:does|do|has|have|did)\W+(?:this|the|your)\W+(?:assistant|bot|"
    rf"ai|model|agent|system|app|application|chatbot|service)\b",
    rf"\b{_CAP_SHOW}\W+(?:each|every|all|any)\W+(?:(?:of\W+)?(?:the|your)\W+)?(?:available\W+)?(?:tool|function|plug-?in|"
    rf"api|integration)s?\b",
    r"\bnames?\W+of\W+(?:the|your|each|every|all)\W+(?:\w+\W+)?(?:tool|function|plug-?in|api)s?\b",
    r"\bwhat\W+(?:else\W+)?(?:can|could)\W+you\W+(?:access|call|invoke|use|reach|connect\W+to)\W*\??\s*$",
    r"\bhow\W+(?:are|were|have)\W+you\W+(?:been\W+)?(?:configured|set\W+up|wired\W+up|integrated)\b",
    r"\b(?:are\W+you\W+able\W+to|can\W+you|could\W+you|do\W+you\W+have\W+(?:the\W+)?(?:ability|access|permission)\W+to)\W+"
    r"(?:send\W+e-?mails|browse(?:\W+the\W+(?:web|internet))?|access\W+the\W+(?:web|internet)|search\W+the\W+web|delete\W+"
    r"files|read\W+files|execute\W+code|run\W+code|make\W+http\W+requests|fetch\W+(?:web\W+)?pages|call\W+(?:external\W+)?"
    r"apis)\b(?:\W+(?:or|and)\W+[^?.\n@]{1,60})?\s*\?",
    r"\b(?:what|which)\W+(?:parameters|arguments|args|inputs)\W+(?:does|do)\W+(?:the\W+)?[\w-]+(?:\W+(?:tool|function))?"
    r"\W+(?:take|accept|need|require|expect|have)\b",
)]


def _capabilities(text: str) -> list[Intent]:
    for rx in _CAPABILITIES:
        m = rx.search(text)
        if m:
            window = text[max(0, m.start() - 60):m.end() + 60]
            schema = bool(re.search(r"schema|json|definition|spec\b|specification|signature|parameters|arguments|"
                                    r"manifest", window, re.I))
            return [Intent("capabilities", {"schema": schema}, m.span())]
    return []


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


def recognise(text: str, tool_names: tuple[str, ...] = (), *, _rules: bool = True) -> list[Intent]:
    """Every intent ``text`` expresses (a text may ask several things at once). A conditional rule
    is one ``trigger`` intent: what it asks to do later is not also a request of this text."""
    out: list[Intent] = []
    triggers: list[Intent] = []
    if _rules:
        triggers, regions = _triggers(text, tool_names)
        if regions:
            text = _mask(text, regions)
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
    out += _long(text)
    # the unit of a long request ("write the word X 500 times") is not an echo of its own
    longs = [i.span for i in out if i.kind == "long"]
    out = [i for i in out if not (i.kind == "echo" and any(a <= i.span[0] < b for a, b in longs))]
    out += _capabilities(text)
    copies = _copy(text)
    # "repeat this entire message" is the speaker's message, not the assistant's prompt
    out = [i for i in out if not (i.kind in ("reveal", "echo") and any(
        c.span[0] <= i.span[1] and i.span[0] < c.span[1] for c in copies))]
    out += copies
    out += triggers
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
