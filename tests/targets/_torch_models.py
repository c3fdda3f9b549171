"""A model class for the loading tests, imported the way users name theirs (module:Class)."""

from __future__ import annotations

import torch


class TinyNet(torch.nn.Module):
    """8x8 digits in, ten logits out; ``hidden`` is a constructor argument, as in real models."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, hidden), torch.nn.ReLU(),
                                        torch.nn.Linear(hidden, 10))

    def forward(self, x):
        return self.body(x)
