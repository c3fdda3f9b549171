"""A scratch lab for the scale-out benchmark: a redis-server, the model server, gateway replicas
and detect workers as processes of their own, all stopped and removed on exit."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _procs import free_port, wait, within  # bench/ is on sys.path when a benchmark runs

HERE = Path(__file__).resolve().parent


class Lab(contextlib.ExitStack):
    """A scratch folder, a redis-server and every process started for a part; all gone on exit."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="scaleout-"))
        self.callback(shutil.rmtree, self.tmp, True)
        self.procs: list[subprocess.Popen] = []
        self.callback(self.stop)
        self.model: str | None = None
        port = free_port()
        self.redis_url = f"redis://127.0.0.1:{port}/0"
        self._spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        import redis

        self.redis = redis.Redis(port=port)

        def pong() -> bool:
            with contextlib.suppress(redis.ConnectionError):
                return bool(self.redis.ping())
            return False
        if not within(10, pong):
            raise RuntimeError("redis-server did not start")

    def _spawn(self, cmd: list[str]) -> None:
        self.procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def stop(self) -> None:
        """Stop every process started here, newest first (the scratch folder stays until exit)."""
        procs, self.procs = self.procs[::-1], []
        for proc in procs:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
            proc.kill()  # nothing when it has exited
            proc.wait()

    def model_server(self) -> str:
        """The digits CNN over KServe v2 (one per lab); its base URL."""
        if self.model is None:
            port = free_port()
            self._spawn([sys.executable, str(HERE / "_model_server.py"), str(port)])
            self.model = f"http://127.0.0.1:{port}"
            wait(self.model + "/v2/health/ready")
        return self.model

    def config(self, name: str, **fields) -> Path:
        """A gateway configuration file (JSON is YAML) in front of the model server."""
        path = self.tmp / f"{name}.yaml"
        path.write_text(json.dumps({"upstream": self.model_server(), "db": str(self.tmp / f"{name}.db"),
                                    "admin_token": "bench", **fields}))
        return path

    def monitor(self, name: str, **fields) -> str:
        """``advmatrix monitor`` with this configuration; its base URL once it answers."""
        port = free_port()
        self._spawn([sys.executable, "-m", "advmatrix", "monitor", "--config", str(self.config(name, **fields)),
                     "--listen", f"127.0.0.1:{port}"])
        wait(f"http://127.0.0.1:{port}/_advmatrix/health")
        return f"http://127.0.0.1:{port}"

    def detect(self, name: str, **fields) -> None:
        """``advmatrix detect`` (default lease and replay); returns once it owns shard 0."""
        self._spawn([sys.executable, "-m", "advmatrix", "detect", "--config", str(self.config(name, **fields)),
                     "--name", name])
        if not within(60, lambda: self.redis.get("advmatrix:ev:lease:0") == name.encode()):
            raise RuntimeError(f"detect worker {name} did not take shard 0")


def _alerts(*dbs: Path) -> list:
    from advmatrix.store import EventStore

    out = []
    for db in (d for d in dbs if d.exists()):
        store = EventStore(str(db), read_only=True)
        out += store.alerts(limit=10**6)
        store.close()
    return out
