from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

from advmatrix.gateway import GatewayConfig, create_gateway
from advmatrix.serving import ServedModel, make_app, running_server


@pytest.fixture(scope="session")
def upstream(cnn):
    def predict(batch):
        with torch.no_grad():
            return torch.softmax(cnn(torch.from_numpy(batch.astype(np.float32))), 1).numpy()

    app = make_app({"digits": ServedModel(predict, (1, 8, 8), tuple("0123456789"), modality="image")})
    with running_server(app) as url:
        yield url


@pytest.fixture
def gateway(upstream, tmp_path):
    """Start a gateway in front of the model server; yields (base URL, Gateway object)."""

    @contextlib.contextmanager
    def start(**overrides):
        cfg = GatewayConfig(**{"upstream": upstream, "db": str(tmp_path / "gw.db"), "admin_token": "s3cret",
                               **overrides})
        app = create_gateway(cfg)
        try:
            with running_server(app) as url:
                yield url, app.state.gateway
        finally:
            app.state.gateway.close()

    return start


ADMIN = {"authorization": "Bearer s3cret"}
