"""单位开票 and 开票记录, the second and third tabs of the 集体开票 page (query → tick → 申请开票, then
the applications and their PDFs); the first tab, the qualification, is api/routers/unit_qualification.py's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

import api.unit_invoice_inbox  # noqa: F401  (registers the inbox loader of 单位开票)
from api.deps import CurrentTrainee, OptionalUser, SchoolIdDep, SessionDep, SettingsDep, TemporalDep
from api.pages import paginate, trainee_context
from api.routers.unit_qualification import BASE
from api.templating import redirect, render
from api.unit_invoice_service import RecordQuery, apply_unit_invoice, open_records, require_approved_unit
from api.unit_qualification_service import approved_qualification
from db.base import utcnow
from db.models.catalog import School
from db.models.unit_invoice import UnitInvoiceApplication
from db.models.users import Role
from domain.beijing_time import beijing_today
from domain.catalog import offered_years
from domain.errors import DomainError
from domain.unit_invoice import UnitInvoiceState, parse_year

router = APIRouter(tags=["unit-invoice"])


async def _years(session: SessionDep, school_id: int | None) -> list[int]:
    school = await session.get(School, school_id) if school_id is not None else None
    return offered_years(beijing_today(utcnow()), school.offered_years if school else None)


# ---- 单位开票 ---------------------------------------------------------------------------------


@router.get(f"{BASE}/unit-invoice", response_class=HTMLResponse)
async def unit_invoice_page(
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    school_id: SchoolIdDep,
    unit_name: str = "",
    year: str = "",
    name: str = "",
    phone: str = "",
) -> Response:
    approved = await approved_qualification(session, user.id)
    years = await _years(session, school_id)
    query: RecordQuery | None = None
    if "unit_name" in request.query_params:  # 查询 was pressed
        unit_name = " ".join(unit_name.split())
        await require_approved_unit(session, user, unit_name)
        if school_id is None:
            raise DomainError("SchoolRequired")
        query = RecordQuery(unit_name=unit_name, year=parse_year(year), name=name.strip(), phone=phone.strip())
        query.records = await open_records(
            session, school_id=school_id, unit_name=unit_name, year=query.year, name=query.name, phone=query.phone
        )
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "unit_invoice/query.html",
        {
            **ctx,
            "active": "group",
            "tab": "unit",
            "approved": approved,
            "years": years,
            "query": query,
            "form": {
                "unit_name": unit_name or (approved.unit_name if approved else ""),
                "year": year,
                "name": name,
                "phone": phone,
            },
        },
        block="records",
    )


@router.post(f"{BASE}/unit-invoices")
async def apply(
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    school_id: SchoolIdDep,
    unit_name: Annotated[str, Form()] = "",
    year: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    order_nos: Annotated[list[str] | None, Form()] = None,
) -> Response:
    # the amount is never taken from the form: it is the sum of the ticked records, computed here
    await apply_unit_invoice(
        session=session,
        client=client,
        settings=settings,
        trainee=user,
        school_id=school_id,
        unit_name=" ".join(unit_name.split()),
        year=parse_year(year),
        order_nos=order_nos or [],
        email=email,
        now=datetime.now(UTC),
    )
    return redirect(request, f"{BASE}/records")


# ---- 开票记录 ---------------------------------------------------------------------------------


@router.get(f"{BASE}/records", response_class=HTMLResponse)
async def records_page(request: Request, user: CurrentTrainee, session: SessionDep, page: int = 1) -> Response:
    base = select(UnitInvoiceApplication).where(UnitInvoiceApplication.applicant_id == user.id)
    applications, paging = await paginate(
        session,
        base,
        page,
        order_by=[UnitInvoiceApplication.created_at.desc()],
        options=[selectinload(UnitInvoiceApplication.items)],
    )
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "unit_invoice/records.html",
        {**ctx, "active": "group", "tab": "records", "applications": applications, "paging": paging},
    )


@router.get(f"{BASE}/records/{{application_no}}/pdf")
async def invoice_pdf_file(
    application_no: str, user: OptionalUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """The issued invoice's PDF, for the applicant and finance."""
    app = await session.get(UnitInvoiceApplication, application_no)
    finance = user is not None and user.role in (Role.FINANCE, Role.FINANCE_LEAD)
    if app is None or user is None or not (finance or app.applicant_id == user.id):
        raise DomainError("NotFound")
    if app.status != UnitInvoiceState.ISSUED or not app.pdf_path:
        raise DomainError("NotFound")
    path = settings.files_dir / app.pdf_path
    if not path.is_file():
        raise DomainError("NotFound")
    return FileResponse(
        path,
        media_type="application/pdf",
        filename=f"{app.invoice_no}.pdf",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )
