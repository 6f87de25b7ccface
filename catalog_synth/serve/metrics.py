"""Prometheus metrics of one sandbox: queries by outcome, latency, slots in use."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from catalog_synth.serve.errors import QueryError, QueryRefused
from catalog_synth.serve.limits import QuerySlots
from catalog_synth.serve.responses import error_status


class SandboxMetrics:
    """Prometheus metrics in a registry of their own (one per app)."""

    def __init__(self, slots: QuerySlots) -> None:
        self.registry = CollectorRegistry()
        running = Gauge("catalog_synth_sandbox_queries_running", "Queries in a slot now.", registry=self.registry)
        running.set_function(lambda: slots.running)
        waiting = Gauge("catalog_synth_sandbox_queries_waiting", "Queries waiting for a slot.", registry=self.registry)
        waiting.set_function(lambda: slots.waiting)
        self.queries = Counter(
            "catalog_synth_sandbox_queries", "Queries received.", ["format"], registry=self.registry
        )
        self.refusals = Counter(
            "catalog_synth_sandbox_query_refusals", "Queries refused by the validator.", registry=self.registry
        )
        self.errors = Counter(
            "catalog_synth_sandbox_query_errors", "Queries that failed, timed out or hit a limit.", ["kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "catalog_synth_sandbox_query_seconds", "Time to answer a query.", registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )

    def record_error(self, exc: QueryError) -> None:
        if isinstance(exc, QueryRefused):
            self.refusals.inc()
        else:
            self.errors.labels(error_status(exc)[1]).inc()
