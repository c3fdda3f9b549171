"""The gateway's Prometheus metrics, collected at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily

if TYPE_CHECKING:
    from ._app import Gateway


class Metrics:
    """The gateway's Prometheus metrics, read at scrape time from the plain counters the hot
    path keeps: a prometheus_client Counter takes a lock per increment (about 1 us with labels
    against 0.1 us for a dict), and the scrape is rare."""

    def __init__(self, gateway: Gateway):
        self.gateway = gateway

    def collect(self) -> Iterator[Metric]:
        gw = self.gateway
        counts = dict(gw.metrics)  # one atomic copy: the event loop keeps counting meanwhile
        requests = CounterMetricFamily("advmatrix_gateway_requests", "Requests by outcome.", labels=["outcome"])
        for key, value in sorted(counts.items()):
            if not key.startswith("alerts_"):
                requests.add_metric([key], value)
        yield requests
        alerts = CounterMetricFamily("advmatrix_gateway_alerts", "Alerts by detector.", labels=["detector"])
        for d in gw.detectors:
            alerts.add_metric([d.name], counts.get("alerts_" + d.name, 0))
        yield alerts
        yield CounterMetricFamily("advmatrix_gateway_queries_observed", "Queries (inputs) seen by the detectors.",
                                  value=gw.observed)
        yield CounterMetricFamily("advmatrix_gateway_events_dropped", "Events not logged: the writer's queue was full.",
                                  value=gw.writer.dropped)
        yield GaugeMetricFamily("advmatrix_gateway_clients", "Clients whose query counts are kept.",
                                value=len(gw.counts))
        # Prometheus names time in seconds; the _ms family stays for dashboards built on it, and is deprecated.
        yield SummaryMetricFamily("advmatrix_gateway_observe_seconds", "Seconds from a request's arrival to its "
                                  "observation, over observed requests.", count_value=gw.observed_requests,
                                  sum_value=gw.latency_sum / 1000)
        yield SummaryMetricFamily("advmatrix_gateway_observe_ms", "Deprecated (use advmatrix_gateway_observe_seconds): "
                                  "milliseconds from a request's arrival to its observation.",
                                  count_value=gw.observed_requests, sum_value=gw.latency_sum)
        if gw.sinks:
            events = CounterMetricFamily("advmatrix_gateway_sink_alerts", "Alerts per SIEM sink by outcome: sent, "
                                         "failed (refused or out of retries), dropped (queue full or shutdown).",
                                         labels=["sink", "outcome"])
            retries = CounterMetricFamily("advmatrix_gateway_sink_retries", "Batches sent again after a 429, "
                                          "a 5xx or a connection error.", labels=["sink"])
            depth = GaugeMetricFamily("advmatrix_gateway_sink_queue_depth", "Alerts waiting for a SIEM sink.",
                                      labels=["sink"])
            for sink in gw.sinks:
                for outcome in ("sent", "failed", "dropped"):
                    events.add_metric([sink.name, outcome], getattr(sink, outcome))
                retries.add_metric([sink.name], sink.retried)
                depth.add_metric([sink.name], sink.depth)
            yield from (events, retries, depth)
        if gw.state is not None:
            errors = CounterMetricFamily("advmatrix_gateway_state_errors", "Shared state (Redis) errors by "
                                         "operation: admit, write, listen, volume.", labels=["op"])
            for op, value in sorted(gw.state.errors.items()):
                errors.add_metric([op], value)
            yield errors
            if gw.stream is not None:
                stream = CounterMetricFamily("advmatrix_gateway_stream_events", "Events written to the detect "
                                             "workers' streams, by outcome: sent, dropped (Redis down or queue "
                                             "full).", labels=["outcome"])
                stream.add_metric(["sent"], gw.stream.sent)
                stream.add_metric(["dropped"], gw.stream.dropped)
                yield stream
            yield GaugeMetricFamily("advmatrix_gateway_state_up", "1 while the shared state (Redis) is reachable.",
                                    value=int(gw.state.up))
