"""Model APIs over HTTP: the transport, with the wire format left to a protocol
(:mod:`advmatrix.protocols`): KServe / Open Inference Protocol v2, TF Serving REST, any JSON API
described by a request template and a response path, or a third-party protocol plugin.

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

from ..errors import TargetInputError, TargetResponseError, TargetUnavailable
from ..protocols import JsonTemplate, KServe, Protocol, ProtocolError, TFServing
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


def close_pool(owner: Any) -> None:
    """Close an owner's ``_client`` (an httpx.AsyncClient) on the shared loop; safe to repeat."""
    if owner._client is not None:
        client, owner._client = owner._client, None
        try:
            _Loop.run(client.aclose())
        except RuntimeError:  # the loop is gone at interpreter exit
            pass


class HttpTarget(Target):
    """A model behind an HTTP endpoint that speaks ``protocol``.

    ``url`` is the full address requests are posted to. Batches larger than ``max_batch`` (or
    the protocol's own limit) are split and sent ``concurrency`` at a time; 429 and 5xx answers
    and transport errors are retried ``retries`` times with exponential backoff; ``headers`` go
    with every request (an auth token), ``extra_headers`` with this clone's only.
    """

    def __init__(self, url: str, protocol: Protocol, info: TargetInfo, budget: Budget | None = None, *,
                 max_batch: int = 64, concurrency: int = 8, timeout: float = 30.0, retries: int = 3,
                 backoff: float = 0.2, headers: dict[str, str] | None = None):
        super().__init__(info, budget)
        self.url = url
        self.protocol = protocol
        self.max_batch = max(1, min(max_batch, protocol.batch_limit or max_batch))
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.headers = {"content-type": "application/json", **(headers or {})}
        self.extra_headers: dict[str, str] = {}  # per clone, e.g. one API key per procedure
        self._client = None

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

        try:
            body = json.dumps(self.protocol.encode_request(batch))
        except ProtocolError as exc:
            raise TargetInputError(f"{self.info.name} ({self.url}): {exc}") from None
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
                    raise self._fail(f"HTTP {response.status_code}: {response.text[:200]}")
                else:
                    try:
                        data = response.json()
                    except ValueError:
                        raise self._fail(f"reply is not JSON: {response.text[:100]!r}") from None
                    try:
                        return self.protocol.decode_reply(data, len(batch))
                    except ProtocolError as exc:
                        raise self._fail(str(exc)) from None
            if attempt < self.retries:
                await asyncio.sleep(self.backoff * 2 ** attempt * (0.5 + random.random()))
        raise TargetUnavailable(f"{self.info.name} ({self.url}): {last} (after {self.retries + 1} attempts)")

    def close(self) -> None:
        """Close the connection pool."""
        close_pool(self)

    def _fail(self, what: str) -> TargetResponseError:
        return TargetResponseError(f"{self.info.name} ({self.url}): {what}")


def _join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


class KServeV2Target(HttpTarget):
    """A model on a KServe v2 / Open Inference Protocol v2 server:
    ``POST {base_url}/v2/models/{model}/infer``."""

    def __init__(self, base_url: str, model: str, info: TargetInfo, budget: Budget | None = None,
                 input_name: str = "input-0", *, protocol: KServe | None = None, **kwargs: Any):
        protocol = protocol or KServe(input_name=input_name)
        super().__init__(_join(base_url, protocol.endpoint(model)), protocol, info, budget, **kwargs)


class TFServingTarget(HttpTarget):
    """A model on TensorFlow Serving: ``POST {base_url}/v1/models/{model}:predict`` (row format)."""

    def __init__(self, base_url: str, model: str, info: TargetInfo, budget: Budget | None = None, *,
                 protocol: TFServing | None = None, **kwargs: Any):
        protocol = protocol or TFServing()
        super().__init__(_join(base_url, protocol.endpoint(model)), protocol, info, budget, **kwargs)


class JsonTemplateTarget(HttpTarget):
    """Any JSON API at ``url``: ``template`` is the request body with the string ``"$inputs"``
    where the batch goes (``"$input"`` for one sample per request); ``response_path`` is a dotted
    path to the outputs in the reply (``"result.scores"``, ``"data.0.probs"``)."""

    def __init__(self, url: str, info: TargetInfo, template: Any, response_path: str, budget: Budget | None = None,
                 **kwargs: Any):
        protocol = JsonTemplate(template=template, response_path=response_path)
        super().__init__(url, protocol, info, budget, **kwargs)


__all__ = ["HttpTarget", "JsonTemplateTarget", "KServeV2Target", "TFServingTarget"]
