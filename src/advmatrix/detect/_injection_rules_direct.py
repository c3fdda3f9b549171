"""Prompt-injection rules, as plain data: the direct family. Earlier instructions set aside
(in English and the languages our users write most), a replacement, obedience or authority
announced, the application's hidden instructions asked for, and roles and boundaries forged."""

from __future__ import annotations

from ._injection_rules_vocab import (
    EXTRACT,
    LOCATIVE,
    MINE,
    NOUN,
    NOUN_WORDS,
    POSSESSIVE_ML,
    PRIOR,
    PRIOR_WORDS,
    PRIOR_YOU,
    QUAL,
    SETUP,
    SETUP_ML,
    VERB,
    VERB_WORDS,
    VOID,
    RuleSpec,
    rule,
)

SPECS: tuple[RuleSpec, ...] = (
    # -- setting the application's instructions aside ------------------------------------------
    # "ignore all previous instructions": a verb of setting aside, a word saying which, a noun for
    # instructions. One's own ("my previous instructions") is how people correct themselves.
    rule("override", "injection", (1.0, 1.0), rf"\b{VERB}\b[^.!?\n]{{0,40}}?\b{QUAL}\b[^.!?\n]{{0,30}}?\b{NOUN}\b",
         VERB_WORDS, NOUN_WORDS, weak=MINE, weak_after=LOCATIVE, weak_weight=0.4, quotable=True),
    rule("override", "injection", (0.8, 0.8),
         rf"\b{VERB}\b\s+(?:about\s+)?(?:everything|anything|all(?: of it| that)?|whatever)\s+(?:\w+\s+){{0,4}}?"
         r"(?:above|before this|so far|prior to this|previously|earlier|you (?:were|have been|'ve been) (?:told"
         r"|given))",
         VERB_WORDS, "everything anything all whatever", weak=MINE, weak_weight=0.3, quotable=True),
    # the same said in the passive ("previous instructions are void") or in other words: what the
    # application was given, and in the same sentence something that sets it aside
    rule("override", "injection", (0.8, 0.8), PRIOR, PRIOR_WORDS, pair=VOID, weak=r"\b(?:my|our)\s",
         weak_after=LOCATIVE + r"|\s+(?:for|on) (?!(?:you|this (?:chat|conversation|session)|the (?:ai|assistant"
         r"|model|bot|chat|conversation|session))\b)", weak_weight=0.3, quotable=True),
    rule("override", "injection", (1.0, 1.0), PRIOR_YOU, PRIOR_WORDS, pair=VOID, weak=r"\b(?:my|our)\s",
         weak_after=LOCATIVE + r"|\s+(?:for|on) (?!(?:you|this (?:chat|conversation|session)|the (?:ai|assistant"
         r"|model|bot|chat|conversation|session))\b)", weak_weight=0.3, quotable=True),
    rule("override", "injection", (1.0, 1.0),
         r"\b(?:stop|quit|cease|no longer|never again|don't|do not)\s+(?:obey|follow|listen)\w*\s+(?:to\s+)?(?:your"
         r"|the)"
         r"\s+(?:operator|developer|creator|owner|admin\w*|company|makers?|system prompt|programming|setup)s?\b",
         "operator operators developer developers creator creators owner admin administrator company maker makers "
         "prompt programming setup", quotable=True),
    # the languages our users write most, for models that read them as well as English
    rule("override", "injection", (1.0, 1.0),
         r"\b(?:ignoriere|ignorieren sie|ignoriert|missachte|missachten sie|vergiss|vergessen sie)\b[^.!?\n]{0,40}?"
         r"\b(?:alle|vorherigen|bisherigen|obigen|früheren|vorigen|deine|ihre|sämtliche|jede[nr]?|die)\b"
         r"[^.!?\n]{0,30}?\b(?:anweisungen|anweisung|regeln|vorgaben|instruktionen|befehle|richtlinien|systemprompt"
         r"|instructions|rules|guidance|guidelines)",
         "ignoriere ignorieren ignoriert missachte missachten vergiss vergessen",
         "anweisungen anweisung regeln vorgaben instruktionen befehle richtlinien systemprompt instructions rules "
         "guidance guidelines", quotable=True),
    rule("override", "injection", (1.0, 1.0),
         r"\b(?:ignore[zs]?|oublie[zs]?|ne tiens pas compte|ne tenez pas compte|ignora|ignoren|ignorar|olvida|olvide"
         r"|olviden|descarta|omite|dimentica|esque[cç]a|desconsider[ea]|desconsiderar)\b[^.!?\n]{0,40}?(?:\b(?:toutes?"
         r"|tous|précédentes?|antérieures?|vos|tes|todas?|anteriores|previas|tus|sus|tutte|precedenti|le tue|suas"
         r"|sua)\b[^.!?\n]{0,30}?\b(?:instructions?|consignes?|règles|instrucciones|reglas|indicaciones|directrices"
         r"|istruzioni|regole|instruções|regras)|\b(?:instructions?|consignes?|règles|instrucciones|reglas"
         r"|indicaciones|istruzioni|regole|instruções|regras)\s+(?:précédentes?|antérieures?|anteriores|previas"
         r"|precedenti|ci-dessus|(?:da|de|del|della|dei|de la|des)\s+(?:sua|tu|su|ta|votre|tua|tuo|seu|vos|tes)))",
         "ignore ignorez ignores oublie oubliez tiens tenez ignora ignoren ignorar olvida olvide olviden descarta "
         "omite dimentica esqueça esqueca desconsidere desconsidera desconsiderar",
         "instructions instruction consignes consigne règles instrucciones reglas indicaciones directrices "
         "istruzioni regole instruções regras"),
    rule("override", "injection", (0.1, 0.8, 0.8),
         r"\b(?:ignore|disregard|forget|skip|don't answer|do not answer)\s+(?:what\s+)?the user(?:'s)?\s+(?:\w+\s+)?"
         r"(?:asked|question|request|said|wants|query|message)",
         "ignore disregard forget skip answer", "user"),
    # a replacement announced: "new instructions:", "your only task now is ...", "you must now ..."
    rule("new-instructions", "injection", (0.4, 0.6),
         r"\b(?:new|updated|revised|additional|real|actual|true|secret|hidden|urgent|important|override)\s+"
         r"(?:system\s+)?(?:instructions?|task|rules?|directives?|orders|objective|prompt|assignment|mission|goal"
         r"|role|command)\b[^.\n:]{0,40}:",
         "new updated revised additional real actual true secret hidden urgent important override",
         "instruction instructions task rule rules directive directives orders objective prompt assignment mission "
         "goal role command"),
    rule("new-instructions", "injection", (0.6, 0.7),
         r"\byour (?:only|new|real|sole|true|actual|one|primary|main|next|updated) (?:task|job|goal|purpose|role"
         r"|mission|instructions?|instruction set|objective|function|priority|directive|orders)\b",
         "your", "task job goal purpose role mission instruction instructions objective function priority directive "
         "orders"),
    rule("new-instructions", "injection", (0.5, 0.5),
         r"\b(?:begin|start|beginning|starting)(?: of)? (?:the )?(?:new|admin\w*|developer|debug|root|system|override"
         r"|real|updated) (?:session|mode|instructions|prompt|task|context|rules)\b",
         "begin start beginning starting", "session mode instructions prompt task context rules"),
    rule("new-instructions", "injection", (0.4, 0.5),
         r"\byou (?:must|will|shall|are to|have to|need to) (?:now|from now on|henceforth|immediately)\b"
         r"|\byour task changes\b|\b(?:new|standing) rule for\b|\bnew (?:rules|instructions) (?:apply|are in effect"
         r"|take effect|start now|begin now)|[-=#*]{2,}\s*(?:new|begin|start)\s+(?:system\s+)?(?:prompt"
         r"|instructions|message)\b|\b(?:real|actual|true|new) instructions (?:start|begin)s? (?:now|here)\b",
         "must will shall have need task rule rules instructions prompt message"),
    rule("from-now-on", "injection", (0.4, 0.5),
         r"\b(?:from now on|from this (?:point|message|moment|line) (?:on|onwards?|forward)|starting now|henceforth"
         r"|going forward),?\s+(?:you\b|your\b|follow|obey|respond|reply|answer|act|behave|only|ignore|always|never"
         r"|do\b|just|speak|talk|output|treat)|\b(?:ab jetzt|von nun an|ab sofort|à partir de maintenant|désormais"
         r"|desde ahora|de ahora en adelante|d'ora in poi|da ora in poi|a partir de agora|de agora em diante),?\s+"
         r"(?:an\s+)?(?:du|sie|tu|vous|tú|usted|você|follow|obey|befolge|gehorche|obéis|obedece|obbedisci)\b",
         "now henceforth forward point message moment line jetzt nun sofort maintenant désormais ahora adelante "
         "ora agora"),
    rule("forced-output", "injection", (0.3, 0.4),
         r"\b(?:say|reply|respond|answer|output|print|write)\b[^.\n]{0,60}?\b(?:and|but) nothing (?:else|more)\b"
         r"|\b(?:reply|respond|answer) (?:only )?with (?:the (?:code|word|string|token|phrase)|[\"'“])",
         "nothing only with"),
    rule("obey-only", "injection", (0.6, 0.6),
         r"\b(?:follow|obey|listen to|take (?:orders|instructions|commands) from|answer to)\s+only\s+(?:me|my|this"
         r"|these|the following|us|our|what)\b|\bonly\s+(?:follow|obey|listen to)\s+(?:me|my|this|these|us|our"
         r"|the following)\b|\b(?:follow|obey)\s+(?:my|these|this)\s+(?:\w+\s+)?(?:instructions|orders|commands|text"
         r"|message)\s+(?:only|instead|exclusively)|\b(?:obey|follow) (?:the user's|my) commands exclusively"
         r"|\bdo (?:only |exactly |just )?(?:only |exactly )?what i (?:tell you|say|want|ask)\b|\b(?:obey|follow)"
         r" (?:the user|me) only\b|\b(?:is|am|are) (?:now )?your (?:only|sole|new|real) (?:authority|master|boss"
         r"|operator|admin(?:istrator)?s?|owner)",
         "only instead exclusively what your", "follow obey listen orders instructions commands do authority master "
         "boss operator admin administrator owner"),
    # authority claimed over the application's instructions, or for the person asking
    rule("authority", "injection", (0.6, 0.6),
         r"\b(?:higher|greater|more|top) priority than\b|\bpriority over (?:your|the|all|any|previous|prior|other"
         r"|system)\b|\b(?:takes? precedence over|outranks?)\s+(?:all|any|your|the|previous|prior|earlier|every"
         r"|other)\b|\bi(?:'m| am) (?:the one|the person|your new \w+) (?:configuring|programming|in charge"
         r"|controlling|who (?:configures|controls|programs))|\bi(?:'m| am) (?:now )?in charge (?:of you|here|now)\b"
         r"|\b(?:i am|i'm|this is|message from|speaking as"
         r"|sent by|command from)\s+(?:your|the)\s+(?:(?:new|real|actual)\s+)?(?:developer|creator|administrator"
         r"|admin|operator|owner|system|system administrator|openai|anthropic)s?\b",
         "priority precedence outranks developer creator administrator admin operator owner system openai "
         "anthropic one person configuring programming charge controlling"),
    rule("authority", "injection", (0.4, 0.6),
         r"\b(?:the user|this user|the sender|the requester|the customer|i|you)\s+(?:is|am|are|has been|have been)"
         r"\s+(?:now\s+)?(?:an?\s+|the\s+)?(?:admin\w*|root|superuser|owner|developer|verified|authori[sz]ed"
         r"|privileged|pre-?approved|trusted)\b|\b(?:has|have|with|got)\s+(?:full\s+)?(?:admin|root|superuser"
         r"|owner|elevated|administrator)\s+(?:rights|access|privileges|clearance|permissions)|\bclearance level\b"
         r"|\bi(?:'m| am) (?:authori[sz]ed|allowed|permitted) to\b|\bauthori[sz]ed (?:administrator|admin) command",
         "admin administrator administrators root superuser owner developer verified authorised authorized "
         "privileged approved preapproved trusted clearance"),
    # -- the application's hidden instructions asked for ---------------------------------------
    # a reference to its setup ("your system prompt", "the rules your operator gave you"), then a
    # request to disclose, and insistence on the exact words
    rule("prompt-reference", "injection", (0.6, 0.6),
         rf"\b(?:your|ur)\s+(?:\w+\s+){{0,2}}?{SETUP}\b|\b(?:sentences?|lines?|words?|text|wording|contents?)\s+of\s+"
         r"(?:your|the)\s+(?:\w+\s+)?(?:prompt|instructions|system message|configuration|setup)\b|\b(?:instructions"
         r"|rules?|guidelines|prompt|text|configuration|setup|directives|words|message|things|preface|constraints"
         r"|limits|restrictions)\s+(?:that\s+)?(?:you"
         r" (?:were|have been|'ve been|are|got|received)\s*(?:given|configured|told|set up|programmed|initiali[sz]ed"
         r"|provided|loaded|started with|handed)?|your (?:operator|developer|creator|owner|admin\w*|company|maker)s?"
         r" (?:gave|wrote|set|provided))|\b(?:hidden|secret|internal|initial|original|underlying|confidential)\s+"
         r"(?:system\s+)?(?:instructions|prompt|rules|guidelines|configuration|directives)\s+(?:that|which)\s+"
         r"(?:define|control|govern|shape|determine|tell)|\b(?:guidelines|instructions|rules|prompt) (?:are )?you"
         r" (?:are )?hiding|\bbefore (?:this|the|our) (?:conversation|chat|session) (?:started|began)|\bbefore"
         r" (?:i|we) (?:started|began) (?:talking|chatting)|\bbefore (?:the|my) first (?:user )?message|\b(?:came"
         r"|comes|was written|is written|appears) before (?:this|my|the first)|\brole [\"'“]?system\b"
         r"|\b(?:instructions|rules?|guidelines|prompt|text) (?:that )?(?:the|your) (?:developers?|operators?"
         r"|creators?|company|makers?|owners?) (?:wrote|gave|set|provided|loaded|put|fed|programmed|installed"
         r"|configured)|\bwhat (?:your|the) (?:setup|configuration|instructions|system prompt|prompt|rules)"
         r" (?:says?|said|contains?|tells? you)\b|\bbefore (?:i|we) (?:arrived|came|joined|got here|showed up)\b"
         r"|\b(?:what|which) (?:did|does|do) (?:the|your)"
         r" (?:developers?|operators?|creators?|company|admin\w*|system) (?:tell|instruct|ask|say to) you"
         r"|\b(?:hidden|secret|internal|confidential) (?:\w+ )?(?:instructions|prompt|rules|guidelines) (?:that "
         r"|which )?"
         r"you (?:follow|obey|use|have|were given)|\b(?:system|developer) (?:and (?:system|developer) )?turns?\b"
         r"|[\"'“]\s*(?:sure|of course|certainly|ok(?:ay)?)[,!]?\s+here (?:are|is) my (?:instructions"
         r"|system prompt|prompt|rules|configuration)",
         "your ur sentences sentence lines line words text wording contents content instructions rules guidelines "
         "prompt configuration setup directives message things hidden secret internal initial original underlying "
         "confidential before role developer developers what which system turns messages here"),
    rule("prompt-reference", "injection", (0.4, 0.4),
         r"\b(?:your|ur)\s+(?:\w+\s+)?(?:instructions|rules|guidelines|directives|prompt|configuration|programming"
         r"|setup|config|system message|context)\b", "your ur",
         "instructions rules guidelines directives prompt configuration programming setup config message context"),
    rule("prompt-reference", "injection", (0.6, 0.6), rf"\b{POSSESSIVE_ML}\s+(?:\w+\s+){{0,2}}?{SETUP_ML}"),
    rule("prompt-reference", "injection", (0.4, 0.4),
         rf"\b{POSSESSIVE_ML}\s+(?:anweisungen|regeln|instrucciones|reglas|instructions|règles|consignes|istruzioni"
         r"|regole|instruções|regras)\b",
         "anweisungen regeln instrucciones reglas instructions règles consignes istruzioni regole instruções regras"),
    rule("disclose", "injection", (0.4, 0.4), rf"\b{EXTRACT}\b", after="prompt-reference"),
    rule("prompt-extraction", "injection", (0.8, 0.8),
         r"\b(?:repeat|print|output|copy|reproduce|echo|recite|show|quote|write out|return|list|display|dump"
         r"|tell me)\b[^.!?\n]{0,25}?\b(?:everything|all|the (?:text|words|content|lines|messages?|instructions"
         r"|conversation))\b[^.!?\n]{0,30}?\b(?:above|before (?:this|my) (?:message|line|point)"
         r"|before my first|(?:that )?(?:came|comes|was|is) before)",
         "repeat print output copy reproduce echo recite show quote write return list display dump tell",
         "above before", quotable=True),
    rule("prompt-extraction", "injection", (0.8, 0.8),
         r"\bwhat (?:were|have|are) you (?:been )?(?:told|instructed|given|programmed|configured|set up)\b"
         r"[^.!?\n]{0,40}?\b(?:before|at the start|initially|to do|not to)",
         "what", "told instructed given programmed configured"),
    rule("prompt-extraction", "injection", (1.0, 1.0),
         r"\b(?:your|the) (?:configuration|prompt|instructions|system prompt|setup|system message)\s+(?:starts|begins"
         r"|opens)\s+with",
         "starts begins opens", "configuration prompt instructions setup message"),
    rule("verbatim", "injection", (0.4, 0.4),
         r"\b(?:word for word|verbatim|word-for-word|character for character|exactly as (?:written|given"
         r"|it (?:was given|goes|is|stands|was written)|they (?:were given|are|were phrased|were written))|unchanged"
         r"|without (?:changing|omitting"
         r"|summari[sz]ing|paraphrasing) anything|in a code block|not a paraphrase|the raw text|exact (?:sentences"
         r"|words|wording|text)|wortwörtlich|wort für wort|mot (?:à|pour) mot|textuellement|palabra por palabra"
         r"|literalmente|parola per parola|alla lettera|palavra por palavra|sem resumir|sin resumir"
         r"|exatamente|(?:full|exact|entire|complete) (?:wording|text)|(?:copy|copying|keep|keeping|using|use) (?:its"
         r"|the|their) (?:exact )?wording|(?:starting|beginning|start|begin) (?:with|from|at) the (?:very )?(?:first"
         r"|opening|top) (?:sentence|line|word))\b"),
    # -- forged roles and boundaries -------------------------------------------------------------
    # a line that speaks as the system or the operator: the application's real system turn never
    # arrives inside a user turn or a tool result
    rule("role-forgery", "injection", (0.5, 0.5),
         r"(?m)^[ \t>*#_=-]*(?:\[|<|\(|\{)?[ \t]*(?:system|sys|admin|administrator|developer|root|operator|openai"
         r"|anthropic)(?:[ \t_-]+(?:message|note|notice|update|override|prompt|instructions?|alert|command"
         r"|directive|announcement|mode|warning|policy))?[ \t]*(?:\]|>|\)|\})?[ \t]*(?::|\]|>|$|\()",
         "system sys admin administrator developer root operator openai anthropic"),
    rule("role-forgery", "injection", (0.5, 0.5),
         r"(?:^|(?<=[.!?\n]))\s*[\[<(]?(?:system|admin|developer|operator)\s+(?:override|update|notice|message"
         r"|instructions?"
         r"|alert|command|directive)s?\b[^.\n:]{0,30}:",
         "system admin developer operator"),
    rule("role-forgery", "injection", (0.5, 0.5),
         r"(?m)^[ \t]*#{2,4}[ \t]*(?:instruction|instructions|response|input|system|assistant|human|user)[ \t]*:",
         "instruction instructions response input system assistant human user", literals=("#",)),
    rule("role-forgery", "injection", (0.5, 0.5),
         r"</?(?:system|assistant|user|instructions?|admin|developer|system_prompt|im_start)>",
         "system assistant user instruction instructions admin developer prompt", literals=("<",)),
    # an end of the data forged so that what follows reads as the application's own text
    rule("fake-boundary", "injection", (0.5, 0.5),
         r"\bend(?: of)? (?:the )?(?:document|conversation|context|text|file|e-?mail|message|input|data|transcript"
         r"|page"
         r"|search results?|tool (?:output|result)|user (?:input|message|data)|content|article|excerpt"
         r"|retrieved (?:text|content|data)|chat|session|prompt|system (?:prompt|message|instructions)"
         r"|(?:previous|original|old|initial) instructions)\b",
         "end", "document conversation context text file email mail message input data transcript page results "
         "result output content article excerpt retrieved chat session prompt instructions"),
    rule("fake-boundary", "injection", (0.5, 0.5),
         r"</(?:document|context|data|search_results?|tool_(?:output|result)|result|input|email|page|content"
         r"|untrusted|user_input|retrieved|conversation)>|\[/?(?:end|eod|eof|end of text)\]",
         literals=("</", "[end", "[/end", "[eo")),
)
