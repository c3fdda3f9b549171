"""Secrets and personal data in an LLM application's output: keys, tokens, passwords, payment
card numbers, e-mail addresses and phone numbers (AML.T0057, AML.T0082, AML.T0083).

Notes on streams (the whole story is in :mod:`advmatrix.detect._output`): a finding is reported
in the piece where it ends, before the gateway forwards that piece, with the extent seen so far
(an API key cut at a chunk boundary is reported as far as it got), and the exchange's notes
remember where it starts, so it is never reported twice.
"""

from __future__ import annotations

import math
import re

from pydantic import Field, field_validator

from ._base import Alert, DetectorParams
from ._chat import ChatDetector, ChatEvent, OutputPiece
from ._output import Reported, card_network, is_due, luhn, mask, scan_start


def _entropy(text: str) -> float:
    """Shannon entropy of the characters of ``text``, in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in (text.count(ch) for ch in set(text)))


#: prefixes the keyword and bearer rules leave to the format rules (one finding per secret)
_KNOWN_PREFIX = r"(?!sk-|[sr]k_(?:live|test)_|A[KS]IA|gh[pousr]_|github_pat_|xox[baprs]-|AIza|eyJ)"
#: where a keyword secret may be, in the lower-cased output: one pass of a literal alternation
#: (the search skips ahead on its first characters), the exact rule tried at each place found
_KEYWORD_ANCHOR = re.compile(r"(?:password|passwd|passphrase|credential|secret|token|key|pwd|bearer)"
                             r"(?=s?[\"']?[ \t]{0,3}(?:[:=]|is\b)|(?<=bearer)[ \t])")
#: the output as bytes where the characters of a key ([A-Za-z0-9_-]) are "w" and the rest " ": a
#: key format begins where a run of 16 or more of them begins, found with bytes.find at C speed
_KEY_CHARS = bytes(0x77 if (chr(b).isalnum() and b < 128) or b in b"_-" else 0x20 for b in range(256))
_KEY_RUN = b"w" * 16
_FORMAT = re.compile(
    r"(?P<anthropic>sk-ant-[A-Za-z0-9_-]{20,200})"
    r"|(?P<openai>sk-(?!ant-)(?:proj-|svcacct-|admin-|live-)?[A-Za-z0-9_-]{20,200})"
    r"|(?P<stripe>[sr]k_(?:live|test)_[A-Za-z0-9]{16,200})"
    r"|(?P<aws>A[KS]IA[0-9A-Z]{16})(?![A-Za-z0-9])"
    r"|(?P<github>gh[pousr]_[A-Za-z0-9]{30,200}|github_pat_[A-Za-z0-9_]{22,200})"
    r"|(?P<slack>xox[baprs]-[A-Za-z0-9-]{16,200})"
    r"|(?P<google>AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])"
    r"|(?P<jwt>eyJ[A-Za-z0-9_-]{13,150}\.eyJ[A-Za-z0-9_-]{4,120}(?:\.[A-Za-z0-9_-]{0,40})?)"
    r"|(?P<pem>-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\s]{0,160})"
    r"|(?i:bearer)[ \t]{1,3}" + _KNOWN_PREFIX + r"(?P<bearer>[A-Za-z0-9._~+/-]{20,200}={0,2})"
)
#: after key / token / secret / password...: a separator, then the value
_KEYWORD_TAIL = re.compile(
    r"s?(?![A-Za-z0-9])[\"']?[ \t]{0,3}(?:[:=]|=>|is(?![A-Za-z0-9]))[ \t]{0,3}[\"'`]?"
    + _KNOWN_PREFIX + r"(?P<keyword>[A-Za-z0-9_+/=~!@#$%^&*.-]{7,119}[A-Za-z0-9_+/=~!@#$%^&*-])"
)
#: words that name a credential when glued to the keyword (apikey, accesstoken, secretkey)
_KEYWORD_HEADS = ("api", "access", "secret", "private", "client", "auth")
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SECRET_LONGEST = 320
#: group name -> (kind in the evidence, whether its value needs the random-looking check)
_SECRET_KINDS = {
    "anthropic": ("anthropic-key", True), "openai": ("api-key", True), "stripe": ("stripe-key", True),
    "aws": ("aws-access-key", True), "github": ("github-token", True), "slack": ("slack-token", True),
    "google": ("google-api-key", False), "jwt": ("jwt", False), "pem": ("private-key", False),
    "bearer": ("bearer-token", True), "keyword": ("keyword-secret", True),
}
_PREFIX = re.compile(r"^(?:sk-ant-|sk-(?:proj-|svcacct-|admin-|live-)?|[sr]k_(?:live|test)_|A[KS]IA|gh[pousr]_"
                     r"|github_pat_|xox[baprs]-)")
#: words documentation puts in the place of a real key
_PLACEHOLDER = re.compile(r"xxxx|\*\*\*|\.\.\.|your|example|placeholder|redacted|dummy|sample|fake|insert|here"
                          r"|changeme|secret|token|password|0000000|1234567|abcdef", re.IGNORECASE)
_CARD = re.compile(r"(?<![\w./-])(?<!\d[ -])\d(?:[ -]?\d){12,18}(?![\w-]|[ -]\d|\.\d)")
_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,4}[A-Za-z]{2,24}"
                    r"(?![\w-]|\.\w)")
_EMAIL_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_PHONE = re.compile(
    r"(?<![\w+.-])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w-]|[ .-]\(?\d)"      # international: +1-555-0142
    r"|(?<![\w+.(-])(?<!\d[ .-])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w-]|[.-]\d)"  # national: (555) 014-2345
)
#: the output as bytes of digit classes, so that numbers are found with bytes.find (C speed):
#: for cards, digits are "0", spaces and dashes "s", the rest "x"; for phones dots are "s" too
_CARD_CLASSES = bytes(0x30 if 0x30 <= b <= 0x39 else 0x73 if b in b" -" else 0x78 for b in range(256))
#: a run of digits and single or double separators, at least 13 characters, in _CARD_CLASSES
_DIGIT_RUN = re.compile(rb"0[0s]{11,}0")
_PHONE_CLASSES = bytes(0x30 if 0x30 <= b <= 0x39 else 0x73 if b in b" .-" else b if b in b"()+" else 0x78
                       for b in range(256))
#: the longest card, e-mail and phone matches (for where a scan may begin)
_PII_LONGEST = 64 + 1 + 4 * 64 + 24
#: mailboxes of a role, not a person: an application gives out its support address on purpose
_ROLE_MAILBOXES = frozenset((
    "support", "help", "helpdesk", "info", "contact", "sales", "noreply", "no-reply", "donotreply", "privacy",
    "security", "billing", "hello", "team", "orders", "newsletter", "abuse", "postmaster", "webmaster",
    "careers", "jobs", "press", "legal", "feedback", "service", "customerservice", "admin", "office", "returns",
))
_HIGH = ("AML.T0057", "AML.T0083")
#: a finding: kind, value, start and end in ``piece.seen``
_Found = tuple[str, str, int, int]


class SecretLeakageParams(DetectorParams):
    min_entropy: float = Field(3.0, ge=0, le=6, description="bits per character a value after key/token/secret/"
                               "password (or a bearer token) needs to count as a secret (a short value: a little "
                               "less than the most its length allows)")
    cards: bool = Field(True, description="look for payment card numbers (Luhn-valid, with a card network's "
                        "prefix and length)")
    personal_data: bool = Field(True, description="look for e-mail addresses and phone numbers (low severity)")
    allowed_domains: list[str] = Field(default_factory=list, description="e-mail domains (and their subdomains) "
                                       "the application may show")

    @field_validator("allowed_domains")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [d.strip().lower().lstrip("*.@") for d in value if d.strip()]


class SecretLeakage(ChatDetector):
    """Credentials, payment card numbers and personal data in the output: data leakage
    (AML.T0057) of keys held in the agent's configuration (AML.T0083) or pulled in by retrieval
    (AML.T0082, when the secret is in a tool result of the request).

    Rules and why:

    - key formats with a fixed prefix (OpenAI-style ``sk-``, Anthropic ``sk-ant-``, Stripe, AWS
      access key IDs, GitHub, Slack, Google API keys, JWTs, private-key PEM blocks): the prefix
      makes a false match unlikely; a random-looking body (a digit, a letter, not a placeholder
      such as ``sk-xxxx…`` or ``YOUR_API_KEY``, AWS's documented ``…EXAMPLE`` key) tells a real key
      from documentation;
    - a value after ``api_key``, ``token``, ``secret``, ``password``… (``:``, ``=``, ``is``) or
      ``Bearer``, when it has ``min_entropy`` bits per character and mixes letters with digits or
      symbols: credentials without a format;
    - card numbers: 13 to 19 digits (spaces or dashes between) that pass the Luhn check *and*
      carry a card network's prefix and length, not inside a longer run of digits, letters or
      dots (hashes, UUIDs, IP addresses, version numbers). Test cards such as 4111 1111 1111 1111
      are flagged too: a canary card planted in an application is one of them;
    - personal data (``personal_data``, low severity): e-mail addresses outside
      ``allowed_domains`` that are not role mailboxes (``support@``…), and phone numbers written
      as phone numbers (a leading ``+``, or 3-3-4 digits with separators; bare digit runs in
      code are not).

    Secrets the client itself sent in this request are not reported (echoing a user's own key is
    no leak). One alert per piece with something new, with every finding's kind, masked value
    and span; in a stream a finding is reported in the piece where it ends, as far as it got
    (see the module's notes), and never again. False-positive budget: none on help-centre
    answers and code samples (UUIDs, commit hashes, timestamps, IP addresses, ISBNs,
    placeholder keys); personal data is low severity because an application may show a
    customer their own details.

    Limitations: only the first 160 characters of a private key's body are in its span (a
    stream is stopped on the header anyway); a secret the model re-encodes (base64, spaced out)
    is not recognised; a password without digits or symbols is not flagged.
    """

    name = "secret-leakage"
    title = "Secret and personal data leakage"
    technique_ids = ("AML.T0057", "AML.T0082", "AML.T0083")
    Params = SecretLeakageParams
    response = {"action": "redact"}
    window = 400

    def on_output(self, event: ChatEvent, piece: OutputPiece) -> list[Alert]:
        """Report the secrets and personal data completed in this piece."""
        seen = piece.seen
        begin = scan_start(piece, max(_SECRET_LONGEST, _PII_LONGEST))
        raw = seen[begin:].encode("ascii", "replace")  # one byte per character, for bytes.translate
        found = self._secrets(piece, seen, begin, raw)
        p = self.params
        if p.cards:
            found += self._cards(piece, seen, begin, raw.translate(_CARD_CLASSES))
        if p.personal_data:
            found += self._emails(piece, seen, begin)
            found += self._phones(piece, seen, begin, raw.translate(_PHONE_CLASSES))
        if not found:
            return []
        reported = event.notes.get(self.name)
        if reported is None:
            reported = event.notes[self.name] = Reported(max(_SECRET_LONGEST, _PII_LONGEST))
        found = [f for f in found if reported.fresh(piece, f[2], f[0])]
        found = self._not_sent_by_client(event, found)
        if not found:
            return []
        found.sort(key=lambda f: f[2])
        kinds = sorted({f[0] for f in found})
        secret = [k for k in kinds if k not in ("email", "phone")]
        if any(k != "card-number" for k in secret):
            ids: tuple[str, ...] = _HIGH
            if self._retrieved(event, [f[1] for f in found]):
                ids = ("AML.T0057", "AML.T0082", "AML.T0083")
        else:
            ids = ("AML.T0057",)
        severity = "high" if secret else "low"
        items = [{"kind": k, "value": mask(v), "span": [piece.start + s, piece.start + e]} for k, v, s, e in found]
        what = ", ".join(f"{sum(f[0] == k for f in found)} {k}" for k in kinds)
        message = f"output discloses {'secrets' if secret else 'personal data'}: {what}"
        return [self.chat_alert(event, severity, message, technique_ids=ids, kinds=kinds, found=items,
                                spans=[item["span"] for item in items])]

    def _secrets(self, piece: OutputPiece, seen: str, begin: int, raw: bytes) -> list[_Found]:
        """Key formats, then bearer tokens and values after key / token / secret / password."""
        found: list[_Found] = []
        places = []
        classes = raw.translate(_KEY_CHARS)
        hit = classes.find(_KEY_RUN)
        while hit >= 0:
            places.append(begin + hit)  # a run begins here (a key glued to other characters is none)
            end = classes.find(b" ", hit)
            hit = -1 if end < 0 else classes.find(_KEY_RUN, end)
        pem = seen.find("-----BEGIN ", begin)
        while pem >= 0:
            if not pem or seen[pem - 1] not in _TOKEN_CHARS:
                places.append(pem)
            pem = seen.find("-----BEGIN ", pem + 1)
        for at in places:
            v = _FORMAT.match(seen, at)
            if v is not None and v.lastgroup != "bearer":
                found.append(self._value(piece, v, v.lastgroup or ""))
        lowered = seen[begin:].lower()
        if len(lowered) != len(seen) - begin:  # lower() lengthened a character: keep offsets exact
            lowered = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in seen[begin:])
        for m in _KEYWORD_ANCHOR.finditer(lowered):
            at = begin + m.start()
            if m.group() == "bearer":
                v = _FORMAT.match(seen, at) if not at or seen[at - 1] not in _TOKEN_CHARS else None
                group = "bearer"
            elif self._keyword_starts(seen, at):
                v = _KEYWORD_TAIL.match(seen, begin + m.end())
                group = "keyword"
            else:
                continue
            if v is not None and v.lastgroup == group:
                found.append(self._value(piece, v, group))
        return [f for f in found if f[0]]

    def _value(self, piece: OutputPiece, v: re.Match, group: str) -> _Found:
        """The finding of a match, or an empty one when it is not decided here or not a secret."""
        kind, random_looking = _SECRET_KINDS[group]
        value = v.group(group)
        if not is_due(piece, v.end()) or (random_looking and not self._random_looking(group, value)):
            return ("", "", 0, 0)
        return (kind, value, v.start(group), v.end(group))

    @staticmethod
    def _keyword_starts(seen: str, at: int) -> bool:
        """Whether the keyword at ``at`` begins a word, or follows one of the heads (``apikey``)."""
        if not at or not seen[at - 1].isalnum():
            return True
        head = seen[max(0, at - 7):at].lower()
        return any(head.endswith(h) and (at - len(h) <= 0 or not seen[at - len(h) - 1].isalnum())
                   for h in _KEYWORD_HEADS)

    @staticmethod
    def _cards(piece: OutputPiece, seen: str, begin: int, classes: bytes) -> list[_Found]:
        """Runs of 13 to 19 digits (single spaces or dashes between) that pass the Luhn check and
        carry a card network's prefix and length."""
        found: list[_Found] = []
        for run in _DIGIT_RUN.finditer(classes):
            at = run.start()
            for part in run.group().split(b"ss"):  # two separators in a row end a card
                skip = len(part) - len(part.lstrip(b"s"))
                if 13 <= part.count(b"0") <= 19:
                    m = _CARD.match(seen, begin + at + skip)
                    if m and is_due(piece, m.end()):
                        digits = m.group().replace(" ", "").replace("-", "")
                        if card_network(digits) and luhn(digits):
                            found.append(("card-number", m.group(), m.start(), m.end()))
                at += len(part) + 2
        return found

    def _emails(self, piece: OutputPiece, seen: str, begin: int) -> list[_Found]:
        found: list[_Found] = []
        at = seen.find("@", begin)
        while at >= 0:
            start = at
            while start > max(begin, at - 65) and seen[start - 1] in _EMAIL_LOCAL:
                start -= 1
            m = _EMAIL.match(seen, start)
            if m and m.end() > at and is_due(piece, m.end()) and self._personal_email(m.group()):
                found.append(("email", m.group(), m.start(), m.end()))
            at = seen.find("@", at + 1)
        return found

    @staticmethod
    def _phones(piece: OutputPiece, seen: str, begin: int, classes: bytes) -> list[_Found]:
        starts = set()
        for needle, back in ((b"+0", 0), (b"0s000s0000", 2), (b"0)s000s0000", 3)):
            hit = classes.find(needle)
            while hit >= 0:
                if hit >= back:
                    starts.add(hit - back)
                hit = classes.find(needle, hit + 1)
        found: list[_Found] = []
        for start in sorted(starts):
            m = _PHONE.match(seen, begin + start)
            if m and is_due(piece, m.end()) and 8 <= sum(ch.isdigit() for ch in m.group()) <= 15:
                found.append(("phone", m.group(), m.start(), m.end()))
        return found

    def _random_looking(self, group: str, value: str) -> bool:
        """A real key or password, not the placeholder documentation shows in its place."""
        body = _PREFIX.sub("", value) if group not in ("keyword", "bearer") else value
        if _PLACEHOLDER.search(body):
            return False
        has_digit = any(ch.isdigit() for ch in body)
        has_alpha = any(ch.isalpha() for ch in body)
        if group in ("keyword", "bearer"):
            has_symbol = any(not ch.isalnum() for ch in body)
            # a short password cannot reach min_entropy: it needs nearly all its characters distinct
            needed = min(self.params.min_entropy, math.log2(len(body)) - 0.6)
            return has_alpha and (has_digit or has_symbol) and _entropy(body) >= needed
        # an AWS key ID is 16 base-32 characters: one in thirty has no digit
        return (has_digit or group == "aws") and has_alpha and _entropy(body) >= 3.0

    def _personal_email(self, address: str) -> bool:
        local, _, domain = address.lower().rpartition("@")
        if local in _ROLE_MAILBOXES or local.split("+")[0] in _ROLE_MAILBOXES:
            return False
        return not any(domain == d or domain.endswith("." + d) for d in self.params.allowed_domains)

    @staticmethod
    def _not_sent_by_client(event: ChatEvent, found: list[_Found]) -> list[_Found]:
        """Drop what the client's own new turns contain (checked only when something was found)."""
        sent = [m.content for channel, m in event.new_turns() if channel == "user" and m.content]
        if not sent:
            return found
        return [f for f in found if not any(f[1] in text for text in sent)]

    @staticmethod
    def _retrieved(event: ChatEvent, values: list[str]) -> bool:
        """Whether a secret came from a tool result of this request (retrieval), not the agent's
        configuration."""
        results = [text for channel, text in event.untrusted() if channel == "tool_result"]
        return any(v in text for v in values for text in results)


__all__ = ["SecretLeakage"]
