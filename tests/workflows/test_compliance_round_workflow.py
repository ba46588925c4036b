"""ComplianceRoundWorkflow on the time-skipping server with the real activities (database, mail
catcher): each trainee behind is reminded once per round (notice + mail), the unit administrator gets
a summary, a trainee ahead of the requirement gets nothing, and a rerun of the round reminds nobody
again. Also the Schedule the worker creates (local dev server: the test server has no schedules).

RECORD_HISTORIES=1 re-records the history that tests/workflows/test_replay.py replays."""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from decimal import Decimal

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.compliance import ComplianceActivities
from config import Settings
from db.models.compliance import ComplianceReminder
from db.models.hours import HoursRecord
from db.models.notices import Notice
from db.models.users import Role, User
from domain.compliance import ComplianceRoundInput, ComplianceRoundResult
from domain.credit_code import make_credit_code
from tests.workflows.histories import record
from workflows.compliance_round import SCHEDULE_ID, ComplianceRoundWorkflow

QUEUE = "compliance-round-test"
_serial = itertools.count(1)


async def make_unit(
    maker: async_sessionmaker[AsyncSession], hours: dict[str, int]
) -> tuple[str, dict[str, User], str]:
    """A fresh unit: one trainee per name with that many counted hours this year, and its administrator."""
    n = next(_serial)
    code = make_credit_code(f"12430000CR{uuid.uuid4().int % 10**7:07d}")
    tag = uuid.uuid4().hex[:6]
    people: dict[str, User] = {}
    async with maker() as session:
        for name, h in hours.items():
            user = User(role=Role.TRAINEE, name=f"{name}{n}", unit_name=f"达标测试单位{n}", unit_credit_code=code,
                        email=f"{name}-{tag}@example.cn", id_card="430102199001011234")
            session.add(user)
            await session.flush()
            if h:
                session.add(HoursRecord(
                    trainee_id=user.id, source="self", state="approved", training_name="线下培训", organiser="某厅",
                    start_date=date.today(), end_date=date.today(), subject_category="professional",
                    training_type="in_post", hours=Decimal(h), year=date.today().year,
                ))
            people[name] = user
        session.add(User(role=Role.UNIT_ADMIN, username=f"unitadmin-{tag}", name="单位管理员", unit_credit_code=code,
                         unit_name=f"达标测试单位{n}", email=f"admin-{tag}@example.cn"))
        await session.commit()
    return code, people, f"admin-{tag}@example.cn"


async def mails_to(mailcatcher: str, address: str) -> list[dict]:
    """The mails caught for ``address``, with their text."""
    async with httpx.AsyncClient(base_url=mailcatcher) as http:
        mails = (await http.get("/api/mails")).json()
        return [
            (await http.get(f"/api/mails/{m['id']}")).json()
            for m in mails
            if any(address in to for to in m["to"])
        ]


async def run_round(env: WorkflowEnvironment, inp: ComplianceRoundInput) -> tuple[ComplianceRoundResult, object]:
    handle = await env.client.start_workflow(
        ComplianceRoundWorkflow.run, inp, id=f"compliance-test-{uuid.uuid4().hex[:8]}", task_queue=QUEUE
    )
    return await handle.result(), handle


async def test_each_trainee_behind_is_reminded_once_per_round_even_when_rerun(
    time_env: WorkflowEnvironment, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
    mailcatcher: str,
) -> None:
    code, people, admin_email = await make_unit(sessionmaker, {"落后": 30, "未学": 0, "达标": 95})
    acts = ComplianceActivities(sessionmaker, settings)
    year = date.today().year
    # the time-skipping server's clock runs ahead of ours: the round is given (as a rerun by hand would)
    this_round = ComplianceRoundInput(f"{year}-11-23", year, f"{year}年11月30日", only_credit_codes=[code])
    async with Worker(time_env.client, task_queue=QUEUE, workflows=[ComplianceRoundWorkflow], activities=acts.all()):
        first, handle = await run_round(time_env, this_round)
        await record(handle, "compliance_round_reminded")  # type: ignore[arg-type]
        assert (first.units, first.reminded, first.already_reminded) == (1, 2, 0)
        rerun, _ = await run_round(time_env, this_round)
    assert (rerun.round_key, rerun.reminded, rerun.already_reminded) == (first.round_key, 0, 2)

    behind, never, ahead = people["落后"], people["未学"], people["达标"]
    [mail] = await mails_to(mailcatcher, behind.email)
    assert "学时未达标提醒" in mail["subject"] and "还差 60 学时" in mail["text"]
    assert len(await mails_to(mailcatcher, never.email)) == 1
    assert await mails_to(mailcatcher, ahead.email) == []
    [summary] = await mails_to(mailcatcher, admin_email)  # once, though the round ran twice
    assert "未达标人员汇总（2人）" in summary["subject"]
    assert f"{behind.name}：还差 60 学时" in summary["text"] and ahead.name not in summary["text"]
    async with sessionmaker() as s:
        notices = (await s.scalars(select(Notice).where(Notice.user_id.in_([behind.id, never.id, ahead.id])))).all()
        assert sorted(n.user_id for n in notices) == sorted([behind.id, never.id])
        assert all(n.kind == "compliance" and n.link.startswith("/my/hours?year=") for n in notices)
        rows = await s.scalar(select(func.count()).select_from(ComplianceReminder).where(
            ComplianceReminder.credit_code == code))
        assert rows == 3  # two trainees and the unit's summary


async def test_a_scheduled_run_finds_its_round_from_its_start_time(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    acts = ComplianceActivities(sessionmaker, settings)
    # 09:00 in Shanghai on 26 November (01:00 UTC): three days after the 7-days-before round
    plan = await acts.plan_round("2026-11-26T01:00:00+00:00")
    assert (plan.round_key, plan.year, plan.deadline) == ("2026-11-23", 2026, "2026年11月30日")
    assert (await acts.plan_round("2026-10-31T01:00:00+00:00")).round_key == "2026-10-31"


async def test_the_schedule_runs_a_round_before_the_deadline(temporal_client: Client, settings: Settings) -> None:
    from worker import ensure_compliance_schedule

    await ensure_compliance_schedule(temporal_client, settings)
    await ensure_compliance_schedule(temporal_client, settings)  # a second worker start updates it
    desc = await temporal_client.get_schedule_handle(SCHEDULE_ID).describe()
    days = sorted((c.month[0].start, c.day_of_month[0].start) for c in desc.schedule.spec.calendars)
    assert days == [(10, 31), (11, 23)]  # 30 and 7 days before 30 November
    assert desc.schedule.spec.time_zone_name == "Asia/Shanghai"
    await temporal_client.get_schedule_handle(SCHEDULE_ID).delete()
