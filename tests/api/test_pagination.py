"""paginate(): every list page's paging block (我的订单, 证明档案, 学时登记, 开票记录, 换课)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.pages import paginate
from db.models.catalog import Course


async def test_a_page_past_the_end_shows_the_last_page_and_page_zero_the_first(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        total = await session.scalar(select(func.count()).select_from(Course)) or 0
        assert total >= 3  # the demo catalogue
        last, paging = await paginate(session, select(Course), 999, order_by=[Course.id], size=2)
        assert paging == {"page": -(-total // 2), "pages": -(-total // 2), "total": total, "size": 2}
        assert 1 <= len(last) <= 2
        first, paging = await paginate(session, select(Course), 0, order_by=[Course.id], size=2)
        assert paging["page"] == 1 and [c.id for c in first] == sorted(c.id for c in first)
        everything = (await session.scalars(select(Course.id).order_by(Course.id))).all()
        assert [c.id for c in first] == list(everything[:2]) and last[-1].id == everything[-1]
