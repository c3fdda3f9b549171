"""Console helpers shared by commands: one JSON printer, one rich console per stream."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def emit_json(data: Any) -> None:
    # print() rather than rich so machines get exactly the JSON text, without wrapping.
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def warn_all(warnings: tuple[str, ...] | list[str], limit: int = 5) -> None:
    for w in list(warnings)[:limit]:
        err.print(f"[yellow]warning:[/] {w}", markup=True, highlight=False)
    if len(warnings) > limit:
        err.print(f"[yellow]warning:[/] ... and {len(warnings) - limit} more", markup=True)
