"""Reference data: schools, categories, majors, courses and their chapters."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base


class School(Base):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    intro: Mapped[str] = mapped_column(Text, default="")
    tax_id: Mapped[str] = mapped_column(String(20), default="")
    # "0.03", "0.06" or "exempt" (domain.invoicing.TaxRate)
    tax_rate: Mapped[str] = mapped_column(String(10), default="exempt")
    # None means the default: the current and the previous year.
    offered_years: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)

    categories: Mapped[list[Category]] = relationship(back_populates="school", order_by="Category.sort")


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    sort: Mapped[int] = mapped_column(Integer, default=0)

    school: Mapped[School] = relationship(back_populates="categories")


class Major(Base):
    __tablename__ = "majors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Course(Base):
    __tablename__ = "courses"
    __table_args__ = (UniqueConstraint("school_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    major_id: Mapped[int] = mapped_column(ForeignKey("majors.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    teacher: Mapped[str] = mapped_column(String(50), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # domain.catalog.SubjectCategory value: "public" (公共科目) or "professional" (专业科目)
    subject_category: Mapped[str] = mapped_column(String(20), index=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    price_cents: Mapped[int] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    cover_color: Mapped[str] = mapped_column(String(9), default="#2f6fb0")
    # 课程管理 (domain/courses.py): the publication state of this row, written by the publication
    # workflow's activities; a course edited after it was on sale is a new row of the same lineage
    state: Mapped[str] = mapped_column(String(20), default="published", server_default="published")
    lineage_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), nullable=True, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    cover_path: Mapped[str] = mapped_column(String(200), default="", server_default="")
    review_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    school: Mapped[School] = relationship()
    category: Mapped[Category] = relationship()
    major: Mapped[Major] = relationship()
    chapters: Mapped[list[Chapter]] = relationship(back_populates="course", order_by="Chapter.seq")

    @property
    def lineage(self) -> int:
        return self.lineage_id or self.id

    @property
    def total_seconds(self) -> int:
        return sum(c.duration_seconds for c in self.chapters)


class Chapter(Base):
    __tablename__ = "chapters"
    __table_args__ = (UniqueConstraint("course_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    duration_seconds: Mapped[int] = mapped_column(Integer)
    # file name under settings.media_dir; the player loops it when the chapter is longer
    clip: Mapped[str] = mapped_column(String(100))

    course: Mapped[Course] = relationship(back_populates="chapters")
