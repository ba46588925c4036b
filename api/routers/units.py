"""单位管理员: the unit's roster for a year (达标 / 未达标), one person's hours, the Excel export.

The unit is the administrator's own (`users.unit_credit_code`); another unit's pages are refused.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import units_service as svc
from api.deps import SessionDep, SettingsDep, require_role
from api.hours_registry import counted_records
from api.templating import render
from db.models.users import Role, User
from db.unit_roster import standings, unit_name
from media.roster_xlsx import roster_workbook

router = APIRouter(tags=["units"])
UnitAdmin = Annotated[User, Depends(require_role(Role.UNIT_ADMIN))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _required(settings: SettingsDep) -> Decimal:
    return Decimal(str(settings.yearly_required_hours))


@router.get("/unit/roster")
async def own_roster(admin: UnitAdmin) -> Response:
    return RedirectResponse(f"/units/{admin.unit_credit_code}/roster", status_code=303)


@router.get("/units/{credit_code}/roster", response_class=HTMLResponse)
async def roster_page(
    credit_code: str,
    request: Request,
    admin: UnitAdmin,
    session: SessionDep,
    settings: SettingsDep,
    year: str | None = None,
    behind: str | None = None,
    page: int = 1,
) -> Response:
    svc.refuse_other_unit(admin, credit_code)
    chosen = svc.parse_year(year)
    behind_only = behind == "1"
    roster = await svc.roster(session, credit_code, chosen, _required(settings), behind_only=behind_only, page=page)
    query = f"year={chosen}" + ("&behind=1" if behind_only else "")
    return render(
        request,
        "units/roster.html",
        {
            "roster": roster,
            "unit_name": await unit_name(session, credit_code),
            "credit_code": credit_code,
            "years": svc.roster_years(),
            "behind_only": behind_only,
            "query": query,
            "required": _required(settings),
        },
        block="roster",
    )


@router.get("/units/{credit_code}/roster.xlsx")
async def roster_export(
    credit_code: str,
    admin: UnitAdmin,
    session: SessionDep,
    settings: SettingsDep,
    year: str | None = None,
    behind: str | None = None,
) -> Response:
    svc.refuse_other_unit(admin, credit_code)
    chosen = svc.parse_year(year)
    rows = await svc.export_rows(session, credit_code, chosen, _required(settings), behind_only=behind == "1")
    name = await unit_name(session, credit_code)
    filename = f"{name}-{chosen}年度学时.xlsx"
    return Response(
        roster_workbook(name, chosen, rows),
        media_type=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename=roster-{chosen}.xlsx; filename*=UTF-8''{quote(filename)}"
        },
    )


@router.get("/units/{credit_code}/people/{trainee_id}", response_class=HTMLResponse)
async def person_page(
    credit_code: str,
    trainee_id: int,
    request: Request,
    admin: UnitAdmin,
    session: SessionDep,
    settings: SettingsDep,
    year: str | None = None,
) -> Response:
    svc.refuse_other_unit(admin, credit_code)
    chosen = svc.parse_year(year)
    person = await svc.member(session, credit_code, trainee_id)
    standing = (await standings(session, [person.id], chosen, _required(settings)))[person.id]
    return render(
        request,
        "units/person.html",
        {
            "person": person,
            "id_card": svc.mask_id_card(person.id_card),
            "standing": standing,
            "records": await counted_records(session, person.id, chosen),
            "year": chosen,
            "years": svc.roster_years(),
            "credit_code": credit_code,
            "unit_name": await unit_name(session, credit_code),
        },
    )
