"""The purple loop: run procedures through the monitoring gateway, each as its own client, and
read back which ones the gateway noticed, after how many queries, and by which detector."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

from ..detect import client_key_id
from ..errors import TargetUnavailable
from ..report.ecs import from_ecs
from ..store import Alert
from ..targets import Budget, Target
from ._base import Dataset, Finding, Procedure
from ._campaign import Assessment, Coverage, run_assessment


class GatewayAdmin:
    """The monitoring gateway's admin API, as the purple loop reads it."""

    def __init__(self, base_url: str, token: str | None):
        self.base = base_url.rstrip("/")
        self.headers = {"authorization": f"Bearer {token}"} if token else {}

    def _get(self, route: str, **params: object) -> object:
        try:
            r = httpx.get(f"{self.base}/_advmatrix/{route}", params=params, headers=self.headers, timeout=30)
        except httpx.HTTPError as exc:
            raise TargetUnavailable(f"gateway admin API at {self.base}: {exc}") from None
        if r.status_code in (401, 403):  # the token assess sends is the environment's
            raise TargetUnavailable(f"gateway admin API at {self.base}: HTTP {r.status_code}: set ADVMATRIX_TOKEN "
                                    "to the gateway's admin token")
        if r.status_code != 200:
            raise TargetUnavailable(f"gateway admin API at {self.base}: HTTP {r.status_code} {r.text[:100]}")
        try:
            return r.json()
        except ValueError:
            raise TargetUnavailable(f"gateway admin API at {self.base}: {route} did not answer JSON") from None

    def clients(self) -> set[str]:
        """The clients the gateway has seen send queries."""
        try:
            return {str(c["client"]) for c in self._get("clients") if c.get("queries")}
        except (TypeError, KeyError, AttributeError) as exc:
            raise TargetUnavailable(f"gateway admin API at {self.base}: not a list of clients ({exc})") from None

    def alerts(self, client: str) -> list[Alert]:
        """The gateway's alerts about ``client``, newest first (read from its ECS documents)."""
        try:
            return [from_ecs(doc) for doc in self._get("alerts", client=client, limit=1000)]
        except (ValueError, TypeError) as exc:  # FormatError is a ValueError
            raise TargetUnavailable(f"gateway admin API at {self.base}: not a list of ECS alerts ({exc})") from None


def run_through_gateway(target: Target, data: Dataset, chosen: list[Procedure], admin: GatewayAdmin, *,
                        budget: int | None = None, seed: int = 0, client_header: str = "x-api-key",
                        label: str = "", on_progress: Callable[[str, Finding | None], None] | None = None,
                        ) -> Assessment:
    """Run ``chosen`` through the gateway in front of ``target``, each procedure as its own
    client (a fresh API key), and record on the assessment what the gateway noticed of each."""
    keys: dict[str, str] = {}

    def scoped(procedure: Procedure, t: Target) -> Target:
        key = keys.setdefault(procedure.name, f"purple-{procedure.name}-{uuid.uuid4().hex[:8]}")
        clone = t.with_budget(Budget(limit=budget))
        if hasattr(clone, "extra_headers"):
            clone.extra_headers = {client_header: key}
        return clone

    assessment = run_assessment(target, data, chosen, budget=budget, seed=seed, label=label, scope=scoped,
                                on_progress=on_progress)
    # A target whose url goes straight to the application, not through the gateway, would read as
    # "nothing detected" for every procedure: a false gap, so no coverage is recorded and the caller says why.
    sent = {client_key_id(keys[f.procedure]) for f in assessment.findings if f.procedure in keys and f.queries}
    if sent and not sent & admin.clients():
        assessment.unmeasured = (f"the gateway at {admin.base} saw none of this run's {len(sent)} client(s): the "
                                 "target's url does not pass through it, so no detection was measured (point the "
                                 "target's url at the gateway, e.g. its /v1 for a chat target)")
        return assessment
    coverage = []
    for f in assessment.findings:
        if f.status == "skipped" or f.procedure not in keys:
            continue
        alerts = sorted(admin.alerts(client_key_id(keys[f.procedure])), key=lambda a: a.query_count)
        first = alerts[0].query_count if alerts else None
        success = f.metrics.get("first_success_query")
        success = int(success) if success is not None else None
        coverage.append(Coverage(
            f.procedure, f.technique_ids, bool(alerts), sorted({a.detector for a in alerts}), first, f.queries,
            sorted({a.action for a in alerts}), success,
            None if first is None or success is None else first <= success))
    assessment.coverage = coverage  # stored with the run: the navigator draws it as a layer
    return assessment


def coverage_scores(coverage: list[Coverage]) -> dict[str, float]:
    """1 for techniques some detected procedure emulated, else 0 (for a coverage layer)."""
    from ..kb import best_scores

    return best_scores((c.technique_ids, 1.0 if c.detected else 0.0) for c in coverage)
