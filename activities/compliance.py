"""Side effects of the compliance round (单位管理员): which round a run is, the units to visit, and
one unit's reminders (a notice and an e-mail to each trainee behind) and its administrators' summary.

Idempotent per round and recipient: a `compliance_reminders` row is claimed before anything goes
out and marked sent after, so a rerun of the round (or a retried activity) reminds nobody twice. A
mail whose acknowledgement was lost goes out again under the same Message-ID (at-least-once, as
for invoices); an address the server refuses for good is skipped (the notice still reached them).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.mail import MAIL_REJECTED, SENDER_NAME, send_mail
from config import Settings
from db.base import utcnow
from db.models.compliance import ComplianceReminder
from db.models.users import Role, User
from db.notices import add_notice
from db.unit_roster import standings, unit_members, unit_name
from domain.compliance import (
    RemindUnit,
    RoundPlan,
    Standing,
    UnitReminded,
    UnitsPage,
    UnitsPageRequest,
    deadline_for,
    format_deadline,
    round_for,
    summary_text,
)
from domain.notices import NoticeDraft, compliance_reminder

SHANGHAI = ZoneInfo("Asia/Shanghai")
log = logging.getLogger(__name__)


class ComplianceActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings

    @activity.defn(name="compliance.plan_round")
    async def plan_round(self, started_at: str) -> RoundPlan:
        """The round a run started at ``started_at`` (ISO) belongs to, from the configured dates."""
        today = datetime.fromisoformat(started_at).astimezone(SHANGHAI).date()
        s = self.settings
        when = round_for(today, s.compliance_deadline, s.compliance_round_days_before)
        deadline = deadline_for(when.year, s.compliance_deadline)
        return RoundPlan(round_key=when.isoformat(), year=when.year, deadline=format_deadline(deadline))

    @activity.defn(name="compliance.units_page")
    async def units_page(self, req: UnitsPageRequest) -> UnitsPage:
        """The next units (credit codes, in order) that have trainees."""
        only = [User.unit_credit_code.in_(req.only_credit_codes)] if req.only_credit_codes else []
        async with self.sessionmaker() as session:
            codes = await session.scalars(
                select(User.unit_credit_code)
                .where(
                    User.role == Role.TRAINEE,
                    User.unit_credit_code != "",
                    User.unit_credit_code > req.after_credit_code,
                    *only,
                )
                .group_by(User.unit_credit_code)
                .order_by(User.unit_credit_code)
                .limit(req.limit)
            )
            return UnitsPage(credit_codes=list(codes.all()))

    @activity.defn(name="compliance.remind_unit")
    async def remind_unit(self, req: RemindUnit) -> UnitReminded:
        """Reminds each of the unit's trainees still behind, then sends its administrators a summary."""
        required = Decimal(str(self.settings.yearly_required_hours))
        async with self.sessionmaker() as session:
            members = await unit_members(session, req.credit_code)
            standing_of = await standings(session, [m.id for m in members], req.year, required)
            name = await unit_name(session, req.credit_code)
        behind = [m for m in members if standing_of[m.id].behind]
        result = UnitReminded(credit_code=req.credit_code, people=len(members), behind=len(behind))
        for member in behind:
            s = standing_of[member.id]
            notice = compliance_reminder(member.id, req.round_key, req.year, s.total, required, req.deadline)
            sent = await self._send_once(
                req,
                f"trainee:{member.id}",
                trainee_id=member.id,
                total=s.total,
                notice_add=notice,
                mail=self._mail(member.email, f"compliance-{req.round_key}-{member.id}", notice.title, notice.body)
                if member.email
                else None,
            )
            if sent:
                result.reminded += 1
            else:
                result.already_reminded += 1
        if behind:
            result.summary_sent = await self._summary(req, name, behind, standing_of, len(members))
        activity.logger.info(
            "compliance round %s unit %s: %d behind, %d reminded", req.round_key, req.credit_code,
            len(behind), result.reminded,
        )
        return result

    async def _summary(
        self, req: RemindUnit, name: str, behind: list[User], standing_of: dict[int, Standing], people: int
    ) -> bool:
        async with self.sessionmaker() as session:
            emails = (
                await session.scalars(
                    select(User.email).where(
                        User.role == Role.UNIT_ADMIN, User.unit_credit_code == req.credit_code, User.email != ""
                    )
                )
            ).all()
        if not emails:
            return False
        body = summary_text(name, req.year, [(m.name, standing_of[m.id].missing) for m in behind], people, req.deadline)
        subject = f"{name}{req.year}年度学时未达标人员汇总（{len(behind)}人）"
        mail = self._mail(", ".join(emails), f"compliance-{req.round_key}-unit-{req.credit_code}", subject, body)
        return await self._send_once(req, f"unit:{req.credit_code}", trainee_id=None, total=Decimal(0), mail=mail)

    async def _send_once(
        self,
        req: RemindUnit,
        recipient: str,
        *,
        trainee_id: int | None,
        total: Decimal,
        mail: EmailMessage | None,
        notice_add: NoticeDraft | None = None,
    ) -> bool:
        """Claims (round, recipient) with the notice in one transaction, then mails, then marks it
        sent. False when an earlier run already sent it."""
        async with self.sessionmaker() as session:
            row = await self._claim(session, req, recipient, trainee_id, total)
            if row.sent_at is not None:
                return False
            if notice_add is not None:
                await add_notice(session, notice_add)
            await session.commit()
            if mail is not None:
                try:
                    await send_mail(self.settings, mail)
                except ApplicationError as err:
                    if err.type != MAIL_REJECTED:
                        raise
                    log.warning("compliance reminder to %s refused: %s", mail["To"], err.message)
            row.sent_at = utcnow()
            await session.commit()
        return True

    @staticmethod
    async def _claim(
        session: AsyncSession, req: RemindUnit, recipient: str, trainee_id: int | None, total: Decimal
    ) -> ComplianceReminder:
        find = select(ComplianceReminder).where(
            ComplianceReminder.round_key == req.round_key, ComplianceReminder.recipient == recipient
        )
        row = await session.scalar(find)
        if row is not None:
            return row
        session.add(
            ComplianceReminder(
                round_key=req.round_key,
                recipient=recipient,
                credit_code=req.credit_code,
                trainee_id=trainee_id,
                total_hours=total,
            )
        )
        try:
            await session.flush()
        except IntegrityError:  # a parallel run claimed it first
            await session.rollback()
        row = await session.scalar(find)
        assert row is not None
        return row

    def _mail(self, to: str, message_key: str, subject: str, body: str) -> EmailMessage:
        domain = self.settings.mail_from.rpartition("@")[2] or "localhost"
        msg = EmailMessage()
        msg["From"] = formataddr((SENDER_NAME, self.settings.mail_from))
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = f"<{message_key}@{domain}>"  # a repeat after a lost acknowledgement shows once
        msg.set_content(f"{body}\n\n{SENDER_NAME}\n（本邮件由系统自动发送，请勿回复）\n")
        return msg

    def all(self) -> list:
        return [self.plan_round, self.units_page, self.remind_unit]
