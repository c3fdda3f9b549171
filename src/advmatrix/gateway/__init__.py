"""The monitoring gateway: a reverse proxy that feeds detectors and applies responses."""

from ._app import Gateway, create_gateway, ecs_alert
from ._config import GatewayConfig, load_config

__all__ = ["Gateway", "GatewayConfig", "create_gateway", "ecs_alert", "load_config"]
