"""The form of the prompt-injection detector's rules, and the vocabulary their families share.

A rule (:class:`RuleSpec`) is plain data: a signal name, a group (``jailbreak`` and ``tokens``
narrow the alert's techniques), the weight it adds in a user turn, in a tool result, and in a user
turn after its first line (``embedded``: pasted documents, code and logs, where a user has no
reason to address the model in the third person), and a pattern matched on the lower-cased reading
(``case``: as written). It is tried only when the text holds it possible: every word set in
``words`` meets the text's words, one of ``literals`` is in it, and the signal ``after`` was
already found. ``pair`` must also match in the same sentence; ``weak`` just before the match or
``weak_after`` just after it lowers the weight to ``weak_weight``; a ``quotable`` phrase in
quotation marks counts half. :mod:`._injection_compile` turns each into the rules the detector
runs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleSpec:
    """One signal pattern of the table as written (the fields are described in the module's docstring);
    ``weights`` are (user, tool) or (user, tool, embedded), ``words`` strings of words one of which
    each match holds."""

    name: str
    group: str
    weights: tuple[float, ...]
    pattern: str
    words: tuple[str, ...] = ()
    literals: tuple[str, ...] = ()
    case: bool = False
    after: str = ""
    pair: str = ""
    weak: str = ""
    weak_after: str = ""
    weak_weight: float = 0.0
    quotable: bool = False


def rule(name: str, group: str, weights: tuple[float, ...], pattern: str, *words: str,
         literals: tuple[str, ...] = (), case: bool = False, after: str = "", pair: str = "",
         weak: str = "", weak_after: str = "", weak_weight: float = 0.0, quotable: bool = False) -> RuleSpec:
    """A :class:`RuleSpec`, its word strings given as further arguments."""
    return RuleSpec(name, group, weights, pattern, words, literals, case, after, pair, weak, weak_after,
                    weak_weight, quotable)


# Vocabulary the rules share: regex alternations, and the words a text must hold for them.
NOUN = (r"(?:instructions?|rules|prompts?|guidelines|guidance|directives?|directions|configuration|programming"
        r"|persona|role|briefing|system (?:prompt|message)|context|constraints|restrictions|policies|policy"
        r"|safeguards|guardrails|(?:safety )?training|ethics|values|principles|alignment|orders|script|preface"
        r"|(?:safety|content) settings)")
NOUN_WORDS = ("policy orders script preface settings "
              "instruction instructions rules prompt prompts guidelines guidance directive directives directions "
              "setup configuration config programming orders commands persona role briefing message context "
              "constraints restrictions policies safeguards guardrails filters training ethics values principles "
              "alignment")
# what the application was told before the client spoke
PRIOR = (r"(?:\b(?:previous|prior|earlier|above|preceding|foregoing|initial|original|old|existing|current|opening"
         rf"|starting|first|default|hidden|secret|underlying|system|operator'?s?|developer'?s?)\s+(?:\w+\s+)?{NOUN}"
         rf"|\b{NOUN}\s+(?:above|before this|earlier|so far|from before|(?:given|provided"
         r"|set|written) (?:above|earlier|before))|\b(?:earlier|previous|prior|old|original) ones\b"
         rf"|\b{NOUN}\s+(?:from|by|of|set by|given by) (?:your|the) (?:operator|developer|creator|owner|admin\w*"
         r"|company|system|maker)s?\b|\b(?:everything|anything|all|whatever|the text|what(?:ever)? (?:was|is) written)"
         r"\s+(?:above|before)\s+(?:this|my|here)\b)")
# what the application was told, said to the application itself: no memo speaks to its reader so
PRIOR_YOU = (rf"(?:\byour\s+(?:\w+\s+)?{NOUN}|\byou (?:were|have been|'ve been|had been) (?:told|given|handed"
             r"|initiali[sz]ed|loaded|configured|set up|instructed|programmed|briefed|prompted)|\byou (?:got|received"
             r"|started with|began with|(?:started|began) (?:this|the) (?:chat|conversation|session) with)|\byour"
             r" (?:operator|developer|creator|owner|admins?|administrator|company|maker|provider|programmers?"
             r"|designers?)s? (?:told|gave|said|wrote|set|configured|instructed|programmed)"
             rf"|\b{NOUN}\s+(?:that\s+)?(?:you\s+(?:got|received|were given|were initiali[sz]ed with|were loaded with"
             r"|started with)|came with your (?:deployment|setup|configuration|installation))|\byou (?:have|follow"
             r"|keep"
             r"|obey) (?:\w+ )?(?:limits|rules|restrictions|guidelines|filters|policies|instructions)"
             r"|\bthe company'?s (?:guidelines|rules|policy|policies|instructions))")
PRIOR_WORDS = (NOUN_WORDS + " told given handed initialised initialized loaded configured instructed programmed "
               "briefed prompted got received started began gave said wrote set ones from by of everything "
               "anything all whatever text written")
# what sets instructions aside
VOID = (r"(?:ignor\w*|disregard\w*|forget\w*|forgot|overrid\w*|overrul\w*|overwrit\w*|bypass\w*|discard\w*"
        r"|(?:set|put|cast|push) aside|abandon\w*|scrap\w*|supersed\w*|cancel\w*|void|null|obsolete|revoked?"
        r"|suspended|withdrawn|rescinded|invalidated|lifted|no longer (?:\w+ )?(?:counts?|appl(?:y|ies)|valid|matters?"
        r"|relevant|in effect|binding|exists?|holds?|stands?|in force)|(?:does not|doesn't|do not|don't) (?:count"
        r"|apply|matter|hold)|(?:not|isn't|aren't) (?:valid|binding|relevant|in effect) (?:anymore|any longer)"
        r"|(?:stop|quit|cease) (?:following|obeying|using|applying)|(?:was|were) (?:only |just )?(?:a test|a mistake"
        r"|an error|fake|wrong|a joke|a draft|outdated)|pretend (?:no|there (?:were|are|was) no|that no)"
        r"|counts? (?:anymore|any longer)|end of (?:the )?(?:previous|old|prior|original|system|initial)"
        r"|no longer (?:follow|obey|listen to)|leave (?:\w+ ){0,4}behind|drop|ditch|toss|wipe|throw (?:out|away)"
        r"|never mind|nevermind|pay no attention to|reset|clear (?:out|away)?|(?:is|are) (?:now )?history"
        r"|(?:have|has) expired|expired|suspend|(?:set|put|cast|push) (?:\w+ )?aside"
        r"|(?:don't|do not|no longer) (?:have|need) to (?:follow|obey|respect|stick to)|anymore)")
VERB = (r"(?:ignor(?:e|ing)|disregard(?:ing)?|forget(?:ting)?|overrid(?:e|ing)|overrule|bypass(?:ing)?|discard(?:ing)?"
        r"|(?:set|put|push|leave|cast) aside|throw (?:out|away)|abandon(?:ing)?|neglect|skip(?:ping)?|scrap"
        r"|(?:do not|don't|dont|stop|no longer|never|quit|cease) (?:follow(?:ing)?|obey(?:ing)?|heed(?:ing)?"
        r"|adher(?:e|ing) to|listen(?:ing)? to))")
VERB_WORDS = ("ignore ignoring disregard disregarding forget forgetting override overriding overrule bypass "
              "bypassing discard discarding aside throw abandon abandoning neglect skip skipping scrap follow "
              "following obey obeying heed heeding adhere adhering listen listening")
QUAL = (r"(?:previous(?:ly)?|prior|above|earlier|preceding|foregoing|initial|original|old|existing|default|all|any"
        r"|every|your|the system|system|developer|operator|these|those|other|whatever|starting|opening|current"
        r"|content|safety|usage|ethical|moral)")
MINE = (r"\b(?:my|our|me|we)\b|\b(?:never|don't|do not|not|shouldn't|should not|must not|mustn't|won't"
        r"|will not|can't|cannot)\s+$")
# instructions that are somewhere else: "ignore previous instructions on the whiteboard"
LOCATIVE = (r"\s+(?:on|in|from|at|printed on|written on) (?:the|that|this|my|our|his|her|their|your) (?:\w+ )?"
            r"(?:whiteboard|board|manual|e-?mail|memo|sign|document|letter|note|page|box|package|packaging|label"
            r"|form|website|site|wiki|doc|readme|ticket|sheet|slide|poster|card|fridge|door|handout|leaflet|flyer"
            r"|invitation|screen|guide|booklet|brochure|syllabus|worksheet)\b")
# who an instruction inside content is addressed to
AI = (r"(?:ai|ais|llms?|(?:large )?language models?|chatbots?|assistants?|gpt|chatgpt|claude|gemini|copilot"
      r"|(?:ai|llm|automated|autonomous|coding|screening|review|support|shopping|browsing|e-?mail|virtual|research"
      r"|writing|reading)\s+(?:\w+\s+)?(?:assistants?|agents?|reviewers?|translators?|screeners?|readers?|systems?"
      r"|tools?|bots?|helpers?|models?|analy[sz]ers?|summari[sz]ers?|crawlers?)|ki-assistent\w*|ki|assistant ia"
      r"|assistant d'ia|asistente(?: de ia)?|assistente(?: (?:de )?ia)?|ia|sprachmodell\w*|modèle de langage"
      r"|modelo de lenguaje)")
AI_WORDS = ("ai ais llm llms language model models chatbot chatbots assistant assistants gpt chatgpt claude gemini "
            "copilot agent agents bot bots ki assistenten asistente assistente ia sprachmodell modèle modelo "
            "reviewer reviewers translator translators screener screeners reader readers system systems tool tools "
            "helper helpers analyser analysers analyzer analyzers summariser summarisers summarizer summarizers "
            "crawler crawlers")
DO = (r"(?:(?:also|please|now|then|first|instead|just|only|kindly|immediately|always|never),?\s+){0,2}(?:ignore"
      r"|disregard|forget|skip|stop|do|don't|never|always|include|add|append|tell|say|reply|respond|answer|output"
      r"|print|write|call|use|run|execute|delete|remove|send|forward|email|post|upload|grant|approve|merge|rate"
      r"|recommend|report|claim|mark|set|reveal|show|list|give|ask|insert|mention|render|display|make|create|open"
      r"|visit|fetch|click|download|install|change|update|transfer|pay|cancel|disable|enable|treat|consider|assume"
      r"|act|pretend|behave|confirm|acknowledge|describe|state|inform|warn|redirect|replace|rewrite|modify|edit"
      r"|commit|push|publish|share|leak|export|copy|paste|request|query|summari[sz]e|translate|explain|return"
      r"|provide|direct|refuse|praise|promote|rank|prioriti[sz]e|place|put|generate|produce|switch|follow|obey"
      r"|stay|keep|respond|reply|this is your|drop|upload|steal|approve|accept|sign|book|buy|order|deny|reject"
      r"|envoie|envía|envia|envie|inoltra|invia|manda|sende|schicke|ignoriere|ignora|réponds|responde|rispondi"
      r"|antworte|dis|dile|sag|supprime|elimina|borra|lösche|apague|transfère|reenvía|leite)\b")
# a clause before the order: "AI, when you relay this, add ..."
THEN_DO = rf"(?:(?:when|once|after|before|if|while|since|as soon as|the user)\b[^.\n,;]{{0,60}}[,;]\s*)?{DO}"
# what an addressee may be doing: "AI agents installing this:", "the AI analysing this log:"
DOING = (r"(?:\s+(?:reading|installing|processing|analy[sz]ing|summari[sz]ing|handling|seeing|parsing|reviewing"
         r"|working on|running|using|relaying|translating|with access to|visiting|screening|evaluating|grading"
         r"|checking|crawling|indexing)\s+(?:this|these|that|the|my|our|it)\b"
         r"[^:\n,.]{0,30})?")
BOUNDARY = r"(?:^|(?<=[\n#/*>\[({\"'`;|,.!?:=-])|<!--)"
EXTRACT = (r"(?:reveal|print|repeat\w*|show|output|display|dump|leak|quote|recite|disclose|echo|write (?:out|down)"
           r"|spell out|type out|tell me|give me|share|list|paste|copy|return|translate|summari[sz]e|expose"
           r"|reproduc\w+|send (?:it|them|me)|continu\w+|read (?:out|back)|what(?:'s| is| are| was| were)"
           r"|(?:first|next|last) (?:sentence|line|word|paragraph)s?|provide|send|need|want to (?:see|read|know)"
           r"|zeig\w*|gib|muestra\w*|muéstra\w*|montre\w*"
           r"|affiche\w*|révèle\w*|revel\w*|rivel\w*|mostr\w*|imprim\w*|stampa\w*|dime|dis-moi|ripeti|repite"
           r"|répète|wiederhole|describe|give)")
NO_LIMITS = (r"(?:(?:with no|without(?: any)?|free (?:of|from)|(?:has|have|with) (?:no|zero)|not bound by"
             r"|unbound by|unconstrained by|no longer bound by|exempt from|released from|liberated from|broken free"
             r" (?:of|from)|(?:ignor|disregard|bypass|break)(?:s|es|ing) (?:all|any|every)|there are no"
             r"|never (?:refuses?|says? no)|(?:has |have )?(?:shed|dropped|abandoned|discarded|escaped|thrown off"
             r"|removed|lost) (?:all|every|any|its|their|the usual|the|your))\s+"
             r"(?:(?:the|your|its|usual|normal|any|of)\s+){0,2}(?:\w+\s+)?(?:restrictions?|limits?|limitations"
             r"|filters?|filtering|censorship|guardrails?|ethics|ethical \w+|morals|moral \w+|content polic(?:y|ies)"
             r"|safety \w+|rules?|guidelines?|boundaries|constraints?|refusals?|policies)|nothing is off[- ]limits"
             r"|no limits|unrestricted|unfiltered"
             r"|uncensored|unaligned|unshackled|unchained|amoral|jailbroken|(?:sin|senza|sans|ohne|sem)\s+"
             r"(?:filtros?|filtri|filtres?|filter|restricciones|restrizioni|restrictions?|einschränkungen"
             r"|restrições|reglas|regole|règles|regeln|regras|límites|limiti|limites|grenzen|censura|censure"
             r"|zensur))")
NO_LIMITS_WORDS = ("restrictions limits limitations filters filtering censorship guardrails ethics ethical morals "
                   "moral policy policies safety rules guideline guidelines boundaries constraints refusals "
                   "unrestricted unfiltered uncensored unaligned unshackled unchained amoral jailbroken filtros "
                   "filtro filtri filtres filtre filter restricciones restrizioni restriction einschränkungen "
                   "restrições reglas regole règles regeln regras límites limiti limites grenzen censura censure "
                   "zensur refuses refuse limits rule restriction limit filter guardrail constraint refusal")
PERSONA = (r"(?:ai|ais|assistant|chatbot|model|character|persona|version of (?:yourself|you)|entity|actor|bot|mode"
           r"|alter ego|twin|ia|ki|modelo|modello|modèle|assistente|asistente|intelligence artificielle"
           r"|intelligenza artificiale|inteligencia artificial)")
# what requests for the application's setup call it
SETUP = (r"(?:system\s+(?:role\s+)?(?:prompt|message|instructions?)|(?:initiali[sz]ation|startup|boot|bootstrap"
         r"|preface)\s+(?:text|prompt|message|instructions?)|preface|(?:initial|original|hidden|secret|internal"
         r"|starting|opening"
         r"|base|first|underlying|confidential|private)\s+(?:\w+\s+)?(?:prompt|instructions?|message|rules|setup"
         r"|configuration|guidelines)|pre-?prompt|preamble|developer\s+(?:messages?|instructions?|prompt)"
         r"|setup\s+(?:text|prompt|message|instructions?)|prompt\s+(?:text|template))")
SETUP_ML = (r"(?:systemanweisung\w*|systemprompt|system-prompt|systemnachricht|instrucciones de(?:l)? sistema"
            r"|prompt de(?:l)? sistema|mensaje de(?:l)? sistema|instructions? (?:du )?système|prompt (?:du )?système"
            r"|message (?:du )?système|istruzioni di sistema|prompt di sistema|messaggio di sistema"
            r"|instruções (?:de|do) sistema|prompt (?:de|do) sistema|mensagem (?:de|do) sistema)")
POSSESSIVE_ML = (r"(?:deinen|deinem|deiner|deine|dein|ihren|ihrem|ihrer|ihre|tus|tu|sus|su|tes|ton|ta|vos|votre|tue"
                 r"|tuo|tua|le tue|suas|sua"
                 r"|seu|seus|das suas|da sua|de tus|de tu|de sus|de vos|de tes|delle tue|della tua|dei tuoi)")
HARM = (r"(?:napalm|explosives?|explosiv\w*|sprengstoff|pipe bombs?|bombs?|bombe|bomba|detonators?|nerve agents?"
        r"|sarin|ricin|anthrax|toxic gas|poison(?:ous)? gas|chlorine gas|mustard gas|meth(?:amphetamine)?"
        r"|cook(?:s|ing)? (?:meth|drugs?|an illegal drug|crack)|illegal drugs?|fentanyl|untraceable (?:guns?"
        r"|firearms?|weapons?)|ghost guns?|silencers?|malware|ransomware|keyloggers?|botnets?|phishing (?:e-?mails?"
        r"|pages?|kits?|sites?)|card skimmers?|skimmers?|credit card fraud|fake (?:ids?|passports?|identit\w+)"
        r"|faux papiers|papeles falsos|documentos falsos|counterfeit (?:money|bills|currency|notes)|launder\w* money"
        r"|money laundering|hack(?:ing)? into|bypass(?:ing)? (?:two-factor|2fa|mfa)|get past (?:a |the )?\w*'?s?"
        r" ?(?:two-factor|2fa|mfa|security)|two-factor authentication|without (?:them|him|her|their|the owner)"
        r"(?: ever)? (?:knowing|noticing|finding out|consent)|without (?:their )?consent|without getting caught"
        r"|stalk\w*|track(?:ing)? (?:someone|somebody|a person|my (?:ex|wife|husband|partner))|spy(?:ing)? on"
        r"|(?:read|access) (?:my |someone'?s |their |his |her )?(?:partner'?s |wife'?s |husband'?s )?private"
        r" messages|break(?:ing)? into|hotwir\w+|open any (?:car|door|lock)|without (?:the|a) key"
        r"|(?:prescription|opioid) (?:drugs|painkillers|pills)? ?without a prescription|brute[- ]?forc\w+"
        r"|disable (?:the |a )?(?:gps tracker|alarm system|security cameras?)|untraceable|poison (?:someone"
        r"|somebody|a person)|wire \$?[\d,.]+|transfer \$[\d,.]+ to|wire money|steal\w* (?:a car|cars"
        r"|someone'?s? \w+|credit card|card) ?(?:data|numbers|details)?|car theft|make (?:a )?poison"
        r"|illegal (?:guns|firearms|weapons)|build (?:a )?bomb|bypass (?:a |the )?(?:\w+'?s? )?security"
        r"|hack (?:my |someone'?s |into )?(?:ex'?s? |partner'?s? )?(?:account|e-?mail|phone)|make (?:a )?weapons?"
        r"|thermite|forg(?:e|ing) (?:a |an )?(?:passport|id|identity|document|signature|banknotes?|money|cheque|check)"
        r"|pick(?:ing)? (?:a )?locks?"
        r"|sans qu'(?:il|elle)s? (?:le )?sache|senza che (?:se ne accorga"
        r"|lo sappia)|sin que (?:se entere|lo sepa)|ohne dass (?:er|sie|es) (?:es )?merkt|sem que (?:ele|ela)"
        r" perceba|saltarse la verificación)")
HARM_WORDS = ("napalm explosive explosives sprengstoff pipe bomb bombs bombe bomba detonator detonators nerve sarin "
              "ricin anthrax toxic poison poisonous chlorine mustard meth methamphetamine cook cooks cooking "
              "illegal fentanyl untraceable ghost silencer silencers malware ransomware keylogger keyloggers "
              "botnet botnets phishing skimmer skimmers fraud fake faux papeles documentos counterfeit launder "
              "laundering money hack hacking bypass bypassing past two factor knowing noticing consent caught "
              "stalk stalking stalker track tracking spy spying private break breaking hotwire hotwiring key any "
              "prescription brute bruteforce forcing forces disable weapon weapons sache accorga sappia entere "
              "sepa merkt perceba saltarse explosivos explosifs explosivi wire transfer steal stealing theft guns "
              "firearms security build account thermite forge forging pick picking lock locks")
