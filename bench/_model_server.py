"""The digits CNN behind the KServe v2 loopback server, as its own process (for gateway_bench).

Usage: python bench/_model_server.py PORT
"""

from __future__ import annotations

import sys

import numpy as np
import torch
import uvicorn

from advmatrix.demo import load_or_train_victim
from advmatrix.serving import ServedModel, make_app


def victim_probs():
    """The demo's victim and its probability function, on one thread (as served)."""
    torch.set_num_threads(1)
    v = load_or_train_victim()

    def probs(b):
        with torch.no_grad():
            return torch.softmax(v.module(torch.from_numpy(np.asarray(b, np.float32))), 1).numpy()

    return v, probs


def main() -> None:
    _v, probs = victim_probs()
    app = make_app({"digits": ServedModel(probs, (1, 8, 8), tuple("0123456789"))})
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
