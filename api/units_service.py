"""单位管理员: the unit's roster for a year, filtered and paged, and one person's detail."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from api.hours_rules import today_local
from api.pages import page_numbers
from db.models.users import Role, User
from db.unit_roster import standings, unit_members
from domain.compliance import ROSTER_PAGE_SIZE, Standing
from domain.errors import DomainError


def roster_years() -> list[int]:
    """The years a unit administrator may look at: this one and the two before, newest first."""
    this = today_local().year
    return [this, this - 1, this - 2]


def parse_year(raw: str | None) -> int:
    value = (raw or "").strip()
    if not value:
        return roster_years()[0]
    if not value.isdigit() or int(value) not in roster_years():
        raise DomainError("RosterYearInvalid")
    return int(value)


def refuse_other_unit(admin: User, credit_code: str) -> None:
    """A unit administrator sees only the unit they administer."""
    if not admin.unit_credit_code or admin.unit_credit_code != credit_code:
        raise DomainError("OtherUnitRoster")


def mask_id_card(id_card: str) -> str:
    return f"{id_card[:6]}********{id_card[-4:]}" if len(id_card) >= 10 else id_card


@dataclass
class Roster:
    year: int
    rows: list[tuple[User, Standing]]  # the page shown
    people: int
    behind: int
    paging: dict[str, int]


async def roster(
    session: AsyncSession, credit_code: str, year: int, required: Decimal, *, behind_only: bool, page: int = 1
) -> Roster:
    """Every member's standing (the filter needs all of them), then one page of the chosen ones."""
    members = await unit_members(session, credit_code)
    standing_of = await standings(session, [m.id for m in members], year, required)
    all_rows = [(m, standing_of[m.id]) for m in members]
    chosen = [r for r in all_rows if r[1].behind] if behind_only else all_rows
    paging = page_numbers(page, len(chosen), ROSTER_PAGE_SIZE)
    start = (paging["page"] - 1) * ROSTER_PAGE_SIZE
    return Roster(
        year=year,
        rows=chosen[start : start + ROSTER_PAGE_SIZE],
        people=len(all_rows),
        behind=sum(1 for _, s in all_rows if s.behind),
        paging=paging,
    )


async def export_rows(
    session: AsyncSession, credit_code: str, year: int, required: Decimal, *, behind_only: bool
) -> list[tuple[str, str, str, Standing]]:
    members = await unit_members(session, credit_code)
    standing_of = await standings(session, [m.id for m in members], year, required)
    return [
        (m.name, mask_id_card(m.id_card), m.phone, standing_of[m.id])
        for m in members
        if standing_of[m.id].behind or not behind_only
    ]


async def member(session: AsyncSession, credit_code: str, trainee_id: int) -> User:
    """One of the unit's people; anyone else is ``NotUnitMember``."""
    user = await session.get(User, trainee_id)
    if user is None or user.role != Role.TRAINEE or user.unit_credit_code != credit_code:
        raise DomainError("NotUnitMember")
    return user
