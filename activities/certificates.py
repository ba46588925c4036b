"""Issuing the 学习证明 when an enrollment is completed: the certificate row, then its PDF, once.

The study workflow calls ``certificates.issue``; every step is idempotent, so a retried or repeated
call returns the same numbers and renders nothing new:

1. the row: unique on ``enrollment_id`` (a concurrent second insert loses on the constraint and
   reads the winner); ``cert_no`` is derived from the row's own id in the same transaction, so two
   certificates issued at the same moment never share a number;
2. the PDF: rendered in a thread (WeasyPrint is CPU work) only while ``pdf_path`` is unset or the
   file is gone, written atomically under ``settings.files_dir / "certificates"``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from config import Settings
from db.base import utcnow
from db.models.catalog import Course, School
from db.models.certificates import Certificate, CertificateEvent
from db.models.orders import Enrollment, EnrollmentStatus
from db.models.users import User
from domain.certificates import CertificateIssued, CertificateRequest, make_cert_no, mask_id_card
from domain.errors import message_for
from media.certificates import SHANGHAI, certificate_view
from media.pdf import certificate_pdf

CERT_DIR = "certificates"


class CertificateActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings

    @activity.defn(name="certificates.issue")
    async def issue(self, req: CertificateRequest) -> CertificateIssued:
        cert = await self._record(req.enrollment_id)
        if cert.pdf_path is None or not (self.settings.files_dir / cert.pdf_path).is_file():
            await self._store_pdf(cert)
        return CertificateIssued(cert_no=cert.cert_no, verify_code=cert.verify_code)

    def all(self) -> list[Callable[..., Any]]:
        return [self.issue]

    # ---- steps --------------------------------------------------------------------------------

    async def _record(self, enrollment_id: int) -> Certificate:
        async with self.sessionmaker() as session:
            existing = await self._existing(session, enrollment_id)
            if existing is not None:
                return existing
            cert, school_code = await self._new_certificate(session, enrollment_id)
            session.add(cert)
            try:
                await session.flush()  # the id, from which the number is made
                cert.cert_no = make_cert_no(cert.issued_at.astimezone(SHANGHAI).year, school_code, cert.id)
                session.add(CertificateEvent(certificate_id=cert.id, action="issued", at=cert.issued_at))
                await session.commit()
            except IntegrityError:
                # another attempt for the same enrollment got there first: theirs is the certificate
                await session.rollback()
                winner = await self._existing(session, enrollment_id)
                if winner is None:
                    raise
                return winner
            return cert

    async def _existing(self, session: AsyncSession, enrollment_id: int) -> Certificate | None:
        return await session.scalar(select(Certificate).where(Certificate.enrollment_id == enrollment_id))

    async def _new_certificate(self, session: AsyncSession, enrollment_id: int) -> tuple[Certificate, str]:
        """The certificate with the facts frozen now (not yet numbered), and the school's code."""
        enrollment = await session.get(Enrollment, enrollment_id)
        if enrollment is None:
            raise _refusal("NotFound")
        if enrollment.status != EnrollmentStatus.COMPLETED:
            raise _refusal("EnrollmentNotCompleted")
        trainee = await session.get(User, enrollment.trainee_id)
        course = await session.get(Course, enrollment.course_id)
        school = await session.get(School, enrollment.school_id)
        assert trainee is not None and course is not None and school is not None
        code = secrets.token_urlsafe(16)
        cert = Certificate(
            enrollment_id=enrollment.id,
            cert_no=f"pending-{code}",  # replaced by the real number before commit
            verify_code=code,
            trainee_id=trainee.id,
            trainee_name=trainee.name,
            id_card_masked=mask_id_card(trainee.id_card),
            course_id=course.id,
            course_title=course.title,
            hours=course.hours,
            subject_category=course.subject_category,
            training_type=enrollment.training_type,
            training_year=enrollment.training_year,
            school_id=school.id,
            school_name=school.name,
            issued_at=utcnow(),
        )
        return cert, school.code

    async def _store_pdf(self, cert: Certificate) -> None:
        pdf = await asyncio.to_thread(certificate_pdf, certificate_view(cert, self.settings.base_url))
        relative = f"{CERT_DIR}/{cert.cert_no}.pdf"
        await asyncio.to_thread(_write_atomically, self.settings.files_dir / relative, pdf)
        async with self.sessionmaker() as session:
            await session.execute(
                update(Certificate).where(Certificate.id == cert.id).values(pdf_path=relative)
            )
            await session.commit()
        cert.pdf_path = relative


def _refusal(code: str) -> ApplicationError:
    return ApplicationError(message_for(code), type=code, non_retryable=True)


def _write_atomically(path: Path, data: bytes) -> None:
    """A reader never sees half a PDF: write beside it, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
