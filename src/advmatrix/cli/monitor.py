"""``advmatrix monitor``: put the monitoring gateway in front of a model server."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import UsageError
from ._checks import bound_socket, free_address, http_url, serve_on, socket_url
from ._output import err, out


def monitor(upstream: Optional[str] = typer.Option(None, "--upstream", help="The model server, e.g. http://127.0.0.1:8080"),
            listen: str = typer.Option("127.0.0.1:8100", "--listen", help="HOST:PORT the gateway binds."),
            config: Optional[Path] = typer.Option(None, "--config", help="Gateway YAML (detectors, responses, limits)."),
            db: Optional[str] = typer.Option(None, "--db", help="SQLite file for events, alerts and blocks."),
            alerts_jsonl: Optional[str] = typer.Option(None, "--alerts-jsonl", help="Also append alerts to this JSON-lines file."),
            webhook: Optional[str] = typer.Option(None, "--webhook", help="POST each alert to this URL."),
            reference: Optional[str] = typer.Option(None, "--reference", help=".npy of natural inputs; turns on the "
                                                    "ood and query-coverage detectors, which compare queries with it."),
            system_prompt: Optional[Path] = typer.Option(None, "--system-prompt", help="Text file with the LLM "
                                                         "application's system prompt (for the prompt-leakage "
                                                         "detector)."),
            state: Optional[str] = typer.Option(None, "--state", envvar="ADVMATRIX_STATE", help="redis://HOST:PORT/DB: share blocks, "
                                                "throttles and volume counts with every replica using it "
                                                "(default: in-process)."),
            check: bool = typer.Option(False, "--check", help="Check the configuration (detectors, responses, "
                                       "protocols, allow rules, sinks) and exit: 0 when it would start, 2 with the "
                                       "problem; binds nothing and writes no database.")) -> None:
    """Proxy a model server or an LLM application (OpenAI, Anthropic or Ollama chat APIs), detect
    attacks in its traffic (tagged with ATLAS techniques) and respond. Each alert is also printed as one
    line on stderr.

    \b
    Default responses (set others under 'responses:' in --config):
      boundary-search, similarity-search, membership:
        degrade outputs to labels for 1 hour (every key a group alert names)
      prada, query-coverage: throttle the client to 1 request/s for 1 hour
      volume: throttle to 5 requests/s for 10 minutes (total load: alert only)
      key-rotation, structured-search, segment-search, noise-probe,
      coordinate-probe: alert only
      token-amplification: throttle to 1 request/s for 5 minutes
      prompt-injection, history-integrity: refuse the request
      prompt-leakage: stop the reply; secret-leakage: redact it
      rendering-exfiltration: make links inert
      tool-call-guard: drop the tool calls
      prompt-similarity, session-jailbreak, ood: record the alert only

    --reference turns on the ood and query-coverage detectors (unless --config lists the detectors).

    The admin API (/_advmatrix/alerts, clients, blocks) needs ADVMATRIX_TOKEN as a bearer token;
    /_advmatrix/health and /_advmatrix/metrics (Prometheus) are open."""
    from .._extras import require

    require("serve", feature="advmatrix monitor")
    from ..gateway import create_gateway, load_config
    from ..plugins import registry

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--listen '{listen}': expected HOST:PORT")
    if upstream is not None:
        http_url(upstream, "--upstream")
    cfg = load_config(config, upstream=upstream, db=db, alerts_jsonl=alerts_jsonl, webhook=webhook,
                      reference=reference, state=state, admin_token=os.environ.get("ADVMATRIX_TOKEN"))
    # at its line: the emitted configuration's placeholder is the first thing a --check of it meets
    http_url(cfg.upstream, f"{cfg.where('upstream')}: upstream" if upstream is None and config else "--upstream")
    readers = [name for name, cls in registry("detector").items() if "reference" in cls.context]
    if reference and "detectors" not in cfg.model_fields_set:
        for name in readers:
            cfg.detectors.setdefault(name, {})
    elif reference and not set(readers) & set(cfg.detectors):
        # the config names its detectors, and none reads the sample: given for nothing, say so
        err.print(f"advmatrix: [yellow]warning:[/] --reference is given, but {config} runs no detector that reads it "
                  f"({', '.join(readers)}); name one under 'detectors:'")
    if system_prompt is not None:
        from ..errors import FormatError
        from ..kb._io import read_text

        try:  # a regular UTF-8 file of at most 1 MiB: /dev/zero or a pipe is refused, not read for ever
            cfg.context["system_prompt"] = read_text(system_prompt, limit=2**20)
        except FormatError as exc:
            raise UsageError(f"--system-prompt {exc}") from None
        if not cfg.context["system_prompt"].strip():
            raise UsageError(f"--system-prompt {system_prompt}: the file is empty (it should hold the system prompt)")
    if check:
        from .._files import check_writable
        from ..gateway import check_gateway
        from ..store._engine import sqlite_problem

        ready = check_gateway(cfg)
        # what a start would meet next: the files it writes and the address it binds
        for option, path in (("db", cfg.db), ("alerts_jsonl", cfg.alerts_jsonl)):
            if path and "://" not in str(path):
                problem = sqlite_problem(path) if option == "db" else None
                if problem:
                    raise UsageError(f"{option}: {problem}")
                check_writable(path)
        free_address(host, int(port), "--listen")
        sinks = [*(s.kind for s in cfg.sinks), *(["webhook"] if cfg.webhook else []),
                 *(["alerts-jsonl"] if cfg.alerts_jsonl else [])]
        out.print(f"{config or 'the default configuration'}: would start; detectors: "
                  f"{', '.join(d.name for d in ready.detectors) or 'none'}; protocols: "
                  f"{', '.join(ready.protocols.named)}; sinks: {', '.join(sinks) or 'none'}")
        _say_defaults_off(cfg)
        return
    sock = bound_socket(host, int(port), "--listen")
    app = create_gateway(cfg)
    gateway = app.state.gateway
    gateway.writer = _Echo(gateway.writer)
    err.print(f"advmatrix gateway on {socket_url(sock, '')} -> {cfg.upstream}; detectors: "
              f"{', '.join(d.name for d in gateway.detectors) or 'none'}")
    _say_defaults_off(cfg)
    if not gateway.detectors:
        err.print("advmatrix: [yellow]warning:[/] no detector is configured: traffic is proxied and recorded, nothing is "
                  "detected (name detectors under 'detectors:' in --config)")
    # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any loopback peer (or
    # FORWARDED_ALLOW_IPS) before the gateway sees the request; trusted_proxies decides instead
    try:
        serve_on(sock, app, log_level="warning", proxy_headers=False)
    finally:  # after Ctrl-C or SIGTERM too: what the writer still queues reaches the database, closed cleanly
        gateway.close()


def _say_defaults_off(cfg: Any) -> None:
    """One line per default detector left off for want of its context, and how to turn it on."""
    for name, needs in cfg.defaults_off().items():
        how = " (monitor --system-prompt FILE)" if "system_prompt" in needs else ""
        err.print(f"advmatrix: [yellow]note:[/] default detector {name} is off: it needs context {', '.join(needs)}{how}")


class _Echo:
    """The gateway's event writer, printing each alert as one line on stderr on its way to the
    store, so that whoever started the gateway sees attacks as they are noticed."""

    def __init__(self, writer: Any):
        self._writer = writer

    def alert(self, alert: Any) -> None:
        techniques = ", ".join(alert.technique_ids)
        print(f"advmatrix: alert: {alert.detector} ({alert.severity}) client {alert.client}: {alert.message} "
              f"[{techniques}] -> {alert.action or 'alert'}", file=sys.stderr, flush=True)
        self._writer.alert(alert)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)
