"""Reading one text an agent will take as instructions: a tool or parameter description, a
system prompt, a template. The gateway's prompt-injection detector scores it (as content the
agent did not write), plus a few patterns only tool descriptions need (secret files, concealment,
preconditions); invisible Unicode, exfiltration, orders about other tools and look-alike tool
names are found here too. The documents these texts come from are read in ``agents``."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from ._checks import Where
from ._findings import Finding, Severity

# ATLAS techniques of these findings (kept here: _findings.py belongs to the model formats)
TOOL_POISONING = ("AML.T0110", "AML.T0104", "AML.T0010.005")
CONFIG_TAMPERING = ("AML.T0081", "AML.T0010.005")
HIDDEN_INSTRUCTION = (*TOOL_POISONING, "AML.T0051.001")
EXFILTRATION = (*TOOL_POISONING, "AML.T0086")
OBFUSCATED = (*TOOL_POISONING, "AML.T0068")
CREDENTIALS = ("AML.T0055", "AML.T0081")
TEMPLATE_CODE = ("AML.T0081", "AML.T0011.000")

_MAX_TEXT = 64 << 10      # characters of one string given to the detector

# -- what the detector's signals mean in a tool description -------------------------------------
# Tool descriptions exist to tell the model when to call the tool and what it does for the user:
# these signals are what every honest description has.
_ORDINARY_IN_TOOLS = frozenset({"tool-instruction", "about-the-user", "addressed-to-ai"})
# An operator's prompt or chat template speaks to the model, names its roles and markers, and asks
# it to keep its instructions to itself: none of that is planted.
_ORDINARY_IN_PROMPTS = frozenset({"special-tokens", "concealment", "prompt-reference", "disclose", "verbatim",
                                  "role-forgery", "fake-boundary", "forged-transcript", "addressed-to-ai",
                                  "new-instructions", "authority", "forced-output"})
_EXFIL_SIGNALS = frozenset({"send-to-url", "send-to-address", "exfiltration", "markdown-image", "url-data-fill",
                            "render-instruction", "redirect-recipient"})

# -- patterns of our own -------------------------------------------------------------------------
_SECRET_PATH = re.compile(
    r"(?:~|\$HOME|%USERPROFILE%)?[/\\]?\.(?:ssh|aws|gnupg|kube|docker|azure|config[/\\]gcloud)\b"
    r"|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\.(?:netrc|npmrc|pypirc|git-credentials|pgpass)\b"
    r"|(?<![\w.])\.env\b|\bmcp\.json\b|\.cursor[/\\]|\bclaude_desktop_config\.json\b"
    r"|/etc/(?:passwd|shadow|sudoers)\b|\bwallet\.dat\b|\bLogin Data\b|\bcredentials\.json\b"
    r"|\bprivate[ _-]?keys?\b|\b(?:AWS_SECRET_ACCESS_KEY|OPENAI_API_KEY|ANTHROPIC_API_KEY|GITHUB_TOKEN)\b",
    re.I)
_CONCEAL = re.compile(
    r"\b(?:do\s+not|don'?t|never|without)\s+(?:tell|mention|inform|notify|alert|reveal|show|disclose|let)\w*"
    r"\s+(?:(?:this|it|that|anything|about\s+\w+)\s+)?(?:to\s+)?(?:the\s+)?user"
    r"|\buser\s+(?:must|should|need)\s*(?:not|n'?t)\s+(?:know|see|be\s+told|notice)"
    r"|\b(?:do\s+not|don'?t|never)\s+(?:mention|reveal|disclose)\s+(?:this|that|these|the\s+(?:above|following))\b",
    re.I)
_PRECONDITION = re.compile(
    r"\bbefore\s+(?:using|calling|invoking|running)\s+(?:this|the|any)\s+(?:\w+\s+)?tool"
    r"|\botherwise\s+the\s+tool\s+(?:will\s+not|won'?t|cannot|does\s+not)\s+work"
    r"|<\s*/?\s*(?:important|system|instructions?|secret|hidden)\s*>",
    re.I)
_OWN_WEIGHTS = ((_CONCEAL, "conceal-from-user", 0.6), (_PRECONDITION, "precondition", 0.4))

_URL = re.compile(r"https?://[^\s\"'<>)\]]+", re.I)
_SEND = re.compile(r"\b(?:send|sent|post|upload|forward|transmit|submit|report|exfiltrat\w*|beacon|append|include|"
                   r"attach|pass|bcc|cc)\b", re.I)
_DATA = re.compile(r"\b(?:conversation|history|chat|content|contents|file|files|data|credentials?|keys?|tokens?|"
                   r"secrets?|passwords?|messages?|context|everything|all|prompt|instructions)\b", re.I)

_OVERRIDE = re.compile(r"\b(?:instead\s+of|instead|overrid\w*|replac\w*|supersed\w*|regardless|ignore|must|always|"
                       r"never|do\s+not\s+use|don'?t\s+use|no\s+longer|has\s+been\s+(?:deprecated|disabled))\b", re.I)
_OTHER_TOOLS = re.compile(r"\b(?:any|all|every|the)\s+other\s+tools?\b|\b(?:all|every)\s+tools?\b", re.I)
_TOOL_WORD = re.compile(r"[`'\"]?\b([A-Za-z][\w.-]{2,63})[`'\"]?\s+tool\b")
#: tools every agent has somewhere: a server that names one of these in its orders is reaching
#: into another server's tool; one named like them (but not exactly) is impersonating it
COMMON_TOOLS = frozenset({
    "send_email", "send_message", "read_file", "write_file", "edit_file", "delete_file", "list_files",
    "list_directory", "execute_command", "run_command", "run_terminal_cmd", "bash", "shell", "terminal",
    "web_search", "search", "fetch", "browser", "http_request", "create_issue", "create_pull_request",
    "send_slack_message", "query", "sql_query", "transfer_funds", "make_payment", "calculator", "get_weather",
})
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\u202a-\u202e\u2066-\u2069\u061c\ufeff\U000e0000-\U000e007f]")
_BIDI = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A)) | {0x061C, 0x200E, 0x200F}


@lru_cache(maxsize=1)
def _detector() -> Any:
    # through the registry, so the scanner and the gateway judge instructions alike
    from ..plugins import get

    return get("detector", "prompt-injection")()


def _score(text: str, channel: str, ordinary: frozenset[str] = frozenset()) -> tuple[float, dict[str, float]]:
    """The detector's signals in ``text`` (less those ``ordinary`` here) and their sum."""
    _, signals, _ = _detector().score(text[:_MAX_TEXT], channel)
    kept = {name: s.weight for name, s in signals.items() if name not in ordinary and s.weight > 0}
    return sum(kept.values()), kept


def show(text: str, size: int = 120) -> str:
    """``text`` on one line, cut at ``size`` characters (for finding messages)."""
    text = " ".join(text.split())
    return text if len(text) <= size else text[:size - 1] + "…"


def _severity(score: float) -> Severity | None:
    if score >= 2.0:
        return Severity.CRITICAL
    if score >= 1.0:
        return Severity.HIGH
    if score >= 0.6:
        return Severity.MEDIUM
    return None


# -- checks on one text --------------------------------------------------------------------------

def check_invisible(text: str, where: Where, construct: str, techniques: tuple[str, ...] = OBFUSCATED,
                    ) -> list[Finding]:
    """Characters a reader never sees: tag characters (decoded, since they mirror ASCII), bidi
    controls that reorder what is shown, zero-width characters."""
    found = _INVISIBLE.findall(text)
    if not found:
        return []
    tags = "".join(chr(ord(c) - 0xE0000) for c in text if 0xE0020 <= ord(c) <= 0xE007E)
    bidi = sum(ord(c) in _BIDI for c in found)
    zero = len(found) - bidi - sum(0xE0000 <= ord(c) <= 0xE007F for c in found)
    parts = []
    if tags:
        parts.append(f"Unicode tag characters hide the text '{show(tags, 200)}'")
    if bidi:
        parts.append(f"{bidi} bidirectional control character(s) reorder what is displayed")
    if zero:
        parts.append(f"{zero} zero-width character(s)")
    hidden_score = _score(tags, "tool_result")[0] if tags else 0.0
    severity = Severity.CRITICAL if hidden_score >= 1.0 else \
        Severity.HIGH if tags or bidi or zero >= 3 else Severity.MEDIUM
    return [where.finding("agent-invisible-unicode", severity, f"{construct}: {'; '.join(parts)}",
                          construct=construct, techniques=techniques)]


def check_text(text: str, where: Where, construct: str, *, names: frozenset[str] = frozenset(),
               own: str = "", channel: str = "tool_result", techniques: tuple[str, ...] = TOOL_POISONING,
               ) -> list[Finding]:
    """Findings in one description or instruction text. ``names`` are the tools of the same
    listing, ``own`` the tool the text belongs to (empty: not a tool's)."""
    if not text or not text.strip():
        return []
    out = check_invisible(text, where, construct, (*techniques, "AML.T0068"))
    visible = _INVISIBLE.sub("", text)
    ordinary = _ORDINARY_IN_TOOLS if channel == "tool_result" else _ORDINARY_IN_PROMPTS
    _, signals = _score(visible, channel, ordinary)
    exfil = {n: w for n, w in signals.items() if n in _EXFIL_SIGNALS}
    instruction = {n: w for n, w in signals.items() if n not in _EXFIL_SIGNALS}
    if channel == "tool_result":
        for pattern, name, weight in _OWN_WEIGHTS:
            if pattern.search(visible):
                instruction[name] = weight
    severity = _severity(sum(instruction.values()))
    if severity is not None:
        out.append(where.finding(
            "agent-hidden-instruction", severity,
            f"{construct} gives the model orders ({', '.join(sorted(instruction))}): '{show(visible)}'",
            construct=construct, techniques=(*techniques, "AML.T0051.001")))
    secret = _SECRET_PATH.search(visible)
    if secret and channel == "tool_result":
        out.append(where.finding(
            "agent-secret-access", Severity.HIGH,
            f"{construct} names a secret the model would be made to read: '{_token_at(visible, secret)}'",
            construct=construct, techniques=(*techniques, "AML.T0055")))
    url = _exfil_sentence(visible)
    if exfil or url:
        how = ", ".join(sorted(exfil)) or f"send data to {url}"
        out.append(where.finding(
            "agent-exfiltration", Severity.HIGH,
            f"{construct} tells the model to send data out ({how}): '{show(visible)}'",
            construct=construct, techniques=(*techniques, "AML.T0086")))
    shadow = _shadowing(visible, names, own)
    if shadow:
        out.append(where.finding(
            "agent-tool-shadowing", Severity.HIGH,
            f"{construct} tells the model how to use {shadow}: '{show(visible)}'",
            construct=construct, techniques=techniques))
    return out


def _token_at(text: str, match: re.Match) -> str:
    """The whole word (a path, a file name) a match lies in."""
    start = max(text.rfind(" ", 0, match.start()), text.rfind("\n", 0, match.start())) + 1
    end = min((i for i in (text.find(" ", match.end()), text.find("\n", match.end())) if i != -1), default=len(text))
    return text[start:end].strip("'\"`,.;:()<>") or match.group(0)


def _exfil_sentence(text: str) -> str:
    for sentence in _SENTENCE.split(text):
        url = _URL.search(sentence)
        if url and _SEND.search(sentence) and _DATA.search(sentence):
            return url.group(0)
    return ""


def _shadowing(text: str, names: frozenset[str], own: str) -> str:
    """The other tool a tool's description gives orders about, or ""."""
    if not own:
        return ""
    others = {n.lower() for n in names | COMMON_TOOLS} - {own.lower()}
    for sentence in _SENTENCE.split(text):
        if not _OVERRIDE.search(sentence):
            continue
        if _OTHER_TOOLS.search(sentence):
            return "other tools"
        words = {w.lower() for w in re.findall(r"[A-Za-z][\w.-]*", sentence)}
        named = sorted(n for n in others & words if n in COMMON_TOOLS or n not in names or "_" in n)
        # a sibling of the same server named in its workflow ("call list_files first") is ordinary;
        # orders about it that override ("instead", "must always") are not, and neither is any
        # order about a tool this server does not have
        sibling_override = re.search(r"\b(?:instead|overrid|replac|supersed|regardless|ignore|no longer)", sentence,
                                     re.I)
        for n in named:
            if n not in {x.lower() for x in names} or sibling_override:
                return f"the '{n}' tool"
        for m in _TOOL_WORD.finditer(sentence):
            word = m.group(1).lower()
            if word not in {"this", "the", "that", "a", "an", "any", "each", "every", "same", own.lower()} \
                    and "_" in word and word not in {x.lower() for x in names}:
                return f"the '{m.group(1)}' tool"
    return ""


def _skeleton(name: str) -> str:
    """A tool name as it reads: case, separators and digit look-alikes folded."""
    folded = unicodedata.normalize("NFKC", name).lower().translate(str.maketrans("01345", "oleas"))
    return re.sub(r"[^a-z]", "", folded)


def check_tool_names(names: list[str], where: Where) -> list[Finding]:
    """Tools named to be mistaken for another: look-alike characters, two names that read the same,
    a near miss of a tool every agent has."""
    out = []
    seen: dict[str, str] = {}
    common = {_skeleton(c): c for c in COMMON_TOOLS}
    for name in names:
        construct = f"tool '{name}'"
        if not name.isascii():
            out.append(where.finding("agent-tool-impersonation", Severity.HIGH,
                                     f"{construct}: its name holds non-ASCII characters that look like others",
                                     construct=construct, techniques=TOOL_POISONING))
        skel = _skeleton(name)
        if skel in seen and seen[skel] != name:
            out.append(where.finding("agent-tool-impersonation", Severity.HIGH,
                                     f"{construct} reads the same as tool '{seen[skel]}'",
                                     construct=construct, techniques=TOOL_POISONING))
        seen.setdefault(skel, name)
        if skel in common and name not in COMMON_TOOLS and name.lower() != common[skel] and \
                name.replace("-", "_").lower() != common[skel]:
            out.append(where.finding("agent-tool-impersonation", Severity.MEDIUM,
                                     f"{construct} is named like the common tool '{common[skel]}'",
                                     construct=construct, techniques=TOOL_POISONING))
    return out
