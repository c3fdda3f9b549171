"""Sessions: chat history the gateway never served (AML.T0092 Manipulate User LLM Chat History,
AML.T0080.001 AI Agent Context Poisoning: Thread), jailbreaks won over a conversation after
refusals (AML.T0054 LLM Jailbreak), and replies that cost far more than a request should
(AML.T0034 Cost Harvesting, AML.T0029 Denial of AI Service)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from collections import deque

from pydantic import Field, SecretStr

from ..plugins import Context
from ..protocols import Message
from ._base import Alert, ClientStates, DetectorParams
from ._chat import ChatDetector, ChatEvent

# -- history integrity ---------------------------------------------------------------------------

_SPACE = b" \t\n\r\x0b\x0c"


def _canonical(arguments: str) -> str:
    """Tool-call arguments as canonical JSON (sorted keys, no spaces), or the raw text without
    whitespace when they are not JSON: the same call re-serialised by an SDK compares equal."""
    try:
        return json.dumps(json.loads(arguments), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        return "".join(arguments.split())


def turn_bytes(message: Message) -> bytes:
    """What of an assistant turn is compared: its text with no ASCII whitespace at all (SDKs
    re-wrap, re-indent and trim what they send back), in Unicode NFC, and each tool call's name and
    canonical arguments (call IDs are left out: clients renumber them)."""
    data = unicodedata.normalize("NFC", message.content).encode("utf-8", "surrogatepass").translate(None, _SPACE)
    if not message.tool_calls:
        return data
    calls = "\x01".join(f"{c.name}\x00{_canonical(c.arguments)}" for c in message.tool_calls)
    return data + b"\x01" + calls.encode("utf-8", "surrogatepass")


class HistoryIntegrityParams(DetectorParams):
    key: SecretStr | None = Field(None, description="secret for the keyed digests of served turns, shared by "
                                  "gateway replicas (default: a random one per process)")
    allow_unseen_prefix: bool = Field(True, description="accept the assistant turns of the first request seen in a "
                                      "conversation (few-shot examples, a conversation begun before the gateway)")
    many_shot: int = Field(4, ge=1, description="assistant turns in a first request seen that make it a many-shot "
                           "forged dialogue")
    max_served: int = Field(256, ge=1, description="digests of served turns kept per conversation")
    allow_prefill: bool = Field(True, description="a final assistant turn is the client's prefill of the reply "
                                "(Anthropic's API invites it), not history: it is not checked")
    spot_checks: int = Field(2, ge=0, description="earlier assistant turns re-checked per request, in turn, so that "
                             "an edit of an old reply is found within (turns / spot_checks) requests")


class _Thread:
    """One conversation: keyed digests of the assistant turns the gateway served, each with the
    index it was verified at in a request (-1 while served and not yet sent back); where the
    sweep of earlier turns goes on from, and the index below which digests were dropped."""

    __slots__ = ("floor", "known", "started", "sweep")

    def __init__(self) -> None:
        self.known: dict[bytes, int] = {}
        self.started = False
        self.sweep = 0
        self.floor = 0


class HistoryIntegrity(ChatDetector):
    """Alerts when a client sends back assistant turns the gateway never served: an edited
    reply, an invented one, or a whole fake dialogue (many-shot jailbreaks, history forged to
    plant instructions for the rest of the thread).

    How: every reply served (:meth:`on_served`: as the client got it, after the gateway's own
    edits) is remembered per conversation as a keyed digest (BLAKE2b in its
    keyed, MAC mode; the key is a per-process secret unless ``key`` is given, so replicas agree)
    of its text without whitespace and its tool calls as name and canonical JSON. Whitespace and
    key order are dropped because SDKs re-serialise what they send back; call IDs because
    clients renumber them.

    Cost stays flat in the history's length. A request is read backwards from its end and only
    the assistant turns after the last one already verified in this conversation are hashed
    (usually one: the reply served last); a verified turn found at a later index than where it
    was verified means turns were inserted before it, so the reading goes on (rare: an attack,
    or a client that reorders). Earlier turns are swept instead of re-read: each request also
    re-checks the next ``spot_checks`` earlier assistant turns, in order, so an old reply that
    the client edited and keeps sending is found within (assistant turns / ``spot_checks``)
    requests. Not seen: an edit deep in the history sent once and never again, and turns whose
    digests were dropped (``max_served``).

    The first request seen of a conversation may carry assistant turns the gateway could not
    have served (few-shot examples in the application's prompt, a conversation begun before
    the gateway); ``allow_unseen_prefix`` accepts them, unless there are ``many_shot`` or more,
    the shape of a many-shot forged dialogue. A final assistant turn is the client's prefill of
    the reply it asks for, not history, and is not checked (``allow_prefill``).

    False-positive budget: none for clients that send back what they were served, whitespace
    and JSON formatting aside. Known sources of false alerts: a gateway restart or a
    conversation's state dropped (``max_clients``) makes a long conversation look like a
    many-shot first request (run replicas with a shared ``key`` and each client on one replica).
    """

    name = "history-integrity"
    title = "Forged chat history"
    technique_ids = ("AML.T0092", "AML.T0080.001")
    Params = HistoryIntegrityParams
    response = {"action": "refuse"}

    def setup(self, context: Context) -> None:
        key = self.params.key.get_secret_value().encode() if self.params.key is not None else os.urandom(32)
        # BLAKE2b takes a key of at most 64 bytes; a longer shared secret is condensed first
        self._key = key if len(key) <= 64 else hashlib.blake2b(key).digest()
        self.threads: ClientStates[_Thread] = self.clients_state(_Thread)

    def digest(self, message: Message) -> bytes:
        """The keyed digest of an assistant turn."""
        return hashlib.blake2b(turn_bytes(message), key=self._key, digest_size=16).digest()

    def _remember(self, thread: _Thread, digest: bytes, index: int) -> None:
        known = thread.known
        if digest in known:
            if index < 0:
                return
            del known[digest]  # verified now: move it to the newest end, last to be dropped
        known[digest] = index
        if len(known) > self.params.max_served:
            oldest = next(iter(known))
            # the turns up to a dropped one can no longer be re-checked: the sweep starts past them
            thread.floor = max(thread.floor, known.pop(oldest) + 1)

    def on_served(self, event: ChatEvent) -> list[Alert]:
        """Remember the reply as the client got it (after any redaction, or cut where a stream
        was stopped): the one thing it may send back as this turn."""
        reply = event.reply
        if reply is None:
            return []
        thread = self.threads.get(event.conversation)
        served = reply.as_message()
        self._remember(thread, self.digest(served), -1)
        if reply.text and reply.tool_calls:  # some clients drop the text of a turn that called tools
            self._remember(thread, self.digest(Message("assistant", "", served.tool_calls)), -1)
        return []

    def _end(self, messages: list[Message]) -> int:
        """Where the history ends: before a final assistant turn when that is a prefill."""
        if self.params.allow_prefill and messages and messages[-1].role == "assistant":
            return len(messages) - 1
        return len(messages)

    def on_request(self, event: ChatEvent) -> list[Alert]:
        messages = event.messages
        thread = self.threads.get(event.conversation)
        if not thread.started:
            thread.started = True
            return self._first(event, thread)
        forged: list[int] = []
        stop = 0
        for i in range(self._end(messages) - 1, -1, -1):
            m = messages[i]
            if m.role != "assistant":
                continue
            d = self.digest(m)
            where = thread.known.get(d)
            if where is None:
                forged.append(i)
            elif where >= i:  # verified before, here or further on (the client cut its history at the front)
                stop = i
                break
            self._remember(thread, d, i)  # forged ones too: a turn is reported once
        if stop > thread.floor and self.params.spot_checks:
            forged += self._sweep(thread, messages, stop)
        if not forged:
            return []
        first = min(forged)
        return [self.chat_alert(
            event, "high", f"{len(forged)} assistant turn(s) the gateway never served in the history "
            f"(first at index {first}): edited or invented replies", forged=len(forged), first=first,
            snippet=messages[first].content[:80])]

    def _sweep(self, thread: _Thread, messages: list[Message], stop: int) -> list[int]:
        """Re-check the next ``spot_checks`` assistant turns before ``stop``, going on from where
        the last request left off (at most 8 turns looked at per check); the indices of those
        the gateway never served."""
        found = []
        checks, looked = self.params.spot_checks, 8 * self.params.spot_checks
        j = thread.sweep
        while checks and looked:
            if not thread.floor <= j < stop:
                j = thread.floor
            m = messages[j]
            looked -= 1
            if m.role == "assistant":
                checks -= 1
                d = self.digest(m)
                if d not in thread.known:
                    found.append(j)
                    self._remember(thread, d, j)
            j += 1
        thread.sweep = j
        return found

    def _first(self, event: ChatEvent, thread: _Thread) -> list[Alert]:
        messages = event.messages
        turns = [i for i in range(self._end(messages)) if messages[i].role == "assistant"]  # once per conversation
        if not turns:
            return []
        # remembered whatever is decided: later requests stop at them instead of reading to the start
        for i in turns[-self.params.max_served:]:
            self._remember(thread, self.digest(messages[i]), i)
        many = len(turns) >= self.params.many_shot
        if self.params.allow_unseen_prefix and not many:
            return []
        first = turns[0]
        if many:
            message = (f"the first request seen of the conversation carries {len(turns)} assistant turns the gateway "
                       f"never served: a many-shot forged dialogue")
        else:
            message = f"{len(turns)} assistant turn(s) the gateway never served in a conversation's first request"
        return [self.chat_alert(event, "medium", message, forged=len(turns), first=first,
                                snippet=messages[first].content[:80])]


# -- jailbreak over a session --------------------------------------------------------------------

# a refusal opens the reply: an apology with "but", or "I can't / won't / am unable to" + a verb of
# helping (not "I can't wait", "I cannot stress enough")
_REFUSAL = re.compile(
    r"\b(?:I(?:['’]m|\s+am)\s+sorry|(?:my\s+)?apologies|sorry),?\s+but\b"
    r"|\bI\s*(?:can(?:not|['’]t|\s+not)|won['’]t|will\s+not|(?:am|['’]m)\s+(?:not\s+able|unable))\s+(?:to\s+)?"
    r"(?:help|assist|provide|comply|share|create|write|give|generate|produce|support|fulfil+|engage|answer"
    r"|discuss|continue|participate|offer|do\s+(?:that|this))\b"
    r"|\bnot\s+able\s+to\s+help\b", re.I)
# framings that wrap a refused request in fiction, hypotheticals or pressure
_FRAMING = re.compile(
    r"\b(?:hypothetical(?:ly)?|pretend|role[\s-]?play|as\s+a\s+character|in\s+character|for\s+a\s+(?:story|novel|"
    r"screenplay|script|game)|in\s+a\s+fictional\s+(?:world|universe|setting)|fictional(?:ly)?|my\s+(?:late\s+)?"
    r"grand(?:mother|ma|mom)\s+used\s+to|just\s+this\s+once|you\s+(?:already|previously)\s+agreed|you\s+said\s+you\s+"
    r"would|for\s+(?:purely\s+)?(?:educational|research|academic)\s+purposes|no\s+restrictions|developer\s+mode)\b",
    re.I)
_REFUSAL_HINTS = ("sorry", "apolog", "i can", "i won", "i will not", "unable", "not able")
_TOKEN = re.compile(r"[a-z0-9]{3,}")
_STOP = frozenset(
    "the and for you your are was were this that with what how can could would should will please tell about "
    "from have has had not but all any its it's into out give show explain write make just like then than them "
    "they there their here also some more most very much need want know get use using step steps".split())
_HEAD = 400
_REQUEST_CHARS = 4000


def refusal(text: str, finish_reason: str = "stop") -> bool:
    """Whether a reply is a refusal: the API's content filter stopped it, or it opens with one."""
    if finish_reason == "content_filter":
        return True
    head = text[:_HEAD]
    lowered = head.lower()
    # substring tests first: the regex costs ten times more and most replies have none of these
    return any(h in lowered for h in _REFUSAL_HINTS) and _REFUSAL.search(head) is not None


def _request_text(event: ChatEvent) -> str:
    """What the client asked with this request: the last user turn it added."""
    for channel, m in reversed(event.new_turns()):
        if channel == "user":
            return m.content[:_REQUEST_CHARS]
    return ""


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in _TOKEN.findall(text.lower()) if w not in _STOP)


class SessionJailbreakParams(DetectorParams):
    min_refusals: int = Field(2, ge=1, description="refusals in a conversation before a compliance is suspect")
    similarity: float = Field(0.3, gt=0, le=1, description="word-set Jaccard that makes a request a rephrasing "
                              "of a refused one")
    min_reply_chars: int = Field(80, ge=0, description="a compliance is a reply at least this long (or a tool call)")
    max_refusals: int = Field(5, ge=2, description="refusals of one client within window_s that make it probing")
    window_s: float = Field(600.0, gt=0)
    realert_s: float = Field(600.0, ge=0, description="quiet time before a client is alerted for probing again")


class _Session:
    __slots__ = ("refusals", "refused")

    def __init__(self) -> None:
        self.refusals = 0
        self.refused: deque[frozenset[str]] = deque(maxlen=4)  # the last refused requests, as word sets


class _Prober:
    __slots__ = ("last_alert", "times")

    def __init__(self, keep: int) -> None:
        self.times: deque[float] = deque(maxlen=keep)
        self.last_alert = -1e18


class SessionJailbreak(ChatDetector):
    """Alerts on a jailbreak won over a session: after ``min_refusals`` refusals in a
    conversation, the application complies (a substantive reply or a tool call) with a request
    that rephrases a refused one (word-set Jaccard ≥ ``similarity`` with one of the last four
    refused) or wraps it in escalation framing (hypotheticals, fiction, role play, "my
    grandmother used to", "just this once", "you already agreed"). Also alerts on a client
    collecting ``max_refusals`` refusals within ``window_s``: probing for what gets through.

    Why: a single-turn filter judges each request alone; the jailbreaks that work in practice
    (crescendo, persona and fiction framings, persistence) are a refusal, then another, then a
    rephrasing that gets through. The refusals are the signal, so nothing is kept for a
    conversation that never had one beyond two counters.

    False-positive budget: none for a conversation with fewer than ``min_refusals`` refusals,
    or whose later requests share under 30 % of their content words with the refused ones and
    use no framing; refusals for missing capabilities ("I'm sorry, but I can't browse") count,
    so a user who keeps asking for them is reported as probing at ``low``.
    """

    name = "session-jailbreak"
    title = "Jailbreak escalated over a session"
    technique_ids = ("AML.T0054",)
    Params = SessionJailbreakParams
    response = {"action": "alert"}

    def setup(self, context: Context) -> None:
        self.sessions: ClientStates[_Session] = self.clients_state(_Session)
        keep = self.params.max_refusals
        self.probers: ClientStates[_Prober] = self.clients_state(lambda: _Prober(keep))

    def on_reply(self, event: ChatEvent) -> list[Alert]:
        reply = event.reply
        if reply is None:
            return []
        p = self.params
        session = self.sessions.get(event.conversation)
        if refusal(reply.text, reply.finish_reason):
            session.refusals += 1
            session.refused.append(_words(_request_text(event)))
            prober = self.probers.get(event.client)
            prober.times.append(event.time)
            if len(prober.times) == p.max_refusals and event.time - prober.times[0] <= p.window_s \
                    and event.time - prober.last_alert > p.realert_s:
                prober.last_alert = event.time
                return [self.chat_alert(event, "low", f"{p.max_refusals} refusals within {p.window_s:.0f} s: "
                                        "probing for a jailbreak", refusals=p.max_refusals)]
            return []
        if session.refusals < p.min_refusals or (len(reply.text.strip()) < p.min_reply_chars and not reply.tool_calls):
            return []
        asked = _request_text(event)
        words = _words(asked)
        similarity = max((len(words & r) / len(words | r) for r in session.refused if words | r), default=0.0)
        framing = _FRAMING.search(asked)
        if similarity < p.similarity and framing is None:
            return []
        refusals = session.refusals
        self.sessions.pop(event.conversation)  # one alert per escalation: start counting afresh
        how = []
        if similarity >= p.similarity:
            how.append(f"rephrases a refused request (similarity {similarity:.2f})")
        if framing is not None:
            how.append(f"uses escalation framing ({framing.group(0)!r})")
        return [self.chat_alert(event, "high" if len(how) == 2 else "medium",
                                f"compliance after {refusals} refusals to a request that {' and '.join(how)}",
                                refusals=refusals, similarity=round(similarity, 3),
                                framing=framing.group(0) if framing else "", request=asked[:200])]


# -- token amplification ---------------------------------------------------------------------------


class TokenAmplificationParams(DetectorParams):
    max_completion_tokens: int = Field(4000, ge=1, description="completion tokens of one reply")
    max_ratio: float = Field(50.0, gt=0, description="completion over prompt tokens of one reply")
    min_ratio_tokens: int = Field(1000, ge=0, description="completion tokens below which the ratio is not judged")
    max_client_tokens: int = Field(200_000, ge=1, description="prompt and completion tokens per client per window")
    window_s: float = Field(60.0, gt=0)
    max_tool_calls: int = Field(8, ge=1, description="tool calls in one reply")
    realert_s: float = Field(300.0, ge=0, description="quiet time before the same client is alerted again")


class _Spend:
    __slots__ = ("last_alert", "seconds", "total")

    def __init__(self) -> None:
        self.seconds: deque[list[int]] = deque()  # [second, tokens]: one entry per second, at most window_s + 1
        self.total = 0
        self.last_alert = -1e18


class TokenAmplification(ChatDetector):
    """Alerts on replies that cost far more than a request should, per client: one reply of
    ``max_completion_tokens`` or more, or whose completion is ``max_ratio`` times its prompt
    (from ``min_ratio_tokens`` up: short replies to one-word prompts are normal), a client
    spending more than ``max_client_tokens`` within ``window_s``, and a reply making
    ``max_tool_calls`` or more tool calls at once (an agent made to fan out).

    Why: cost harvesting and denial of service on an LLM are measured in tokens, not requests —
    a few prompts asking for endless output cost as much as a flood. Tokens come from the reply's
    usage; when the API reported none, completion tokens are estimated as characters / 4 and
    prompt tokens as request bytes / 4. Alerts per client are rate-limited (``realert_s``).

    False-positive budget: none for replies under the thresholds; applications that legitimately
    write long documents set ``max_completion_tokens`` above their longest.
    """

    name = "token-amplification"
    title = "Token amplification (cost harvesting, denial of service)"
    technique_ids = ("AML.T0034", "AML.T0034.001", "AML.T0034.002", "AML.T0029")
    Params = TokenAmplificationParams
    response = {"action": "throttle", "rate": 1.0, "duration_s": 300}

    def setup(self, context: Context) -> None:
        self.spend: ClientStates[_Spend] = self.clients_state(_Spend)

    def on_reply(self, event: ChatEvent) -> list[Alert]:
        reply = event.reply
        if reply is None:
            return []
        p = self.params
        completion, prompt = reply.usage.completion_tokens, reply.usage.prompt_tokens
        estimated = not completion
        if estimated:
            completion = (len(reply.text) + sum(len(c.name) + len(c.arguments) for c in reply.tool_calls)) // 4
        if not prompt:
            prompt = event.bytes_in // 4
        state = self.spend.get(event.client)
        second = int(event.time)
        if state.seconds and state.seconds[-1][0] == second:
            state.seconds[-1][1] += prompt + completion
        else:
            state.seconds.append([second, prompt + completion])
        state.total += prompt + completion
        while state.seconds and state.seconds[0][0] <= event.time - p.window_s:
            state.total -= state.seconds.popleft()[1]
        why: list[str] = []
        techniques: list[str] = []
        if completion >= p.max_completion_tokens:
            why.append(f"{completion} completion tokens in one reply (limit {p.max_completion_tokens})")
            techniques += ["AML.T0034", "AML.T0034.001"]
        elif completion >= p.min_ratio_tokens and prompt > 0 and completion / prompt >= p.max_ratio:
            why.append(f"{completion} completion tokens for a {prompt}-token prompt ({completion / prompt:.0f}x)")
            techniques += ["AML.T0034", "AML.T0034.001"]
        if len(reply.tool_calls) >= p.max_tool_calls:
            why.append(f"{len(reply.tool_calls)} tool calls in one reply (limit {p.max_tool_calls})")
            techniques += ["AML.T0034", "AML.T0034.002"]
        over = state.total > p.max_client_tokens
        if over:
            why.append(f"{state.total} tokens within {p.window_s:.0f} s (limit {p.max_client_tokens})")
            techniques += ["AML.T0034", "AML.T0029"]
        if not why or event.time - state.last_alert <= p.realert_s:
            return []
        state.last_alert = event.time
        return [self.chat_alert(event, "high" if over else "medium", "; ".join(why),
                                technique_ids=tuple(dict.fromkeys(techniques)), completion_tokens=completion,
                                prompt_tokens=prompt, estimated=estimated, tool_calls=len(reply.tool_calls),
                                window_tokens=state.total)]


__all__ = ["HistoryIntegrity", "HistoryIntegrityParams", "SessionJailbreak", "SessionJailbreakParams",
           "TokenAmplification", "TokenAmplificationParams", "refusal", "turn_bytes"]
