"""The platform's worker (worker.build_worker, unchanged) plus the bare baseline workflow and its
no-op activity on the same task queue: `python -m bench.worker`, configured by environment."""

from __future__ import annotations

import logging

import uvloop

from bench.bare import BareWorkflow, noop
from config import get_settings
from core.temporal_client import connect
from db.base import make_engine, make_sessionmaker
from runtime import tune_gc
from worker import WORKFLOWS, build_worker


async def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    client = await connect(settings)
    worker = build_worker(
        client, settings, make_sessionmaker(engine), workflows=[*WORKFLOWS, BareWorkflow], extra_activities=[noop]
    )
    tune_gc()  # as worker.main does
    try:
        await worker.run()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    uvloop.run(main())  # as worker.py does
