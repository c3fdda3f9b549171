"""Fixtures shared by the classifier detectors' tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def probs(cnn):
    """The test CNN as the victim: a batch of inputs to its softmax scores."""
    import torch

    def predict(x):
        with torch.no_grad():
            return torch.softmax(cnn(torch.from_numpy(np.asarray(x, np.float32))), 1).numpy()

    return predict
