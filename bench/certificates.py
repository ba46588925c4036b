"""打印学习证明 (issue 3 §2): from clicking 打印 to having the PDF, i.e. `GET /my/certificates/{id}.pdf`
of the file stored when the certificate was issued. Target: p50 under 100 ms.

Measured one click at a time (a trainee printing), then with many trainees printing at once. The
one-time cost it saves, rendering at issue (the `certificates.issue` activity), is shown for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from activities.certificates import CertificateActivities
from bench.report import Result, latency_results
from bench.stack import Stack
from db.models.orders import EnrollmentStatus
from domain.certificates import CertificateRequest

HELP = "打印 → PDF in hand (stored file), one trainee and many at once"
COURSE = "PUB-02"
LIMIT_MS = 100.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prints", type=int, default=100, help="sequential prints (default 100)")
    parser.add_argument("--clients", type=int, default=16, help="trainees printing at once (default 16)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of concurrent printing (default 5)")


async def run(stack: Stack, args: argparse.Namespace) -> list[Result]:
    trainees = await stack.make_trainees(args.clients, "证明学员")
    [course_id] = await stack.course_ids(COURSE)
    acts = CertificateActivities(stack.maker, stack.settings)
    urls: list[str] = []
    issue_times: list[float] = []
    for t in trainees:
        [enrollment_id] = await stack.give_enrollments(t, [course_id], EnrollmentStatus.COMPLETED)
        t0 = time.perf_counter()
        issued = await acts.issue(CertificateRequest(enrollment_id))
        issue_times.append(time.perf_counter() - t0)
        urls.append(await _pdf_url(stack, issued.cert_no))
    clients = await stack.sign_in_all(trainees, args.clients)
    try:
        for c, url in zip(clients, urls, strict=True):
            await _print(c, url)  # warm-up
        one = [await _print(clients[0], urls[0]) for _ in range(args.prints)]
        many, wall = await _print_concurrently(clients, urls, args.duration)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return [
        *latency_results("certificates", "打印 → PDF, one trainee", one, limit_ms=LIMIT_MS, limit_at="p50"),
        *latency_results(
            "certificates", f"打印 → PDF, {args.clients} at once", many, limit_ms=LIMIT_MS, limit_at="p50",
            wall=wall,
        ),
        *latency_results("certificates", "issue (render + store, once)", issue_times)[:1],
    ]


async def _pdf_url(stack: Stack, cert_no: str) -> str:
    from sqlalchemy import select

    from db.models.certificates import Certificate

    async with stack.maker() as session:
        cert_id = await session.scalar(select(Certificate.id).where(Certificate.cert_no == cert_no))
    return f"/my/certificates/{cert_id}.pdf"


async def _print(client: httpx.AsyncClient, url: str) -> float:
    t0 = time.perf_counter()
    resp = await client.get(url)
    elapsed = time.perf_counter() - t0
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF-"), f"{url}: {resp.status_code}"
    return elapsed


async def _print_concurrently(
    clients: list[httpx.AsyncClient], urls: list[str], duration: float
) -> tuple[list[float], float]:
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + duration

    async def loop(client: httpx.AsyncClient, url: str) -> None:
        while time.perf_counter() < deadline:
            latencies.append(await _print(client, url))

    await asyncio.gather(*(loop(c, u) for c, u in zip(clients, urls, strict=True)))
    return latencies, time.perf_counter() - started
