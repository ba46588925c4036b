"""支付中心 · 我的发票: every paid order with its invoice state, 发票申请, 查看 / 取消, the PDF."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from temporalio.service import RPCError, RPCStatusCode

from api.deps import CurrentTrainee, SessionDep, SettingsDep, TemporalDep, release
from api.invoices_service import apply_personal_invoice, count_paid_orders, order_rows
from api.pages import PAGE_SIZE, page_numbers, trainee_context
from api.templating import redirect, render
from db.invoice_register import blue_key, find_invoice
from db.models.invoices import PersonalInvoiceApplication
from db.models.users import User
from domain.errors import DomainError
from domain.invoicing import TitleType
from domain.personal_invoice import InvoiceState
from workflows.personal_invoice import PersonalInvoiceWorkflow, personal_invoice_workflow_id

router = APIRouter(tags=["invoices"])

NOTICES = {
    "applied": "发票申请已提交，状态为“待开票”，请等待后台审核开票；开票后电子发票将发送到您填写的电子邮箱。",
    "cancelled": "已取消发票申请，所选订单可以重新申请开票。",
}


async def own_application(session: SessionDep, user: User, application_no: str) -> PersonalInvoiceApplication:
    """Another trainee's application is indistinguishable from a missing one."""
    app = await session.scalar(
        select(PersonalInvoiceApplication)
        .where(
            PersonalInvoiceApplication.application_no == application_no,
            PersonalInvoiceApplication.trainee_id == user.id,
        )
        .options(selectinload(PersonalInvoiceApplication.items))
    )
    if app is None:
        raise DomainError("InvoiceNotFound")
    return app


@router.get("/my/invoices", response_class=HTMLResponse)
async def my_invoices(
    request: Request, user: CurrentTrainee, session: SessionDep, page: int = 1, done: str = ""
) -> Response:
    paging = page_numbers(page, await count_paid_orders(session, user.id))
    rows = await order_rows(session, user.id, offset=(paging["page"] - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "invoices/list.html",
        {
            **ctx,
            "rows": rows,
            "paging": paging,
            "active": "invoices",
            "title_types": list(TitleType),
            "flash": NOTICES.get(done),
            "flash_kind": "success",
        },
        block="list",
    )


@router.post("/my/invoices")
async def apply(
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    order_nos: Annotated[list[str] | None, Form()] = None,
    title_type: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    tax_id: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> Response:
    await apply_personal_invoice(
        session=session,
        client=client,
        settings=settings,
        trainee=user,
        order_nos=list(dict.fromkeys(order_nos or [])),
        title_type=title_type,
        title=title,
        tax_id=tax_id,
        email=email,
        now=datetime.now(UTC),
    )
    return redirect(request, "/my/invoices?done=applied")


@router.get("/my/invoices/{application_no}", response_class=HTMLResponse)
async def view_application(
    application_no: str, request: Request, user: CurrentTrainee, session: SessionDep
) -> Response:
    app = await own_application(session, user, application_no)
    rows = await order_rows(session, user.id, order_nos=[i.order_no for i in app.items])
    amounts = {i.order_no: i.amount_cents for i in app.items}
    invoice = await find_invoice(session, blue_key(application_no))
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "invoices/detail.html",
        {
            **ctx,
            "app": app,
            "rows": rows,
            "amounts": amounts,
            "invoice": invoice,
            "active": "invoices",
        },
    )


@router.post("/my/invoices/{application_no}/cancel")
async def cancel_application(
    application_no: str, request: Request, user: CurrentTrainee, session: SessionDep, client: TemporalDep
) -> Response:
    await own_application(session, user, application_no)
    await release(session)  # no connection held while the workflow answers
    handle = client.get_workflow_handle(personal_invoice_workflow_id(application_no))
    try:
        await handle.execute_update(PersonalInvoiceWorkflow.cancel)
    except RPCError as err:
        # the process has ended (issued, rejected or cancelled): nothing left to cancel
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION) or "completed" in err.message:
            raise DomainError("InvoiceNotCancellable") from err
        raise
    return redirect(request, "/my/invoices?done=cancelled")


@router.get("/my/invoices/{application_no}/pdf")
async def invoice_pdf(
    application_no: str, user: CurrentTrainee, session: SessionDep, settings: SettingsDep
) -> Response:
    app = await own_application(session, user, application_no)
    invoice = await find_invoice(session, blue_key(application_no))
    if app.status != InvoiceState.ISSUED or invoice is None or not invoice.pdf_path:
        raise DomainError("InvoicePdfPending")
    path = settings.files_dir / invoice.pdf_path
    if not path.is_file():
        raise DomainError("InvoicePdfPending")
    return FileResponse(path, media_type="application/pdf", filename=f"电子发票-{invoice.invoice_no}.pdf")

