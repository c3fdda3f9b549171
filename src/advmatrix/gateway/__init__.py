"""The monitoring gateway: a reverse proxy that feeds detectors and applies responses.

Its alerts are typed :class:`advmatrix.store.Alert` records; :func:`advmatrix.report.ecs.to_ecs`
makes the ECS documents it writes and serves.
"""

from ._admin import GatewayApp, create_gateway
from ._app import Checked, Gateway, check_gateway
from ._config import GatewayConfig, load_config

__all__ = ["Checked", "Gateway", "GatewayApp", "GatewayConfig", "check_gateway", "create_gateway", "load_config"]
