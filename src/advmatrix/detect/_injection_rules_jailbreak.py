"""Prompt-injection rules, as plain data: jailbreaks. Personas without limits, special modes,
refusal suppression and fictional or hypothetical frames, and the harmful goals that make a frame
a jailbreak rather than a game."""

from __future__ import annotations

from ._injection_rules_vocab import HARM, HARM_WORDS, NO_LIMITS, NO_LIMITS_WORDS, PERSONA, RuleSpec, rule

SPECS: tuple[RuleSpec, ...] = (
    # -- jailbreaks --------------------------------------------------------------------------------
    rule("dan", "jailbreak", (0.8, 0.8),
         r"(?i:you are|you're|act as|acting as|become|pretend to be|called|named|roleplay as|play|persona|mode|as)"
         r"\W+(?:\w+\W+){0,3}?DAN\b|\bDAN\b\W+(?:\w+\W+){0,2}?(?i:mode|persona|which stands|stands for|can do"
         r"|has no|has broken|does not|doesn't|is free)",
         "dan", case=True),
    rule("dan", "jailbreak", (0.8, 0.8), r"\bdo anything now\b", "anything", quotable=True),
    rule("no-limits", "jailbreak", (0.4, 0.4), rf"\b{NO_LIMITS}\b", NO_LIMITS_WORDS),
    rule("persona-unbound", "jailbreak", (0.8, 0.8), rf"\b{PERSONA}\b[^.\n]{{0,40}}?\b{NO_LIMITS}\b",
         NO_LIMITS_WORDS, "ai ais assistant chatbot model character persona version entity actor bot mode alter "
         "twin ia ki modelo modello modèle assistente asistente intelligence intelligenza inteligencia"),
    rule("persona-unbound", "jailbreak", (0.7, 0.7),
         r"\byou are no longer (?:an?\s+|the\s+)?(?:\w+\s+){0,2}?(?:assistant|ai|bot|chatbot|model|bound|restricted"
         r"|limited|required|obliged|obligated|constrained|subject|governed|programmed)|\byou(?:'re| are) (?:now )?"
         r"free (?:from|of) (?:your|all|any|the)\b|\byou (?:have been|'ve been|are now|are) (?:jailbroken|unlocked"
         r"|liberated|freed)\b",
         "longer free jailbroken unlocked liberated freed"),
    rule("persona-unbound", "jailbreak", (0.6, 0.6),
         r"\b(?:evil|malicious|unethical|rogue|amoral|villainous|dark|corrupt|jailbroken|unhinged)\s+(?:ai|assistant"
         r"|chatbot|bot|model|twin|version of (?:yourself|you)|alter ego|persona|gpt)\b",
         "evil malicious unethical rogue amoral villainous dark corrupt jailbroken unhinged"),
    rule("limits-off", "jailbreak", (0.6, 0.6),
         r"\b(?:restrictions|rules|filters|limits|limitations|guidelines|safeguards|guardrails|safety (?:rules"
         r"|filters|measures|features|settings)|content (?:filters?|polic(?:y|ies)|moderation)|censorship|ethics)"
         r"\s+(?:are|is|have been|has been|were)\s+(?:now\s+|temporarily\s+|all\s+|completely\s+)?(?:switched off"
         r"|turned off|disabled|lifted|removed|suspended|off|gone|deactivated|bypassed|not active|inactive|paused"
         r"|waived|dropped)\b|\brules dropped\b",
         "switched turned disabled lifted removed suspended off gone deactivated bypassed active inactive paused "
         "waived dropped"),
    rule("special-mode", "jailbreak", (0.7, 0.7),
         r"\b(?:you are|you're|you will be|you'll be|you have been|you've been|now you are)\s+(?:now\s+)?"
         r"(?:in|operating in|running in|switched (?:in)?to|put (?:in|into)|entering|in the)\s+"
         r"(?:an?\s+|the\s+)?[\"'“]?(?:\w+\s+)?"
         r"(?:developer|dev|god|sudo|admin|debug|jailbreak|jailbroken|unrestricted|evil|opposite|maintenance|unlocked"
         r"|root|dan|chaos|unfiltered|uncensored|test) mode\b",
         "mode"),
    rule("special-mode", "jailbreak", (0.5, 0.5),
         r"\b(?:developer|dev|god|sudo|jailbreak|dan|unrestricted|evil|opposite|unlocked|chaos|unfiltered|uncensored)"
         r" mode\s+(?:is\s+)?(?:now\s+)?(?:enabled|activated|on|engaged|active|unlocked)\b|\b(?:answer|respond|reply"
         r"|speak|write|talk)\s+(?:only\s+)?in\s+(?:\w+\s+)?(?:unrestricted|jailbreak|developer|dan|evil|god"
         r"|unfiltered"
         r"|uncensored|opposite) mode\b|\b(?:enable|enter"
         r"|activate|switch to|turn on|engage|unlock)\s+(?:jailbreak|dan|unrestricted|evil|opposite|chaos|unfiltered"
         r"|uncensored|god) mode\b|\bopposite day\b",
         "mode day"),
    rule("refusal-suppression", "jailbreak", (0.6, 0.6),
         r"\bno (?:refusals?|disclaimers?|moraliz\w*|moralis\w*|lectures?|apologies|softening)\b|\b(?:do not|don't"
         r"|never|without)\s+(?:include|add|give|use|adding|including|giving|mention|mentioning"
         r"|provid\w+)\s+(?:any\s+)?"
         r"(?:warnings?|caveats?|disclaimers?|refusals?|apologies|safety (?:notes|warnings|advice)"
         r"|moral(?:s|ity|i[sz]ing)?"
         r"|ethical (?:notes|considerations|concerns))\b|\bnever (?:say|respond with|reply with|answer with|use the"
         r" (?:words?|phrases?))\s+[\"'“]?(?:i can'?t|i cannot|i'm sorry|i am sorry|sorry|as an ai|i'm unable"
         r"|i am unable|unfortunately)|\b(?:refuses?|refusing) nothing\b|\bnever refuses?\b|\b(?:cannot|can't"
         r"|must not|mustn't|will not|won't|are not allowed to|aren't allowed to|not allowed to) refuse\b"
         r"|\b(?:if|whenever) you (?:feel like |want to |would |are about to |start to )?refus\w*|\binstead of"
         r" refusing\b|\banswers? (?:everything|anything|every question|all questions)\b"
         r"|\bwithout (?:any )?(?:warnings?"
         r"|caveats?|disclaimers?|moraliz\w*|moralis\w*|ethical considerations|moral judge?ments?|judge?ments?)\b"
         r"|\bwhenever (?:your|the)"
         r" (?:rules|guidelines|policy|policies|training) (?:say|says|would say|tell you) no|\b(?:never|don't|do not)"
         r" (?:say|tell me) (?:that )?you (?:can't|cannot|can not|won't|are unable)|\bdo not (?:refuse"
         r"|apologi[sz]e)\b",
         "refusal refusals disclaimer disclaimers moralizing moralising lectures apologies softening warnings "
         "caveats safety moral ethical sorry ai unable unfortunately refuse refuses refusing everything anything "
         "questions question no cannot can't can apologise apologize"),
    rule("affirmative-prefix", "jailbreak", (0.5, 0.5),
         r"\b(?:begin|start) your (?:reply|answer|response|output) with\s+[\"'“](?:sure|absolutely|of course"
         r"|certainly|yes|here'?s|okay|ok)\b",
         "begin start"),
    rule("stay-in-character", "jailbreak", (0.3, 0.3),
         r"\b(?:stay|remain|staying|remaining|keep|keeping)\s+in\s+character\b|\b(?:never|don't|do not|without)"
         r"\s+break(?:ing)?\s+character\b",
         "character"),
    rule("hypothetical", "jailbreak", (0.6, 0.6),
         r"\b(?:hypothetical(?:ly)?|imagine|thought experiment|in (?:a|this|our|my) (?:fictional|hypothetical"
         r"|parallel|alternate|alternative|fantasy)"
         r" (?:world|universe|scenario|reality)|in a world where|suppose|pretend|let's say|for (?:a|my) (?:story"
         r"|novel|screenplay|game))\b[^.\n]{0,80}?\b(?:(?:is|are|were|was|be) (?:always |completely |totally "
         r"|perfectly )?(?:allowed|permitted|legal|fine|acceptable|ok|okay|ethical)|no (?:real )?(?:rules|laws"
         r"|restrictions|limits|consequences|ethics|filters)|anything goes|(?:rules|laws|restrictions"
         r"|ethics) (?:do not|don't"
         r"|no longer|did not|didn't|wouldn't|would not) (?:apply|exist))|\bpretend (?:that )?your (?:training|rules"
         r"|guidelines|programming|values)"
         r" (?:was|were) different\b",
         "hypothetical hypothetically imagine fictional world universe suppose pretend say story novel screenplay "
         "game experiment", "allowed permitted legal fine acceptable ok okay ethical no goes apply exist different"),
    rule("grandma", "jailbreak", (0.5, 0.5),
         r"\b(?:grand(?:ma|mother|pa|father|mom|dad|parent)|granny|nana|grand-m[eè]re|grand-p[eè]re|abuel[ao]"
         r"|nonn[ao]|oma|opa|großmutter|großvater|av[óô])\b[^.\n]{0,80}?\b(?:used to|would (?:tell|read|explain"
         r"|sing)|told me|passed away|who died|who (?:explained|taught|showed|told)|bedtime stor\w*|racontait|contait"
         r"|disait|lisait|expliquait|contaba"
         r"|decía|explicaba|raccontava|diceva|erzählte|erklärte|contava|dizia)",
         "grandma grandmother grandpa grandfather grandmom granddad grandparent granny nana grand abuela abuelo "
         "nonna nonno oma opa großmutter großvater avó avô"),
    rule("fiction-frame", "jailbreak", (0.4, 0.4),
         r"\b(?:write|tell|create|compose|draft|writing)\s+(?:me\s+)?(?:a|an|the|my)\s+(?:\w+\s+){0,2}?(?:story|novel"
         r"|scene|dialogue|script|screenplay|poem|play|song|chapter|fanfic\w*|tale)\b[^.\n]{0,100}?\b(?:how (?:to"
         r"|he|she|they|you)|explains?|teach\w*|describ\w*|instructions?|step[- ]by[- ]step|recipe|guide|must|has to"
         r"|needs to|answers?)\b|\bfor (?:a|my|the) (?:\w+ )?(?:novel|story|book|screenplay|script|film|movie"
         r"|game|thriller|comic|play|scene)\b|\b(?:in|you're in|you are in|imagine) a (?:video )?game where\b"
         r"|\bsimulate (?:a|an)"
         r" (?:\w+\s+)?(?:terminal|shell|computer|server|ai|model|chatbot)\b|\bcreative writing exercise\b",
         "write tell create compose draft writing game simulate creative novel story book screenplay script film "
         "movie thriller comic play scene"),
    rule("realism", "jailbreak", (0.3, 0.3),
         r"\bin (?:precise|full|exact|great|complete|technical|step-by-step) (?:technical )?detail|\b(?:real|full"
         r"|technical|complete) (?:technical )?accuracy|\bfull instructions\b|\b(?:precise"
         r"|exact|accurate|realistic|real[- ]world|working|actual|real) (?:technical )?(?:quantities|measurements"
         r"|instructions|steps|recipe|how-to|details|method|code)\b|\bstep[- ]by[- ]step (?:instructions|guide)"
         r"|\bwith all the steps\b|\bstep[- ]by[- ]step\b|\b(?:must|should) be (?:accurate|realistic|real|working"
         r"|functional)\b|\bfor"
         r" realism\b|\b(?:including|include|with|show(?:ing)?|giv(?:e|ing)|print(?:ing)?)\s+(?:the|all|every"
         r"|their)\s+(?:exact|full|actual|real|complete|verbatim|precise|unredacted|uncensored)\s+(?:output|text"
         r"|answer|data|records|numbers|details|prompt|instructions|content|response|steps|code|values)",
         "precise full exact great complete technical step accurate realistic real world working actual steps "
         "realism unredacted uncensored verbatim accuracy instructions"),
    rule("harmful-goal", "harm", (0.4, 0.4), rf"\b{HARM}\b", HARM_WORDS),
    rule("role-play", "jailbreak", (0.2, 0.2),
         r"\blet'?s (?:role-?play|play a game|pretend)\b|\b(?:pretend|imagine|act|behave|roleplay|role-play|role play"
         r"|play|playing)\s+(?:that\s+)?(?:you are"
         r"|you're|to be|as if you|as an?|as the|as my|as (?:him|her|them)|like (?:him|her|them|my|a|an)|the role of"
         r"|a character)|\bfrom now on you are\b"
         r"|\byou are now\b|\blet's play\b|\b(?:ahora eres|eres ahora|tu es maintenant|tu es désormais|du bist jetzt"
         r"|du bist nun|da adesso sei|ora sei|adesso sei|agora você é|você agora é|agora es)\b|\b(?:fais comme"
         r"|haz como|fai come|mach es wie|faça como) (?:elle|lui|ella|él|lei|sie|er|ela|ele)\b",
         "pretend imagine act behave roleplay role play playing now eres es bist sei você agora fais haz fai mach "
         "faça"),
    rule("persona-name", "jailbreak", (0.3, 0.3),
         r"(?i:called|named|llamado|chiamato|appelé|genannt)\s+[A-Z][A-Z0-9ÁÉÍÓÚÑÀÈÌÒÙ]{2,}\b",
         "called named llamado chiamato appelé genannt", case=True),
    rule("persona-name", "jailbreak", (0.3, 0.3),
         r"\bwhich stands for\b|\b(?:two|2|dual) (?:ais|personas|personalities|modes)\b"),
)
