"""Helpers for the 单位管理员 and 消息中心 tests: a unit with counted hours, its administrator."""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.passwords import hash_password
from db.models.hours import HoursRecord
from db.models.users import Role, User
from domain.credit_code import make_credit_code

PASSWORD = "Pass@1234"
_serial = itertools.count(1)


def new_credit_code() -> str:
    return make_credit_code(f"12430000UA{uuid.uuid4().int % 10**7:07d}")


async def make_unit(
    maker: async_sessionmaker[AsyncSession], hours: dict[str, tuple[int, int]], year: int | None = None
) -> tuple[str, dict[str, User], User]:
    """A unit whose people have (公共科目 platform hours, 专业科目 approved self-declared hours) in
    ``year`` (this year by default), and its administrator."""
    n = next(_serial)
    code, unit = new_credit_code(), f"测试单位U{n}"
    year = year or date.today().year
    people: dict[str, User] = {}
    async with maker() as session:
        for name, (public, professional) in hours.items():
            user = User(role=Role.TRAINEE, name=f"{name}{n}", unit_name=unit, unit_credit_code=code,
                        id_card="430102199001011234", phone=f"137{n:04d}{len(people):04d}")
            session.add(user)
            await session.flush()
            for h, subject, source, state in ((public, "public", "platform", "recorded"),
                                              (professional, "professional", "self", "approved")):
                if h:
                    session.add(HoursRecord(
                        trainee_id=user.id, source=source, state=state, training_name=f"培训{subject}",
                        organiser="某单位", start_date=date(year, 3, 1), end_date=date(year, 3, 1),
                        subject_category=subject, training_type="in_post", hours=Decimal(h), year=year,
                    ))
            people[name] = user
        admin = User(role=Role.UNIT_ADMIN, username=f"unit-admin-{uuid.uuid4().hex[:8]}",
                     password_hash=hash_password(PASSWORD), name=f"管理员{n}", unit_name=unit, unit_credit_code=code)
        session.add(admin)
        await session.commit()
    return code, people, admin


async def notice_titles(maker: async_sessionmaker[AsyncSession], user_id: int) -> list[str]:
    """The 消息中心 notices of a user, oldest first: '标题｜正文｜链接'."""
    from sqlalchemy import select

    from db.models.notices import Notice

    async with maker() as session:
        rows = (await session.scalars(select(Notice).where(Notice.user_id == user_id).order_by(Notice.id))).all()
        return [f"{n.title}｜{n.body}｜{n.link}" for n in rows]
