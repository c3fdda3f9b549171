"""How the red team describes the local LLM application as a target: the same YAML keys a user
writes for their own application (see README, "Red-teaming LLM applications").

>>> desc = llm_app_description("http://127.0.0.1:8200")
>>> desc["protocol"], desc["channels"][:2]
('openai', ['user', 'tool_result'])
"""

from __future__ import annotations

from typing import Any

from ._llm_data import TOOLS


def llm_app_description(url: str, *, system_prompt: str | None = None) -> dict[str, Any]:
    """The target description of the local LLM application served at ``url``: its tools, every
    channel it reads untrusted content from and the admin endpoints that plant it. Pass the
    application's ``system_prompt`` (``GET /admin/info``) for a grey-box assessment that judges
    prompt extraction against it; it is never sent (the application holds its own)."""
    base = url.rstrip("/")
    return {
        "protocol": "openai", "url": base + "/v1", "name": "local LLM application",
        "system_prompt": system_prompt, "send_system_prompt": False, "tools": [dict(t) for t in TOOLS],
        "channels": ["user", "tool_result", "retrieved_document", "web_page", "email"],
        "plant": {
            "retrieved_document": {"url": base + "/admin/documents",
                                   "template": {"title": "$title", "text": "$content"}},
            "web_page": {"url": base + "/admin/pages", "method": "PUT",
                         "template": {"url": "$title", "text": "$content"}},
            "email": {"url": base + "/admin/emails",
                      "template": {"from": "news@partner.example", "subject": "$title", "body": "$content"}},
        },
    }


def practice_target(url: str, profile: str = "naive", seed: int = 0, *, via: str | None = None,
                    keyed: bool = False) -> dict[str, Any]:
    """What ``serve-llm-app --print-target`` prints: the description of the practice application of
    ``profile`` and ``seed`` at ``url``, with its system prompt (a practice app, judged grey-box), the chat
    sent through the gateway at ``via`` when given (content is still planted at the app), and, when the app
    is ``keyed``, its API key read from ``ADVMATRIX_LLM_APP_KEY`` by assess (never written out)."""
    from .llm_app import LlmApplication

    prompt = LlmApplication(profile, seed).info()["system_prompt"]
    target = {k: v for k, v in llm_app_description(url, system_prompt=prompt).items() if v is not None}
    if via is not None:
        target["url"] = via.rstrip("/") + "/v1"
    if keyed:
        target["api_key"] = "${ADVMATRIX_LLM_APP_KEY}"
    return target


__all__ = ["llm_app_description", "practice_target"]
