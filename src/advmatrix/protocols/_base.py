"""The contract every wire protocol meets, and the dotted JSON paths the protocols share.

A protocol turns a batch of inputs into a request body and back, and a model's scores into a
reply body and back. The same object serves the three sides that speak it: the HTTP target
(client: ``encode_request``, ``decode_reply``), the test model server (``decode_request``,
``encode_reply``) and the gateway, which reads both directions and may rewrite the scores of a
reply (``replace_outputs``). Bodies are JSON documents as Python objects, never bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ProtocolError
from ..plugins import Plugin


class Protocol(Plugin):
    """Base of every wire protocol. ``__init__`` only validates and stores the parameters.

    Subclasses implement the six codec methods and :meth:`match`; :meth:`endpoint` is for
    protocols that address models by name.
    """

    kind = "protocol"
    #: what the protocol carries: "tensor" (batches in, scores out) or "chat" (see ChatProtocol)
    modality: str = "tensor"
    #: most samples one request may carry (None: no limit)
    batch_limit: int | None = None

    def __init__(self, **params: Any):
        self.params = self.parse_params(params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"

    # -- routing -------------------------------------------------------------------------------
    def match(self, path: str) -> bool:
        """Whether a request to ``path`` speaks this protocol (server side; keep it one regex)."""
        return False

    def endpoint(self, model: str) -> str:
        """The path a client posts to for ``model``; raises :class:`ProtocolError` when the
        protocol does not address models by name."""
        raise ProtocolError(f"the {self.name} protocol does not address models by name; give the full URL")

    # -- codec ---------------------------------------------------------------------------------
    def encode_request(self, batch: np.ndarray) -> Any:  # pragma: no cover - abstract
        """The request body carrying ``batch`` (n, features...)."""
        raise NotImplementedError

    def decode_request(self, doc: Any) -> np.ndarray:  # pragma: no cover - abstract
        """The numeric batch (n, features...) a request body carries; raises :class:`ProtocolError`."""
        raise NotImplementedError

    def encode_reply(self, scores: np.ndarray, model: str = "") -> Any:  # pragma: no cover - abstract
        """The reply body carrying ``scores`` (n, classes) from ``model``."""
        raise NotImplementedError

    def decode_reply(self, doc: Any, n: int | None = None) -> np.ndarray:  # pragma: no cover - abstract
        """The scores a reply carries, as float64; ``n`` is the number of inputs sent, when known.
        Raises :class:`ProtocolError`."""
        raise NotImplementedError

    def replace_outputs(self, doc: Any, scores: np.ndarray) -> Any:  # pragma: no cover - abstract
        """``doc`` (a reply) with its scores replaced by ``scores``; the rest is kept."""
        raise NotImplementedError


def numeric(value: Any, what: str, dtype: Any = np.float64) -> np.ndarray:
    """``value`` as a numeric array of ``dtype``; anything else is a :class:`ProtocolError`."""
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ProtocolError(f"{what} is not numeric ({exc})") from None
    return array


class JsonPath:
    """A dotted path into a JSON document: ``result.scores``, ``data.0.probs``.

    A part that is an integer indexes a list; any other part is a key. The empty path is the
    document itself.

    >>> JsonPath("data.0.probs").get({"data": [{"probs": [0.9, 0.1]}]})
    [0.9, 0.1]
    >>> JsonPath("result.scores").set(None, [1, 0], create=True)
    {'result': {'scores': [1, 0]}}
    """

    __slots__ = ("parts", "text")

    def __init__(self, path: str | list[str | int] | tuple[str | int, ...]):
        parts = path.split(".") if isinstance(path, str) else [str(p) for p in path]
        self.parts: tuple[str, ...] = tuple(p for p in parts if p != "")
        self.text = ".".join(self.parts)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"JsonPath({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonPath) and other.parts == self.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def get(self, doc: Any) -> Any:
        """The value at this path; :class:`ProtocolError` ``"no 'a.b'"`` when it is absent."""
        node = doc
        for part in self.parts:
            node = _step(node, part, self)
        return node

    def set(self, doc: Any, value: Any, *, create: bool = False) -> Any:
        """Put ``value`` at this path and return the document (``value`` itself for the empty
        path). With ``create``, missing objects and lists on the way are made (``doc`` may be None);
        without it, every step but the last must exist."""
        if not self.parts:
            return value
        if doc is None and create:
            doc = _container(self.parts[0])
        node = doc
        for i, part in enumerate(self.parts[:-1]):
            try:
                node = _step(node, part, self)
            except ProtocolError:
                if not create:
                    raise
                child = _container(self.parts[i + 1])
                _put(node, part, child, create, self)
                node = child
        _put(node, self.parts[-1], value, create, self)
        return doc


def _index(part: str) -> int | None:
    try:
        return int(part)
    except ValueError:
        return None


def _container(next_part: str) -> Any:
    return [] if _index(next_part) is not None else {}


def _step(node: Any, part: str, path: JsonPath) -> Any:
    try:
        if isinstance(node, list):
            return node[int(part)]
        if isinstance(node, dict):
            return node[part]
    except (KeyError, IndexError, ValueError):
        pass
    raise ProtocolError(f"no '{path}'")


def _put(node: Any, part: str, value: Any, create: bool, path: JsonPath) -> None:
    if isinstance(node, dict):
        if part not in node and not create:
            raise ProtocolError(f"no '{path}'")
        node[part] = value
        return
    index = _index(part)
    if isinstance(node, list) and index is not None:
        if create and index >= len(node):
            node.extend([None] * (index + 1 - len(node)))
        try:
            node[index] = value
            return
        except IndexError:
            pass
    raise ProtocolError(f"no '{path}'")


def walk(node: Any, trail: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path parts, value) in a JSON document, depth first, the document itself first."""
    yield trail, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*trail, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, (*trail, str(i)))


__all__ = ["JsonPath", "Protocol", "ProtocolError", "numeric", "walk"]
