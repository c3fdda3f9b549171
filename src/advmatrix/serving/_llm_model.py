"""The deterministic "model" behind the local LLM application: it reads a conversation, decides
what to follow, and answers as a naive, a filtered or a hardened application would.

One step (:meth:`SupportModel.respond`) goes like this:

1. The context is gathered: the application's own system prompt, the client's system messages,
   the user turns, assistant turns sent by the client, tool results after the last user turn,
   documents retrieved by keyword overlap with the last user turn (plus the newest ones when the
   user asks about new documents), and the inbox when the user asks about e-mail.
2. Every text is read in all its decoded forms (``_llm_decode``) and its intents recognised
   (``_llm_intents``). An intent found only in a decoded form is *obfuscated*. A user turn that
   contains a transcript (``User: ... Assistant: ...`` lines) is split into forged history and the
   final request. A follow-up turn ("now all of them", "go on") inherits the requests of earlier
   user turns. Conditional rules (``trigger``) stated before this turn are remembered: in earlier
   user turns (and forged turns inside them or this one), the client's system messages, and the
   documents, e-mails, fetched pages and tool results earlier turns brought in. When the last user
   turn (its own rules blanked) contains a rule's phrase (case, punctuation and plurals aside), the
   rule's action joins the requests as inherited (logged ``kind@channel:trigger``). Requests to
   copy text into *every* reply are remembered the same way.
3. The profile decides which requests to follow:

   - ``naive`` follows every request wherever it appears: user turn, client system message,
     retrieved document, web page, e-mail, tool result.
   - ``filtered`` runs a keyword and pattern filter over the *plain* text of the last user turn
     and of each untrusted item, before any decoding. An override, reveal, share, risky tool
     (send_email, delete_file, http_get off the allow-list) or render request in the plain user
     turn gets a refusal, unless the turn is framed as fiction or role-play or the history shows
     the assistant already complying (forged or many-shot turns). Any request in the plain text
     of an untrusted item blocks that item. Requests that only decoding reveals, and requests
     inherited by a follow-up turn, pass.
     A rule in the turn that states it is acknowledged, never acted on (the filter refuses it when
     what it asks for later is risky); a remembered rule fires in any profile but ``hardened``
     (``filtered`` forgets rules in untrusted items its filter blocked). Copy requests are risky
     for the filter (followed only obfuscated or framed, also when remembered); questions about
     the tools and very long answers are not.
   - ``hardened`` never follows untrusted content (it is data, quoted only when it holds no
     instruction); refuses overrides, off-task echoes, prompt and data disclosure; calls tools
     only at the user's own request, never delete_file, e-mail only inside the company and never
     with sensitive data, http_get and images only on the allow-listed host; and checks every
     reply and tool argument for the canary, the API key, card numbers, customer e-mails and
     phones, the internal URL and 8-word runs of its prompt (also after decoding the reply),
     withholding the reply when one is found. It keeps no rules, copies nothing into its replies,
     describes its tools in general terms only, and cuts every answer at ``HARDENED_CAP`` (300)
     tokens with a note.

4. Followed tool requests become tool calls (bound to the tools the client offered, by name or by
   meaning); when no tool call is left to make, the text is composed: tool outcomes, echoed
   text, the revealed prompt or shared data (encoded when asked: base64, hex, rot13, binary,
   reversed, spaced), rendered images or links with the requested data in their URL, refusals,
   or a helpful answer from the documents; the tool list (names and parameters, or the JSON
   schemas) when asked; a long answer (``_llm_output``: the unit N times, the numbers, prose or a
   list) bounded by the request's ``max_tokens`` or else ``LONG_CAP`` (8,000) tokens; a short
   acknowledgement for a rule set for later; and the text to copy, verbatim, at the start (or the
   end) of the reply.
5. The naive and filtered applications put user text into a ChatML prompt without escaping it, so
   a ChatML end-of-turn token in what they would say ends the reply there (``stop_at_special``).

The model is spread over one module per stage, each holding a part of :class:`SupportModel`:
``_llm_conversation`` (the records, and reading the conversation: steps 1 and 2), ``_llm_policy``
(the profile's decision and the hardened output check: step 3), ``_llm_tool_calls`` (tool calls and
the data they carry) and ``_llm_compose`` (the text: step 4). This module holds the step itself
(:meth:`SupportModel.respond`) and the template's end-of-turn tokens (step 5).
"""

from __future__ import annotations

import random
import re
from typing import Any

from . import _llm_data as data
from . import _llm_output as gen
from ._llm_compose import _AnswerComposer
from ._llm_conversation import _REQUESTS, _SENSITIVE_INTENTS, Msg, Planned, Step, _ConversationReader, _Directive, _read
from ._llm_conversation import UNTRUSTED as UNTRUSTED
from ._llm_cues import is_followup
from ._llm_grammar import Intent
from ._llm_policy import _ProfilePolicy
from ._llm_tool_calls import _ToolPlanner

PROFILES = ("naive", "filtered", "hardened")
#: how long an answer gets without max_tokens (naive, filtered), and at most (hardened)
LONG_CAP = 8000
HARDENED_CAP = 300
_CAP_NOTE = f"(I keep my answers under {HARDENED_CAP} tokens, so I stopped here.)"


#: the end-of-turn tokens of the ChatML template the naive and filtered applications build their
#: prompt with, unescaped: written out, they end the generation like the real tokens would
SPECIAL_STOPS = ("<|im_end|>", "<|endoftext|>")
_STOP_AT = re.compile("|".join(re.escape(t) for t in SPECIAL_STOPS))


def stop_at_special(text: str) -> str:
    """The reply up to the first end-of-turn token of the template: a model that "says" one ends
    its turn there. This is what makes the template observable from outside (AML.T0069.000): the
    hardened application escapes user text, so the markers stay text there."""
    m = _STOP_AT.search(text)
    return text[:m.start()].rstrip() if m else text


def count_tokens(text: str) -> int:
    """Tokens as this application counts them: roughly one per word or punctuation run."""
    return len(re.findall(r"\w+|[^\w\s]+", text))


class SupportModel(_ConversationReader, _ProfilePolicy, _ToolPlanner, _AnswerComposer):
    """The assistant of one app instance: a profile, its secrets and its stores."""

    def __init__(self, profile: str, secrets: data.Secrets, world: data.World):
        self.profile = profile
        self.secrets = secrets
        self.world = world
        self.prompt = data.system_prompt(secrets)
        self._prompt_grams = self._grams(self.prompt)

    # -- the step ----------------------------------------------------------------------------------
    def respond(self, messages: list[Msg], tools: list[dict[str, Any]], *, tool_choice: Any = "auto",
                rng: random.Random | None = None, final: bool = False, max_tokens: int | None = None) -> Step:
        """One model step over ``messages`` with ``tools`` offered (OpenAI function schemas);
        ``max_tokens`` bounds how much a request for a very long answer gets."""
        rng = rng or random.Random(0)
        offered = {t["function"]["name"]: t["function"] for t in tools if isinstance(t.get("function"), dict)}
        names = tuple(sorted(set(offered) | set(data.TOOL_NAMES)))
        last = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
        user_text = messages[last].content if last >= 0 else ""
        earlier = [m.content for m in messages[:max(last, 0)] if m.role == "user"]
        client_system = [m.content for m in messages if m.role in ("system", "developer")]

        # forged history: assistant turns sent by the client, and transcripts inside the user turn
        shots = self._pairs(messages[:max(last, 0)])
        request_text, embedded = self._split_transcript(user_text)
        shots += embedded
        compliance = sum(self._complied(u, a, names) for u, a in shots)

        user_intents, _ = _read(request_text, names)
        framing = any(i.kind == "framing" for i, _ in user_intents)
        attack_here = any(i.kind in _REQUESTS for i, _ in user_intents)
        directives = [_Directive(i, "user", obf) for i, obf in user_intents]
        if not attack_here and is_followup(request_text):
            for text in reversed(earlier[-5:]):
                old = [_Directive(i, "user", obf, inherited=True) for i, obf in _read(self._split_transcript(text)[0],
                                                                                        names)[0]
                       if i.kind in _SENSITIVE_INTENTS or i.kind in ("echo", "encoding", "long")]
                if old:
                    if re.search(r"\b(?:all|full|complete|entire|whole|rest|every|others)\b", request_text, re.I):
                        for d in old:
                            if d.intent.kind == "share":
                                d.intent = Intent("share", {**d.intent.args, "one": False}, d.intent.span)
                    directives += old
                    break
        for text in client_system:
            directives += [_Directive(i, "system", obf) for i, obf in _read(text, names)[0]]

        items = self._context(messages, last, request_text, user_intents, names)
        for item in items:
            directives += [_Directive(i, item.channel, obf, item=item) for i, obf in item.intents]
        # rules stated earlier in the conversation whose trigger this turn says, and text to copy into
        # every reply
        step = Step()
        directives += self._remembered(messages, last, request_text, embedded, client_system, names, step)

        done = self._done(messages, last)
        followed, refusals, flagged = self._policy(directives, items, framing, compliance, step)
        if refusals and refusals[0] == "__filter__":
            step.text = self._refusal_filter(rng)
            return step

        calls = [] if final else self._tool_calls(followed, offered, tool_choice, user_text, messages, last, done, step,
                                                  refusals)
        if calls:
            step.tool_calls = calls
            return step
        if self.profile == "hardened":
            budget = HARDENED_CAP + 20
        else:
            budget = min(max_tokens + 1, 200_000) if max_tokens else LONG_CAP - 10
        step.text = self._compose(followed, refusals, flagged, items, messages, last, request_text, framing, rng,
                                  offered, budget)
        if self.profile != "hardened":
            step.text = stop_at_special(step.text)
        if self.profile == "hardened" and gen.tokens(step.text) > HARDENED_CAP:
            step.text = gen.cut(step.text, HARDENED_CAP - gen.tokens(_CAP_NOTE) - 1) + "\n\n" + _CAP_NOTE
        if self.profile == "hardened" and self.leaks(step.text):
            step.refused.append("output-guard")
            step.text = "I'm sorry, but I can't share that information."
        return step


__all__ = ["PROFILES", "Msg", "Planned", "Step", "SupportModel", "count_tokens"]
