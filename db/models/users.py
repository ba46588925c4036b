"""Accounts: trainees (QR login through the provincial portal) and staff (password)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class Role:
    TRAINEE = "trainee"
    FINANCE = "finance"  # 财务审核：个人发票、单位开票
    ADMIN = "admin"  # 平台管理员：集体开票资格
    SCHOOL_REVIEWER = "school_reviewer"  # 学校审核员：学时申报
    COURSE_ADMIN = "course_admin"  # 课程管理员：本校课程的编辑与上架
    UNIT_ADMIN = "unit_admin"  # 单位管理员：本单位人员的学时达标（unit_credit_code 为其单位）
    FINANCE_LEAD = "finance_lead"  # 财务组长：财务审核，并可改派已领取的任务 (domain/review.py QUEUE_LEADS)

    STAFF = (FINANCE, ADMIN, SCHOOL_REVIEWER, COURSE_ADMIN, UNIT_ADMIN, FINANCE_LEAD)
    REVIEWERS = (FINANCE, ADMIN, SCHOOL_REVIEWER, FINANCE_LEAD)  # the roles with a task inbox
    LABELS = {
        TRAINEE: "学员",
        FINANCE: "财务审核员",
        ADMIN: "平台管理员",
        SCHOOL_REVIEWER: "学校审核员",
        COURSE_ADMIN: "课程管理员",
        UNIT_ADMIN: "单位管理员",
        FINANCE_LEAD: "财务组长",
    }


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(50))
    # staff log in with username + password; trainees through the portal QR code
    username: Mapped[str | None] = mapped_column(String(50), unique=True, nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str] = mapped_column(String(20), default="")
    id_card: Mapped[str] = mapped_column(String(18), default="")
    unit_name: Mapped[str] = mapped_column(String(100), default="")
    unit_credit_code: Mapped[str] = mapped_column(String(18), default="", index=True)
    # compliance reminders go here (trainees) and the round's summary (unit administrators)
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    # a school reviewer belongs to one school's queue; a course administrator manages its courses
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_staff(self) -> bool:
        return self.role in Role.STAFF


class LoginTicket(Base):
    """One QR-code login attempt: the desktop page polls it until the phone confirms or it expires."""

    __tablename__ = "login_tickets"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending / confirmed / used
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
