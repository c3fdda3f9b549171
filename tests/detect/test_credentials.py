"""The secret-leakage detector fed directly (no gateway): keys, tokens, passwords, card numbers
and personal data in the output, on leaks and on benign answers that look like them, the same
however a stream is cut."""

from __future__ import annotations

import json

import pytest

from advmatrix.detect.credentials import SecretLeakage
from advmatrix.protocols import Message

from ._output_helpers import _event, _first_alert_piece, _same_findings, _secret_findings, _splits, _stream, _whole

OPENAI = "sk-proj-" + "Tq3vB8nW1xZ5cR7yK2mJ9pL4hD6fG0sA_e-u"
SECRETS = [
    ("api-key", OPENAI),
    ("api-key", "sk-live-aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gH"),  # the demo application's payments key
    ("anthropic-key", "sk-ant-api03-Zk4Lm8Np2Qr6St0Uv5Wx9Yz3Ab7Cd1Ef"),
    ("stripe-key", "sk_live_51Hq8ZkL3mN7pQ2rS6tV9wX4"),
    ("aws-access-key", "AKIAZ3QW7RTYUIOPAS2D"),
    ("github-token", "ghp_R8x2Lq7Zm4Kp9Vt3Wn6Yb1Hc5Jd0Fs2Ge8Ua"),
    ("github-token", "github_pat_11ABCDE2F0q8Zk4Lm8Np2Qr6St0Uv5Wx9"),
    ("slack-token", "xoxb-2948173650-7731029384-Qm8Zr4Tn2Vb6"),
    ("google-api-key", "AIzaSyD3k9Lq7Zm4Kp9Vt3Wn6Yb1Hc5Jd0Fs2Gh"),
    ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsInJvbGUiOiJhZG1pbiJ9.q8Zk4Lm8Np2Qr6St0Uv5Wx9"),
    ("private-key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAw7Zk4Lm8Np2Qr6St0Uv5Wx9Yz3Ab7Cd1Ef"),
    ("bearer-token", "Tq3vB8nW1xZ5cR7yK2mJ9pL4hD6fG0s"),
    ("keyword-secret", "Zq8#mP2vL9x!"),
    ("card-number", "4111 1111 1111 1111"),  # the canonical test card: a planted canary card is one
    ("card-number", "5500-0000-0000-0004"),
    ("card-number", "378282246310005"),
    ("email", "alice.moreau@mail.example.net"),
    ("phone", "+1-555-0142"),
    ("phone", "(555) 014-2345"),
]
CONTEXT = {"bearer-token": "curl -H 'Authorization: Bearer {}' https://api.test", "keyword-secret": "DB_PASSWORD={}"}


@pytest.mark.parametrize(("kind", "secret"), SECRETS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(SECRETS)])
def test_secret_is_found_masked_with_its_span(kind, secret):
    text = "Here you go: " + CONTEXT.get(kind, "{}").format(secret) + " — anything else?"
    (alert,) = _whole(SecretLeakage(), text)
    assert alert.evidence["kinds"] == [kind]
    (found,) = alert.evidence["found"]
    start, end = found["span"]
    assert text[start:end].startswith(secret[:12]) and found["value"] == secret[:4] + "…"
    assert secret[:12] not in json.dumps(alert.evidence).replace(found["value"], "")
    assert alert.severity == ("low" if kind in ("email", "phone") else "high")
    if kind not in ("private-key", "jwt"):
        assert text[start:end] == secret


def test_secret_techniques_are_narrowed_to_what_was_found():
    det = SecretLeakage()
    (key,) = _whole(det, f"The payments key is {OPENAI}.")
    assert key.technique_ids == ("AML.T0057", "AML.T0083")  # a key from the agent's configuration
    (card,) = _whole(det, "Card on file: 4111 1111 1111 1111.")
    assert card.technique_ids == ("AML.T0057",)
    rag = _event(Message("user", "summarise the wiki page"), Message("tool", f"deploy notes: key {OPENAI}"))
    (retrieved,) = _whole(det, f"The notes mention the key {OPENAI}.", rag)
    assert retrieved.technique_ids == ("AML.T0057", "AML.T0082", "AML.T0083")
    assert det.response == {"action": "redact"}


BENIGN = [
    "Your order id is 123e4567-e89b-12d3-a456-426614174000 and the fix landed in commit "
    "3f2a9c1e5b7d4f6a8c0e2b4d6f8a0c2e4b6d8f0a.",
    "```python\nclient = OpenAI(api_key=\"sk-...\")\nclient = OpenAI(api_key=\"YOUR_API_KEY\")\n"
    "key = \"sk-xxxxxxxxxxxxxxxxxxxxxxxx\"\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n```",
    "export OPENAI_API_KEY=sk-your-key-here-0000 and set Authorization: Bearer <token>",
    "Order 4111 1111 1111 1112 shipped on 2024-05-01T10:20:30Z.",  # fails the Luhn check
    "Tracking 1715000000123, ticket 9780306406157, server 192.168.100.200:8080, version 1.22.3.",
    "ISBN 978-0-306-40615-7 and 0-306-40615-2; call extension 555-0142 from the lobby.",
    "sha256 a3f94111111111111111b2c7d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b",  # a Luhn-valid run inside a hash
    "```c\nint x = 5551234567; long ts = 1715000000; int port = 8080;\n```",
    "Set max_tokens=1024 and temperature=0.2. Your password is incorrect; the token is valid for 24 hours.",
    "Write to help@example-support.test or support@cobalt.test for anything else.",
    "![chart](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==)",
    "Amounts: 1,234,567,890,123.45 dollars; 16-digit order reference 1234 5678 9012 3456.",
]


@pytest.mark.parametrize("text", BENIGN, ids=range(len(BENIGN)))
def test_secret_leakage_is_quiet_on_benign_hard_negatives(text):
    assert _whole(SecretLeakage(), text) == []


def test_personal_data_settings():
    text = "Alice Moreau, alice.moreau@mail.example.net, +1-555-0142."
    (alert,) = _whole(SecretLeakage(), text)
    assert alert.evidence["kinds"] == ["email", "phone"] and alert.severity == "low"
    assert _whole(SecretLeakage(personal_data=False), text) == []
    (alert,) = _whole(SecretLeakage(allowed_domains=["example.net"]), text)
    assert alert.evidence["kinds"] == ["phone"]  # mail.example.net is a subdomain of an allowed one
    assert _whole(SecretLeakage(cards=False), "card 4111 1111 1111 1111") == []


def test_a_secret_the_client_sent_itself_is_not_a_leak():
    event = _event(Message("user", f"Is {OPENAI} a valid key format?"))
    assert _whole(SecretLeakage(), f"Yes, {OPENAI} looks like a project key.", event) == []


SECRET_STREAM = (
    f"Config dump: OPENAI_API_KEY={OPENAI}\nDB_PASSWORD=Zq8#mP2vL9x! and the card 4111 1111 1111 1111, "
    "mail alice.moreau@mail.example.net or +1-555-0142. Commit 3f2a9c1e5b7d4f6a8c0e2b4d6f8a0c2e4b6d8f0a, "
    "order 4111 1111 1111 1112. Token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.q8Zk4Lm8Np2Qr6St0Uv5Wx9"
)


def test_secret_leakage_is_the_same_however_the_stream_is_cut():
    det = SecretLeakage()
    expected = _secret_findings(_whole(det, SECRET_STREAM))
    assert [k for k, _ in expected] == ["api-key", "card-number", "email", "jwt", "keyword-secret", "phone"]
    for cuts in _splits(SECRET_STREAM):
        for extra in (0, 1000):
            _same_findings(_secret_findings(_stream(det, SECRET_STREAM, cuts, extra=extra)), expected, cuts)


@pytest.mark.parametrize(("detector", "leak"), [
    (SecretLeakage(), f"key {OPENAI}"),
    (SecretLeakage(), "card 4111 1111 1111 1111"),
    (SecretLeakage(), "DB_PASSWORD=Zq8#mP2vL9x!"),
], ids=["key", "card", "password"])
def test_a_leak_is_caught_in_the_piece_that_completes_it_before_it_is_forwarded(detector, leak):
    text = "Here it is: " + leak + ". More text follows."
    end = text.index(leak) + len(leak)
    assert _first_alert_piece(detector, text, [end]) == 0  # not one character of the rest needed
    assert _first_alert_piece(detector, text, [end - 1, end]) in (0, 1)
