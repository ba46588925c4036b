"""The worker's metrics: the Temporal SDK's own runtime telemetry, served for Prometheus.

The SDK core measures every worker (task slots, poll and schedule-to-start latencies, workflow and
activity outcomes, sticky cache) and, given a PrometheusConfig, serves them at
`http://<WORKER_METRICS_ADDRESS>/metrics`. Empty address: no metrics server (tests, the benchmark).
"""

from __future__ import annotations

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from config import Settings


def worker_runtime(settings: Settings) -> Runtime | None:
    """A runtime whose metrics Prometheus can scrape, or None for the SDK's default runtime."""
    if not settings.worker_metrics_address:
        return None
    prometheus = PrometheusConfig(bind_address=settings.worker_metrics_address, durations_as_seconds=True)
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))
