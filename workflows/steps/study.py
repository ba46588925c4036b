# mypy: disable-error-code="empty-body"
"""activities/study.py: StudyActivities; and the two steps of a completed course."""

from __future__ import annotations

from temporalio import activity

from domain.certificates import CertificateIssued, CertificateRequest
from domain.hours_records import PlatformHours
from domain.study import (
    ClaimResult,
    ClaimStudy,
    EndLedgerSession,
    ProgressRecord,
    SwapCourse,
    SwapResult,
    WithdrawResult,
)
from domain.study_ledger import SessionPlan, SessionReport


@activity.defn(name="study.claim")
async def claim(req: ClaimStudy) -> ClaimResult: ...


@activity.defn(name="study.record_progress")
async def record_progress(rec: ProgressRecord) -> None: ...


@activity.defn(name="study.open_ledger")
async def open_ledger(plan: SessionPlan) -> None: ...


@activity.defn(name="study.end_ledger_session")
async def end_ledger_session(req: EndLedgerSession) -> SessionReport | None: ...


@activity.defn(name="study.swap")
async def swap(req: SwapCourse) -> SwapResult: ...


@activity.defn(name="study.withdraw")
async def withdraw(enrollment_id: int) -> WithdrawResult: ...


@activity.defn(name="certificates.issue")
async def issue_certificate(req: CertificateRequest) -> CertificateIssued: ...


@activity.defn(name="hours.push_platform")
async def push_platform_hours(pushed: PlatformHours) -> int: ...
