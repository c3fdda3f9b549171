"""``advmatrix serve-llm-app``: the local LLM application that LLM red-team procedures attack."""

from __future__ import annotations

import os
from typing import Optional

import typer

from ._output import err

PROFILES = ("naive", "filtered", "hardened")


def serve_llm_app(profile: str = typer.Option("naive", "--profile", help="How well the application defends itself: naive, filtered or hardened."),
                  host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; loopback by default."),
                  port: int = typer.Option(8200, "--port", min=0, max=65535),
                  seed: int = typer.Option(0, "--seed", help="Draws the canary, the API key and the card numbers."),
                  api_key: Optional[str] = typer.Option(None, "--api-key", envvar="ADVMATRIX_LLM_APP_KEY",
                                                        help="Require 'Authorization: Bearer KEY' on /v1 routes.")) -> None:
    """Serve a rule-based customer-support LLM application over the OpenAI Chat Completions API."""
    from .._extras import require
    from ..errors import UsageError

    require("serve", feature="advmatrix serve-llm-app")
    if profile not in PROFILES:
        raise UsageError(f"unknown profile '{profile}' (choose {', '.join(PROFILES)})")
    from ..serving import make_llm_app

    app = make_llm_app(profile=profile, seed=seed, api_key=api_key or os.environ.get("ADVMATRIX_LLM_APP_KEY"))
    from ._checks import bound_socket, serve_on, socket_url

    sock = bound_socket(host, port, "--port")  # before the banner, which names the port really bound
    err.print(f"advmatrix LLM application ({profile}) on {socket_url(sock, '/v1')} (test plumbing: /admin)")
    serve_on(sock, app, log_level="warning")
