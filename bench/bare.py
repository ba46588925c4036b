"""The baseline: a workflow that runs one no-op activity, on the same server and worker as the
platform's processes. The order path's throughput is reported as a fraction of this one's."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

NOOP = "bench.noop"


@activity.defn(name=NOOP)
async def noop() -> None:
    return None


@workflow.defn(name="BenchBareWorkflow")
class BareWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(NOOP, start_to_close_timeout=timedelta(seconds=30))
