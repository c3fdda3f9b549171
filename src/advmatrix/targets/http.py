"""Model APIs over HTTP: KServe / Open Inference Protocol v2, TF Serving REST, and any JSON API
described by a request template and a response path.

Requests go out from one asyncio loop on a background thread (so procedures, and ART, can call
``predict`` synchronously) with a bounded number in flight, batching where the protocol
allows, timeouts, retries with exponential backoff on 429 and 5xx, and an optional auth header.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Awaitable
from typing import Any

import numpy as np

from ..errors import TargetResponseError, TargetUnavailable
from . import _v2
from ._base import Budget, Target, TargetInfo


class _Loop:
    """One event loop thread shared by every HTTP target in the process."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def run(cls, coro: Awaitable[Any]) -> Any:
        with cls._lock:
            if cls._loop is None or cls._loop.is_closed():
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, name="advmatrix-http", daemon=True).start()
        return asyncio.run_coroutine_threadsafe(coro, cls._loop).result()


class HttpTarget(Target):
    """Shared machinery; subclasses build request bodies and parse responses."""

    def __init__(self, url: str, info: TargetInfo, budget: Budget | None = None, *, max_batch: int = 64,
                 concurrency: int = 8, timeout: float = 30.0, retries: int = 3, backoff: float = 0.2,
                 headers: dict[str, str] | None = None):
        super().__init__(info, budget)
        self.url = url
        self.max_batch = max(1, max_batch)
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.headers = {"content-type": "application/json", **(headers or {})}
        self.extra_headers: dict[str, str] = {}  # per clone, e.g. one API key per procedure
        self._client = None

    # -- protocol hooks ------------------------------------------------------------------------
    def request_body(self, batch: np.ndarray) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def parse_response(self, data: Any, n: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- transport -----------------------------------------------------------------------------
    def _predict(self, x: np.ndarray) -> np.ndarray:
        batches = [x[i:i + self.max_batch] for i in range(0, len(x), self.max_batch)]
        return np.concatenate(_Loop.run(self._all(batches)))

    async def _all(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, headers=self.headers)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(batch: np.ndarray) -> np.ndarray:
            async with gate:
                return await self._send(batch)

        return list(await asyncio.gather(*(one(b) for b in batches)))

    async def _send(self, batch: np.ndarray) -> np.ndarray:
        import httpx

        body = json.dumps(self.request_body(batch))
        last = ""
        for attempt in range(self.retries + 1):
            try:
                response = await self._client.post(self.url, content=body, headers=self.extra_headers or None)
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout} s"
            except httpx.HTTPError as exc:
                last = f"cannot connect: {exc.__class__.__name__}: {exc}"
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    last = f"HTTP {response.status_code}: {response.text[:200]}"
                elif response.status_code >= 400:
                    raise TargetResponseError(f"{self.info.name} ({self.url}): HTTP {response.status_code}: "
                                              f"{response.text[:200]}")
                else:
                    try:
                        data = response.json()
                    except ValueError:
                        raise TargetResponseError(f"{self.info.name} ({self.url}): reply is not JSON: "
                                                  f"{response.text[:100]!r}") from None
                    return self.parse_response(data, len(batch))
            if attempt < self.retries:
                await asyncio.sleep(self.backoff * 2 ** attempt * (0.5 + random.random()))
        raise TargetUnavailable(f"{self.info.name} ({self.url}): {last} (after {self.retries + 1} attempts)")

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                _Loop.run(client.aclose())
            except RuntimeError:
                pass

    def _fail(self, what: str) -> TargetResponseError:
        return TargetResponseError(f"{self.info.name} ({self.url}): {what}")


class KServeV2Target(HttpTarget):
    """``POST {base}/v2/models/{model}/infer`` (Open Inference Protocol v2)."""

    def __init__(self, base_url: str, model: str, info: TargetInfo, budget: Budget | None = None,
                 input_name: str = "input-0", **kwargs: Any):
        super().__init__(f"{base_url.rstrip('/')}/v2/models/{model}/infer", info, budget, **kwargs)
        self.input_name = input_name

    def request_body(self, batch: np.ndarray) -> Any:
        return {"inputs": [_v2.encode(self.input_name, batch)]}

    def parse_response(self, data: Any, n: int) -> np.ndarray:
        try:
            output = data["outputs"][0]
            return _v2.decode({**output, "shape": output.get("shape") or [n, -1]}, np.float64)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise self._fail(f"not an Open Inference Protocol v2 reply ({exc.__class__.__name__}: {exc})") from None


class TFServingTarget(HttpTarget):
    """``POST {base}/v1/models/{model}:predict`` with ``instances`` (TF Serving REST, row format)."""

    def __init__(self, base_url: str, model: str, info: TargetInfo, budget: Budget | None = None, **kwargs: Any):
        super().__init__(f"{base_url.rstrip('/')}/v1/models/{model}:predict", info, budget, **kwargs)

    def request_body(self, batch: np.ndarray) -> Any:
        return {"instances": batch.tolist()}

    def parse_response(self, data: Any, n: int) -> np.ndarray:
        try:
            return np.asarray(data["predictions"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise self._fail(f"not a TF Serving reply ({exc.__class__.__name__}: {exc})") from None


class JsonTemplateTarget(HttpTarget):
    """Any JSON API: ``template`` is the request body with the string ``"$inputs"`` where the
    batch goes (``"$input"`` for one sample per request); ``response_path`` is a dotted path
    to the outputs in the reply (``"result.scores"``, ``"data.0.probs"``)."""

    def __init__(self, url: str, info: TargetInfo, template: Any, response_path: str, budget: Budget | None = None,
                 **kwargs: Any):
        single = "$input" in json.dumps(template) and "$inputs" not in json.dumps(template)
        if single:
            kwargs["max_batch"] = 1
        super().__init__(url, info, budget, **kwargs)
        self.template = template
        self.response_path = [p for p in response_path.split(".") if p]
        self.single = single

    def request_body(self, batch: np.ndarray) -> Any:
        value = batch[0].tolist() if self.single else batch.tolist()
        marker = "$input" if self.single else "$inputs"

        def fill(node: Any) -> Any:
            if node == marker:
                return value
            if isinstance(node, dict):
                return {k: fill(v) for k, v in node.items()}
            if isinstance(node, list):
                return [fill(v) for v in node]
            return node

        return fill(self.template)

    def parse_response(self, data: Any, n: int) -> np.ndarray:
        node = data
        for part in self.response_path:
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, TypeError, ValueError):
                raise self._fail(f"reply has no '{'.'.join(self.response_path)}'") from None
        try:
            out = np.asarray(node, dtype=np.float64)
        except (TypeError, ValueError):
            raise self._fail(f"'{'.'.join(self.response_path)}' is not numeric") from None
        return out[None] if self.single and out.ndim == 1 and self.info.output.value != "labels" else out
