"""The gateway's router over wire protocols: which protocol a request path speaks, and reading a
query's inputs and outputs (and writing degraded outputs back) through that protocol's module.
Chat protocols (OpenAI Chat Completions, Anthropic Messages, Ollama) are routed the same way and
handed to the gateway's chat path whole (:meth:`Protocols.chat`).

Every registered protocol plugin (:mod:`advmatrix.protocols`, and third-party ones from the
``advmatrix.protocols`` entry-point group) gets one instance; each JSON route configured as
``json_paths`` gets a JSON-template instance of its own. Per request the router does a dict
lookup for the configured routes, then one ``match`` (a regex) per protocol.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import UsageError
from ..plugins import get, registry
from ..protocols import ChatProtocol, JsonTemplate, Protocol

#: what a protocol's decoder raises on a body it cannot read (ProtocolError is a ValueError)
_UNREADABLE = (ValueError, LookupError, TypeError)


class Protocols:
    """Routes request paths to protocol instances.

    ``json_paths`` maps a route to the dotted path of its inputs, and ``"out:" + route`` to the
    path of its outputs (``result`` when not given): ``{"/predict": "features",
    "out:/predict": "result.scores"}``. ``settings`` gives parameters per protocol name
    (``{"kserve": {"output_name": "probabilities"}}``). Configured routes are matched first, then
    the protocols in registry order.
    """

    def __init__(self, json_paths: dict[str, str] | None = None, settings: dict[str, dict] | None = None,
                 where: Callable[[str], str] | None = None):
        settings = settings or {}

        def at(name: str, exc: UsageError) -> UsageError:  # ``where``: the line a protocol's settings are on
            return UsageError(f"{where(name)}: {exc}") if where else exc
        for name in settings:
            try:
                get("protocol", name)  # an unknown name is a one-line error naming the known ones
            except UsageError as exc:
                raise at(name, exc) from None
        self.named: dict[str, Protocol] = {}
        for name, cls in registry("protocol").items():
            try:
                self.named[name] = cls(**(settings.get(name) or {}))
            except UsageError as exc:
                if name in settings:
                    raise at(name, exc) from None
                warnings.warn(f"protocol '{name}' ({exc}) is left out of the gateway", stacklevel=2)
        paths = json_paths or {}
        self.routes: dict[str, Protocol] = {
            route: JsonTemplate.for_route(route, inputs, paths.get("out:" + route, "result"))
            for route, inputs in paths.items() if not route.startswith("out:")}
        # a chat protocol answers one exact path (a dict lookup); tensor ones match patterns
        self._chat_paths = {p.path: name for name, p in self.named.items() if isinstance(p, ChatProtocol) and p.path}
        self._matchers = tuple((p.match, name) for name, p in self.named.items() if not isinstance(p, ChatProtocol))

    def kind(self, path: str) -> str | None:
        """The name of the protocol ``path`` speaks, or None for traffic the gateway only forwards."""
        route = self.routes.get(path)
        if route is not None:
            return route.name
        chat = self._chat_paths.get(path)
        if chat is not None:
            return chat
        for match, name in self._matchers:
            if match(path):
                return name
        return None

    def protocol(self, kind: str, path: str) -> Protocol:
        """The instance that :meth:`kind` chose for ``path``."""
        route = self.routes.get(path)
        return route if route is not None and route.name == kind else self.named[kind]

    def chat(self, kind: str | None) -> ChatProtocol | None:
        """The chat protocol named ``kind``, or None when it is a tensor protocol (or None)."""
        protocol = self.named.get(kind) if kind else None
        return protocol if isinstance(protocol, ChatProtocol) else None

    def inputs(self, kind: str, body: Any, path: str) -> np.ndarray | None:
        """The request's batch as float32, or None when the body does not follow the protocol."""
        try:
            return np.asarray(self.protocol(kind, path).decode_request(body), dtype=np.float32)
        except _UNREADABLE:
            return None

    def outputs(self, kind: str, body: Any, path: str) -> np.ndarray | None:
        """The reply's scores as float64, or None when the body does not follow the protocol."""
        try:
            return self.protocol(kind, path).decode_reply(body)
        except _UNREADABLE:
            return None

    def replace_outputs(self, kind: str, body: Any, path: str, scores: np.ndarray) -> Any:
        """The reply with its scores replaced by ``scores`` (a degraded answer)."""
        return self.protocol(kind, path).replace_outputs(body, scores)


__all__ = ["Protocols"]
