"""Reading a query's inputs and outputs from the protocols real model servers speak, and
writing degraded outputs back into a reply."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..targets import _v2

KSERVE = re.compile(r"^/v2/models/[^/]+(/versions/[^/]+)?/infer$")
TFSERVING = re.compile(r"^/v1/models/[^/:]+(/versions/\d+)?:predict$")


def _dig(node: Any, path: list[str]) -> Any:
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


class Protocols:
    def __init__(self, json_paths: dict[str, str] | None = None):
        # generic JSON APIs: {"/predict": "features"} for inputs, outputs under "result.scores"
        self.json_inputs = {k: v.split(".") for k, v in (json_paths or {}).items() if not k.startswith("out:")}
        self.json_outputs = {k[4:]: v.split(".") for k, v in (json_paths or {}).items() if k.startswith("out:")}

    def kind(self, path: str) -> str | None:
        if KSERVE.match(path):
            return "kserve"
        if TFSERVING.match(path):
            return "tfserving"
        if path in self.json_inputs:
            return "json"
        return None

    def inputs(self, kind: str, body: Any, path: str) -> np.ndarray | None:
        try:
            if kind == "kserve":
                return _v2.decode(body["inputs"][0], np.float32)
            if kind == "tfserving":
                return np.asarray(body["instances"], dtype=np.float32)
            return np.asarray(_dig(body, self.json_inputs[path]), dtype=np.float32)
        except (KeyError, IndexError, TypeError, ValueError):
            return None

    def outputs(self, kind: str, body: Any, path: str) -> np.ndarray | None:
        try:
            if kind == "kserve":
                return _v2.decode(body["outputs"][0], np.float64)
            if kind == "tfserving":
                return np.asarray(body["predictions"], dtype=np.float64)
            return np.asarray(_dig(body, self.json_outputs.get(path, ["result"])), dtype=np.float64)
        except (KeyError, IndexError, TypeError, ValueError):
            return None

    def replace_outputs(self, kind: str, body: Any, path: str, scores: np.ndarray) -> Any:
        if kind == "kserve":
            body["outputs"][0]["data"] = scores.reshape(-1).tolist()
        elif kind == "tfserving":
            body["predictions"] = scores.tolist()
        else:
            keys = self.json_outputs.get(path, ["result"])
            node = body
            for part in keys[:-1]:
                node = node[int(part)] if isinstance(node, list) else node[part]
            node[keys[-1]] = scores.tolist()
        return body
