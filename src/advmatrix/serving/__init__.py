"""Serve local models over real model-server protocols, for the demo and for tests.

This is not a production model server: it exists so that ``advmatrix assess`` can be shown and
tested against the same HTTP protocols real servers speak (KServe/Open Inference Protocol v2,
TF Serving REST, a plain JSON API, the OpenAI Chat Completions API), on loopback.
``make_llm_app`` serves a rule-based customer-support LLM application in three strengths
(naive, filtered, hardened) for LLM red-team procedures to attack.
"""

from ._app import ServedModel, make_app
from ._run import running_server
from .llm_app import LlmApplication, make_llm_app
from .llm_target import llm_app_description

__all__ = ["LlmApplication", "ServedModel", "llm_app_description", "make_app", "make_llm_app", "running_server"]
