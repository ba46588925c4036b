"""单位开票 activities (and the qualification's, which every unit invoice needs) are safe to run twice,
and the shared guard keeps an order on one invoice only — even when two applications race past the web
layer's check."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable
from datetime import UTC, datetime

from sqlalchemy import func, select

from activities.unit_invoice import UnitInvoiceActivities
from activities.unit_qualification import UnitQualificationActivities
from db.models.invoice_guard import InvoicedOrder
from db.models.unit_invoice import UnitInvoiceApplication, UnitInvoiceItem
from db.models.unit_qualification import UnitQualification
from domain.credit_code import make_credit_code
from domain.invoicing import InvoiceRecorded
from domain.unit_invoice import UnitInvoiceDecided, UnitInvoiceInput, UnitInvoiceLine
from domain.unit_qualification import QualificationDecided, QualificationInput
from tests.support import run_as_activity
from tests.support.invoicing import paid_order, unique_unit, unit_member
from workflows.unit_invoice import unit_invoice_workflow_id
from workflows.unit_qualification import qualification_workflow_id


def record_unit_invoice(acts: UnitInvoiceActivities, app: UnitInvoiceInput) -> Awaitable[InvoiceRecorded]:
    return run_as_activity(unit_invoice_workflow_id(app.application_no), acts.record, app)


async def qualification(acts: UnitQualificationActivities, applicant_id: int) -> int:
    submitted = QualificationInput(
        credit_code=make_credit_code(f"12430000AC{secrets.randbelow(10**7):07d}"),
        attempt=1,
        unit_name="某单位",
        applicant_id=applicant_id,
        applicant_name="经办人",
        authorization_path="authorizations/x.png",
        submitted_at=datetime.now(UTC).isoformat(),
        remind_after_seconds=60,
        due_after_seconds=120,
    )
    wf = qualification_workflow_id(submitted.credit_code, submitted.attempt)
    first = await run_as_activity(wf, acts.record, submitted)
    assert await run_as_activity(wf, acts.record, submitted) == first  # a retry finds the row
    await acts.decide(QualificationDecided(first, "approved", "", 1, datetime.now(UTC).isoformat()))
    return first


def application(no: str, applicant_id: int, qid: int, lines: list[UnitInvoiceLine]) -> UnitInvoiceInput:
    return UnitInvoiceInput(
        application_no=no,
        applicant_id=applicant_id,
        qualification_id=qid,
        school_id=1,
        unit_name="某单位",
        tax_id="12430000444880045L",
        email="unit@example.cn",
        training_year=datetime.now(UTC).year,
        lines=lines,
        submitted_at=datetime.now(UTC).isoformat(),
        remind_after_seconds=60,
        due_after_seconds=120,
    )


async def test_two_applications_racing_for_one_order_leave_it_on_one(sessionmaker, settings) -> None:
    acts = UnitInvoiceActivities(sessionmaker, settings)
    member = await unit_member(sessionmaker, unique_unit())
    a = await paid_order(sessionmaker, member.id, "PUB-01")
    b = await paid_order(sessionmaker, member.id, "PUB-02")
    qid = await qualification(UnitQualificationActivities(sessionmaker), member.id)
    first = application(f"U-{secrets.token_hex(4)}", member.id, qid, [UnitInvoiceLine(a, member.id, 6000)])
    second = application(
        f"U-{secrets.token_hex(4)}",
        member.id,
        qid,
        [UnitInvoiceLine(b, member.id, 4000), UnitInvoiceLine(a, member.id, 6000)],
    )
    results = await asyncio.gather(record_unit_invoice(acts, first), record_unit_invoice(acts, second))
    taken = [r.taken_order_nos for r in results]
    assert sorted(taken, key=len) == [[], [a]]  # exactly one of them got the order
    loser = second if taken[1] else first
    async with sessionmaker() as s:
        assert await s.get(UnitInvoiceApplication, loser.application_no) is None  # nothing half-written
        count = await s.scalar(
            select(func.count())
            .select_from(UnitInvoiceItem)
            .where(UnitInvoiceItem.application_no == loser.application_no)
        )
        assert count == 0
        holders = (await s.scalars(select(InvoicedOrder).where(InvoicedOrder.order_no.in_([a, b])))).all()
    winner = first if loser is second else second
    assert {h.application_no for h in holders} == {winner.application_no}

    # a retry of the winner's activity changes nothing
    assert (await record_unit_invoice(acts, winner)).taken_order_nos == []


async def test_issue_twice_numbers_once_and_rejection_frees_orders(sessionmaker, settings) -> None:
    acts = UnitInvoiceActivities(sessionmaker, settings)
    member = await unit_member(sessionmaker, unique_unit())
    qid = await qualification(UnitQualificationActivities(sessionmaker), member.id)
    a = await paid_order(sessionmaker, member.id, "AGR-02")
    issued_app = application(f"U-{secrets.token_hex(4)}", member.id, qid, [UnitInvoiceLine(a, member.id, 8000)])
    await record_unit_invoice(acts, issued_app)
    decided = UnitInvoiceDecided(issued_app.application_no, "issued", "", 1, datetime.now(UTC).isoformat())
    one = await acts.issue(decided)
    two = await acts.issue(decided)
    assert one == two and len(one.invoice_no) == 20
    assert (settings.files_dir / one.pdf_path).read_bytes().startswith(b"%PDF")

    b = await paid_order(sessionmaker, member.id, "AGR-03")
    rejected = application(f"U-{secrets.token_hex(4)}", member.id, qid, [UnitInvoiceLine(b, member.id, 8000)])
    await record_unit_invoice(acts, rejected)
    no = UnitInvoiceDecided(rejected.application_no, "rejected", "抬头有误", 1, datetime.now(UTC).isoformat())
    await acts.reject(no)
    await acts.reject(no)
    async with sessionmaker() as s:
        row = await s.get(UnitInvoiceApplication, rejected.application_no)
        assert row is not None and (row.status, row.reason) == ("rejected", "抬头有误")
        assert await s.get(InvoicedOrder, b) is None
        assert (await s.get(InvoicedOrder, a)) is not None  # the issued one keeps its order
        qualified = await s.get(UnitQualification, qid)
        assert qualified is not None and qualified.status == "approved"
