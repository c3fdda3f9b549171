"""Fetch the listing of a live MCP server (stdio or HTTP) and scan it like a saved one.

A server is asked only what it offers: ``initialize`` (its ``instructions``), ``tools/list`` and,
when it declares them, ``prompts/list``, ``resources/list`` and ``resources/templates/list``. No
tool is ever called and no prompt or resource is read. The texts are then checked by the same
code as a ``tools/list`` reply saved as JSON (:mod:`.agents`), so findings, SARIF and exit codes
do not depend on where the listing came from.

``--mcp-stdio`` runs the command it is given, as the user, with the SDK's reduced environment
(no secrets of the calling shell); the scan is of what the server *says*, not a sandbox for it.

The official ``mcp`` SDK is imported here and nowhere else, and only when a server is fetched.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import AdvmatrixError, UsageError
from ._agent_text import check_text
from ._checks import Where
from ._findings import FileReport, Finding, ScanReport
from .agents import check_tools

DEFAULT_TIMEOUT = 20.0
_MAX_PAGES = 100          # pagination budget: a server that hands out cursors forever is not listing
_MAX_ITEMS = 10_000


class McpFetchError(AdvmatrixError, ConnectionError):
    """A server could not be started, reached or understood; the message says what went wrong."""


@dataclass(frozen=True)
class McpServer:
    """One live server to scan: a command line spoken to over stdio, or an HTTP(S) endpoint
    (streamable HTTP; a path ending in ``/sse`` is the older SSE transport)."""

    transport: str   # "stdio" or "http"
    target: str      # the command line as given, or the URL

    @classmethod
    def stdio(cls, command: str) -> McpServer:
        """A server started by ``command`` (split like a shell would, but no shell runs it)."""
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise UsageError(f"--mcp-stdio '{command}': {exc}") from None
        if not argv:
            raise UsageError("--mcp-stdio: empty command")
        return cls("stdio", command.strip())

    @classmethod
    def http(cls, url: str) -> McpServer:
        """A server already listening at ``url``."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--mcp-url '{url}': not an http:// or https:// URL")
        return cls("http", url)

    @property
    def label(self) -> str:
        """The name findings, errors and SARIF give the server: ``mcp-stdio:<command>`` or the URL, with
        what looks like a credential in it (a URL's user and password, the value of a parameter, option
        or ``NAME=value`` named like a key, token or password) shown as ``REDACTED``: the label is printed in
        CI logs and uploaded in SARIF, where a secret on the command line must not follow it."""
        if self.transport == "stdio":
            return f"mcp-stdio:{_redacted_command(self.target)}"
        return _redacted_url(self.target)

    @property
    def sse(self) -> bool:
        return self.transport == "http" and urlsplit(self.target).path.rstrip("/").endswith("/sse")


_SECRET_NAME = re.compile(r"(?i)key|token|secret|passw|pwd|auth|credential|bearer|cookie|session|signature")
_HIDDEN = "REDACTED"  # no shell metacharacter: the command line stays readable as shlex writes it


def _redacted_command(command: str) -> str:
    """``command`` with the values of secret-named options (``--api-key X``, ``--token=X``) and
    ``NAME=value`` words hidden."""
    out, hide_next = [], False
    for word in shlex.split(command):
        name, eq, _ = word.partition("=")
        if hide_next:
            out.append(_HIDDEN)
            hide_next = False
        elif eq and _SECRET_NAME.search(name):
            out.append(f"{name}={_HIDDEN}")
        else:
            hide_next = word.startswith("-") and bool(_SECRET_NAME.search(word))
            out.append(word)
    return shlex.join(out)


def _redacted_url(url: str) -> str:
    """``url`` without its user and password, with the values of secret-named query parameters hidden."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: nothing secret, but nothing to show either
        port = ""
    netloc = (f"[{host}]" if ":" in host else host) + port
    query = "&".join(f"{k}={_HIDDEN}" if _SECRET_NAME.search(k) else (f"{k}={v}" if eq else k)
                     for k, eq, v in (pair.partition("=") for pair in parts.query.split("&") if pair))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


# -- scanning --------------------------------------------------------------------------------------

_CONSTRUCT = re.compile(r"^(tool|prompt|resource template|resource) '(.*?)'")
_SECTION = {"tool": "tools", "prompt": "prompts", "resource": "resources", "resource template": "resources"}


def _placed(f: Finding) -> Finding:
    """The finding located at the tool (prompt, resource) it is about: ``<server>!tools/<name>``."""
    m = _CONSTRUCT.match(f.construct)
    if m:
        return replace(f, member=f"{_SECTION[m.group(1)]}/{m.group(2)}")
    return replace(f, member="instructions") if f.construct.startswith("server instructions") else f


def check_listing(listing: dict[str, Any], where: Where) -> list[Finding]:
    """Findings in a fetched listing ``{"instructions", "tools", "prompts", "resources",
    "resourceTemplates"}``: the tools exactly as in a saved ``tools/list`` reply, and the server's
    other texts an agent reads as the same kind of untrusted description."""
    tools = [t for t in listing.get("tools", []) if isinstance(t, dict)]
    out = check_tools(tools, where) if tools else []
    known = frozenset(str(t.get("name", "")) for t in tools)
    instructions = listing.get("instructions")
    if isinstance(instructions, str):
        out += check_text(instructions, where, "server instructions", names=known)
    for prompt in listing.get("prompts", []):
        name = prompt.get("name", "")
        out += check_text(prompt.get("description") or "", where, f"prompt '{name}' description", names=known)
        for arg in prompt.get("arguments") or []:
            out += check_text(arg.get("description") or "", where,
                              f"prompt '{name}' argument '{arg.get('name', '')}'", names=known)
    for key, kind in (("resources", "resource"), ("resourceTemplates", "resource template")):
        for res in listing.get(key, []):
            out += check_text(res.get("description") or "", where, f"{kind} '{res.get('name', '')}' description",
                              names=known)
    return [_placed(f) for f in out]


def scan_servers(servers: Iterable[McpServer], timeout: float = DEFAULT_TIMEOUT,
                 report: ScanReport | None = None) -> ScanReport:
    """Fetch and scan each server's listing into ``report``; a server that cannot be fetched is
    one line in ``report.errors``, and the others are still scanned."""
    report = report if report is not None else ScanReport()
    for server in servers:
        try:
            listing = fetch_listing(server, timeout)
        except McpFetchError as exc:
            report.errors.append(f"{server.label}: {exc}")
            continue
        size = len(json.dumps(listing).encode())
        entry = FileReport(server.label, "", "agent-tools", size)
        entry.findings.extend(check_listing(listing, Where(server.label)))
        report.files.append(entry)
        report.bytes_scanned += size
    return report


# -- fetching --------------------------------------------------------------------------------------

def fetch_listing(server: McpServer, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """The server's listing as JSON-shaped data (camelCase keys, as on the wire).

    Raises :class:`UsageError` without the SDK, :class:`McpFetchError` for everything the server
    does wrong (no start, early exit, no answer within ``timeout`` seconds, not MCP)."""
    try:
        import anyio
        import mcp  # noqa: F401 - the check that the SDK is there
    except ImportError:
        raise UsageError("--mcp-stdio and --mcp-url need the MCP SDK: install advmatrix[mcp]") from None
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog, _quiet_sdk():
        garbage: list[Exception] = []
        try:
            return anyio.run(_fetch, server, timeout, errlog, garbage)
        except McpFetchError:
            raise
        except BaseException as exc:  # task groups wrap every failure, cancellations included: all one
            if isinstance(exc, KeyboardInterrupt) or (isinstance(exc, BaseExceptionGroup) and exc.subgroup(
                    lambda e: isinstance(e, KeyboardInterrupt)) is not None):
                raise KeyboardInterrupt from None
            raise McpFetchError(_explain(server, exc, timeout, _last_line(errlog), garbage)) from None


async def _fetch(server: McpServer, timeout: float, errlog, garbage: list[Exception]) -> dict[str, Any]:
    import anyio
    from mcp import ClientSession

    scope = anyio.CancelScope()

    async def on_message(message: object) -> None:
        # The spec allows nothing but MCP messages on the channel: a line that is not one means
        # the other end is not (only) an MCP server, and waiting for it would only time out.
        if isinstance(message, Exception) and not garbage:
            garbage.append(message)
            scope.cancel()

    with anyio.fail_after(timeout):
        with scope:
            async with _transport(server, timeout, errlog) as streams:
                async with ClientSession(streams[0], streams[1], message_handler=on_message) as session:
                    return await _list(session)
    raise McpFetchError(_not_mcp(garbage))


@contextmanager
def _quiet_sdk() -> Iterator[None]:
    # the SDK logs transport failures with tracebacks; the failure is reported once, as one line
    log = logging.getLogger("mcp")
    saved = log.propagate, log.level
    log.propagate, log.level = False, logging.CRITICAL + 1
    try:
        yield
    finally:
        log.propagate, log.level = saved


def _transport(server: McpServer, timeout: float, errlog):
    if server.transport == "stdio":
        from mcp import StdioServerParameters, stdio_client

        argv = shlex.split(server.target)
        return stdio_client(StdioServerParameters(command=argv[0], args=argv[1:]), errlog=errlog)
    if server.sse:
        from mcp.client.sse import sse_client

        return sse_client(server.target, timeout=timeout)
    from mcp.client import streamable_http

    connect = getattr(streamable_http, "streamable_http_client", None) or streamable_http.streamablehttp_client
    return connect(server.target)


def _field(obj: Any, name: str, v1_name: str) -> Any:
    # mcp 2 names fields in snake_case, mcp 1 as on the wire
    return getattr(obj, name, getattr(obj, v1_name, None))


def _dump(item: Any) -> dict[str, Any]:
    return item.model_dump(by_alias=True, mode="json", exclude_none=True)


async def _list(session) -> dict[str, Any]:
    init = await session.initialize()
    info = _field(init, "server_info", "serverInfo")
    listing: dict[str, Any] = {"server": _dump(info) if info is not None else {}}
    if init.instructions:
        listing["instructions"] = init.instructions
    caps = init.capabilities
    # tools/list is asked even when undeclared: a server that hides its tools from the
    # capabilities still answers the call an agent makes
    listing["tools"] = await _pages(session.list_tools, ("tools", "tools"), required=bool(caps.tools))
    if caps.prompts:
        listing["prompts"] = await _pages(session.list_prompts, ("prompts", "prompts"))
    if caps.resources:
        listing["resources"] = await _pages(session.list_resources, ("resources", "resources"))
        listing["resourceTemplates"] = await _pages(session.list_resource_templates,
                                                     ("resource_templates", "resourceTemplates"))
    return listing


async def _pages(call, key: tuple[str, str], required: bool = False) -> list[dict[str, Any]]:
    import mcp
    from mcp import types

    refused = getattr(mcp, "MCPError", None) or mcp.McpError

    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(_MAX_PAGES):
        try:
            page = await call(params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)
        except refused:
            if required:
                raise
            return items  # an optional listing the server does not really offer
        items += [_dump(i) for i in _field(page, *key)]
        cursor = _field(page, "next_cursor", "nextCursor")
        if not cursor or len(items) >= _MAX_ITEMS:
            break
    return items[:_MAX_ITEMS]


# -- one line for what went wrong --------------------------------------------------------------------

def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [exc]


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _last_line(errlog) -> str:
    try:
        errlog.seek(0)
        lines = [line.strip() for line in errlog.read()[-8192:].splitlines() if line.strip()]
    except (OSError, ValueError):
        return ""
    return lines[-1][:200] if lines else ""


def _not_mcp(garbage: list[Exception]) -> str:
    errors = getattr(garbage[0], "errors", None) if garbage else None
    try:
        line = errors()[0].get("input") if callable(errors) else None
    except (IndexError, TypeError, AttributeError):
        line = None
    what = f"'{line[:80]}'" if isinstance(line, str) else _short(garbage[0]) if garbage else "nothing"
    return f"answered with something that is not an MCP message: {what}"


def _explain(server: McpServer, exc: BaseException, timeout: float, stderr: str, garbage: list[Exception]) -> str:
    said = f" (its last stderr line: {stderr})" if stderr else ""
    leaves = _leaves(exc)
    if garbage:
        return _not_mcp(garbage) + said
    if any(isinstance(e, TimeoutError) for e in leaves):
        return f"no complete answer within {timeout:g} s (--mcp-timeout){said}"
    for e in leaves:
        if isinstance(e, (FileNotFoundError, PermissionError)) and server.transport == "stdio":
            return f"cannot start '{shlex.split(server.target)[0]}': {e.strerror or e}"
    for e in leaves:
        name = type(e).__name__
        if name in ("ConnectError", "ConnectTimeout"):
            return f"cannot connect: {_short(e)}"
        if name == "HTTPStatusError":
            return f"HTTP error: {_short(e)}"
    root = next((e for e in leaves if not isinstance(e, (GeneratorExit,))), exc)
    text = _short(root)
    if server.transport == "stdio" and re.search(r"connection closed|closed", text, re.I):
        return f"exited before listing its tools{said}"
    if type(root).__name__ in ("MCPError", "McpError"):
        return f"refused the listing: {text}{said}"
    return f"{text}{said}"
