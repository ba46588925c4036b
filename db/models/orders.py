"""Cart (reference data the web layer owns) and the projections written by order/study workflows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, utcnow
from db.models.catalog import Course


class CartItem(Base):
    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("trainee_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship()


class OrderStatus:
    PENDING = "pending"  # 待支付
    PAID = "paid"  # 已支付
    CLOSED = "closed"  # 已关闭（超时未支付）
    CANCELLED = "cancelled"  # 已取消
    PARTLY_REFUNDED = "part_refund"  # 部分退款 (some lines withdrawn and refunded)
    REFUNDED = "refunded"  # 已退款 (every line refunded)
    SETTLED = (PAID, PARTLY_REFUNDED, REFUNDED)  # paid once: personal and unit invoices look at these

    LABELS = {
        PENDING: "待支付",
        PAID: "已支付",
        CLOSED: "已关闭",
        CANCELLED: "已取消",
        PARTLY_REFUNDED: "部分退款",
        REFUNDED: "已退款",
    }
    TAGS = {PAID: "tag-green", PENDING: "tag-amber", PARTLY_REFUNDED: "tag-amber", REFUNDED: "tag-red"}


class Order(Base):
    """Projection of OrderWorkflow; only its activities write here."""

    __tablename__ = "orders"

    order_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    training_year: Mapped[int] = mapped_column(Integer)
    training_type: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=OrderStatus.PENDING, index=True)
    channel: Mapped[str | None] = mapped_column(String(10), nullable=True)
    trade_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    paid_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)

    items: Mapped[list[OrderItem]] = relationship(back_populates="order", order_by="OrderItem.id")
    refunds: Mapped[list[Refund]] = relationship(order_by="Refund.created_at")

    @property
    def status_label(self) -> str:
        return OrderStatus.LABELS.get(self.status, self.status)

    @property
    def status_tag(self) -> str:
        return OrderStatus.TAGS.get(self.status, "")

    @property
    def refunded_cents(self) -> int:
        return sum(r.amount_cents for r in self.refunds if r.status == RefundStatus.DONE)


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(ForeignKey("orders.order_no"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    title: Mapped[str] = mapped_column(String(200))
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    price_cents: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="items")
    course: Mapped[Course] = relationship()


class EnrollmentStatus:
    NOT_STARTED = "not_started"  # 未学习
    STUDYING = "studying"  # 学习中
    COMPLETED = "completed"  # 已学完
    WITHDRAWN = "withdrawn"  # 已退课

    LABELS = {NOT_STARTED: "未学习", STUDYING: "学习中", COMPLETED: "已学完", WITHDRAWN: "已退课"}


class Enrollment(Base):
    """A course the trainee holds (我的课程). Written by the order and study workflows' activities."""

    __tablename__ = "enrollments"
    __table_args__ = (
        # one live holding of a course per trainee and training year
        Index(
            "uq_enrollments_live_holding",
            "trainee_id",
            "course_id",
            "training_year",
            unique=True,
            sqlite_where=text("status != 'withdrawn'"),
            postgresql_where=text("status != 'withdrawn'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # exactly one enrollment per paid order line, however often the payment is reported
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), unique=True)
    order_no: Mapped[str] = mapped_column(ForeignKey("orders.order_no"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    training_year: Mapped[int] = mapped_column(Integer)
    training_type: Mapped[str] = mapped_column(String(20))
    price_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=EnrollmentStatus.NOT_STARTED, index=True)
    credited_seconds: Mapped[int] = mapped_column(Integer, default=0)
    total_seconds: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(nullable=True)
    swapped_from_course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), nullable=True)

    course: Mapped[Course] = relationship(foreign_keys=[course_id])

    @property
    def status_label(self) -> str:
        return EnrollmentStatus.LABELS.get(self.status, self.status)

    @property
    def percent(self) -> int:
        if not self.total_seconds:
            return 0
        return min(100, int(self.credited_seconds * 100 / self.total_seconds))


class RefundStatus:
    PENDING = "pending"
    DONE = "done"
    LABELS = {PENDING: "退款中", DONE: "已退款"}


class Refund(Base):
    """Every refund sent to the gateway; refund_no is the provider's idempotency key."""

    __tablename__ = "refunds"

    refund_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    # 退款单号 shown to people (TK + Beijing date + sequence), drawn once when the refund is recorded
    refund_number: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    order_no: Mapped[str] = mapped_column(ForeignKey("orders.order_no"), index=True)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"), nullable=True)
    trade_no: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(Integer)
    # withdraw (退课) / late_payment (关单后到账) / duplicate_payment (重复支付)
    reason: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=RefundStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)

    REASON_LABELS = {"withdraw": "退课退款", "late_payment": "关单后到账退款", "duplicate_payment": "重复支付退款"}

    @property
    def reason_label(self) -> str:
        return self.REASON_LABELS.get(self.reason, self.reason)

    @property
    def shown_no(self) -> str:
        """退款单号 on pages and in notices (a refund recorded before numbers existed keeps its own)."""
        return self.refund_number or self.refund_no

    @property
    def status_label(self) -> str:
        return RefundStatus.LABELS.get(self.status, self.status)
