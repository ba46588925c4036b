"""Demo data for 单位管理员: one administrator per unit (password Unit@2026), and a unit with people
both ahead of and behind this year's requirement."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from api.hours_rules import today_local
from core.passwords import verify_password
from db.models.users import Role, User
from db.seed import DEMO_ACCOUNTS, UNIT_ADMIN_PASSWORD
from db.unit_roster import standings, unit_members


async def test_every_demo_unit_has_an_administrator(sessionmaker) -> None:
    async with sessionmaker() as s:
        demo = (await s.scalars(select(User).where(User.username.is_(None), User.role == Role.TRAINEE,
                                                   User.email.like("trainee%@example.cn")))).all()
        logins = [d["login"] for d in DEMO_ACCOUNTS]  # other tests make unit administrators of their own
        admins = (await s.scalars(select(User).where(User.role == Role.UNIT_ADMIN, User.username.in_(logins)))).all()
    assert {t.unit_credit_code for t in demo} == {a.unit_credit_code for a in admins}
    assert len(admins) == 3
    assert all(verify_password(a.password_hash, UNIT_ADMIN_PASSWORD) for a in admins)
    assert {a.username for a in admins} <= {d["login"] for d in DEMO_ACCOUNTS}


async def test_one_demo_unit_has_people_ahead_and_behind(sessionmaker) -> None:
    async with sessionmaker() as s:
        admin = await s.scalar(select(User).where(User.username == "unit_hnaas"))
        assert admin is not None and admin.unit_name == "湖南省农业科学院"
        members = await unit_members(s, admin.unit_credit_code)
        standing = await standings(s, [m.id for m in members], today_local().year, Decimal(90))
    by_name = {m.name: standing[m.id] for m in members}
    assert {"张伟", "刘洋", "陈静"} <= set(by_name)
    assert not by_name["刘洋"].behind and by_name["刘洋"].total == 92
    assert by_name["陈静"].behind and by_name["陈静"].total == 36
    assert by_name["陈静"].public > 0 and by_name["陈静"].professional > 0
