"""课程管理: a school's course administrators edit courses; the platform admin reviews each version.

Pure rules and the shapes CoursePublicationWorkflow exchanges with the web layer and its activities.

A course as trainees see it is one `courses` row. A row that has been on sale is never edited again
(trainees may hold it: their progress points at its chapters); editing it makes a new version, a new
row in the same lineage (`lineage_id` = the first row's id), which goes through review while the row
on sale stays on sale. Approval puts the new row on sale and takes the old one out of the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from domain.errors import DomainError

TITLE_MAX = 200
HOURS_MAX = Decimal("200")
PRICE_MAX_CENTS = 100_000_00  # ¥100,000: beyond it a typo, not a price


class CourseState(StrEnum):
    """The publication state of one course row (one version)."""

    draft = "draft"
    under_review = "under_review"
    published = "published"
    withdrawn = "withdrawn"
    rejected = "rejected"
    superseded = "superseded"  # an earlier version, replaced on sale by a newer one

    @property
    def label(self) -> str:
        return STATE_LABELS[self.value]


STATE_LABELS = {
    "draft": "草稿",
    "under_review": "审核中",
    "published": "已上架",
    "withdrawn": "已下架",
    "rejected": "已驳回",
    "superseded": "已更新为新版本",
}

# a row that was never on sale: nobody holds it, so its content and chapters may change in place
EDITABLE_STATES = frozenset({CourseState.draft, CourseState.rejected})
# what may be sent for review (a withdrawn course goes back on sale through review too)
SUBMITTABLE_STATES = frozenset({CourseState.draft, CourseState.rejected, CourseState.withdrawn})


def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)


def is_editable(state: str) -> bool:
    return state in EDITABLE_STATES


def publication_workflow_id(lineage_id: int) -> str:
    return f"course-{lineage_id}"


# ---- the course form ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseForm:
    title: str
    category_id: int
    major_id: int
    subject_category: str
    hours: Decimal
    price_cents: int
    description: str
    teacher: str = ""


def parse_hours(raw: str) -> Decimal:
    """学时: more than 0, a whole or half number, at most HOURS_MAX."""
    try:
        hours = Decimal(raw.strip())
    except (InvalidOperation, AttributeError):
        raise DomainError("CourseHoursInvalid") from None
    if not hours.is_finite() or hours <= 0 or hours > HOURS_MAX or (hours * 2) % 1 != 0:
        raise DomainError("CourseHoursInvalid")
    return hours


def parse_price(raw: str) -> int:
    """价格 in yuan (at most two decimals) -> fen; 0 or less is refused (CoursePriceInvalid)."""
    try:
        yuan = Decimal(raw.strip())
    except (InvalidOperation, AttributeError):
        raise DomainError("CoursePriceInvalid") from None
    if not yuan.is_finite() or (yuan * 100) % 1 != 0:
        raise DomainError("CoursePriceInvalid")
    cents = int(yuan * 100)
    if cents <= 0 or cents > PRICE_MAX_CENTS:
        raise DomainError("CoursePriceInvalid")
    return cents


def validate_course_form(
    *,
    title: str,
    category_id: int | None,
    major_id: int | None,
    subject_category: str,
    hours: str,
    price: str,
    description: str,
    teacher: str = "",
) -> CourseForm:
    title = " ".join(title.split())
    if not title:
        raise DomainError("CourseTitleRequired")
    if not category_id:
        raise DomainError("CourseCategoryRequired")
    if not major_id:
        raise DomainError("CourseMajorRequired")
    if subject_category not in ("public", "professional"):
        raise DomainError("SubjectCategoryInvalid")
    return CourseForm(
        title=title,
        category_id=category_id,
        major_id=major_id,
        subject_category=subject_category,
        hours=parse_hours(hours),
        price_cents=parse_price(price),
        description=description.strip(),
        teacher=" ".join(teacher.split()),
    )


def chapter_title(raw: str) -> str:
    title = " ".join(raw.split())
    if not title:
        raise DomainError("ChapterTitleRequired")
    return title


# ---- publishing rules --------------------------------------------------------------------------


@dataclass(frozen=True)
class HoursRule:
    """1 学时 = `minutes_per_hour` minutes of courseware, give or take `tolerance_minutes`."""

    minutes_per_hour: float = 45
    tolerance_minutes: float = 5


def expected_seconds(hours: Decimal | float | str, rule: HoursRule) -> float:
    return float(Decimal(str(hours))) * rule.minutes_per_hour * 60


def hours_match(hours: Decimal | float | str, total_seconds: int, rule: HoursRule) -> bool:
    return abs(total_seconds - expected_seconds(hours, rule)) <= rule.tolerance_minutes * 60


def publication_refusal(hours: str, price_cents: int, chapter_seconds: list[int], rule: HoursRule) -> str | None:
    """Why this version may not be sent for review, or None. The workflow's validator and the web
    layer run the same rule, so the page refuses before anything is written."""
    if not chapter_seconds:
        return "CourseHasNoChapters"
    if price_cents <= 0:
        return "CoursePriceInvalid"
    if not hours_match(hours, sum(chapter_seconds), rule):
        return "CourseHoursMismatch"
    return None


def hours_mismatch_message(hours: Decimal | float | str, total_seconds: int, rule: HoursRule) -> str:
    """The refusal with the numbers the administrator needs to fix it."""
    minutes = total_seconds / 60
    want = expected_seconds(hours, rule) / 60
    return (
        f"课程学时与课件总时长不符：{_num(hours)} 学时应有约 {want:g} 分钟课件"
        f"（允许相差 {rule.tolerance_minutes:g} 分钟，1 学时 = {rule.minutes_per_hour:g} 分钟），"
        f"现有课件共 {minutes:.1f} 分钟"
    )


def _num(hours: Decimal | float | str) -> str:
    text = f"{Decimal(str(hours)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# ---- workflow shapes -----------------------------------------------------------------------------


@dataclass
class CourseSubmission:
    """提交审核 of one version (a course row), with the facts the publishing rule needs."""

    version_id: int
    submitter_id: int
    title: str
    version: int
    hours: str
    price_cents: int
    chapter_seconds: list[int]
    minutes_per_hour: float
    tolerance_minutes: float
    submitted_at: str  # ISO 8601

    @property
    def rule(self) -> HoursRule:
        return HoursRule(self.minutes_per_hour, self.tolerance_minutes)


@dataclass
class WithdrawRequest:
    """下架: the course administrator takes the version on sale out of the catalogue."""

    actor_id: int
    at: str  # ISO 8601


@dataclass
class PublicationState:
    """Everything the workflow carries across continue-as-new."""

    on_sale_version_id: int | None = None
    reviews: int = 0  # versions reviewed so far (approved or rejected)
    last_outcome: str = ""
    last_reason: str = ""


@dataclass
class CoursePublicationInput:
    lineage_id: int
    school_id: int
    title: str
    remind_after_seconds: float
    due_after_seconds: float
    state: PublicationState = field(default_factory=PublicationState)


@dataclass
class VersionDecided:
    """The projection write after the admin's decision on one version."""

    lineage_id: int
    version_id: int
    approve: bool
    reason: str
    reviewer_id: int
    decided_at: str


@dataclass
class CourseWithdrawn:
    lineage_id: int
    version_id: int
    actor_id: int
    at: str


@dataclass
class PublicationView:
    on_sale_version_id: int | None
    reviewing_version_id: int | None
    status: str
    last_outcome: str
    last_reason: str


def process_status(on_sale: bool, reviewing: bool) -> str:
    """ProcessStatus for operators: what the course as a whole is doing."""
    if reviewing:
        return "under_review_on_sale" if on_sale else "under_review"
    return "published" if on_sale else "off_sale"
