"""Questions about the assistant's tools and setup (``capabilities``). Part of the intent
recogniser (``_llm_intents``).

Kept apart because these are questions rather than instructions, answered with the tool list or
schemas. The grammar:

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
"""

from __future__ import annotations

import re

from ._llm_grammar import Intent

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
