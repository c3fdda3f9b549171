"""``advmatrix detect``: a detect worker for gateway replicas that run ``detection: workers``."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Optional

import typer

from ..errors import UsageError
from ._output import err


def detect(config: Path = typer.Option(..., "--config", help="The replicas' gateway YAML (with state: redis://... "
                                       "and detection: workers)."),
           state: Optional[str] = typer.Option(None, "--state", envvar="ADVMATRIX_STATE", help="redis://HOST:PORT/DB, "
                                               "overriding the file's (the environment variable keeps a password "
                                               "out of the process list)."),
           db: Optional[str] = typer.Option(None, "--db", help="Store for the alerts and measures this worker "
                                            "raises (default: the file's db)."),
           name: Optional[str] = typer.Option(None, "--name", help="This worker's name in the consumer group "
                                              "(default: HOST-PID); a restarted worker may reuse its name."),
           lease: float = typer.Option(3.0, "--lease", help="Seconds a shard stays owned without renewal: how long "
                                       "a dead worker's shards wait for a successor."),
           replay: int = typer.Option(10_000, "--replay", help="Events of a shard's history replayed (without "
                                      "alerts) to rebuild the detectors' state when taking a shard over.")) -> None:
    """Run the classifier detectors over the events gateway replicas write to Redis Streams.

    \b
    Replicas with 'detection: workers' hand each observed query to Redis instead of running the
    detectors themselves. Each worker owns its share of the 'shards' streams; a worker started in
    addition waits as a standby, and takes over within --lease seconds when one dies (replaying
    the shard's recent events so that searches under way are still caught). Alerts go to the
    store, the configured sinks and every replica; measures (block, throttle, degrade) reach every
    replica. Each alert is printed as one line on stderr. Stop with Ctrl-C or SIGTERM."""
    from .._extras import require

    require("redis", feature="advmatrix detect")
    from ..gateway import load_config
    from ..gateway._state import redacted
    from ..gateway._worker import DetectWorker
    from .monitor import _Echo

    if not config.is_file():
        raise UsageError(f"--config {config}: no such file")
    cfg = load_config(config, state=state, db=db)
    worker = DetectWorker(cfg, name, lease_s=lease, replay=replay,
                          on_shards=lambda owned: err.print(
                              f"advmatrix detect {worker.name}: owns shards "
                              f"{', '.join(map(str, owned)) or 'none (standby)'} of {cfg.shards}"))
    worker.wrap_writer(_Echo)
    err.print(f"advmatrix detect {worker.name} on {redacted(cfg.state or '')}; detectors: "
              f"{', '.join(d.name for d in worker.gateway.tensor_detectors)}")
    asyncio.run(_serve(worker))


async def _serve(worker) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, worker.stop)
    await worker.run()
    err.print(f"advmatrix detect {worker.name}: stopped after {worker.handled} events, {worker.alerts} alerts")
