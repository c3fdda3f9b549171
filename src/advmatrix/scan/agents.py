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
from collections.abc import Iterator
from typing import Any

from ._agent_text import CONFIG_TAMPERING, CREDENTIALS, TEMPLATE_CODE, check_text, check_tool_names, show
from ._checks import Where
from ._findings import Finding, Severity
from ._format import Format

_MAX_DOCUMENT = 8 << 20   # tool listings and configs are kilobytes; a larger file is not one of them
_MAX_NODES = 200_000      # walk budget: YAML aliases can make a small file a huge tree
_MAX_DEPTH = 64

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
                                 f"{construct} is launched by downloading code and running it: '{show(line)}'",
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
                    f"when rendered outside a sandbox: '{show(m.group(0))}'",
                    offset=len(text[:m.start()].encode()), construct=escape.group(0), techniques=TEMPLATE_CODE))
                break
        return out

    @classmethod
    def example(cls) -> bytes:
        return b"You are a helpful assistant for {{ company }}. Answer the question below.\n\n{{ question }}\n"
