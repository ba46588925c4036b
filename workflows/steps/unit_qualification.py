# mypy: disable-error-code="empty-body"
"""activities/group_invoicing.py and activities/unit_invoicing.py."""

from __future__ import annotations

from temporalio import activity

from domain.group_invoicing import (
    QualificationDecided,
    QualificationInput,
    UnitInvoiceDecided,
    UnitInvoiceInput,
    UnitInvoiceIssued,
)
from domain.invoicing import InvoiceRecorded


@activity.defn(name="group_invoicing.record_qualification")
async def record_qualification(q: QualificationInput) -> int: ...


@activity.defn(name="group_invoicing.decide_qualification")
async def decide_qualification(decided: QualificationDecided) -> None: ...


@activity.defn(name="group_invoicing.record_unit_invoice")
async def record_unit_invoice(inp: UnitInvoiceInput) -> InvoiceRecorded: ...


@activity.defn(name="group_invoicing.reject_unit_invoice")
async def reject_unit_invoice(decided: UnitInvoiceDecided) -> None: ...


@activity.defn(name="unit_invoicing.issue")
async def issue_unit_invoice(decided: UnitInvoiceDecided) -> UnitInvoiceIssued: ...


@activity.defn(name="unit_invoicing.mail")
async def mail_unit_invoice(issued: UnitInvoiceIssued) -> None: ...
