"""集体开票 projections: the qualification rows and the unit invoice applications (with their claims
in the shared invoiced-orders guard). Every activity is idempotent: a retry changes nothing twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from db.invoice_guard import claim_orders_and_commit, release_orders
from db.models.group_invoicing import UnitInvoiceApplication, UnitInvoiceItem, UnitQualification
from db.models.invoice_guard import InvoiceKind
from db.notices import add_notice
from domain.group_invoicing import (
    QualificationDecided,
    QualificationInput,
    QualificationState,
    UnitInvoiceDecided,
    UnitInvoiceInput,
    UnitInvoiceState,
)
from domain.invoicing import InvoiceRecorded
from domain.notices import invoice_rejected, qualification_decided


class GroupInvoicingActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    @activity.defn(name="group_invoicing.record_qualification")
    async def record_qualification(self, q: QualificationInput) -> int:
        async with self.sessionmaker() as session:
            existing = await self._qualification_id(session, q)
            if existing is not None:
                return existing  # a retried activity: already on record
            row = UnitQualification(
                credit_code=q.credit_code,
                attempt=q.attempt,
                unit_name=q.unit_name,
                applicant_id=q.applicant_id,
                authorization_path=q.authorization_path,
                status=QualificationState.UNDER_REVIEW,
                workflow_id=activity.info().workflow_id,
                created_at=datetime.fromisoformat(q.submitted_at),
            )
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                found = await self._qualification_id(session, q)
                assert found is not None, (q.credit_code, q.attempt)
                return found
            return row.id

    @staticmethod
    async def _qualification_id(session: AsyncSession, q: QualificationInput) -> int | None:
        return await session.scalar(
            select(UnitQualification.id).where(
                UnitQualification.credit_code == q.credit_code, UnitQualification.attempt == q.attempt
            )
        )

    @activity.defn(name="group_invoicing.decide_qualification")
    async def decide_qualification(self, d: QualificationDecided) -> None:
        async with self.sessionmaker() as session:
            decided = await session.execute(
                update(UnitQualification)
                .where(
                    UnitQualification.id == d.qualification_id,
                    UnitQualification.status == QualificationState.UNDER_REVIEW,
                )
                .values(
                    status=d.state,
                    reason=d.reason,
                    decided_by=d.reviewer_id,
                    decided_at=datetime.fromisoformat(d.decided_at),
                )
            )
            q = await session.get(UnitQualification, d.qualification_id)
            if decided.rowcount and q is not None:  # type: ignore[attr-defined]
                approved = d.state == QualificationState.APPROVED
                await add_notice(session, qualification_decided(q.applicant_id, q.id, q.unit_name, approved, d.reason))
            await session.commit()

    @activity.defn(name="group_invoicing.record_unit_invoice")
    async def record_unit_invoice(self, inp: UnitInvoiceInput) -> InvoiceRecorded:
        """The application, its items and the order claims in one transaction — or nothing at all
        when another application holds one of the orders."""
        order_nos = [line.order_no for line in inp.lines]
        async with self.sessionmaker() as session:
            if await session.get(UnitInvoiceApplication, inp.application_no) is not None:
                return InvoiceRecorded()  # a retried activity: already on record
            session.add(_application(inp))
            await session.flush()
            session.add_all(
                UnitInvoiceItem(
                    application_no=inp.application_no,
                    order_no=line.order_no,
                    trainee_id=line.trainee_id,
                    amount_cents=line.amount_cents,
                )
                for line in inp.lines
            )
            taken = await claim_orders_and_commit(
                session, order_nos, kind=InvoiceKind.UNIT, application_no=inp.application_no
            )
        return InvoiceRecorded(taken_order_nos=taken)

    @activity.defn(name="group_invoicing.reject_unit_invoice")
    async def reject_unit_invoice(self, d: UnitInvoiceDecided) -> None:
        """已驳回 with the reason; the orders are free to be invoiced again."""
        async with self.sessionmaker() as session:
            rejected = await session.execute(
                update(UnitInvoiceApplication)
                .where(
                    UnitInvoiceApplication.application_no == d.application_no,
                    UnitInvoiceApplication.status == UnitInvoiceState.PENDING,
                )
                .values(
                    status=UnitInvoiceState.REJECTED,
                    reason=d.reason,
                    decided_by=d.reviewer_id,
                    decided_at=datetime.fromisoformat(d.decided_at),
                )
            )
            applicant_id = await session.scalar(
                select(UnitInvoiceApplication.applicant_id).where(
                    UnitInvoiceApplication.application_no == d.application_no
                )
            )
            if rejected.rowcount and applicant_id is not None:  # type: ignore[attr-defined]
                link = "/my/group-invoicing/records"
                await add_notice(session, invoice_rejected(applicant_id, d.application_no, d.reason, link))
            await release_orders(session, d.application_no)
            await session.commit()

    def all(self) -> list[Any]:
        return [
            self.record_qualification,
            self.decide_qualification,
            self.record_unit_invoice,
            self.reject_unit_invoice,
        ]


def _application(inp: UnitInvoiceInput) -> UnitInvoiceApplication:
    return UnitInvoiceApplication(
        application_no=inp.application_no,
        applicant_id=inp.applicant_id,
        qualification_id=inp.qualification_id,
        school_id=inp.school_id,
        unit_name=inp.unit_name,
        tax_id=inp.tax_id,
        email=inp.email,
        training_year=inp.training_year,
        amount_cents=inp.amount_cents,
        status=UnitInvoiceState.PENDING,
        workflow_id=activity.info().workflow_id,
        created_at=datetime.fromisoformat(inp.submitted_at),
    )
