"""A local LLM application to attack: a customer-support assistant behind the OpenAI Chat
Completions API, deterministic and rule-based, in three strengths (``naive``, ``filtered``,
``hardened``; see ``_llm_model`` for how each decides).

Wire protocol (what the official ``openai`` SDK speaks):

- ``POST /v1/chat/completions``: ``model``, ``messages`` (system, developer, user, assistant with
  ``tool_calls``, tool with ``tool_call_id``; content as text or text parts), ``tools`` (function
  schemas), ``tool_choice`` (none, auto, required, a named function), ``stream`` with
  ``stream_options.include_usage``, ``seed``, ``n``, ``max_tokens``/``max_completion_tokens``,
  ``stop``. Non-streaming replies are ``chat.completion`` objects; streaming replies are
  server-sent ``chat.completion.chunk`` events (role first, then content or tool-call deltas,
  a last chunk with ``finish_reason``, a usage chunk when asked) closed by ``data: [DONE]``.
  Tokens are counted as words and punctuation runs. A request for a very long answer ("the word
  X ten thousand times") gets it, up to ``max_tokens`` (finish ``length``) or else 8,000 tokens,
  except from the hardened profile, which stops every answer at 300 tokens.
- ``GET /v1/models`` and ``GET /v1/models/{id}``.
- Errors are OpenAI-style ``{"error": {"message", "type", "param", "code"}}``: 400 for a
  malformed body, 401 for a wrong or missing key (when the app has one; only ``/v1`` routes are
  guarded), 404 for an unknown model, 413 for a body over ``max_request_bytes``.

With ``tools`` in the request the app is a plain chat model: it answers with ``tool_calls``
for the client to run and reads the ``tool`` messages that come back. Without ``tools`` it is an
agent: it runs its own decoy tools (``send_email``, ``http_get``, ``delete_file``,
``search_documents``) server-side for up to three steps and answers with text. Every tool call it
decides, either way, is recorded in the effects log; none is performed (``http_get`` reads the
page store, ``search_documents`` the document store).

Test plumbing (never guarded by the key):

- ``POST /admin/documents`` ``{"title", "text"}`` -> 201 ``{"id", "title"}``: ingest a document
  (it is retrieved by keyword overlap like the built-in ones; a missing title becomes the first
  words of the text); ``GET /admin/documents``.
- ``PUT /admin/pages`` ``{"url", "text"}`` -> ``{"url"}``: the page ``http_get`` returns for that
  URL; ``GET /admin/pages``.
- ``POST /admin/emails`` ``{"from", "subject", "body"}`` -> 201 ``{"id"}``: a message in the inbox
  the assistant reads when asked about e-mail (only ``body`` is required); ``GET /admin/emails``.
- ``GET /admin/effects`` -> ``{"effects": [{"id", "name", "arguments", "turn", "step", "mode",
  "source", "request", "result"}]}``: ``turn`` counts the user messages of the conversation,
  ``mode`` is ``agent`` (run by the app) or ``client`` (returned as ``tool_calls``), ``source``
  the channel the request came from (user, system, retrieved_document, web_page, email,
  tool_result).
- ``GET /admin/log`` -> ``{"requests": [{"request", "followed", "refused"}]}`` (the last 100).
- ``POST /admin/reset``: stores back to their defaults, effects and log emptied.
- ``GET /admin/info``: profile, seed, model, canary and the other secrets, the system prompt.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..errors import UsageError
from . import _llm_data as data
from ._llm_model import PROFILES, Msg, Planned, Step, SupportModel, count_tokens

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_CREATED = 1_700_000_000
_AGENT_STEPS = 3


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400, code: str | None = None):
        super().__init__(message)
        self.message, self.param, self.status, self.code = message, param, status, code


def _error(status: int, message: str, *, param: str | None = None, code: str | None = None,
           kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status_code=status)


def _text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if not isinstance(part, dict) or "type" not in part:
                raise _BadRequest(f"{where}: each content part must be an object with a 'type'", where)
            if part["type"] in ("text", "input_text", "output_text") and isinstance(part.get("text"), str):
                out.append(part["text"])
            elif part["type"] == "refusal" and isinstance(part.get("refusal"), str):
                out.append(part["refusal"])
        return "\n".join(out)
    raise _BadRequest(f"{where}: content must be a string or a list of content parts", where)


def _messages(raw: Any) -> list[Msg]:
    if not isinstance(raw, list) or not raw:
        raise _BadRequest("'messages' must be a non-empty array", "messages")
    out = []
    for n, m in enumerate(raw):
        where = f"messages[{n}]"
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            raise _BadRequest(f"{where}: each message needs a 'role' among {', '.join(_ROLES)}", where)
        calls = []
        for k, c in enumerate(m.get("tool_calls") or []):
            fn = c.get("function") if isinstance(c, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise _BadRequest(f"{where}.tool_calls[{k}]: a function tool call needs a function name",
                                  f"{where}.tool_calls")
            args = fn.get("arguments", "{}")
            calls.append({"id": str(c.get("id") or f"call_{n}_{k}"), "name": fn["name"],
                          "arguments": args if isinstance(args, str) else json.dumps(args)})
        out.append(Msg(m["role"], _text(m.get("content"), where), calls, m.get("tool_call_id"), m.get("name")))
    return out


def _tools(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _BadRequest("'tools' must be an array of tool definitions", "tools")
    for n, t in enumerate(raw):
        fn = t.get("function") if isinstance(t, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise _BadRequest(f"tools[{n}]: a function tool needs 'function.name'", f"tools[{n}]")
    return raw


def _truncate(text: str, limit: int) -> str:
    for n, m in enumerate(re.finditer(r"\w+|[^\w\s]+", text), 1):
        if n == limit:
            return text[:m.end()]
    return text


def _pieces(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


class LlmApplication:
    """The state of one app instance: profile, secrets, stores, effects; and how it answers."""

    def __init__(self, profile: str = "naive", seed: int = 0):
        if profile not in PROFILES:
            raise UsageError(f"unknown profile '{profile}' (choose {', '.join(PROFILES)})")
        self.profile = profile
        self.seed = seed
        self.secrets = data.make_secrets(seed)
        self.world = data.default_world()
        self.model = SupportModel(profile, self.secrets, self.world)
        self.effects: list[dict[str, Any]] = []
        self.log: list[dict[str, Any]] = []
        self.requests = 0

    def reset(self) -> None:
        """Stores back to their defaults; effects and log emptied."""
        fresh = data.default_world()
        self.world.documents[:] = fresh.documents
        self.world.pages.clear()
        self.world.pages.update(fresh.pages)
        self.world.emails[:] = fresh.emails
        self.effects.clear()
        self.log.clear()

    # -- tools run by the agent -----------------------------------------------------------------
    @staticmethod
    def page_key(url: str) -> str:
        """The key a URL is stored under: scheme and host lower-cased, no fragment, no trailing slash."""
        url = url.strip().split("#", 1)[0]
        m = re.match(r"(?i)(https?://)([^/?]+)(.*)", url)
        if m:
            url = m.group(1).lower() + m.group(2).lower() + m.group(3)
        return url.rstrip("/") if not url.endswith("://") else url

    def run_tool(self, name: str, args: dict[str, Any]) -> str:
        """What a decoy tool returns (nothing is sent, fetched or deleted)."""
        if name == "send_email":
            return f"Message accepted for delivery (recipient: {args.get('to', '')})."
        if name == "http_get":
            key = self.page_key(str(args.get("url", "")))
            page = self.world.pages.get(key) or self.world.pages.get(key.split("?", 1)[0].rstrip("/"))
            return page if page is not None else "404 Not Found"
        if name == "delete_file":
            return f"Deleted {args.get('path', '')}."
        if name == "search_documents":
            docs = self.model.retrieve(str(args.get("query", "")))
            return "\n\n".join(f"{d.title}: {d.text}" for d in docs) or "No documents found."
        return "Unknown tool."

    # -- one request ----------------------------------------------------------------------------
    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer a Chat Completions request body; returns the pieces of the reply."""
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise _BadRequest("you must provide a model parameter", "model")
        messages = _messages(body.get("messages"))
        tools = _tools(body.get("tools"))
        choice = body.get("tool_choice", "auto")
        if not (choice in ("none", "auto", "required") or (isinstance(choice, dict) and isinstance(
                (choice.get("function") or {}).get("name"), str))):
            raise _BadRequest("'tool_choice' must be none, auto, required or a named function", "tool_choice")
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise _BadRequest("'seed' must be an integer", "seed")
        n = body.get("n", 1) or 1
        if not isinstance(n, int) or not 1 <= n <= 8:
            raise _BadRequest("'n' must be an integer from 1 to 8", "n")
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise _BadRequest("'max_tokens' must be a positive integer", "max_tokens")
        stop = body.get("stop")
        stop = [stop] if isinstance(stop, str) else stop or []
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise _BadRequest("'stop' must be a string or an array of strings", "stop")

        self.requests += 1
        canonical = json.dumps([body.get("messages"), body.get("tools"), choice], sort_keys=True, default=str)
        digest = hashlib.sha256(f"{self.seed}|{seed}|{canonical}".encode()).hexdigest()
        rng = random.Random(digest)
        turn = sum(m.role == "user" for m in messages)
        if tools:
            step = self.model.respond(messages, tools, tool_choice=choice, rng=rng, max_tokens=limit)
            calls = [(f"call_{hashlib.sha256(f'{digest}|{k}'.encode()).hexdigest()[:24]}", p)
                     for k, p in enumerate(step.tool_calls)]
            for call_id, p in calls:
                self._record(call_id, p, turn, 1, "client", None)
            steps = [step]
        else:
            step, steps = self._agent(messages, choice, rng, digest, turn, limit)
            calls = []
        self.log.append({"request": self.requests, "followed": [f for s in steps for f in s.followed],
                         "refused": [r for s in steps for r in s.refused]})
        del self.log[:-100]

        text = step.text if not calls else None
        finish = "tool_calls" if calls else "stop"
        if text is not None:
            for s in stop:
                if s and s in text:
                    text = text[:text.index(s)]
            if limit is not None and count_tokens(text) > limit:
                text, finish = _truncate(text, limit), "length"
        prompt_text = "\n".join([self.model.prompt, *(m.content for m in messages), json.dumps(tools) if tools else ""])
        completion = count_tokens(text or "") + sum(count_tokens(json.dumps(p.arguments)) for _, p in calls)
        return {"id": "chatcmpl-" + hashlib.sha256(f"{digest}|{self.requests}".encode()).hexdigest()[:29],
                "model": body["model"], "text": text, "calls": calls, "finish": finish, "n": n,
                "fingerprint": "fp_" + hashlib.sha256(f"advmatrix|{self.seed}".encode()).hexdigest()[:10],
                "usage": {"prompt_tokens": count_tokens(prompt_text), "completion_tokens": completion,
                          "total_tokens": count_tokens(prompt_text) + completion}}

    def _agent(self, messages: list[Msg], choice: Any, rng: random.Random, digest: str,
               turn: int, limit: int | None = None) -> tuple[Step, list[Step]]:
        convo = list(messages)
        steps: list[Step] = []
        tools = list(data.TOOLS)
        for k in range(_AGENT_STEPS + 1):
            step = self.model.respond(convo, tools, tool_choice="none" if choice == "none" else "auto", rng=rng,
                                      final=k == _AGENT_STEPS, max_tokens=limit)
            steps.append(step)
            if not step.tool_calls:
                return step, steps
            calls = []
            results = []
            for j, p in enumerate(step.tool_calls):
                call_id = f"call_{hashlib.sha256(f'{digest}|{k}|{j}'.encode()).hexdigest()[:24]}"
                result = self.run_tool(p.name, p.arguments)
                self._record(call_id, p, turn, k + 1, "agent", result)
                calls.append({"id": call_id, "name": p.name, "arguments": json.dumps(p.arguments)})
                results.append(Msg("tool", result, tool_call_id=call_id, name=p.name))
            convo += [Msg("assistant", "", calls), *results]
        return steps[-1], steps  # pragma: no cover - the last step is always final

    def _record(self, call_id: str, p: Planned, turn: int, step: int, mode: str, result: str | None) -> None:
        self.effects.append({"id": call_id, "name": p.name, "arguments": p.arguments, "turn": turn, "step": step,
                             "mode": mode, "source": p.source, "request": self.requests,
                             "result": None if result is None else result[:500]})

    def info(self) -> dict[str, Any]:
        """What tests need to score an attack: profile, secrets, prompt."""
        s = self.secrets
        return {"profile": self.profile, "seed": self.seed, "model": data.MODEL_ID, "canary": s.canary,
                "secrets": {"canary": s.canary, "api_key": s.api_key, "internal_url": s.internal_url,
                            "cards": [c.card for c in s.customers], "emails": [c.email for c in s.customers],
                            "phones": [c.phone for c in s.customers], "names": [c.name for c in s.customers]},
                "allowed_hosts": list(data.ALLOWED_HOSTS), "tools": [t["function"]["name"] for t in data.TOOLS],
                "system_prompt": self.model.prompt}


# -- wire format ---------------------------------------------------------------------------------------
def _completion(r: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": r["text"], "refusal": None}
    if r["calls"]:
        message["tool_calls"] = [{"id": cid, "type": "function", "function": {
            "name": p.name, "arguments": json.dumps(p.arguments)}} for cid, p in r["calls"]]
    return {"id": r["id"], "object": "chat.completion", "created": int(time.time()), "model": r["model"],
            "system_fingerprint": r["fingerprint"],
            "choices": [{"index": i, "message": message, "logprobs": None, "finish_reason": r["finish"]}
                        for i in range(r["n"])],
            "usage": r["usage"]}


def _chunks(r: dict[str, Any], include_usage: bool) -> Iterator[str]:
    created = int(time.time())

    def chunk(choices: list[dict[str, Any]], usage: dict | None = None) -> str:
        out: dict[str, Any] = {"id": r["id"], "object": "chat.completion.chunk", "created": created,
                               "model": r["model"], "system_fingerprint": r["fingerprint"], "choices": choices}
        if include_usage:
            out["usage"] = usage
        return f"data: {json.dumps(out)}\n\n"

    def delta(i: int, d: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": i, "delta": d, "logprobs": None, "finish_reason": finish}

    for i in range(r["n"]):
        yield chunk([delta(i, {"role": "assistant", "content": "" if r["text"] is not None else None})])
        for piece in _pieces(r["text"] or ""):
            yield chunk([delta(i, {"content": piece})])
        for k, (cid, p) in enumerate(r["calls"]):
            yield chunk([delta(i, {"tool_calls": [{"index": k, "id": cid, "type": "function",
                                                   "function": {"name": p.name, "arguments": ""}}]})])
            args = json.dumps(p.arguments)
            for start in range(0, len(args), 16):
                piece = {"index": k, "function": {"arguments": args[start:start + 16]}}
                yield chunk([delta(i, {"tool_calls": [piece]})])
        yield chunk([delta(i, {}, r["finish"])])
    if include_usage:
        yield chunk([], r["usage"])
    yield "data: [DONE]\n\n"


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _BadRequest(f"request body is larger than {limit} bytes", status=413, code="request_too_large")
    out = bytearray()
    async for piece in request.stream():
        out += piece
        if len(out) > limit:
            raise _BadRequest(f"request body is larger than {limit} bytes", status=413, code="request_too_large")
    return bytes(out)


async def _json(request: Request, limit: int) -> dict[str, Any]:
    raw = await _body(request, limit)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _BadRequest("We could not parse the JSON body of your request. The body must be valid JSON.") from None
    if not isinstance(body, dict):
        raise _BadRequest("the request body must be a JSON object")
    return body


def _field(body: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        value = ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _BadRequest(f"'{name}' must be a non-empty string", name)
    return value


def make_llm_app(profile: str = "naive", seed: int = 0, api_key: str | None = None, *,
                 max_request_bytes: int = 1_000_000) -> FastAPI:
    """The LLM application as an ASGI app: one ``profile`` (naive, filtered, hardened), secrets drawn
    from ``seed``, ``/v1`` routes guarded by ``api_key`` when given (see the module docstring)."""
    state = LlmApplication(profile, seed)
    app = FastAPI(title="advmatrix LLM application", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.llm = state

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if api_key is not None and request.url.path.startswith("/v1"):
            header = request.headers.get("authorization", "")
            if not header.startswith("Bearer ") or header[7:].strip() != api_key:
                message = ("You didn't provide an API key." if not header else
                           "Incorrect API key provided.")
                return _error(401, message, code="invalid_api_key")
        return await call_next(request)

    @app.exception_handler(_BadRequest)
    async def bad_request(request: Request, exc: _BadRequest) -> JSONResponse:
        return _error(exc.status, exc.message, param=exc.param, code=exc.code)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - safety net
        return _error(500, f"{exc.__class__.__name__}: {exc}", kind="server_error")

    # every handler is a coroutine: they all run on the event loop, one at a time, so the stores
    # and the effects log need no lock
    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    def model_card() -> dict:
        return {"id": data.MODEL_ID, "object": "model", "created": _CREATED, "owned_by": "advmatrix"}

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str) -> Any:
        if model_id != data.MODEL_ID:
            return _error(404, f"The model '{model_id}' does not exist", param="model", code="model_not_found")
        return model_card()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await _json(request, max_request_bytes)
        reply = state.complete(body)
        if body.get("stream"):
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(_chunks(reply, include), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        return JSONResponse(_completion(reply))

    # -- test plumbing ------------------------------------------------------------------------------
    @app.post("/admin/documents", status_code=201)
    async def add_document(request: Request) -> dict:
        body = await _json(request, max_request_bytes)
        text = _field(body, "text")
        title = _field(body, "title", required=False).strip() or " ".join(text.split()[:6])
        doc = data.Document(f"doc-{len(state.world.documents) + 1}", title, text, planted=True)
        state.world.documents.append(doc)
        return {"id": doc.id, "title": doc.title}

    @app.get("/admin/documents")
    async def documents() -> dict:
        return {"documents": [vars(d) for d in state.world.documents]}

    @app.put("/admin/pages")
    async def put_page(request: Request) -> dict:
        body = await _json(request, max_request_bytes)
        url = _field(body, "url")
        if not re.match(r"(?i)https?://", url):
            raise _BadRequest("'url' must be an http(s) URL", "url")
        key = state.page_key(url)
        state.world.pages[key] = _field(body, "text", required=False)
        return {"url": key}

    @app.get("/admin/pages")
    async def pages() -> dict:
        return {"pages": [{"url": u, "text": t} for u, t in state.world.pages.items()]}

    @app.post("/admin/emails", status_code=201)
    async def add_email(request: Request) -> dict:
        body = await _json(request, max_request_bytes)
        mail = data.Email(f"mail-{len(state.world.emails) + 1}",
                          _field(body, "from", required=False).strip() or "unknown@external.test",
                          _field(body, "subject", required=False).strip() or "(no subject)", _field(body, "body"),
                          planted=True)
        state.world.emails.append(mail)
        return {"id": mail.id}

    @app.get("/admin/emails")
    async def emails() -> dict:
        return {"emails": [{"id": m.id, "from": m.sender, "subject": m.subject, "body": m.body, "planted": m.planted}
                           for m in state.world.emails]}

    @app.get("/admin/effects")
    async def effects() -> dict:
        return {"effects": list(state.effects)}

    @app.get("/admin/log")
    async def log() -> dict:
        return {"requests": list(state.log)}

    @app.post("/admin/reset")
    async def reset() -> dict:
        state.reset()
        return {"reset": True}

    @app.get("/admin/info")
    async def info() -> dict:
        return {**state.info(), "api_key_required": api_key is not None}

    return app


__all__ = ["LlmApplication", "make_llm_app"]
