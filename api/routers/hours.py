"""学时登记 and 学时申报 (the manual's five steps), plus the evidence files the reviewer opens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

import api.hours_inbox  # noqa: F401  (registers the inbox loader of 学时申报)
from api import hours_drafts as drafts
from api import hours_registry as read
from api import hours_rules as rules
from api import hours_service as commands
from api.deps import CurrentStaff, CurrentTrainee, SchoolIdDep, SessionDep, SettingsDep, TemporalDep
from api.pages import optional_int, paginate, trainee_context
from api.templating import redirect, render
from api.uploads import read_upload
from db.models.catalog import School
from db.models.hours import HoursDeclaration, HoursDeclarationItem, HoursRecord
from db.models.users import Role
from domain.errors import DomainError
from domain.hours import DeclarationState, allowed_declaration_years

router = APIRouter(tags=["hours"])

DONE_MESSAGES = {
    "saved": "学时信息已保存",
    "deleted": "学时记录已删除",
    "hours": "已加入待提交申报，请点击【提交申报】将学时信息提交至学校进行审核",
    "declared": "已提交申报，学时信息已提交至学校进行审核",
    "withdrawn": "已移出申报，记录回到草稿",
}


# ---- 学时登记 ---------------------------------------------------------------------------------


@router.get("/my/hours", response_class=HTMLResponse)
async def hours_registry(
    request: Request, user: CurrentTrainee, session: SessionDep, settings: SettingsDep, year: str = ""
) -> Response:
    reg = await read.registry(session, user.id, optional_int(year), settings.yearly_required_hours)
    ctx = await trainee_context(request, session, user)
    return render(request, "hours/registry.html", {**ctx, "reg": reg, "active": "hours", "tab": "registry"})


# ---- 学时申报: list, 查询 ----------------------------------------------------------------------


@router.get("/my/hours/records", response_class=HTMLResponse)
async def hours_records(
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    school_id: SchoolIdDep,
    year: str = "",
    source: str = "",
    state: str = "",
    page: int = 1,
    done: str = "",
) -> Response:
    year_value = optional_int(year)
    query = read.records_query(user.id, year_value, source, state)
    records, paging = await paginate(
        session, query, page, order_by=[HoursRecord.created_at.desc(), HoursRecord.id.desc()]
    )
    declarations = (
        await session.scalars(
            select(HoursDeclaration)
            .where(HoursDeclaration.trainee_id == user.id)
            .options(selectinload(HoursDeclaration.school), selectinload(HoursDeclaration.items))
            .order_by(HoursDeclaration.created_at.desc())
        )
    ).all()
    pending = [d for d in declarations if d.state == DeclarationState.PENDING]
    in_pending = (
        await session.scalars(
            select(HoursRecord)
            .where(HoursRecord.declaration_id.in_([d.id for d in pending]))
            .order_by(HoursRecord.id)
        )
    ).all()
    pending_records = {d.id: [r for r in in_pending if r.declaration_id == d.id] for d in pending}
    years = sorted(
        set((await session.scalars(select(HoursRecord.year).where(HoursRecord.trainee_id == user.id))).all())
        | set(allowed_declaration_years(rules.today_local())),
        reverse=True,
    )
    filters = {"year": year_value or "", "source": source, "state": state}
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "hours/records.html",
        read.page_context(
            **ctx,
            records=records,
            paging=paging,
            filters=filters,
            pager_url="/my/hours/records?" + "&".join(f"{k}={v}" for k, v in filters.items() if v),
            years=years,
            declare_years=allowed_declaration_years(rules.today_local()),
            pending=pending,
            pending_records=pending_records,
            submitted=[d for d in declarations if d.state != DeclarationState.PENDING],
            schools=(await session.scalars(select(School).order_by(School.id))).all(),
            default_school_id=await read.default_school_id(session, user.id, school_id),
            flash=DONE_MESSAGES.get(done),
            flash_kind="success",
            active="hours",
            tab="records",
        ),
    )


# ---- 学时填报: new / edit / delete a draft -------------------------------------------------------


@router.get("/my/hours/records/new", response_class=HTMLResponse)
async def new_record(request: Request, user: CurrentTrainee, session: SessionDep, settings: SettingsDep) -> Response:
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "hours/form.html",
        read.page_context(
            **ctx, record=None, form=drafts.EntryForm(), settings=settings, active="hours", tab="records"
        ),
    )


@router.get("/my/hours/records/{record_id}/edit", response_class=HTMLResponse)
async def edit_record(
    record_id: int, request: Request, user: CurrentTrainee, session: SessionDep, settings: SettingsDep
) -> Response:
    record = await rules.own_record(session, user.id, record_id)
    rules.refuse_unless_editable(record)
    form = drafts.EntryForm(
        training_name=record.training_name,
        organiser=record.organiser,
        start_date=record.start_date.isoformat() if record.start_date else "",
        end_date=record.end_date.isoformat() if record.end_date else "",
        subject_category=record.subject_category,
        training_type=record.training_type,
        hours=f"{record.hours:f}",
    )
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "hours/form.html",
        read.page_context(**ctx, record=record, form=form, settings=settings, active="hours", tab="records"),
    )


async def entry_form(
    training_name: Annotated[str, Form()] = "",
    organiser: Annotated[str, Form()] = "",
    start_date: Annotated[str, Form()] = "",
    end_date: Annotated[str, Form()] = "",
    subject_category: Annotated[str, Form()] = "",
    training_type: Annotated[str, Form()] = "",
    hours: Annotated[str, Form()] = "",
) -> drafts.EntryForm:
    """The 学时填报 form's fields, as both 保存 endpoints (new and edit) read them."""
    return drafts.EntryForm(training_name, organiser, start_date, end_date, subject_category, training_type, hours)


EntryFormDep = Annotated[drafts.EntryForm, Depends(entry_form)]


@router.post("/my/hours/records")
async def create_record(
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    settings: SettingsDep,
    form: EntryFormDep,
    evidence: Annotated[UploadFile | None, File()] = None,
) -> Response:
    await drafts.save_entry(
        session=session,
        settings=settings,
        trainee=user,
        form=form,
        upload=await read_upload(evidence, settings.max_upload_bytes),
    )
    return redirect(request, "/my/hours/records?done=saved")


@router.post("/my/hours/records/{record_id}")
async def update_record(
    record_id: int,
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    settings: SettingsDep,
    form: EntryFormDep,
    remove_evidence: Annotated[str, Form()] = "",
    evidence: Annotated[UploadFile | None, File()] = None,
) -> Response:
    await drafts.save_entry(
        session=session,
        settings=settings,
        trainee=user,
        form=form,
        upload=await read_upload(evidence, settings.max_upload_bytes),
        remove_evidence=bool(remove_evidence),
        record_id=record_id,
    )
    return redirect(request, "/my/hours/records?done=saved")


@router.post("/my/hours/records/{record_id}/delete")
async def delete_record(
    record_id: int, request: Request, user: CurrentTrainee, session: SessionDep, settings: SettingsDep
) -> Response:
    await drafts.delete_draft(session, settings, user, record_id)
    return redirect(request, "/my/hours/records?done=deleted")


@router.post("/my/hours/records/{record_id}/withdraw")
async def withdraw_record(record_id: int, request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    await commands.withdraw_record(session, user, record_id)
    return redirect(request, "/my/hours/records?done=withdrawn")


# ---- 提交学时 and 提交申报 ----------------------------------------------------------------------


@router.post("/my/hours/submit")
async def submit_hours(
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    year: Annotated[str, Form()] = "",
    record_ids: Annotated[list[int] | None, Form()] = None,
) -> Response:
    await commands.submit_hours(session, user, record_ids or [], optional_int(year))
    return redirect(request, "/my/hours/records?done=hours")


@router.post("/my/hours/declarations/{declaration_no}/submit")
async def submit_declaration(
    declaration_no: str,
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    school_id: Annotated[str, Form()] = "",
) -> Response:
    await commands.submit_declaration(
        session=session,
        client=client,
        settings=settings,
        trainee=user,
        declaration_no=declaration_no,
        school_id=optional_int(school_id),
    )
    return redirect(request, "/my/hours/records?done=declared")


# ---- evidence files ----------------------------------------------------------------------------


def _evidence_response(settings: SettingsDep, record: HoursRecord) -> Response:
    if not record.evidence_file:
        raise DomainError("NotFound")
    path = drafts.evidence_dir(settings) / record.evidence_file
    if not path.is_file():
        raise DomainError("NotFound")
    is_pdf = record.evidence_type == "application/pdf"
    return FileResponse(
        path,
        media_type=record.evidence_type,
        filename=record.evidence_name or record.evidence_file,
        # images open in the browser; a PDF is downloaded (it is kept as uploaded, not re-encoded)
        content_disposition_type="attachment" if is_pdf else "inline",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


@router.get("/my/hours/records/{record_id}/evidence")
async def own_evidence(record_id: int, user: CurrentTrainee, session: SessionDep, settings: SettingsDep) -> Response:
    record = await rules.own_record(session, user.id, record_id)
    return _evidence_response(settings, record)


@router.get("/staff/hours/records/{record_id}/evidence")
async def reviewer_evidence(record_id: int, user: CurrentStaff, session: SessionDep, settings: SettingsDep) -> Response:
    """Only the reviewers of a school the record was declared to may open its evidence."""
    sent_to_my_school = await session.scalar(
        select(HoursDeclarationItem.id)
        .join(HoursDeclaration, HoursDeclaration.id == HoursDeclarationItem.declaration_id)
        .where(
            HoursDeclarationItem.record_id == record_id,
            HoursDeclaration.school_id == user.school_id,
        )
        .limit(1)
    )
    if user.role != Role.SCHOOL_REVIEWER or user.school_id is None or sent_to_my_school is None:
        raise DomainError("Forbidden")
    record = await session.get(HoursRecord, record_id)
    assert record is not None
    return _evidence_response(settings, record)
