"""Gateway configuration: YAML file plus command-line overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..detect import DETECTORS, Detector
from ..errors import FormatError, UsageError

DEFAULT_RESPONSES: dict[str, dict[str, Any]] = {
    "similarity-search": {"action": "degrade", "mode": "labels", "duration_s": 3600},
    "prada": {"action": "throttle", "rate": 1.0, "duration_s": 3600},
    "volume": {"action": "throttle", "rate": 5.0, "duration_s": 600},
    "ood": {"action": "alert"},
    "membership": {"action": "degrade", "mode": "labels", "duration_s": 3600},
    "query-coverage": {"action": "throttle", "rate": 1.0, "duration_s": 3600},
}


class GatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upstream: str
    db: str = "gateway.db"
    client_header: str = "x-api-key"
    max_body: int = Field(8 << 20, ge=1024)
    timeout: float = Field(30.0, gt=0)
    max_connections: int = Field(100, ge=1)
    retention: int = Field(1_000_000, ge=100, description="events kept")
    admin_token: str | None = None
    alerts_jsonl: str | None = None
    webhook: str | None = None
    json_paths: dict[str, str] = Field(default_factory=dict)
    detectors: dict[str, dict[str, Any]] = Field(default_factory=lambda: {n: {} for n in ("similarity-search", "prada", "volume")})
    responses: dict[str, dict[str, Any]] = Field(default_factory=lambda: dict(DEFAULT_RESPONSES))
    alert_only_clients: list[str] = Field(default_factory=list, description="client ids as alerts name them "
                                          "('key:...' for an API key, else the address): alerted on, never acted against")
    reference: str | None = Field(None, description=".npy of natural inputs for the ood and query-coverage detectors")

    def build_detectors(self) -> list[Detector]:
        out: list[Detector] = []
        # read even when no detector uses it: a bad file named in the config is an error now,
        # not a surprise the day someone turns ood on
        reference = self.load_reference() if self.reference else None
        for name, params in self.detectors.items():
            if name not in DETECTORS:
                raise UsageError(f"unknown detector '{name}' (known: {', '.join(DETECTORS)})")
            cls = DETECTORS[name]
            try:
                if cls.takes_reference:
                    out.append(cls(reference=reference, **params))
                else:
                    out.append(cls(**params))
            except ValidationError as exc:
                err = exc.errors()[0]
                raise UsageError(f"detector {name}: parameter '{'.'.join(map(str, err['loc']))}': {err['msg']}") from None
        return out

    def load_reference(self) -> np.ndarray:
        try:
            ref = np.load(Path(self.reference), allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise UsageError(f"reference '{self.reference}': {exc}") from None
        if ref.ndim < 2 or not np.issubdtype(ref.dtype, np.number) or len(ref) == 0:
            raise UsageError(f"reference '{self.reference}': expected a non-empty numeric array of inputs "
                             f"(n, features...), got shape {ref.shape} and dtype {ref.dtype}")
        return ref


def load_config(path: str | Path | None, **overrides: Any) -> GatewayConfig:
    data: dict[str, Any] = {}
    if path:
        from ..kb._io import read_yaml

        data = read_yaml(Path(path)) or {}
        if not isinstance(data, dict):
            raise FormatError(f"{path}: gateway configuration must be a mapping")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return GatewayConfig(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UsageError(f"{path or 'configuration'}: '{'.'.join(map(str, err['loc']))}': {err['msg']}") from None
