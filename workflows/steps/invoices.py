# mypy: disable-error-code="empty-body"
"""activities/invoices.py: InvoiceActivities; activities/mail.py: MailActivities."""

from __future__ import annotations

from temporalio import activity

from domain.invoicing import InvoiceRecorded
from domain.personal_invoice import (
    ApplicationClosed,
    InvoiceMail,
    IssuedInvoice,
    IssueRequest,
    PersonalInvoiceInput,
)


@activity.defn(name="invoices.record_application")
async def record_application(app: PersonalInvoiceInput) -> InvoiceRecorded: ...


@activity.defn(name="invoices.close_application")
async def close_application(closed: ApplicationClosed) -> None: ...


@activity.defn(name="invoices.issue")
async def issue(req: IssueRequest) -> IssuedInvoice: ...


@activity.defn(name="invoices.mark_issued")
async def mark_issued(application_no: str) -> None: ...


@activity.defn(name="mail.send_invoice")
async def send_invoice(mail: InvoiceMail) -> None: ...
