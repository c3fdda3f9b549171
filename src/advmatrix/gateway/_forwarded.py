"""Reading the client's address from a trusted proxy's forwarded headers (RFC 7239 and
X-Forwarded-For): the pieces the gateway's client identity is built from."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator


def is_ip(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def forwarded_for(value: str) -> Iterator[str]:
    """The ``for=`` addresses of a Forwarded header (RFC 7239), quotes, brackets and ports removed."""
    for element in value.split(","):
        for pair in element.split(";"):
            key, _, v = pair.strip().partition("=")
            if key.lower() == "for":
                v = v.strip().strip('"')
                if v.startswith("["):  # [v6] or [v6]:port
                    v = v[1:v.find("]")] if "]" in v else v[1:]
                elif v.count(":") == 1:  # v4:port
                    v = v.partition(":")[0]
                yield v
