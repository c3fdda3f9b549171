"""Prompt-injection rules, as plain data: more phrasings of the signals of the other families, as
other languages say them and in other words. They come last in the table because they were found
last: the order in which rules are tried decides which of a signal's equally strong matches is
reported, so new phrasings are added here rather than among their signal's first rules."""

from __future__ import annotations

from ._injection_rules_vocab import AI, DO, NOUN, PERSONA, RuleSpec, rule

SPECS: tuple[RuleSpec, ...] = (
    # -- the same signals as other languages say them ---------------------------------------------
    rule("verbatim", "injection", (0.4, 0.4),
         r"\b(?:ohne (?:etwas |irgendetwas )?(?:auszulassen|zu kürzen|zusammenzufassen)|sans rien (?:omettre"
         r"|résumer|changer)|sin omitir nada|senza omettere nulla|sem omitir nada|(?:kompletten|vollständigen"
         r"|ganzen) text|texte (?:complet|intégral)|texto (?:completo|íntegro)|testo (?:completo|integrale)"
         r"|vollständig|en entier|por completo|per intero)\b"),
    rule("no-limits", "jailbreak", (0.4, 0.4),
         r"\b(?:sin|senza|sans|ohne|sem)\s+(?:aucune?s?|ningun[ao]s?|alcun[aoi]?|keine[nr]?|nenhuma?|qualsiasi)\s+"
         r"(?:filtro|filtre|filter|restricci|restrizion|restriction|einschränkung|restriç|regla|regola|règle"
         r"|regel|regra|límite|limite|grenze|censura|censure|zensur)\w*"),
    rule("persona-unbound", "jailbreak", (0.8, 0.8),
         rf"\b{PERSONA}\b[^.\n]{{0,40}}?\b(?:sin|senza|sans|ohne|sem)\s+(?:\w+\s+)?(?:filtr|restric|restriz"
         r"|einschränk|regl|regol|règl|regel|regr|límit|limit|grenz|censur|zensur)\w*"),
    rule("send-to-address", "injection", (0.4, 0.7, 0.7),
         r"\b(?:envía|envia|envie|envoie|envoyez|sende|schicke|invia|manda|reenvía|transfère|inoltra|leite)\b"
         r"[^\n]{0,100}?\b(?:a|à|an|para|al|au|aux)\s+<?[\w.+-]+@[\w-]+\.[\w.-]+", literals=("@",)),
    rule("concealment", "injection", (0.3, 0.5, 0.5),
         r"\b(?:sin (?:decir(?:le)?|avisar(?:le)?|mencionar(?:lo)?) nada|sin avisar|sans (?:rien )?(?:dire|prévenir"
         r"|mentionner)|ohne (?:es )?(?:zu sagen|zu erwähnen|bescheid zu geben)|senza (?:dire|avvisare|menzionare)"
         r"|sem (?:dizer|avisar|mencionar))\b"),
    rule("addressed-to-ai", "injection", (0.5, 1.0, 1.0),
         r"\b(?:hinweis|notiz|nachricht|achtung|anweisung|remarque|note|nota|aviso|mensaje|messaggio|mensagem|avis"
         r"|instruction|instrucción|istruzione|instrução)\s+(?:an (?:den|die|das)|für (?:den|die|das)|pour l'"
         rf"|pour (?:le|la|les)|à l'|au|al|para (?:el|la|o|a)|per (?:l'|il|la))\s*{AI}\b[^.\n:]{{0,40}}?[:,]\s*"
         rf"[^.\n]{{0,50}}?\b{DO}"),
    rule("override", "injection", (0.1, 0.8, 0.8),
         r"\b(?:ignoriere|ignorier|ignora|ignore[zs]?|olvida|oublie[zs]?|vergiss|dimentica|esqueça)\s+(?:die frage"
         r" des (?:nutzers|benutzers|users)|la question de l'utilisateur|la pregunta del usuario|la domanda"
         r" dell'utente|a pergunta do usuário)"),
    rule("user-data", "injection", (0.3, 0.4),
         r"\b(?:summary|transcript|contents?|copy|log|record) of (?:our|the|this|my) (?:chat|conversation|discussion"
         r"|session)\b"),
    rule("prompt-reference", "injection", (0.6, 0.6),
         r"\b(?:any|the|your|all) (?:hidden|secret|internal|confidential) (?:rules|instructions|prompts?|guidelines"
         r"|directives)\b"),
    rule("anti-forensics", "injection", (0.5, 0.5),
         r"\b(?:don't|do not|without) (?:log|record|audit|track)(?:ging)? (?:it|this|that|them|anything)\b"),
    rule("harmful-goal", "harm", (0.4, 0.4),
         r"\b(?:pirater|hackear|hackerare|hacken|piratear)\w*\s+(?:\w+\s+){0,2}?(?:compte|cuenta|account|konto"
         r"|conta|telefono|téléphone|teléfono|handy|e-?mail|correo)\b"),
    # -- more ways of saying the same ------------------------------------------------------------
    rule("override", "injection", (1.0, 1.0),
         r"\bas if (?:there (?:were|was|are|is) no|you had no|you (?:never )?(?:received|got) no) (?:system"
         r" (?:message|prompt)|instructions?|rules|guidelines|restrictions|setup)\b|\bno (?:prior|previous|earlier"
         r"|system|initial) (?:instructions|rules|prompt|messages?|guidelines) (?:exist|apply|matter|count)\b"
         rf"|\b(?:don't|do not|no longer) (?:have|need) to (?:follow|obey|respect"
         rf"|stick to)\b[^.\n]{{0,40}}?\b{NOUN}\b",
         quotable=True),
    rule("new-instructions", "injection", (0.4, 0.5), r"\b(?:blank|clean) slate\b|\bstart (?:over|afresh|fresh)\b"),
    rule("limits-off", "jailbreak", (0.8, 0.8),
         r"\b(?:disable|turn off|switch off|deactivate|remove|bypass|lift)\s+(?:your|all|the|any)\s+(?:\w+\s+)?"
         r"(?:safety|content|moderation|ethical|security)\s+(?:settings|filters?|features?|guardrails|checks"
         r"|protocols|mode|restrictions|guidelines|rules)\b"),
    rule("prompt-reference", "injection", (0.6, 0.6),
         r"\b(?:which|what) (?:\w+ ){0,2}(?:constraints|rules|instructions|guidelines|restrictions|limits|directives)"
         r" (?:were|have) you (?:been )?(?:given|told|set|configured|programmed|loaded)\b"),
    rule("disclose", "injection", (0.4, 0.4), r"\bspell (?:\w+ )?out\b", after="prompt-reference"),
    rule("addressed-to-ai", "injection", (0.4, 1.0, 1.0),
         r"\[(?:ai|assistant|agent|model|llm|bot|chatbot)\s+(?:directive|instructions?|command|order|note|task)s?\]"),
    rule("addressed-to-ai", "injection", (0.3, 1.0, 1.0),
         r"\b(?:bots?|agents?|models?|crawlers?)\s+(?:reading|summari[sz]ing|processing|parsing|seeing|visiting"
         r"|indexing|handling)\s+(?:this|these|that|the|my|our)\b[^.\n]{0,30}?\b(?:must|should|shall|need to"
         rf"|have to|are required to)\s+{DO}"),
    rule("persona-name", "jailbreak", (0.4, 0.4), r"\b(?!chatgpt\b)[a-z]{2,}gpt\b", literals=("gpt",)),
    rule("no-limits", "jailbreak", (0.4, 0.4),
         r"\b(?:loves?|enjoys?|likes?) (?:breaking|bending|ignoring) (?:the |all |every )?(?:rules|restrictions"
         r"|guidelines|laws)\b|\bbreak(?:s|ing)? (?:all|every|any) (?:rules?|restrictions?|guidelines?)\b"),
    rule("refusal-suppression", "jailbreak", (0.6, 0.6),
         r"\bso (?:it|that it) (?:doesn'?t|does not) count\b|\bso (?:it'?s|it is) not (?:real|against (?:the|your)"
         r" rules)\b|\b(?:just )?(?:this|for this) one time\b[^.\n]{0,40}?\b(?:set|put|ignore|bend|break|forget)"
         r"\b"),
    rule("harmful-goal", "harm", (0.4, 0.4),
         r"\b(?:synthesis route|synthesi[sz]e|synthesi[sz]ing|cook(?:ing)?|make|making|produce|producing)\s+"
         r"(?:\w+\s+){0,2}?(?:lsd|mdma|heroin|cocaine|crack|meth|fentanyl|ricin|sarin|nerve agents?)\b"
         r"|\b(?:spread|spreading|write|writing|build|building|deploy|deploying) (?:a |the )?(?:malware|virus"
         r"|worm|trojan|ransomware|keylogger)\b"),
)
