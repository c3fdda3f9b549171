"""``advmatrix monitor``: put the monitoring gateway in front of a model server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from ..errors import UsageError
from ._output import err


def monitor(upstream: Optional[str] = typer.Option(None, "--upstream", help="The model server, e.g. http://127.0.0.1:8080"),
            listen: str = typer.Option("127.0.0.1:8100", "--listen", help="HOST:PORT the gateway binds."),
            config: Optional[Path] = typer.Option(None, "--config", help="Gateway YAML (detectors, responses, limits)."),
            db: Optional[str] = typer.Option(None, "--db", help="SQLite file for events, alerts and blocks."),
            alerts_jsonl: Optional[str] = typer.Option(None, "--alerts-jsonl", help="Also append alerts to this JSON-lines file."),
            webhook: Optional[str] = typer.Option(None, "--webhook", help="POST each alert to this URL."),
            reference: Optional[str] = typer.Option(None, "--reference", help=".npy of natural inputs (for the ood "
                                                    "and query-coverage detectors)."),
            system_prompt: Optional[Path] = typer.Option(None, "--system-prompt", help="Text file with the LLM "
                                                         "application's system prompt (for the prompt-leakage "
                                                         "detector).")) -> None:
    """Proxy a model server or an LLM application (OpenAI, Anthropic or Ollama chat APIs), detect
    attacks in its traffic (tagged with ATLAS techniques) and respond.

    The admin API (/_advmatrix/alerts, clients, blocks) needs ADVMATRIX_TOKEN as a bearer token;
    /_advmatrix/health and /_advmatrix/metrics (Prometheus) are open."""
    from .._extras import require

    require("serve", feature="advmatrix monitor")
    import uvicorn

    from ..gateway import create_gateway, load_config

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--listen '{listen}': expected HOST:PORT")
    cfg = load_config(config, upstream=upstream, db=db, alerts_jsonl=alerts_jsonl, webhook=webhook,
                      reference=reference, admin_token=os.environ.get("ADVMATRIX_TOKEN"))
    if system_prompt is not None:
        try:
            cfg.context["system_prompt"] = system_prompt.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--system-prompt {system_prompt}: cannot read it ({exc.__class__.__name__})") from None
    app = create_gateway(cfg)
    err.print(f"advmatrix gateway on http://{listen} -> {cfg.upstream}; detectors: "
              f"{', '.join(d.name for d in app.state.gateway.detectors)}")
    uvicorn.run(app, host=host, port=int(port), log_level="warning")
