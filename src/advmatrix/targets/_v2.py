"""Open Inference Protocol (KServe v2) tensors as JSON, in one place for every side that
speaks it: the HTTP target (client), the loopback server and the gateway."""

from __future__ import annotations

from typing import Any

import numpy as np

DATATYPES = {"float32": "FP32", "float64": "FP64", "int64": "INT64", "int32": "INT32", "uint8": "UINT8"}
NUMPY = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "UINT8": np.uint8}


def encode(name: str, array: np.ndarray) -> dict[str, Any]:
    return {"name": name, "shape": list(array.shape), "datatype": DATATYPES.get(str(array.dtype), "FP32"),
            "data": array.reshape(-1).tolist()}


def decode(tensor: dict[str, Any], dtype: Any = None) -> np.ndarray:
    """A tensor object as an array; raises KeyError, TypeError or ValueError when malformed."""
    kind = dtype or NUMPY.get(tensor.get("datatype", "FP32"), np.float32)
    return np.asarray(tensor["data"], dtype=kind).reshape([int(d) for d in tensor["shape"]])
