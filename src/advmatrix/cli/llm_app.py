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
                                                        help="Require 'Authorization: Bearer KEY' on /v1 routes."),
                  print_target: bool = typer.Option(False, "--print-target", help="Print the target description of the application at --host and --port (YAML for advmatrix assess: its tools, its system prompt, the channels it reads and the /admin routes that plant content in them) and exit."),
                  via: Optional[str] = typer.Option(None, "--via", metavar="GATEWAY", help="With --print-target: send the chat traffic through the gateway at this URL (for assess --gateway-admin); content is still planted at the application.")) -> None:
    """Serve a rule-based customer-support LLM application over the OpenAI Chat Completions API."""
    from .._extras import require
    from ..errors import UsageError

    if profile not in PROFILES:
        raise UsageError(f"unknown profile '{profile}' (choose {', '.join(PROFILES)})")
    if via is not None and not print_target:
        raise UsageError("--via goes with --print-target")
    if print_target:
        import yaml

        from ..serving.llm_target import practice_target

        # a description to save and assess once the application is up at that address (a port of 0 has none)
        if port == 0:
            raise UsageError("--print-target needs the --port the application will listen on, not 0")
        if via is not None and not via.startswith(("http://", "https://")):
            raise UsageError(f"--via {via!r}: the gateway's base URL, e.g. http://127.0.0.1:8100")
        keyed = bool(api_key or os.environ.get("ADVMATRIX_LLM_APP_KEY"))
        if keyed and not os.environ.get("ADVMATRIX_LLM_APP_KEY"):
            err.print("export ADVMATRIX_LLM_APP_KEY with the --api-key value for assess to send it")
        target = practice_target(f"http://{host}:{port}", profile, seed, via=via, keyed=keyed)
        typer.echo(yaml.safe_dump(target, sort_keys=False, width=120), nl=False)
        return
    require("serve", feature="advmatrix serve-llm-app")
    from ..serving import make_llm_app

    app = make_llm_app(profile=profile, seed=seed, api_key=api_key or os.environ.get("ADVMATRIX_LLM_APP_KEY"))
    from ._checks import bound_socket, serve_on, socket_url

    sock = bound_socket(host, port, "--port")  # before the banner, which names the port really bound
    err.print(f"advmatrix LLM application ({profile}) on {socket_url(sock, '/v1')} (test plumbing: /admin)")
    serve_on(sock, app, log_level="warning")
