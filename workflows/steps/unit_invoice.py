# mypy: disable-error-code="empty-body"
"""activities/unit_invoice.py: UnitInvoiceActivities."""

from __future__ import annotations

from temporalio import activity

from domain.invoicing import InvoiceRecorded
from domain.unit_invoice import UnitInvoiceDecided, UnitInvoiceInput, UnitInvoiceIssued


@activity.defn(name="unit_invoice.record")
async def record(application: UnitInvoiceInput) -> InvoiceRecorded: ...


@activity.defn(name="unit_invoice.reject")
async def reject(decided: UnitInvoiceDecided) -> None: ...


@activity.defn(name="unit_invoice.issue")
async def issue(decided: UnitInvoiceDecided) -> UnitInvoiceIssued: ...


@activity.defn(name="unit_invoice.mail")
async def mail(issued: UnitInvoiceIssued) -> None: ...
