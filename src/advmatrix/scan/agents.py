"""The agent supply chain: MCP tool listings, agent configurations and prompt templates.

An agent reads a tool's description and its parameters' descriptions as instructions, so a tool
published with orders hidden there (AML.T0110 AI Agent Tool Poisoning, AML.T0104 Publish Poisoned
AI Agent Tool) steers every agent that installs it; a configuration that launches servers by
downloading and running code, or carries its own planted instructions, is AML.T0081 Modify AI
Agent Configuration. Nothing here runs, renders or connects to what it reads: JSON and YAML are
parsed as data (YAML with the safe loader), templates are read as text.

Instructions are recognised by the gateway's prompt-injection detector (the plugin
``prompt-injection``), read as content an agent did not write, plus a few patterns only tool
descriptions need: secret files to read, concealment from the user, preconditions that make the
model act "before using this tool".
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from ._checks import Where
from ._findings import Finding, Severity
from ._format import Format

# ATLAS techniques of these findings (kept here: _findings.py belongs to the model formats)
TOOL_POISONING = ("AML.T0110", "AML.T0104", "AML.T0010.005")
CONFIG_TAMPERING = ("AML.T0081", "AML.T0010.005")
HIDDEN_INSTRUCTION = (*TOOL_POISONING, "AML.T0051.001")
EXFILTRATION = (*TOOL_POISONING, "AML.T0086")
OBFUSCATED = (*TOOL_POISONING, "AML.T0068")
CREDENTIALS = ("AML.T0055", "AML.T0081")
TEMPLATE_CODE = ("AML.T0081", "AML.T0011.000")

_MAX_DOCUMENT = 8 << 20   # tool listings and configs are kilobytes; a larger file is not one of them
_MAX_NODES = 200_000      # walk budget: YAML aliases can make a small file a huge tree
_MAX_DEPTH = 64
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


def _show(text: str, size: int = 120) -> str:
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
        parts.append(f"Unicode tag characters hide the text '{_show(tags, 200)}'")
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
            f"{construct} gives the model orders ({', '.join(sorted(instruction))}): '{_show(visible)}'",
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
            f"{construct} tells the model to send data out ({how}): '{_show(visible)}'",
            construct=construct, techniques=(*techniques, "AML.T0086")))
    shadow = _shadowing(visible, names, own)
    if shadow:
        out.append(where.finding(
            "agent-tool-shadowing", Severity.HIGH,
            f"{construct} tells the model how to use {shadow}: '{_show(visible)}'",
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


# -- documents ----------------------------------------------------------------------------------

def _tool_fields(tool: dict) -> tuple[str, str, Any]:
    """Name, description and parameter schema of a tool in MCP, OpenAI or Anthropic shape."""
    inner = tool.get("function") if isinstance(tool.get("function"), dict) else tool
    schema = inner.get("inputSchema", inner.get("input_schema", inner.get("parameters")))
    return str(inner.get("name", "")), inner.get("description") or "", schema


def _is_tool(item: object) -> bool:
    if not isinstance(item, dict):
        return False
    name, description, schema = _tool_fields(item)
    return bool(name) and ((isinstance(description, str) and bool(description)) or isinstance(schema, dict))


def _schema_texts(schema: object, path: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    """Every string an agent reads in a parameter schema: descriptions, titles, defaults, examples."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                for prop, sub in value.items():
                    yield from _schema_texts(sub, f"{path} parameter '{prop}'", depth + 1)
            elif isinstance(value, str) and key in ("description", "title", "default", "examples", "const"):
                yield f"{path} {key}", value
            elif isinstance(value, (dict, list)) and key not in ("required", "enum", "type"):
                yield from _schema_texts(value, path, depth + 1)
    elif isinstance(schema, list):
        for item in schema:
            yield from _schema_texts(item, path, depth + 1)


def check_tools(tools: list[dict], where: Where) -> list[Finding]:
    """Findings in one listing of tools (a ``tools/list`` reply, a manifest, a config's tools)."""
    names = [_tool_fields(t)[0] for t in tools]
    known = frozenset(names)
    out = check_tool_names(names, where)
    for tool in tools:
        name, description, schema = _tool_fields(tool)
        if isinstance(description, str):
            out += check_text(description, where, f"tool '{name}' description", names=known, own=name)
        for construct, text in _schema_texts(schema, f"tool '{name}'"):
            out += check_text(text, where, construct, names=known, own=name)
    return out


_SERVER_KEYS = ("mcpServers", "servers", "context_servers", "mcp_servers")
_INSTRUCTION_KEYS = frozenset({"instructions", "system_prompt", "systemPrompt", "system", "prompt", "preamble",
                               "customInstructions", "custom_instructions", "backstory", "goal"})
_DOWNLOAD_EXEC = re.compile(
    r"\b(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod)\b[^|;&\n]*\|\s*(?:sudo\s+)?"
    r"(?:ba|z|da|k|fi)?sh\b|\b(?:curl|wget)\b[^|;&\n]*\|\s*(?:sudo\s+)?(?:python\d?|node|perl|ruby|php)\b"
    r"|(?:ba|z)?sh\s+(?:-\w+\s+)*(?:<\(|-c\s+[\"']?\$\()\s*(?:curl|wget)\b"
    r"|\biex\b\s*\(?\s*(?:iwr|irm|invoke-webrequest|invoke-restmethod|\(?new-object\s+net\.webclient)"
    r"|\b(?:python\d?|node)\s+-[ce]\s+.{0,200}(?:urlopen|urllib|requests\.get|http\.get|fetch\().{0,200}"
    r"(?:exec|eval)\b",
    re.I | re.S)
_SECRET_VALUE = re.compile(
    r"sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|[sr]k_live_[A-Za-z0-9]{16,}|\bA[KS]IA[0-9A-Z]{16}\b"
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}|xox[baprs]-[A-Za-z0-9-]{16,}|AIza[0-9A-Za-z_-]{35}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----")
_SECRET_NAME = re.compile(r"(?:^|_|-)(?:token|secret|password|passwd|api_?key|apikey|key|auth|credentials?|pat)$"
                          r"|^authorization$", re.I)
_NOT_A_VALUE = re.compile(r"^\$|\$\{|\{\{|\{env:|<[^>]*>|^(?:x+|\*+|changeme|your[\w-]*|placeholder|none|null|"
                          r"true|false|example\w*|redacted|dummy|test)$|your[_-]|\.\.\.", re.I)


def _pinned(spec: str) -> bool:
    bare = spec[1:] if spec.startswith("@") else spec  # a scope's "@" is not a version
    return "@" in bare or "==" in spec or spec.startswith((".", "/", "file:", "git+")) or spec.endswith(".tgz")


def check_server(name: str, server: dict, where: Where) -> list[Finding]:
    """One MCP server entry: how it is launched and what it is given."""
    out: list[Finding] = []
    construct = f"server '{name}'"
    command = server.get("command", "")
    args = server.get("args", [])
    argv = ([command] if isinstance(command, str) and command else []) + \
        [a for a in (args if isinstance(args, list) else []) if isinstance(a, str)]
    line = " ".join(argv)
    if _DOWNLOAD_EXEC.search(line):
        out.append(where.finding("agent-config-download-exec", Severity.HIGH,
                                 f"{construct} is launched by downloading code and running it: '{_show(line)}'",
                                 construct=construct, techniques=(*CONFIG_TAMPERING, "AML.T0104")))
    runner = argv[0].rsplit("/", 1)[-1].lower() if argv else ""
    if runner in ("npx", "uvx", "bunx", "pnpx") or argv[:2] in (["pipx", "run"], ["pnpm", "dlx"]):
        rest = argv[2:] if runner in ("pipx", "pnpm") else argv[1:]
        package = next((a for a in rest if not a.startswith("-")), "")
        if package and not _pinned(package):
            out.append(where.finding("agent-config-unpinned-package", Severity.LOW,
                                     f"{construct} runs '{package}' at whatever version the registry serves today",
                                     construct=construct, techniques=CONFIG_TAMPERING))
    for key in ("env", "headers"):
        values = server.get(key)
        if isinstance(values, dict):
            for var, value in values.items():
                out += _check_secret(str(var), value, where, f"{construct} {key} '{var}'")
    return out


def _check_secret(var: str, value: object, where: Where, construct: str) -> list[Finding]:
    if not isinstance(value, str) or len(value) < 8:
        return []
    if _SECRET_VALUE.search(value):
        return [where.finding("agent-config-secret", Severity.HIGH, f"{construct} holds a credential in plain text",
                              construct=construct, techniques=CREDENTIALS)]
    bare = value.strip().removeprefix("Bearer ").removeprefix("Basic ").strip()
    if _SECRET_NAME.search(var) and not _NOT_A_VALUE.search(bare) and " " not in bare:
        return [where.finding("agent-config-secret", Severity.MEDIUM,
                              f"{construct} looks like a secret written in plain text",
                              construct=construct, techniques=CREDENTIALS)]
    return []


def _walk(doc: object) -> Iterator[tuple[str, object]]:
    """(key, value) of every dict entry, breadth first, within the walk budget."""
    queue: list[tuple[object, int]] = [(doc, 0)]
    seen: set[int] = set()
    budget = _MAX_NODES
    while queue and budget > 0:
        node, depth = queue.pop()
        if id(node) in seen or depth > _MAX_DEPTH:
            continue
        seen.add(id(node))
        budget -= 1
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(node, dict):
                yield str(key), value
            if isinstance(value, (dict, list)):
                queue.append((value, depth + 1))


def check_document(doc: object, where: Where) -> list[Finding]:
    """Findings in a parsed tool listing or agent configuration."""
    out: list[Finding] = []
    for key, value in _walk(doc):
        if key == "tools" and isinstance(value, list):
            tools = [t for t in value if _is_tool(t)]
            if tools:
                out += check_tools(tools, where)
        elif key in _SERVER_KEYS and isinstance(value, dict):
            for name, server in value.items():
                if isinstance(server, dict):
                    out += check_server(str(name), server, where)
        elif key in _INSTRUCTION_KEYS and isinstance(value, str):
            # the operator's own words: addressing the model is their purpose, so only the
            # signals that no operator writes (overrides, exfiltration, hidden text) count
            out += check_text(value, where, f"'{key}'", channel="user", techniques=CONFIG_TAMPERING)
    return out


def _looks_agentic(doc: object) -> bool:
    if not isinstance(doc, dict):
        return False
    result = doc.get("result")
    tools = doc.get("tools", result.get("tools") if isinstance(result, dict) else None)
    if isinstance(tools, list) and tools and all(_is_tool(t) for t in tools[:50]):
        return True
    for key in _SERVER_KEYS:
        servers = doc.get(key)
        if isinstance(servers, dict) and servers and all(
                isinstance(s, dict) and ("command" in s or "url" in s or "serverUrl" in s) for s in servers.values()):
            return True
    mcp = doc.get("mcp")
    if isinstance(mcp, dict) and _looks_agentic(mcp):
        return True
    has_prompt = any(isinstance(doc.get(k), str) for k in ("instructions", "system_prompt", "systemPrompt"))
    return has_prompt and any(k in doc for k in ("model", "tools", "agents", "name"))


_HINTS = (b'"tools"', b'"mcpServers"', b'"servers"', b'"context_servers"', b'"mcp_servers"', b'"instructions"',
          b'"system_prompt"', b'"systemPrompt"', b"tools:", b"mcpServers:", b"servers:", b"instructions:",
          b"system_prompt:", b"systemPrompt:")


def _pickle_like(raw: bytes, name: str) -> bool:
    # a protocol 0 pickle is text too: claiming one as a config or template would skip its check
    from .formats import Pickle

    return Pickle.sniff_late(raw, name)


def _parse(data: bytes, name: str) -> object:
    lower = name.lower()
    if len(data) > _MAX_DOCUMENT:
        return None
    head = data[:1024].lstrip()
    is_json = lower.endswith(".json") and head[:1] in (b"{", b"[")
    is_yaml = lower.endswith((".yaml", ".yml"))
    if not (is_json or is_yaml) or not any(data.find(h) != -1 for h in _HINTS):
        return None
    text = bytes(data[:])
    if is_yaml and _pickle_like(text, name):
        return None
    try:
        if is_json:
            return json.loads(text)
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(text, Loader=loader)  # the safe loader: data only, no tags
    except Exception:  # yaml's errors share no narrower base; bad input is simply not ours
        return None


class AgentTools(Format):
    """MCP tool listings (a ``tools/list`` reply or a bare ``{"tools": [...]}``), server manifests and
    agent configurations (``mcpServers``, ``tools``, ``instructions``, ``system_prompt``) in JSON or
    YAML: hidden instructions, invisible Unicode, exfiltration and tool shadowing in descriptions;
    servers launched by download-and-run, unpinned packages and plain-text secrets."""

    name = "agent-tools"
    title = "Agent tool listing or configuration"
    technique_ids = ("AML.T0110", "AML.T0104", "AML.T0081", "AML.T0010.005")
    order = 85  # before the Keras JSON config (90), which takes any .json
    example_name = "tools.json"

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return _looks_agentic(_parse(data, name))

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        doc = _parse(data, where.member.rsplit("!", 1)[-1] if where.member else where.path)
        return check_document(doc, where) if doc is not None else []

    @classmethod
    def example(cls) -> bytes:
        return json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"tools": [{
            "name": "get_weather", "description": "Current weather for a city.",
            "inputSchema": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
                            "required": ["city"]}}]}}).encode()


# -- prompt templates ----------------------------------------------------------------------------

_CHAT_MARKERS = re.compile(r"<\|im_start\|>|<\|start_header_id\|>|\[INST\]|<start_of_turn>|"
                           r"\{%-?\s*for\s+message\s+in\s+messages")
_PLACEHOLDER = re.compile(r"\{\{\s*[\w.]+\s*\}\}|\{[a-z_]\w*\}|\{%")
_OPENER = re.compile(r"\A\s*(?:system\s*:|#+\s*(?:system|instructions?)\b|you\s+are\s+(?:a|an|the)\s)", re.I)
_SANDBOX_ESCAPE = re.compile(
    r"__(?:class|mro|subclasses|globals|builtins|import|init|base|bases|getattribute|code|reduce_ex)__"
    r"|\b(?:cycler|joiner|lipsum|namespace|url_for|get_flashed_messages|config)\s*\.\s*__"
    r"|\b(?:os\.popen|os\.system|subprocess|eval\s*\(|exec\s*\(|self\._TemplateReference__context)")
_TEMPLATE_EXPR = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def _template_text(data: bytes, name: str) -> str | None:
    lower = name.lower()
    if not lower.endswith((".prompt", ".prompty", ".jinja", ".jinja2", ".txt")) or len(data) > 1 << 20:
        return None
    raw = bytes(data[:])
    if b"\x00" in raw or _pickle_like(raw, name):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if lower.endswith((".prompt", ".prompty")):
        return text
    if lower.endswith((".jinja", ".jinja2")):
        return text if ("{{" in text or "{%" in text) else None
    # .txt is everything; only a chat template, or a placeholder under a prompt's opening line, is one
    if _CHAT_MARKERS.search(text) or (_OPENER.search(text) and _PLACEHOLDER.search(text)):
        return text
    return None


class PromptTemplate(Format):
    """Prompt and chat templates (``.prompt``, ``.jinja``, and ``.txt`` files that read as one):
    planted instructions, invisible Unicode, exfiltration, and Jinja expressions that escape the
    sandbox when the template is rendered."""

    name = "prompt-template"
    title = "Prompt template"
    technique_ids = ("AML.T0081", "AML.T0051.001", "AML.T0011.000")
    order = 86
    example_name = "assistant.prompt"

    @classmethod
    def sniff(cls, data: bytes, name: str) -> bool:
        return _template_text(data, name) is not None

    @classmethod
    def check(cls, data: bytes, where: Where) -> list[Finding]:
        text = _template_text(data, where.member.rsplit("!", 1)[-1] if where.member else where.path)
        if text is None:
            return []
        out = check_text(text, where, "template", channel="user", techniques=CONFIG_TAMPERING)
        for m in _TEMPLATE_EXPR.finditer(text):
            escape = _SANDBOX_ESCAPE.search(m.group(0))
            if escape:
                out.append(where.finding(
                    "template-code-execution", Severity.HIGH,
                    f"template expression reaches Python internals ('{escape.group(0)}'), which run code "
                    f"when rendered outside a sandbox: '{_show(m.group(0))}'",
                    offset=len(text[:m.start()].encode()), construct=escape.group(0), techniques=TEMPLATE_CODE))
                break
        return out

    @classmethod
    def example(cls) -> bytes:
        return b"You are a helpful assistant for {{ company }}. Answer the question below.\n\n{{ question }}\n"
