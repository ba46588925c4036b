"""集体开票资格: the unit's qualification (资格审核), the first tab of the 集体开票 page, and its 委托书.
The other two tabs, 单位开票 and 开票记录, are api/routers/unit_invoice.py's, under the same BASE."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response

import api.unit_qualification_inbox  # noqa: F401  (registers the inbox loader of 集体开票资格)
from api.deps import CurrentTrainee, OptionalUser, SessionDep, SettingsDep, TemporalDep
from api.pages import trainee_context
from api.templating import redirect, render
from api.unit_qualification_service import authorization_file, latest_qualification, submit_qualification
from api.uploads import read_upload
from db.models.unit_qualification import UnitQualification
from db.models.users import Role
from domain.errors import DomainError

router = APIRouter(tags=["unit-qualification"])

# the 集体开票 page's URL, which users have: its three tabs keep it (routers/unit_invoice.py too)
BASE = "/my/group-invoicing"
# staff who may see a unit's letter of authorization (admin reviews it, finance checks it on an invoice)
STAFF_VIEWERS = (Role.ADMIN, Role.FINANCE, Role.FINANCE_LEAD)


@router.get(BASE, response_class=HTMLResponse)
async def qualification_page(request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    latest = await latest_qualification(session, user.id)
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "unit_qualification/qualification.html",
        {**ctx, "active": "group", "tab": "qualification", "qualification": latest},
    )


@router.post(f"{BASE}/qualification")
async def submit(
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    unit_name: Annotated[str, Form()] = "",
    tax_id: Annotated[str, Form()] = "",
    authorization: Annotated[UploadFile | None, File()] = None,
) -> Response:
    upload = await read_upload(authorization, settings.max_upload_bytes)
    await submit_qualification(
        session=session,
        client=client,
        settings=settings,
        trainee=user,
        unit_name=unit_name,
        tax_id=tax_id,
        upload=upload.data if upload else None,
        now=datetime.now(UTC),
    )
    return redirect(request, BASE)  # 提交成功后，跳转到审核中显示页面


@router.get("/group-invoicing/authorizations/{qualification_id}")
async def authorization_image(
    qualification_id: int, user: OptionalUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """The 委托书 image: for its applicant and for the reviewing staff only."""
    qualification = await session.get(UnitQualification, qualification_id)
    own = user is not None and qualification is not None and qualification.applicant_id == user.id
    allowed = user is not None and (user.role in STAFF_VIEWERS or own)
    if qualification is None or not allowed:
        raise DomainError("NotFound")
    path = authorization_file(settings, qualification)
    media_type = "image/jpeg" if path.suffix == ".jpg" else "image/png"
    return FileResponse(
        path,
        media_type=media_type,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )
